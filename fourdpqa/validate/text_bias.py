"""Blind (text-only) audit: can the benchmark be answered without looking at the video?

Four text-only predictors, each scored on every benchmark (question type, format) with a one-sided binomial
p-value against chance:

* ``majority``: the training split's most frequent answer of the type;
* ``bow_logreg``: bag-of-words logistic regression on question + letter-tagged option words (pooled per format);
* ``tfidf``: a TF-IDF (word 1-2 gram) logistic regression per (type, format) — yes/no from the question; MC by
  scoring each option with the question and taking the most probable one;
* ``query_rule``: leave-one-video-out over training + benchmark: yes/no answered by the majority answer of the
  same (type, query) in the other videos; MC by the option text most often correct in the other videos.

A type is flagged when a predictor beats chance by more than ``blind_margin`` and the excess is significant at a
family-wise level of 0.01 over every (type, format, predictor) test of the audit (Holm's step-down correction:
about 60 tests are run, so an uncorrected 0.01 would flag a clean benchmark about half the time).

The audit is calibrated against a benchmark whose wording carries nothing by construction: the same questions
with their answers shuffled within each (type, format). How many groups the best predictor puts above chance +
margin there (``null_draws`` shuffles) is the number a text-free benchmark of these sizes shows by luck alone; at
20-100 questions a group, a literal "every group within chance + 3 points" is out of reach of any benchmark.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from fourdpqa.seeding import rng
from fourdpqa.validate.result import CheckResult
from schemas.qa import LETTERS

CHOICE_FORMATS = ("mc", "yn")
CHANCE = {"mc": 0.25, "yn": 0.5}
BIAS_SIGNIFICANCE = 0.01


def p_above_chance(correct: int, n: int, chance: float) -> float:
    """One-sided binomial p-value of scoring ``correct`` of ``n`` or more by guessing at rate ``chance``."""
    return float(stats.binomtest(correct, n, chance, alternative="greater").pvalue) if n else 1.0


def _blind_text(row: dict) -> str:
    """Question words plus option words tagged by their letter, so a letter-specific wording cue is learnable."""
    opts = " ".join(f"{LETTERS[i]}_{w}" for i, o in enumerate(row["options"]) for w in o.lower().split())
    return f"{row['question']} {opts}"


def _query(row: dict) -> str:
    """The yes/no query of a record (its stored spec), else the question text."""
    query = ((row["measurement"] or {}).get("spec") or {}).get("query")
    return str(row["question"] if query is None else query)


def bow_predictions(train: pl.DataFrame, bench: pl.DataFrame) -> list[str] | None:
    """Pooled bag-of-words logistic regression (one format); None when training has a single answer."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    if not train.height or train["answer"].n_unique() < 2:
        return None
    vec = CountVectorizer(token_pattern=r"[A-Za-z_]+", lowercase=True, binary=True)
    x = vec.fit_transform([_blind_text(r) for r in train.iter_rows(named=True)])
    model = LogisticRegression(max_iter=2000, C=1.0).fit(x, train["answer"].to_list())
    return model.predict(vec.transform([_blind_text(r) for r in bench.iter_rows(named=True)])).tolist()


