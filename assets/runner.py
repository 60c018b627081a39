"""Assets run stages only through the stage protocol; a stage failure becomes a failed Dagster step with its message."""

from __future__ import annotations

import dagster as dg

from assets.explain import failure
from fourdpqa.params import Params
from fourdpqa.stages.protocol import Stage, StageFailed, StageReport, prepare, run_stage

NO_INPUT = "no input: an upstream stage quarantined this video or has not produced it yet"


def run_partitions(context: dg.AssetExecutionContext, stage: Stage, params: Params, workers: int = 1) -> StageReport:
    """The run's partitions (one video, or a batch of them) through the stage protocol: each video under its own
    lock (concurrent runs share the stage), ``workers`` processes (the CLI's ``--workers`` pool). When a video is
    quarantined, the others are recorded as materialized and the step fails naming it and why."""
    from fourdpqa.stages.pool import pool_runner

    keys = list(context.partition_keys)
    try:
        prepare(stage, params)
        known = set(stage.items(params))
        todo = [k for k in keys if k in known]
        rows, counts = pool_runner(workers)(stage, params, todo, False) if todo else ([], {})
    except StageFailed as exc:
        raise dg.Failure(description=str(exc)) from exc
    report = StageReport(stage.name, counts=counts)
    report.quarantined = {k: NO_INPUT for k in keys if k not in known}
    for item, status, reason in rows:
        if status == "done":
            report.done.append(item)
        elif status == "skipped":
            report.skipped.append(item)
        else:
            report.quarantined[item] = reason or ""
    if report.quarantined:
        for key in [*report.done, *report.skipped]:
            context.log_event(dg.AssetMaterialization(asset_key=context.asset_key, partition=key,
                                                      metadata={"status": "done" if key in report.done else "skipped"}))
        raise dg.Failure(description=f"{stage.name}: quarantined " + "; ".join(
            f"{k}: {r}" for k, r in sorted(report.quarantined.items())),
            metadata={**report_metadata(report), "quarantined_videos": dg.MetadataValue.json(report.quarantined)})
    return report


def status_of(report: StageReport) -> str:
    """``done`` or ``skipped`` for a single-partition step."""
    return "done" if report.done else "skipped"


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
    """What a step did: items done, up to date, quarantined, and the stage's own tallies."""
    return {"done": len(report.done), "up_to_date": len(report.skipped), "quarantined": len(report.quarantined),
            **report.counts}
