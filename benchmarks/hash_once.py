"""Bytes read to decide "is this up to date?" on a no-op rerun of every stage (issue 27.2, hash once).

Every stage fingerprints its inputs and checks its outputs against their recorded digests before it skips an item.
Before the digest cache, each check read every byte again (1.4 GB per stage at 96 videos). Now a file is hashed
when it is written and its digest reused while its inode, size and ``mtime_ns`` hold
(:class:`fourdpqa.fingerprint.DigestCache`).

1. Build every pipeline stage once in a fresh data root (``--videos`` procedural videos rendered here, or the
   rendered videos of ``--raw`` copied in, e.g. a default run's ``data/raw/procedural`` for the 96-video figure).
2. Rerun every stage with nothing to do, serially in this process, with the cache (now) and without it
   (``FOURDPQA_DIGEST_CACHE=off``: what every run paid before), and print the bytes each read to hash, against the
   bytes of the data root. Goal: <= 1% of the data bytes with the cache.

    python benchmarks/hash_once.py [--videos 8] [--frames 16] [--size 64] [--raw DIR] [--workers 2] [--stages a,b]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from fourdpqa import fingerprint, markdown
from fourdpqa.__main__ import main
from fourdpqa.fingerprint import CACHE_ENV
from fourdpqa.stages import manifest, stage_list

PER_VIDEO = {"generate", "standardize", "tracks", "qa"}
BOOKKEEPING = {".cache", ".locks", "mlflow", "quarantine"}


def write_params(root: Path, args: argparse.Namespace) -> Path:
    """The repository's params.yaml on a data root under ``root``; a small configuration unless ``--raw`` gives
    the default run's videos."""
    data = root / "data"
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["base"].update(data_root=str(data), allowed_roots=[str(data)], device="cpu")
    params["standardize"]["sources"][0]["root"] = str(data / "raw" / "procedural")
    # models trained briefly: what is hashed (the dataset, a model of the same size, one prediction file per
    # predictor) does not depend on how long they train
    params["learnability"].update(epochs=2)
    params["train"].update(max_steps=4)
    params["evaluate"].update(predictors=["random", "blind", "oracle", "flow"])
    if not args.raw:
        params["generate"].update(n_videos=args.videos, n_frames=args.frames, width=args.size, height=args.size)
        params["tracks"].update(queries_per_video=64)
        params["qa"].update(clip_frames=args.frames, out_width=args.size, out_height=args.size)
        params["assemble"].update(train_size=400, benchmark_size=100)
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def data_bytes(data: Path) -> int:
    """Bytes of every file under the data root except bookkeeping (the cache itself, locks, MLflow store)."""
    return sum(p.stat().st_size for p in data.rglob("*")
               if p.is_file() and not BOOKKEEPING & set(p.relative_to(data).parts))


def noop_rerun(params: Path, stages: list[str], cache: bool) -> dict[str, int]:
    """Bytes each stage read to hash during a rerun with nothing to do (asserted: every item skipped)."""
    os.environ[CACHE_ENV] = "on" if cache else "off"
    manifest._cache_at.cache_clear()  # a fresh cache object reads the switch
    out = {}
    for stage in stages:
        before = fingerprint.hashed()["bytes"]
        assert main([stage, "--params", str(params)]) == 0, stage
        out[stage] = fingerprint.hashed()["bytes"] - before
    return out


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.2f} MB"


def main_(argv: list[str] | None = None) -> dict[str, dict[str, int]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--raw", type=Path, help="copy these rendered procedural videos instead of generating")
    parser.add_argument("--workers", type=int, default=2, help="processes for the build of the per-video stages")
    parser.add_argument("--stages", help="comma-separated stages (default: every pipeline stage)")
    args = parser.parse_args(argv)
    stages = args.stages.split(",") if args.stages else [s.name for s in stage_list.pipeline()]
    with tempfile.TemporaryDirectory(prefix="hash-once-") as tmp:
        root = Path(tmp)
        params = write_params(root, args)
        if args.raw:
            raw = root / "data" / "raw" / "procedural"
            for video in sorted(p for p in args.raw.iterdir() if p.is_dir() and p.name[0] not in "._"):
                shutil.copytree(video, raw / video.name)
            stages = [s for s in stages if s != "generate"]
        start = time.perf_counter()
        for stage in stages:
            extra = ["--workers", str(args.workers)] if stage in PER_VIDEO and args.workers > 1 else []
            assert main([stage, "--params", str(params), *extra]) == 0, stage
        built = time.perf_counter() - start
        total = data_bytes(root / "data")
        today = noop_rerun(params, stages, cache=False)
        now = noop_rerun(params, stages, cache=True)
    rows = [(s, _gb(today[s]), _gb(now[s]), f"{now[s] / total:.2%}") for s in stages]
    rows.append(("all stages", _gb(sum(today.values())), _gb(sum(now.values())), f"{sum(now.values()) / total:.2%}"))
    videos = "the videos of " + str(args.raw) if args.raw else f"{args.videos} videos x {args.frames} frames at {args.size}px"
    print(f"hash once: no-op rerun of every stage on {videos}; data root {_gb(total)} (build {built:.0f} s)")
    print(markdown.table(["stage", "read to hash before (no cache)", "with the digest cache", "share of data bytes"],
                         rows))
    share = sum(now.values()) / total
    print(f"goal <= 1% of the data bytes per no-op rerun of every stage: {share:.3%} "
          f"({'met' if share <= 0.01 else 'NOT met'}); before: {sum(today.values()) / total:.1f}x the data bytes")
    return {"today": today, "now": now, "total": {"bytes": total}}


if __name__ == "__main__":
    main_()
