"""Procedural object shapes: every category's parts fill exactly the 3D box the annotations use."""

from __future__ import annotations

import numpy as np

from fourdpqa.sources import procedural as P
from fourdpqa.sources.shapes import build_parts


def test_parts_fit_their_box() -> None:
    for cat in P.CATEGORIES:
        parts, size = build_parts(cat, P.BASE_SIZE[cat]["large"], (10, 20, 30))
        lo = np.min([np.asarray(p.center) - p.extent() for p in parts], 0)
        hi = np.max([np.asarray(p.center) + p.extent() for p in parts], 0)
        np.testing.assert_allclose(lo, -np.asarray(size) / 2, atol=1e-12)
        np.testing.assert_allclose(hi, np.asarray(size) / 2, atol=1e-12)
