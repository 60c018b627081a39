"""Content fingerprints: file digests, JSON digests and the digest of the code a stage runs.

One module for every "has this changed?" question of the pipeline. Digests are SHA-256 of contents (never
mtimes: outputs move between machines and DVC checkouts), and file lists are sorted by path relative to a root,
so the same content anywhere gives the same digest.

Each file is hashed once: a :class:`DigestCache` (one SQLite file per data root, ``<data_root>/.cache``) remembers
the digest of a file under its (device, inode) together with its size and ``mtime_ns``, the key DVC's own state
database uses; a file whose size or mtime changed (a rewrite, a truncation, a replacement) is hashed again. The cache
is local bookkeeping, never an output (the manifests, which DVC tracks, keep only content digests, so they stay
byte-identical on any machine); without it (a read-only root, ``FOURDPQA_DIGEST_CACHE=off``) every file is hashed.

The code digest follows a stage's *import closure*: the project modules it imports, directly or lazily inside
functions, read statically from the source (nothing is executed). It is what makes an edit in
``fourdpqa/questions/`` redo QA and an edit in ``fourdpqa/train.py`` leave QA alone, and the same file list
becomes the stage's ``deps`` in ``dvc.yaml``.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fourdpqa.atomic import TMP_MARK, json_default
from fourdpqa.layout import MANIFEST_DIR, REPORT_FILE

CODE_ROOT = Path(__file__).resolve().parents[1]  # the repository (or site-packages) holding fourdpqa/ and schemas/
PROJECT_PACKAGES = ("fourdpqa", "schemas")
CHUNK = 1 << 20
CACHE_ENV = "FOURDPQA_DIGEST_CACHE"  # "off": hash every file every time (the reference the benchmark compares with)
log = logging.getLogger("fourdpqa")
_hashed = {"files": 0, "bytes": 0}  # what this process read to hash (benchmarks/hash_once.py prints it)


def hashed() -> dict[str, int]:
    """Files and bytes this process has read to compute digests so far."""
    return dict(_hashed)


class DigestCache:
    """File digests by (device, inode), valid while the file keeps its size and ``mtime_ns``.

    An atomic rename keeps inode and mtime, so a digest taken in a staging folder stays valid once published, and a
    hard-linked copy shares it. SQLite serialises the writers (pool workers, a Dagster run beside the CLI); any
    error of the cache itself (locked too long, read-only, corrupt) only means hashing the file again."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._pid = -1
        self.enabled = os.environ.get(CACHE_ENV, "on").lower() not in {"off", "0", "false", "no"}

    def _conn(self) -> sqlite3.Connection | None:
        if not self.enabled:
            return None
        if self._db is None or self._pid != os.getpid():  # a forked worker opens its own connection
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("CREATE TABLE IF NOT EXISTS digests (dev INTEGER, ino INTEGER, size INTEGER, "
                           "mtime_ns INTEGER, sha256 TEXT, PRIMARY KEY (dev, ino))")
            except (OSError, sqlite3.Error) as exc:
                log.debug("digest cache %s unavailable (%s): hashing every file", self.path, exc)
                self.enabled = False
                return None
            self._db, self._pid = db, os.getpid()
        return self._db

    def digest(self, path: str | Path) -> str:
        """The SHA-256 of ``path``: the cached one when the file is unchanged, else computed and remembered."""
        st = os.stat(path)
        key = (st.st_dev, st.st_ino)
        db = self._conn()
        if db is not None:
            try:
                row = db.execute("SELECT size, mtime_ns, sha256 FROM digests WHERE dev=? AND ino=?", key).fetchone()
                if row is not None and row[:2] == (st.st_size, st.st_mtime_ns):
                    return row[2]
            except sqlite3.Error as exc:
                log.debug("digest cache %s: %s", self.path, exc)
        value = file_digest(path)
        if db is not None and os.stat(path).st_mtime_ns == st.st_mtime_ns:  # not rewritten while being read
            try:
                db.execute("INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?)",
                           (*key, st.st_size, st.st_mtime_ns, value))
            except sqlite3.Error as exc:
                log.debug("digest cache %s: %s", self.path, exc)
        return value


