"""Hugging Face ``datasets`` copy of the splits: one Parquet file per split (``hf/data/<split>.parquet``) and a
dataset card (``hf/README.md``) whose ``configs`` name them, the layout of a Hub dataset repository.

Rows *reference* the shared clip files instead of embedding them (one embedded mp4 per row made the copy as large
as the clips again): ``frames`` is a list of ``Image`` and ``video`` a ``Video`` (benchmark rows, when mp4s are
exported; else null), each holding a path relative to the dataset folder, so the copy moves with that folder.
:func:`load_hf` reads it with the paths resolved; ``datasets.load_dataset("hf")`` run inside the dataset folder
does the same, and ``push_to_hub`` from there embeds the files. Categorical columns are ``ClassLabel``; thresholds,
measurements and visual marks keep the typed struct / list columns of ``schemas.qa`` (a field a question type does
not use is null).
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


def media_features() -> dict[str, Any]:
    import datasets

    return {"frames": datasets.List(datasets.Image()), "video": datasets.Video()}


def _media_refs(df: pl.DataFrame) -> dict[str, list]:
    """Path-only media values (no bytes): a list of image refs per row, a video ref or None."""
    return {"frames": [[{"bytes": None, "path": f} for f in fs] for fs in df["frames"].to_list()],
            "video": [{"bytes": None, "path": v} if v else None for v in df["video"].to_list()]}


def to_dataset(df: pl.DataFrame, split: str) -> Any:
    """One split as a ``datasets.Dataset`` with ClassLabel, struct (the typed QA columns, as stored) and
    path-referenced media features."""
    import datasets

    table = df.sort("id")
    plain = datasets.Dataset.from_polars(table.drop(*MEDIA))
    features = plain.features.copy()
    for column, names in CLASS_LABELS.items():
        features[column] = datasets.ClassLabel(names=names)
    features.update(media_features())
    rows = plain.to_dict() | _media_refs(table)
    for column, names in CLASS_LABELS.items():
        rows[column] = [names.index(v) for v in rows[column]]
    return datasets.Dataset.from_dict(rows, features=features, split=datasets.Split(split))


def save_hf(out_dir: str | Path, splits: dict[str, pl.DataFrame], params: Params | None = None) -> dict[str, Path]:
    """Write ``out_dir`` (replaced atomically): ``data/<split>.parquet`` per split and the card ``README.md``."""
    import datasets

    datasets.disable_progress_bars()  # one bar per split and shard is noise in dvc / Dagster logs
    dd = datasets.DatasetDict({name: to_dataset(df, name) for name, df in splits.items()})
    with atomic_dir(out_dir) as tmp:
        for name, ds in dd.items():
            (tmp / DATA_DIR).mkdir(exist_ok=True)
            # an explicit row-group size: the default one stats every media path (relative to the dataset folder)
            ds.to_parquet(str(tmp / DATA_DIR / f"{name}.parquet"), batch_size=ROW_GROUP)
        write_text(tmp / "README.md", dataset_card(dd, splits, params))
    return {"hf": Path(out_dir)}


def load_hf(dataset_dir: str | Path) -> Any:
    """The export of ``dataset_dir`` (``<dataset_dir>/hf``) as a ``DatasetDict`` with media paths made absolute,
    so images and videos decode from any working directory. Reads the Parquet files directly (no cache written)."""
    import datasets
    import pyarrow.parquet as pq

    root = Path(dataset_dir).resolve()
    out = {}
    for path in sorted((root / "hf" / DATA_DIR).glob("*.parquet"), key=lambda p: (p.stem != "train", p.stem)):
        table = pq.read_table(path)
        rows = table.to_pylist()
        for r in rows:
            r["frames"] = [{"bytes": None, "path": str(root / f["path"])} for f in r["frames"]]
            r["video"] = {"bytes": None, "path": str(root / r["video"]["path"])} if r["video"] else None
        out[path.stem] = datasets.Dataset.from_list(rows, features=datasets.Features.from_arrow_schema(table.schema))
    if not out:
        raise FileNotFoundError(errno.ENOENT, f"{root / 'hf' / DATA_DIR}: no exported split (run the assemble stage)")
    return datasets.DatasetDict(out)
