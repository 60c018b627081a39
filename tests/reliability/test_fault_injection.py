"""Fault injection: one bad item among good ones must give a clear error naming the item and the problem,
be quarantined alone, and let the rest of the stage finish (nothing good lost)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from fourdpqa.params import load_params
from fourdpqa.quarantine import list_quarantined
from fourdpqa.scene import read_scene
from fourdpqa.stages import generate, standardize
from tests.helpers.params_file import write_params_file

BAD = "proc_00001"
GOOD = ["proc_00000", "proc_00002"]


def write_params(root: Path) -> Path:
    return write_params_file(
        root, generate={"n_videos": 3, "n_frames": 4, "width": 32, "height": 32, "min_objects": 2, "max_objects": 2})


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pristine")
    generate.run(load_params(write_params(root)))
    return root


def _meta(d: Path) -> dict:
    return json.loads((d / "metadata.json").read_text())


def _set_meta(d: Path, fn: Callable[[dict], None]) -> None:
    m = _meta(d)
    fn(m)
    (d / "metadata.json").write_text(json.dumps(m))


def _depth(d: Path, fn: Callable[[np.ndarray], np.ndarray]) -> None:
    p = d / "depth_00001.tiff"
    cv2.imwrite(str(p), fn(cv2.imread(str(p), cv2.IMREAD_UNCHANGED)).astype(np.float32))


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 3])


def _q(m: dict, key: str, frame: int, value: list) -> None:
    m[key]["quaternions"][frame] = value


# (case, corruption of the raw dir of BAD, fragment the error must contain)
KUBRIC_FAULTS: list[tuple[str, Callable[[Path], None], str]] = [
    ("truncated rgb png", lambda d: _truncate(d / "rgba_00002.png"), "rgba_00002.png"),
    ("random bytes as depth tiff", lambda d: (d / "depth_00000.tiff").write_bytes(b"II*\x00garbage"), "depth_00000.tiff"),
    ("depth all NaN in a frame", lambda d: _depth(d, lambda a: a * np.nan), "depth_00001.tiff"),
    ("depth all inf in a frame", lambda d: _depth(d, lambda a: a * np.inf), "depth_00001.tiff"),
    ("negative depth", lambda d: _depth(d, lambda a: -a), "negative depth"),
    ("depth of the wrong size", lambda d: _depth(d, lambda a: a[:16, :16]), "depth_00001.tiff"),
    ("missing segmentation frame", lambda d: (d / "segmentation_00003.png").unlink(), "segmentation_00003.png"),
    ("missing metadata.json", lambda d: (d / "metadata.json").unlink(), "metadata.json"),
    ("metadata.json not JSON", lambda d: (d / "metadata.json").write_text("{not json"), "metadata.json"),
    ("non-orthonormal camera rotation", lambda d: _set_meta(d, lambda m: _q(m, "camera", 1, [0.5, 0.1, 0.0, 0.0])), "non-orthonormal"),
    ("NaN object position", lambda d: _set_meta(d, lambda m: m["instances"][0]["positions"][2].__setitem__(0, float("nan"))), "NaN"),
    ("zero focal length", lambda d: _set_meta(d, lambda m: m["camera"].__setitem__("focal_length", 0.0)), "fx"),
    ("empty video (0 frames)", lambda d: _set_meta(d, lambda m: m["metadata"].__setitem__("num_frames", 0)), "num_frames"),
    ("missing camera pose rows", lambda d: _set_meta(d, lambda m: m["camera"].__setitem__("positions", m["camera"]["positions"][:2])), "positions"),
    ("instance without positions", lambda d: _set_meta(d, lambda m: m["instances"][0].pop("positions")), "positions"),
    ("resolution disagrees with frames", lambda d: _set_meta(d, lambda m: m["metadata"].__setitem__("resolution", [64, 64])), "64"),
    ("segmentation id without an instance", lambda d: _set_meta(d, lambda m: m.__setitem__("instances", m["instances"][:1])), "segmentation"),
    ("empty video directory", lambda d: [p.unlink() for p in d.iterdir() if p.is_file()], "metadata.json"),
]


def _run_case(tmp_path: Path, pristine: Path, corrupt: Callable[[Path], None]):
    shutil.copytree(pristine / "data", tmp_path / "data")
    params = load_params(write_params(tmp_path))
    corrupt(tmp_path / "data" / "raw" / "procedural" / BAD)
    return params, standardize.run(params)


@pytest.mark.parametrize(("case", "corrupt", "fragment"), KUBRIC_FAULTS, ids=[c[0] for c in KUBRIC_FAULTS])
def test_standardize_quarantines_one_bad_video(tmp_path, pristine, ledger, case, corrupt, fragment):
    params, report = _run_case(tmp_path, pristine, corrupt)
    lost = sum(not (params.data / "scenes" / g / "scene.json").exists() for g in GOOD)
    reason = report.quarantined.get(BAD, "")
    ledger.record("standardize", case, handled=BAD in report.quarantined and fragment in reason, lost=lost)
    assert list(report.quarantined) == [BAD], report.summary()
    assert BAD in reason and fragment in reason, reason
    assert [r.item_id for r in list_quarantined(params.data, "standardize")] == [BAD]
    assert sorted(report.done) == GOOD and lost == 0
    for g in GOOD:
        read_scene(params.data / "scenes" / g)
    assert not (params.data / "scenes" / BAD).exists()


def test_rerun_after_fix_releases_quarantine(tmp_path, pristine, ledger):
    params, report = _run_case(tmp_path, pristine, lambda d: _truncate(d / "rgba_00000.png"))
    assert BAD in report.quarantined
    shutil.copy(pristine / "data/raw/procedural" / BAD / "rgba_00000.png", params.data / "raw/procedural" / BAD)
    again = standardize.run(params)
    ledger.record("standardize", "fixed input is picked up on rerun", handled=again.done == [BAD], lost=0)
    assert again.done == [BAD] and sorted(again.skipped) == GOOD
    assert list_quarantined(params.data, "standardize") == []


def test_odd_unicode_video_name_is_processed(tmp_path, pristine, ledger):
    shutil.copytree(pristine / "data", tmp_path / "data")
    raw = tmp_path / "data" / "raw" / "procedural"
    odd = "vidéo ünïcode (1)"
    shutil.move(raw / BAD, raw / odd)
    report = standardize.run(load_params(write_params(tmp_path)))
    ok = odd in report.done and (tmp_path / "data" / "scenes" / odd / "scene.json").exists()
    ledger.record("standardize", "unicode/odd video name", handled=ok, lost=0)
    assert ok and not report.quarantined
    assert read_scene(tmp_path / "data" / "scenes" / odd).video_id == odd
