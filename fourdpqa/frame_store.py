"""Frame-indexed arrays that never hold a whole video: the standard scene's depth / instance volumes and RGB frames
are read one frame at a time, on demand, and written one frame at a time.

A :class:`FrameArray` behaves like a read-only ``(T, ...)`` NumPy array for what the pipeline does with scene
frames: ``a[t]``, ``a[t, y, x]``, ``a[frames]`` (int array or slice, stacked), pointwise ``a[ts, ys, xs]`` with index
arrays, ``len``, ``shape``, ``dtype``, iteration, and ``np.asarray(a)`` (which loads everything: meant for small
scenes and tests). Frames come from a callable; recently used ones stay in a byte-bounded cache, so a stage that
reads the 32 frames of a clip many times decodes each once, and memory does not grow with the video's length.

:class:`NpyFrames` reads frames of a ``(T, ...)`` ``.npy`` file with positioned reads (not a memory map: mapped
pages of a scanned file would count towards the process's resident memory until the kernel reclaims them);
:class:`NpyFrameWriter` writes such a file frame by frame, byte-identical to ``np.save`` of the stacked array.
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from fourdpqa.atomic import writing

CACHE_FRAMES, CACHE_BYTES = 8, 64 << 20  # decoded frames kept per array (LRU): at most this many, this many bytes


class FrameError(ValueError):
    """A frame file that cannot be read as declared (raised by the frame callables of this module)."""


class FrameArray:
    """A read-only ``(n, *frame_shape)`` array whose frames come from ``read(i)`` on demand (module docstring).

    ``check(i, frame)`` runs once on every frame read (value checks of the standard scene); frames handed out are
    read-only, so a consumer cannot corrupt the cache by writing into one."""

    def __init__(self, n: int, frame_shape: tuple[int, ...], dtype: np.dtype | type, read: Callable[[int], np.ndarray],
                 check: Callable[[int, np.ndarray], None] | None = None, cache_bytes: int = CACHE_BYTES,
                 cache_frames: int = CACHE_FRAMES):
        self.n, self.frame_shape, self.dtype = int(n), tuple(int(s) for s in frame_shape), np.dtype(dtype)
        self._read, self._check = read, check
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        frame_bytes = max(1, int(np.prod(self.frame_shape)) * self.dtype.itemsize)
        self._cache_frames = max(1, min(cache_frames, cache_bytes // frame_bytes))

    # -- array protocol -------------------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n, *self.frame_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.frame_shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.frame(i) for i in range(self.n))

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        out = self[np.arange(self.n)]
        return out if dtype is None else out.astype(dtype)

    def astype(self, dtype: np.dtype | type) -> np.ndarray:
        """All frames as a NumPy array of ``dtype`` (loads everything, like ``np.asarray``)."""
        return np.asarray(self).astype(dtype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self.shape}, dtype={self.dtype})"

    # -- frames ---------------------------------------------------------------------------------------------------
    def frame(self, i: int) -> np.ndarray:
        """Frame ``i`` (negative counts from the end), read-only."""
        i = int(i)
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(f"frame {i} outside 0..{self.n - 1}")
        got = self._cache.get(i)
        if got is not None:
            self._cache.move_to_end(i)
            return got
        a = np.asarray(self._read(i))
        if a.shape != self.frame_shape or a.dtype != self.dtype:
            raise FrameError(f"frame {i}: {a.dtype} {a.shape}, expected {self.dtype} {self.frame_shape}")
        if self._check is not None:
            self._check(i, a)
        a.setflags(write=False)
        self._cache[i] = a
        while len(self._cache) > self._cache_frames:
            self._cache.popitem(last=False)
        return a

    def __getitem__(self, key: object) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        first, rest = key[0], key[1:]
        if isinstance(first, (int, np.integer)):
            f = self.frame(int(first))
            return f[rest] if rest else f
        idx = np.arange(self.n)[first] if isinstance(first, slice) else np.asarray(first)
        if idx.dtype == bool and idx.ndim > 1:  # a mask over frames and pixels: small scenes only
            return np.asarray(self)[key]
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        if rest and all(isinstance(k, np.ndarray) or np.ndim(k) > 0 for k in rest):  # pointwise (t, y, x) arrays
            return self._pointwise(idx, rest)
        if any(isinstance(k, np.ndarray) or np.ndim(k) > 0 for k in rest):
            return np.asarray(self)[key]  # mixed advanced indexing: rare, small scenes only
        flat = idx.astype(np.int64).ravel()
        parts = [self.frame(i)[rest] if rest else self.frame(i) for i in flat.tolist()]
        if not parts:
            probe = np.zeros(self.frame_shape, self.dtype)[rest] if rest else np.zeros(self.frame_shape, self.dtype)
            return np.zeros((*idx.shape, *probe.shape), self.dtype)
        return np.stack(parts).reshape(*idx.shape, *parts[0].shape)

    def _pointwise(self, t: np.ndarray, rest: tuple) -> np.ndarray:
        """``a[t, *rest]`` for index arrays broadcast together: one frame read at a time."""
        arrays = np.broadcast_arrays(np.asarray(t, np.int64), *(np.asarray(k) for k in rest))
        t, rest = arrays[0], arrays[1:]
        out = np.empty(t.shape, self.dtype)
        for f in np.unique(t).tolist():
            sel = t == f
            out[sel] = self.frame(f)[tuple(k[sel] for k in rest)]
        return out


def _header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, data offset) of a C-order ``.npy`` file, with its size checked against the header."""
    try:
        with open(path, "rb") as fh:
            major, _minor = np.lib.format.read_magic(fh)
            read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(fh)
            offset = fh.tell()
    except (OSError, ValueError) as exc:
        raise FrameError(f"unreadable array header: {exc}") from exc
    if fortran or dtype.hasobject:
        raise FrameError("arrays must be C-ordered plain numbers")
    need = offset + int(np.prod(shape)) * dtype.itemsize
    size = path.stat().st_size
    if size != need:
        raise FrameError(f"{size} bytes, the header {shape} {dtype} needs {need} (truncated or padded file)")
    return tuple(int(s) for s in shape), dtype, offset


