"""Fault injection on a real-source adapter (VKITTI2 layout) and on the parameters file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from fourdpqa.params import ParamsError, load_params
from fourdpqa.scene import read_scene
from fourdpqa.stages import standardize
from tests.helpers.vkitti2_fixture import make_fixture

SCENES = ["Scene01", "Scene02", "Scene06"]
BAD = "vkitti2_Scene02_clone_cam0"


def _edit(path: Path, fn: Callable[[list[str]], list[str]]) -> None:
    path.write_text("\n".join(fn(path.read_text().splitlines())) + "\n")


VKITTI_FAULTS: list[tuple[str, str, Callable[[Path], None], str]] = [
    ("duplicate frame index", "extrinsic.txt", lambda s: _edit(s / "extrinsic.txt", lambda ls: ls + [ls[1]]), "once each"),
    ("zero focal length", "intrinsic.txt", lambda s: _edit(s / "intrinsic.txt", lambda ls: [ls[0]] + [l.replace("20.0 20.0", "0.0 0.0") for l in ls[1:]]), "fx"),
    ("object pose for a frame that does not exist", "pose.txt",
     lambda s: _edit(s / "pose.txt", lambda ls: ls + ["9 0 0 -1.57 1.8 1.5 4.0 2 1.6 10 0 0 0 2 1.6 10 0 0 0"]), "does not exist"),
    ("corrupt jpeg", "rgb_00001.jpg", lambda s: (s / "frames/rgb/Camera_0/rgb_00001.jpg").write_bytes(b"\xff\xd8\xff garbage"), "unreadable"),
    ("missing info.txt", "info.txt", lambda s: (s / "info.txt").unlink(), "missing file"),
    # issue 25.15: malformed tables are named, not crashed on
    ("renamed pose column", "pose.txt", lambda s: _edit(s / "pose.txt", lambda ls: [ls[0].replace("camera_space_Z", "camera_Z")] + ls[1:]),
     "camera_space_Z"),
    ("missing bbox column", "bbox.txt", lambda s: _edit(s / "bbox.txt", lambda ls: [" ".join(l.split()[:-1]) for l in ls]),
     "isMoving"),
    ("comma-separated intrinsics", "intrinsic.txt", lambda s: _edit(s / "intrinsic.txt", lambda ls: [l.replace(" ", ",") for l in ls]),
     "comma"),
    ("header-only info.txt", "info.txt", lambda s: _edit(s / "info.txt", lambda ls: ls[:1]), "no rows"),
    # issue 25.8: depth in decimetres (x10) against the boxes' distances
    ("depth x10", "depth_*.png", lambda s: _scale_depth(s, 10), "wrong depth units"),
]


def _scale_depth(seq: Path, factor: int) -> None:
    import cv2
    import numpy as np

    for p in sorted((seq / "frames/depth/Camera_0").glob("depth_*.png")):
        d = cv2.imread(str(p), cv2.IMREAD_ANYDEPTH).astype(np.int64)
        cv2.imwrite(str(p), np.where(d >= 65535, 65535, np.minimum(d * factor, 65534)).astype(np.uint16))


@pytest.mark.parametrize(("case", "file", "corrupt", "fragment"), VKITTI_FAULTS, ids=[c[0] for c in VKITTI_FAULTS])
def test_vkitti2_bad_sequence_is_quarantined_alone(tmp_path, ledger, case, file, corrupt, fragment):
    raw = tmp_path / "data" / "raw" / "vkitti2"
    for scene in SCENES:
        make_fixture(raw, scene)
    corrupt(raw / "Scene02" / "clone")
    params_path = tmp_path / "params.yaml"
    params_path.write_text(yaml.safe_dump({
        "base": {"data_root": str(tmp_path / "data"), "allowed_roots": [str(tmp_path / "data")]},
        "standardize": {"sources": [{"name": "vkitti2", "kind": "vkitti2", "root": str(raw)}]},
    }))
    params = load_params(params_path)
    report = standardize.run(params)
    reason = report.quarantined.get(BAD, "")
    good = [f"vkitti2_{s}_clone_cam0" for s in SCENES if s != "Scene02"]
    lost = sum(not (params.data / "scenes" / g / "scene.json").exists() for g in good)
    ledger.record("standardize", f"vkitti2: {case}", handled=file in reason and fragment in reason, lost=lost)
    assert list(report.quarantined) == [BAD] and file in reason and fragment in reason, reason
    assert sorted(report.done) == good and lost == 0
    for g in good:
        read_scene(params.data / "scenes" / g)


PARAM_FAULTS = [
    ("seed of the wrong type", {"base": {"seed": "abc"}}, "base.seed"),
    ("negative frame count", {"generate": {"n_frames": -3}}, "generate.n_frames"),
    ("threshold of the wrong type", {"qa": {"thresholds": {"procedural": {"rotation_some_deg": "big"}}}}, "rotation_some_deg"),
    ("sampled fraction out of range", {"tracks": {"max_sampled_frac": 3.0}}, "tracks.max_sampled_frac"),
    ("unknown source kind", {"standardize": {"sources": [{"name": "x", "kind": "shift9000", "root": "data"}]}}, "kind"),
]


@pytest.mark.parametrize(("case", "content", "fragment"), PARAM_FAULTS, ids=[c[0] for c in PARAM_FAULTS])
def test_bad_params_fail_before_any_work(tmp_path, ledger, case, content, fragment):
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump(content))
    with pytest.raises(ParamsError) as err:
        load_params(p)
    ledger.record("params", case, handled=fragment in str(err.value), lost=0)
    assert fragment in str(err.value) and str(p) in str(err.value)
