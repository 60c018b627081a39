"""A scale model of the whole pipeline, generate -> evaluate, from marginal costs measured on this machine.

Every stage runs as its own process (``python -m fourdpqa <stage>``) and is charged the CPU seconds of that process
(user + system, every thread): what a dedicated core would take, whatever else shares the machine.

1. Three fresh builds of every stage: N and 2N videos at S1 x S1 pixels and N videos at S2 x S2 (``--full`` adds
   2N at S2), a stage run in every build before the next stage (the runs compared meet the same load). Each stage's
   CPU seconds are fitted as ``start-up + units x (per unit + per unit-pixel x pixels)`` (exact with three builds,
   least squares with four): the marginal cost is the slope between the sizes, never the mean, which at these sizes
   is mostly process start-up. Units: frames (generate, standardize, tracks), QA records (qa), dataset rows = train
   + benchmark rows (assemble, validate, review), probe rows = training rows up to ``learnability.max_train_rows``
   + benchmark rows (learnability), benchmark questions (evaluate) and optimizer steps (train, whose cost does not
   depend on the number of videos: one more train run at 10x the steps gives its slope). Only the stages that read
   the source frames get a per-pixel term (``SOURCE_PIXELS``); the others read the exported clips, whose size is
   ``qa.out_width`` x ``qa.out_height`` whatever the source. Settings are params.yaml's except the video count and
   frame size (32 frames = one QA clip per video, as in the paper), ``base.num_threads`` 1 and the training steps
   (``--train-steps``, tiny instead of ``train.max_steps``). Run-to-run noise: the spread of the identical training
   runs of the builds, carried through the fit into every figure as +- one standard deviation.
2. Parallel efficiency: the per-video stages of the last build again with ``--workers W`` in a fresh root, wall
   time against the serial build's, outputs byte-identical; used as measured, with no floor.
3. Adding one video: the 2N build grown to 2N + 1 videos, every stage rerun (the stage protocol redoes one video and
   the dataset stages), CPU seconds against the full build's.
4. The paper's scale (13.6K videos, 3.6M frames, 400K training + 2.2K benchmark QA): per-video stages divide over
   cores x machines (the Dask executor, ``dagster_project/dask_executor.py``) at the measured efficiency; the
   dataset stages run on one machine, in one process and thread as measured; train takes ``train.max_steps`` steps
   of params.yaml's model. Every frame is charged generate, standardize and tracks (an upper bound: tracks and
   recorded sources decode only the frames of the QA clips). Real sources are charged at their frame size (1408 x
   1408 ADT, 1280 x 800 SHIFT) by the per-pixel slope, with no generate; reading their files is modelled by reading
   ours. Goals: standardize -> validate <= 4 h on one 16-core machine for procedural frames; adding one video <= 0.1x
   of a full rebuild.

    python benchmarks/pipeline.py [--videos 6] [--sizes 64 384] [--workers 2] [--cores 16] [--full]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from reference import params_file  # noqa: E402

from fourdpqa import markdown  # noqa: E402
from fourdpqa.params import load_params  # noqa: E402
from fourdpqa.stages import stage_list  # noqa: E402

STAGES = tuple(s.name for s in stage_list.pipeline())
PER_VIDEO = tuple(s.name for s in stage_list.pipeline() if s.per_video)
UNIT = {"generate": "frame", "standardize": "frame", "tracks": "frame", "qa": "QA record", "assemble": "dataset row",
        "validate": "dataset row", "learnability": "probe row", "review": "dataset row", "train": "step",
        "evaluate": "benchmark question"}
# stages that decode the source frames (rendering, standardizing, tracking and QA masks; assemble's clip export and
# the leakage pHashes read the scenes); the rest read the exported clips, whose size does not follow the source
SOURCE_PIXELS = frozenset({"generate", "standardize", "tracks", "qa", "assemble", "validate"})
GOAL_SPAN = ("standardize", "tracks", "qa", "assemble", "validate")  # standardize -> validate
PAPER = {"videos": 13_600, "frames": 3_600_000, "train": 400_000, "benchmark": 2_200}  # 4DP-QA, paper Sec. 3
FRAME_SIZES = {"procedural 256x256": (256, 256), "ADT 1408x1408": (1408, 1408), "SHIFT 1280x800": (1280, 800)}
GOAL_HOURS, GOAL_ADD_ONE = 4.0, 0.1


# --- the model: pure functions of measured numbers (tests/benchmarks/test_pipeline_model.py) ---------------------

class Cost(NamedTuple):
    """CPU seconds of one stage run: ``start_up + units x (per_unit + per_unit_pixel x pixels)``."""

    start_up: float
    per_unit: float
    per_unit_pixel: float = 0.0

    def marginal(self, pixels: float) -> float:
        return self.per_unit + self.per_unit_pixel * pixels

    def seconds(self, units: float, pixels: float) -> float:
        return self.start_up + units * self.marginal(pixels)


def _design(units: np.ndarray, pixels: np.ndarray, pixel_term: bool) -> np.ndarray:
    return np.column_stack([np.ones(len(units)), units, *([units * pixels] if pixel_term else [])])


def fit_cost(samples: Sequence[tuple[float, float, float]], pixel_term: bool) -> Cost:
    """The :class:`Cost` of (units, pixels, CPU seconds) samples by least squares (exact with as many samples as
    unknowns): without ``pixel_term``, the slope and intercept of seconds against units."""
    u, p, seconds = (np.asarray(c, float) for c in zip(*samples, strict=True))
    coef, *_ = np.linalg.lstsq(_design(u, p, pixel_term), seconds, rcond=None)
    return Cost(*map(float, coef))


def noise_weights(samples: Sequence[tuple[float, float, float]], pixel_term: bool, units: float, pixels: float,
                  spread: float = 1.0) -> np.ndarray:
    """w with ``w @ (the samples' seconds) == start_up + units x marginal(pixels) / spread`` of the fitted cost: how
    much a prediction moves with each measured run, hence how run-to-run noise reaches it."""
    u, p, _ = (np.asarray(c, float) for c in zip(*samples, strict=True))
    row = np.array([1.0, units / spread, *([units * pixels / spread] if pixel_term else [])])
    return np.linalg.pinv(_design(u, p, pixel_term)).T @ row


def units(frames: float, records: float, train: float, benchmark: float, steps: float,
          probe_cap: float) -> dict[str, float]:
    """How many of each stage's unit a run has (the same definition for a measured build and the paper)."""
    return {"frame": frames, "QA record": records, "dataset row": train + benchmark,
            "probe row": min(train, probe_cap) + benchmark, "step": steps, "benchmark question": benchmark}


def stage_hours(costs: dict[str, Cost], counts: dict[str, float], pixels: float, workers: float) -> dict[str, float]:
    """Wall hours of each stage: per-video stages spread their units over ``workers`` (cores x machines x parallel
    efficiency) after one start-up; dataset stages run in one process."""
    return {s: (c.start_up + counts[UNIT[s]] * c.marginal(pixels) / (workers if s in PER_VIDEO else 1.0)) / 3600
            for s, c in costs.items()}


def sigma_hours(samples: dict[str, list[tuple[float, float, float]]], counts: dict[str, float], pixels: float,
                workers: float, noise: float) -> dict[str, float]:
    """One standard deviation of each stage's ``stage_hours`` when every measured run's CPU seconds vary by the
    relative ``noise`` independently."""
    out = {}
    for stage, runs in samples.items():
        w = noise_weights(runs, stage in SOURCE_PIXELS, counts[UNIT[stage]], pixels,
                          workers if stage in PER_VIDEO else 1.0)
        out[stage] = float(np.linalg.norm(w * noise * np.array([s for *_, s in runs]))) / 3600
    return out


def add_one_share(costs: dict[str, Cost], counts: dict[str, float], per_video: dict[str, float], pixels: float,
                  workers: float) -> float:
    """Wall time of adding one video (its per-video stages in one worker, then every dataset stage) over a full
    rebuild's (``stage_hours``); ``per_video``: one video's units."""
    one = sum(costs[s].seconds(per_video[UNIT[s]], pixels) for s in costs if s in PER_VIDEO)
    dataset = sum(costs[s].seconds(counts[UNIT[s]], pixels) for s in costs if s not in PER_VIDEO)
    return (one + dataset) / 3600 / sum(stage_hours(costs, counts, pixels, workers).values())


def efficiency(serial_wall: float, pooled_wall: float, workers: int) -> float:
    """Speed-up over one process, per worker."""
    return serial_wall / pooled_wall / workers


def relative_noise(repeats: Sequence[float]) -> float:
    """Run-to-run spread of the CPU seconds of the same work: standard deviation over mean."""
    return float(np.std(repeats, ddof=1) / np.mean(repeats))


# --- the measurement ----------------------------------------------------------------------------------------------

class Build(NamedTuple):
    """One measured build: its size, unit counts and each stage's CPU and wall seconds."""

    videos: int
    size: int
    counts: dict[str, float]
    cpu: dict[str, float]
    wall: dict[str, float]

    @property
    def pixels(self) -> int:
        return self.size * self.size


def write_params(root: Path, videos: int, size: int, args: argparse.Namespace, steps: int | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return params_file(ROOT, root / "params.yaml", root / "data", base={"num_threads": 1},
                       generate={"n_videos": videos, "n_frames": args.frames, "width": size, "height": size},
                       qa={"clip_frames": args.frames, "clips_per_video": 1},
                       train={"max_steps": steps or args.train_steps})


def run_stage(params: Path, stage: str, *extra: str) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``python -m fourdpqa <stage>`` in a child process."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "fourdpqa", stage, "--params", str(params), *extra], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{stage} ({params}) failed, exit {proc.returncode}:\n{proc.stderr[-3000:]}")
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def run_all(params: Path, stages: Sequence[str], *extra: str) -> tuple[dict[str, float], dict[str, float]]:
    cpu, wall = {}, {}
    for stage in stages:
        cpu[stage], wall[stage] = run_stage(params, stage, *(extra if stage in PER_VIDEO else ()))
    return cpu, wall


def count(data: Path, params: Path) -> dict[str, float]:
    p = load_params(params)
    records = sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in sorted((data / "qa").glob("*.parquet")))
    train, bench = (pl.scan_parquet(data / "dataset" / f"{s}.parquet").select(pl.len()).collect().item()
                    for s in ("train", "benchmark"))
    return units(p.generate.n_videos * p.generate.n_frames, records, train, bench, p.train.max_steps,
                 p.learnability.max_train_rows)


