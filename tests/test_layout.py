"""Output names: ordinary ids unchanged, long or odd ids bounded and still distinct."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fourdpqa.layout import MAX_NAME_BYTES, Layout, item_name


def test_ordinary_ids_are_their_own_names():
    for vid in ("proc_00000", "vkitti2_Scene01_clone_cam0", "a.b-c"):
        assert item_name(vid) == vid


def test_long_and_odd_ids_are_bounded_distinct_and_hash_suffixed():
    long_a, long_b = "v" * 240, "v" * 239 + "w"
    for vid in (long_a, long_b, "a/b", "é" * 200, "..", ""):
        name = item_name(vid)
        assert 0 < len(name.encode()) <= MAX_NAME_BYTES and "/" not in name and name not in (".", "..")
        assert name.endswith(hashlib.sha256(vid.encode()).hexdigest()[:12])
    assert item_name(long_a) != item_name(long_b)
    # the longest file name of a video plus a temporary marker still fits the 255-byte limit
    longest = Layout(Path("d")).measurements("x" * 300).name + ".tmp-abcdefgh"
    assert len(longest.encode()) < 255
