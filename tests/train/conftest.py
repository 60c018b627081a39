"""Fixtures of the training tests: a four-record conversation export (tiny model settings: helpers.vlm_data)."""

from __future__ import annotations

import pytest
from tests.helpers.vlm_data import write_export

from fourdpqa.train import read_conversations


@pytest.fixture(scope="module")
def convs(tmp_path_factory):
    return read_conversations(write_export(tmp_path_factory.mktemp("export")))
