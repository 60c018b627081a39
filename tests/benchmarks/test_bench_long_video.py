"""``benchmarks/long_video.py``: its params are a valid configuration whose QA clips grow with the video, and its
verdicts (peak memory, linear cost) follow the stage figures they are given."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.benchmark_scripts import load_benchmark

from fourdpqa.params import load_params


def test_params_scale_the_clips_with_the_length(tmp_path: Path) -> None:
    bench = load_benchmark("long_video")
    params = load_params(bench.write_params(tmp_path, 1800, 512, "cuda"))
    assert (params.generate.n_frames, params.generate.width, params.base.device) == (1800, 512, "cuda")
    assert params.qa.clips_per_video == 18 and params.qa.clip_max_overlap == 0.0


def test_verdicts_follow_the_figures(capsys) -> None:
    bench = load_benchmark("long_video")

    def figures(n: int, per_frame: float, rss: float) -> dict:  # 5 s start-up per stage + linear work
        return {s: (rss, 5.0 + per_frame * n) for s in bench.STAGES}

    linear = {n: figures(n, 0.1, 1.0) for n in (300, 900, 1800)}
    assert bench.report(512, linear)
    assert "x1.00" in capsys.readouterr().out
    quadratic = {n: {s: (1.0, 1e-4 * n * n) for s in bench.STAGES} for n in (300, 900, 1800)}
    assert not bench.report(512, quadratic)  # marginal cost 0.12 -> 0.27 s per frame
    assert not bench.report(512, {n: figures(n, 0.1, 2.5) for n in (300, 900, 1800)})  # over 2 GB at 512x512
    assert bench.report(1408, {n: figures(n, 0.1, 2.5) for n in (300, 900, 1800)})  # within 4 GB at 1408x1408


def test_repeats_keep_the_lowest_cpu_and_the_highest_peak(tmp_path: Path, monkeypatch) -> None:
    """Noise only adds CPU time, so a repeated measurement keeps each stage's fastest run; memory keeps the worst;
    the repeats rerun the stages with --force (otherwise they would skip as up to date and cost nothing)."""
    bench = load_benchmark("long_video")
    calls = []
    cpu = {False: 10.0, True: 7.0}  # the forced rerun is the faster one here
    rss = {False: 0.5, True: 0.6}

    def fake(stage: str, params: Path, force: bool = False) -> tuple[float, float]:
        calls.append((stage, force))
        return rss[force], cpu[force]

    monkeypatch.setattr(bench, "run_stage", fake)
    got = bench.measure(10, 16, tmp_path, "cpu", repeats=2)
    assert calls == [("generate", False), *[(s, False) for s in bench.MEASURED], *[(s, True) for s in bench.MEASURED]]
    assert {s: got[s] for s in bench.MEASURED} == {s: (0.6, 7.0) for s in bench.MEASURED}
    assert got["generate"] == (0.5, 10.0)
