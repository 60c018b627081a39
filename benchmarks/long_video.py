"""Long videos: peak memory and CPU time per frame of standardize -> tracks -> qa against the video's length.

One procedural video of each length (default 100, 300, 600 frames at 128x128; ``--full``: 300, 900 and 1,800 frames
at 512x512, plus 1408x1408 with ``--size 1408``) is generated, then each stage runs as its own process, alone, and
its peak resident memory (``ru_maxrss`` of that process, from ``os.wait4``) and CPU seconds (user + system) are
read from the kernel. The QA clips grow with the video (one 32-frame clip per 100 frames, disjoint, the way the
paper samples clips from long videos), so every stage's work grows linearly with the length: CPU seconds per
frame should stay flat, and peak memory should not grow with the length at all. Each stage process also has a
fixed start-up (imports, JIT caches: a few CPU seconds) that a longer video spreads thinner, so flatness is judged
on the marginal cost: the CPU seconds each further frame adds between consecutive lengths (300 -> 900 and
900 -> 1,800 frames), which must agree within +-20% (the cost is linear in the length); the plain CPU-s per frame
is printed too. Single runs are too noisy for that (a run under load at 300 frames moved the ratio from 0.7 to 1.9),
so the stages run ``--repeats`` times per length (2 with ``--full``) and the lowest CPU time counts.

Goals (issue 23): peak RSS <= 2 GB per worker at 512x512 (<= 4 GB at 1408x1408) at any length; CPU-s per frame
of the three stages within +-20% from the shortest to the longest video.

    python benchmarks/long_video.py [--full] [--lengths 300 900 1800] [--size 512] [--device cuda] [--parallel]
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ThreadPoolExecutor
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["generate", "standardize", "tracks", "qa"]
MEASURED = STAGES[1:]  # the goals cover the stages after generation
FRAMES_PER_CLIP_SLOT = 100  # one QA clip per this many frames
GOAL_RSS_GB = {512: 2.0, 1408: 4.0}
GOAL_FLAT = 0.2


def write_params(root: Path, frames: int, size: int, device: str = "cpu") -> Path:
    data = root / "data"
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump({
        "base": {"data_root": str(data), "allowed_roots": [str(data)], "num_threads": 1, "device": device},
        "generate": {"n_videos": 1, "n_frames": frames, "width": size, "height": size, "min_objects": 6,
                     "max_objects": 6},
        "standardize": {"sources": [{"name": "procedural", "kind": "kubric", "root": str(data / "raw" / "procedural")}]},
        "qa": {"clip_frames": 32, "clips_per_video": max(1, frames // FRAMES_PER_CLIP_SLOT), "clip_max_overlap": 0.0},
    }))
    return path


def run_stage(stage: str, params: Path, force: bool = False) -> tuple[float, float]:
    """(peak RSS in GB, CPU seconds) of ``python -m fourdpqa <stage>`` run as its own process (``force``: redo
    items that are up to date, for a repeated measurement)."""
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "fourdpqa", stage, "--params", str(params),
                                 *(["--force"] if force else [])], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{stage} failed (exit {proc.returncode}):\n{err.read()[-2000:]}")
    return usage.ru_maxrss / 2**20, usage.ru_utime + usage.ru_stime  # ru_maxrss is in KiB on Linux


def measure(frames: int, size: int, keep: Path | None, device: str,
            repeats: int = 1) -> dict[str, tuple[float, float]]:
    """{stage: (peak RSS GB, CPU-s)} of one video of ``frames`` frames through every stage; the measured stages run
    ``repeats`` times on the same video (``--force``), keeping the highest peak and the lowest CPU time, the usual
    estimate of a cost under noise (a busy machine only ever adds CPU time: caches, frequency, contention)."""
    with tempfile.TemporaryDirectory(dir=keep) as tmp:
        run = {"generate": run_stage("generate", write_params(Path(tmp), frames, size, device))}
        params = write_params(Path(tmp), frames, size)  # the measured stages run on the CPU
        runs = [{stage: run_stage(stage, params, force=r > 0) for stage in MEASURED} for r in range(repeats)]
        return run | {s: (max(x[s][0] for x in runs), min(x[s][1] for x in runs)) for s in MEASURED}


def report(size: int, results: dict[int, dict[str, tuple[float, float]]]) -> bool:
    lengths = sorted(results)
    print(f"\n{size}x{size}: peak RSS and CPU-s per frame of each stage (one process per stage)")
    print(f"  {'frames':>7} " + "".join(f"{s:>24}" for s in STAGES) + f"{'standardize+tracks+qa':>24}")
    total = {n: sum(results[n][s][1] for s in MEASURED) for n in lengths}
    for n in lengths:
        cells = "".join(f"{results[n][s][0]:>10.2f} GB {results[n][s][1] / n:>8.4f} s" for s in STAGES)
        print(f"  {n:>7} {cells}{total[n] / n:>22.4f} s")
    peak = max(results[n][s][0] for n in lengths for s in MEASURED)
    goal = GOAL_RSS_GB[1408] if size > 512 else GOAL_RSS_GB[512]
    ok = peak <= goal
    print(f"  peak RSS of standardize/tracks/qa: {peak:.2f} GB (goal <= {goal:.0f} GB): {'met' if ok else 'NOT met'}")
    marginal = [(total[b] - total[a]) / (b - a) for a, b in zip(lengths, lengths[1:])]
    if len(marginal) >= 2:
        ratio = marginal[-1] / marginal[0]
        flat = abs(ratio - 1) <= GOAL_FLAT
        steps = ", ".join(f"{a} -> {b} frames {m:.4f} s" for (a, b), m in zip(zip(lengths, lengths[1:]), marginal))
        print(f"  marginal CPU-s per frame: {steps}: x{ratio:.2f} (goal within +-{GOAL_FLAT:.0%}): "
              f"{'met' if flat else 'NOT met'}")
        ok &= flat
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="the issue's sizes: 300, 900, 1800 frames at 512x512")
    ap.add_argument("--lengths", type=int, nargs="+", help="video lengths in frames")
    ap.add_argument("--size", type=int, help="frame width = height in pixels")
    ap.add_argument("--keep", type=Path, help="folder for the temporary data roots (default: the system's)")
    ap.add_argument("--device", default="cpu", help="device that renders the videos (cuda: faster); the measured "
                    "stages run on the CPU")
    ap.add_argument("--repeats", type=int, help="runs of the measured stages per length, the lowest CPU time kept "
                    "(default 1; 2 with --full)")
    ap.add_argument("--parallel", action="store_true", help="measure the lengths at the same time (one process "
                    "each; for machines with cores to spare)")
    args = ap.parse_args(argv)
    lengths = args.lengths or ([300, 900, 1800] if args.full else [100, 300, 600])
    size = args.size or (512 if args.full else 128)
    repeats = args.repeats or (2 if args.full else 1)
    if args.parallel:
        with ThreadPoolExecutor(len(lengths)) as pool:
            results = dict(zip(lengths, pool.map(lambda n: measure(n, size, args.keep, args.device, repeats), lengths)))
    else:
        results = {n: measure(n, size, args.keep, args.device, repeats) for n in lengths}
    report(size, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
