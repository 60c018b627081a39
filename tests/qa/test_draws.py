"""Drawn candidates (issue 23.2): a small candidate space is drawn whole, each candidate once (checked against
itertools' enumeration); a large one gives exactly the cap of distinct candidates; the same seed, the same draws."""

from __future__ import annotations

from itertools import combinations, product

import numpy as np

from fourdpqa.questions import draws


def test_unrank_pair_is_colexicographic_order():
    colex = sorted(combinations(range(40), 2), key=lambda p: (p[1], p[0]))
    assert [draws.unrank_pair(i) for i in range(len(colex))] == colex


def test_small_spaces_are_drawn_whole_each_candidate_once():
    rng = np.random.default_rng(0)
    items = [3, 8, 11, 20, 21, 30]
    got = list(draws.pairs(rng, items))
    assert len(got) == len(set(got)) and set(got) == set(combinations(items, 2))
    got = list(draws.ordered_pairs(rng, items[:4], items[2:]))
    assert len(got) == len(set(got)) and set(got) == {(a, b) for a, b in product(items[:4], items[2:]) if a != b}
    got = [(a, r, b) for a, r, b in draws.centred_triples(rng, items)]
    want = {(a, r, b) for r in items for a, b in combinations([o for o in items if o != r], 2)}
    assert len(got) == len(set(got)) and set(got) == want
    got = list(draws.pairs_of_pairs(rng, items[:5], items[1:]))
    want = {(p, q) for p in combinations(items[:5], 2) for q in combinations(items[1:], 2) if set(p) != set(q)}
    assert len(got) == len(set(got)) == len(want) and set(got) == want


def test_large_spaces_give_the_cap_of_distinct_candidates_and_the_same_draws_for_the_same_seed():
    items = list(range(1, 201))  # C(200, 2)^2 = 396 M pairs of pairs: never listed
    got = list(draws.pairs_of_pairs(np.random.default_rng(1), items, items, limit=500))
    assert 490 <= len(got) <= 500 and len(set(got)) == len(got)
    assert all(len(set(p)) == 2 and len(set(q)) == 2 and set(p) != set(q) for p, q in got)
    assert got == list(draws.pairs_of_pairs(np.random.default_rng(1), items, items, limit=500))
    triples = list(draws.centred_triples(np.random.default_rng(2), items, limit=300))
    assert len(triples) == len(set(triples)) == 300 and all(len({a, r, b}) == 3 for a, r, b in triples)
    assert len(set(draws.pairs(np.random.default_rng(3), items))) == draws.MAX_CANDIDATES
    for few in ([], [1], [1, 2]):  # too few objects: nothing to draw
        assert list(draws.centred_triples(np.random.default_rng(0), few)) == []
        assert list(draws.pairs_of_pairs(np.random.default_rng(0), few, few)) == []