class NpyFrames(FrameArray):
    """Frames of a ``(T, ...)`` ``.npy`` file, read with one positioned read each (no memory map)."""

    def __init__(self, path: str | Path, check: Callable[[int, np.ndarray], None] | None = None,
                 cache_bytes: int = CACHE_BYTES, cache_frames: int = CACHE_FRAMES):
        self.path = Path(path)
        shape, dtype, self._offset = _header(self.path)
        if len(shape) < 1:
            raise FrameError(f"a frame array needs a leading frame axis, got shape {shape}")
        self._frame_bytes = int(np.prod(shape[1:])) * dtype.itemsize
        super().__init__(shape[0], shape[1:], dtype, self._read_frame, check, cache_bytes, cache_frames)

    def _read_frame(self, i: int) -> np.ndarray:
        a = np.empty(self.frame_shape, self.dtype)
        with open(self.path, "rb") as fh:
            got = os.preadv(fh.fileno(), [memoryview(a).cast("B")], self._offset + i * self._frame_bytes)
        if got != self._frame_bytes:
            raise FrameError(f"frame {i}: short read ({got} of {self._frame_bytes} bytes)")
        return a


class NpyFrameWriter:
    """Writes a ``(n, *frame_shape)`` ``.npy`` file one frame at a time; :meth:`close` checks that all ``n`` came.
    The bytes equal ``np.save`` of the stacked frames (same header, C order)."""

    def __init__(self, path: str | Path, n: int, frame_shape: tuple[int, ...], dtype: np.dtype | type):
        self.path, self.n, self.frame_shape, self.dtype = Path(path), int(n), tuple(frame_shape), np.dtype(dtype)
        self.written = 0
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                  "shape": (self.n, *self.frame_shape)}
        with writing(self.path):  # a full disk names the file (WriteFailed), as every other writer does
            self._fh = open(self.path, "wb")
            np.lib.format.write_array_header_1_0(self._fh, header)

    def write(self, frame: np.ndarray) -> None:
        a = np.ascontiguousarray(frame, dtype=self.dtype)
        if a.shape != self.frame_shape:
            raise FrameError(f"{self.path.name}: frame {self.written} has shape {a.shape}, expected {self.frame_shape}")
        if self.written >= self.n:
            raise FrameError(f"{self.path.name}: more than the {self.n} frames declared")
        with writing(self.path):
            self._fh.write(a.tobytes())
        self.written += 1

    def close(self) -> None:
        with writing(self.path):
            self._fh.close()
        if self.written != self.n:
            raise FrameError(f"{self.path.name}: {self.written} frames written, {self.n} declared")

    def __enter__(self) -> "NpyFrameWriter":
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.close()
        else:  # the file is abandoned: a failing flush (full disk) must not hide the error that ended the block
            with contextlib.suppress(OSError):
                self._fh.close()
