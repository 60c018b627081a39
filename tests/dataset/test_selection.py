"""Benchmark selection on constructed QA pools: one question per fact, yes/no balanced per query word, MC label
shares bounded against the type's label space — every figure recounted here from the selected rows."""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl
import pytest

from fourdpqa.labels import DISTANCE_CHANGE_LABELS
from fourdpqa.params import ValidateParams
from fourdpqa.questions.base import dist_queries
from fourdpqa.selection import balanced_order, select_benchmark, trim_to_balance, yn_pair_order
from fourdpqa.selection_order import BalanceTally
from fourdpqa.validate import balance_key, balance_problems
from schemas.qa import MEASUREMENT

LETTERS = "ABCD"


def _row(i: int, video: str, fmt: str, label: str, objects: list[int], answer: str, spec: dict) -> dict:
    return {"id": f"{video}-q{i:04d}", "video_id": video, "question_type": 2, "question_name": "camera_object_distance",
            "answer_format": fmt, "answer": answer, "answer_text": answer if fmt == "yn" else label, "label": label,
            "object_ids": objects, "measurement": {"spec": {"objects": objects, **spec}}}


def _pool(labels: list[str], with_mc: bool, with_yn: bool, seed: int = 0) -> pl.DataFrame:
    """One fact per (video, object) with the given labels: an MC row and/or every yes/no query of the fact."""
    rng = np.random.default_rng(seed)
    rows = []
    for f, label in enumerate(labels):
        video, objects = f"v{f // 4:03d}", [f % 4 + 1]
        if with_mc:
            others = [x for x in DISTANCE_CHANGE_LABELS if x != label]
            layout = [str(x) for x in rng.permutation(others)[:3]]
            pos = int(rng.integers(4))
            layout.insert(pos, label)
            rows.append(_row(len(rows), video, "mc", label, objects, LETTERS[pos], {"option_labels": layout}))
        if with_yn:
            yes, no = dist_queries(label, {})
            for q in yes + no:
                rows.append(_row(len(rows), video, "yn", label, objects, "yes" if q in yes else "no", {"query": q}))
    return pl.DataFrame(rows, schema_overrides={"measurement": MEASUREMENT})


def _facts(df: pl.DataFrame) -> Counter:
    """(video, type, label, sorted objects) per row, the issue's definition of a fact."""
    return Counter((r["video_id"], r["question_type"], r["label"], tuple(sorted(r["object_ids"])))
                   for r in df.iter_rows(named=True))


def test_a_skewed_yes_no_set_is_rebalanced_per_query_word():
    # 70% of the facts are "increasing": asked naively, "does it keep increasing?" would mostly be answered yes
    labels = ["increasing"] * 70 + ["decreasing"] * 20 + ["constant"] * 10
    pool = _pool(labels, with_mc=False, with_yn=True)
    per_query = Counter((m["spec"]["query"], a) for m, a in zip(pool["measurement"], pool["answer"]))
    assert per_query[("increasing", "yes")] == 70 and per_query[("increasing", "no")] == 30  # the skew
    bench = select_benchmark(pool, 10_000, ValidateParams(), seed=3)
    assert bench.height >= 40
    counts = Counter((m["spec"]["query"], a) for m, a in zip(bench["measurement"], bench["answer"]))
    for q in {q for q, _ in counts}:
        assert counts[(q, "yes")] == counts[(q, "no")], counts  # the query word tells nothing about the answer
    assert max(_facts(bench).values()) == 1


def test_one_question_per_fact_across_formats():
    labels = [DISTANCE_CHANGE_LABELS[i % 5] for i in range(120)]
    pool = pl.concat([_pool(labels, with_mc=True, with_yn=True, seed=s) for s in range(2)])  # every fact twice over
    pool = pool.with_columns(pl.format("{}-{}", pl.col("id"), pl.int_range(pl.len())).alias("id"))
    bench = select_benchmark(pool, 10_000, ValidateParams(), seed=1)
    assert set(bench["answer_format"]) == {"mc", "yn"}
    assert max(_facts(bench).values()) == 1 and bench.height >= 60


