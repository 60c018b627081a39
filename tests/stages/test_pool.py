"""``--workers N``: per-video items on a process pool give the same report and the same bytes as a serial run."""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

from fourdpqa.params import BaseParams, Params, QAParams
from fourdpqa.scene import write_scene
from fourdpqa.stages import qa
from fourdpqa.thresholds import LabelThresholds
from tests.qa.test_stage_schema import _scene


def _root(root: Path) -> Params:
    for vid in ("toy_00001", "toy_00002", "toy_00003"):
        write_scene(_scene(vid), root / "scenes" / vid)
    return Params(base=BaseParams(data_root=str(root), seed=7, num_threads=1),
                  qa=QAParams(clip_frames=8, clips_per_video=1, questions_per_clip=12,
                              thresholds={"default": LabelThresholds(min_object_pixels=4)}))


def _outputs(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_process_pool_equals_a_serial_run(tmp_path):
    serial, pooled = _root(tmp_path / "a"), _root(tmp_path / "b")
    one = qa.run(serial, argparse.Namespace(workers=1))
    two = qa.run(pooled, argparse.Namespace(workers=2))
    assert one.as_dict() == two.as_dict() and len(one.done) == 3
    assert _outputs(tmp_path / "a" / "qa") == _outputs(tmp_path / "b" / "qa")
    shutil.rmtree(tmp_path / "b" / "scenes" / "toy_00002")  # pruning and skipping work the same on the pool
    again = qa.run(pooled, argparse.Namespace(workers=2))
    assert again.skipped == ["toy_00001", "toy_00003"] and not (tmp_path / "b" / "qa" / "toy_00002.parquet").exists()
