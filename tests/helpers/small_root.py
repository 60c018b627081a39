"""A small data root for fault tests: three procedural videos (8 frames, 32x32) through generate -> standardize ->
tracks -> qa, built once per module and copied per test, with the digests to tell what a fault cost."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from fourdpqa.params import load_params
from fourdpqa.stages import generate, qa, standardize, tracks
from tests.helpers.params_file import TINY_RUN, write_params_file

VIDEOS = ["proc_00000", "proc_00001", "proc_00002"]


def write_small_params(root: Path, **sections: dict) -> Path:
    return write_params_file(root, TINY_RUN, {"generate": {"n_videos": 3, "max_objects": 3}}, sections)


def build_small_root(root: Path) -> Path:
    params = load_params(write_small_params(root))
    for mod in (generate, standardize, tracks, qa):
        mod.run(params)
    return root


def copy_small_root(pristine: Path, root: Path) -> Path:
    shutil.copytree(pristine / "data", root / "data", symlinks=True)
    write_small_params(root)
    return root


def digests(folder: Path) -> dict[str, str]:
    """Content hash of every file under ``folder`` except run reports."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "_report.json"}


def lost(before: dict[str, str], folder: Path) -> int:
    """How many files of ``before`` no longer exist with the same content."""
    return len(set(before.items()) - set(digests(folder).items()))
