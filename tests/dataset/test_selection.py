"""Benchmark selection on constructed QA pools: one question per fact, yes/no balanced per query word, MC label
shares bounded against the type's label space — every figure recounted here from the selected rows."""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl

from fourdpqa.labels import DISTANCE_CHANGE_LABELS
from fourdpqa.params import ValidateParams
from fourdpqa.questions.base import dist_queries
from fourdpqa.selection import select_benchmark
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
