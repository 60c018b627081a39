"""Reading a standard scene: the schema (pandera) checks of its tables run once when the scene is written, and again
on read only when a table's bytes or the schema code differ from what ``checked.json`` recorded then."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest
from tests.helpers.track_scenes import random_scene

from fourdpqa import scene as scene_mod
from fourdpqa.scene import CHECKED, SceneError, read_scene, write_scene

TABLE_FILES = ("cameras.parquet", "objects.parquet", "object_poses.parquet")


@pytest.fixture
def written(tmp_path: Path) -> Path:
    return write_scene(random_scene(4), tmp_path / "toy_00004")


@pytest.fixture
def schema_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the tables whose schema checks ran."""
    calls: list[str] = []
    real = scene_mod._check_table

    def counting(vid: str, name: str, df: pl.DataFrame, schema: type) -> None:
        calls.append(name)
        real(vid, name, df, schema)

    monkeypatch.setattr(scene_mod, "_check_table", counting)
    return calls


def test_write_records_the_sha256_of_every_table(written: Path) -> None:
    record = json.loads((written / CHECKED).read_text())
    assert record["tables"] == {f: hashlib.sha256((written / f).read_bytes()).hexdigest() for f in TABLE_FILES}
    assert len(record["schema"]) == 64


def test_untouched_scene_skips_the_schema_checks_only(written: Path, schema_checks: list[str]) -> None:
    scene = read_scene(written, with_rgb=False)
    assert schema_checks == []
    assert scene.objects.equals(pl.read_parquet(written / "objects.parquet").sort("object_id"))
    (written / "instances.npy").write_bytes((written / "instances.npy").read_bytes()[:300])  # arrays: always checked
    with pytest.raises(SceneError, match="instances.npy"):
        read_scene(written, with_rgb=False)


@pytest.mark.parametrize("change", ["edited table", "other schema code", "no record", "unreadable record"])
def test_any_difference_brings_the_schema_checks_back(written: Path, schema_checks: list[str],
                                                       monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    if change == "edited table":  # still valid: a caption rewritten by hand
        objects = pl.read_parquet(written / "objects.parquet")
        objects.with_columns(pl.lit("a hand-written caption").alias("caption")).write_parquet(written / "objects.parquet")
    elif change == "other schema code":
        monkeypatch.setattr(scene_mod, "_schema_digest", lambda: "0" * 64)
    elif change == "no record":
        (written / CHECKED).unlink()
    else:
        (written / CHECKED).write_text("{not json")
    read_scene(written, with_rgb=False)
    assert schema_checks == ["cameras", "objects", "object_poses"]
