"""The statistics of the audits: one-sided binomial p-values against chance (also for a pool of groups with
different chances), Holm's family-wise correction and the minimum detectable accuracy of a test.

A pool of groups (e.g. one category: its MC groups at chance 0.25 and its yes/no groups at 0.5) has a
Poisson-binomial number of lucky hits; its p-value is exact here (the convolution of one binomial per chance), so
pooling buys power without pretending the pool has one chance.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import stats

from fourdpqa.metrics import holm


def p_above_chance(correct: int, n: int, chance: float) -> float:
    """One-sided binomial p-value of scoring ``correct`` of ``n`` or more by guessing at rate ``chance``."""
    return float(stats.binomtest(correct, n, chance, alternative="greater").pvalue) if n else 1.0


def _pool_pmf(n_by_chance: Mapping[float, int]) -> np.ndarray:
    """pmf of the hits of a guesser over ``n`` questions at each chance (index = hits)."""
    pmf = np.ones(1)
    for chance, n in sorted(n_by_chance.items()):
        pmf = np.convolve(pmf, stats.binom.pmf(np.arange(n + 1), n, chance))
    return pmf


def p_above_pooled(correct: int, n_by_chance: Mapping[float, int]) -> float:
    """One-sided p-value of ``correct`` or more hits over a pool of questions guessed at their own chance
    (``n_by_chance``: chance -> number of questions); equals :func:`p_above_chance` for one chance."""
    if len(n_by_chance) == 1:
        ((chance, n),) = n_by_chance.items()
        return p_above_chance(correct, n, chance)
    pmf = _pool_pmf(n_by_chance)
    return float(min(1.0, pmf[int(correct):].sum())) if correct < len(pmf) else 0.0


def min_detectable(n_by_chance: Mapping[float, int], level: float, margin: float) -> float | None:
    """The smallest accuracy a predictor must reach on a pool of these sizes to be flagged: over chance +
    ``margin`` and a p-value below ``level`` (the per-test level of the family, e.g. Holm's first step
    alpha / m). None when even a perfect score is not enough (too few questions)."""
    n = sum(n_by_chance.values())
    if not n:
        return None
    chance = sum(c * k for c, k in n_by_chance.items()) / n
    tail = np.cumsum(_pool_pmf(n_by_chance)[::-1])[::-1]  # tail[k] = P(hits >= k)
    for k in range(int(np.floor((chance + margin) * n)) + 1, n + 1):
        if tail[k] < level:
            return round(k / n, 4)
    return None


def holm_significant(p_values: Mapping, alpha: float) -> set:
    """Keys whose p-value Holm's step-down procedure rejects at family-wise error ``alpha`` (the k-th smallest of m
    p-values is compared with alpha / (m - k), stopping at the first that is not below it): those whose
    Holm-adjusted p-value (:func:`fourdpqa.metrics.holm`) is below ``alpha``."""
    return {key for key, adjusted in holm(p_values).items() if adjusted < alpha}
