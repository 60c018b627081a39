"""validate: the checks of the registry (:mod:`fourdpqa.validate.registry`) over the assembled dataset ->
data/validation/report.json (+ answer histograms).

Schema, label balance, leakage, answer consistency, oracle-2, benchmark marks and the blind audit are blocking: any
failure exits 1 so ``dvc repro`` stops; training-set balance / marks are warnings (the pixel probe is its own
stage, ``learnability``). The report is published in one rename together with its plots and records which dataset
it checked (the fingerprint of the assembled dataset), so a report can never be mistaken for the verdict on a newer
dataset. Dagster's asset checks report each check from this report: one computation, two drivers.
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from fourdpqa import layout
from fourdpqa.params import Params
from fourdpqa.stages import common, stage_list
from fourdpqa.stages.protocol import Job, Stage, StageFailed, StageReport, run_stage

log = logging.getLogger("fourdpqa.validate")


def dataset_stamp(where: layout.Layout) -> dict[str, Any]:
    """Which dataset is published: the fingerprint in its manifest (None when it has none)."""
    try:
        fp = json.loads(where.manifest(where.dataset, "assemble").read_text(encoding="utf-8"))["fingerprint"]
    except (OSError, ValueError, KeyError):
        fp = None
    return {"fingerprint": fp}


def validate_dataset(job: Job) -> None:
    from fourdpqa.stages.records import write_validation_records
    from fourdpqa.validate import run_validation

    params = job.params
    report = run_validation(job.where.root, params.validate, params.base.seed, out_dir=job.out,
                            stamp=dataset_stamp(job.where))
    write_validation_records(job.where.root, report)  # dvc metrics / plots (outside the published folder)


STAGE = Stage(
    info=stage_list.get("validate"),
    out_dir=lambda where: where.validation,
    items=lambda params: ["validate"],
    work=validate_dataset,
    outputs=lambda params, item: [layout.of(params).validation],
    inputs=lambda params, item: [layout.of(params).dataset, layout.of(params).qa, layout.of(params).scenes,
                                 layout.of(params).tracks],
    staged=True,
    uses_torch=False,  # the pixel probe (torch) is the learnability stage
)


def read_verdict(where: layout.Layout) -> dict[str, Any]:
    """The published report; StageFailed when it is missing or was made for another dataset than the published one."""
    try:
        report = json.loads(where.validation_report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StageFailed(f"no readable validation report at {where.validation_report}: run the validate stage") from exc
    if report.get("dataset") != dataset_stamp(where):
        raise StageFailed(f"{where.validation_report} checked another dataset than {where.dataset} "
                          "(assembled since): run the validate stage")
    return report


def blocking_failures(report: dict[str, Any]) -> list[str]:
    return [f"{c['name']}: observed {c['observed']}, expected {c['expected']}"
            for c in report["checks"] if c["blocking"] and not c["passed"]]


def run(params: Params, args: argparse.Namespace | None = None) -> StageReport:
    from fourdpqa.validate.figures import format_figures

    stage_report = run_stage(STAGE, params, force=common.force_arg(args))
    report = read_verdict(layout.of(params))
    for c in report["checks"]:
        status = "ok" if c["passed"] else ("FAILED" if c["blocking"] else "warning")
        print(f"{status:8s} {c['name']}: {c['observed']}")
    print("\n".join(format_figures(report.get("figures", {}))))
    failures = blocking_failures(report)
    if failures:
        raise StageFailed("blocking checks failed: " + "; ".join(failures))
    return stage_report
