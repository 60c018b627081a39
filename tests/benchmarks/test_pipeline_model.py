"""The arithmetic of the scale model in ``benchmarks/pipeline.py``, checked on synthetic timings against independent
computations (numpy's polynomial fit, a direct solve, sums done by hand); nothing here is timed."""

from __future__ import annotations

import numpy as np
import pytest
from tests.helpers.benchmark_scripts import load_benchmark

bench = load_benchmark("pipeline")


def test_the_marginal_cost_is_numpy_polyfit_s_slope_on_noisy_timings_not_the_mean():
    rng = np.random.default_rng(0)
    videos = np.array([4, 8, 16, 32], float)
    seconds = 3.0 + 1.25 * videos + rng.normal(0, 0.05, videos.size)  # start-up 3 s, 1.25 s per video
    cost = bench.fit_cost([(v, 4096, s) for v, s in zip(videos, seconds)], pixel_term=False)
    assert (cost.per_unit, cost.start_up) == pytest.approx(tuple(np.polyfit(videos, seconds, 1)), rel=1e-9)
    assert cost.per_unit == pytest.approx(1.25, abs=0.02)  # not the mean per video, 1.25 + 3 / n
    two = bench.fit_cost([(4, 4096, 8.0), (8, 4096, 13.0)], pixel_term=False)  # N and 2N: the line through them
    assert (two.per_unit, two.start_up, two.per_unit_pixel) == pytest.approx((1.25, 3.0, 0.0))


def test_fit_cost_recovers_start_up_per_unit_and_per_pixel_from_three_builds():
    start_up, per_frame, per_frame_pixel = 2.5, 0.004, 3e-7
    builds = [(128, 64 * 64), (256, 64 * 64), (128, 128 * 128)]  # N and 2N videos at 64², N at 128² (frames)
    samples = [(u, p, start_up + u * (per_frame + per_frame_pixel * p)) for u, p in builds]
    cost = bench.fit_cost(samples, pixel_term=True)
    # the same three equations solved directly
    a = np.array([[1, u, u * p] for u, p in builds], float)
    expected = np.linalg.solve(a, np.array([s for *_, s in samples]))
    assert (cost.start_up, cost.per_unit, cost.per_unit_pixel) == pytest.approx(tuple(expected), rel=1e-6)
    assert (cost.start_up, cost.per_unit, cost.per_unit_pixel) == pytest.approx((start_up, per_frame, per_frame_pixel))
    # a frame at ADT's 1408² costs the fitted line's value there
    assert cost.marginal(1408 * 1408) == pytest.approx(per_frame + per_frame_pixel * 1408 * 1408)


def test_units_cap_the_probe_rows_and_count_dataset_rows_per_split():
    counts = bench.units(frames=3_600_000, records=402_200, train=400_000, benchmark=2_200, steps=150, probe_cap=3000)
    assert counts == {"frame": 3_600_000, "QA record": 402_200, "dataset row": 402_200, "probe row": 5_200,
                      "step": 150, "benchmark question": 2_200}
    assert bench.units(10, 20, 30, 5, 4, 3000)["probe row"] == 35  # below the cap: every training row


def _tiny_model():
    costs = {"generate": bench.Cost(2.0, 0.1), "qa": bench.Cost(1.0, 0.5, 1e-3),
             "assemble": bench.Cost(3.0, 0.2, 1e-3), "train": bench.Cost(10.0, 2.0)}
    counts = {"frame": 1000, "QA record": 200, "dataset row": 100, "step": 50}
    return costs, counts


def test_stage_hours_divide_per_video_stages_over_workers_and_keep_dataset_stages_in_one_process():
    costs, counts = _tiny_model()
    hours = bench.stage_hours(costs, counts, pixels=100, workers=8 * 0.5)  # 8 cores at efficiency 0.5
    by_hand = {"generate": 2.0 + 1000 * 0.1 / 4,            # 27 s
               "qa": 1.0 + 200 * (0.5 + 0.1) / 4,            # 31 s
               "assemble": 3.0 + 100 * (0.2 + 0.1),          # 33 s, one process whatever the workers
               "train": 10.0 + 50 * 2.0}                     # 110 s, constant in the videos
    assert hours == pytest.approx({s: v / 3600 for s, v in by_hand.items()})
    more = bench.stage_hours(costs, counts, pixels=100, workers=16)
    assert more["assemble"] == hours["assemble"] and more["train"] == hours["train"]
    assert more["generate"] < hours["generate"]


def test_adding_one_video_pays_its_own_per_video_work_undivided_plus_every_dataset_stage():
    costs, counts = _tiny_model()
    one = {"frame": 10, "QA record": 2}
    share = bench.add_one_share(costs, counts, one, pixels=100, workers=4)
    added = (2.0 + 10 * 0.1) + (1.0 + 2 * 0.6) + 33 + 110  # 148.2 s
    full = 27 + 31 + 33 + 110  # 201 s
    assert share == pytest.approx(added / full)


def test_parallel_efficiency_is_speed_up_per_worker_without_a_floor():
    assert bench.efficiency(serial_wall=10.0, pooled_wall=8.0, workers=4) == pytest.approx(10 / 8 / 4)  # 0.3125
    assert bench.efficiency(serial_wall=10.0, pooled_wall=30.0, workers=2) == pytest.approx(1 / 6)  # below 1/2


def test_noise_weights_give_the_prediction_and_how_each_run_moves_it():
    # two runs: the prediction at U is y1 + (U - u1) (y2 - y1) / (u2 - u1), weights 1 - t and t by hand
    runs = [(10, 4096, 5.0), (20, 4096, 7.0)]
    t = (1000 - 10) / (20 - 10)
    w = bench.noise_weights(runs, pixel_term=False, units=1000, pixels=4096)
    assert w == pytest.approx([1 - t, t])
    assert w @ [5.0, 7.0] == pytest.approx(bench.fit_cost(runs, pixel_term=False).seconds(1000, 4096))
    # with the pixel term and a spread over workers: the fitted cost's start-up + units x marginal / spread
    runs = [(128, 4096, 3.0), (256, 4096, 3.6), (128, 65536, 5.1)]
    cost = bench.fit_cost(runs, pixel_term=True)
    w = bench.noise_weights(runs, pixel_term=True, units=3.6e6, pixels=1408 ** 2, spread=8)
    assert w @ [3.0, 3.6, 5.1] == pytest.approx(cost.start_up + 3.6e6 * cost.marginal(1408 ** 2) / 8)


def test_sigma_hours_is_the_noise_of_each_run_through_the_weights():
    runs = {"generate": [(10, 4096, 5.0), (20, 4096, 7.0)]}
    t = (1000 / 4 - 10) / (20 - 10)  # 1000 frames over 4 workers after one start-up: the line at 250
    sigma = bench.sigma_hours(runs, {"frame": 1000}, pixels=4096, workers=4, noise=0.1)
    w1, w2 = 1 - t, t
    assert sigma["generate"] == pytest.approx(np.hypot(w1 * 0.5, w2 * 0.7) / 3600)
    assert bench.relative_noise([10.0, 12.0, 14.0]) == pytest.approx(2.0 / 12.0)
