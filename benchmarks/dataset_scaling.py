"""Dataset stages at growing pools: the reference code against this code, on the same QA pool replicated k times
(each copy of a video under its own id, its scene and tracks linked, its frames permuted per copy so that the
leakage check sees distinct footage).

1. The selection step (``select_benchmark`` + ``select_train`` on the split pools) at 1, 2, 4 and 8 times the pool:
   CPU seconds of both, whether they selected the same rows, and the growth exponent (log-log slope). Goal: this
   code <= 1 s at 8x the default 96-video pool (76K rows).
2. ``assemble`` + ``validate`` (library functions, the probe off in the reference as it is its own stage now) on
   1, 4 and 32 copies of the pool's first 24 videos (24 -> 768 videos): CPU seconds and the growth exponent of both.
   Goal: this code's exponent <= 1.05.

    python benchmarks/dataset_scaling.py [--data DIR] [--reference REV] [--assemble-sizes 1,4,32] [--assemble-base 24]

``--data``: a finished run's data root (its qa/, scenes/, tracks/; default: a small 24-video pipeline built first).
CPU seconds of each measurement's own process (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from reference import REFERENCE, ROOT, params_file, scratch, small_pipeline, unpack  # noqa: E402

SELECTION = """
import hashlib, json, resource, sys, time
import polars as pl
from fourdpqa.assemble import load_qa, split_videos
from fourdpqa.params import load_params
from fourdpqa.selection import select_benchmark, select_train
p = load_params(sys.argv[1]); base = load_qa(sys.argv[2]).qa
out = {}
for k in json.loads(sys.argv[3]):
    qa = pl.concat([base.with_columns(*(pl.col(c) + f"-x{r}" for c in ("video_id", "id", "clip_id"))) if r else base
                    for r in range(k)])
    videos = dict(qa.select("video_id", "source").unique("video_id").sort("video_id").iter_rows())
    train_ids, bench_ids = split_videos(videos, p.assemble.benchmark_video_share, p.base.seed)
    bench_pool, train_pool = (qa.filter(pl.col("video_id").is_in(ids)) for ids in (bench_ids, train_ids))
    start = time.process_time()
    bench = select_benchmark(bench_pool, p.assemble.benchmark_size, p.validate, p.base.seed)
    train = select_train(train_pool, p.assemble.train_size, p.assemble.tracking_share, p.validate, p.base.seed)
    seconds = time.process_time() - start
    digest = hashlib.sha256("\\n".join(bench["id"].to_list() + ["--"] + train["id"].to_list()).encode()).hexdigest()
    out[k] = {"rows": qa.height, "seconds": seconds, "selected": digest[:12]}
print(json.dumps(out))
"""

DATASET = """
import inspect, json, resource, sys
import numpy as np
from fourdpqa.assemble import assemble
from fourdpqa.params import load_params
from fourdpqa.scene import read_frames, read_meta
from fourdpqa.layout import scene_dir
from fourdpqa.validate import Sources, run_validation
p = load_params(sys.argv[1])

def frames(video_id, idx):
    _, copied, copy = video_id.rpartition("-x")
    folder = scene_dir(p.data / "scenes", video_id)
    out = read_frames(folder, read_meta(folder), [int(i) for i in idx])
    if copied:  # another footage per copy: its pixels permuted (pHashes far apart)
        rng = np.random.default_rng(int(copy))
        out = out[:, rng.permutation(out.shape[1])][:, :, rng.permutation(out.shape[2])]
    return out

