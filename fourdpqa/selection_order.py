"""The balanced orders selection takes rows in, in time linear in the pool (up to small per-group factors).

* :class:`BalanceTally`: the answer and class counts of a growing (or shrinking) selection, judged exactly as
  :func:`fourdpqa.validate.balance_problems` judges them, in O(1) per row (the chi-square of four letter counts
  is compared with its critical value; scipy decides only within 1e-9 of it);
* :func:`balanced_order`: the greedy stratum order, the next stratum found in a heap whose keys only grow (a
  popped entry whose key went stale is pushed back with its current key);
* :func:`trim_to_balance`: drops units from the end with per-class and per-letter indexes of the units holding
  them, and judges every kept prefix in one pass;
* :func:`yn_pair_order`: candidates indexed per (query, answer) by (answer class, how many open queries the fact
  answers yes), re-indexed only when a query closes.

Each gives the same order as its direct definition (the docstrings), which the tests keep as the reference.
"""

from __future__ import annotations

import heapq
from collections import Counter, deque

import numpy as np
import polars as pl
from scipy import stats

from fourdpqa.params import ValidateParams
from fourdpqa.validate.balance import balance_key, balance_problems
from schemas.qa import LETTERS


class BalanceTally:
    """Counts of a selection of one (type, format) group; :meth:`ok` is ``not balance_problems(...)`` of them, with
    the class list padded to ``n_classes`` (a fixed label space)."""

    def __init__(self, fmt: str, params: ValidateParams, n_classes: int | None = None):
        self.fmt, self.params, self.n_classes = fmt, params, n_classes or 0
        self.classes: Counter[str] = Counter()
        self.answers: Counter[str] = Counter()
        self.n = 0
        self._crit = float(stats.chi2.isf(params.letter_chi2_p, len(LETTERS) - 1))

    def add(self, answer: str, klass: str, k: int = 1) -> None:
        self.answers[answer] += k
        self.classes[klass] += k
        self.n += k

    def present(self) -> int:
        return sum(1 for c in self.classes.values() if c > 0)

    def ok(self) -> bool:
        n, p = self.n, self.params
        if n == 0:
            return True
        k = max(self.present(), self.n_classes)
        if k > 1 and max(self.classes.values()) / n > p.max_option_ratio / k + 1e-12:
            return False
        if self.fmt == "yn":
            return p.yes_share_low <= self.answers.get("yes", 0) / n <= p.yes_share_high
        if self.fmt == "mc":
            counts = [self.answers.get(letter, 0) for letter in LETTERS]
            if max(counts) / n > p.max_option_ratio / len(LETTERS) + 1e-12:
                return False
            return not self._letters_skewed(counts, n)
        return True

    def _letters_skewed(self, counts: list[int], n: int) -> bool:
        """chi-square p <= letter_chi2_p, decided by the statistic against its critical value (scipy near it)."""
        expected = n / len(counts)
        stat = float(sum((c - expected) ** 2 / expected for c in counts))
        if abs(stat - self._crit) <= 1e-9 * self._crit:
            return float(stats.chisquare(counts).pvalue) <= self.params.letter_chi2_p
        return stat >= self._crit


def _classes(group: pl.DataFrame) -> list[str]:
    return group.select(balance_key().alias("k"))["k"].to_list()


