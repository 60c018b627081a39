"""The analytic parts the procedural objects are built from (boxes, spheres, cylinders), one recipe per category.

Each category is a handful of primitives (a car: body, cabin, lights, wheels) so that a rendered object has
texture-free but recognisable structure, a front that can be seen, and a tight 3D box the annotations use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Part:
    """An analytic primitive in the object frame, axis aligned.

    kind: "box" (half = half extents), "sphere" (half = (r, r, r)) or "cylinder" (half = (r, r, half length)
    along ``axis`` 0/1/2 = object x/y/z); color: sRGB 0..255.
    """

    kind: str
    center: tuple[float, float, float]
    half: tuple[float, float, float]
    color: tuple[int, int, int]
    axis: int = 2

    def extent(self) -> np.ndarray:
        """Half extents (3,) of the part's axis-aligned box in the object frame."""
        if self.kind == "cylinder":
            e = np.full(3, self.half[0])
            e[self.axis] = self.half[2]
            return e
        return np.asarray(self.half, float)



def _box(lo: tuple, hi: tuple, color: tuple) -> Part:
    lo_a, hi_a = np.asarray(lo, float), np.asarray(hi, float)
    return Part("box", tuple((lo_a + hi_a) / 2), tuple((hi_a - lo_a) / 2), color)


def _shade(color: tuple[int, int, int], f: float) -> tuple[int, int, int]:
    return tuple(int(round(c * f)) for c in color)  # type: ignore[return-value]


def _category_parts(category: str, l: float, w: float, h: float, color: tuple[int, int, int]) -> list[Part]:
    """Parts in a frame with the object's bottom centre at the origin (+x front); recentred by the caller."""
    if category == "car":
        rw, hw = 0.22 * h, 0.07 * w
        parts = [
            _box((-l / 2, -0.43 * w, 0.2 * h), (l / 2 - 0.03, 0.43 * w, 0.6 * h), color),
            _box((-0.45 * l, -0.38 * w, 0.6 * h), (0.1 * l, 0.38 * w, h), _shade(color, 0.75)),
            _box((l / 2 - 0.04, 0.18 * w, 0.38 * h), (l / 2, 0.36 * w, 0.5 * h), (255, 240, 170)),
            _box((l / 2 - 0.04, -0.36 * w, 0.38 * h), (l / 2, -0.18 * w, 0.5 * h), (255, 240, 170)),
            _box((l / 2 - 0.035, -0.14 * w, 0.28 * h), (l / 2 - 0.01, 0.14 * w, 0.42 * h), (35, 35, 35)),
        ]
        for sx in (-0.3 * l, 0.3 * l):
            for sy in (-(w / 2 - hw), w / 2 - hw):
                parts.append(Part("cylinder", (sx, sy, rw), (rw, rw, hw), (30, 30, 30), axis=1))
        return parts
    if category == "box":
        plate = (40, 40, 40) if sum(color) > 600 else (240, 240, 240)
        return [
            _box((-l / 2, -w / 2, 0.0), (l / 2 - 0.02, w / 2, h), color),
            _box((l / 2 - 0.03, -0.35 * w, 0.2 * h), (l / 2, 0.35 * w, 0.8 * h), plate),
        ]
    if category == "chair":
        seat, th, leg = 0.45 * h, 0.07 * h, 0.08
        parts = [
            _box((-l / 2, -w / 2, seat - th), (l / 2, w / 2, seat), color),
            _box((-l / 2, -w / 2, seat), (-l / 2 + 0.08 * l, w / 2, h), color),
        ]
        for sx in (-l / 2, l / 2 - leg * l):
            for sy in (-w / 2, w / 2 - leg * w):
                parts.append(_box((sx, sy, 0.0), (sx + leg * l, sy + leg * w, seat - th), _shade(color, 0.6)))
        return parts
    if category == "ball":
        return [Part("sphere", (0.0, 0.0, h / 2), (h / 2,) * 3, color)]
    if category == "can":
        lid = 0.04 * h
        return [
            Part("cylinder", (0.0, 0.0, (h - lid) / 2), (l / 2, l / 2, (h - lid) / 2), color),
            Part("cylinder", (0.0, 0.0, h - lid / 2), (0.9 * l / 2, 0.9 * l / 2, lid / 2), (200, 200, 210)),
        ]
    if category == "person":
        rh = 0.1 * h
        return [
            _box((-0.3 * l, -0.35 * w, 0.0), (0.3 * l, 0.35 * w, 0.45 * h), (45, 55, 95)),
            _box((-0.4 * l, -0.5 * w, 0.45 * h), (0.4 * l, 0.5 * w, 0.8 * h), color),
            _box((0.4 * l, -0.2 * w, 0.6 * h), (0.4 * l + 0.02, 0.2 * w, 0.72 * h), (245, 245, 245)),
            Part("sphere", (0.0, 0.0, 0.8 * h + rh), (rh, rh, rh), (225, 180, 140)),
            Part("sphere", (0.9 * rh, 0.0, 0.8 * h + rh), (0.28 * rh,) * 3, (190, 110, 90)),
        ]
    raise ValueError(f"unknown category {category!r}")


def build_parts(category: str, dims: tuple[float, float, float], color: tuple[int, int, int]) -> tuple[tuple[Part, ...], tuple[float, float, float]]:
    """Parts recentred on their tight 3D box, and that box's size (l, w, h)."""
    parts = _category_parts(category, *dims, color)
    lo = np.min([np.asarray(p.center) - p.extent() for p in parts], axis=0)
    hi = np.max([np.asarray(p.center) + p.extent() for p in parts], axis=0)
    mid = (lo + hi) / 2
    moved = tuple(Part(p.kind, tuple(float(v) for v in np.asarray(p.center) - mid), tuple(float(v) for v in p.half), p.color, p.axis) for p in parts)
    return moved, tuple(float(v) for v in hi - lo)  # type: ignore[return-value]
