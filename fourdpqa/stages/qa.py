"""qa: QA records of every standard scene -> data/qa/<video_id>.parquet and <video_id>.measurements.json.

Records follow schemas.qa.QASchema; the JSON holds the per-clip measurements (fourdpqa.motion.summarise).

Per video: sample clip windows, measure motion, generate questions of every enabled type, optionally paraphrase
them (litellm, ``params.phrasing.model``), validate and write. Deterministic: the same seed, params and scene give
byte-identical parquet files. A bad video is quarantined and the rest go on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from pathlib import Path

import polars as pl

from fourdpqa.atomic import sweep_tmp, write_json, write_parquet, write_text
from fourdpqa.motion import clip_motion, summarise
from fourdpqa.params import Params
from fourdpqa.phrasing import Phraser
from fourdpqa.questions import generate_clip, to_record
from fourdpqa.questions.base import Ctx
from fourdpqa.sampling import clip_windows, rng_for
from fourdpqa.scene import list_scenes, read_scene
from fourdpqa.stages.common import StageReport, for_each_item, write_report
from schemas.qa import validate_qa

STAGE = "qa"

QA_COLUMNS: dict[str, pl.DataType] = {
    "id": pl.Utf8, "video_id": pl.Utf8, "source": pl.Utf8, "clip_id": pl.Utf8, "clip_frames": pl.List(pl.Int64),
    "fps": pl.Float64, "question_type": pl.Int64, "question_name": pl.Utf8, "category": pl.Utf8,
    "reference_mode": pl.Utf8, "answer_format": pl.Utf8, "question": pl.Utf8, "options": pl.List(pl.Utf8),
    "answer": pl.Utf8, "answer_text": pl.Utf8, "label": pl.Utf8, "measurement": pl.Utf8, "threshold": pl.Utf8,
    "marks": pl.Utf8, "object_ids": pl.List(pl.Int64), "template_id": pl.Utf8, "seed": pl.Int64, "phrased": pl.Boolean,
}


def qa_dir(params: Params) -> Path:
    return params.data / "qa"


def qa_path(params: Params, video_id: str) -> Path:
    return qa_dir(params) / f"{video_id}.parquet"


def measurements_path(params: Params, video_id: str) -> Path:
    """Per-clip continuous measurements (camera/object motion, distances, visibility) for review and threshold tuning."""
    return qa_dir(params) / f"{video_id}.measurements.json"


def generate_records(params: Params, video_id: str, measurements: dict | None = None) -> list[dict]:
    """All QA records of one video (before phrasing); fills ``measurements`` (if given) with the per-clip
    :func:`fourdpqa.motion.summarise` output, keyed by clip id."""
    scene = read_scene(params.data / "scenes" / video_id, with_rgb=False)
    qa = params.qa_for(scene.meta.source, scene.meta.fps)
    th = params.thresholds_for(scene.meta.source)
    seed = params.base.seed
    windows = clip_windows(scene.meta.n_frames, qa.clip_frames, qa.clip_stride, qa.clips_per_video,
                           rng_for(seed, "qa-clips", video_id))
    times = scene.cameras["time_s"].to_numpy()
    records: list[dict] = []
    for c, frames in enumerate(windows):
        clip_id = f"{video_id}-c{c}"
        m = clip_motion(scene, frames)
        if measurements is not None:
            measurements[clip_id] = {"clip_frames": frames.tolist(), **summarise(m)}
        dt = float(times[frames[-1]] - times[frames[0]])
        fps = (len(frames) - 1) / dt if dt > 0 else scene.meta.fps
        ctx = Ctx(scene, m, th, qa, rng_for(seed, "qa", clip_id), depth_tolerance=params.tracks.depth_tolerance)
        counts: Counter[int] = Counter()
        for d in generate_clip(ctx):
            n = counts[d.question_type]
            counts[d.question_type] += 1
            records.append(to_record(d, rid=f"{clip_id}-q{d.question_type:02d}-{n:03d}", video_id=video_id,
                                     source=scene.meta.source, clip_id=clip_id, clip_frames=frames.tolist(), fps=fps,
                                     seed=seed))
    return records


def records_frame(records: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(records, schema=QA_COLUMNS) if records else pl.DataFrame(schema=QA_COLUMNS)


def qa_one(params: Params, video_id: str, phraser: Phraser | None = None) -> Path:
    """Generate, (optionally) phrase, validate and write the QA records of one video; returns the parquet path.
    ``phraser`` is the stage run's (one LLM time budget and circuit breaker for all videos)."""
    measurements: dict = {}
    records = generate_records(params, video_id, measurements)
    if params.phrasing.model:
        records = (phraser or Phraser(params.phrasing)).phrase_records(records)
    df = validate_qa(records_frame(records), where=f"video {video_id!r}")
    out = qa_path(params, video_id)
    write_parquet(out, df)
    write_json(measurements_path(params, video_id), measurements)
    write_text(_fingerprint_file(params, video_id), fingerprint(params, video_id) + "\n")
    return out