def balanced_order(group: pl.DataFrame, fmt: str, params: ValidateParams, rng: np.random.Generator,
                   facts: list | None = None, n_classes: int | None = None,
                   limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Greedy order of ``group`` rows (one question type and format) and the prefix lengths that are balanced.

    At each step take a row from the stratum (answer value x answer class) whose values are currently the least
    used — least max(answer count, class count), then least sum, then a seeded rank — so letters, yes/no and
    classes fill evenly; rare classes therefore come first. Rows of a stratum are taken from the end of their
    seeded list. With ``facts`` (one key per row) a fact is taken at most once; with ``n_classes`` the class shares
    are judged against that many classes (a fixed label space). With ``limit`` the order stops at the first
    balanced length >= ``limit`` (its prefixes are those of the full order: each step depends only on the ones
    before). Returns (row positions in order, sorted prefix lengths :func:`balance_problems` accepts, 0 included).
    Formats without a discrete answer (trajectory, numeric) are shuffled and every length is usable."""
    n = group.height
    if fmt not in ("mc", "yn", "free"):
        return rng.permutation(n), np.arange(n + 1)
    answers = group["answer"].to_list()
    classes = _classes(group)
    strata: dict[tuple[str, str], list[int]] = {}
    for i in rng.permutation(n):
        strata.setdefault((answers[i] if fmt != "free" else "", classes[i]), []).append(int(i))
    rank = dict(zip(sorted(strata), rng.permutation(len(strata)).tolist(), strict=True))
    tally = BalanceTally(fmt, params, n_classes)
    count_a, count_c = tally.answers, tally.classes
    heap = [((0, 0, rank[s]), s) for s in strata]
    heapq.heapify(heap)
    used: set = set()
    order: list[int] = []
    valid = [0]
    while heap:
        stored, s = heapq.heappop(heap)
        a, c = s
        key = (max(count_a[a], count_c[c]), count_a[a] + count_c[c], rank[s])
        if key != stored:  # counts only grow: stale keys are too small, never too large
            heapq.heappush(heap, (key, s))
            continue
        row = _pop_unused(strata[s], facts, used)
        if row is None:  # the stratum ran out of unused facts
            continue
        order.append(row)
        tally.add(a, c)
        if strata[s]:
            heapq.heappush(heap, ((max(count_a[a], count_c[c]), count_a[a] + count_c[c], rank[s]), s))
        if tally.ok():
            valid.append(len(order))
            if limit is not None and len(order) >= limit:
                break
    return np.array(order, dtype=int), np.array(valid, dtype=int)


def _pop_unused(rows: list[int], facts: list | None, used: set) -> int | None:
    while rows:
        row = rows.pop()
        if facts is None or facts[row] not in used:
            if facts is not None:
                used.add(facts[row])
            return row
    return None


class _Units:
    """Units (runs of rows) of an order that can be dropped, with the last live unit holding a class or a letter
    and the first live row of a letter found through per-value indexes."""

    def __init__(self, units: list[list[int]], classes: list[str], answers: list[str]):
        self.units, self.alive = units, [True] * len(units)
        self.by_class: dict[str, list[int]] = {}
        self.by_letter: dict[str, list[int]] = {}
        self.first_row: dict[str, deque[tuple[int, int]]] = {}  # letter -> (row position, unit), ascending
        pos = 0
        for u, rows in enumerate(units):
            for r in rows:
                for index, value in ((self.by_class, classes[r]), (self.by_letter, answers[r])):
                    if not index.get(value) or index[value][-1] != u:
                        index.setdefault(value, []).append(u)
                self.first_row.setdefault(answers[r], deque()).append((pos, u))
                pos += 1

    def last(self, index: dict[str, list[int]], value: str) -> int:
        units = index[value]
        while not self.alive[units[-1]]:
            units.pop()
        return units[-1]

    def first_seen(self, letter: str) -> int:
        rows = self.first_row[letter]
        while not self.alive[rows[0][1]]:
            rows.popleft()
        return rows[0][0]


def trim_to_balance(group: pl.DataFrame, order: np.ndarray, fmt: str, params: ValidateParams,
                    n_classes: int | None = None, unit: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Keep as much of a greedy ``order`` as balance allows: while the whole is unbalanced, drop the last unit
    (``unit`` rows: 2 for yes/no pairs) holding the most common answer class (ties: the first class by name), or
    for MC the most common letter (ties: the letter seen first) when only letters are off. Returns (kept order, the
    prefix lengths along it that are balanced)."""
    answers = group["answer"].to_list()
    classes = _classes(group)
    units = _Units([[int(r) for r in order[i:i + unit]] for i in range(0, len(order), unit)], classes, answers)
    tally = BalanceTally(fmt, params, n_classes)
    for r in order:
        tally.add(answers[r], classes[r])
    live = len(units.units)
    while live and not tally.ok():
        top = max(tally.classes.values())
        top_class = min(c for c, k in tally.classes.items() if k == top)
        if fmt == "mc" and top * max(tally.present(), n_classes or 0) <= params.max_option_ratio * tally.n:
            most = max(tally.answers.values())
            top_letter = min((a for a, k in tally.answers.items() if k == most), key=units.first_seen)
            drop = units.last(units.by_letter, top_letter)
        else:
            drop = units.last(units.by_class, top_class)
        units.alive[drop] = False
        live -= 1
        for r in units.units[drop]:
            tally.add(answers[r], classes[r], -1)
        tally.classes += Counter()  # drop classes and letters no kept row holds
        tally.answers += Counter()
    kept = [r for u, rows in enumerate(units.units) if units.alive[u] for r in rows]
    prefix = BalanceTally(fmt, params, n_classes)
    valid = [0]
    for i in range(0, len(kept) - len(kept) % unit, unit):
        for r in kept[i:i + unit]:
            prefix.add(answers[r], classes[r])
        if prefix.ok():
            valid.append(i + unit)
    return np.array(kept, dtype=int), np.array(valid, dtype=int)


class _PairPool:
    """The rows answering one (query, answer), in their seeded order, indexed by (answer class, the number of open
    queries their fact answers yes): the first free row of each index entry is a candidate."""

    def __init__(self, rows: list[int]):
        self.rows = rows
        self.version = -1
        self.buckets: dict[tuple[str, int], deque[tuple[int, int]]] = {}

    def index(self, version: int, classes: list[str], open_yes: dict, facts: list, used: set) -> None:
        if version == self.version:
            return
        self.version, self.buckets = version, {}
        for pos, r in enumerate(self.rows):
            if facts[r] not in used:
                self.buckets.setdefault((classes[r], open_yes.get(facts[r], 0)), deque()).append((pos, r))

    def pick(self, class_counts: Counter, facts: list, used: set, also: object = None) -> int | None:
        """The free row of least (its class's count, open yes-queries of its fact, seeded position); a row whose
        fact is ``also`` is passed over without being dropped."""
        best = None
        for (klass, open_count), rows in self.buckets.items():
            while rows and facts[rows[0][1]] in used:
                rows.popleft()  # used facts stay used
            first = rows[0] if rows and facts[rows[0][1]] != also else next(
                (e for e in rows if facts[e[1]] != also and facts[e[1]] not in used), None)
            if first is not None:
                key = (class_counts[klass], open_count, first[0])
                if best is None or key < best[0]:
                    best = (key, first[1])
        return None if best is None else best[1]


def yn_pair_order(group: pl.DataFrame, facts: list, params: ValidateParams,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Yes/no rows taken in pairs per query word: one answered yes and one answered no, from two unused facts,
    the query with the fewest pairs so far first (ties: a seeded rank). Among a query's free rows the one of the
    least used answer class comes first, then the fact that answers yes to the fewest open queries (spent on a
    "yes" it is the one few queries need; taken as a "no" it is the one no open query needs as a "yes"), then the
    seeded order; a query closes when it has no free yes or no row left. Every query word is therefore answered
    yes exactly as often as no. Returns (row order, balanced prefix lengths)."""
    queries = group["measurement"].struct.field("spec").struct.field("query").fill_null("").to_list()
    answers = group["answer"].to_list()
    classes = _classes(group)
    rows_of: dict[tuple[str, str], list[int]] = {}
    yes_of: dict = {}
    for i in rng.permutation(group.height).tolist():
        rows_of.setdefault((queries[i], answers[i]), []).append(i)
        if answers[i] == "yes":
            yes_of.setdefault(facts[i], set()).add(queries[i])
    qs = sorted({q for q, _ in rows_of})
    rank = dict(zip(qs, rng.permutation(len(qs)).tolist(), strict=True))
    pools = {k: _PairPool(v) for k, v in rows_of.items()}
    empty = _PairPool([])
    active = set(qs)
    open_yes = {f: len(q) for f, q in yes_of.items()}
    version = 0
    pairs: Counter[str] = Counter()
    tally = BalanceTally("yn", params)
    used: set = set()
    order: list[int] = []
    valid = [0]
    while active:
        q = min(active, key=lambda x: (pairs[x], rank[x]))
        yes_pool, no_pool = pools.get((q, "yes"), empty), pools.get((q, "no"), empty)
        for pool in (yes_pool, no_pool):
            pool.index(version, classes, open_yes, facts, used)
        yes = yes_pool.pick(tally.classes, facts, used)
        no = no_pool.pick(tally.classes, facts, used, also=facts[yes]) if yes is not None else None
        if yes is None or no is None:
            active.discard(q)
            for f, asked in yes_of.items():
                if q in asked:
                    open_yes[f] -= 1
            version += 1  # the open-query counts changed: pools re-index when next asked
            continue
        for row in (yes, no):
            used.add(facts[row])
            order.append(row)
            tally.add(answers[row], classes[row])
        pairs[q] += 1
        if tally.ok():
            valid.append(len(order))
    return np.array(order, dtype=int), np.array(valid, dtype=int)
