"""Clip export keyed by content: a changed scene or output size never reuses old files; identical inputs encode
nothing; marked variants share the unmarked frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import polars as pl
import pytest

from fourdpqa import clips
from fourdpqa.scene import write_scene
from tests.helpers.dataset_data import make_records, make_scene, qa_frame

VID = "proc_00000"


def rows_of(scene_root: Path, seed: int) -> pl.DataFrame:
    """The QA rows of one synthetic video whose frames depend on ``seed`` (written under ``scene_root``)."""
    write_scene(make_scene(VID, seed=seed), scene_root / VID)
    rows = make_records(VID, per_type=2)
    return qa_frame(rows).filter(pl.col("reference_mode").is_in(["caption", "circle"]))


def export(rows: pl.DataFrame, scenes: Path, out: Path, size: tuple[int, int]) -> pl.DataFrame:
    return clips.export_clips(rows, scenes, out, *size, mp4=True, workers=2)


def source_frame(scenes: Path, index: int) -> np.ndarray:
    return cv2.imread(str(scenes / VID / "rgb" / f"{index:05d}.png"))


def test_scene_or_size_change_gives_new_keys_and_fresh_frames(tmp_path):
    out = tmp_path / "dataset"
    first = export(rows_of(tmp_path / "a", seed=0), tmp_path / "a", out, (48, 40))
    resized = export(rows_of(tmp_path / "a", seed=0), tmp_path / "a", out, (32, 24))
    reseeded = export(rows_of(tmp_path / "b", seed=1), tmp_path / "b", out, (48, 40))
    keys = [set(df["clip_key"]) for df in (first, resized, reseeded)]
    assert not keys[0] & keys[1] and not keys[0] & keys[2] and not keys[1] & keys[2]
    for df, scenes, (w, h) in ((resized, tmp_path / "a", (32, 24)), (reseeded, tmp_path / "b", (48, 40))):
        rec = df.filter(pl.col("reference_mode") == "caption").row(0, named=True)
        k = len(rec["clip_frames"]) - 1
        got = cv2.imread(str(out / rec["frames"][k])).astype(int)
        want = cv2.resize(source_frame(scenes, rec["clip_frames"][k]), (w, h), interpolation=cv2.INTER_AREA)
        assert got.shape == (h, w, 3) and np.abs(got - want.astype(int)).mean() < 6  # this scene, this size
        video = cv2.VideoCapture(str(out / rec["video"]))
        assert int(video.get(cv2.CAP_PROP_FRAME_WIDTH)) == w and int(video.get(cv2.CAP_PROP_FRAME_HEIGHT)) == h
        video.release()
    old = cv2.imread(str(out / first.row(0, named=True)["frames"][0])).astype(int)
    new = cv2.imread(str(out / reseeded.row(0, named=True)["frames"][0])).astype(int)
    assert np.abs(old - new).mean() > 10  # the reseeded rows do not point at the old video's pixels


def test_identical_inputs_reuse_every_file(tmp_path, monkeypatch):
    out = tmp_path / "dataset"
    rows = rows_of(tmp_path, seed=0)
    first = export(rows, tmp_path, out, (48, 40))
    files = {p: p.stat().st_mtime_ns for p in (out / "clips").rglob("*") if p.is_file()}

    def no_encoding(*args, **kwargs):
        raise AssertionError("re-encoded an existing clip file")

    monkeypatch.setattr(clips, "write_jpeg", no_encoding)
    monkeypatch.setattr(clips, "write_mp4", no_encoding)
    again = export(rows, tmp_path, out, (48, 40))
    assert again.equals(first)
    assert {p: p.stat().st_mtime_ns for p in (out / "clips").rglob("*") if p.is_file()} == files


def test_marked_rows_share_unmarked_frames(tmp_path):
    out = tmp_path / "dataset"
    df = export(rows_of(tmp_path, seed=0), tmp_path, out, (48, 40))
    plain = df.filter(pl.col("reference_mode") == "caption").row(0, named=True)
    marked = df.filter(pl.col("reference_mode") == "circle").row(0, named=True)
    differ = [i for i, (a, b) in enumerate(zip(plain["frames"], marked["frames"], strict=True)) if a != b]
    assert differ == [0]  # the circle is drawn on clip frame 0 only
    assert plain["video"] != marked["video"] and plain["clip_key"] != marked["clip_key"]
    n_files = len([p for p in (out / "clips").rglob("*") if p.is_file()])
    variants = df["clip_key"].n_unique()
    assert n_files == len(plain["frames"]) + (variants - 1) + variants  # shared frames + marked frames + mp4s


def test_missing_source_frame_names_the_file(tmp_path):
    rows = rows_of(tmp_path, seed=0)
    (tmp_path / VID / "rgb" / "00003.png").unlink()
    with pytest.raises(ValueError, match=r"proc_00000.*00003\.png"):
        export(rows, tmp_path, tmp_path / "dataset", (48, 40))


def read_video(path: Path, raw: bool) -> tuple[list, float]:
    """OpenCV's FFmpeg reader (not the PyAV muxer that wrote the file): the packets as stored (``raw``) or the
    decoded BGR frames, and the container's fps."""
    video = cv2.VideoCapture(str(path))
    if raw:
        video.set(cv2.CAP_PROP_FORMAT, -1)
    frames = []
    ok, frame = video.read()
    while ok:
        frames.append(frame.tobytes() if raw else frame)
        ok, frame = video.read()
    fps = video.get(cv2.CAP_PROP_FPS)
    video.release()
    return frames, fps


def test_benchmark_mp4_is_the_rows_jpeg_frames_unchanged(tmp_path):
    """lmms-eval's input: each variant's mp4 holds the row's JPEG files byte for byte, one packet per clip frame
    at the row's fps, and decodes to the pictures of those files (FFmpeg's JPEG decoder upsamples chroma unlike
    libjpeg: a few levels on average here, while consecutive frames of this clip differ by more than 11)."""
    out = tmp_path / "dataset"
    df = export(rows_of(tmp_path, seed=0), tmp_path, out, (48, 40))
    assert df.filter(pl.col("reference_mode") == "circle").height  # marked variants are checked too
    for rec in df.unique("clip_key").iter_rows(named=True):
        packets, fps = read_video(out / rec["video"], raw=True)
        assert packets == [(out / f).read_bytes() for f in rec["frames"]], rec["clip_key"]
        assert fps == pytest.approx(rec["fps"])
        decoded, _ = read_video(out / rec["video"], raw=False)
        jpegs = [cv2.imread(str(out / f)) for f in rec["frames"]]
        assert len(decoded) == len(rec["clip_frames"]) and decoded[0].shape == (40, 48, 3)
        for got, want in zip(decoded, jpegs, strict=True):
            assert np.abs(got.astype(int) - want).mean() < 6


def test_mp4_bytes_depend_on_the_frames_only(tmp_path):
    rows = rows_of(tmp_path, seed=0)
    first = export(rows, tmp_path, tmp_path / "a", (48, 40))
    again = export(rows, tmp_path, tmp_path / "b", (48, 40))
    for a, b in zip(first["video"], again["video"], strict=True):
        data = (tmp_path / "a" / a).read_bytes()
        assert data == (tmp_path / "b" / b).read_bytes()
        assert b"Lavf" not in data  # no FFmpeg version tag: another FFmpeg build writes the same file
