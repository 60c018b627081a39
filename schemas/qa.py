"""Pandera (polars) model of the QA record table (team brief "QA record"); one row per question.

:func:`validate_qa` raises :class:`QASchemaError` whose message names the failing record ids and checks.
"""

from __future__ import annotations

import re

import pandera.errors
import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from fourdpqa.errors import BadInput

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


def trajectory_ok() -> pl.Expr:
    """Per row of ``answer``: every "; "-separated entry parses, frames are unique and coordinates lie in [0, 1]."""
    entries = pl.col("answer").str.split("; ")

    def group(i: int) -> pl.Expr:  # capture group i of every entry (null where it did not match)
        return entries.list.eval(pl.element().str.extract(TRAJECTORY_ENTRY.pattern, i).cast(pl.Float64))

    frames = group(1)
    parsed = entries.list.eval(pl.element().str.contains(TRAJECTORY_ENTRY.pattern)).list.all()
    inside = (group(2).list.max() <= 1.0).fill_null(True) & (group(3).list.max() <= 1.0).fill_null(True)
    return (parsed & (frames.list.n_unique() == frames.list.len()) & inside).fill_null(False)


# Typed columns. ``marks`` is a list of mark structs: a circle (``xy`` = centre ((x+0.5)/W, (y+0.5)/H), ``radius``
# as a fraction of max(W, H)) or a box (``box`` = pixel-edge [x0, y0, x1, y1] / (W, H)) on clip frame ``frame``;
# the fields of the other kind are null. ``measurement`` and ``threshold`` hold what differs per question type
# (spec, quoted values) and per source (label thresholds). Their values are lists and nested lists, not scalars,
# so a list of {name, value} rows cannot type them; each is one struct with the union of the fields every question
# type writes, a field a type does not use left null. One fixed struct per column keeps every QA table and split
# on one Parquet schema (concatenation and the Hugging Face export need that) and lets pandera check the dtype; a
# new spec/values field must be added here (:func:`unknown_fields` makes the writer fail on it, not drop it).
MARK = pl.Struct({"kind": pl.Utf8, "frame": pl.Int64, "label": pl.Utf8, "xy": pl.List(pl.Float64),
                  "radius": pl.Float64, "box": pl.List(pl.Float64)})
MARK_COORDS = {"xy": 2, "box": 4}  # coordinate field -> its length
SPEC = pl.Struct({
    "objects": pl.List(pl.Int64), "frames": pl.List(pl.Int64), "pairs": pl.List(pl.List(pl.Int64)),
    "query": pl.Utf8, "option_labels": pl.List(pl.Utf8), "kind": pl.Utf8, "mode": pl.Utf8, "aspect": pl.Utf8,
    "layout": pl.Utf8, "query_frame": pl.Int64, "xy": pl.List(pl.Int64), "track": pl.Int64,
    "targets": pl.List(pl.Int64), "order": pl.List(pl.Int64), "depth_tolerance": pl.Float64,
})
VALUES = pl.Struct({
    "reference_system": pl.Utf8, "value": pl.Float64, "times_s": pl.List(pl.Float64), "object_id": pl.Int64,
    "distance_m": pl.List(pl.Float64), "camera_distance_m": pl.List(pl.Float64),
    "pixel_depth_m": pl.List(pl.Float64), "path_length_m": pl.List(pl.Float64), "yaw_change_deg": pl.Float64,
    "rotation_yaw_pitch_roll_deg": pl.List(pl.Float64), "translation_fwd_left_up": pl.List(pl.Float64),
    "translation_heading": pl.List(pl.Float64), "translation_own": pl.List(pl.Float64),
})
MEASUREMENT = pl.Struct({"spec": SPEC, "values": VALUES, "slots": pl.List(pl.Utf8)})
THRESHOLD = pl.Struct({  # fourdpqa.thresholds.LabelThresholds, field by field (a test keeps the two equal)
    "translation_none_m": pl.Float64, "translation_some_m": pl.Float64, "rotation_none_deg": pl.Float64,
    "rotation_some_deg": pl.Float64, "distance_change_none_rel": pl.Float64, "distance_change_some_rel": pl.Float64,
    "distance_compare_margin_rel": pl.Float64, "moved_distance_margin_rel": pl.Float64,
    "min_visible_fraction": pl.Float64, "min_visible_frames_share": pl.Float64, "direction_dominance": pl.Float64,
    "min_object_pixels": pl.Int64, "agent_categories": pl.List(pl.Utf8), "translation_scale": pl.Utf8,
})
TYPED_COLUMNS = {"measurement": MEASUREMENT, "threshold": THRESHOLD, "marks": pl.List(MARK)}


