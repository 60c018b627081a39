"""Check results assembly computed on the tables it wrote, recorded beside them (``dataset/checks.json``) so that
validation reads them instead of computing them again: leakage and the benchmark's answer consistency.

A record holds the SHA-256 of each table as written and the settings the checks ran under; it is used only while
both still match (a table edited after assembly, or a changed ``phash_max_distance``, is checked afresh).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fourdpqa.atomic import write_json
from fourdpqa.fingerprint import file_digest
from fourdpqa.validate.result import CheckResult

RECORDED = ("check_leakage", "check_answer_consistency")  # what assembly runs and validation would repeat


def _digests(tables: Mapping[str, Path]) -> dict[str, str]:
    return {name: file_digest(path) for name, path in sorted(tables.items())}


def write_record(path: str | Path, results: list[CheckResult], tables: Mapping[str, Path],
                 settings: Mapping[str, Any]) -> None:
    """Record the :data:`RECORDED` results of ``results`` with the digests of ``tables`` (name -> written file)."""
    keep = [r.as_dict() for r in results if r.name in RECORDED]
    write_json(path, {"tables": _digests(tables), "settings": dict(settings), "checks": keep})


def read_record(path: str | Path, tables: Mapping[str, Path], settings: Mapping[str, Any]) -> dict[str, CheckResult]:
    """The recorded results (name -> result, marked ``recorded_by: assemble``) when the record was made for these
    tables' bytes and these settings; empty otherwise (no record, another dataset, other settings)."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        matches = record["settings"] == dict(settings) and record["tables"] == _digests(tables)
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if not matches:
        return {}
    out = {}
    for c in record["checks"]:
        out[c["name"]] = CheckResult(c["name"], c["passed"], c["blocking"], c["observed"], c["expected"],
                                     {**c.get("details", {}), "recorded_by": "assemble"})
    return out
