"""Fault injection after standardize: a corrupted scene is quarantined alone by tracks and qa; a malformed QA
table (answer not among its options, coordinates out of range, missing option) is set aside by assemble's loader
with the offending QA ids named, the other tables kept."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fourdpqa.assemble import load_qa
from fourdpqa.params import Params, load_params
from fourdpqa.quarantine import list_quarantined
from fourdpqa.stages import generate, qa, standardize, tracks
from tests.helpers.params_file import write_params_file

BAD, GOOD = "proc_00001", ["proc_00000", "proc_00002"]


def _params(root: Path) -> Params:
    return load_params(write_params_file(
        root, base={"device": "cpu"}, generate={"n_videos": 3, "n_frames": 8, "width": 48, "height": 48, "max_objects": 3},
        qa={"clip_frames": 8, "clips_per_video": 1, "questions_per_clip": 30},  # enough slots for MC questions
    ))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("downstream")
    p = _params(root)
    generate.run(p)
    standardize.run(p)
    qa.run(p)
    return root


def _copy(pristine: Path, tmp: Path) -> Params:
    shutil.copytree(pristine / "data", tmp / "data")
    return _params(tmp)


SCENE_FAULTS: list[tuple[str, Callable[[Path], None]]] = [
    ("truncated depth.npy", lambda d: (d / "depth.npy").write_bytes((d / "depth.npy").read_bytes()[:200])),
    ("instances.npy of the wrong shape", lambda d: np.save(d / "instances.npy", np.zeros((8, 10, 10), np.uint16))),
    ("cameras.parquet missing", lambda d: (d / "cameras.parquet").unlink()),
]


@pytest.mark.parametrize("stage", ["tracks", "qa"])
@pytest.mark.parametrize(("case", "corrupt"), SCENE_FAULTS, ids=[c[0] for c in SCENE_FAULTS])
def test_corrupt_scene_is_quarantined_alone(tmp_path, pristine, ledger, stage, case, corrupt):
    p = _copy(pristine, tmp_path)
    corrupt(p.data / "scenes" / BAD)
    mod = {"tracks": tracks, "qa": qa}[stage]
    report = mod.run(p, None) if stage == "tracks" else mod.run(p, _force())
    reason = report.quarantined.get(BAD, "")
    out = {"tracks": lambda v: p.data / "tracks" / f"{v}.npz", "qa": lambda v: p.data / "qa" / f"{v}.parquet"}[stage]
    lost = sum(not out(g).exists() for g in GOOD)
    ledger.record(stage, case, handled=list(report.quarantined) == [BAD] and BAD in reason, lost=lost)
    assert list(report.quarantined) == [BAD] and BAD in reason, report.summary()
    assert [r.item_id for r in list_quarantined(p.data, stage)] == [BAD]
    assert lost == 0


def _force():
    import argparse

    return argparse.Namespace(force=True, video=None)


def _answer_not_in_options(df: pl.DataFrame) -> pl.DataFrame:
    i = df["answer_format"].to_list().index("mc")
    return df.with_columns(pl.when(pl.int_range(df.height) == i).then(pl.lit("Z")).otherwise(pl.col("answer")).alias("answer"))


def _drop_option(df: pl.DataFrame) -> pl.DataFrame:
    i = df["answer_format"].to_list().index("mc")
    opts = df["options"].to_list()
    opts[i] = opts[i][:3]
    return df.with_columns(pl.Series("options", opts))


def _marks_out_of_range(df: pl.DataFrame) -> pl.DataFrame:
    bad = json.dumps([{"kind": "circle", "frame": 0, "xy": [1.7, -0.2], "radius": 0.05, "label": "1"}])
    return df.with_columns(pl.when(pl.int_range(df.height) == 0).then(pl.lit(bad)).otherwise(pl.col("marks")).alias("marks"))


QA_FAULTS = [("answer not among its options", _answer_not_in_options), ("MC with a missing option", _drop_option),
             ("mark coordinates outside [0, 1]", _marks_out_of_range)]


@pytest.mark.parametrize(("case", "corrupt"), QA_FAULTS, ids=[c[0] for c in QA_FAULTS])
def test_malformed_qa_table_is_set_aside_with_ids(tmp_path, pristine, ledger, case, corrupt):
    p = _copy(pristine, tmp_path)
    path = p.data / "qa" / f"{BAD}.parquet"
    df = pl.read_parquet(path)
    pl.DataFrame(corrupt(df)).write_parquet(path)
    inputs = load_qa(p.data / "qa")
    reason = inputs.quarantined.get(BAD, "")
    kept = set(inputs.qa["video_id"].unique().to_list())
    ledger.record("assemble", case, handled=list(inputs.quarantined) == [BAD] and f"{BAD}-c" in reason, lost=len(set(GOOD) - kept))
    assert list(inputs.quarantined) == [BAD] and f"{BAD}.parquet" in reason and f"{BAD}-c" in reason, reason  # names the QA id
    assert kept == set(GOOD)
