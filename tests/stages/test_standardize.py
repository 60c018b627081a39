"""generate + standardize stages on a tiny config: determinism, idempotence, quarantine, scene validation errors."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fourdpqa.params import BaseParams, GenerateParams, Params, SourceSpec, StandardizeParams
from fourdpqa.scene import SceneError, read_scene, validate_scene, write_scene
from fourdpqa.stages import generate, standardize
from fourdpqa.stages.protocol import Job, StageFailed
from fourdpqa.viz import preview_image


def tiny_params(root: Path, seed: int = 7, n_videos: int = 3, n_frames: int = 4) -> Params:
    return Params(
        base=BaseParams(seed=seed, data_root=str(root), allowed_roots=[str(root)], device="cpu"),
        generate=GenerateParams(n_videos=n_videos, n_frames=n_frames, width=32, height=24, min_objects=2, max_objects=3),
        standardize=StandardizeParams(sources=[SourceSpec(name="procedural", kind="kubric", root=str(root / "raw" / "procedural"))]),
    )


def _build(root: Path, **kw: int) -> Params:
    params = tiny_params(root, **kw)
    generate.run(params)
    standardize.run(params)
    return params


def _files(d: Path) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Params:
    return _build(tmp_path_factory.mktemp("a"))


def test_scenes_match_their_specs(built: Params) -> None:
    specs = generate.video_specs(built)
    assert standardize.list_raw_videos(built) == sorted(specs) == ["proc_00000", "proc_00001", "proc_00002"]
    for vid, spec in specs.items():
        scene = read_scene(built.data / "scenes" / vid)
        assert scene.meta.source == "procedural" and scene.meta.n_frames == 4 and (scene.meta.width, scene.meta.height) == (32, 24)
        assert scene.objects["caption"].to_list() == [o.caption for o in spec.objects]
        assert scene.objects["is_dynamic"].to_list() == [o.motion != "static" for o in spec.objects]
        changed = (preview_image(scene) != scene.rgb[0]).any(-1)
        # outlines are drawn on the objects' own boundary pixels, and every visible object gets one
        assert (scene.instances[0][changed] > 0).all()
        assert set(np.unique(scene.instances[0][changed])) == set(np.unique(scene.instances[0])) - {0}
    report = json.loads((built.data / "scenes" / "_report.json").read_text())
    assert report["items"] == sorted(specs) and report["quarantined"] == {}


def test_same_seed_byte_identical_and_other_seed_differs(built: Params, tmp_path: Path) -> None:
    again = _build(tmp_path / "b")
    other = _build(tmp_path / "c", seed=8)
    for vid in ("proc_00000", "proc_00002"):
        assert _files(built.data / "raw" / "procedural" / vid) == _files(again.data / "raw" / "procedural" / vid)
        a = _files(built.data / "scenes" / vid)
        assert a == _files(again.data / "scenes" / vid)
        b = _files(other.data / "scenes" / vid)
        assert a["depth.npy"] != b["depth.npy"] and a["cameras.parquet"] != b["cameras.parquet"]


def test_reruns_skip_and_param_change_regenerates(tmp_path: Path) -> None:
    params = _build(tmp_path, n_videos=2)
    assert generate.run(params).skipped == ["proc_00000", "proc_00001"]
    assert standardize.run(params).skipped == ["proc_00000", "proc_00001"]
    fewer = tiny_params(tmp_path, n_videos=1, n_frames=5)
    assert generate.run(fewer).done == ["proc_00000"]
    assert standardize.run(fewer).done == ["proc_00000"]
    assert sorted(p.name for p in (tmp_path / "scenes").iterdir() if p.is_dir() and p.name[0] != "_") == ["proc_00000"]
    assert read_scene(tmp_path / "scenes" / "proc_00000").meta.n_frames == 5


def test_bad_video_is_quarantined_and_others_finish(tmp_path: Path) -> None:
    params = _build(tmp_path)
    tiff = tmp_path / "raw" / "procedural" / "proc_00001" / "depth_00002.tiff"
    good = tiff.read_bytes()
    last_good = (tmp_path / "scenes" / "proc_00001" / "depth.npy").read_bytes()
    tiff.write_bytes(good[:100])
    report = standardize.run(params)
    assert list(report.quarantined) == ["proc_00001"] and report.skipped == ["proc_00000", "proc_00002"]
    record = json.loads((tmp_path / "quarantine" / "standardize" / "proc_00001.json").read_text())
    assert "depth_00002.tiff" in record["reason"] and "proc_00001" in record["reason"]
    # the scene of the last good raw data is kept (issue 25.1: only a new version that passed may replace it)
    assert (tmp_path / "scenes" / "proc_00001" / "depth.npy").read_bytes() == last_good
    tiff.write_bytes(good)  # the raw file restored: the kept scene is up to date again, the record released
    again = standardize.run(params)
    assert again.skipped == ["proc_00000", "proc_00001", "proc_00002"] and not again.quarantined
    assert not (tmp_path / "quarantine" / "standardize" / "proc_00001.json").exists()
    tiff.write_bytes(good[:100])
    for vid in ("proc_00000", "proc_00002"):
        read_scene(tmp_path / "scenes" / vid)
    with pytest.raises(SceneError, match="depth_00002.tiff"):
        standardize.standardize_one(Job(params, "proc_00001", tmp_path / "scenes"))
    # repair: regenerate the dump; it equals the data the kept scene was made from, so that scene is up to date
    assert standardize.run(params).quarantined
    shutil.rmtree(tiff.parent)
    assert generate.run(params).done == ["proc_00001"]
    assert standardize.run(params).skipped == ["proc_00000", "proc_00001", "proc_00002"]
    assert not (tmp_path / "quarantine" / "standardize" / "proc_00001.json").exists()


def test_source_root_must_be_inside_allowed_roots(tmp_path: Path) -> None:
    params = tiny_params(tmp_path / "data")
    outside = params.model_copy(update={"standardize": StandardizeParams(sources=[SourceSpec(name="x", kind="kubric", root=str(tmp_path))])})
    with pytest.raises(StageFailed, match="outside the allowed roots"):
        standardize.list_raw_videos(outside)


# --------------------------------------------------------------------------------- schema violations -> SceneError


def _mutations() -> dict:
    def poses(fn):  # noqa: ANN001, ANN202
        return lambda s: replace(s, object_poses=fn(s.object_poses))

    return {
        "wrong depth dtype": (lambda s: replace(s, depth=s.depth.astype(np.float64)), "depth.npy", "dtype"),
        "depth/instance size mismatch": (lambda s: replace(s, instances=s.instances[:, :-1]), "instances.npy", "shape"),
        "NaN pose": (poses(lambda p: p.with_columns(pl.when(pl.col("frame") == 1).then(float("nan")).otherwise(pl.col("tx")).alias("tx"))),
                     "object_poses.parquet", "NaN"),
        "non-orthonormal rotation": (poses(lambda p: p.with_columns(pl.col("qw") * 1.5)), "object_poses.parquet", "unit"),
        "wrong column dtype": (lambda s: replace(s, cameras=s.cameras.with_columns(pl.col("fx").cast(pl.Float32))), "cameras.parquet", "fx"),
        "missing column": (lambda s: replace(s, objects=s.objects.drop("caption")), "objects.parquet", "caption"),
        "unknown instance id": (lambda s: replace(s, instances=s.instances + np.uint16(50)), "instances.npy", "without an object row"),
    }


@pytest.mark.parametrize("name", list(_mutations()))
def test_schema_violations_name_video_and_file(built: Params, name: str) -> None:
    mutate, file, problem = _mutations()[name]
    scene = mutate(read_scene(built.data / "scenes" / "proc_00000"))
    with pytest.raises(SceneError) as err:
        validate_scene(scene)
    assert err.value.video_id == "proc_00000" and err.value.file == file
    assert problem in str(err.value), str(err.value)


@pytest.mark.parametrize("name,file", [("missing table", "object_poses.parquet"), ("unreadable frame", "rgb/00002.png")])
def test_broken_scene_files_fail_on_read(built: Params, tmp_path: Path, name: str, file: str) -> None:
    d = write_scene(read_scene(built.data / "scenes" / "proc_00002"), tmp_path / "proc_00002")
    if name == "missing table":
        (d / file).unlink()
    else:
        (d / file).write_bytes((d / file).read_bytes()[:40])
    with pytest.raises(SceneError) as err:
        read_scene(d)
    assert err.value.video_id == "proc_00002" and err.value.file == file
