"""Selecting the benchmark and the training set from the QA pool: independent facts, balanced answers.

* **Facts, not rows**: the benchmark keeps at most one question per fact (:func:`fourdpqa.questions.fact_key`:
  video, type and what is asked — a yes/no and an MC question about the same camera motion are one fact), so its
  size counts facts. A fact asked in several formats goes to one of them (a seeded even split, so a scarce type's
  facts do not pile into one format by chance; facts the MC balance cannot use are offered to yes/no).
* **No text shortcuts**: yes/no questions are taken in pairs per (type, query word) — one answered yes, one no,
  from different facts — so the query word carries no information about the answer; MC questions are ordered so
  correct letters and answer labels fill evenly, a label's share bounded against the type's whole MC label space
  when it has a fixed one (an option that is offered but never right would be a shortcut too).
* Sizes are shared evenly across question types over the balanced prefix lengths (:func:`allocate`); rows are
  never duplicated to balance.
* Linear in the pool: the orders come from :mod:`fourdpqa.selection_order`, fact keys are read column-wise, and a
  training group's order is built only as far as the requested size can reach (its prefixes do not depend on
  what comes after them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fourdpqa.params import ValidateParams
from fourdpqa.questions import TYPES
from fourdpqa.seeding import rng as _rng
from fourdpqa.selection_order import balanced_order, trim_to_balance, yn_pair_order
from schemas.qa import present

__all__ = ["Group", "allocate", "balanced_order", "fact_keys", "select_benchmark", "select_train", "trim_to_balance",
           "yn_pair_order"]

BENCHMARK_TYPES = range(1, 12)
BENCHMARK_FORMATS = ("mc", "yn")
TRACKING_TYPES = (12, 13)


@dataclass
class Group:
    unit: str  # question_name: the unit sizes are shared across
    fmt: str
    rows: pl.DataFrame
    order: np.ndarray  # greedy balanced order of row positions
    valid: np.ndarray  # prefix lengths of ``order`` that are balanced (sorted, starts at 0)

    @property
    def capacity(self) -> int:
        return int(self.valid[-1])


def allocate(groups: list, total: int) -> list[int]:
    """Sizes per group summing to at most ``total``, each a balanced prefix length, spread evenly: repeatedly grow
    a group of the question type with the fewest rows so far — of its formats, the one that stays smallest after
    growing to its next balanced length."""
    sizes = [0] * len(groups)
    unit_total: dict[str, int] = dict.fromkeys((g.unit for g in groups), 0)
    pos = [0] * len(groups)  # index into each group's valid lengths
    active = {i for i, g in enumerate(groups) if len(g.valid) > 1}
    used = 0
    while active:
        i = min(active, key=lambda j: (unit_total[groups[j].unit], int(groups[j].valid[pos[j] + 1]), j))
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


def _groups(pool: pl.DataFrame, params: ValidateParams, seed: int, tag: str, limit: int | None = None) -> list[Group]:
    """One group per (type, format), its order built up to the first balanced length >= ``limit``: enough for any
    allocation of at most ``limit`` rows, and capacities compare the same against it."""
    out = []
    for (unit, fmt), grp in pool.sort("id").group_by(["question_name", "answer_format"], maintain_order=True):
        rng = _rng(seed, "assemble", tag, unit, fmt)
        out.append(Group(unit, fmt, grp, *balanced_order(grp, fmt, params, rng, limit=limit)))
    return sorted(out, key=lambda g: (g.unit, g.fmt))


ROW = "_pool_row"  # a row's position in the pool given to select_*: the selection works on a slim copy


def _slim(qa: pl.DataFrame, keep: pl.Expr, spec: bool) -> pl.DataFrame:
    """The columns selection reads (the measurement's spec only with ``spec``) of the rows ``keep`` selects, each
    with its position in ``qa``: the orders are built without copying the QA text, marks and measurements."""
    cols = [pl.int_range(pl.len()).alias(ROW), "id", "video_id", "question_type", "question_name", "answer_format",
            "answer", "answer_text", "label", "object_ids"]
    if spec:
        cols.append(pl.struct(pl.col("measurement").struct.field("spec")).alias("measurement"))
    return qa.select(cols).filter(keep)


def _take(groups: list[Group], total: int) -> list[int]:
    """Pool positions of the balanced prefixes :func:`allocate` sizes for ``total`` rows."""
    return [r for g, n in zip(groups, allocate(groups, total), strict=True) if n
            for r in g.rows[ROW].gather(g.order[:n]).to_list()]


def _fact_groups(rows: pl.DataFrame, params: ValidateParams, seed: int) -> list[Group]:
    """One MC and one yes/no group per question type, each fact in at most one of them."""
    groups = []
    for (unit,), grp in rows.sort("id").group_by(["question_name"], maintain_order=True):
        keys = fact_keys(grp)
        fmts = grp["answer_format"].to_list()
        coin = _rng(seed, "benchmark-format", unit)
        both = sorted({f for f, fmt in zip(keys, fmts, strict=True) if fmt == "mc"}
                      & {f for f, fmt in zip(keys, fmts, strict=True) if fmt == "yn"})
        number: dict[tuple, int] = {}
        facts = [number.setdefault(f, len(number)) for f in keys]  # ints: cheap to hash in the orders' sets
        halves = coin.permutation(len(both)) < len(both) // 2  # exactly half to each format: a seeded split
        to_yn = {number[f] for f, yn in zip(both, halves, strict=True) if yn}
        mc_idx = [i for i, (f, fmt) in enumerate(zip(facts, fmts, strict=True)) if fmt == "mc" and f not in to_yn]
        space = len(TYPES[int(grp["question_type"][0])].mc_labels) or None
        mc_rows = grp[mc_idx]
        order, _ = balanced_order(mc_rows, "mc", params, _rng(seed, "benchmark", unit, "mc"),
                                  [facts[i] for i in mc_idx], space)
        order, valid = trim_to_balance(mc_rows, order, "mc", params, space)
        groups.append(Group(unit, "mc", mc_rows, order, valid))
        taken = {facts[mc_idx[i]] for i in order[: valid[-1]]}
        yn_idx = [i for i, fmt in enumerate(fmts) if fmt == "yn" and facts[i] not in taken]
        yn_rows = grp[yn_idx]
        order, _ = yn_pair_order(yn_rows, [facts[i] for i in yn_idx], params, _rng(seed, "benchmark", unit, "yn"))
        groups.append(Group(unit, "yn", yn_rows, *trim_to_balance(yn_rows, order, "yn", params, unit=2)))
    return sorted((g for g in groups if g.rows.height), key=lambda g: (g.unit, g.fmt))


def _holds_struct(dtype: pl.DataType) -> bool:
    """Whether values of ``dtype`` can hold a struct, whose null fields :func:`present` drops."""
    inner = getattr(dtype, "inner", None)
    return isinstance(dtype, pl.Struct) or (inner is not None and _holds_struct(inner))


def fact_keys(rows: pl.DataFrame) -> list[tuple]:
    """:func:`fourdpqa.questions.fact_key` of every row of one question type, read column-wise: only the spec
    fields the type filled are turned into Python values."""
    qtype = int(rows["question_type"][0])
    qt = TYPES[qtype]
    spec = rows.select(pl.col("measurement").struct.field("spec")).unnest("spec")
    spec = spec.select([c for c in spec.columns if spec[c].null_count() < spec.height])
    out = []
    names = spec.columns
    values = [[present(v) for v in spec[c].to_list()] if _holds_struct(spec[c].dtype) else spec[c].to_list()
              for c in names]
    for vid, label, objects, *fields in zip(rows["video_id"].to_list(), rows["label"].to_list(),
                                            rows["object_ids"].to_list(), *values, strict=True):
        filled = {k: v for k, v in zip(names, fields) if v is not None}
        out.append((vid, qtype, *qt.fact(qt.spec_type.from_dict(filled or {"objects": list(objects)}), label)))
    return out


def select_benchmark(qa: pl.DataFrame, size: int, params: ValidateParams, seed: int) -> pl.DataFrame:
    """Balanced benchmark of at most ``size`` MC / yes-no questions of types 1-11, one per fact, shared evenly
    across types."""
    keep = pl.col("question_type").is_in(list(BENCHMARK_TYPES)) & pl.col("answer_format").is_in(BENCHMARK_FORMATS)
    return qa[_take(_fact_groups(_slim(qa, keep, spec=True), params, seed), size)].sort("id")


def select_train(qa: pl.DataFrame, size: int, tracking_share: float, params: ValidateParams, seed: int) -> pl.DataFrame:
    """Training set of at most ``size`` rows: ``tracking_share`` of it from types 12/13 (half each), the rest shared
    evenly over the other question types; when one side runs short the other is cut to keep the share exact."""
    is_track = pl.col("question_type").is_in(list(TRACKING_TYPES))
    asked_track = round(tracking_share * size)  # neither side is ever allocated more than it asked for
    track_groups = _groups(_slim(qa, is_track, spec=False), params, seed, "train-track", limit=asked_track)
    other_groups = _groups(_slim(qa, ~is_track, spec=False), params, seed, "train", limit=size - asked_track)
    track_cap = sum(g.capacity for g in track_groups)
    other_cap = sum(g.capacity for g in other_groups)
    n_track = min(round(tracking_share * size), track_cap)
    n_other = min(size - round(tracking_share * size), other_cap)
    if 0 < tracking_share < 1:  # keep the mixture: total = n_track / share = n_other / (1 - share)
        total = min(size, n_track / tracking_share, n_other / (1 - tracking_share))
        n_track = round(tracking_share * total)
        n_other = round(total) - n_track
    return qa[_take(track_groups, n_track) + _take(other_groups, n_other)].sort("id")
