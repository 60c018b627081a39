"""The stage protocol on the QA stage: code edits in its import closure redo it, unrelated edits do not, removed
videos lose their outputs, truncated outputs are rebuilt, no inputs fail without deleting anything."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fourdpqa import fingerprint
from fourdpqa.params import BaseParams, Params, QAParams
from fourdpqa.scene import write_scene
from fourdpqa.stages import qa
from fourdpqa.stages.protocol import StageFailed
from fourdpqa.thresholds import LabelThresholds
from tests.qa.test_stage_schema import _scene

ROOT = Path(fingerprint.__file__).resolve().parents[1]
VIDEOS = ("toy_00001", "toy_00002")


@pytest.fixture
def params(tmp_path) -> Params:
    for vid in VIDEOS:
        write_scene(_scene(vid), tmp_path / "data" / "scenes" / vid)
    return Params(base=BaseParams(data_root=str(tmp_path / "data"), seed=7),
                  qa=QAParams(clip_frames=8, clips_per_video=1, questions_per_clip=12,
                              thresholds={"default": LabelThresholds(min_object_pixels=4)}))


@pytest.fixture
def code_copy(tmp_path, monkeypatch) -> Path:
    """The project's code copied aside and used as the code root of every fingerprint (edits there are seen)."""
    for pkg in ("fourdpqa", "schemas"):
        shutil.copytree(ROOT / pkg, tmp_path / "code" / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(fingerprint, "CODE_ROOT", tmp_path / "code")
    return tmp_path / "code"


def _append(path: Path) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n# an edit\n")


def test_a_code_edit_in_questions_redoes_qa_and_an_unrelated_edit_does_not(params, code_copy):
    assert sorted(qa.run(params).done) == list(VIDEOS)
    assert sorted(qa.run(params).skipped) == list(VIDEOS)
    _append(code_copy / "fourdpqa" / "train.py")  # not imported by the qa stage
    _append(code_copy / "fourdpqa" / "vlm" / "model.py")
    assert sorted(qa.run(params).skipped) == list(VIDEOS)
    _append(code_copy / "fourdpqa" / "questions" / "camera.py")
    assert sorted(qa.run(params).done) == list(VIDEOS)
    _append(code_copy / "schemas" / "qa.py")
    assert sorted(qa.run(params).done) == list(VIDEOS)


def test_removed_video_loses_its_qa_and_truncated_output_is_rebuilt(params):
    qa.run(params)
    table = qa.qa_path(params, "toy_00002")
    good = table.read_bytes()
    table.write_bytes(good[: len(good) // 2])  # half a parquet file: not "up to date"
    report = qa.run(params)
    assert report.done == ["toy_00002"] and table.read_bytes() == good
    shutil.rmtree(Path(params.base.data_root) / "scenes" / "toy_00001")
    qa.run(params)
    assert not qa.qa_path(params, "toy_00001").exists() and not qa.measurements_path(params, "toy_00001").exists()
    assert not (Path(params.base.data_root) / "qa" / "_manifest" / "toy_00001.json").exists()
    assert table.read_bytes() == good


def test_no_scenes_fails_and_deletes_nothing(params):
    qa.run(params)
    kept = sorted(p.name for p in qa.qa_path(params, "toy_00001").parent.iterdir())
    shutil.rmtree(Path(params.base.data_root) / "scenes")
    with pytest.raises(StageFailed, match="no inputs"):
        qa.run(params)
    assert sorted(p.name for p in qa.qa_path(params, "toy_00001").parent.iterdir()) == kept
