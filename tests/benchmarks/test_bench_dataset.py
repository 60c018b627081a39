"""The dataset benchmarks measure what they say: a replicated pool holds k distinct copies of every video (ids,
scenes and tracks), the reference code is the commit's own files, and the growth exponent is the log-log slope."""

from __future__ import annotations

import polars as pl
import pytest

from tests.helpers.benchmark_scripts import load_benchmark
from tests.helpers.dataset_data import write_data_root


def test_a_replicated_pool_holds_distinct_copies_of_every_video(tmp_path):
    bench = load_benchmark("dataset_scaling")
    source = write_data_root(tmp_path / "data")
    (source / "tracks").mkdir(exist_ok=True)
    for table in (source / "qa").glob("*.parquet"):
        (source / "tracks" / f"{table.stem}.npz").write_bytes(b"")
    rep = bench.replicated_root(source, tmp_path / "rep" / "data", 3)
    base = pl.concat([pl.read_parquet(p) for p in sorted((source / "qa").glob("*.parquet"))])
    copies = pl.concat([pl.read_parquet(p) for p in sorted((rep / "qa").glob("*.parquet"))])
    assert copies.height == 3 * base.height and copies["id"].n_unique() == copies.height
    assert copies["video_id"].n_unique() == 3 * base["video_id"].n_unique()
    for vid in copies["video_id"].unique().to_list():
        original = vid.rpartition("-x")[0] or vid
        assert (rep / "scenes" / vid).resolve() == (source / "scenes" / original).resolve()
        assert (rep / "tracks" / f"{vid}.npz").exists()


def test_growth_exponent_is_the_log_log_slope():
    bench = load_benchmark("dataset_scaling")
    assert bench.exponent([24, 96, 768], [1.0, 4.0, 32.0]) == pytest.approx(1.0)
    assert bench.exponent([1, 2, 4, 8], [1.0, 4.0, 16.0, 64.0]) == pytest.approx(2.0)


def test_the_reference_code_is_the_commit_s_own_files(tmp_path):
    import subprocess

    reference = load_benchmark("reference")
    root = reference.unpack(reference.REFERENCE, tmp_path / "ref")
    selection = subprocess.run(["git", "show", f"{reference.REFERENCE}:fourdpqa/selection.py"], cwd=reference.ROOT,
                               check=True, capture_output=True).stdout
    assert (root / "fourdpqa" / "selection.py").read_bytes() == selection
    assert "def yn_pair_order" in selection.decode() and (root / "params.yaml").exists()
