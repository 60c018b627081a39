"""The paper-scale extrapolation of ``benchmarks/pipeline.py`` on hand-made stage timings."""

from __future__ import annotations

import pytest
from tests.helpers.benchmark_scripts import load_benchmark


def test_paper_scale_spreads_per_video_stages_and_keeps_dataset_stages_serial():
    bench = load_benchmark("pipeline")
    took = {"generate": 2.0, "standardize": 1.0, "tracks": 1.0, "qa": 5.0, "assemble": 1.0}
    # 2 videos x 10 frames -> 0.2 s per frame; 100 QA records -> qa 0.05 s and assemble 0.01 s per record
    rows = bench.paper_scale(took, videos=2, frames=10, rows=100, efficiency=0.5, cores=16, machines=[1, 4])
    serial_h = (0.2 * 3_600_000 + 0.05 * 400_000) / 3600
    dataset_h = 0.01 * 400_000 / 3600
    assert [r[0] for r in rows] == ["1 core", "1 x 16-core machine", "4 x 16-core machines (Dask)"]
    assert rows[0][1:] == pytest.approx((serial_h, dataset_h))
    assert rows[1][1:] == pytest.approx((serial_h / 8, dataset_h))
    assert rows[2][1:] == pytest.approx((serial_h / 32, dataset_h))