def test_mc_label_share_is_bounded_by_the_whole_label_space():
    """Five labels can be offered; one present-but-common label may not exceed 1.5 x 1/5 of the answers."""
    labels = ["increasing"] * 60 + ["decreasing"] * 30 + ["constant"] * 10 + ["increasing then decreasing"] * 8
    bench = select_benchmark(_pool(labels, with_mc=True, with_yn=False), 10_000, ValidateParams(), seed=2)
    shares = bench["label"].value_counts()["count"] / bench.height
    assert bench.height >= 20 and shares.max() <= 1.5 / 5 + 1e-9
    letters = bench["answer"].value_counts()["count"]
    assert letters.max() / bench.height <= 1.5 / 4 + 1e-9


# ------------------------------------------------------------------------------ linear orders = their definitions
# The direct (quadratic) definitions, as the selection computed them before it was made linear: the reference the
# indexed versions must reproduce exactly (same rows, same order, same balanced lengths).


def _problems(fmt, rows, classes, answers, params, n_classes=None):
    counts = list(Counter(classes[r] for r in rows).values())
    counts += [0] * max(0, (n_classes or 0) - len(counts))
    return balance_problems(fmt, counts, Counter(answers[r] for r in rows), params) if rows else []


def reference_balanced_order(group, fmt, params, rng, facts=None, n_classes=None):
    n = group.height
    answers = group["answer"].to_list()
    classes = group.select(balance_key().alias("k"))["k"].to_list()
    strata: dict = {}
    for i in rng.permutation(n):
        strata.setdefault((answers[i] if fmt != "free" else "", classes[i]), []).append(int(i))
    rank = dict(zip(sorted(strata), rng.permutation(len(strata)).tolist(), strict=True))
    ac, cc, used, order, valid = Counter(), Counter(), set(), [], [0]
    while strata:
        key = min(strata, key=lambda k: (max(ac[k[0]], cc[k[1]]), ac[k[0]] + cc[k[1]], rank[k]))
        row = None
        while strata[key]:
            r = strata[key].pop()
            if facts is None or facts[r] not in used:
                used.add(facts[r]) if facts is not None else None
                row = r
                break
        if not strata[key]:
            del strata[key]
        if row is None:
            continue
        order.append(row)
        ac[key[0]] += 1
        cc[key[1]] += 1
        counts = list(cc.values()) + [0] * max(0, (n_classes or 0) - len(cc))
        if not balance_problems(fmt, counts, ac, params):
            valid.append(len(order))
    return order, valid


def reference_trim(group, order, fmt, params, n_classes=None, unit=1):
    answers = group["answer"].to_list()
    classes = group.select(balance_key().alias("k"))["k"].to_list()
    units = [list(order[i:i + unit]) for i in range(0, len(order), unit)]
    while units and _problems(fmt, rows := [r for u in units for r in u], classes, answers, params, n_classes):
        by_class = Counter(classes[r] for r in rows)
        top_class = max(sorted(by_class), key=by_class.get)
        if fmt == "mc" and by_class[top_class] * max(len(by_class), n_classes or 0) <= params.max_option_ratio * len(rows):
            top_letter = Counter(answers[r] for r in rows).most_common(1)[0][0]
            drop = max(i for i, u in enumerate(units) if any(answers[r] == top_letter for r in u))
        else:
            drop = max(i for i, u in enumerate(units) if any(classes[r] == top_class for r in u))
        del units[drop]
    kept = [r for u in units for r in u]
    return kept, [0] + [n for n in range(unit, len(kept) + 1, unit)
                        if not _problems(fmt, kept[:n], classes, answers, params, n_classes)]


