"""Assembly: per-video QA tables -> a training set and a held-out benchmark (paper section 4.1).

* Split by **video** with the seed (per source, so every source reaches the benchmark): a benchmark video never
  contributes a training question.
* Benchmark: multiple-choice (4 options) and yes/no questions of the descriptive types 1-11 only.
* Training: every format; the point-tracking types 12 and 13 take ``tracking_share`` of it, split evenly.
* Balance by *selection* (answer letters are fixed at generation): within each (question type, format) group rows
  are ordered greedily so answer letters, yes/no and answer classes fill evenly, and only prefix lengths that pass
  :func:`fourdpqa.validate.balance_problems` are usable; :func:`allocate` then shares the size evenly across
  question types using those lengths. Rows are never duplicated to balance.
* Before anything is written the benchmark must pass every blocking check; otherwise :class:`AssemblyRefused`
  names the check and why, and the previous outputs stay as they were.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from fourdpqa import quarantine
from fourdpqa.atomic import write_json, write_parquet
from fourdpqa.clips import MarkDrawer, export_clips
from fourdpqa.export import export_all
from fourdpqa.params import Params, ValidateParams
from fourdpqa.predictors.base import stable_seed
from fourdpqa.validate import (
    CheckResult, FrameLoader, Oracle, balance_key, balance_problems, check_answer_consistency, check_label_balance,
    check_leakage, check_schema, scene_frame_loader, summarize, write_plots,
)
from schemas.dataset import TableSchemaError, validate_table
from schemas.qa import QASchema

log = logging.getLogger("fourdpqa.assemble")

BENCHMARK_TYPES = range(1, 12)
BENCHMARK_FORMATS = ("mc", "yn")
TRACKING_TYPES = (12, 13)
DATASET_DIR = "dataset"


class AssemblyRefused(ValueError):
    """A blocking check failed on the assembled benchmark; nothing was written."""

    def __init__(self, failures: list[CheckResult]):
        self.failures = failures
        super().__init__("refusing to write the benchmark: " + "; ".join(f.why() for f in failures))


# ---------------------------------------------------------------------------------------------------------- split


def split_videos(videos: dict[str, str], benchmark_share: float, seed: int) -> tuple[list[str], list[str]]:
    """(train ids, benchmark ids): per source, a seeded permutation of its sorted video ids; the first
    round(share * n) go to the benchmark (at least one, and at least one left for training when n >= 2)."""
    train, bench = [], []
    for source in sorted(set(videos.values())):
        ids = sorted(v for v, s in videos.items() if s == source)
        rng = np.random.default_rng([seed, stable_seed("assemble-split", source) % 2**32])
        ids = [ids[i] for i in rng.permutation(len(ids))]
        n_bench = min(max(1, round(benchmark_share * len(ids))), len(ids) - 1) if len(ids) >= 2 else 0
        bench += ids[:n_bench]
        train += ids[n_bench:]
    return sorted(train), sorted(bench)


# ------------------------------------------------------------------------------------------------------ balancing


def balanced_order(group: pl.DataFrame, fmt: str, params: ValidateParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Greedy order of ``group`` rows (one question type and format) and the prefix lengths that are balanced.

    At each step take a row from the stratum (answer value x answer class) whose values are currently the least
    used, so letters, yes/no and classes fill evenly; rare classes therefore come first. Returns (row positions in
    order, sorted prefix lengths that :func:`balance_problems` accepts, 0 included). Formats without a discrete
    answer (trajectory, numeric) are shuffled and every length is usable."""
    n = group.height
    if fmt not in ("mc", "yn", "free"):
        return rng.permutation(n), np.arange(n + 1)
    answers = group["answer"].to_list()
    classes = group.select(balance_key().alias("k"))["k"].to_list()
    strata: dict[tuple[str, str], list[int]] = {}
    for i in rng.permutation(n):
        strata.setdefault((answers[i] if fmt != "free" else "", classes[i]), []).append(int(i))
    rank = dict(zip(sorted(strata), rng.permutation(len(strata)).tolist(), strict=True))
    answer_counts: dict[str, int] = {}
    class_counts: dict[str, int] = {}
    order: list[int] = []
    valid = [0]
    while strata:
        key = min(strata, key=lambda k: (max(answer_counts.get(k[0], 0), class_counts.get(k[1], 0)),
                                         answer_counts.get(k[0], 0) + class_counts.get(k[1], 0), rank[k]))
        order.append(strata[key].pop())
        if not strata[key]:
            del strata[key]
        answer_counts[key[0]] = answer_counts.get(key[0], 0) + 1
        class_counts[key[1]] = class_counts.get(key[1], 0) + 1
        if not balance_problems(fmt, list(class_counts.values()), answer_counts, params):
            valid.append(len(order))
    return np.array(order, dtype=int), np.array(valid, dtype=int)


