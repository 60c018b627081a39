"""The small data root most fault tests start from (three procedural videos through qa): built once per module,
copied for every test, so a fault never leaks into the next case."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.small_root import build_small_root, copy_small_root


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return build_small_root(tmp_path_factory.mktemp("small-root"))


@pytest.fixture
def root(pristine, tmp_path) -> Path:
    return copy_small_root(pristine, tmp_path)
