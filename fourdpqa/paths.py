"""Input path safety: source paths must resolve inside the configured roots (no ``..`` or symlink escapes), and so
must every file and folder under a video's raw folder (a symlinked ``metadata.json`` or frame pointing elsewhere)."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

from fourdpqa.errors import BadInput


class UnsafePathError(BadInput):
    """A path that resolves outside every allowed root."""


def resolve_inside(path: str | Path, roots: list[str | Path], base: str | Path = ".") -> Path:
    """Resolve ``path`` (relative to ``base``) following symlinks; it must lie inside one of ``roots``."""
    base = Path(base)
    p = Path(path)
    resolved = (p if p.is_absolute() else base / p).resolve()
    allowed = [(Path(r) if Path(r).is_absolute() else base / r).resolve() for r in roots]
    if not any(resolved == r or r in resolved.parents for r in allowed):
        raise UnsafePathError(f"{path}: resolves to {resolved}, outside the allowed roots {[str(r) for r in allowed]}")
    return resolved


def confined_tree(path: str | Path, roots: list[str | Path], base: str | Path = ".") -> Path:
    """:func:`resolve_inside` for ``path`` and for every file and folder below it (symlinks followed, each loop
    walked once), so that nothing a reader opens there lies outside ``roots``; returns ``path`` resolved."""
    top = resolve_inside(path, roots, base)
    if not top.is_dir():
        return top
    seen = {top}
    for folder, dirs, files in os.walk(top, followlinks=True):
        for name in [*dirs, *files]:
            entry = Path(folder) / name
            if entry.is_symlink():
                resolve_inside(entry, roots, base)
        real = [d for d in dirs if (Path(folder) / d).resolve() not in seen]
        seen.update((Path(folder) / d).resolve() for d in real)
        dirs[:] = real
    return top


def safe_extract(archive: str | Path, target: str | Path) -> list[Path]:
    """Extract a tar archive refusing members that would land outside ``target`` (absolute, ``..``, links out)."""
    target = Path(target).resolve()
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for m in members:
            dest = (target / m.name).resolve()
            if dest != target and target not in dest.parents:
                raise UnsafePathError(f"{archive}: member {m.name!r} would be written outside {target}")
            if m.issym() or m.islnk():
                link = (dest.parent / m.linkname).resolve()
                if target not in link.parents and link != target:
                    raise UnsafePathError(f"{archive}: link {m.name!r} -> {m.linkname!r} points outside {target}")
            if m.isdev():
                raise UnsafePathError(f"{archive}: member {m.name!r} is a device file")
        tar.extractall(target, members=members, filter="data")
    return [target / m.name for m in members]