@dataclass
class _Group:
    unit: str  # question_name: the unit sizes are shared across
    fmt: str
    rows: pl.DataFrame
    order: np.ndarray  # greedy balanced order of row positions
    valid: np.ndarray  # prefix lengths of ``order`` that are balanced (sorted, starts at 0)

    @property
    def capacity(self) -> int:
        return int(self.valid[-1])


def allocate(groups: list[_Group], total: int) -> list[int]:
    """Sizes per group summing to at most ``total``, each a balanced prefix length, spread evenly: repeatedly grow
    the group whose question type has the fewest rows so far to its next balanced length."""
    sizes = [0] * len(groups)
    unit_total: dict[str, int] = dict.fromkeys((g.unit for g in groups), 0)
    pos = [0] * len(groups)  # index into each group's valid lengths
    active = {i for i, g in enumerate(groups) if len(g.valid) > 1}
    used = 0
    while active:
        i = min(active, key=lambda j: (unit_total[groups[j].unit], sizes[j], j))
        nxt = int(groups[i].valid[pos[i] + 1])
        if used + nxt - sizes[i] > total:
            active.discard(i)
            continue
        used += nxt - sizes[i]
        unit_total[groups[i].unit] += nxt - sizes[i]
        sizes[i], pos[i] = nxt, pos[i] + 1
        if pos[i] + 1 >= len(groups[i].valid):
            active.discard(i)
    return sizes


def _groups(pool: pl.DataFrame, params: ValidateParams, seed: int, tag: str) -> list[_Group]:
    out = []
    for (unit, fmt), grp in pool.sort("id").group_by(["question_name", "answer_format"], maintain_order=True):
        rng = np.random.default_rng([seed, stable_seed("assemble", tag, unit, fmt) % 2**32])
        out.append(_Group(unit, fmt, grp, *balanced_order(grp, fmt, params, rng)))
    return sorted(out, key=lambda g: (g.unit, g.fmt))


def _take(groups: list[_Group], total: int) -> pl.DataFrame | None:
    """The balanced prefixes :func:`allocate` sizes for ``total`` rows (None when nothing is taken)."""
    parts = [g.rows[g.order[:n].tolist()] for g, n in zip(groups, allocate(groups, total), strict=True) if n]
    return pl.concat(parts) if parts else None


def select_benchmark(qa: pl.DataFrame, size: int, params: ValidateParams, seed: int) -> pl.DataFrame:
    """Balanced benchmark of at most ``size`` MC / yes-no questions of types 1-11, shared evenly across types."""
    pool = qa.filter(pl.col("question_type").is_in(list(BENCHMARK_TYPES)) & pl.col("answer_format").is_in(BENCHMARK_FORMATS))
    taken = _take(_groups(pool, params, seed, "benchmark"), size)
    return taken.sort("id") if taken is not None else pool.clear()


def select_train(qa: pl.DataFrame, size: int, tracking_share: float, params: ValidateParams, seed: int) -> pl.DataFrame:
    """Training set of at most ``size`` rows: ``tracking_share`` of it from types 12/13 (half each), the rest shared
    evenly over the other question types; when one side runs short the other is cut to keep the share exact."""
    is_track = pl.col("question_type").is_in(list(TRACKING_TYPES))
    track_groups = _groups(qa.filter(is_track), params, seed, "train-track")
    other_groups = _groups(qa.filter(~is_track), params, seed, "train")
    track_cap = sum(g.capacity for g in track_groups)
    other_cap = sum(g.capacity for g in other_groups)
    n_track = min(round(tracking_share * size), track_cap)
    n_other = min(size - round(tracking_share * size), other_cap)
    if 0 < tracking_share < 1:  # keep the mixture: total = n_track / share = n_other / (1 - share)
        total = min(size, n_track / tracking_share, n_other / (1 - tracking_share))
        n_track = round(tracking_share * total)
        n_other = round(total) - n_track
    parts = [t for t in (_take(track_groups, n_track), _take(other_groups, n_other)) if t is not None]
    return pl.concat(parts).sort("id") if parts else qa.clear()


def _nonempty(benchmark: pl.DataFrame, bench_ids: list[str]) -> CheckResult:
    """An empty benchmark passes every other check vacuously; refuse it explicitly."""
    return CheckResult("check_benchmark_size", benchmark.height > 0, True, f"{benchmark.height} questions",
                       ">= 1 balanced MC / yes-no question of types 1-11",
                       {"benchmark_videos": bench_ids,
                        "hint": "generate more videos or raise assemble.benchmark_video_share"})


# ------------------------------------------------------------------------------------------------------ inputs


@dataclass
class QAInputs:
    qa: pl.DataFrame
    quarantined: dict[str, str] = field(default_factory=dict)


