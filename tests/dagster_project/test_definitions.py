"""The code location loads, and per-video assets materialize in-process for two partitions."""

from pathlib import Path

import dagster as dg
import yaml

from assets.generate import raw_videos
from assets.standardize import standard_scenes
from dagster_project.definitions import defs
from dagster_project.partitions import videos
from dagster_project.resources import PipelineParams
from dagster_project.sensors import new_videos_sensor


def tiny_params(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    params = {
        "base": {"data_root": str(data), "allowed_roots": [str(data)]},
        "generate": {"n_videos": 2, "n_frames": 4, "width": 32, "height": 32, "max_objects": 2},
        "standardize": {"sources": [{"name": "procedural", "kind": "kubric", "root": str(data / "raw" / "procedural")}]},
    }
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump(params))
    return p


def test_definitions_load_with_every_asset_and_check():
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"raw_videos", "standard_scenes"} <= keys
    assert repo.get_job("per_video_job") and repo.get_schedule_def("nightly_ingest")


def test_standard_scenes_materialize_for_two_partitions(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    resources = {"pipeline": PipelineParams(params_path=str(tiny_params(tmp_path)))}
    assert dg.materialize([raw_videos], instance=instance, resources=resources).success
    keys = instance.get_dynamic_partitions(videos.name)
    assert len(keys) == 2
    for key in keys:
        result = dg.materialize([standard_scenes], partition_key=key, instance=instance, resources=resources)
        assert result.success
        meta = result.asset_materializations_for_node("standard_scenes")[0].metadata
        assert meta["frames"].value == 4 and meta["depth_max_m"].value > meta["depth_min_m"].value > 0
        assert "data:image/png;base64," in meta["preview"].value
        assert (tmp_path / "data" / "scenes" / key / "scene.json").exists()


def test_sensor_adds_partitions_for_new_videos(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    resources = {"pipeline": PipelineParams(params_path=str(tiny_params(tmp_path)))}
    dg.materialize([raw_videos], instance=dg.DagsterInstance.ephemeral(), resources=resources)
    ctx = dg.build_sensor_context(instance=instance, resources=resources)
    result = new_videos_sensor(ctx)
    assert sorted(r.partition_key for r in result.run_requests) == ["proc_00000", "proc_00001"]
    assert result.dynamic_partitions_requests[0].partition_keys == ["proc_00000", "proc_00001"]
