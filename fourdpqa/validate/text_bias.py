"""Blind (text-only) audit: can the benchmark be answered without looking at the video?

Three text-only predictors, each fitted on the training split and scored on every benchmark (question type, format)
and pooled per category, with a one-sided p-value against chance:

* ``majority``: the training split's most frequent answer of the type;
* ``bow_logreg``: bag-of-words logistic regression on question + letter-tagged option words (pooled per format);
* ``tfidf``: a TF-IDF (word 1-2 gram) logistic regression per (type, format) — yes/no from the question; MC by
  scoring each option with the question and taking the most probable one.

A predictor that cannot flag by construction is not run: a rule answering yes/no from the (type, query word)
alone scores exactly the query's yes share, which selection holds at 0.5 (yes/no rows come in pairs per query),
and its leave-one-video-out form scored 0.00-0.21 on such groups while adding tests to the family and noise to the
calibration. A group or category is flagged when a predictor beats chance by more than ``blind_margin`` and the
excess is significant at a family-wise level ``alpha`` over every (group or category, predictor) test of the audit
(Holm's step-down correction). Each group and category reports the **minimum detectable accuracy**: the score a
predictor needs there to be flagged at all (over chance + margin with a p-value below alpha / m, Holm's most
lenient step) — a 30-question yes/no group cannot flag less than ~0.83, a pooled category of 200 questions ~0.63.

The audit is calibrated against a benchmark whose wording carries nothing by construction: the same questions
with their answers shuffled within each (type, format). The predictors never see benchmark answers, so a shuffle
only re-scores the same predictions; how many groups the best predictor puts above chance + margin there
(``null_draws`` shuffles) is the number a text-free benchmark of these sizes shows by luck alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from fourdpqa.seeding import rng
from fourdpqa.validate.result import CheckResult
from fourdpqa.validate.stats import holm_significant, min_detectable, p_above_chance, p_above_pooled
from schemas.qa import LETTERS

CHOICE_FORMATS = ("mc", "yn")
CHANCE = {"mc": 0.25, "yn": 0.5}
PREDICTORS = ("majority", "bow_logreg", "tfidf")
POOLED = "pooled"  # "<category>/pooled": the key of a category's pooled test


def _blind_text(row: dict) -> str:
    """Question words plus option words tagged by their letter, so a letter-specific wording cue is learnable."""
    opts = " ".join(f"{LETTERS[i]}_{w}" for i, o in enumerate(row["options"]) for w in o.lower().split())
    return f"{row['question']} {opts}"


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
    texts = [f"{r['question']} || {o}" for r in bench.iter_rows(named=True) for o in r["options"]]
    prob = model.predict_proba(vec.transform(texts))[:, 1].reshape(bench.height, len(LETTERS))
    return [LETTERS[int(i)] for i in np.argmax(prob, axis=1)]


@dataclass
class Group:
    """One benchmark (type, format): its rows (by id), answers, category and each predictor's answers."""

    key: str
    category: str
    chance: float
    truth: np.ndarray
    predictions: dict[str, np.ndarray]

    def hits(self, truth: np.ndarray | None = None) -> dict[str, int]:
        t = self.truth if truth is None else truth
        return {name: int((pred == t).sum()) for name, pred in self.predictions.items()}


