"""Schema check: every QA table and both splits against their pandera models."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from fourdpqa.validate.result import CheckResult
from schemas.dataset import DatasetRowSchema, TableSchemaError, validate_table
from schemas.qa import QASchema


def check_schema(tables: Mapping[str, pl.DataFrame]) -> CheckResult:
    """Every table against its pandera model: ``qa/*`` tables against QASchema, split tables against
    DatasetRowSchema. Blocking: a malformed row would reach training or the benchmark."""
    errors: dict[str, list[str]] = {}
    for name, df in tables.items():
        schema = QASchema if name.startswith("qa/") else DatasetRowSchema
        try:
            validate_table(df, schema, name)
        except TableSchemaError as exc:
            errors[name] = exc.problems
    return CheckResult("check_schema", not errors, True, f"{len(errors)} of {len(tables)} tables invalid",
                       "0 invalid tables", {"errors": errors})
