"""``benchmarks/hash_once.py`` measures what it says: without the digest cache a no-op rerun reads every input and
output again (at least the data root's bytes over the per-video stages), with it nothing at all; checked against
the data root's size summed independently here."""

from __future__ import annotations

from tests.helpers.benchmark_scripts import load_benchmark


def test_a_noop_rerun_reads_nothing_with_the_cache_and_everything_without(capsys):
    bench = load_benchmark("hash_once")
    got = bench.main_(["--videos", "2", "--frames", "8", "--size", "32", "--workers", "1",
                       "--stages", "generate,standardize,tracks,qa"])
    total = got["total"]["bytes"]
    assert sum(got["now"].values()) == 0
    # standardize reads the raw videos and its scenes, tracks the scenes and its tracks, qa scenes, tracks and tables
    assert sum(got["today"].values()) > total and all(v > 0 for v in got["today"].values())
    assert "goal <= 1% of the data bytes per no-op rerun of every stage: 0.000% (met)" in capsys.readouterr().out
