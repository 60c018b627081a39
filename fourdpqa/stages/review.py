"""review: a static HTML page of sampled QA pairs -> data/review/index.html, openable from disk.

Each card shows the clip frames with their marks, question, options, answer, measurement, threshold and source."""

from __future__ import annotations

import argparse

from fourdpqa import layout
from fourdpqa.params import Params
from fourdpqa.stages import stage_list
from fourdpqa.stages.protocol import Job, Stage, StageReport, run_stage


def write_page(job: Job) -> None:
    from fourdpqa.review import write_review

    write_review(job.where.dataset, job.out, job.params.review.per_type, job.params.base.seed)


STAGE = Stage(
    info=stage_list.get("review"),
    out_dir=lambda where: where.review,
    items=lambda params: ["review"],
    work=write_page,
    outputs=lambda params, item: [layout.of(params).review],
    inputs=lambda params, item: [layout.of(params).dataset],
    staged=True,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--per-type", type=int, default=None,
                        help="QA pairs per (split, question type, format) (default: params review.per_type)")


def run(params: Params, args: argparse.Namespace | None = None) -> StageReport:
    per_type = getattr(args, "per_type", None)
    if per_type:
        params = params.model_copy(update={"review": params.review.model_copy(update={"per_type": per_type})})
    report = run_stage(STAGE, params)
    print(f"review: {layout.of(params).review_page}")
    return report
