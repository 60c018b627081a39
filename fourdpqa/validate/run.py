"""All checks over one train / benchmark pair, and the validate stage's file-in/file-out function."""

from __future__ import annotations

import errno
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from fourdpqa.atomic import atomic_path, write_json
from fourdpqa.layout import Layout
from fourdpqa.params import ValidateParams
from fourdpqa.validate.balance import check_label_balance
from fourdpqa.validate.consistency import Oracle, check_answer_consistency
from fourdpqa.validate.framing import check_framing
from fourdpqa.validate.figures import build_figures
from fourdpqa.validate.leakage import FrameLoader, check_leakage, scene_frame_loader
from fourdpqa.validate.learnability import check_pixel_learnability
from fourdpqa.validate.learnability_plot import plot_learnability
from fourdpqa.validate.marks import InstanceLoader, check_marks, scene_instances
from fourdpqa.validate.oracle_gate import check_oracle
from fourdpqa.validate.result import CheckResult
from fourdpqa.validate.schema import check_schema
from fourdpqa.validate.shortcuts import check_lazy_baselines
from fourdpqa.validate.summary import summarize, write_plots
from fourdpqa.validate.text_bias import check_blind_bias


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


@dataclass(frozen=True)
class Sources:
    """Where the checks read from: ``<data_root>/{scenes,tracks,dataset}`` unless replaced (tests pass loaders)."""

    data_root: Path
    oracle: Oracle | None = None  # the generator's derivation for answer consistency (default fourdpqa.oracle)
    load_frames: FrameLoader | None = None
    instances: InstanceLoader | None = None

    @property
    def where(self) -> Layout:
        return Layout(Path(self.data_root))

    @property
    def scenes(self) -> Path:
        return self.where.scenes


def run_checks(train: pl.DataFrame, benchmark: pl.DataFrame, params: ValidateParams, sources: Sources,
               qa_tables: Mapping[str, pl.DataFrame] | None = None, seed: int = 0,
               device: str = "auto") -> ValidationReport:
    """Every check over one train / benchmark pair. Schema failures short-circuit the others (their columns
    cannot be trusted). Blocking: schema, benchmark balance, leakage, answer consistency, oracle-2, benchmark
    marks and (with ``blind_blocking``) the blind audit; the pixel probe and training-split checks are warnings."""
    where = sources.where
    schema = check_schema({**(qa_tables or {}), "train": train, "benchmark": benchmark})
    checks = [schema]
    if schema.passed:
        both = pl.concat([benchmark, train], how="diagonal_relaxed")
        instances = sources.instances or scene_instances(sources.scenes)
        blind = check_blind_bias(train, benchmark, params.blind_margin, params.blind_blocking, params.blind_null_draws,
                                 seed)
        checks += [
            check_label_balance(benchmark, params, "benchmark"),
            check_label_balance(train, params, "train").renamed("check_label_balance_train"),
            check_leakage(train, benchmark, sources.load_frames or scene_frame_loader(sources.scenes),
                          params.phash_max_distance),
            check_answer_consistency(both, sources.scenes, sources.oracle),
            check_oracle(both, sources.scenes, where.tracks),
            check_marks(benchmark, where.dataset, instances, params.mark_foreign_share,
                        params.max_ambiguous_mark_share, "benchmark"),
            check_marks(train, where.dataset, instances, params.mark_foreign_share,
                        params.max_ambiguous_mark_share, "train").renamed("check_marks_train"),
            blind,
            check_lazy_baselines(train, benchmark, sources.scenes, params.blind_margin),
            check_framing(benchmark, sources.scenes, where.dataset),
        ]
        if params.probe.enabled:
            checks.append(check_pixel_learnability(train, benchmark, where.dataset, blind.details["per_type"],
                                                   params.probe, seed, device, sources.scenes))
    by_name = {c.name: c for c in checks}
    overview = summarize({"train": train, "benchmark": benchmark}) if schema.passed else {}
    return ValidationReport(checks, overview, build_figures(by_name, benchmark) if schema.passed else {})


def run_validation(data_root: str | Path, params: ValidateParams, seed: int = 0, device: str = "auto",
                   sources: Sources | None = None, out_dir: str | Path | None = None,
                   stamp: dict[str, Any] | None = None) -> ValidationReport:
    """Check ``<data_root>/dataset/{train,benchmark}.parquet`` and every ``qa/*.parquet``; write ``report.json``
    (with ``stamp`` under ``"dataset"``: which dataset was checked), the answer histograms
    ``plots/answers_<split>.png`` and the probe's ``plots/learnability.png`` into ``out_dir`` (default
    ``<data_root>/validation``)."""
    where = Layout(Path(data_root))
    missing = [s for s in ("train", "benchmark") if not where.split_table(s).exists()]
    if missing:
        raise FileNotFoundError(errno.ENOENT, f"{where.dataset}: missing {', '.join(f'{s}.parquet' for s in missing)} (run assemble first)")
    train, benchmark = pl.read_parquet(where.split_table("train")), pl.read_parquet(where.split_table("benchmark"))
    qa = {f"qa/{p.name}": pl.read_parquet(p) for p in sorted(where.qa.glob("*.parquet")) if ".tmp-" not in p.name}
    report = run_checks(train, benchmark, params, sources or Sources(where.root), qa, seed, device)
    out = Path(out_dir) if out_dir is not None else where.validation
    if report.overview:
        write_plots(report.overview, out / where.validation_plots.name)
    if report.figures.get("pixel_probe"):
        with atomic_path(out / where.validation_plots.name / "learnability.png") as tmp:
            tmp.write_bytes(plot_learnability(report.figures["pixel_probe"]))
    write_json(out / where.validation_report.name, {**report.as_dict(), **({"dataset": stamp} if stamp else {})})
    return report
