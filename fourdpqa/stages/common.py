"""Per-item loop shared by the stages: progress, idempotent skip, quarantine of a failing item, summary."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from fourdpqa import quarantine
from fourdpqa.atomic import sweep_tmp, write_json

log = logging.getLogger("fourdpqa")

# Errors that mean "this item is bad", as opposed to bugs; a stage quarantines these and goes on.
ItemError = (ValueError, OSError, KeyError, IndexError, RuntimeError)


class StageFailed(RuntimeError):
    """A stage ended on a blocking failure (e.g. a blocking validation check); the CLI exits 1."""


@dataclass
class StageReport:
    stage: str
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    quarantined: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # stage-specific tallies (e.g. paraphrases rejected)

    def as_dict(self) -> dict:
        return {
            "stage": self.stage,
            "done": sorted(self.done),
            "skipped": sorted(self.skipped),
            "quarantined": dict(sorted(self.quarantined.items())),
            **({"counts": dict(sorted(self.counts.items()))} if self.counts else {}),
        }

    def summary(self) -> str:
        tallies = "".join(f", {k} {v}" for k, v in sorted(self.counts.items()))
        return (f"{self.stage}: {len(self.done)} done, {len(self.skipped)} up to date, "
                f"{len(self.quarantined)} quarantined{tallies}")


def for_each_item(
    stage: str,
    items: Sequence[str],
    work: Callable[[str], Path | None],
    data_root: str | Path,
    is_done: Callable[[str], bool] | None = None,
) -> StageReport:
    """Run ``work(item)`` for every item; bad items are quarantined with their error, the rest go on."""
    report = StageReport(stage)
    for item in tqdm(items, desc=stage, unit="video", disable=None):
        if is_done is not None and is_done(item):
            report.skipped.append(item)
            continue
        try:
            work(item)
        except ItemError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            quarantine.quarantine(data_root, stage, item, reason)
            report.quarantined[item] = reason
            log.warning("%s: quarantined %s: %s", stage, item, reason)
            continue
        quarantine.release(data_root, stage, item)
        report.done.append(item)
    log.info(report.summary())
    return report


def write_report(report: StageReport, path: str | Path) -> None:
    write_json(path, report.as_dict())


def run_items(
    stage: str,
    out_dir: Path,
    items: Sequence[str],
    work: Callable[[str], Path | None],
    data_root: str | Path,
    is_done: Callable[[str], bool],
    prune: Callable[[set[str]], object],
) -> StageReport:
    """A whole per-item stage: sweep temporaries of a killed run, ``prune`` outputs of items that no longer exist,
    run :func:`for_each_item` and write ``<out_dir>/_report.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sweep_tmp(out_dir)
    prune(set(items))
    report = for_each_item(stage, items, work, data_root, is_done=is_done)
    write_report(report, out_dir / "_report.json")
    return report
