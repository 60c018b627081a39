"""A copy of the repository's tracked and untracked-but-not-ignored files, without data/ (what a fresh clone has):
the benchmarks' own ``copy_repo`` (``benchmarks/reference.py``), shared so that tests and benchmarks copy alike."""

from __future__ import annotations

from tests.helpers.benchmark_scripts import load_benchmark

copy_repo = load_benchmark("reference").copy_repo
