"""What DVC recorded for a stage output folder, read from ``dvc.lock`` (and DVC's cache listing when present) with
yaml / json only: the library does not import DVC. Used to tag MLflow runs with the DVC hash of the data they read.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import yaml

from fourdpqa.layout import MANIFEST_DIR

log = logging.getLogger("fourdpqa.tracking")


def _lock_entry(folder: Path) -> tuple[Path, dict] | None:
    """(dvc.lock, its out entry for ``folder``) from the nearest dvc.lock above the folder, or None."""
    lock = next((d / "dvc.lock" for d in folder.parents if (d / "dvc.lock").is_file()), None)
    if lock is None:
        return None
    try:
        stages = (yaml.safe_load(lock.read_text(encoding="utf-8")) or {}).get("stages", {})
        outs = [o for stage in stages.values() for o in stage.get("outs", [])
                if (lock.parent / o["path"]).resolve() == folder]
    except (OSError, yaml.YAMLError, AttributeError, KeyError, TypeError) as exc:
        log.warning("%s unreadable (%s): no DVC hash for %s", lock, exc, folder)
        return None
    return (lock, outs[0]) if outs and outs[0].get("md5") else None


def _cache_listing(lock: Path, md5: str) -> dict[str, str] | None:
    """relpath -> md5 of the folder as DVC cached it (``.dvc/cache/files/md5/<xx>/<rest>.dir``), if there."""
    listing = lock.parent / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    try:
        return {e["relpath"]: e["md5"] for e in json.loads(listing.read_text(encoding="utf-8"))}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def dvc_md5(folder: str | Path) -> str | None:
    """The md5 (``<hash>.dir``) that dvc.lock records for ``folder``, or None: no lock entry, or the entry describes
    another version of the folder (rebuilt outside ``dvc repro``, e.g. by Dagster) — its file count or size differ,
    or, when DVC's cache holds the listing, a manifest of the stage protocol (which holds the digest of every file
    the stage wrote) differs from the cached one."""
    folder = Path(folder).resolve()
    found = _lock_entry(folder)
    if found is None:
        return None
    lock, out = found
    files = [p for p in folder.rglob("*") if p.is_file()]
    stale = (out.get("nfiles"), out.get("size")) != (len(files), sum(p.stat().st_size for p in files))
    listed = _cache_listing(lock, out["md5"]) if not stale else None
    if listed is not None:
        manifests = [p for p in files if MANIFEST_DIR in p.relative_to(folder).parts]
        stale = any(listed.get(p.relative_to(folder).as_posix()) != hashlib.md5(p.read_bytes(), usedforsecurity=False).hexdigest()
                    for p in manifests)
    if stale:
        log.warning("%s describes another version of %s (rebuilt outside dvc repro): no DVC hash", lock, folder)
        return None
    return out["md5"]