before = resource.getrusage(resource.RUSAGE_SELF)
assemble(p, load_frames=frames)
sources = Sources(p.data, load_frames=frames)
device = {"device": p.base.device} if "device" in inspect.signature(run_validation).parameters else {}  # the probe
run_validation(p.data, p.validate, p.base.seed, sources=sources, out_dir=p.data / "validation", **device)
after = resource.getrusage(resource.RUSAGE_SELF)
print(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
"""


def run(code: Path, snippet: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-c", snippet, *args], cwd=code, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(code)})
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return proc.stdout.strip().splitlines()[-1]


def exponent(sizes: list[float], seconds: list[float]) -> float:
    """Least-squares slope of log(seconds) against log(size)."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def replicated_root(source: Path, dest: Path, copies: int, videos: int | None = None) -> Path:
    """``dest`` holding ``copies`` copies of ``source``'s first ``videos`` videos (default all): QA tables renamed,
    scenes and tracks linked."""
    import polars as pl

    for name in ("qa", "scenes", "tracks"):
        (dest / name).mkdir(parents=True)
    for table in sorted((source / "qa").glob("*.parquet"))[:videos]:
        qa = pl.read_parquet(table)
        vid = table.stem
        for r in range(copies):
            tag = f"-x{r}" if r else ""
            (dest / "qa" / f"{vid}{tag}.parquet").parent.mkdir(exist_ok=True)
            qa.with_columns(*(pl.col(c) + tag for c in ("video_id", "id", "clip_id"))).write_parquet(
                dest / "qa" / f"{vid}{tag}.parquet")
            (dest / "scenes" / f"{vid}{tag}").symlink_to((source / "scenes" / vid).resolve())
            (dest / "tracks" / f"{vid}{tag}.npz").symlink_to((source / "tracks" / f"{vid}.npz").resolve())
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a finished run's data root (default: build a small one)")
    parser.add_argument("--reference", default=REFERENCE, help="git revision of the reference code")
    parser.add_argument("--selection-copies", default="1,2,4,8")
    parser.add_argument("--assemble-sizes", default="1,4,32", help="copies of the base for assemble + validate")
    parser.add_argument("--assemble-base", type=int, default=24, help="videos of the pool copied for it")
    args = parser.parse_args()
    work = scratch()
    try:
        data = args.data or small_pipeline(work / "small", through="qa")
        old = unpack(args.reference, work / "reference")
        codes = {"reference": old, "this code": ROOT}
        copies = [int(k) for k in args.selection_copies.split(",")]
        if args.data is None:  # the small pool has 1/4 of the default's videos: 4x as many copies
            copies = [4 * k for k in copies]
        selection = {}
        for name, code in codes.items():
            params = params_file(code, work / f"{name}.yaml", data)
            selection[name] = {int(k): v for k, v in json.loads(run(code, SELECTION, str(params), str(data / "qa"),
                                                                  json.dumps(copies))).items()}
        print("selection step (select_benchmark + select_train), CPU seconds (the machine may be shared):")
        for k in copies:
            ref, new = selection["reference"][k], selection["this code"][k]
            same = "same rows" if ref["selected"] == new["selected"] else "DIFFERENT rows"
            print(f"  {k:3d}x  {new['rows']:7d} rows  reference {ref['seconds']:7.2f}  this code {new['seconds']:6.2f}  "
                  f"ratio {new['seconds'] / ref['seconds']:.3f}  {same}")
        for name in codes:
            print(f"  growth exponent, {name}: {exponent(copies, [selection[name][k]['seconds'] for k in copies]):.2f}")
        base_videos = min(args.assemble_base, len(list((data / "qa").glob("*.parquet"))))
        sizes = [int(k) for k in args.assemble_sizes.split(",")]
        cpu: dict[str, list[float]] = {name: [] for name in codes}
        for k in sizes:
            for name, code in codes.items():
                root = replicated_root(data, work / f"rep-{name}-{k}" / "data", k, base_videos)
                params = params_file(code, work / f"rep-{name}-{k}" / "params.yaml", root,
                                     validate={"probe": {"enabled": False}} if name == "reference" else {})
                cpu[name].append(float(run(code, DATASET, str(params))))
                shutil.rmtree(root.parent)
        print("assemble + validate, CPU seconds:")
        for i, k in enumerate(sizes):
            print(f"  {k * base_videos:5d} videos  reference {cpu['reference'][i]:8.1f}  this code {cpu['this code'][i]:8.1f}")
        videos = [k * base_videos for k in sizes]
        for name in codes:
            print(f"  growth exponent {videos[0]} -> {videos[-1]} videos, {name}: {exponent(videos, cpu[name]):.2f}"
                  + ("  (goal <= 1.05)" if name == "this code" else ""))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