def tfidf_predictions(train: pl.DataFrame, bench: pl.DataFrame, fmt: str) -> list[str] | None:
    """TF-IDF logistic regression of one (type, format); None when training cannot fit it."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    if fmt == "yn":
        if train["answer"].n_unique() < 2:
            return None
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        model = LogisticRegression(max_iter=2000).fit(vec.fit_transform(train["question"].to_list()), train["answer"].to_list())
        return model.predict(vec.transform(bench["question"].to_list())).tolist()
    pairs = [(f"{r['question']} || {o}", LETTERS[i] == r["answer"]) for r in train.iter_rows(named=True)
             for i, o in enumerate(r["options"])]
    if len({y for _, y in pairs}) < 2:
        return None
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    model = LogisticRegression(max_iter=2000).fit(vec.fit_transform([t for t, _ in pairs]), [y for _, y in pairs])
    out = []
    for r in bench.iter_rows(named=True):
        prob = model.predict_proba(vec.transform([f"{r['question']} || {o}" for o in r["options"]]))[:, 1]
        out.append(LETTERS[int(np.argmax(prob))])
    return out


def query_rule_predictions(pool: pl.DataFrame, bench: pl.DataFrame, fmt: str) -> list[str]:
    """Leave-one-video-out query rule (module doc) for the rows of ``bench``; ``pool`` holds every row of the
    (type, format) from both splits. Counts are kept per video, so leaving one out is a subtraction."""
    per_video: dict[str, Counter] = defaultdict(Counter)
    for o in pool.iter_rows(named=True):
        c = per_video[o["video_id"]]
        if fmt == "yn":
            c[("answer", o["answer"])] += 1
            c[("query", _query(o), o["answer"])] += 1
        else:
            c.update(("shown", opt) for opt in o["options"])
            c[("right", o["options"][LETTERS.index(o["answer"])])] += 1
    total = sum(per_video.values(), Counter())
    out = []
    for r in bench.iter_rows(named=True):
        rest = total - per_video[r["video_id"]]
        if fmt == "yn":
            q = _query(r)
            same = {a: rest[("query", q, a)] for a in ("no", "yes")}
            votes = same if any(same.values()) else {a: rest[("answer", a)] for a in ("no", "yes")}
            out.append(max(("no", "yes"), key=lambda a: votes[a]))
            continue
        rate = [rest[("right", o)] / rest[("shown", o)] if rest[("shown", o)] else 0.0 for o in r["options"]]
        out.append(LETTERS[int(np.argmax(rate))])
    return out


def blind_scores(train: pl.DataFrame, benchmark: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """Per benchmark "<question_name>/<format>": n, chance and, per predictor, accuracy and p-value."""
    per_type: dict[str, dict[str, Any]] = {}
    for fmt in CHOICE_FORMATS:
        tr, be = train.filter(pl.col("answer_format") == fmt), benchmark.filter(pl.col("answer_format") == fmt)
        if not be.height:
            continue
        bow = bow_predictions(tr, be)
        bow_by_id = dict(zip(be["id"].to_list(), bow, strict=True)) if bow is not None else {}
        majority = {q: g["answer"].mode().sort()[0] for (q,), g in tr.group_by(["question_name"])}
        for (qname,), grp in be.group_by(["question_name"], maintain_order=True):
            tr_q = tr.filter(pl.col("question_name") == qname)
            truth = grp["answer"].to_list()
            preds: dict[str, list[str] | None] = {
                "majority": [majority[qname]] * grp.height if qname in majority else None,
                "bow_logreg": [bow_by_id[i] for i in grp["id"].to_list()] if bow_by_id else None,
                "tfidf": tfidf_predictions(tr_q, grp, fmt) if tr_q.height else None,
                "query_rule": query_rule_predictions(pl.concat([tr_q, grp], how="diagonal_relaxed"), grp, fmt),
            }
            info: dict[str, Any] = {"n": grp.height, "chance": CHANCE[fmt]}
            for name, pred in preds.items():
                if pred is not None:
                    correct = sum(p == t for p, t in zip(pred, truth, strict=True))
                    info[name] = round(correct / grp.height, 4)
                    info[f"{name}_p"] = float(f"{p_above_chance(correct, grp.height, CHANCE[fmt]):.3g}")
            per_type[f"{qname}/{fmt}"] = info
    return dict(sorted(per_type.items()))


PREDICTORS = ("majority", "bow_logreg", "tfidf", "query_rule")


def holm_significant(p_values: dict[tuple[str, str], float], alpha: float) -> set[tuple[str, str]]:
    """Keys whose p-value Holm's step-down procedure rejects at family-wise error ``alpha``: the k-th smallest of m
    p-values is compared with alpha / (m - k), stopping at the first that is not below it."""
    ranked = sorted(p_values.items(), key=lambda kv: (kv[1], kv[0]))
    rejected: set[tuple[str, str]] = set()
    for k, (key, p) in enumerate(ranked):
        if p >= alpha / (len(ranked) - k):
            break
        rejected.add(key)
    return rejected


def best_excess(per_type: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Per group: the best text-only predictor's accuracy minus chance."""
    return {k: max(info.get(name, 0.0) - info["chance"] for name in PREDICTORS) for k, info in per_type.items()}


