"""The tracks stage over a data root: outputs, quarantine, idempotent reruns, determinism, animation, asset."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import yaml
from tests.helpers.track_scenes import random_scene

from fourdpqa.params import load_params
from fourdpqa.scene import read_scene, write_scene
from fourdpqa.stages import options
from fourdpqa.stages import tracks as stage
from fourdpqa.tracks import load_tracks

TRACKS = {"queries_per_video": 40, "sampling_stride": 2, "max_sampled_frac": 0.3, "qa_queries_every": 0}  # Kubric sample only


def setup_root(tmp_path: Path, **tracks) -> Path:
    data = tmp_path / "data"
    for seed in (1, 2):
        write_scene(random_scene(seed), data / "scenes" / f"toy_{seed:05d}")
    bad = data / "scenes" / "toy_00003"
    write_scene(random_scene(3), bad)
    (bad / "depth.npy").unlink()
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump({"base": {"data_root": str(data)}, "tracks": {**TRACKS, **tracks}}))
    return p


def args(**kw) -> argparse.Namespace:
    return argparse.Namespace(**{"video": None, "animate": None, **kw})


def test_stage_writes_tracks_quarantines_bad_scene_and_is_idempotent(tmp_path):
    params = load_params(setup_root(tmp_path))
    report = stage.run(params, args())
    assert sorted(report.done) == ["toy_00001", "toy_00002"]
    assert "depth.npy" in report.quarantined["toy_00003"] and "toy_00003" in report.quarantined["toy_00003"]
    assert (params.data / "quarantine" / "tracks" / "toy_00003.json").exists()
    for vid in report.done:
        tracks, meta = load_tracks(stage.tracks_path(params, vid))
        assert meta == {"video_id": vid, "width": 48, "height": 40} and 0 < len(tracks) <= 40
        scene = read_scene(params.data / "scenes" / vid)
        col, row = tracks.queries.xy[:, 0].astype(int), tracks.queries.xy[:, 1].astype(int)
        np.testing.assert_array_equal(scene.instances[tracks.queries.frame, row, col], tracks.object_id)
        assert stage.overlay_path(params, vid).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    first_bytes = stage.tracks_path(params, "toy_00001").read_bytes()

    again = stage.run(params, args())
    assert sorted(again.skipped) == ["toy_00001", "toy_00002"] and not again.done

    stage.tracks_path(params, "toy_00001").unlink()  # same seed + inputs -> byte-identical output
    assert stage.run(params, args(video="toy_00001")).done == ["toy_00001"]
    assert stage.tracks_path(params, "toy_00001").read_bytes() == first_bytes

    assert not any(p.exists() for p in stage.outputs(params, "toy_00003"))  # nothing for the bad scene
    shutil.rmtree(params.data / "scenes" / "toy_00002")  # a scene that disappears loses its tracks
    stage.run(params, args())
    assert not any(p.exists() for p in stage.outputs(params, "toy_00002"))
    assert stage.tracks_path(params, "toy_00001").exists()
    assert json.loads((params.data / "tracks" / "_report.json").read_text())["items"] == ["toy_00001"]


def test_changed_params_recompute(tmp_path):
    p = setup_root(tmp_path)
    params = load_params(p)
    stage.run(params, args(video="toy_00001"))
    changed = params.model_copy(update={"tracks": params.tracks.model_copy(update={"queries_per_video": 10})})
    assert stage.run(changed, args(video="toy_00001")).done == ["toy_00001"]
    assert len(load_tracks(stage.tracks_path(changed, "toy_00001"))[0]) <= 10


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_animation_option(tmp_path, suffix):
    params = load_params(setup_root(tmp_path))
    parser = argparse.ArgumentParser()
    options.add_arguments("tracks", parser)
    out = tmp_path / f"anim{suffix}"
    ns = parser.parse_args(["--video", "toy_00002", "--animate", str(out)])
    stage.run(params, ns)
    assert out.stat().st_size > 1000
    if suffix == ".gif":
        from PIL import Image

        with Image.open(out) as im:
            assert im.n_frames == 6  # one picture per clip frame
    with pytest.raises(stage.StageFailed, match="--video"):
        stage.run(params, parser.parse_args(["--animate", str(out)]))


def test_point_tracks_asset_materializes_with_overlay(tmp_path):
    from assets.tracks import point_tracks
    from assets.partitions import videos
    from assets.resources import PipelineParams

    p = setup_root(tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(videos.name, ["toy_00001"])
    result = dg.materialize([point_tracks], partition_key="toy_00001", instance=instance,
                            resources={"pipeline": PipelineParams(params_path=str(p))})
    assert result.success
    meta = result.asset_materializations_for_node("point_tracks")[0].metadata
    tracks, _ = load_tracks(tmp_path / "data" / "tracks" / "toy_00001.npz")
    assert meta["n_tracks"].value == len(tracks)
    assert meta["occlusion_rate"].value == pytest.approx(tracks.visual_occluded.mean())
    assert "data:image/" in meta["overlay"].value
