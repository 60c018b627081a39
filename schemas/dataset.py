"""Pandera (polars) model of the assembled train / benchmark tables: one QA record (team brief "QA record") plus
where its clip was exported. Row-level checks catch what a column dtype cannot (an MC row with three options, an
answer that is not one of the options, a visual mark outside the image); :func:`validate_table` turns pandera's
failure cases into an error that names the offending QA ids.
"""

from __future__ import annotations

import pandera.errors
import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from fourdpqa.errors import BadInput
from schemas.qa import QASchema

SPLITS = ["train", "benchmark"]


class DatasetRowSchema(QASchema):
    """A QA record placed in a split, with its exported clip (paths relative to the dataset directory).

    Record-level checks (options, answer letters, marks, JSON fields) come from :class:`QASchema`."""

    split: pl.Utf8 = pa.Field(isin=SPLITS)
    clip_key: pl.Utf8 = pa.Field(str_length={"min_value": 1})
    video: pl.Utf8
    frames: pl.List(pl.Utf8)

    # a column check, not a dataframe_check: see QASchema (pandera cannot report failed rows with nested columns)
    @pa.check("split", error="benchmark rows must be MC or yes/no questions of types 1-11")
    def benchmark_scope(cls, data: PolarsData) -> pl.LazyFrame:
        in_scope = pl.col("question_type").is_between(1, 11) & pl.col("answer_format").is_in(["mc", "yn"])
        return data.lazyframe.select(((pl.col("split") != "benchmark") | in_scope).alias("benchmark_scope"))


class TableSchemaError(BadInput):
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
