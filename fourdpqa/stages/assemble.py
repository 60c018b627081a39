"""assemble: per-video QA tables -> data/dataset/{train,benchmark}.parquet, clips and exports (training
conversations, benchmark JSONL, lmms-eval task folder, datasets save_to_disk).

Fails (exit 1) without touching earlier outputs when the benchmark would fail a blocking check.
"""

from __future__ import annotations

import argparse

from fourdpqa import layout
from fourdpqa.assemble import AssemblyRefused, assemble
from fourdpqa.atomic import sweep_tmp
from fourdpqa.params import Params
from fourdpqa.stages.common import StageFailed, StageReport, write_report

STAGE = "assemble"


def run(params: Params, args: argparse.Namespace | None = None) -> StageReport:
    out = layout.of(params).dataset
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
