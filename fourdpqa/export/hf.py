"""Hugging Face ``datasets`` copy of the splits: one Parquet file per split (``hf/data/<split>.parquet``) and a
dataset card (``hf/README.md``) whose ``configs`` name them, the layout of a Hub dataset repository.

Rows *embed* their media, so ``datasets.load_dataset("<dataset>/hf")`` works from any working directory and the
folder can be pushed to the Hub as it is: ``frames`` is a list of ``Image`` and ``video`` a ``Video`` (benchmark
rows, when mp4s are exported; else null), each holding the file's bytes and its path relative to the dataset folder
(``datasets`` opens a bare relative path against the working directory, so a referenced copy only loaded from
inside the dataset folder). The questions on one clip share its frames: Parquet's dictionary encoding stores each
distinct file once per row group (rows are sorted by id, so a clip's questions sit together), which keeps the copy
near the size of the clips themselves. Categorical columns are ``ClassLabel``; thresholds, measurements and visual
marks keep the typed struct / list columns of ``schemas.qa`` (a field a question type does not use is null).
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import polars as pl

from fourdpqa.atomic import atomic_dir, write_text
from fourdpqa.export.card import dataset_card
from fourdpqa.params import Params
from schemas.qa import (
    ANSWER_FORMATS,
    CATEGORIES,
    METRIC_NAMES,
    QUESTION_NAMES,
    REFERENCE_MODES,
)

CLASS_LABELS = {
    "question_name": [*QUESTION_NAMES.values(), *METRIC_NAMES],
    "category": list(CATEGORIES),
    "reference_mode": list(REFERENCE_MODES),
    "answer_format": list(ANSWER_FORMATS),
}
MEDIA = ("frames", "video")  # path columns that become Image / Video features
DATA_DIR = "data"
ROW_GROUP = 1000  # rows per Parquet row group
# a row group's distinct media files go into its dictionary page (the default 1 MB limit would fall back to plain)
DICTIONARY_PAGE_BYTES = 1 << 30


def media_features() -> dict[str, Any]:
    import datasets

    return {"frames": datasets.List(datasets.Image()), "video": datasets.Video()}


def _media(df: pl.DataFrame, media_root: Path) -> dict[str, list]:
    """Embedded media values: a list of images per row, a video or None; each file read once."""
    cache: dict[str, bytes] = {}

    def item(rel: str) -> dict[str, Any]:
        if rel not in cache:
            cache[rel] = (media_root / rel).read_bytes()
        return {"bytes": cache[rel], "path": rel}

    return {"frames": [[item(f) for f in fs] for fs in df["frames"].to_list()],
            "video": [item(v) if v else None for v in df["video"].to_list()]}


def to_dataset(df: pl.DataFrame, split: str, media_root: Path) -> Any:
    """One split as a ``datasets.Dataset`` with ClassLabel, struct (the typed QA columns, as stored) and embedded
    media features (files under ``media_root``, the dataset folder)."""
    import datasets

    table = df.sort("id")
    plain = datasets.Dataset.from_polars(table.drop(*MEDIA))
    features = plain.features.copy()
    for column, names in CLASS_LABELS.items():
        features[column] = datasets.ClassLabel(names=names)
    features.update(media_features())
    rows = plain.to_dict() | _media(table, media_root)
    for column, names in CLASS_LABELS.items():
        rows[column] = [names.index(v) for v in rows[column]]
    return datasets.Dataset.from_dict(rows, features=features, split=datasets.Split(split))


def _write_parquet(ds: Any, path: Path) -> None:
    """The split's Arrow table (its schema metadata carries the ``datasets`` features) as Parquet with dictionary
    encoding on every column: ``Dataset.to_parquet`` writes media columns PLAIN, one copy per row."""
    import pyarrow.parquet as pq

    pq.write_table(ds.data.table, path, row_group_size=ROW_GROUP, use_dictionary=True,
                   dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES, compression="zstd")


def save_hf(out_dir: str | Path, splits: dict[str, pl.DataFrame], media_root: str | Path,
            params: Params | None = None) -> dict[str, Path]:
    """Write ``out_dir`` (replaced atomically): ``data/<split>.parquet`` per split and the card ``README.md``; media
    paths are relative to ``media_root`` (the dataset folder)."""
    import datasets

    datasets.disable_progress_bars()  # one bar per split and shard is noise in dvc / Dagster logs
    dd = datasets.DatasetDict({name: to_dataset(df, name, Path(media_root)) for name, df in splits.items()})
    with atomic_dir(out_dir) as tmp:
        for name, ds in dd.items():
            (tmp / DATA_DIR).mkdir(exist_ok=True)
            _write_parquet(ds, tmp / DATA_DIR / f"{name}.parquet")
        write_text(tmp / "README.md", dataset_card(dd, splits, params))
    return {"hf": Path(out_dir)}


def load_hf(dataset_dir: str | Path) -> Any:
    """The export of ``dataset_dir`` (``<dataset_dir>/hf``) as a ``DatasetDict`` (train, then benchmark), read from
    the Parquet files directly (no cache written; ``datasets.load_dataset("<dataset_dir>/hf")`` gives the same)."""
    import datasets

    root = Path(dataset_dir).resolve()
    out = {}
    for path in sorted((root / "hf" / DATA_DIR).glob("*.parquet"), key=lambda p: (p.stem != "train", p.stem)):
        out[path.stem] = datasets.Dataset.from_parquet(str(path), keep_in_memory=True)
    if not out:
        raise FileNotFoundError(errno.ENOENT, f"{root / 'hf' / DATA_DIR}: no exported split (run the assemble stage)")
    return datasets.DatasetDict(out)
