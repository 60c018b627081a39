"""Hugging Face ``datasets`` copy of the splits: one ``DatasetDict`` (``train``, ``benchmark``) saved with
``save_to_disk`` and a dataset card (``README.md``), loadable offline with ``datasets.load_from_disk``.

Each row carries its clip: the mp4 as a ``Video`` feature (bytes embedded, so the copy is self-contained and can be
pushed to the Hub as is), or the frames as a list of ``Image`` when no mp4 was exported. Categorical columns are
``ClassLabel``; thresholds and visual marks are typed structs; a measurement keeps its kind and the slot values
typed, its kind-specific spec and values as JSON text (their keys differ per question kind).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl

from fourdpqa.atomic import atomic_dir, write_text
from fourdpqa.export.card import dataset_card
from fourdpqa.params import Params
from schemas.qa import ANSWER_FORMATS, CATEGORIES, METRIC_NAMES, QUESTION_NAMES, REFERENCE_MODES

CLASS_LABELS = {
    "question_name": [*QUESTION_NAMES.values(), *METRIC_NAMES],
    "category": list(CATEGORIES),
    "reference_mode": list(REFERENCE_MODES),
    "answer_format": list(ANSWER_FORMATS),
}
DROPPED = ("video", "frames")  # media paths: renamed video_file / frame_files; the media column replaces them


def _measurement(text: str) -> dict[str, Any]:
    m = json.loads(text or "{}")
    spec = m.get("spec") or {}
    return {"kind": str(spec.get("kind", "")), "slots": [str(s) for s in m.get("slots") or []],
            "spec": json.dumps(spec, sort_keys=True), "values": json.dumps(m.get("values") or {}, sort_keys=True)}


def struct_types(frames: list[pl.DataFrame]) -> dict[str, pl.DataType]:
    """Struct types of the JSON columns ``threshold`` and ``marks``, inferred over every row of every split (so the
    splits share one schema)."""
    return {c: pl.concat([df.select(c) for df in frames])[c].str.json_decode(infer_schema_length=None).dtype
            for c in ("threshold", "marks")}


def typed_columns(df: pl.DataFrame, types: dict[str, pl.DataType]) -> pl.DataFrame:
    """``df`` with JSON text columns turned into structs (``threshold``, ``marks``, ``measurement``) and media paths
    renamed ``video_file`` / ``frame_files`` (relative to the dataset folder)."""
    m_type = pl.Struct({"kind": pl.Utf8, "slots": pl.List(pl.Utf8), "spec": pl.Utf8, "values": pl.Utf8})
    return df.sort("id").with_columns(
        *(pl.col(c).str.json_decode(dtype) for c, dtype in types.items()),
        pl.col("measurement").map_elements(_measurement, return_dtype=m_type),
        video_file=pl.col("video"), frame_files=pl.col("frames"),
    )


def _media(df: pl.DataFrame, dataset_dir: Path) -> tuple[str, list[Any]]:
    """("video", [{bytes, path}]) when every row has an mp4, else ("frames", [[{bytes, path}, ...]])."""
    def item(rel: str) -> dict[str, Any]:
        return {"bytes": (dataset_dir / rel).read_bytes(), "path": rel}

    if df.height and all(df["video"].to_list()):
        return "video", [item(v) for v in df["video"].to_list()]
    return "frames", [[item(f) for f in frames] for frames in df["frames"].to_list()]


def to_dataset(df: pl.DataFrame, dataset_dir: str | Path, split: str, types: dict[str, pl.DataType]) -> Any:
    """One split as a ``datasets.Dataset`` with ClassLabel, struct (``types``) and Video / Image features."""
    import datasets

    table = typed_columns(df, types)
    name, media = _media(table, Path(dataset_dir))
    plain = datasets.Dataset.from_polars(table.drop(*DROPPED, strict=False))
    features = plain.features.copy()
    for column, names in CLASS_LABELS.items():
        features[column] = datasets.ClassLabel(names=names)
    features[name] = datasets.Video() if name == "video" else datasets.List(datasets.Image())
    rows = plain.to_dict()
    rows[name] = media
    for column, names in CLASS_LABELS.items():
        rows[column] = [names.index(v) for v in rows[column]]
    ds = datasets.Dataset.from_dict(rows, features=features, split=datasets.Split(split))
    # a content fingerprint instead of the random one of an in-memory dataset: identical data, identical bytes
    return datasets.Dataset(ds.data, info=ds.info, split=ds.split, fingerprint=_table_digest(ds.data.table))


def _table_digest(table: Any) -> str:
    """sha256 (16 hex digits) of a pyarrow table's IPC stream."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()[:16]


def save_hf(out_dir: str | Path, dataset_dir: str | Path, splits: dict[str, pl.DataFrame],
            params: Params | None = None) -> dict[str, Path]:
    """Write ``out_dir`` (replaced atomically): the ``DatasetDict`` of ``splits`` and its card ``README.md``."""
    import datasets

    datasets.disable_progress_bars()  # one bar per split and shard is noise in dvc / Dagster logs
    types = struct_types(list(splits.values()))
    dd = datasets.DatasetDict({name: to_dataset(df, dataset_dir, name, types) for name, df in splits.items()})
    with atomic_dir(out_dir) as tmp:
        dd.save_to_disk(str(tmp))
        write_text(tmp / "README.md", dataset_card(dd, splits, params))
    return {"hf": Path(out_dir)}
