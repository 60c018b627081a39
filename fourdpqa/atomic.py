"""Crash-safe writes: every artifact is written to a temporary sibling and renamed into place.

A process killed mid-write leaves at most a ``.tmp-*`` sibling (ignored by readers and swept on the next run),
never a half-written file under the final name. Any ``OSError`` while writing (disk full, ``RLIMIT_FSIZE``, a short
write without errno) becomes :class:`fourdpqa.errors.WriteFailed` naming the output, so the stage protocol can tell
a failing machine from a bad input.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fourdpqa.errors import WriteFailed

if TYPE_CHECKING:  # numpy and polars load with the first array / table written, not with every stage's --help
    import numpy as np
    import polars as pl

TMP_MARK = ".tmp-"
_UMASK = os.umask(0)
os.umask(_UMASK)


def write_failed(path: str | Path, exc: OSError) -> WriteFailed:
    """``exc`` (raised while writing ``path``) as a :class:`WriteFailed` naming the output and the cause."""
    if isinstance(exc, WriteFailed):
        return exc
    return WriteFailed(exc.errno, f"cannot write {path}: {exc.strerror or exc}", str(path))


@contextlib.contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Turn any ``OSError`` raised in the block into :class:`WriteFailed` naming ``path``."""
    try:
        yield
    except OSError as exc:
        raise write_failed(path, exc) from exc


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync and rename it over ``path``. An ``OSError`` in the
    block (the writer's) or in the fsync / rename raises :class:`WriteFailed`."""
    path = Path(path)
    tmp_path: Path | None = None
    try:
        with writing(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=path.name + TMP_MARK, dir=path.parent)
            os.close(fd)
            tmp_path = Path(tmp)
            os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp creates 0600; outputs get the usual permissions
            yield tmp_path
            with open(tmp_path, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp_path, path)
    finally:
        if tmp_path is not None and tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def staging_dir(path: str | Path) -> Iterator[Path]:
    """A fresh temporary folder beside ``path`` (removed again unless it was published). The block may read inputs
    too, so only the folder's creation raises :class:`WriteFailed`; the writers inside raise it themselves."""
    path = Path(path)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=path.name + TMP_MARK, dir=path.parent))
        os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp creates 0700
    try:
        yield tmp
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def publish_dir(staged: str | Path, path: str | Path) -> None:
    """Make the folder ``staged`` become ``path``: one atomic swap when the kernel offers it, else two renames that
    :func:`restore_dir` undoes if the process dies between them. The old version is deleted afterwards."""
    staged, path = Path(staged), Path(path)
    if path.exists() and _exchange(staged, path):
        shutil.rmtree(staged)  # now holds the old version
        return
    old = path.with_name(path.name + TMP_MARK + "old")
    if old.exists():
        shutil.rmtree(old)
    if path.exists():
        os.replace(path, old)
    os.replace(staged, path)
    if old.exists():
        shutil.rmtree(old)


def restore_dir(path: str | Path) -> bool:
    """After a kill between :func:`publish_dir`'s two renames, put the previous version back."""
    path = Path(path)
    old = path.with_name(path.name + TMP_MARK + "old")
    if old.is_dir() and not path.exists():
        os.replace(old, path)
        return True
    return False


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary directory to write into (any ``OSError`` there raises :class:`WriteFailed`); on
    success it replaces ``path`` as a whole."""
    with staging_dir(path) as tmp:
        with writing(path):
            yield tmp
            publish_dir(tmp, path)


def sweep_siblings(path: str | Path) -> int:
    """Remove temporaries of ``path`` left by a killed writer (``<name>.tmp-*`` beside it), after restoring a
    previous version a killed publish left aside; returns how many were removed."""
    path = Path(path)
    restore_dir(path)
    if not path.parent.is_dir():
        return 0
    stale = sorted(path.parent.glob(glob.escape(path.name) + TMP_MARK + "*"))
    for p in stale:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink(missing_ok=True)
    return len(stale)


def sweep_tmp(directory: str | Path) -> int:
    """Remove temporaries left by a killed process under ``directory``; returns how many were removed."""
    removed = 0
    directory = Path(directory)
    if not directory.exists():
        return 0
    for p in sorted(directory.rglob(f"*{TMP_MARK}*")):
        if not p.exists():
            continue
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
        removed += 1
    return removed


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj: Any) -> None:
    """Deterministic JSON (sorted keys, fixed separators) so reruns are byte-identical."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=json_default) + "\n")


def write_jsonl(path: str | Path, rows: list[dict[str, Any]]) -> None:
    lines = [json.dumps(r, sort_keys=True, ensure_ascii=False, default=json_default) for r in rows]
    write_text(path, "\n".join(lines) + ("\n" if lines else ""))


def write_parquet(path: str | Path, df: pl.DataFrame) -> None:
    """Parquet without wall-clock metadata: the same frame always gives the same bytes."""
    import polars as pl

    with atomic_path(path) as tmp:
        try:
            df.write_parquet(tmp, compression="zstd", statistics=False)
        except pl.exceptions.PolarsError as exc:  # polars reports a failed write (EFBIG, ENOSPC) as its own error
            if "IO error" not in str(exc) and "os error" not in str(exc):
                raise
            raise WriteFailed(None, f"cannot write {path}: {exc}", str(path)) from exc


def write_npy(path: str | Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            import numpy as np

            np.save(fh, array, allow_pickle=False)


def write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """Compressed npz written through a temp file (np.savez appends '.npz' to bare names, so use a handle)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            import numpy as np

            np.savez_compressed(fh, **arrays)


def json_default(obj: Any) -> Any:
    """The one JSON fallback of the project: numpy scalars and arrays, paths."""
    np = sys.modules.get("numpy")  # an object can only be a numpy value if numpy is loaded
    if np is not None and isinstance(obj, np.generic):
        return obj.item()
    if np is not None and isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
