"""validate: checks of the assembled dataset -> data/validation/report.json (+ answer histograms).

Schema, label balance, leakage and oracle agreement are blocking: any failure exits 1 so ``dvc repro`` stops;
the blind-bias audit and training-set balance are reported as warnings.
"""

from __future__ import annotations

import argparse
import logging

from fourdpqa.params import Params
from fourdpqa.stages.common import StageFailed
from fourdpqa.stages.records import write_validation_records
from fourdpqa.validate import ValidationReport, run_validation

log = logging.getLogger("fourdpqa.validate")


def run(params: Params, args: argparse.Namespace | None = None) -> ValidationReport:
    report = run_validation(params.data, params.validate_)
    write_validation_records(params.data, report)
    for c in report.checks:
        status = "ok" if c.passed else ("FAILED" if c.blocking else "warning")
        print(f"{status:8s} {c.name}: {c.observed}")
    if report.blocking_failures:
        raise StageFailed("blocking checks failed: " + "; ".join(c.why() for c in report.blocking_failures))
    return report
