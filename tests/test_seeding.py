"""One seed helper: stable across processes (hash salting), independent per key, sensitive to key order."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from fourdpqa.seeding import key_int, numbered_rng, rng, seed_int


def test_key_int_is_the_big_endian_sha256_prefix_shifted():
    digest = hashlib.sha256(b"proc_00001").digest()
    assert key_int("proc_00001") == int.from_bytes(digest[:8], "big") >> 1
    assert 0 <= key_int("x") < 2**63 and key_int(7) == key_int("7")


def test_streams_repeat_and_differ_by_key_and_order():
    a = rng(3, "qa", "v1").integers(0, 2**31, 8)
    assert (a == rng(3, "qa", "v1").integers(0, 2**31, 8)).all()
    for other in (rng(4, "qa", "v1"), rng(3, "qa", "v2"), rng(3, "v1", "qa"), rng(3, "qa")):
        assert (a != other.integers(0, 2**31, 8)).any()
    assert seed_int("a", 1) == seed_int("a", "1") != seed_int("a", 2)


def test_same_draws_in_another_process_with_another_hash_salt():
    code = "from fourdpqa.seeding import rng; print(rng(11, 'tracks', 'proc_00002').integers(0, 10**9, 4).tolist())"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(root)}).stdout
    assert out.strip() == str(rng(11, "tracks", "proc_00002").integers(0, 10**9, 4).tolist())
    assert np.random.default_rng([11, key_int("tracks"), key_int("proc_00002")]).integers(0, 10**9, 4).tolist() \
        == rng(11, "tracks", "proc_00002").integers(0, 10**9, 4).tolist()


def test_numbered_streams_are_numpys_integer_seed_sequences():
    assert (numbered_rng(5, 3).integers(0, 10**9, 4) == np.random.default_rng([5, 3]).integers(0, 10**9, 4)).all()
    assert (numbered_rng(5).random(3) == np.random.default_rng([5]).random(3)).all()
    assert (numbered_rng(5, 3).random(4) != rng(5, 3).random(4)).all()  # a number is not a hashed key


def test_no_module_seeds_numpy_or_python_random_itself():
    """Every random draw of the pipeline goes through fourdpqa.seeding (one place to audit determinism)."""
    root = Path(__file__).resolve().parents[1]
    direct = re.compile(r"np\.random\.(default_rng|seed|RandomState)\(|^\s*import random$|random\.Random\(", re.M)
    offenders = [p.relative_to(root).as_posix()
                 for folder in ("fourdpqa", "assets", "dagster_project", "schemas") for p in (root / folder).rglob("*.py")
                 if p.name != "seeding.py" and direct.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
