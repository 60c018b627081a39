"""validate: checks of the assembled dataset -> data/validation/report.json (+ answer histograms).

Schema, label balance, leakage, answer consistency, oracle-2, benchmark marks and the blind audit are blocking: any
failure exits 1 so ``dvc repro`` stops; training-set balance / marks and the pixel probe are warnings.
"""

from __future__ import annotations

import argparse
import logging

from fourdpqa.params import Params
from fourdpqa.stages.common import StageFailed
from fourdpqa.validate import ValidationReport, format_figures, run_validation

log = logging.getLogger("fourdpqa.validate")


def run(params: Params, args: argparse.Namespace | None = None) -> ValidationReport:
    report = run_validation(params.data, params.validate_, params.base.seed, params.base.device)
    for c in report.checks:
        status = "ok" if c.passed else ("FAILED" if c.blocking else "warning")
        print(f"{status:8s} {c.name}: {c.observed}")
    print("\n".join(format_figures(report.figures)))
    if report.blocking_failures:
        raise StageFailed("blocking checks failed: " + "; ".join(c.why() for c in report.blocking_failures))
    return report
