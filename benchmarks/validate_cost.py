"""validate and the pixel probe: the reference code (every check and the probe in the validate stage) against this
code (the registry in validate; the probe in the learnability stage, cached on its inputs), on one data root.

Printed, in CPU seconds (user + system of each stage's process, every thread; the machine may be shared, so CPU
seconds rather than wall seconds): the validate stage of both (goal: this code <= 0.25 x the reference), the
reference probe (``check_pixel_learnability``, flow heuristic included, timed inside its process) against the
learnability stage run fresh and rerun after validate reran with another audit setting (goal <= 0.5 x).

    python benchmarks/validate_cost.py [--data DIR] [--reference REV]

``--data``: a finished default run's data root (copied with ``cp -al`` into a scratch folder, so nothing in it is
changed); without it a small pipeline (24 videos) is built first, which takes a few minutes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from reference import REFERENCE, ROOT, child_cpu, params_file, scratch, small_pipeline, unpack  # noqa: E402

PROBE_SECTION = """
import resource, sys, polars as pl
from fourdpqa.params import load_params
from fourdpqa.layout import Layout
from fourdpqa.validate.learnability import check_pixel_learnability
from fourdpqa.validate.text_bias import blind_scores
p = load_params(sys.argv[1]); where = Layout(p.data)
train, bench = (pl.read_parquet(where.split_table(s)) for s in ("train", "benchmark"))
blind = blind_scores(train, bench)
before = resource.getrusage(resource.RUSAGE_SELF)
check_pixel_learnability(train, bench, where.dataset, blind, p.validate.probe, p.base.seed, p.base.device, where.scenes)
after = resource.getrusage(resource.RUSAGE_SELF)
print(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
"""


def stage(code: Path, name: str, params: Path) -> float:
    return child_cpu(code, ["-m", "fourdpqa", name, "--params", str(params)])


def reference_probe(code: Path, params: Path) -> float:
    out = subprocess.run([sys.executable, "-c", PROBE_SECTION, str(params)], cwd=code, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(code)}, check=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a finished run's data root (default: build a small one)")
    parser.add_argument("--reference", default=REFERENCE, help="git revision of the reference code")
    args = parser.parse_args()
    work = scratch()
    try:
        if args.data:
            data = work / "data"
            data.mkdir()
            for name in ("dataset", "qa", "scenes", "tracks"):  # no validation: every stage runs in full
                subprocess.run(["cp", "-al", str(args.data / name), str(data / name)], check=True)
        else:
            data = small_pipeline(work, through="validate")
        old = unpack(args.reference, work / "reference")
        old_params = params_file(old, work / "old.yaml", data)
        new_params = params_file(ROOT, work / "new.yaml", data)
        cpu = {"validate (reference)": stage(old, "validate", old_params),
               "validate": stage(ROOT, "validate", new_params),
               "probe (reference)": reference_probe(old, old_params),
               "learnability (fresh)": stage(ROOT, "learnability", new_params)}
        rerun = params_file(ROOT, work / "rerun.yaml", data, validate={"blind_null_draws": 19})
        stage(ROOT, "validate", rerun)
        cpu["learnability (after validate reran)"] = stage(ROOT, "learnability", rerun)
        videos = len(list((data / "scenes").glob("*/scene.json")))
        print(f"validate and the pixel probe on {videos} videos, CPU seconds (the machine may be shared):")
        for name, seconds in cpu.items():
            print(f"  {name:38s} {seconds:8.1f}")
        v = cpu["validate"] / cpu["validate (reference)"]
        p = cpu["learnability (fresh)"] / cpu["probe (reference)"]
        print(f"validate / reference      {v:.3f}  (goal <= 0.25)")
        print(f"learnability / reference probe  {p:.3f} fresh, "
              f"{cpu['learnability (after validate reran)'] / cpu['probe (reference)']:.3f} after a validate rerun "
              "(goal <= 0.5)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
