"""Hugging Face ``datasets`` copies of the splits (``Dataset.save_to_disk``), loadable offline with
``datasets.load_from_disk`` — and by lmms-eval through ``dataset_kwargs: {load_from_disk: true}``."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from fourdpqa.atomic import atomic_dir


def save_hf(out_dir: str | Path, splits: dict[str, pl.DataFrame]) -> dict[str, Path]:
    """One ``save_to_disk`` folder per split under ``out_dir`` (each replaced atomically)."""
    import datasets

    datasets.disable_progress_bars()  # one bar per split is noise in dvc / Dagster logs
    paths = {}
    for name, df in splits.items():
        target = Path(out_dir) / name
        with atomic_dir(target) as tmp:
            datasets.Dataset.from_polars(df.sort("id")).save_to_disk(str(tmp))
        paths[f"hf_{name}"] = target
    return paths
