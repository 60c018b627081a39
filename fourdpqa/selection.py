"""Selecting the benchmark and the training set from the QA pool: independent facts, balanced answers.

* **Facts, not rows**: the benchmark keeps at most one question per fact (:func:`fourdpqa.questions.fact_key`:
  video, type and what is asked — a yes/no and an MC question about the same camera motion are one fact), so its
  size counts facts. A fact asked in several formats goes to one of them (seeded coin; facts the MC balance cannot
  use are offered to yes/no).
* **No text shortcuts**: yes/no questions are taken in pairs per (type, query word) — one answered yes, one no,
  from different facts — so the query word carries no information about the answer; MC questions are ordered so
  correct letters and answer labels fill evenly, a label's share bounded against the type's whole MC label space
  when it has a fixed one (an option that is offered but never right would be a shortcut too).
* Sizes are shared evenly across question types over the balanced prefix lengths (:func:`allocate`); rows are
  never duplicated to balance.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import polars as pl

from fourdpqa.params import ValidateParams
from fourdpqa.seeding import rng as _rng
from fourdpqa.questions import TYPES, fact_key
from fourdpqa.validate import balance_key, balance_problems

BENCHMARK_TYPES = range(1, 12)
BENCHMARK_FORMATS = ("mc", "yn")
TRACKING_TYPES = (12, 13)


def balanced_order(group: pl.DataFrame, fmt: str, params: ValidateParams, rng: np.random.Generator,
                   facts: list | None = None, n_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Greedy order of ``group`` rows (one question type and format) and the prefix lengths that are balanced.

    At each step take a row from the stratum (answer value x answer class) whose values are currently the least
    used, so letters, yes/no and classes fill evenly; rare classes therefore come first. With ``facts`` (one key
    per row) a fact is taken at most once; with ``n_classes`` the class shares are judged against that many
    classes (a fixed label space) rather than the classes present. Returns (row positions in order, sorted prefix
    lengths that :func:`balance_problems` accepts, 0 included). Formats without a discrete answer (trajectory,
    numeric) are shuffled and every length is usable."""
    n = group.height
    if fmt not in ("mc", "yn", "free"):
        return rng.permutation(n), np.arange(n + 1)
    answers = group["answer"].to_list()
    classes = group.select(balance_key().alias("k"))["k"].to_list()
    strata: dict[tuple[str, str], list[int]] = {}
    for i in rng.permutation(n):
        strata.setdefault((answers[i] if fmt != "free" else "", classes[i]), []).append(int(i))
    rank = dict(zip(sorted(strata), rng.permutation(len(strata)).tolist(), strict=True))
    answer_counts: Counter[str] = Counter()
    class_counts: Counter[str] = Counter()
    used: set = set()
    order: list[int] = []
    valid = [0]
    while strata:
        key = min(strata, key=lambda k: (max(answer_counts[k[0]], class_counts[k[1]]),
                                         answer_counts[k[0]] + class_counts[k[1]], rank[k]))
        row = _pop_unused(strata[key], facts, used)
        if not strata[key]:
            del strata[key]
        if row is None:
            continue
        order.append(row)
        answer_counts[key[0]] += 1
        class_counts[key[1]] += 1
        counts = list(class_counts.values())
        counts += [0] * max(0, (n_classes or 0) - len(counts))
        if not balance_problems(fmt, counts, answer_counts, params):
            valid.append(len(order))
    return np.array(order, dtype=int), np.array(valid, dtype=int)