def reference_yn_pair_order(group, facts, params, rng):
    queries = group["measurement"].struct.field("spec").struct.field("query").fill_null("").to_list()
    answers = group["answer"].to_list()
    classes = group.select(balance_key().alias("k"))["k"].to_list()
    pools, yes_of = {}, {}
    for i in rng.permutation(group.height).tolist():
        pools.setdefault((queries[i], answers[i]), []).append(i)
        if answers[i] == "yes":
            yes_of.setdefault(facts[i], set()).add(queries[i])
    qs = sorted({q for q, _ in pools})
    rank = dict(zip(qs, rng.permutation(len(qs)).tolist(), strict=True))
    pairs, cc, used, order, valid, active = Counter(), Counter(), set(), [], [0], set(qs)

    def pick(rows, taken):
        free = [r for r in rows if facts[r] not in taken]
        return min(free, key=lambda r: (cc[classes[r]], len(yes_of.get(facts[r], set()) & active)), default=None)

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
            cc[classes[row]] += 1
        pairs[q] += 1
        if not balance_problems("yn", list(cc.values()), {"yes": len(order) // 2, "no": len(order) // 2}, params):
            valid.append(len(order))
    return order, valid


def random_group(seed: int, n: int, fmt: str) -> tuple[pl.DataFrame, list[int]]:
    """A skewed group: a few dominant labels, letters leaning to A, facts shared by 1-3 rows, 4 query words."""
    rng = np.random.default_rng(seed)
    labels = [str(x) for x in rng.choice(["up", "down", "left", "right", "still"], n, p=[0.45, 0.2, 0.15, 0.12, 0.08])]
    if fmt == "mc":
        answers = [str(x) for x in rng.choice(list(LETTERS), n, p=[0.4, 0.2, 0.2, 0.2])]
    else:
        answers = [str(x) for x in rng.choice(["yes", "no"], n, p=[0.6, 0.4])]
    queries = [str(x) for x in rng.choice(["up", "down", "left", "far"], n)]
    df = pl.DataFrame({"answer": answers, "label": labels, "answer_text": labels,
                       "measurement": [{"spec": {"query": q}} for q in queries]})
    return df, [int(x) for x in rng.integers(0, max(1, n // 2), n)]


@pytest.mark.parametrize("seed", range(12))
def test_the_linear_orders_equal_their_direct_definitions(seed):
    params = ValidateParams()
    for fmt, n_classes in (("mc", None), ("mc", 7), ("yn", None), ("free", None)):
        group, facts = random_group(seed, 60 + 37 * seed, fmt)
        for with_facts in (None, facts):
            ref = reference_balanced_order(group, fmt, params, np.random.default_rng(seed), with_facts, n_classes)
            got = balanced_order(group, fmt, params, np.random.default_rng(seed), with_facts, n_classes)
            assert (got[0].tolist(), got[1].tolist()) == ref
            for unit in ((1, 2) if fmt != "free" else (1,)):
                assert [x.tolist() for x in trim_to_balance(group, got[0], fmt, params, n_classes, unit)] == list(
                    reference_trim(group, ref[0], fmt, params, n_classes, unit))
            limit = len(ref[0]) // 3  # stops at the first balanced length >= limit; the prefix is the full order's
            short, valid = balanced_order(group, fmt, params, np.random.default_rng(seed), with_facts, n_classes,
                                          limit=limit)
            cut = next((v for v in ref[1] if v >= limit), ref[1][-1])
            assert valid.tolist() == [v for v in ref[1] if v <= cut] and short.tolist() == ref[0][:len(short)]
    group, facts = random_group(seed, 80 + 29 * seed, "yn")
    got = yn_pair_order(group, facts, params, np.random.default_rng(seed))
    assert (got[0].tolist(), got[1].tolist()) == reference_yn_pair_order(group, facts, params, np.random.default_rng(seed))


def test_the_tally_judges_like_balance_problems():
    """Random count paths near the limits (letters, yes share, classes, a fixed label space)."""
    params = ValidateParams()
    rng = np.random.default_rng(0)
    for fmt in ("mc", "yn", "free"):
        for n_classes in (None, 6):
            tally, answers, classes = BalanceTally(fmt, params, n_classes), Counter(), Counter()
            values = list(LETTERS) if fmt == "mc" else ["yes", "no"]
            for _ in range(400):
                a, c = str(rng.choice(values)), str(rng.choice(["p", "q", "r"], p=[0.5, 0.3, 0.2]))
                tally.add(a, c)
                answers[a] += 1
                classes[c] += 1
                counts = list(classes.values()) + [0] * max(0, (n_classes or 0) - len(classes))
                assert tally.ok() == (not balance_problems(fmt, counts, answers, params))
