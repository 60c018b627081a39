"""Automatic checks of the assembled dataset, one module per property:

=========================  ============================================================================
:mod:`.registry`           the one list of checks (name, asset, blocking, rule, how it runs)
:mod:`.schema`             pandera models of every QA table and both splits
:mod:`.balance`            answer classes, yes/no share and MC letters per (type, format)
:mod:`.leakage`            no shared video, no near-duplicate clip (perceptual hashes)
:mod:`.consistency`        stored answers equal the generator's own derivation (records not edited)
:mod:`.oracle_gate`        oracle-2, the independent re-derivation (:mod:`fourdpqa.oracle2`)
:mod:`.marks`              circles / boxes on the exported frames are drawn, exclusive and separate
:mod:`.text_bias`          text-only predictors (majority, bag of words, TF-IDF) vs chance, per group and category
:mod:`.stats`              binomial p-values (pooled over chances), Holm, minimum detectable accuracy
:mod:`.recorded`           assembly's leakage / consistency results, reused while the tables are unchanged
:mod:`.learnability`       the pixel probe (:mod:`fourdpqa.probe`) against text and optical flow (its own stage)
:mod:`.summary`            counts and answer histograms; :mod:`.figures` the headline numbers
:mod:`.run`                one run of the registry and the stage's file-in/file-out function
=========================  ============================================================================

Every check returns a :class:`CheckResult`; the same object feeds ``data/validation/report.json``, which the
Dagster asset checks report, and assembly's refusal to write a benchmark that fails a blocking check.
"""

from fourdpqa.validate.balance import balance_key, balance_problems, check_label_balance
from fourdpqa.validate.consistency import Oracle, check_answer_consistency
from fourdpqa.validate.figures import format_figures
from fourdpqa.validate.leakage import FrameLoader, check_leakage, scene_frame_loader
from fourdpqa.validate.registry import CHECKS, CheckSpec, Sources
from fourdpqa.validate.result import CheckResult
from fourdpqa.validate.run import ValidationReport, run_checks, run_validation
from fourdpqa.validate.schema import check_schema
from fourdpqa.validate.summary import summarize, write_plots

__all__ = [
    "CHECKS", "CheckResult", "CheckSpec", "FrameLoader", "Oracle", "Sources", "ValidationReport", "balance_key",
    "balance_problems", "check_answer_consistency", "check_label_balance", "check_leakage", "check_schema", "format_figures",
    "run_checks", "run_validation", "scene_frame_loader", "summarize", "write_plots",
]