def fingerprint(params: Params, video_id: str) -> str:
    """Digest of what one video's QA depends on: seed, qa/phrasing/tracks params and the scene files."""
    scene_dir = params.data / "scenes" / video_id
    # content, not mtimes: the marker is a DVC output and must be byte-identical across runs and checkouts
    files = sorted((p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in scene_dir.glob("*") if p.is_file())
    blob = json.dumps({"seed": params.base.seed, "qa": params.qa.model_dump(), "phrasing": params.phrasing.model_dump(),
                       "tracks": params.tracks.depth_tolerance, "scene": files}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _fingerprint_file(params: Params, video_id: str) -> Path:
    return qa_dir(params) / f"{video_id}.fingerprint"


def is_up_to_date(params: Params, video_id: str) -> bool:
    marker = _fingerprint_file(params, video_id)
    return (qa_path(params, video_id).exists() and marker.exists()
            and marker.read_text().strip() == fingerprint(params, video_id))


def summary(df: pl.DataFrame) -> dict[str, str]:
    """Markdown tables for reports and the Dagster UI: counts per type, per (type, label), per mode and format."""
    def table(cols: list[str]) -> str:
        g = df.group_by(cols).len().sort(cols)
        head = "| " + " | ".join(cols) + " | n |\n|" + "---|" * (len(cols) + 1)
        return "\n".join([head] + ["| " + " | ".join(str(v) for v in row) + " |" for row in g.iter_rows()])

    return {
        "per_type": table(["question_type", "question_name"]),
        "per_label": table(["question_name", "label"]),
        "per_reference_mode": table(["reference_mode"]),
        "per_answer_format": table(["answer_format"]),
    }


def preview_records(df: pl.DataFrame, n: int = 5) -> list[dict]:
    """Up to ``n`` records spread over question types (deterministic), preferring ones with visual marks."""
    if df.is_empty():
        return []
    ranked = df.with_columns((pl.col("marks") != "[]").alias("_marked")).sort(["_marked", "id"], descending=[True, False])
    picked = ranked.unique(subset=["question_type"], keep="first", maintain_order=True).head(n)
    return picked.drop("_marked").to_dicts()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="regenerate even when outputs are up to date")
    parser.add_argument("--video", action="append", help="only this video id (repeatable)")


def run(params: Params, args: argparse.Namespace | None = None) -> StageReport:
    force = bool(getattr(args, "force", False))
    only = getattr(args, "video", None)
    sweep_tmp(qa_dir(params))
    items = [p.name for p in list_scenes(params.data / "scenes")]
    if only:
        items = [v for v in items if v in set(only)]
    phraser = Phraser(params.phrasing) if params.phrasing.model else None
    report = for_each_item(STAGE, items, lambda v: qa_one(params, v, phraser), params.data,
                           is_done=None if force else (lambda v: is_up_to_date(params, v)))
    report.counts.update(phraser.counts() if phraser else {})
    write_report(report, qa_dir(params) / "_report.json")
    return report
