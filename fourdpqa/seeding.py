"""The one way to turn the run seed and text keys into randomness.

Every random choice of the pipeline (clip windows, questions, track queries, the train/benchmark split, review
samples, the random baseline) draws from ``rng(params.base.seed, <what>, <which item>)``: the same seed and keys give
the same stream on every machine and process (Python's ``hash()`` is salted per process, so it is never used), and
distinct keys give independent streams (numpy's SeedSequence mixes every entry).
"""

from __future__ import annotations

import hashlib

import numpy as np


def key_int(key: object) -> int:
    """Stable 63-bit integer of one key (its ``str``): the first 8 bytes of its SHA-256, big-endian, shifted by 1."""
    return int.from_bytes(hashlib.sha256(str(key).encode("utf-8")).digest()[:8], "big") >> 1


def seed_int(*keys: object) -> int:
    """One stable 63-bit integer from several keys (for APIs that take a single int, e.g. ``torch.manual_seed``)."""
    return key_int("\x1f".join(map(str, keys)))


def rng(seed: int, *keys: object) -> np.random.Generator:
    """The generator for ``keys`` under the run ``seed`` (``seed`` >= 0)."""
    return np.random.default_rng([seed, *(key_int(k) for k in keys)])


def numbered_rng(seed: int, *numbers: int) -> np.random.Generator:
    """The generator for integer ``numbers`` (a video index, an epoch) under ``seed``, given to numpy's SeedSequence
    as they are: the streams the procedural source, the training order and the pixel probe were defined with
    (hashing them as :func:`rng` keys would change every rendered video). ``numbered_rng(seed)``: the seed alone."""
    return np.random.default_rng([seed, *numbers])