def unknown_fields(value: object, dtype: pl.DataType, where: str = "") -> list[str]:
    """Dotted paths of the keys in ``value`` (a record's plain dict / list value) that struct ``dtype`` has no
    field for: building a frame silently drops them, so the writer refuses them instead."""
    if isinstance(dtype, pl.List) and isinstance(value, list):
        return [p for v in value for p in unknown_fields(v, dtype.inner, where + "[]")]
    if not isinstance(dtype, pl.Struct) or not isinstance(value, dict):
        return []
    fields = {f.name: f.dtype for f in dtype.fields}
    out = []
    for k, v in value.items():
        out += unknown_fields(v, fields[k], f"{where}.{k}") if k in fields else [f"{where}.{k}".lstrip(".")]
    return out


def present(value: object) -> object:
    """``value`` (a typed column's Python value) with the null fields of every struct dropped: the plain dict a
    question type wrote, so readers keep ``spec.get(key, default)`` semantics and equal marks hash equally."""
    if isinstance(value, dict):
        return {k: present(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [present(v) for v in value]
    return value


def _marks_all(element_ok: pl.Expr) -> pl.Expr:
    """Per row: every mark satisfies ``element_ok`` (an expression of ``pl.element()``; no marks is fine)."""
    return pl.col("marks").list.eval(element_ok.fill_null(False)).list.all().fill_null(False)


def _mark_coords() -> pl.Expr:
    mark = pl.element().struct
    return pl.when(mark.field("kind") == "circle").then(mark.field("xy")).otherwise(mark.field("box"))


class QASchema(pa.DataFrameModel):
    """Row checks are column checks (keyed on the column they judge, reading others from the frame), not
    ``dataframe_check``: pandera reports a failed frame-level check by rebuilding the failing rows from Python
    values, which fails on nested columns whose rows differ in null fields (a circle mark next to a box mark)."""

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
    measurement: MEASUREMENT
    threshold: THRESHOLD
    marks: pl.List(MARK)
    object_ids: pl.List(pl.Int64)
    template_id: pl.Utf8
    seed: pl.Int64
    phrased: pl.Boolean

    class Config:
        strict = True

    @pa.check("question_name", error="question_type does not match question_name")
    def type_matches_name(cls, data: PolarsData) -> pl.LazyFrame:
        expected = pl.col("question_type").replace_strict(QUESTION_NAMES, default="", return_dtype=pl.Utf8)
        ok = pl.when(pl.col("question_type") == 0).then(pl.col("question_name").is_in(list(METRIC_NAMES)))
        return data.lazyframe.select(ok.otherwise(pl.col("question_name") == expected).alias("ok"))

    @pa.check("answer", error="mc record needs 4 distinct options and an answer letter A-D")
    def mc_ok(cls, data: PolarsData) -> pl.LazyFrame:
        ok = (pl.col("options").list.len() == 4) & (pl.col("options").list.n_unique() == 4) & pl.col("answer").is_in(list(LETTERS))
        return data.lazyframe.select((pl.col("answer_format") != "mc") | ok)

    @pa.check("answer", error="yn record needs options [yes, no] and answer yes/no")
    def yn_ok(cls, data: PolarsData) -> pl.LazyFrame:
        ok = pl.col("answer").is_in(["yes", "no"]) & (pl.col("options").list.join("|") == "yes|no")
        return data.lazyframe.select((pl.col("answer_format") != "yn") | ok)

    @pa.check("answer", error="trajectory answer must be '<frame>: (x, y) visible|occluded' entries with x, y in [0, 1]")
    def trajectory_in_range(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("answer_format") != "trajectory") | trajectory_ok())

    @pa.check("answer", error="numeric answer must parse as a non-negative number")
    def numeric_ok(cls, data: PolarsData) -> pl.LazyFrame:
        ok = pl.col("answer").cast(pl.Float64, strict=False).fill_null(-1.0) >= 0
        return data.lazyframe.select((pl.col("answer_format") != "numeric") | ok)

    @pa.check("answer_text", error="mc answer letter does not point at answer_text among the options")
    def answer_text_is_option(cls, data: PolarsData) -> pl.LazyFrame:
        letter_index = pl.col("answer").replace_strict(list(LETTERS), list(range(len(LETTERS))), default=None,
                                                       return_dtype=pl.Int64)
        picked = pl.col("options").list.get(letter_index.fill_null(0), null_on_oob=True)
        ok = (pl.col("answer_format") != "mc") | (letter_index.is_not_null() & (picked == pl.col("answer_text")))
        return data.lazyframe.select(ok.fill_null(False).alias("answer_text_is_option"))

    @pa.check("marks", error="marks must be circle marks (xy, radius in (0, 1]) or box marks (box of 4)")
    def mark_kinds(cls, data: PolarsData) -> pl.LazyFrame:
        mark = pl.element().struct
        circle = ((mark.field("kind") == "circle") & (mark.field("xy").list.len() == MARK_COORDS["xy"])
                  & (mark.field("radius") > 0) & (mark.field("radius") <= 1))
        box = (mark.field("kind") == "box") & (mark.field("box").list.len() == MARK_COORDS["box"])
        return data.lazyframe.select(_marks_all(circle | box).alias("mark_kinds"))

    @pa.check("marks", error="mark coordinates in [0, 1] (normalised image coordinates; box x0 <= x1, y0 <= y1)")
    def marks_in_image(cls, data: PolarsData) -> pl.LazyFrame:
        coords = _mark_coords()
        inside = (coords.list.min() >= 0.0) & (coords.list.max() <= 1.0)
        box = pl.element().struct.field("box")
        ordered = box.is_null() | ((box.list.get(0, null_on_oob=True) <= box.list.get(2, null_on_oob=True))
                                   & (box.list.get(1, null_on_oob=True) <= box.list.get(3, null_on_oob=True)))
        return data.lazyframe.select(_marks_all(inside & ordered.fill_null(False)).alias("marks_in_image"))

    @pa.check("marks", error="mark frame is not a clip frame index (0 <= frame < len(clip_frames))")
    def marks_on_clip_frame(cls, data: PolarsData) -> pl.LazyFrame:
        last = pl.col("marks").list.eval(pl.element().struct.field("frame")).list.max()  # null: no marks
        on_clip = (last < pl.col("clip_frames").list.len()).fill_null(True)
        ok = _marks_all(pl.element().struct.field("frame") >= 0) & on_clip
        return data.lazyframe.select(ok.alias("marks_on_clip_frame"))

    @pa.check("threshold", error="threshold has a null field (every LabelThresholds field is stored)")
    def threshold_complete(cls, data: PolarsData) -> pl.LazyFrame:
        fields = [pl.col("threshold").struct.field(f.name).is_not_null() for f in THRESHOLD.fields]
        return data.lazyframe.select(pl.all_horizontal(fields).fill_null(False).alias("threshold_complete"))

    @pa.check("measurement", error="measurement needs its spec, values and slots (slots may be empty)")
    def measurement_complete(cls, data: PolarsData) -> pl.LazyFrame:
        m = pl.col("measurement")
        ok = pl.all_horizontal([m.struct.field(f).is_not_null() for f in ("spec", "values", "slots")])
        return data.lazyframe.select(ok.fill_null(False).alias("measurement_complete"))


class QASchemaError(BadInput):
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