def blind_predictions(train: pl.DataFrame, benchmark: pl.DataFrame) -> list[Group]:
    """Every predictor's answers per benchmark (type, format), groups in the order of the id-sorted benchmark.
    Fitted on training only: benchmark answers are never seen (so a shuffle of them re-scores, not re-fits)."""
    bench = benchmark.filter(pl.col("answer_format").is_in(CHOICE_FORMATS)).sort("id")
    by_id: dict[str, dict[str, str]] = {}
    for fmt in CHOICE_FORMATS:
        tr, be = train.filter(pl.col("answer_format") == fmt), bench.filter(pl.col("answer_format") == fmt)
        if not be.height:
            continue
        bow = bow_predictions(tr, be)
        bow_by_id = dict(zip(be["id"].to_list(), bow, strict=True)) if bow is not None else {}
        majority = {q: g["answer"].mode().sort()[0] for (q,), g in tr.group_by(["question_name"])}
        for (qname,), grp in be.group_by(["question_name"], maintain_order=True):
            tr_q = tr.filter(pl.col("question_name") == qname)
            ids = grp["id"].to_list()
            preds: dict[str, list[str] | None] = {
                "majority": [majority[qname]] * grp.height if qname in majority else None,
                "bow_logreg": [bow_by_id[i] for i in ids] if bow_by_id else None,
                "tfidf": tfidf_predictions(tr_q, grp, fmt) if tr_q.height else None,
            }
            for name, pred in preds.items():
                if pred is not None:
                    for rid, answer in zip(ids, pred, strict=True):
                        by_id.setdefault(rid, {})[name] = answer
    groups = []
    for (qname, fmt), grp in bench.group_by(["question_name", "answer_format"], maintain_order=True):
        ids = grp["id"].to_list()
        names = [n for n in PREDICTORS if all(n in by_id.get(i, {}) for i in ids)]
        groups.append(Group(f"{qname}/{fmt}", str(grp["category"][0]), CHANCE[fmt], grp["answer"].to_numpy(),
                            {n: np.array([by_id[i][n] for i in ids]) for n in names}))
    return groups


def _scores(hits: dict[str, int], n: int, p_value) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, k in hits.items():
        out[name] = round(k / n, 4)
        out[f"{name}_p"] = float(f"{p_value(k):.3g}")
    return out


def group_scores(groups: list[Group]) -> dict[str, dict[str, Any]]:
    """Per "<question_name>/<format>": n, chance, category and, per predictor, accuracy and p-value."""
    out = {}
    for g in groups:
        n = len(g.truth)
        out[g.key] = {"n": n, "chance": g.chance, "category": g.category,
                      **_scores(g.hits(), n, lambda k, n=n, c=g.chance: p_above_chance(k, n, c))}
    return dict(sorted(out.items()))


def category_scores(groups: list[Group]) -> dict[str, dict[str, Any]]:
    """Per category, pooled over its groups: n, questions per chance, the pooled chance and, per predictor,
    accuracy and the exact p-value of its hits against each question's own chance."""
    by_category: dict[str, list[Group]] = {}
    for g in groups:
        by_category.setdefault(g.category, []).append(g)
    out = {}
    for cat, members in sorted(by_category.items()):
        n_by: dict[float, int] = {}
        for g in members:
            n_by[g.chance] = n_by.get(g.chance, 0) + len(g.truth)
        names = [p for p in PREDICTORS if all(p in g.predictions for g in members)]  # run on every group
        hits = {p: sum(g.hits()[p] for g in members) for p in names}
        n = sum(n_by.values())
        out[cat] = {"n": n, "chance": round(sum(c * k for c, k in n_by.items()) / n, 4),
                    "groups": sorted(g.key for g in members), "n_by_chance": {str(c): k for c, k in sorted(n_by.items())},
                    **_scores(hits, n, lambda k, n_by=n_by: p_above_pooled(k, n_by))}
    return out


