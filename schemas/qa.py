"""Pandera (polars) model of the QA record table (team brief "QA record"); one row per question.

:func:`validate_qa` raises :class:`QASchemaError` whose message names the failing record ids and checks.
"""

from __future__ import annotations

import re

import pandera.errors
import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

QUESTION_NAMES = {
    1: "camera_movement", 2: "camera_object_distance", 3: "object_rotation", 4: "object_direction",
    5: "agent_motion", 6: "moved_distance", 7: "object_object_distance_change", 8: "depth",
    9: "object_object_distance", 10: "multiview_depth", 11: "multiview_object_distance", 12: "visual_tracking",
    13: "true_motion_tracking",
}
METRIC_NAMES = ("metric_speed", "metric_displacement", "metric_path_length", "metric_camera_travel")
CATEGORIES = ("camera_motion", "object_motion", "spatial", "point_tracking", "metric")
REFERENCE_MODES = ("caption", "pixel", "circle", "box_mark", "none")
ANSWER_FORMATS = ("mc", "yn", "free", "trajectory", "numeric")
LETTERS = ("A", "B", "C", "D")

# "<frame>: (x, y) visible|occluded" or "<frame>: out of view", entries joined by "; "
TRAJECTORY_ENTRY = re.compile(r"^(\d+): (?:\((\d\.\d{3}), (\d\.\d{3})\) (visible|occluded)|(out of view))$")


def trajectory_ok(answer: str) -> bool:
    """Every entry parses, frames are unique and coordinates lie in [0, 1]."""
    frames = set()
    for entry in answer.split("; "):
        m = TRAJECTORY_ENTRY.match(entry)
        if not m:
            return False
        f = int(m.group(1))
        if f in frames:
            return False
        frames.add(f)
        if m.group(2) is not None and not (0.0 <= float(m.group(2)) <= 1.0 and 0.0 <= float(m.group(3)) <= 1.0):
            return False
    return bool(frames)


class QASchema(pa.DataFrameModel):
    id: pl.Utf8 = pa.Field(unique=True, str_length={"min_value": 1})
    video_id: pl.Utf8
    source: pl.Utf8
    clip_id: pl.Utf8
    clip_frames: pl.List(pl.Int64)
    fps: pl.Float64 = pa.Field(gt=0)
    question_type: pl.Int64 = pa.Field(ge=0, le=13)
    question_name: pl.Utf8 = pa.Field(isin=list(QUESTION_NAMES.values()) + list(METRIC_NAMES))
    category: pl.Utf8 = pa.Field(isin=list(CATEGORIES))
    reference_mode: pl.Utf8 = pa.Field(isin=list(REFERENCE_MODES))
    answer_format: pl.Utf8 = pa.Field(isin=list(ANSWER_FORMATS))
    question: pl.Utf8 = pa.Field(str_length={"min_value": 1})
    options: pl.List(pl.Utf8)
    answer: pl.Utf8 = pa.Field(str_length={"min_value": 1})
    answer_text: pl.Utf8
    label: pl.Utf8
    measurement: pl.Utf8
    threshold: pl.Utf8
    marks: pl.Utf8
    object_ids: pl.List(pl.Int64)
    template_id: pl.Utf8
    seed: pl.Int64
    phrased: pl.Boolean

    class Config:
        strict = True

    @pa.dataframe_check(error="question_type does not match question_name")
    def type_matches_name(cls, data: PolarsData) -> pl.LazyFrame:
        expected = pl.col("question_type").replace_strict(QUESTION_NAMES, default="", return_dtype=pl.Utf8)
        ok = pl.when(pl.col("question_type") == 0).then(pl.col("question_name").is_in(list(METRIC_NAMES)))
        return data.lazyframe.select(ok.otherwise(pl.col("question_name") == expected).alias("ok"))

    @pa.dataframe_check(error="mc record needs 4 distinct options and an answer letter A-D")
    def mc_ok(cls, data: PolarsData) -> pl.LazyFrame:
        ok = (pl.col("options").list.len() == 4) & (pl.col("options").list.n_unique() == 4) & pl.col("answer").is_in(list(LETTERS))
        return data.lazyframe.select((pl.col("answer_format") != "mc") | ok)

    @pa.dataframe_check(error="yn record needs options [yes, no] and answer yes/no")
    def yn_ok(cls, data: PolarsData) -> pl.LazyFrame:
        ok = pl.col("answer").is_in(["yes", "no"]) & (pl.col("options").list.join("|") == "yes|no")
        return data.lazyframe.select((pl.col("answer_format") != "yn") | ok)

    @pa.dataframe_check(error="trajectory answer must be '<frame>: (x, y) visible|occluded' entries with x, y in [0, 1]")
    def trajectory_in_range(cls, data: PolarsData) -> pl.LazyFrame:
        ok = pl.col("answer").map_elements(trajectory_ok, return_dtype=pl.Boolean)
        return data.lazyframe.select((pl.col("answer_format") != "trajectory") | ok)

    @pa.dataframe_check(error="numeric answer must parse as a non-negative number")
    def numeric_ok(cls, data: PolarsData) -> pl.LazyFrame:
        ok = pl.col("answer").cast(pl.Float64, strict=False).fill_null(-1.0) >= 0
        return data.lazyframe.select((pl.col("answer_format") != "numeric") | ok)


class QASchemaError(ValueError):
    """QA records that violate :class:`QASchema`; the message lists record ids and failed checks."""


def validate_qa(df: pl.DataFrame, where: str = "qa") -> pl.DataFrame:
    """Validate ``df`` against :class:`QASchema`; errors name the record ids (``where`` = file or video)."""
    try:
        return QASchema.validate(df, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        ids = df["id"].to_list() if "id" in df.columns else []
        lines = []
        for row in cases.head(20).iter_rows(named=True):
            idx = row.get("index")
            rid = ids[idx] if isinstance(idx, int) and 0 <= idx < len(ids) else "?"
            lines.append(f"id={rid}: {row.get('column') or ''} {row.get('check')}: {row.get('failure_case')}")
        raise QASchemaError(f"{where}: {len(cases)} QA schema violations:\n" + "\n".join(lines)) from exc
