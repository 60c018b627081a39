"""The blocking oracle gate: every record re-derived by oracle-2 (:mod:`fourdpqa.oracle2`), an implementation
that shares no measurement, label or geometry code with the generator, so a generator bug makes it fail."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
from tqdm import tqdm

from fourdpqa.oracle2 import EvidenceError, Verdict, judge, load_evidence
from fourdpqa.validate.result import CheckResult
from fourdpqa.layout import item_name, scene_dir

MAX_LISTED = 50


def oracle2_verdicts(df: pl.DataFrame, scenes_root: str | Path, tracks_root: str | Path) -> tuple[dict[str, Verdict], dict[str, str]]:
    """(verdict per record id, error per record id) for every row of ``df``; a scene that cannot be read is an
    error for each of its records, named with the file."""
    verdicts: dict[str, Verdict] = {}
    errors: dict[str, str] = {}
    groups = df.sort("video_id").group_by(["video_id"], maintain_order=True)
    for (vid,), grp in tqdm(groups, desc="check_oracle", unit="video", total=df["video_id"].n_unique(), disable=None):
        try:
            ev = load_evidence(scene_dir(scenes_root, vid), Path(tracks_root) / f"{item_name(vid)}.npz")
        except (EvidenceError, KeyError) as exc:
            errors.update({rid: f"{type(exc).__name__}: {exc}" for rid in grp["id"].to_list()})
            continue
        for rec in grp.iter_rows(named=True):
            try:
                verdicts[rec["id"]] = judge(rec, ev)
            except (ValueError, KeyError, IndexError) as exc:
                errors[rec["id"]] = f"{type(exc).__name__}: {exc}"
    return verdicts, errors


def _per_type(df: pl.DataFrame, verdicts: dict[str, Verdict]) -> dict[str, dict[str, int]]:
    out: dict[str, Counter] = {}
    for rid, qname in df.select("id", "question_name").iter_rows():
        if rid in verdicts:
            out.setdefault(qname, Counter())[verdicts[rid].status] += 1
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def check_oracle(df: pl.DataFrame, scenes_root: str | Path, tracks_root: str | Path) -> CheckResult:
    """Oracle-2 agreement on every record it can derive (100% required) and no record it fails to read.
    Records whose reference is ambiguous or whose type it does not cover (point-tracking trajectories) are
    counted and listed, not failed. Blocking: a wrong answer key silently caps every model's score."""
    verdicts, errors = oracle2_verdicts(df, scenes_root, tracks_root)
    status = Counter(v.status for v in verdicts.values())
    derived = status["agree"] + status["disagree"]
    wrong = {rid: {"stored": v.stored, "oracle2": v.derived, "why": v.detail}
             for rid, v in sorted(verdicts.items()) if v.status == "disagree"}
    underivable = Counter(v.detail.split(":")[0] for v in verdicts.values() if v.status == "underivable")
    details: dict[str, Any] = {
        "agreement": round(status["agree"] / derived, 4) if derived else None,
        "n_records": df.height, "n_derived": derived, "n_agree": status["agree"], "n_disagree": status["disagree"],
        "n_underivable": status["underivable"], "n_errors": len(errors),
        "underivable_reasons": dict(sorted(underivable.items())),
        "ambiguous_references": {rid: v.detail for rid, v in sorted(verdicts.items())
                                 if v.detail.startswith("ambiguous reference")}, "per_type": _per_type(df, verdicts),
        "motion_source": dict(sorted(Counter(v.source for v in verdicts.values() if v.source).items())),
        "disagreements": dict(list(wrong.items())[:MAX_LISTED]), "errors": dict(sorted(errors.items())[:MAX_LISTED]),
    }
    details["ambiguous_references"] = dict(list(details["ambiguous_references"].items())[:MAX_LISTED])
    pct = 100.0 * status["agree"] / derived if derived else 100.0
    observed = (f"{status['agree']}/{derived} derived answers agree ({pct:.2f}%); {status['underivable']} underivable, "
                f"{len(errors)} errors")
    return CheckResult("check_oracle", not wrong and not errors, True, observed,
                       "100% agreement of oracle-2 on every derivable record, 0 errors", details)
