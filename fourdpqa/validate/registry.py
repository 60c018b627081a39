"""The one list of validation checks: name, the asset it is reported on, whether it may block, its rule and how it
runs. ``python -m fourdpqa validate`` runs them (:func:`fourdpqa.validate.run.run_checks`) into
``data/validation/report.json``; Dagster declares one asset check per entry and reports each from that report
(``assets/validate.py``), so the two drivers show the same results from one computation.

A check reads the run's :class:`Inputs` and returns a :class:`~fourdpqa.validate.result.CheckResult`; adding a
check is one :class:`CheckSpec` line in :data:`CHECKS`. Checks of a split are named ``<check>`` on the benchmark
and ``<check>_train`` on the training set (both called ``<check>`` in Dagster, on their own asset).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from fourdpqa.layout import Layout
from fourdpqa.params import ValidateParams
from fourdpqa.validate.balance import check_group_sizes, check_label_balance
from fourdpqa.validate.consistency import Oracle, check_answer_consistency
from fourdpqa.validate.framing import check_framing
from fourdpqa.validate.leakage import FrameLoader, check_leakage, scene_frame_loader
from fourdpqa.validate.marks import InstanceLoader, check_marks, scene_instances
from fourdpqa.validate.oracle_gate import check_oracle
from fourdpqa.validate.result import CheckResult
from fourdpqa.validate.schema import check_schema
from fourdpqa.validate.shortcuts import check_lazy_baselines
from fourdpqa.validate.text_bias import check_blind_bias

BENCHMARK, TRAINING = "benchmark", "training_set"  # the Dagster assets of the two splits
TRAIN_SUFFIX = "_train"


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


@dataclass
class Inputs:
    """What the checks of one run read. ``recorded``: results assembly computed on exactly these tables (see
    :mod:`fourdpqa.validate.recorded`), reused instead of recomputed."""

    train: pl.DataFrame
    benchmark: pl.DataFrame
    params: ValidateParams
    sources: Sources
    qa_tables: Mapping[str, pl.DataFrame] = field(default_factory=dict)
    seed: int = 0
    recorded: Mapping[str, CheckResult] = field(default_factory=dict)
    _instances: InstanceLoader | None = None

    @property
    def instances(self) -> InstanceLoader:
        """One instance-mask loader for the run (it keeps the current video's masks mapped)."""
        if self._instances is None:
            self._instances = self.sources.instances or scene_instances(self.sources.scenes)
        return self._instances


@dataclass(frozen=True)
class CheckInfo:
    """What a driver shows of a check: its name, the Dagster asset it is reported on, whether its failure may stop
    the pipeline (the result says whether this run's does, e.g. the blind audit with ``blind_blocking: false``
    fails as a warning) and its rule in one line."""

    name: str
    asset: str
    blocking: bool
    rule: str

    @property
    def dagster_name(self) -> str:
        return self.name.removesuffix(TRAIN_SUFFIX)

    @property
    def severity(self) -> str:
        return "error" if self.blocking else "warning"


@dataclass(frozen=True)
class CheckSpec(CheckInfo):
    """A check of the validate stage: ``run(inputs)`` gives its result; ``gate``: when it fails, the checks after it
    are not run (their columns cannot be trusted)."""

    run: Callable[[Inputs], CheckResult]
    gate: bool = False

    def skipped(self, why: str) -> CheckResult:
        return CheckResult(self.name, False, self.blocking, f"not run: {why}", self.rule, {"skipped": why})


def _reused(name: str, compute: Callable[[Inputs], CheckResult]) -> Callable[[Inputs], CheckResult]:
    """Assembly's recorded result of this check when it has one for these tables, else computed here."""
    return lambda i: i.recorded[name] if name in i.recorded else compute(i)


def _on(split: str, check: Callable[[Inputs, pl.DataFrame, str], CheckResult]) -> Callable[[Inputs], CheckResult]:
    """``check(inputs, table, split)`` on the ``"train"`` or ``"benchmark"`` table."""
    return lambda i: check(i, i.train if split == "train" else i.benchmark, split)


def _consistency(i: Inputs, df: pl.DataFrame, split: str) -> CheckResult:
    return check_answer_consistency(df, i.sources.scenes, i.sources.oracle)


def _oracle(i: Inputs, df: pl.DataFrame, split: str) -> CheckResult:
    return check_oracle(df, i.sources.scenes, i.sources.where.tracks)


def _marks(i: Inputs, df: pl.DataFrame, split: str) -> CheckResult:
    p = i.params
    return check_marks(df, i.sources.where.dataset, i.instances, p.mark_foreign_share, p.max_ambiguous_mark_share, split)


def _leakage(i: Inputs) -> CheckResult:
    loader = i.sources.load_frames or scene_frame_loader(i.sources.scenes)
    return check_leakage(i.train, i.benchmark, loader, i.params.phash_max_distance)


def _blind(i: Inputs) -> CheckResult:
    p = i.params
    return check_blind_bias(i.train, i.benchmark, p.blind_margin, p.blind_blocking, p.blind_null_draws, i.seed,
                            p.blind_alpha)


CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("check_schema", BENCHMARK, True, "the benchmark table matches its pandera model (DatasetRowSchema)",
              lambda i: check_schema({"benchmark": i.benchmark}), gate=True),
    CheckSpec("check_schema_train", TRAINING, True,
              "the training table and every QA table it came from match their pandera models",
              lambda i: check_schema({**i.qa_tables, "train": i.train}), gate=True),
    CheckSpec("check_label_balance", BENCHMARK, True,
              "per (type, format): answer classes <= max_option_ratio x uniform, yes share in band, MC letters uniform",
              lambda i: check_label_balance(i.benchmark, i.params, "benchmark")),
    CheckSpec("check_label_balance_train", TRAINING, False, "the same balance rules on the training set (a warning)",
              lambda i: check_label_balance(i.train, i.params, "train")),
    CheckSpec("check_group_sizes", BENCHMARK, False, ">= min_group_size questions per benchmark (type, format) group",
              lambda i: check_group_sizes(i.benchmark, i.params.min_group_size)),
    CheckSpec("check_leakage", BENCHMARK, True,
              "no benchmark video in training and no near-duplicate clip (pHash of frames)",
              _reused("check_leakage", _leakage)),
    CheckSpec("check_answer_consistency", BENCHMARK, True,
              "every benchmark answer equals the generator's own re-derivation (records not edited)",
              _reused("check_answer_consistency", _on("benchmark", _consistency))),
    CheckSpec("check_answer_consistency_train", TRAINING, True,
              "every training answer equals the generator's own re-derivation (records not edited)",
              _on("train", _consistency)),
    CheckSpec("check_oracle", BENCHMARK, True, "oracle-2, sharing no code with the generator, agrees on every "
              "derivable benchmark answer", _on("benchmark", _oracle)),
    CheckSpec("check_oracle_train", TRAINING, True, "oracle-2 agrees on every derivable training answer",
              _on("train", _oracle)),
    CheckSpec("check_marks", BENCHMARK, True, "circles / boxes on the exported benchmark frames enclose one object "
              "and do not overlap", _on("benchmark", _marks)),
    CheckSpec("check_marks_train", TRAINING, False, "the same mark rules on the training frames (a warning)",
              _on("train", _marks)),
    CheckSpec("check_blind_bias", BENCHMARK, True, "text-only predictors stay within blind_margin of chance per "
              "(type, format) and per category unless not significant (Holm)", _blind),
    CheckSpec("check_lazy_baselines", BENCHMARK, False, "the motion-presence and direction-blind baselines stay "
              "within chance + blind_margin per category unless not significant (Holm)",
              lambda i: check_lazy_baselines(i.train, i.benchmark, i.sources.scenes, i.params.blind_margin)),
    CheckSpec("check_framing", BENCHMARK, False, "no border-cut anchor of a spatial comparison, no mark held as "
              "much by another object as by its target, no convention-dependent camera clip",
              lambda i: check_framing(i.benchmark, i.sources.scenes, i.sources.where.dataset)),
    # a new check: one CheckSpec line here (its module in fourdpqa/validate/, returning a CheckResult)
)

BY_NAME = {c.name: c for c in CHECKS}