def builds(tmp: Path, shapes: list[tuple[int, int]], args: argparse.Namespace) -> tuple[list[Build], dict[str, float]]:
    """Fresh builds of every stage, one per (videos, size), and the per-video stages of the last one again with
    ``--workers`` in ``tmp/pool`` (their wall seconds returned); a stage runs in every build before the next stage,
    so the runs compared with each other meet the same load on a shared machine."""
    params = [write_params(tmp / f"{v}x{s}", v, s, args) for v, s in shapes]
    pool = write_params(tmp / "pool", *shapes[-1], args)
    cpu, wall, pooled = [{} for _ in shapes], [{} for _ in shapes], {}
    for stage in STAGES:
        for i, p in enumerate(params):
            cpu[i][stage], wall[i][stage] = run_stage(p, stage)
        if stage in PER_VIDEO:
            _, pooled[stage] = run_stage(pool, stage, "--workers", str(args.workers))
        print(f"  {stage}: " + ", ".join(f"{c[stage]:.1f}" for c in cpu) + " CPU-s", file=sys.stderr, flush=True)
    return [Build(v, s, count(p.parent / "data", p), c, w)
            for (v, s), p, c, w in zip(shapes, params, cpu, wall, strict=True)], pooled


def digests(data: Path) -> dict[str, str]:
    return {p.relative_to(data).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in ("raw", "scenes", "tracks", "qa") for p in sorted((data / sub).rglob("*"))
            if p.is_file() and p.name != "_report.json"}


