"""Candidate draws that stay bounded in cluttered scenes: pairs, ordered pairs, triples and pairs of pairs of
objects drawn with the clip's seeded generator instead of enumerated.

A question slot tries candidates until one can be asked. Enumerating them first costs what the candidate space
costs: C(V, 2)^2 pairs of pairs at V visible objects (2.7 M dicts at 58 objects, issue 23). Here a slot draws at
most :data:`MAX_CANDIDATES` distinct indices of the space (numpy's ``Generator.choice`` without replacement uses
Floyd's algorithm for a small sample of a large range: O(sample) time and memory) and decodes each index into its
objects, so a slot costs O(MAX_CANDIDATES) whatever V is, and the visible-object lists it draws from are O(V). When
the space is no larger than the cap the draw is a random permutation of all of it (nothing is left untried).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from math import comb, isqrt

import numpy as np

MAX_CANDIDATES = 256  # candidates one question slot tries at most (per type and format)


def indices(rng: np.random.Generator, n: int, limit: int = MAX_CANDIDATES) -> list[int]:
    """``min(n, limit)`` distinct indices of ``range(n)`` in a random order."""
    if n <= 0:
        return []
    return [int(i) for i in rng.choice(n, size=min(n, limit), replace=False)]


def unrank_pair(i: int) -> tuple[int, int]:
    """The ``i``-th pair (a, b), a < b, in colexicographic order (0 -> (0, 1), 1 -> (0, 2), 2 -> (1, 2), ...)."""
    b = (1 + isqrt(1 + 8 * i)) // 2
    while comb(b, 2) > i:
        b -= 1
    while comb(b + 1, 2) <= i:
        b += 1
    return i - comb(b, 2), b


def pairs(rng: np.random.Generator, items: Sequence, limit: int = MAX_CANDIDATES) -> Iterator[tuple]:
    """Unordered pairs of distinct ``items`` (in the order the items are listed within a pair), drawn."""
    for i in indices(rng, comb(len(items), 2), limit):
        a, b = unrank_pair(i)
        yield items[a], items[b]


def ordered_pairs(rng: np.random.Generator, first: Sequence, second: Sequence,
                  limit: int = MAX_CANDIDATES) -> Iterator[tuple]:
    """Pairs (x from ``first``, y from ``second``) with x != y, drawn."""
    for i in indices(rng, len(first) * len(second), limit):
        x, y = first[i // len(second)], second[i % len(second)]
        if x != y:
            yield x, y


def centred_triples(rng: np.random.Generator, items: Sequence, limit: int = MAX_CANDIDATES) -> Iterator[tuple]:
    """Triples (a, r, b) of distinct ``items``: a centre r and an unordered pair {a, b} of the others, drawn."""
    per_centre = comb(max(len(items) - 1, 0), 2)
    for i in indices(rng, len(items) * per_centre, limit):
        r, rest = divmod(i, per_centre)
        a, b = unrank_pair(rest)  # a pair of the other items: positions past the centre's shift by one
        yield items[a + (a >= r)], items[r], items[b + (b >= r)]


def pairs_of_pairs(rng: np.random.Generator, first: Sequence, second: Sequence,
                   limit: int = MAX_CANDIDATES) -> Iterator[tuple[tuple, tuple]]:
    """(pair of ``first``, pair of ``second``) with different object sets, drawn."""
    n_second = comb(len(second), 2)
    for i in indices(rng, comb(len(first), 2) * n_second, limit):
        p, q = divmod(i, n_second)
        (a, b), (c, d) = unrank_pair(p), unrank_pair(q)
        pair_p, pair_q = (first[a], first[b]), (second[c], second[d])
        if set(pair_p) != set(pair_q):
            yield pair_p, pair_q
