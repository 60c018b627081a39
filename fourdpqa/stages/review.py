"""review: HTML page of sampled QA pairs (clip frames with marks, question, options, answer, measurement,
threshold, source) -> data/review/index.html, openable from disk; ``--serve`` records a reviewer's answers
(data/human_review/answers.jsonl) and ``--agreement`` prints human-label agreement per type."""

from __future__ import annotations

import argparse
import json

from fourdpqa import layout
from fourdpqa.params import Params
from fourdpqa.stages import common, stage_list
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


def run(params: Params, args: argparse.Namespace | None = None) -> StageReport | None:
    if getattr(args, "agreement", False):
        from fourdpqa.review.server import recorded_agreement

        print(json.dumps(recorded_agreement(params.data), indent=1))
        return None
    per_type = getattr(args, "per_type", None)
    if per_type:
        params = params.model_copy(update={"review": params.review.model_copy(update={"per_type": per_type})})
    report = run_stage(STAGE, params, force=common.force_arg(args))
    print(f"review: {layout.of(params).review_page}")
    if getattr(args, "serve", False):
        from fourdpqa.review.server import serve

        serve(params.data, args.port)
    return report
