"""The code location loads (lazily, from params.yaml), its asset graph is the stage list's graph, and per-video
assets materialize in-process for two partitions."""

from pathlib import Path

import dagster as dg

import assets.standardize as standardize_assets
from assets.generate import procedural_videos
from assets.partitions import videos
from assets.resources import PipelineParams
from dagster_project.definitions import build, defs
from fourdpqa.params import Params, load_params
from tests.helpers.params_file import write_params_file


def tiny_params(tmp_path: Path) -> Path:
    return write_params_file(tmp_path, generate={"n_videos": 2, "n_frames": 4, "width": 32, "height": 32,
                                                 "max_objects": 2})


def test_definitions_load_with_every_asset_check_job_and_schedule():
    repo = defs().get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"procedural_videos", "raw_videos_procedural", "standard_scenes", "point_tracks", "qa_pairs", "training_set",
            "benchmark", "validation_report", "learnability_report", "review_page", "trained_model", "evaluation"} == keys
    assert repo.get_job("per_video_job") and repo.get_job("dataset_job") and repo.get_schedule_def("nightly_ingest")
    from fourdpqa.validate.registry import CHECKS

    checks = {(k.asset_key.to_user_string(), k.name) for k in repo.asset_graph.asset_check_keys}
    assert checks == {(c.asset, c.dagster_name) for c in CHECKS} | {("learnability_report", "check_pixel_learnability"),
                                                                   ("evaluation", "check_answer_diversity")}
    assert len(checks) == len(CHECKS) + 2  # the registry's (one per split), the probe's report, the evaluation


def test_one_ingest_asset_per_enabled_source(tmp_path):
    raw = load_params(tiny_params(tmp_path)).model_dump(mode="json")
    raw["standardize"]["sources"].append({"name": "vk", "kind": "vkitti2", "root": str(tmp_path / "data" / "raw" / "vk")})
    repo = build(Params.model_validate(raw)).get_repository_def()
    scenes = repo.asset_graph.get(dg.AssetKey("standard_scenes"))
    assert {k.to_user_string() for k in scenes.parent_keys} == {"raw_videos_procedural", "raw_videos_vk"}
    assert not repo.asset_graph.get(dg.AssetKey("raw_videos_vk")).parent_keys  # not rendered by generate


def test_standard_scenes_materialize_for_two_partitions(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    params_file = tiny_params(tmp_path)
    resources = {"pipeline": PipelineParams(params_path=str(params_file))}
    ingest_asset, scenes_asset = standardize_assets.build(load_params(params_file))
    ingest = [ingest_asset, procedural_videos]
    assert dg.materialize(ingest, instance=instance, resources=resources).success
    keys = instance.get_dynamic_partitions(videos.name)
    assert keys == ["proc_00000", "proc_00001"]
    for key in keys:
        result = dg.materialize([scenes_asset], partition_key=key, instance=instance, resources=resources)
        assert result.success
        meta = result.asset_materializations_for_node("standard_scenes")[0].metadata
        assert meta["frames"].value == 4 and meta["depth_max_m"].value > meta["depth_min_m"].value > 0
        assert "data:image/" in meta["preview"].value and Path(meta["preview_file"].value).exists()
        assert (tmp_path / "data" / "scenes" / key / "scene.json").exists()

