"""The dataset stages through Dagster against the same stages under ``dvc repro``, on one small configuration.

In a scratch copy of the repository the per-video stages run first (``dvc repro qa``, not timed); then
``dvc repro`` runs assemble -> validate -> learnability -> review -> train -> evaluate, the dataset-level outputs
are removed, and ``dagster job execute -j dataset_job`` does the same work (its validation checks report the
validate stage's report; nothing runs twice). Printed: wall and CPU seconds (this script's child processes) of
both and the wall ratio (goal <= 1.2).

    python benchmarks/dagster_vs_dvc.py [--videos 12]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from reference import copy_repo, scratch  # noqa: E402

from fourdpqa.stages import stage_list  # noqa: E402

TINY = {
    "generate": {"n_frames": 16, "width": 64, "height": 64},
    "tracks": {"queries_per_video": 32},
    "qa": {"clip_frames": 12, "clips_per_video": 2, "out_width": 64, "out_height": 64, "questions_per_clip": 40},
    "assemble": {"train_size": 400, "benchmark_size": 200, "benchmark_video_share": 0.5},
    "learnability": {"frames": 4, "size": 32, "epochs": 4},
    "train": {"max_steps": 20, "frames": 2, "image_size": 28, "max_train_samples": 64},
    "evaluate": {"frames": 4},
}


def timed(args: list, cwd: Path, env: dict) -> tuple[float, float]:
    """(wall, CPU) seconds of one command (CPU: user + system of it and its children)."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise RuntimeError(f"{args[:3]}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=12)
    args = parser.parse_args()
    work = scratch()
    try:
        repo = work / "repo"
        copy_repo(repo)
        params = yaml.safe_load((repo / "params.yaml").read_text())
        for section, values in {**TINY, "generate": {**TINY["generate"], "n_videos": args.videos}}.items():
            params[section].update(values)
        (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        bin_dir = Path(sys.executable).parent
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(repo),
               "DAGSTER_HOME": str(work / "dagster_home"), "MLFLOW_ALLOW_FILE_STORE": "true"}
        (work / "dagster_home").mkdir()
        subprocess.run([bin_dir / "dvc", "config", "core.no_scm", "true"], cwd=repo, check=True, env=env)
        subprocess.run([bin_dir / "dvc", "repro", "qa"], cwd=repo, check=True, env=env, capture_output=True)
        dvc = timed([bin_dir / "dvc", "repro"], repo, env)
        dataset_level = [info for info in stage_list.pipeline() if not info.per_video]
        for path in [repo / "data" / out for info in dataset_level for out in info.outs]:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        dagster = timed([bin_dir / "dagster", "job", "execute", "-m", "dagster_project.definitions", "-j", "dataset_job"],
                        repo, env)
        stages = ", ".join(info.name for info in dataset_level)
        print(f"dataset stages ({stages}) on {args.videos} videos; wall / CPU seconds (the machine may be shared):")
        print(f"  dvc repro            {dvc[0]:7.1f} / {dvc[1]:7.1f}")
        print(f"  Dagster dataset_job  {dagster[0]:7.1f} / {dagster[1]:7.1f}")
        print(f"  dataset_job / dvc repro, wall: {dagster[0] / dvc[0]:.2f}  (goal <= 1.2); CPU: {dagster[1] / dvc[1]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