def shuffled_answers(benchmark: pl.DataFrame, generator: np.random.Generator) -> pl.DataFrame:
    """The benchmark with its answers permuted within each (type, format): the same wording, answer shares and
    sizes, but no text can carry an answer."""
    parts = [g.with_columns(pl.Series("answer", g["answer"].to_numpy()[generator.permutation(g.height)]))
             for _, g in benchmark.sort("id").group_by(["question_name", "answer_format"], maintain_order=True)]
    return pl.concat(parts) if parts else benchmark


def null_calibration(train: pl.DataFrame, benchmark: pl.DataFrame, observed: dict[str, float], margin: float,
                     draws: int, seed: int) -> dict[str, Any]:
    """Groups over chance + ``margin`` in ``observed`` (best excess per group) next to the same count on
    ``draws`` answer-shuffled copies of the benchmark; per group how often a shuffle put it over and the best
    predictor's mean excess over chance on the shuffles (what luck alone gives at that group's size)."""
    counts, hits, sums = [], dict.fromkeys(observed, 0), dict.fromkeys(observed, 0.0)
    for i in range(draws):
        excess = best_excess(blind_scores(train, shuffled_answers(benchmark, rng(seed, "blind-null", i))))
        counts.append(sum(v > margin for v in excess.values()))
        for k, v in excess.items():
            hits[k] = hits.get(k, 0) + (v > margin)
            sums[k] = sums.get(k, 0.0) + v
    return {"draws": draws, "margin": margin, "observed_over_margin": sum(v > margin for v in observed.values()),
            "groups": len(observed), "shuffled_over_margin_mean": round(float(np.mean(counts)), 2),
            "shuffled_over_margin_range": [int(min(counts)), int(max(counts))],
            "shuffled_over_margin_share": {k: round(v / draws, 3) for k, v in sorted(hits.items())},
            "shuffled_excess_mean": {k: round(v / draws, 4) for k, v in sorted(sums.items())}}


def check_blind_bias(train: pl.DataFrame, benchmark: pl.DataFrame, margin: float, blocking: bool = True,
                     null_draws: int = 0, seed: int = 0) -> CheckResult:
    """Every text-only predictor within ``margin`` of chance on every benchmark (type, format), unless the
    excess is not significant (binomial p-values, Holm-corrected to a family-wise 0.01 over the whole audit).
    Blocking by default: a benchmark answerable from its wording measures the wording. With ``null_draws`` the
    details also hold the answer-shuffled calibration (:func:`null_calibration`)."""
    per_type = blind_scores(train, benchmark)
    significant = holm_significant({(key, name): info[f"{name}_p"] for key, info in per_type.items()
                                    for name in PREDICTORS if name in info}, BIAS_SIGNIFICANCE)
    offenders: dict[str, str] = {}
    for key, info in per_type.items():
        bad = [f"{name} {info[name]:.3f} (p={info[f'{name}_p']:.2g})" for name in PREDICTORS
               if name in info and info[name] - info["chance"] > margin and (key, name) in significant]
        if bad:
            offenders[key] = f"{', '.join(bad)} vs chance {info['chance']:.2f} (n={info['n']})"
    worst = best_excess(per_type)
    details: dict[str, Any] = {"offenders": offenders, "per_type": per_type,
                               "max_excess_over_chance": {k: round(v, 4) for k, v in sorted(worst.items())}}
    if null_draws and per_type:
        details["null"] = null_calibration(train, benchmark, worst, margin, null_draws, seed)
    return CheckResult("check_blind_bias", not offenders, blocking,
                       f"{len(offenders)} biased types" + (f": {sorted(offenders)}" if offenders else ""),
                       f"text-only accuracy within {margin:.2f} of chance per type, or not significant (Holm, family-wise "
                       f"p >= {BIAS_SIGNIFICANCE})",
                       details)
