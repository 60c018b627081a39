"""The qa_pairs asset for one partition: writes the parquet and shows counts and rendered samples."""

from __future__ import annotations

import dagster as dg
import yaml

from assets.qa import qa_pairs
from assets.resources import PipelineParams
from fourdpqa.scene import write_scene
from tests.qa.test_stage_schema import _scene


def test_qa_pairs_asset_for_one_partition(tmp_path):
    write_scene(_scene("toy_00001"), tmp_path / "scenes" / "toy_00001")
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump({
        "base": {"data_root": str(tmp_path), "seed": 5},
        "qa": {"clip_frames": 8, "clips_per_video": 1, "questions_per_clip": 30,
               "thresholds": {"default": {"min_object_pixels": 4}}},
    }))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("videos", ["toy_00001"])  # as the new_videos sensor registers it
    ctx = dg.build_asset_context(partition_key="toy_00001", instance=instance)
    result = qa_pairs(ctx, PipelineParams(params_path=str(params_file)))
    meta = result.metadata
    assert (tmp_path / "qa" / "toy_00001.parquet").exists()
    assert meta["n_records"] > 10 and meta["n_types"] >= 8
    assert "camera_movement" in meta["per_type"].value
    samples = meta["samples"].value
    assert samples.count("](data:image/") == 5 and "**Answer:**" in samples
