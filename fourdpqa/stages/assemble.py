"""assemble: per-video QA tables -> data/dataset/ (train and benchmark tables, clips, exports).

Exports: training conversations, benchmark JSONL, lmms-eval task folder, Hugging Face DatasetDict with its card.

Fails (exit 1) without touching earlier outputs when the benchmark would fail a blocking check.
"""

from __future__ import annotations

import argparse

from fourdpqa.assemble import DATASET_DIR, AssemblyRefused, assemble
from fourdpqa.atomic import sweep_tmp
from fourdpqa.params import Params
from fourdpqa.stages.common import StageFailed, StageReport, write_report

STAGE = "assemble"


def run(params: Params, args: argparse.Namespace | None = None) -> StageReport:
    out = params.data / DATASET_DIR
    sweep_tmp(out)
    try:
        result = assemble(params)
    except AssemblyRefused as exc:
        raise StageFailed(str(exc)) from exc
    report = StageReport(STAGE, done=sorted(result.train_videos + result.benchmark_videos),
                         quarantined=dict(result.quarantined))
    write_report(report, out / "_report.json")
    print(f"assemble: train {result.train.height} QA ({len(result.train_videos)} videos), "
          f"benchmark {result.benchmark.height} QA ({len(result.benchmark_videos)} videos) -> {out}")
    return report
