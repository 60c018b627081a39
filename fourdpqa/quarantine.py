"""Quarantine records: one bad item is set aside with a reason; the rest of the run goes on.

Records live in ``<data_root>/quarantine/<stage>/<item_id>.json``; a later successful run of the same item
removes its record, so the folder always lists what is currently excluded and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fourdpqa.atomic import write_json
from fourdpqa.layout import Layout, item_name


@dataclass(frozen=True)
class QuarantineRecord:
    stage: str
    item_id: str
    reason: str
    path: str | None = None


def quarantine_dir(data_root: str | Path, stage: str) -> Path:
    return Layout(Path(data_root)).quarantine(stage)


def quarantine(data_root: str | Path, stage: str, item_id: str, reason: str, path: str | Path | None = None) -> Path:
    """Write the record for ``item_id`` and return its path."""
    out = quarantine_dir(data_root, stage) / f"{item_name(item_id)}.json"
    write_json(out, {"stage": stage, "item_id": item_id, "reason": reason, "path": str(path) if path else None})
    return out


def release(data_root: str | Path, stage: str, item_id: str) -> None:
    """Drop the record of an item that now succeeds."""
    p = quarantine_dir(data_root, stage) / f"{item_name(item_id)}.json"
    if p.exists():
        p.unlink()


def list_quarantined(data_root: str | Path, stage: str) -> list[QuarantineRecord]:
    d = quarantine_dir(data_root, stage)
    if not d.exists():
        return []
    out = []
    for p in sorted(d.glob("*.json")):
        r = json.loads(p.read_text())
        out.append(QuarantineRecord(r["stage"], r["item_id"], r["reason"], r.get("path")))
    return out
