"""Incremental growth and parallel speed-up of the stage protocol.

1. Full build: generate -> standardize -> tracks -> qa -> assemble for N procedural videos in a fresh data root.
2. Add one video (N + 1): the same commands again; the protocol redoes only the new video in the per-video stages
   plus the dataset-level assemble. Printed: its cost as a share of the full build (goal <= 0.2x), against the
   baseline a peer would otherwise pay, a full rebuild.
3. Per-video stages with ``--workers W`` against one process, on a fresh root (byte-identical outputs checked).
4. The paper's scale on paper (13.6K videos, 3.6M frames, 400K QA pairs), extrapolated from what 1-3 measured:
   generate, standardize and tracks cost what they cost here per frame, qa per QA record, assemble per QA record
   (its rows), as CPU seconds of the serial build (what a dedicated core takes; a shared machine's wall time
   is not); per-video stages spread over ``cores x machines`` workers at the parallel efficiency measured in 3
   (speed-up / workers, at least 1 / workers), the dataset-level assemble runs on one machine at its measured cost
   per row. Frame size and QA settings are this run's (``--size``, ``--frames``): per-frame costs grow with the
   pixel count.

    python benchmarks/pipeline.py [--videos 10] [--frames 16] [--size 64] [--workers 2] [--cores 16]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from fourdpqa import markdown
from fourdpqa.__main__ import main

PER_VIDEO = ["generate", "standardize", "tracks", "qa"]


def write_params(root: Path, args: argparse.Namespace, n_videos: int) -> Path:
    data = root / "data"
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump({
        "base": {"data_root": str(data), "allowed_roots": [str(data)], "num_threads": 1},
        "generate": {"n_videos": n_videos, "n_frames": args.frames, "width": args.size, "height": args.size},
        "standardize": {"sources": [{"name": "procedural", "kind": "kubric", "root": str(data / "raw" / "procedural")}]},
        "tracks": {"queries_per_video": 64},
        "qa": {"clip_frames": args.frames, "clips_per_video": 2, "out_width": args.size, "out_height": args.size},
        "assemble": {"train_size": 400, "benchmark_size": 100, "export_mp4": False},
    }))
    return path


PAPER = {"videos": 13_600, "frames": 3_600_000, "qa": 400_000}  # 4DP-QA (paper Sec. 3)
PER_FRAME = ["generate", "standardize", "tracks"]


def run(params: Path, stages: list[str], workers: int = 1, clock=time.perf_counter) -> dict[str, float]:
    """Seconds of each stage on ``clock`` (wall by default; ``time.process_time`` for a serial run, which stays in
    this process), run in order."""
    took = {}
    for stage in stages:
        extra = ["--workers", str(workers)] if stage in PER_VIDEO and workers > 1 else []
        start = clock()
        if main([stage, "--params", str(params), *extra]) != 0:
            raise SystemExit(f"{stage} failed")
        took[stage] = clock() - start
    return took


def qa_rows(data: Path) -> int:
    return sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in sorted((data / "qa").glob("*.parquet")))


def paper_scale(took: dict[str, float], videos: int, frames: int, rows: int, efficiency: float, cores: int,
                machines: list[int]) -> list[tuple[str, float, float]]:
    """(setting, per-video stages hours, dataset stages hours) at the paper's scale from one serial build of
    ``videos`` x ``frames`` frames that produced ``rows`` QA records (``took``: its wall seconds per stage)."""
    per_frame = sum(took[s] for s in PER_FRAME) / (videos * frames)
    serial = per_frame * PAPER["frames"] + took["qa"] / rows * PAPER["qa"]  # one worker
    dataset = took["assemble"] / rows * PAPER["qa"]
    out = [("1 core", serial / 3600, dataset / 3600)]
    for n in machines:
        workers = cores * n
        name = f"{n} x {cores}-core machine" + ("s (Dask)" if n > 1 else "")
        out.append((name, serial / (workers * efficiency) / 3600, dataset / 3600))
    return out


def digests(data: Path) -> dict[str, str]:
    return {p.relative_to(data).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in ("scenes", "tracks", "qa") for p in sorted((data / sub).rglob("*"))
            if p.is_file() and p.name != "_report.json"}


def main_(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=10)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cores", type=int, default=16, help="cores of one machine in the extrapolation")
    parser.add_argument("--machines", type=int, nargs="+", default=[1, 4, 16, 64], help="Dask cluster sizes")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "grow"
        root.mkdir()
        start = time.perf_counter()
        took = run(write_params(root, args, args.videos), [*PER_VIDEO, "assemble"], clock=time.process_time)
        full = time.perf_counter() - start
        rows = qa_rows(root / "data")
        add = sum(run(write_params(root, args, args.videos + 1), [*PER_VIDEO, "assemble"]).values())
        print(f"full build of {args.videos} videos: {full:.1f} s; adding one video: {add:.1f} s "
              f"= {add / full:.2f}x of a full rebuild (goal <= 0.2x)")
        serial_root, pool_root = Path(tmp) / "serial", Path(tmp) / "pool"
        serial_root.mkdir()
        pool_root.mkdir()
        serial = sum(run(write_params(serial_root, args, args.videos), PER_VIDEO, workers=1).values())
        pooled = sum(run(write_params(pool_root, args, args.videos), PER_VIDEO, workers=args.workers).values())
        same = digests(serial_root / "data") == digests(pool_root / "data")
        print(f"per-video stages, {args.videos} videos: 1 process {serial:.1f} s, {args.workers} workers "
              f"{pooled:.1f} s = {serial / pooled:.2f}x speed-up; byte-identical outputs: {same}")
    # a pool is never planned slower than one process; on a shared machine with fewer free cores than --workers
    # (or items so small that the pool's start-up dominates) the measured efficiency understates a dedicated one
    measured = serial / pooled / args.workers
    efficiency = min(max(measured, 1.0 / args.workers), 1.0)
    print(f"\nmeasured ({args.videos} videos x {args.frames} frames at {args.size}x{args.size}, {rows} QA records), "
          "CPU seconds of the serial build (a dedicated core's wall time): "
          + ", ".join(f"{s} {took[s]:.1f}" for s in took)
          + f"; parallel efficiency {efficiency:.2f} (measured {measured:.2f}, at least 1/{args.workers})")
    print(f"paper scale ({PAPER['videos']:,} videos, {PAPER['frames']:,} frames, {PAPER['qa']:,} QA), wall hours:")
    table = paper_scale(took, args.videos, args.frames, rows, efficiency, args.cores, args.machines)
    print(markdown.table(["setting", "per-video stages", "dataset stages", "total"],
                         [(n, f"{a:.1f}", f"{b:.1f}", f"{a + b:.1f}") for n, a, b in table]))


if __name__ == "__main__":
    main_()
