"""Reading a standard scene: the schema (pandera) checks of its tables run once when the scene is written, and again
on read only when a table's bytes or the schema code differ from what ``checked.json`` recorded then; the value
checks of depth and instance ids take their exact path whenever a cheap bound cannot rule a problem out."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from tests.helpers.track_scenes import random_scene

from fourdpqa import scene as scene_mod
from fourdpqa.scene import CHECKED, Scene, SceneError, read_scene, validate_scene, write_scene

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


@pytest.mark.parametrize("change", ["other schema code", "no record", "unreadable record"])
def test_any_difference_brings_the_schema_checks_back(written: Path, schema_checks: list[str],
                                                       monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    if change == "other schema code":
        monkeypatch.setattr(scene_mod, "_schema_digest", lambda: "0" * 64)
    elif change == "no record":
        (written / CHECKED).unlink()
    else:
        (written / CHECKED).write_text("{not json")
    read_scene(written, with_rgb=False)
    assert schema_checks == ["cameras", "objects", "object_poses"]


def test_a_table_edited_after_writing_gets_every_check_and_is_refused(written: Path, schema_checks: list[str]) -> None:
    """A valid hand edit (a caption rewritten) is checked and then refused naming checked.json: the record binds the
    tables to the scene they were written with; deleting the record accepts the edit."""
    objects = pl.read_parquet(written / "objects.parquet")
    objects.with_columns(pl.lit("a hand-written caption").alias("caption")).write_parquet(written / "objects.parquet")
    with pytest.raises(SceneError, match=r"checked.json: objects.parquet differ"):
        read_scene(written, with_rgb=False)
    assert schema_checks == ["cameras", "objects", "object_poses"]
    (written / CHECKED).unlink()
    assert read_scene(written, with_rgb=False).objects["caption"].to_list()[0] == "a hand-written caption"


def _without_object(scene: Scene, object_id: int, instances_to: int) -> Scene:
    """``scene`` without ``object_id``'s rows; its pixels set to id ``instances_to``."""
    inst = scene.instances.copy()
    inst[inst == object_id] = instances_to
    return replace(scene, instances=inst, objects=scene.objects.filter(pl.col("object_id") != object_id),
                   object_poses=scene.object_poses.filter(pl.col("object_id") != object_id))


def test_value_checks_catch_what_their_cheap_bounds_cannot_rule_out() -> None:
    scene = random_scene(4)
    assert set(np.unique(scene.instances).tolist()) == {0, 1, 2, 3}
    validate_scene(_without_object(scene, 2, 0))  # ids {1, 3} with a gap, only those present: valid
    with pytest.raises(SceneError, match=r"instance ids without an object row: \[2\]"):
        validate_scene(_without_object(scene, 2, 2))  # a present id inside the gap
    depth = scene.depth.copy()
    depth[0, 0, :3] = [np.nan, -np.inf, np.inf]  # non-finite values are "no depth", never negative
    validate_scene(replace(scene, depth=depth))
    depth[1, 2, 3] = -0.5
    with pytest.raises(SceneError, match="negative depth"):
        validate_scene(replace(scene, depth=depth))


def test_scenes_are_written_and_read_one_frame_at_a_time(tmp_path: Path) -> None:
    """write_scene reads each frame of a lazily decoded scene once, in order; read_scene opens the frames without
    reading them, gives back what was written, and checks a frame's values when that frame is read."""
    from fourdpqa.frame_store import FrameArray

    ref = random_scene(5, n_t=8)
    reads: list[tuple[str, int]] = []

    def lazy(name: str, a: np.ndarray) -> FrameArray:
        return FrameArray(len(a), a.shape[1:], a.dtype, lambda i: (reads.append((name, i)), a[i].copy())[1])

    streamed = replace(ref, rgb=lazy("rgb", ref.rgb), depth=lazy("depth", ref.depth),
                       instances=lazy("instances", ref.instances))
    out = write_scene(streamed, tmp_path / "toy")
    assert sorted(reads) == sorted((n, i) for n in ("rgb", "depth", "instances") for i in range(8))
    assert [i for n, i in reads if n == "depth"] == list(range(8))
    back = read_scene(out)
    for name in ("rgb", "depth", "instances"):
        assert not isinstance(getattr(back, name), np.ndarray)
        np.testing.assert_array_equal(np.asarray(getattr(back, name)), getattr(ref, name))
    depth = np.load(out / "depth.npy")
    depth[6, 1, 1] = -2.0
    np.save(out / "depth.npy", depth)
    opened = read_scene(out)  # opening reads no frame
    opened.depth[0]
    with pytest.raises(SceneError, match=r"depth.npy: negative depth values \(frame 6\)"):
        opened.depth[6]