def trim_to_balance(group: pl.DataFrame, order: np.ndarray, fmt: str, params: ValidateParams,
                    n_classes: int | None = None, unit: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Keep as much of a greedy ``order`` as balance allows: while the whole is unbalanced, drop the last unit
    (``unit`` rows: 2 for yes/no pairs) holding the most common answer class, or for MC the most common letter
    when only letters are off. Returns (kept order, the prefix lengths along it that are balanced)."""
    answers = group["answer"].to_list()
    classes = group.select(balance_key().alias("k"))["k"].to_list()
    units = [list(order[i:i + unit]) for i in range(0, len(order), unit)]

    def problems(rows: list[int]) -> list[str]:
        counts = list(Counter(classes[r] for r in rows).values())
        counts += [0] * max(0, (n_classes or 0) - len(counts))
        return balance_problems(fmt, counts, Counter(answers[r] for r in rows), params) if rows else []

    while units and problems(rows := [r for u in units for r in u]):
        by_class = Counter(classes[r] for r in rows)
        top_class = max(sorted(by_class), key=by_class.get)
        if fmt == "mc" and by_class[top_class] * (max(len(by_class), n_classes or 0)) <= params.max_option_ratio * len(rows):
            top_letter = Counter(answers[r] for r in rows).most_common(1)[0][0]
            drop = max(i for i, u in enumerate(units) if any(answers[r] == top_letter for r in u))
        else:
            drop = max(i for i, u in enumerate(units) if any(classes[r] == top_class for r in u))
        del units[drop]
    kept = [r for u in units for r in u]
    valid = [0] + [n for n in range(unit, len(kept) + 1, unit) if not problems(kept[:n])]
    return np.array(kept, dtype=int), np.array(valid, dtype=int)


def _pop_unused(rows: list[int], facts: list | None, used: set) -> int | None:
    while rows:
        row = rows.pop()
        if facts is None or facts[row] not in used:
            if facts is not None:
                used.add(facts[row])
            return row
    return None


def yn_pair_order(group: pl.DataFrame, facts: list, params: ValidateParams,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Yes/no rows taken in pairs per query word: one answered yes and one answered no, from two unused facts,
    the query with the fewest pairs so far first. Rows of the least used answer class come first; among them a
    fact that can answer yes to few open queries is spent on a "yes" first, and "no" rows come preferably from
    facts no open query needs as a "yes". Every query word is therefore answered yes exactly as often as no.
    Returns (row order, balanced prefix lengths)."""
    queries = group["measurement"].struct.field("spec").struct.field("query").fill_null("").to_list()
    answers = group["answer"].to_list()
    classes = group.select(balance_key().alias("k"))["k"].to_list()
    pools: dict[tuple[str, str], list[int]] = {}
    yes_of: dict = {}
    for i in rng.permutation(group.height).tolist():
        pools.setdefault((queries[i], answers[i]), []).append(i)
        if answers[i] == "yes":
            yes_of.setdefault(facts[i], set()).add(queries[i])
    qs = sorted({q for q, _ in pools})
    rank = dict(zip(qs, rng.permutation(len(qs)).tolist(), strict=True))
    pairs: Counter[str] = Counter()
    class_counts: Counter[str] = Counter()
    used: set = set()
    order: list[int] = []
    valid = [0]
    active = set(qs)

    def pick(rows: list[int], taken: set) -> int | None:
        free = [r for r in rows if facts[r] not in taken]
        return min(free, key=lambda r: (class_counts[classes[r]], len(yes_of.get(facts[r], set()) & active)),
                   default=None)

    while active:
        q = min(active, key=lambda x: (pairs[x], rank[x]))
        yes = pick(pools.get((q, "yes"), []), used)
        no = pick(pools.get((q, "no"), []), used | {facts[yes]}) if yes is not None else None
        if yes is None or no is None:
            active.discard(q)
            continue
        for row in (yes, no):
            used.add(facts[row])
            order.append(row)
            class_counts[classes[row]] += 1
        pairs[q] += 1
        answer_counts = {"yes": len(order) // 2, "no": len(order) // 2}
        if not balance_problems("yn", list(class_counts.values()), answer_counts, params):
            valid.append(len(order))
    return np.array(order, dtype=int), np.array(valid, dtype=int)


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


def _groups(pool: pl.DataFrame, params: ValidateParams, seed: int, tag: str) -> list[Group]:
    out = []
    for (unit, fmt), grp in pool.sort("id").group_by(["question_name", "answer_format"], maintain_order=True):
        out.append(Group(unit, fmt, grp, *balanced_order(grp, fmt, params, _rng(seed, "assemble", tag, unit, fmt))))
    return sorted(out, key=lambda g: (g.unit, g.fmt))


def _take(groups: list[Group], total: int) -> pl.DataFrame | None:
    """The balanced prefixes :func:`allocate` sizes for ``total`` rows (None when nothing is taken)."""
    parts = [g.rows[g.order[:n].tolist()] for g, n in zip(groups, allocate(groups, total), strict=True) if n]
    return pl.concat(parts) if parts else None


def _fact_groups(rows: pl.DataFrame, params: ValidateParams, seed: int) -> list[Group]:
    """One MC and one yes/no group per question type, each fact in at most one of them."""
    groups = []
    for (unit,), grp in rows.sort("id").group_by(["question_name"], maintain_order=True):
        facts = [fact_key(r) for r in grp.iter_rows(named=True)]
        fmts = grp["answer_format"].to_list()
        coin = _rng(seed, "benchmark-format", unit)
        both = sorted({f for f, fmt in zip(facts, fmts, strict=True) if fmt == "mc"}
                      & {f for f, fmt in zip(facts, fmts, strict=True) if fmt == "yn"})
        to_yn = {f for f, c in zip(both, coin.random(len(both)), strict=True) if c < 0.5}
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


def select_benchmark(qa: pl.DataFrame, size: int, params: ValidateParams, seed: int) -> pl.DataFrame:
    """Balanced benchmark of at most ``size`` MC / yes-no questions of types 1-11, one per fact, shared evenly
    across types."""
    pool = qa.filter(pl.col("question_type").is_in(list(BENCHMARK_TYPES)) & pl.col("answer_format").is_in(BENCHMARK_FORMATS))
    taken = _take(_fact_groups(pool, params, seed), size)
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
