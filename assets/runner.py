"""Assets run stages only through the stage protocol; a stage failure becomes a failed Dagster step with its message."""

from __future__ import annotations

import dagster as dg

from assets.explain import failure
from fourdpqa.params import Params
from fourdpqa.stages.protocol import Stage, StageFailed, StageReport, run_partition, run_stage


def run_item(stage: Stage, params: Params, item: str) -> str:
    """One per-video partition: "done" or "skipped"; a quarantined video fails the step naming why."""
    try:
        return run_partition(stage, params, item)
    except StageFailed as exc:
        raise dg.Failure(description=str(exc)) from exc


def run_whole(stage: Stage, params: Params) -> StageReport:
    """A dataset-level stage (or a whole per-video stage, e.g. rendering the procedural source). A refused assembly
    fails with metadata naming each blocking check the candidate dataset failed, its rule and examples."""
    try:
        return run_stage(stage, params)
    except StageFailed as exc:
        from fourdpqa.assemble import AssemblyRefused

        if isinstance(exc.__cause__, AssemblyRefused):
            raise failure(str(exc), exc.__cause__.failures) from exc
        raise dg.Failure(description=str(exc)) from exc


def report_metadata(report: StageReport) -> dict:
    return {"done": len(report.done), "up_to_date": len(report.skipped), "quarantined": len(report.quarantined)}