def measure(args: argparse.Namespace, tmp: Path) -> dict:
    """Steps 1-3 of the module doc in ``tmp``: the builds, the pooled per-video stages, train at more steps and the
    added video."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "fourdpqa")], check=True)  # no first-run
    n, (s1, s2) = args.videos, args.sizes  # byte-compiling in the first build's CPU seconds
    built, pooled = builds(tmp, [(n, s1), (2 * n, s1), (n, s2)] + ([(2 * n, s2)] if args.full else []), args)
    same = digests(tmp / f"{built[-1].videos}x{built[-1].size}" / "data") == digests(tmp / "pool" / "data")
    grown, more = tmp / f"{2 * n}x{s1}", 10 * args.train_steps
    train_more, _ = run_stage(write_params(grown, 2 * n, s1, args, steps=more), "train")
    added, _ = run_all(write_params(grown, 2 * n + 1, s1, args), STAGES)
    print("  measured train at more steps and one added video", file=sys.stderr, flush=True)
    samples = {s: [(b.counts[UNIT[s]], b.pixels, b.cpu[s]) for b in built] for s in STAGES}
    samples["train"].append((more, built[0].pixels, train_more))
    repeats = [b.cpu["train"] for b in built] + [added["train"]]  # the same training work each time
    return {"builds": built, "samples": samples, "more_steps": (more, train_more), "same": same, "added": added,
            "serial_wall": sum(built[-1].wall[s] for s in PER_VIDEO), "pooled_wall": sum(pooled.values()),
            "repeats": repeats, "noise": relative_noise(repeats)}


# --- the report ---------------------------------------------------------------------------------------------------

def paper_counts(params_path: Path) -> tuple[dict[str, float], dict[str, float]]:
    """The paper's unit counts for the whole run and for one video (train steps and probe cap: params.yaml's)."""
    p = load_params(params_path)
    records = PAPER["train"] + PAPER["benchmark"]
    whole = units(PAPER["frames"], records, PAPER["train"], PAPER["benchmark"], p.train.max_steps,
                  p.learnability.max_train_rows)
    return whole, {"frame": PAPER["frames"] / PAPER["videos"], "QA record": records / PAPER["videos"]}


def print_measured(m: dict, costs: dict[str, Cost], args: argparse.Namespace) -> None:
    built = m["builds"]
    header = ["stage", "unit", *(f"{b.videos} videos @ {b.size}² CPU-s (units)" for b in built), "start-up CPU-s",
              *(f"CPU-s per unit @ {s}²" for s in args.sizes)]
    rows = [(s, UNIT[s], *(f"{b.cpu[s]:.1f} ({b.counts[UNIT[s]]:.0f})" for b in built), f"{costs[s].start_up:.2f}",
             *(f"{costs[s].marginal(size * size):.3g}" for size in args.sizes)) for s in STAGES]
    print(markdown.table(header, rows, ["", "", *["right"] * (len(header) - 2)]))
    p = load_params(ROOT / "params.yaml")
    per_video = {size: sum(costs[s].marginal(size * size) * (args.frames if UNIT[s] == "frame" else
                                                               built[0].counts["QA record"] / built[0].videos)
                           for s in PER_VIDEO) for size in args.sizes}
    print("per-video stages: marginal " + ", ".join(f"{v:.2f} CPU-s per {args.frames}-frame video at {s}²"
                                                     for s, v in per_video.items())
          + f"; the mean of the {built[2].videos}-video build at {built[2].size}² is "
          + f"{sum(built[2].cpu[s] for s in PER_VIDEO) / built[2].videos:.2f} (mostly process start-up)")
    steps, cpu = m["more_steps"]
    print(f"train at tiny settings: {args.train_steps} steps in every build, {steps} once ({cpu:.1f} CPU-s; "
          f"params.yaml: {p.train.max_steps}), constant in the number of videos at a fixed max_steps; learnability "
          f"at params.yaml's settings ({p.learnability.epochs} epochs), its training rows capped at "
          f"learnability.max_train_rows = {p.learnability.max_train_rows}; evaluate per benchmark question "
          f"({len(p.evaluate.predictors)} predictors)")
    print("run-to-run noise: the same training work in the builds and after the added video took "
          + ", ".join(f"{c:.1f}" for c in m["repeats"]) + f" CPU-s ({m['noise']:.1%} spread); the +- below carry it "
          "through the fit (one standard deviation; the load of another hour is not in it)")
    eff = efficiency(m["serial_wall"], m["pooled_wall"], args.workers)
    print(f"parallel efficiency on this machine ({os.cpu_count()} cores): per-video stages of {built[-1].videos} "
          f"videos at {built[-1].size}², 1 process {m['serial_wall']:.1f} s wall, --workers {args.workers} "
          f"{m['pooled_wall']:.1f} s = "
          f"{m['serial_wall'] / m['pooled_wall']:.2f}x speed-up, efficiency {eff:.2f} (used as measured); "
          f"byte-identical outputs: {m['same']}")
    full, add = sum(built[1].cpu.values()), sum(m["added"].values())
    video = sum(m["added"][s] for s in PER_VIDEO)
    print(f"adding one video to {built[1].videos} (measured): {add:.1f} CPU-s ({video:.1f} in the per-video stages, "
          f"{add - video:.1f} in the dataset stages, which every added video reruns) against a full build's "
          f"{full:.1f} CPU-s = {add / full:.2f}x")


def previous_method(b: Build, measured_eff: float, args: argparse.Namespace) -> float:
    """Hours on one machine by the model this one replaces, on the same runs: means per frame (generate,
    standardize, tracks), per QA record (qa, assemble) of one build, start-up included, efficiency at least
    1 / workers, no stage after assemble."""
    frames, records = b.counts["frame"], b.counts["QA record"]
    video = (sum(b.cpu[s] for s in ("generate", "standardize", "tracks")) / frames * PAPER["frames"]
             + b.cpu["qa"] / records * (PAPER["train"] + PAPER["benchmark"]))
    eff = min(max(measured_eff, 1 / args.workers), 1.0)
    return (video / (args.cores * eff) + b.cpu["assemble"] / records * (PAPER["train"] + PAPER["benchmark"])) / 3600


def paper_table(m: dict, costs: dict[str, Cost], eff: float, args: argparse.Namespace) -> dict:
    """Print the paper-scale table; returns {(frame size name, machines): (goal-span hours, +-)}."""
    whole, _ = paper_counts(ROOT / "params.yaml")
    rows, span = [], {}
    for name, (w, h) in FRAME_SIZES.items():
        keep = [s for s in STAGES if name.startswith("procedural") or s != "generate"]  # recorded: no generate
        for machines in args.machines:
            workers = args.cores * machines * eff
            hours = stage_hours({s: costs[s] for s in keep}, whole, w * h, workers)
            sigma = sigma_hours({s: m["samples"][s] for s in keep}, whole, w * h, workers, m["noise"])
            pm = {part: (sum(hours[s] for s in ss), float(np.sqrt(sum(sigma[s] ** 2 for s in ss))))
                  for part, ss in (("video", [s for s in keep if s in PER_VIDEO]),
                                   ("dataset", [s for s in keep if s not in PER_VIDEO]), ("total", keep),
                                   ("span", GOAL_SPAN))}
            span[name, machines] = pm["span"]
            rows.append((name, f"{machines} x {args.cores}-core" + (" (Dask)" if machines > 1 else ""),
                         *(f"{pm[k][0]:.1f} +- {pm[k][1]:.1f}" for k in ("video", "dataset", "total", "span"))))
    print(markdown.table(["frames", "machines", "per-video stages", "dataset stages", "total", "standardize->validate"],
                         rows, ["", "", "right", "right", "right", "right"]))
    return span


def print_paper(m: dict, costs: dict[str, Cost], args: argparse.Namespace) -> None:
    eff = efficiency(m["serial_wall"], m["pooled_wall"], args.workers)
    whole, one = paper_counts(ROOT / "params.yaml")
    print(f"\npaper scale ({PAPER['videos']:,} videos, {PAPER['frames']:,} frames, {PAPER['train']:,} + "
          f"{PAPER['benchmark']:,} QA), wall hours: per-video stages over cores x machines at efficiency {eff:.2f}, "
          "dataset stages on one machine in one process:")
    span = paper_table(m, costs, eff, args)
    pixels = 256 * 256
    hours = stage_hours(costs, whole, pixels, args.cores * eff)
    print(f"\nper stage, procedural 256x256 on one {args.cores}-core machine:")
    print(markdown.table(["stage", "paper units", "CPU-s per unit", "CPU hours", "wall hours"],
                         [(s, f"{whole[UNIT[s]]:,.0f} {UNIT[s]}s", f"{costs[s].marginal(pixels):.3g}",
                           f"{costs[s].seconds(whole[UNIT[s]], pixels) / 3600:.1f}", f"{hours[s]:.2f}")
                          for s in STAGES], ["", "right", "right", "right", "right"]))
    negative = sorted({s for s in STAGES for w, h in FRAME_SIZES.values() if costs[s].marginal(w * h) < 0})
    if negative:
        print(f"warning: a negative marginal cost (noise larger than the work) for {negative}: rerun, or --full")
    b = m["builds"][2]
    same = stage_hours(costs, whole, b.pixels, args.cores * eff)
    print(f"baseline, the model this replaces, on this run's {b.videos}-video build at {b.size}² (means with "
          f"start-up, efficiency at least 1/{args.workers}, generate -> assemble only): "
          f"{previous_method(b, eff, args):.1f} h on one {args.cores}-core machine; this model at {b.size}²: "
          f"{sum(same[s] for s in STAGES[:STAGES.index('assemble') + 1]):.1f} h for generate -> assemble, "
          f"{sum(same.values()):.1f} h through evaluate")
    goal, sigma = span["procedural 256x256", 1]
    ideal = sum(stage_hours({s: costs[s] for s in GOAL_SPAN}, whole, pixels, args.cores).values())
    print(f"goal: standardize -> validate at paper scale on one {args.cores}-core machine, procedural 256x256: "
          f"{goal:.1f} +- {sigma:.1f} h (goal <= {GOAL_HOURS:.0f} h): {'PASS' if goal <= GOAL_HOURS else 'FAIL'} "
          f"({ideal:.1f} h if the per-video stages scaled perfectly, efficiency 1); real sources: "
          + ", ".join(f"{n} {span[n, 1][0]:.1f} +- {span[n, 1][1]:.1f} h" for n in FRAME_SIZES
                      if not n.startswith("procedural")))
    share = add_one_share(costs, whole, one, pixels, args.cores * eff)
    dataset = sum(hours[s] for s in STAGES if s not in PER_VIDEO)
    print(f"goal: adding one video at paper scale (one {args.cores}-core machine, 256x256) = {share:.2f}x of a full "
          f"rebuild of {sum(hours.values()):.1f} h (goal <= {GOAL_ADD_ONE}x): "
          f"{'PASS' if share <= GOAL_ADD_ONE else 'FAIL'}; the dataset stages it reruns take {dataset:.1f} h of it")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=None, help="N: builds of N and 2N videos (default 6; --full 12)")
    parser.add_argument("--sizes", type=int, nargs=2, default=None, help="S1 S2 (default 64 384; --full 128 512)")
    parser.add_argument("--frames", type=int, default=32, help="frames per video = one QA clip (default 32)")
    parser.add_argument("--train-steps", type=int, default=4, help="training steps of the builds (tiny)")
    parser.add_argument("--workers", type=int, default=max(2, min(4, os.cpu_count() or 2)))
    parser.add_argument("--cores", type=int, default=16, help="cores of one machine in the extrapolation")
    parser.add_argument("--machines", type=int, nargs="+", default=[1, 4, 16, 64], help="Dask cluster sizes")
    parser.add_argument("--full", action="store_true", help="larger builds and a fourth one (2N at S2)")
    args = parser.parse_args(argv)
    args.videos = args.videos or (12 if args.full else 6)
    args.sizes = args.sizes or ((128, 512) if args.full else (64, 384))
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    with tempfile.TemporaryDirectory(prefix="fourdpqa-scale-") as tmp:
        m = measure(args, Path(tmp))
    costs = {s: fit_cost(runs, s in SOURCE_PIXELS) for s, runs in m["samples"].items()}
    print_measured(m, costs, args)
    print_paper(m, costs, args)


if __name__ == "__main__":
    main()
