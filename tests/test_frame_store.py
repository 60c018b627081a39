"""Frame arrays read on demand behave like the NumPy array they stand for (checked against NumPy indexing of the same
data), are written byte for byte like ``np.save``, refuse truncated files, and keep only a bounded number of
frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fourdpqa.frame_store import FrameArray, FrameError, NpyFrames, NpyFrameWriter


@pytest.fixture
def volume(tmp_path: Path) -> tuple[np.ndarray, Path]:
    a = np.random.default_rng(0).normal(size=(7, 5, 6)).astype(np.float32)
    path = tmp_path / "depth.npy"
    with NpyFrameWriter(path, 7, (5, 6), np.float32) as w:
        for f in a:
            w.write(f)
    return a, path


def test_streamed_file_is_byte_identical_to_np_save(volume, tmp_path: Path) -> None:
    a, path = volume
    np.save(tmp_path / "ref.npy", a)
    assert path.read_bytes() == (tmp_path / "ref.npy").read_bytes()


def test_indexing_matches_numpy(volume) -> None:
    a, path = volume
    arr = NpyFrames(path)
    t, y, x = np.array([0, 6, 3, 3]), np.array([1, 4, 0, 2]), np.array([5, 0, 2, 2])
    keys = [2, -1, (3, 1), (3, 1, 2), slice(1, 5, 2), np.array([4, 0, 4]), (np.array([1, 2]), slice(0, 2)),
            (t, y, x), (np.array([[1, 2], [3, 4]]),), np.array([True, False, True, False, False, False, True])]
    for key in keys:
        np.testing.assert_array_equal(arr[key], a[key], err_msg=repr(key))
    assert arr.shape == a.shape and len(arr) == 7 and arr.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(arr), a)
    np.testing.assert_array_equal(np.stack(list(arr)), a)
    with pytest.raises(ValueError):
        arr[0][0, 0] = 1.0  # frames handed out are read-only: the cache cannot be corrupted


@pytest.mark.parametrize("cut", [10, 100, -4])
def test_truncated_or_padded_file_is_refused(volume, cut: int) -> None:
    _, path = volume
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut > 0 else data + b"\0" * -cut)
    with pytest.raises(FrameError):
        NpyFrames(path)


def test_writer_checks_the_declared_frames(tmp_path: Path) -> None:
    with pytest.raises(FrameError, match="2 frames written, 3 declared"):
        with NpyFrameWriter(tmp_path / "x.npy", 3, (2, 2), np.uint16) as w:
            w.write(np.zeros((2, 2)))
            w.write(np.zeros((2, 2)))
    with pytest.raises(FrameError, match="shape"):
        NpyFrameWriter(tmp_path / "y.npy", 1, (2, 2), np.uint16).write(np.zeros((3, 2)))


def test_cache_keeps_a_bounded_number_of_frames_and_checks_each_once() -> None:
    reads, checks = [], []
    arr = FrameArray(50, (10, 10), np.float64, lambda i: (reads.append(i), np.full((10, 10), float(i)))[1],
                     check=lambda i, f: checks.append(i), cache_bytes=3 * 800, cache_frames=10)
    for i in [0, 1, 2, 0, 1, 2]:
        assert arr[i][0, 0] == i
    assert reads == [0, 1, 2] and checks == [0, 1, 2]  # three frames fit: read and checked once
    for i in range(3, 50):
        arr.frame(i)
    assert len(arr._cache) == 3
    arr.frame(0)
    assert reads.count(0) == 2  # evicted, read again
