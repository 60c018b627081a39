"""qa: QA records of every standard scene -> data/qa/<video_id>.parquet and <video_id>.measurements.json.

Records follow schemas.qa.QASchema; the JSON holds the per-clip measurements (fourdpqa.motion.summarise).

Per video: sample clip windows, measure motion, generate questions of every enabled type, optionally paraphrase
them (litellm, ``params.phrasing.model``), validate and write. Deterministic: the same seed, params and scene give
byte-identical parquet files. A bad video is quarantined and the rest go on.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path

import polars as pl

from fourdpqa import layout, markdown
from fourdpqa.atomic import write_json, write_parquet
from fourdpqa.motion import clip_motion, summarise
from fourdpqa.params import Params
from fourdpqa.phrasing import Phraser
from fourdpqa.qa_tracks import stored_tracks
from fourdpqa.questions import generate_clip, skipped_types, to_record
from fourdpqa.questions.base import Ctx
from fourdpqa.seeding import rng
from fourdpqa.scene import read_scene
from fourdpqa.scene_clips import scene_windows
from fourdpqa.stages import common, stage_list
from fourdpqa.stages.protocol import Stage, StageReport, run_stage
from fourdpqa.stages.pool import pool_runner
from fourdpqa.stages.scene_items import scene_items
from schemas.qa import MARK, MEASUREMENT, THRESHOLD, validate_qa

log = logging.getLogger("fourdpqa.qa")
QA_COLUMNS: dict[str, pl.DataType] = {
    "id": pl.Utf8, "video_id": pl.Utf8, "source": pl.Utf8, "clip_id": pl.Utf8, "clip_frames": pl.List(pl.Int64),
    "fps": pl.Float64, "question_type": pl.Int64, "question_name": pl.Utf8, "category": pl.Utf8,
    "reference_mode": pl.Utf8, "answer_format": pl.Utf8, "question": pl.Utf8, "options": pl.List(pl.Utf8),
    "answer": pl.Utf8, "answer_text": pl.Utf8, "label": pl.Utf8, "measurement": MEASUREMENT, "threshold": THRESHOLD,
    "marks": pl.List(MARK), "object_ids": pl.List(pl.Int64), "template_id": pl.Utf8, "seed": pl.Int64, "phrased": pl.Boolean,
}


def qa_dir(params: Params) -> Path:
    return layout.of(params).qa


def qa_path(params: Params, video_id: str) -> Path:
    return layout.of(params).qa_table(video_id)


def measurements_path(params: Params, video_id: str) -> Path:
    """Per-clip continuous measurements (camera/object motion, distances, visibility) for review and threshold tuning."""
    return layout.of(params).measurements(video_id)


def generate_records(params: Params, video_id: str, measurements: dict | None = None) -> list[dict]:
    """All QA records of one video (before phrasing); fills ``measurements`` (if given) with the per-clip
    :func:`fourdpqa.motion.summarise` output, keyed by clip id."""
    where = layout.of(params)
    scene = read_scene(where.scene(video_id), with_rgb=False)
    qa = params.qa_for(scene.meta.source, scene.meta.fps)
    th = params.thresholds_for(scene.meta.source)
    seed = params.base.seed
    windows = scene_windows(params, scene.meta)
    tracks = stored_tracks(where.tracks, scene) if {12, 13} & set(qa.question_types or (12, 13)) else None
    times = scene.cameras["time_s"].to_numpy()
    records: list[dict] = []
    for c, frames in enumerate(windows):
        clip_id = f"{video_id}-c{c}"
        m = clip_motion(scene, frames)
        dt = float(times[frames[-1]] - times[frames[0]])
        fps = (len(frames) - 1) / dt if dt > 0 else scene.meta.fps
        ctx = Ctx(scene, m, th, qa, rng(seed, "qa", clip_id), depth_tolerance=params.tracks.depth_tolerance,
                  tracks=tracks)
        if measurements is not None:  # types a short clip cannot carry are listed with the reason
            skipped = {str(t): why for t, why in skipped_types(ctx).items()}
            measurements[clip_id] = {"clip_frames": frames.tolist(), **summarise(m), "skipped_types": skipped}
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


def oracle_check(params: Params, video_id: str) -> Callable[[Mapping, Mapping], str | None]:
    """The paraphrase gate of one video: oracle-2 (an independent reader of the question text and the scene) must
    read a paraphrase as it reads the template — the same objects in the same roles, the same answer — or the
    paraphrase is rejected before it is written, whatever a verification call said."""
    from fourdpqa.oracle2 import judge, load_evidence

    where = layout.of(params)
    evidence = load_evidence(where.scene(video_id), where.tracks_file(video_id))

    def check(template: Mapping, phrased: Mapping) -> str | None:
        before = judge(template, evidence)
        if before.status != "agree":
            return None  # outside what oracle-2 derives: the rule-based checks decide
        after = judge(phrased, evidence)
        return None if after.status == "agree" else f"oracle-2 reads the paraphrase differently: {after.detail}"

    return check


def qa_one(params: Params, video_id: str, out: Path | None = None, phraser: Phraser | None = None) -> Path:
    """Generate, (optionally) phrase, validate and write the QA records of one video into ``out`` (default: the qa
    folder); returns the parquet path. ``phraser`` is the stage run's (one LLM time budget and circuit breaker for
    all videos of a process)."""
    measurements: dict = {}
    records = generate_records(params, video_id, measurements)
    if params.phrasing.model:
        records = (phraser or Phraser(params.phrasing)).phrase_records(records, oracle_check(params, video_id))
    df = validate_qa(records_frame(records), where=f"video {video_id!r}")
    folder = out or qa_dir(params)
    table = folder / qa_path(params, video_id).name
    write_parquet(table, df)
    write_json(folder / measurements_path(params, video_id).name, measurements)
    for reason, n in skipped_counts(measurements).items():
        log.info("qa: %s: %d (clip, type) pairs skipped: %s", video_id, n, reason)
    return table


def skipped_counts(measurements: dict) -> dict[str, int]:
    """(clip, question type) pairs a video's clips could not carry, per reason (a video's measurements JSON)."""
    return dict(Counter(why for clip in measurements.values() for why in clip.get("skipped_types", {}).values()))


def read_skipped_counts(params: Params, video_id: str) -> dict[str, int]:
    """:func:`skipped_counts` of the video's stored measurements (empty when it has none yet)."""
    path = measurements_path(params, video_id)
    return skipped_counts(json.loads(path.read_text())) if path.exists() else {}


