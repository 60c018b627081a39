"""Assembly: per-video QA tables -> a training set and a held-out benchmark (paper section 4.1).

* Split by **video** with the seed (per source, so every source reaches the benchmark): a benchmark video never
  contributes a training question.
* Benchmark: multiple-choice (4 options) and yes/no questions of the descriptive types 1-11 only, at most one
  per fact, yes/no balanced per query word (:mod:`fourdpqa.selection`).
* Training: every format; the point-tracking types 12 and 13 take ``tracking_share`` of it, split evenly.
* Balance by *selection* (answer letters are fixed at generation): within each (question type, format) group rows
  are ordered greedily so answer letters, yes/no and answer classes fill evenly, and only prefix lengths that pass
  :func:`fourdpqa.validate.balance_problems` are usable; sizes are then shared evenly across question types
  using those lengths. Rows are never duplicated to balance.
* Before anything is written the benchmark must pass every blocking check; otherwise :class:`AssemblyRefused`
  names the check and why, and the previous outputs stay as they were.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from fourdpqa import quarantine
from fourdpqa.atomic import write_json, write_parquet
from fourdpqa.clips import MarkDrawer, export_clips
from fourdpqa.errors import BadInput
from fourdpqa.export import export_all
from fourdpqa.layout import ASSEMBLY_CHECKS, DATASET_SUMMARY, SPLIT_RECORD, Layout
from fourdpqa.params import Params
from fourdpqa.seeding import rng as seeded_rng
from fourdpqa.selection import select_benchmark, select_train
from fourdpqa.validate import (
    CheckResult, FrameLoader, Oracle, check_answer_consistency, check_label_balance,
    check_leakage, check_schema, scene_frame_loader, summarize, write_plots,
)
from fourdpqa.validate.recorded import write_record
from schemas.dataset import TableSchemaError, validate_table
from schemas.qa import QASchema

log = logging.getLogger("fourdpqa.assemble")



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
        rng = seeded_rng(seed, "assemble-split", source)
        ids = [ids[i] for i in rng.permutation(len(ids))]
        n_bench = min(max(1, round(benchmark_share * len(ids))), len(ids) - 1) if len(ids) >= 2 else 0
        bench += ids[:n_bench]
        train += ids[n_bench:]
    return sorted(train), sorted(bench)


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
        raise BadInput(f"{qa_dir}: no valid QA tables ({len(bad)} rejected)")
    qa = pl.concat(tables, how="vertical_relaxed")
    dup = qa.filter(pl.col("id").is_duplicated())["id"].unique().sort().to_list()
    if dup:
        raise BadInput(f"{qa_dir}: QA ids repeated across tables: {dup[:10]}")
    return QAInputs(qa, bad)


def _check_input_share(inputs: QAInputs, max_share: float) -> None:
    """Refuse (before anything is selected) when more than ``max_share`` of the videos' QA tables were set aside: a
    dataset built from the few readable ones would silently replace a complete one."""
    bad, total = len(inputs.quarantined), len(inputs.quarantined) + inputs.qa["video_id"].n_unique()
    if bad and bad / total > max_share:
        first = next(iter(sorted(inputs.quarantined.items())))
        raise AssemblyRefused([CheckResult(
            "check_input_share", False, True, f"{bad} of {total} videos' QA tables unreadable",
            f"at most base.max_failed_share={max_share} of them", {"first": f"{first[0]}: {first[1]}"})])


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
    out_dir: str | Path | None = None,
) -> AssemblyResult:
    """Build, check and write ``dataset/train.parquet`` and ``dataset/benchmark.parquet``, their clips, exports,
    ``summary.json`` (counts per type / category / reference mode / format) and ``answers_<split>.png``.

    ``out_dir`` (default ``<data_root>/dataset``) is where they are written (the stage passes a staging folder).
    Raises :class:`AssemblyRefused` (before writing any table) when the benchmark fails a blocking check."""
    root = Path(data_root) if data_root is not None else params.data
    where = Layout(root)
    seed = params.base.seed
    inputs = load_qa(where.qa)
    _check_input_share(inputs, params.base.max_failed_share)
    for vid, reason in inputs.quarantined.items():
        quarantine.quarantine(root, "assemble", vid, reason)
        log.warning("assemble: quarantined QA table %s: %s", vid, reason)
    qa = inputs.qa
    for vid in qa["video_id"].unique().to_list():
        quarantine.release(root, "assemble", vid)
    videos = dict(qa.select("video_id", "source").unique("video_id").sort("video_id").iter_rows())
    train_ids, bench_ids = split_videos(videos, params.assemble.benchmark_video_share, seed)
    a = params.assemble
    v = params.validate  # select under the limits validation checks, so what assembly picks passes them
    bench_pool = qa.filter(pl.col("video_id").is_in(bench_ids))
    train_pool = qa.filter(pl.col("video_id").is_in(train_ids))
    benchmark = select_benchmark(bench_pool, a.benchmark_size, v, seed)
    train = select_train(train_pool, a.train_size, a.tracking_share, v, seed)

    out = Path(out_dir) if out_dir is not None else where.dataset
    scenes = where.scenes
    # frames for every row; an mp4 only for benchmark rows, whose one mp4 consumer is the lmms-eval task
    size, workers = (params.qa.out_width, params.qa.out_height), params.base.num_threads
    benchmark = export_clips(benchmark, scenes, out, *size, mp4=a.export_mp4, draw=draw, workers=workers)
    train = export_clips(train, scenes, out, *size, mp4=False, draw=draw, workers=workers)
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
    tables = {"train": out / "train.parquet", "benchmark": out / "benchmark.parquet"}
    write_parquet(tables["train"], train)
    write_parquet(tables["benchmark"], benchmark)
    # validation reads these results while the tables are unchanged instead of computing them again
    write_record(out / ASSEMBLY_CHECKS, checks, tables, {"phash_max_distance": v.phash_max_distance})
    write_json(out / SPLIT_RECORD, {"seed": seed, "train_videos": train_ids, "benchmark_videos": bench_ids,
                                    "quarantined": inputs.quarantined})
    overview = summarize({"train": train, "benchmark": benchmark})
    write_json(out / DATASET_SUMMARY, overview)
    write_plots(overview, out)
    export_all(out, train, benchmark, params)
    log.info("assemble: %d train rows (%d videos), %d benchmark rows (%d videos)", train.height, len(train_ids),
             benchmark.height, len(bench_ids))
    return AssemblyResult(train, benchmark, train_ids, bench_ids, checks, inputs.quarantined)
