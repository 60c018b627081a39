"""Fixtures of the dataset tests: a synthetic data root and its assembled dataset (helpers in
tests/helpers/dataset_data.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fourdpqa.atomic import write_parquet
from fourdpqa.scene import write_scene
from tests.helpers.dataset_data import make_records, make_scene, qa_frame, small_params, toy_oracle


@pytest.fixture
def synthetic_data(tmp_path: Path) -> Path:
    """A data root with 8 videos: scenes (answer key in metadata) + one QA parquet each."""
    root = tmp_path / "data"
    for k in range(8):
        vid = f"proc_{k:05d}"
        rows = make_records(vid)
        scene = make_scene(vid)
        scene.meta.extra["answers"] = {r["id"]: r["answer"] for r in rows}
        write_scene(scene, root / "scenes" / vid)
        write_parquet(root / "qa" / f"{vid}.parquet", qa_frame(rows))
    return root


@pytest.fixture
def assembled(synthetic_data: Path):
    """(params, AssemblyResult) of the synthetic data root, checked with the toy oracle."""
    from fourdpqa.assemble import assemble

    params = small_params(synthetic_data)
    return params, assemble(params, oracle=toy_oracle)
