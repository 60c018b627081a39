"""Clip export + Hugging Face export: the previous exporter against the content-keyed one, on the same selected rows.

Baseline (the exporter before issue 16.3, kept here verbatim in substance): every distinct (clip, marks) variant of
every row written as 32 JPEGs *and* an mp4v mp4, one variant at a time, then a ``DatasetDict`` saved with one
embedded mp4 per row. New (:mod:`fourdpqa.clips`, :mod:`fourdpqa.export.hf`): each frame JPEG-encoded once,
unmarked frames shared by every question on a clip, a marked frame only where a mark is drawn, a thread pool, and a
Parquet export that references the clip files. The default configuration (``assemble.export_mp4: false``) stores
no mp4: lmms-eval muxes a benchmark variant's mp4 from its JPEG files on first read (timed here as "lmms-eval
muxing", outside the export); with ``export_mp4: true`` the export stores those mp4s (the same bytes).

The inputs come from the real pipeline (generate -> standardize -> tracks -> qa -> assemble) in a temporary data
root; ``--videos 96`` with the other defaults is the default configuration of ``params.yaml`` (slow on a laptop:
the per-video stages take most of the time, not the export). Printed: bytes and wall seconds of both, their
ratios (goal <= 0.25 for both) and the bytes per benchmark question, for both settings.

    python benchmarks/export.py [--videos 12] [--frames 32] [--size 448] [--gen-size 256] [--workers 2] [--root DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import polars as pl
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from fourdpqa.__main__ import main
from fourdpqa.clips import JPEG_QUALITY, burned_marks, export_clips, mux_frames, resize_clip
from fourdpqa.export.hf import CLASS_LABELS, save_hf
from fourdpqa.layout import item_name, scene_dir
from fourdpqa.prompts import draw_marks
from fourdpqa.scene import read_scene

STAGES = ["generate", "standardize", "tracks", "qa", "assemble"]
EXPORT_COLUMNS = ("clip_key", "video", "frames", "split")


# ------------------------------------------------------------------------------------------ baseline (previous code)


def baseline_clip_key(clip_id: str, marks: list) -> str:
    if not marks:
        return f"{clip_id}-plain"
    return f"{clip_id}-m" + hashlib.sha1(json.dumps(marks, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:10]


def baseline_write_clip(frames: np.ndarray, out_dir: Path, fps: float) -> None:
    out_dir.mkdir(parents=True)
    for i, frame in enumerate(frames):
        _, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        (out_dir / f"{i:05d}.jpg").write_bytes(buf.tobytes())
    h, w = frames.shape[1:3]
    writer = cv2.VideoWriter(str(out_dir / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def baseline_export_clips(rows: pl.DataFrame, scenes: Path, out: Path, width: int, height: int) -> pl.DataFrame:
    """JPEG frames and an mp4 per distinct (clip, marks) variant, one after the other, scenes read per video."""
    keys, videos, frame_lists, done, scene = [], [], [], set(), None
    rows = rows.sort("video_id", "id")
    for rec in rows.iter_rows(named=True):
        marks = burned_marks(rec["reference_mode"], rec["marks"])
        key = baseline_clip_key(rec["clip_id"], marks)
        base = f"clips/{item_name(rec['video_id'])}/{key}"
        keys.append(key)
        videos.append(f"{base}/clip.mp4")
        frame_lists.append([f"{base}/{i:05d}.jpg" for i in range(len(rec["clip_frames"]))])
        if key in done:
            continue
        if scene is None or scene.video_id != rec["video_id"]:
            scene = read_scene(scene_dir(scenes, rec["video_id"]))
        frames = resize_clip(scene.rgb[np.asarray(rec["clip_frames"], dtype=int)], width, height)
        if marks:
            frames = np.stack([draw_marks(frames[i], marks, i) for i in range(len(frames))])
        baseline_write_clip(frames, out / base, rec["fps"])
        done.add(key)
    return rows.with_columns(pl.Series("clip_key", keys), pl.Series("video", videos),
                             pl.Series("frames", frame_lists, pl.List(pl.Utf8)))


def baseline_save_hf(out_dir: Path, dataset_dir: Path, splits: dict[str, pl.DataFrame]) -> None:
    """``save_to_disk`` of a DatasetDict whose rows embed their mp4 (``Video`` feature with bytes)."""
    import datasets

    datasets.disable_progress_bars()
    dd = {}
    for name, df in splits.items():
        table = df.sort("id")
        plain = datasets.Dataset.from_polars(table.drop("video", "frames"))
        features = plain.features.copy()
        for column, names in CLASS_LABELS.items():
            features[column] = datasets.ClassLabel(names=names)
        features["video"] = datasets.Video()
        rows = plain.to_dict()
        rows["video"] = [{"bytes": (dataset_dir / v).read_bytes(), "path": v} for v in table["video"].to_list()]
        for column, names in CLASS_LABELS.items():
            rows[column] = [names.index(v) for v in rows[column]]
        dd[name] = datasets.Dataset.from_dict(rows, features=features)
    datasets.DatasetDict(dd).save_to_disk(str(out_dir))


# ------------------------------------------------------------------------------------------------------ measuring


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def benchmark_bytes(dataset: Path, bench: pl.DataFrame) -> int:
    """Bytes of the distinct clip files the benchmark rows reference (frames and mp4s)."""
    files = {f for fs in bench["frames"] for f in fs} | {v for v in bench["video"] if v}
    return sum((dataset / f).stat().st_size for f in files)


def measured(export_clips_of, save_hf_of, out: Path) -> dict:
    """Wall and CPU seconds (all threads) of the clip export then the HF export, and the bytes each wrote."""
    start, cpu = time.perf_counter(), time.process_time()
    done = export_clips_of()
    clip_s = time.perf_counter() - start
    save_hf_of(done)
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "clip_seconds": clip_s,
            "clips": tree_bytes(out / "clips"), "hf": tree_bytes(out / "hf"),
            "bench_bytes": benchmark_bytes(out, done["benchmark"]), "benchmark": done["benchmark"]}


def run_baseline(rows: dict[str, pl.DataFrame], scenes: Path, out: Path, size: tuple[int, int]) -> dict:
    return measured(lambda: {k: baseline_export_clips(df, scenes, out, *size) for k, df in rows.items()},
                    lambda done: baseline_save_hf(out / "hf", out, done), out)


def run_new(rows: dict[str, pl.DataFrame], scenes: Path, out: Path, size: tuple[int, int], workers: int,
            mp4: bool = True) -> dict:
    return measured(lambda: {k: export_clips(df, scenes, out, *size, mp4=mp4 and k == "benchmark", workers=workers)
                             for k, df in rows.items()},
                    lambda done: save_hf(out / "hf", done, out), out)


def lmms_eval_muxing(dataset: Path, bench: pl.DataFrame, cache: Path) -> tuple[float, int, int]:
    """What lmms-eval pays without stored mp4s: CPU seconds and bytes of muxing every benchmark variant's mp4 from
    its JPEG files once (as ``doc_to_visual`` does), and how many variants."""
    variants = bench.unique("clip_key", keep="first")
    cpu = time.process_time()
    paths = [mux_frames([dataset / f for f in r["frames"]], cache / f"{r['clip_key']}.mp4", r["fps"])
             for r in variants.iter_rows(named=True)]
    return time.process_time() - cpu, sum(p.stat().st_size for p in paths), variants.height


def build_inputs(root: Path, args: argparse.Namespace) -> tuple[Path, dict[str, pl.DataFrame]]:
    """Run the pipeline in ``root``; returns the scenes folder and the selected rows without export columns."""
    data = root / "data"
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump({
        "base": {"data_root": str(data), "allowed_roots": [str(data)], "num_threads": args.workers},
        "generate": {"n_videos": args.videos, "n_frames": args.frames, "width": args.gen_size, "height": args.gen_size},
        "standardize": {"sources": [{"name": "procedural", "kind": "kubric", "root": str(data / "raw" / "procedural")}]},
        "qa": {"clip_frames": args.frames, "out_width": args.size, "out_height": args.size},
    }))
    for stage in STAGES:
        if main([stage, "--params", str(params), *(["--workers", str(args.workers)] if stage != "assemble" else [])]):
            raise SystemExit(f"{stage} failed")
    rows = {s: pl.read_parquet(data / "dataset" / f"{s}.parquet").drop(*EXPORT_COLUMNS) for s in ("train", "benchmark")}
    return data / "scenes", rows


def main_(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=12)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--size", type=int, default=448, help="qa.out_width = qa.out_height")
    parser.add_argument("--gen-size", type=int, default=256, help="generate.width = generate.height")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--root", type=Path, help="keep the pipeline inputs here (a rerun reuses them)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.root or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        scenes, rows = build_inputs(root, args)
        size = (args.size, args.size)
        old = run_baseline(rows, scenes, Path(tmp) / "old", size)
        stored = run_new(rows, scenes, Path(tmp) / "stored", size, args.workers)
        default = run_new(rows, scenes, Path(tmp) / "default", size, args.workers, mp4=False)
        mux_cpu, mux_bytes, n_variants = lmms_eval_muxing(Path(tmp) / "default", default["benchmark"],
                                                          Path(tmp) / "cache")
    n_bench, n_train = rows["benchmark"].height, rows["train"].height
    print(f"export of {n_train} train + {n_bench} benchmark questions ({args.videos} videos, {args.frames} frames, "
          f"{args.size}x{args.size}):")
    for name, r in (("previous", old), ("mp4s stored", stored), ("default", default)):
        total = r["clips"] + r["hf"]
        print(f"  {name:>11}: {total / 1e6:8.1f} MB (clips {r['clips'] / 1e6:.1f} MB, hf {r['hf'] / 1e6:.1f} MB), "
              f"{r['seconds']:6.1f} s wall (clips {r['clip_seconds']:.1f} s), {r['cpu']:6.1f} s CPU; "
              f"{r['bench_bytes'] / n_bench / 1e3:.0f} kB per benchmark question")
    for name, r in (("default (assemble.export_mp4: false)", default),
                    ("export_mp4: true (MJPEG mp4s stored)", stored)):
        print(f"  ratio new/previous, {name}: bytes {(r['clips'] + r['hf']) / (old['clips'] + old['hf']):.3f}, "
              f"wall time {r['seconds'] / old['seconds']:.3f}, CPU time {r['cpu'] / old['cpu']:.3f} (goal <= 0.25)")
    print(f"  lmms-eval muxing without stored mp4s: {mux_cpu:.2f} s CPU for {n_variants} benchmark variants "
          f"({1e3 * mux_cpu / n_variants:.1f} ms each), {mux_bytes / 1e6:.1f} MB in its cache (same bytes as stored)")

if __name__ == "__main__":
    main_()