def blind_scores(train: pl.DataFrame, benchmark: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """Per benchmark group: n, chance and, per predictor, accuracy and p-value (:func:`group_scores`)."""
    return group_scores(blind_predictions(train, benchmark))


def best_excess(per_type: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Per group: the best text-only predictor's accuracy minus chance."""
    return {k: max((info[name] - info["chance"] for name in PREDICTORS if name in info), default=0.0)
            for k, info in per_type.items()}


def null_calibration(groups: list[Group], observed: dict[str, float], margin: float, draws: int,
                     seed: int) -> dict[str, Any]:
    """Groups over chance + ``margin`` in ``observed`` (best excess per group) next to the same count on
    ``draws`` copies of the benchmark with its answers permuted within each group; per group how often a shuffle
    put it over and the best predictor's mean excess over chance on the shuffles (what luck alone gives at that
    group's size)."""
    counts, hits, sums = [], dict.fromkeys(observed, 0), dict.fromkeys(observed, 0.0)
    for i in range(draws):
        generator = rng(seed, "blind-null", i)
        over = 0
        for g in groups:
            shuffled = g.truth[generator.permutation(len(g.truth))]
            excess = max((k / len(g.truth) - g.chance for k in g.hits(shuffled).values()), default=0.0)
            over += excess > margin
            hits[g.key] = hits.get(g.key, 0) + (excess > margin)
            sums[g.key] = sums.get(g.key, 0.0) + excess
        counts.append(over)
    return {"draws": draws, "margin": margin, "observed_over_margin": sum(v > margin for v in observed.values()),
            "groups": len(observed), "shuffled_over_margin_mean": round(float(np.mean(counts)), 2),
            "shuffled_over_margin_range": [int(min(counts)), int(max(counts))],
            "shuffled_over_margin_share": {k: round(v / draws, 3) for k, v in sorted(hits.items())},
            "shuffled_excess_mean": {k: round(v / draws, 4) for k, v in sorted(sums.items())}}


def shuffled_answers(benchmark: pl.DataFrame, generator: np.random.Generator) -> pl.DataFrame:
    """The benchmark with its answers permuted within each (type, format) (the calibration's null, as a table):
    the same wording, answer shares and sizes, but no text can carry an answer."""
    parts = [g.with_columns(pl.Series("answer", g["answer"].to_numpy()[generator.permutation(g.height)]))
             for _, g in benchmark.sort("id").group_by(["question_name", "answer_format"], maintain_order=True)]
    return pl.concat(parts) if parts else benchmark


def _flag(scores: dict[str, dict[str, Any]], significant: set, margin: float) -> dict[str, str]:
    offenders = {}
    for key, info in scores.items():
        bad = [f"{name} {info[name]:.3f} (p={info[f'{name}_p']:.2g})" for name in PREDICTORS
               if name in info and info[name] - info["chance"] > margin and (key, name) in significant]
        if bad:
            offenders[key] = f"{', '.join(bad)} vs chance {info['chance']:.2f} (n={info['n']})"
    return offenders


def check_blind_bias(train: pl.DataFrame, benchmark: pl.DataFrame, margin: float, blocking: bool = True,
                     null_draws: int = 0, seed: int = 0, alpha: float = 0.01) -> CheckResult:
    """Every text-only predictor within ``margin`` of chance on every benchmark (type, format) and pooled per
    category, unless the excess is not significant (p-values Holm-corrected to family-wise ``alpha`` over the
    whole audit). Blocking by default: a benchmark answerable from its wording measures the wording. With
    ``null_draws`` the details also hold the answer-shuffled calibration (:func:`null_calibration`)."""
    groups = blind_predictions(train, benchmark)
    per_type, per_category = group_scores(groups), category_scores(groups)
    pooled = {f"{cat}/{POOLED}": info for cat, info in per_category.items()}
    tests = {(key, name): info[f"{name}_p"] for scores in (per_type, pooled) for key, info in scores.items()
             for name in PREDICTORS if name in info}
    significant = holm_significant(tests, alpha)
    offenders = _flag(per_type, significant, margin) | _flag(pooled, significant, margin)
    level = alpha / max(len(tests), 1)
    for info in per_type.values():
        info["min_detectable"] = min_detectable({info["chance"]: info["n"]}, level, margin)
    for info in per_category.values():
        info["min_detectable"] = min_detectable({float(c): k for c, k in info["n_by_chance"].items()}, level, margin)
    worst = best_excess(per_type)
    details: dict[str, Any] = {"offenders": offenders, "per_type": per_type, "per_category": per_category,
                               "family": {"alpha": alpha, "tests": len(tests), "level": float(f"{level:.3g}")},
                               "max_excess_over_chance": {k: round(v, 4) for k, v in sorted(worst.items())}}
    if null_draws and per_type:
        details["null"] = null_calibration(groups, worst, margin, null_draws, seed)
    return CheckResult("check_blind_bias", not offenders, blocking,
                       f"{len(offenders)} biased groups / categories" + (f": {sorted(offenders)}" if offenders else ""),
                       f"text-only accuracy within {margin:.2f} of chance per (type, format) and per category, or not "
                       f"significant (Holm, family-wise p >= {alpha} over {len(tests)} tests)",
                       details)
