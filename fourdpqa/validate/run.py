"""One validation run: every check of the registry over one train / benchmark pair, and the validate stage's
file-in/file-out function (``report.json`` is what the CLI prints and what the Dagster asset checks report)."""

from __future__ import annotations

import errno
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from tqdm import tqdm

from fourdpqa.atomic import write_json
from fourdpqa.layout import Layout
from fourdpqa.params import ValidateParams
from fourdpqa.validate.figures import build_figures
from fourdpqa.validate.recorded import read_record
from fourdpqa.validate.registry import CHECKS, CheckSpec, Inputs, Sources
from fourdpqa.validate.result import CheckResult
from fourdpqa.validate.summary import summarize, write_plots


@dataclass
class ValidationReport:
    checks: list[CheckResult]
    overview: dict[str, Any]  # summarize() output: counts and answer histograms
    figures: dict[str, Any]  # build_figures() output: the headline numbers

    @property
    def blocking_failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.blocking and not c.passed]

    def as_dict(self) -> dict[str, Any]:
        return {"passed": not self.blocking_failures, "figures": self.figures,
                "checks": [c.as_dict() for c in self.checks], "summary": self.overview}


def run_checks(train: pl.DataFrame, benchmark: pl.DataFrame, params: ValidateParams, sources: Sources,
               qa_tables: Mapping[str, pl.DataFrame] | None = None, seed: int = 0,
               recorded: Mapping[str, CheckResult] | None = None,
               checks: tuple[CheckSpec, ...] = CHECKS) -> ValidationReport:
    """Every check of ``checks`` (default: the registry), in order, each result named as its spec. A failed gate
    (the schema checks) leaves the other checks "not run" (their columns cannot be trusted); ``recorded``:
    results assembly computed on these very tables, used instead of recomputing them."""
    inputs = Inputs(train, benchmark, params, sources, dict(qa_tables or {}), seed, dict(recorded or {}))
    results: list[CheckResult] = []
    closed = ""
    for spec in tqdm(checks, desc="validate", unit="check", disable=None):
        if closed and not spec.gate:
            results.append(spec.skipped(closed))
            continue
        result = spec.run(inputs)
        result.name = spec.name
        results.append(result)
        if spec.gate and not result.passed and not closed:
            closed = f"{spec.name} failed"
    trusted = not closed
    overview = summarize({"train": train, "benchmark": benchmark}) if trusted else {}
    figures = build_figures({c.name: c for c in results}, benchmark) if trusted else {}
    return ValidationReport(results, overview, figures)


def recorded_results(where: Layout, params: ValidateParams) -> dict[str, CheckResult]:
    """Assembly's recorded checks for the dataset under ``where`` (empty when they do not match its tables)."""
    tables = {s: where.split_table(s) for s in ("train", "benchmark")}
    return read_record(where.assembly_checks, tables, {"phash_max_distance": params.phash_max_distance})


def run_validation(data_root: str | Path, params: ValidateParams, seed: int = 0, sources: Sources | None = None,
                   out_dir: str | Path | None = None, stamp: dict[str, Any] | None = None) -> ValidationReport:
    """Check ``<data_root>/dataset/{train,benchmark}.parquet`` and every ``qa/*.parquet``; write ``report.json``
    (with ``stamp`` under ``"dataset"``: which dataset was checked) and the answer histograms
    ``plots/answers_<split>.png`` into ``out_dir`` (default ``<data_root>/validation``)."""
    where = Layout(Path(data_root))
    missing = [s for s in ("train", "benchmark") if not where.split_table(s).exists()]
    if missing:
        raise FileNotFoundError(errno.ENOENT, f"{where.dataset}: missing {', '.join(f'{s}.parquet' for s in missing)} (run assemble first)")
    train, benchmark = pl.read_parquet(where.split_table("train")), pl.read_parquet(where.split_table("benchmark"))
    qa = {f"qa/{p.name}": pl.read_parquet(p) for p in sorted(where.qa.glob("*.parquet")) if ".tmp-" not in p.name}
    report = run_checks(train, benchmark, params, sources or Sources(where.root), qa, seed,
                        recorded_results(where, params))
    out = Path(out_dir) if out_dir is not None else where.validation
    if report.overview:
        write_plots(report.overview, out / where.validation_plots.name)
    write_json(out / where.validation_report.name, {**report.as_dict(), **({"dataset": stamp} if stamp else {})})
    return report
