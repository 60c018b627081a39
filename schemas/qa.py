"""Pandera (polars) model of the QA record table (team brief "QA record"); one row per question.

:func:`validate_qa` raises :class:`QASchemaError` whose message names the failing record ids and checks.
"""

from __future__ import annotations

import json

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


def _marks_ok(marks: str, n_frames: int) -> bool:
    """Marks JSON is a list of circle/box marks with normalised coordinates in [0, 1] on an existing clip frame."""
    try:
        items = json.loads(marks)
    except (TypeError, json.JSONDecodeError):
        return False
    if not isinstance(items, list):
        return False
    for m in items:
        if not isinstance(m, dict) or m.get("kind") not in ("circle", "box"):
            return False
        coords = m.get("xy") if m["kind"] == "circle" else m.get("box")
        if not isinstance(coords, list) or len(coords) != (2 if m["kind"] == "circle" else 4):
            return False
        if not all(isinstance(c, (int, float)) and 0.0 <= c <= 1.0 for c in coords):
            return False
        if not isinstance(m.get("frame"), int) or not 0 <= m["frame"] < n_frames:
            return False
    return True


def _json_ok(text: str) -> bool:
    try:
        json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return False
    return True


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

    @pa.dataframe_check(error="mc answer letter does not point at answer_text among the options")
    def answer_text_is_option(cls, data: PolarsData) -> pl.LazyFrame:
        letter_index = pl.col("answer").replace_strict(list(LETTERS), list(range(len(LETTERS))), default=None,
                                                       return_dtype=pl.Int64)
        picked = pl.col("options").list.get(letter_index.fill_null(0), null_on_oob=True)
        ok = (pl.col("answer_format") != "mc") | (letter_index.is_not_null() & (picked == pl.col("answer_text")))
        return data.lazyframe.select(ok.fill_null(False).alias("answer_text_is_option"))

    @pa.dataframe_check(error="marks are not a JSON list of circle/box marks with coordinates in [0, 1] on a clip frame")
    def marks_in_image(cls, data: PolarsData) -> pl.LazyFrame:
        ok = pl.struct("marks", "clip_frames").map_elements(
            lambda r: _marks_ok(r["marks"], len(r["clip_frames"] or [])), return_dtype=pl.Boolean)
        return data.lazyframe.select(ok.alias("marks_in_image"))

    @pa.dataframe_check(error="measurement / threshold are not valid JSON")
    def json_fields(cls, data: PolarsData) -> pl.LazyFrame:
        ok = (pl.col("measurement").map_elements(_json_ok, return_dtype=pl.Boolean)
              & pl.col("threshold").map_elements(_json_ok, return_dtype=pl.Boolean))
        return data.lazyframe.select(ok.alias("json_fields"))


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
