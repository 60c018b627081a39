"""What a Dagster partition costs beside the work it does (issue 26 item 2), measured against the CLI in one run.

1. The per-video stages (standardize, tracks, qa) of ``--videos`` procedural videos: ``python -m fourdpqa <stage>
   --workers W`` (the CLI / dvc path, three processes) against one ``per_video_job`` run over the same partitions as a
   batch (``dagster job execute`` with a partition range, ``FOURDPQA_WORKERS=W``), each on its own copy of the same
   generated videos; wall seconds and the ratio (goal <= 1.3x). The outputs are checked byte-identical.
2. An up-to-date partition: ``dagster asset materialize --select standard_scenes,point_tracks,qa_pairs --partition
   <first>`` after (1), every item skipped: the command's wall seconds and each step's own duration (goal <= 5 s).

    python benchmarks/dagster_partitions.py [--videos 24] [--frames 16] [--size 64] [--workers 2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STAGES = ["standardize", "tracks", "qa"]
ASSETS = ["standard_scenes", "point_tracks", "qa_pairs"]


def write_params(root: Path, args: argparse.Namespace) -> Path:
    data = root / "data"
    root.mkdir(parents=True, exist_ok=True)
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump({
        "base": {"data_root": str(data), "allowed_roots": [str(data)], "num_threads": 1},
        "generate": {"n_videos": args.videos, "n_frames": args.frames, "width": args.size, "height": args.size},
        "standardize": {"sources": [{"name": "procedural", "kind": "kubric", "root": str(data / "raw" / "procedural")}]},
        "tracks": {"queries_per_video": 64},
        "qa": {"clip_frames": args.frames, "clips_per_video": 1, "out_width": args.size, "out_height": args.size},
    }))
    return path


def _env(root: Path, workers: int) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "DAGSTER_HOME": str(root / "dagster_home"),
            "FOURDPQA_WORKERS": str(workers), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def _digests(data: Path) -> dict[str, str]:
    return {p.relative_to(data).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in ("scenes", "tracks", "qa") for p in sorted((data / sub).rglob("*"))
            if p.is_file() and "_manifest" not in p.parts and p.name != "_report.json"}


def _in_instance(root: Path, code: str) -> str:
    """The last line ``code`` prints, run by Python in ``root`` against the benchmark's Dagster instance."""
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=_env(root, 1), check=True, capture_output=True,
                         text=True)
    return out.stdout.strip().splitlines()[-1]


def _register_partitions(root: Path) -> list[str]:
    """The ingest asset registers one partition per video in the instance (not timed: both paths list the videos)."""
    code = ("import dagster as dg\nfrom assets.resources import PipelineParams\nimport assets.standardize as s\n"
            "from fourdpqa.params import load_params\np = load_params('params.yaml')\n"
            "ingest, _ = s.build(p)\ninstance = dg.DagsterInstance.get()\n"
            "assert dg.materialize([ingest], instance=instance, resources={'pipeline': PipelineParams()}).success\n"
            "print(','.join(instance.get_dynamic_partitions('videos')))")
    return _in_instance(root, code).split(",")


def _step_seconds(root: Path) -> dict[str, float]:
    """Each step's duration in the newest run of the instance (from its STEP_SUCCESS events)."""
    code = ("import dagster as dg, json\ninstance = dg.DagsterInstance.get()\n"
            "run = instance.get_runs(limit=1)[0]\nstart, out = {}, {}\n"
            "for e in instance.all_logs(run.run_id):\n"
            "    ev = e.dagster_event\n"
            "    if ev and ev.event_type_value == 'STEP_START': start[ev.step_key] = e.timestamp\n"
            "    if ev and ev.event_type_value == 'STEP_SUCCESS': out[ev.step_key] = e.timestamp - start[ev.step_key]\n"
            "print(json.dumps(out))")
    return json.loads(_in_instance(root, code))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=24)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fourdpqa-dagster-bench-") as tmp:
        cli_root, dagster_root = Path(tmp) / "cli", Path(tmp) / "dagster"
        subprocess.run([sys.executable, "-m", "fourdpqa", "generate", "--params", str(write_params(cli_root, args)),
                        "--workers", str(args.workers)], cwd=ROOT, check=True, capture_output=True)
        write_params(dagster_root, args)
        shutil.copytree(cli_root / "data" / "raw", dagster_root / "data" / "raw")
        (dagster_root / "dagster_home").mkdir()
        keys = _register_partitions(dagster_root)

        cli = sum(_timed([sys.executable, "-m", "fourdpqa", stage, "--workers", str(args.workers)], cli_root,
                         _env(cli_root, args.workers)) for stage in STAGES)
        tags = json.dumps({"dagster/asset_partition_range_start": keys[0],
                           "dagster/asset_partition_range_end": keys[-1]})
        batch = _timed([str(BIN / "dagster"), "job", "execute", "-m", "dagster_project.definitions", "-j",
                        "per_video_job", "--tags", tags], dagster_root, _env(dagster_root, args.workers))
        same = _digests(cli_root / "data") == _digests(dagster_root / "data")
        print(f"dagster partitions: {len(keys)} videos x {args.frames} frames at {args.size}px, {args.workers} workers: "
              f"CLI --workers {cli:.1f} s wall, one per_video_job batch run {batch:.1f} s wall -> "
              f"{batch / cli:.2f}x (goal <= 1.3x); outputs byte-identical: {same}")

        noop = _timed([str(BIN / "dagster"), "asset", "materialize", "-m", "dagster_project.definitions", "--select",
                       ",".join(ASSETS), "--partition", keys[0]], dagster_root, _env(dagster_root, 1))
        steps = _step_seconds(dagster_root)
        print(f"dagster partitions: up-to-date partition {keys[0]}: `dagster asset materialize` {noop:.1f} s wall, "
              "steps " + ", ".join(f"{k} {v:.2f} s" for k, v in steps.items()) +
              f" (goal <= 5 s per step; slowest {max(steps.values()):.2f} s)")


if __name__ == "__main__":
    main()