def load_qa(qa_dir: str | Path) -> QAInputs:
    """Concatenate ``qa/<video_id>.parquet``; a table that is unreadable or violates QASchema is set aside with
    its reason (file name and offending QA ids) instead of stopping the assembly."""
    tables, bad = [], {}
    for path in sorted(Path(qa_dir).glob("*.parquet")):
        if ".tmp-" in path.name:
            continue
        try:
            df = pl.read_parquet(path)
            validate_table(df, QASchema, f"qa/{path.name}")
        except (OSError, pl.exceptions.PolarsError, TableSchemaError) as exc:
            bad[path.stem] = str(exc)
            continue
        tables.append(df)
    if not tables:
        raise ValueError(f"{qa_dir}: no valid QA tables ({len(bad)} rejected)")
    qa = pl.concat(tables, how="vertical_relaxed")
    dup = qa.filter(pl.col("id").is_duplicated())["id"].unique().sort().to_list()
    if dup:
        raise ValueError(f"{qa_dir}: QA ids repeated across tables: {dup[:10]}")
    return QAInputs(qa, bad)


# ------------------------------------------------------------------------------------------------------ assembly


@dataclass
class AssemblyResult:
    train: pl.DataFrame
    benchmark: pl.DataFrame
    train_videos: list[str]
    benchmark_videos: list[str]
    checks: list[CheckResult]
    quarantined: dict[str, str]


def assemble(
    params: Params,
    data_root: str | Path | None = None,
    oracle: Oracle | None = None,
    load_frames: FrameLoader | None = None,
    draw: MarkDrawer | None = None,
) -> AssemblyResult:
    """Build, check and write ``dataset/train.parquet`` and ``dataset/benchmark.parquet``, their clips, exports,
    ``summary.json`` (counts per type / category / reference mode / format) and ``answers_<split>.png``.

    Raises :class:`AssemblyRefused` (before writing any table) when the benchmark fails a blocking check."""
    root = Path(data_root) if data_root is not None else params.data
    seed = params.base.seed
    inputs = load_qa(root / "qa")
    for vid, reason in inputs.quarantined.items():
        quarantine.quarantine(root, "assemble", vid, reason)
        log.warning("assemble: quarantined QA table %s: %s", vid, reason)
    qa = inputs.qa
    for vid in qa["video_id"].unique().to_list():
        quarantine.release(root, "assemble", vid)
    videos = dict(qa.select("video_id", "source").unique("video_id").sort("video_id").iter_rows())
    train_ids, bench_ids = split_videos(videos, params.assemble.benchmark_video_share, seed)
    a = params.assemble
    # select under the stricter of the two share limits, so what assembly picks always passes validation
    v = params.validate_.model_copy(update={"max_option_ratio": min(a.max_option_share, params.validate_.max_option_ratio)})
    bench_pool = qa.filter(pl.col("video_id").is_in(bench_ids))
    train_pool = qa.filter(pl.col("video_id").is_in(train_ids))
    benchmark = select_benchmark(bench_pool, a.benchmark_size, v, seed)
    train = select_train(train_pool, a.train_size, a.tracking_share, v, seed)

    out = root / DATASET_DIR
    scenes = root / "scenes"
    benchmark = export_clips(benchmark, scenes, out, params.qa.out_width, params.qa.out_height, a.export_mp4, draw)
    train = export_clips(train, scenes, out, params.qa.out_width, params.qa.out_height, a.export_mp4, draw)
    benchmark = benchmark.with_columns(split=pl.lit("benchmark")).sort("id")
    train = train.with_columns(split=pl.lit("train")).sort("id")

    checks = [_nonempty(benchmark, bench_ids), check_schema({"train": train, "benchmark": benchmark})]
    if checks[1].passed:
        checks += [check_label_balance(benchmark, v, "benchmark"),
                   check_leakage(train, benchmark, load_frames or scene_frame_loader(scenes), v.phash_max_distance),
                   check_answer_consistency(benchmark, scenes, oracle)]
    failures = [c for c in checks if c.blocking and not c.passed]
    if failures:
        raise AssemblyRefused(failures)
    write_parquet(out / "train.parquet", train)
    write_parquet(out / "benchmark.parquet", benchmark)
    write_json(out / "split.json", {"seed": seed, "train_videos": train_ids, "benchmark_videos": bench_ids,
                                    "quarantined": inputs.quarantined})
    overview = summarize({"train": train, "benchmark": benchmark})
    write_json(out / "summary.json", overview)
    write_plots(overview, out)
    export_all(out, train, benchmark)
    log.info("assemble: %d train rows (%d videos), %d benchmark rows (%d videos)", train.height, len(train_ids),
             benchmark.height, len(bench_ids))
    return AssemblyResult(train, benchmark, train_ids, bench_ids, checks, inputs.quarantined)
