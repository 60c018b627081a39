"""The framing check (issues 24.2, 24.3, 24.5) on records built by hand over analytic scenes: it counts exactly the
border-cut anchor, the mark held by another object and the convention-dependent camera clip planted in them."""

from __future__ import annotations

import numpy as np
import polars as pl
from PIL import Image

from fourdpqa.scene import write_scene
from fourdpqa.thresholds import LabelThresholds
from fourdpqa.validate.framing import check_framing, convention_classes, touches_border
from tests.qa.conftest import N_T, build_scene, cam_track, obj_track

TH = LabelThresholds().model_dump()
W, H = 96, 64


def record(video: str, i: int, qtype: int, spec: dict, marks: list | None = None, object_ids=()) -> dict:
    return {"id": f"{video}-q{i}", "video_id": video, "clip_id": f"{video}-c0", "clip_frames": list(range(N_T)),
            "question_type": qtype, "threshold": TH, "marks": marks or [], "object_ids": list(object_ids),
            "measurement": {"spec": spec}, "frames": ["frame.png"]}


def test_framing_counts_what_was_planted(tmp_path):
    scenes, dataset = tmp_path / "scenes", tmp_path / "dataset"
    dataset.mkdir()
    Image.new("RGB", (W, H)).save(dataset / "frame.png")
    level = cam_track((0.0, 0.0, 1.5), (6.0, 0.0, 0.0))
    # 1: a wide box reaching past the left image border; 2, 3: boxes well inside, 3 small in front of 2
    objs = [((0.8, 3.0, 1.0), obj_track((6.0, 4.0, 0.5))), ((1.0, 1.0, 1.0), obj_track((8.0, -0.5, 0.5))),
            ((0.3, 0.3, 0.3), obj_track((5.0, -0.3, 0.6)))]
    still = build_scene(level, objs, captions=["a", "b", "c"], width=W, height=H, video_id="toy_00001")
    offset = np.array([6.0, 0.0, -1.0])  # pitched 9.5 deg down, dollying 2.25 m along its optical axis
    pitched = cam_track((0.0, 0.0, 1.5), tuple(offset), velocity=tuple(0.25 * offset / np.linalg.norm(offset)))
    dolly = build_scene(pitched, objs[1:], captions=["b", "c"], width=W, height=H, video_id="toy_00002")
    for s in (still, dolly):
        write_scene(s, scenes / s.video_id)
    inst = still.instances[0]
    assert touches_border(inst, 1) and not touches_border(inst, 2) and not touches_border(inst, 3)
    ys, xs = np.nonzero(inst == 2)
    wide = {"kind": "circle", "frame": 0, "label": "", "radius": 0.2,
            "xy": [(xs.mean() + 0.5) / W, (ys.mean() + 0.5) / H]}  # centred on 2, said to mark 3
    rows = [
        record("toy_00001", 0, 8, {"objects": [1, 2], "frames": [0, 0]}),  # border-cut anchor
        record("toy_00001", 1, 8, {"objects": [2, 3], "frames": [0, 0]}),
        record("toy_00001", 2, 9, {"objects": [2, 3, 1], "pairs": [[2, 3], [1, 3]], "frames": [4, 4]}),  # cut
        record("toy_00001", 3, 3, {"objects": [3]}, [wide], [3]),  # the mark holds more of 2 than of 3
        record("toy_00001", 4, 1, {"objects": []}),  # a level, still camera: both conventions agree
        record("toy_00002", 0, 1, {"objects": []}),  # the pitched dolly: forward only / forward and down 0.37 m
    ]
    result = check_framing(pl.DataFrame(rows), scenes, dataset)
    d = result.details
    assert not result.passed
    assert (d["n_border_cut"], d["n_spatial"]) == (2, 3) and set(d["border_cut"]) == {"toy_00001-q0", "toy_00001-q2"}
    assert (d["n_mark_held_by_other"], d["n_marked"]) == (1, 1)
    assert (d["n_convention_dependent"], d["n_camera_clips"]) == (1, 2) and list(d["convention_dependent"]) == ["toy_00002-c0"]
    lev, own = convention_classes(dolly, list(range(N_T)), TH)
    assert lev[:3] == ("+", "none", "?") and own[:3] == ("+", "none", "none")  # (forward, left, up)