def summary(df: pl.DataFrame) -> dict[str, str]:
    """Markdown tables for reports and the Dagster UI: counts per type, per (type, label), per mode and format."""
    def table(cols: list[str]) -> str:
        return markdown.table([*cols, "n"], df.group_by(cols).len().sort(cols).iter_rows())

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
    ranked = df.with_columns((pl.col("marks").list.len() > 0).alias("_marked")).sort(["_marked", "id"], descending=[True, False])
    picked = ranked.unique(subset=["question_type"], keep="first", maintain_order=True).head(n)
    return picked.drop("_marked").to_dicts()


STAGE = Stage(
    info=stage_list.get("qa"),
    out_dir=lambda where: where.qa,
    items=scene_items,
    work=lambda job: qa_one(job.params, job.item, job.out, job.session),
    outputs=lambda params, vid: [qa_path(params, vid), measurements_path(params, vid)],
    inputs=lambda params, vid: [layout.of(params).scene(vid), layout.of(params).tracks_file(vid)],
    session=lambda params: Phraser(params.phrasing) if params.phrasing.model else None,
    uses_torch=False,
)


def run(params: Params, args: argparse.Namespace | None = None) -> StageReport:
    return run_stage(STAGE, params, only=common.videos_arg(args), force=common.force_arg(args),
                     runner=pool_runner(common.workers_arg(args)))
