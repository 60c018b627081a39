"""Incremental growth and parallel speed-up of the stage protocol.

1. Full build: generate -> standardize -> tracks -> qa -> assemble for N procedural videos in a fresh data root.
2. Add one video (N + 1): the same commands again; the protocol redoes only the new video in the per-video stages
   plus the dataset-level assemble. Printed: its cost as a share of the full build (goal <= 0.2x), against the
   baseline a peer would otherwise pay, a full rebuild.
3. Per-video stages with ``--workers W`` against one process, on a fresh root (byte-identical outputs checked).

    python benchmarks/pipeline.py [--videos 10] [--frames 16] [--size 64] [--workers 2]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from fourdpqa.__main__ import main  # noqa: E402

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


def run(params: Path, stages: list[str], workers: int = 1) -> float:
    start = time.perf_counter()
    for stage in stages:
        extra = ["--workers", str(workers)] if stage in PER_VIDEO and workers > 1 else []
        if main([stage, "--params", str(params), *extra]) != 0:
            raise SystemExit(f"{stage} failed")
    return time.perf_counter() - start


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
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "grow"
        root.mkdir()
        full = run(write_params(root, args, args.videos), [*PER_VIDEO, "assemble"])
        add = run(write_params(root, args, args.videos + 1), [*PER_VIDEO, "assemble"])
        print(f"full build of {args.videos} videos: {full:.1f} s; adding one video: {add:.1f} s "
              f"= {add / full:.2f}x of a full rebuild (goal <= 0.2x)")
        serial_root, pool_root = Path(tmp) / "serial", Path(tmp) / "pool"
        serial_root.mkdir()
        pool_root.mkdir()
        serial = run(write_params(serial_root, args, args.videos), PER_VIDEO, workers=1)
        pooled = run(write_params(pool_root, args, args.videos), PER_VIDEO, workers=args.workers)
        same = digests(serial_root / "data") == digests(pool_root / "data")
        print(f"per-video stages, {args.videos} videos: 1 process {serial:.1f} s, {args.workers} workers "
              f"{pooled:.1f} s = {serial / pooled:.2f}x speed-up; byte-identical outputs: {same}")


if __name__ == "__main__":
    main_()
