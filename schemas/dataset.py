"""Pandera (polars) model of the assembled train / benchmark tables: one QA record (team brief "QA record") plus
where its clip was exported. Row-level checks catch what a column dtype cannot (an MC row with three options, an
answer that is not one of the options, a visual mark outside the image); :func:`validate_table` turns pandera's
failure cases into an error that names the offending QA ids.
"""

from __future__ import annotations

import json

import pandera.errors
import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from schemas.qa import LETTERS, QASchema

SPLITS = ["train", "benchmark"]


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


class DatasetRowSchema(QASchema):
    """A QA record placed in a split, with its exported clip (paths relative to the dataset directory).

    Adds the row checks the QA model leaves out: an MC answer letter must point at ``answer_text``, visual marks must
    lie inside the image on an existing clip frame, and benchmark rows must be MC / yes-no of types 1-11."""

    split: pl.Utf8 = pa.Field(isin=SPLITS)
    clip_key: pl.Utf8 = pa.Field(str_length={"min_value": 1})
    video: pl.Utf8
    frames: pl.List(pl.Utf8)

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

    @pa.dataframe_check(error="benchmark rows must be MC or yes/no questions of types 1-11")
    def benchmark_scope(cls, data: PolarsData) -> pl.LazyFrame:
        in_scope = pl.col("question_type").is_between(1, 11) & pl.col("answer_format").is_in(["mc", "yn"])
        return data.lazyframe.select(((pl.col("split") != "benchmark") | in_scope).alias("benchmark_scope"))


class TableSchemaError(ValueError):
    """A table violates its schema; the message names the table, the failed checks and the QA ids."""

    def __init__(self, table: str, problems: list[str]):
        self.table, self.problems = table, problems
        super().__init__(f"{table}: schema violations:\n  " + "\n  ".join(problems))


def validate_table(df: pl.DataFrame, schema: type[pa.DataFrameModel], table: str, max_ids: int = 10) -> pl.DataFrame:
    """Validate ``df``; on failure raise :class:`TableSchemaError` with one line per failed check listing the ids
    of the offending rows (pandera reports row positions, which mean nothing to a person reading a parquet)."""
    try:
        return schema.validate(df, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        ids = df["id"].cast(pl.Utf8).to_list() if "id" in df.columns else None
        problems = []
        for (column, check), grp in cases.group_by(["column", "check"], maintain_order=True):
            idx = [i for i in grp["index"].to_list() if i is not None] if "index" in grp.columns else []
            if idx and ids is not None:
                where = "rows " + ", ".join(repr(ids[i]) for i in idx[:max_ids]) + (" ..." if len(idx) > max_ids else "")
            else:
                where = "failure: " + ", ".join(str(v) for v in grp["failure_case"].head(3).to_list())
            problems.append(f"{column}: {check}: {where}")
        raise TableSchemaError(table, problems) from exc
    except pandera.errors.SchemaError as exc:
        raise TableSchemaError(table, [str(exc).splitlines()[0]]) from exc
