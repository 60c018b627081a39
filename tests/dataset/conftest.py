"""Fixtures of the dataset tests: a synthetic data root and its assembled dataset (helpers in
tests/helpers/dataset_data.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.dataset_data import (  # noqa: F401  (make_records, make_scene, qa_frame: imported from here)
    make_records, make_scene, qa_frame, small_params, toy_oracle, write_data_root,
)


@pytest.fixture
def synthetic_data(tmp_path: Path) -> Path:
    """A data root with 8 videos: scenes (answer key in metadata) + one QA parquet each."""
    return write_data_root(tmp_path / "data")


@pytest.fixture
def assembled(synthetic_data: Path):
    """(params, AssemblyResult) of the synthetic data root, checked with the toy oracle."""
    from fourdpqa.assemble import assemble

    params = small_params(synthetic_data, export_mp4=True)  # the stored-mp4 path too (default: none stored)
    return params, assemble(params, oracle=toy_oracle)