def file_digest(path: str | Path, cache: DigestCache | None = None) -> str:
    """SHA-256 hex digest of one file's bytes (read in 1 MiB chunks), through ``cache`` when given."""
    if cache is not None:
        return cache.digest(path)
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            _hashed["bytes"] += len(chunk)
    _hashed["files"] += 1
    return h.hexdigest()


def json_digest(obj: Any) -> str:
    """SHA-256 of canonical JSON (sorted keys, fixed separators): equal values give equal digests."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=json_default)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _content(path: Path) -> bool:
    """Content files only: temporaries and the stages' bookkeeping (reports, manifests) are skipped."""
    return TMP_MARK not in path.as_posix() and path.name != REPORT_FILE and MANIFEST_DIR not in path.parts


def tree_files(path: str | Path) -> list[Path]:
    """The content files of ``path`` (itself if a file; every file below it if a folder), sorted."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.rglob("*") if p.is_file() and _content(p.relative_to(path)))


def digest_files(paths: Iterable[str | Path], root: str | Path, cache: DigestCache | None = None) -> dict[str, str]:
    """``{path (posix): sha256}`` of every file under ``paths``: relative to ``root`` for files below it, else
    relative to the parent of the given path (a source folder outside the data root)."""
    root = Path(root)
    out = {}
    for path in map(Path, paths):
        base = root if path.is_relative_to(root) else path.parent
        out.update({p.relative_to(base).as_posix(): file_digest(p, cache) for p in tree_files(path)})
    return out


# ----------------------------------------------------------------------------------------------------- code digest


def _module_file(name: str, root: Path) -> Path | None:
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


_HOLDS_STATEMENTS = (ast.stmt, ast.excepthandler, ast.match_case)


def _walk_runtime(tree: ast.AST) -> list[ast.AST]:
    """Every statement except those under ``if TYPE_CHECKING:`` (annotations only, never executed). Expressions
    are not entered: they hold no statements, so no imports (skipping them makes the walk several times faster)."""
    out, todo = [], [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        todo.extend(child for child in ast.iter_child_nodes(node)
                    if isinstance(child, _HOLDS_STATEMENTS) and not _is_type_checking(child))
    return out


def imported_names(path: Path, module: str, packages: tuple[str, ...] = PROJECT_PACKAGES) -> set[str]:
    """Names under ``packages`` imported anywhere in ``path`` (module ``module``): top level or inside functions,
    not for typing only."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _walk_runtime(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import submodule`
    return {n for n in found if n.split(".")[0] in packages}


@functools.lru_cache(maxsize=64)
def _closure(modules: tuple[str, ...], root: Path) -> tuple[Path, ...]:
    seen: dict[str, Path] = {}
    todo = [m for name in modules for m in _with_parents(name)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name, root)
        if path is None:
            continue  # an attribute imported with `from pkg import name`, not a module
        seen[name] = path
        todo.extend(m for imported in imported_names(path, name) for m in _with_parents(imported))
    return tuple(sorted(set(seen.values())))


def import_closure(modules: Iterable[str], root: str | Path | None = None) -> list[Path]:
    """Source files of ``modules`` and every project module they import, transitively (parents included)."""
    return list(_closure(tuple(sorted(modules)), Path(root or CODE_ROOT).resolve()))


def code_digest(modules: Iterable[str], root: str | Path | None = None) -> str:
    """SHA-256 over the (relative path, bytes) of the import closure of ``modules``."""
    root = Path(root or CODE_ROOT).resolve()
    h = hashlib.sha256()
    for path in import_closure(modules, root):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def combine(parts: Mapping[str, Any]) -> str:
    """One fingerprint from named parts (params, code digest, input digests): a change in any part changes it."""
    return json_digest(dict(parts))
