"""A hand-built scene whose answers are known without any project code, and QA records about it, for oracle-2.

Camera: level at 1.5 m, looking along world +x, dollies forward 0.15 m per frame (1.35 m over 10 frames).
Box 1 ("red box"): at (6, 0, 0.5), turning counter-clockwise (seen from above) 10 degrees per frame.
Box 2 ("blue box"): starts at (5, 2, 0.5) and slides 0.1 m per frame along +y, i.e. to the camera's left.
So: the camera moves forward; its distance to box 1 decreases (6.08 m -> 4.76 m, -22%); box 1 rotates
counter-clockwise; box 2 moves left.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from fourdpqa.scene import write_scene
from fourdpqa.thresholds import LabelThresholds
from tests.helpers.track_scenes import Box, make_scene

N_T, W, H = 10, 64, 48
VIDEO = "hand_00000"


def _pose(yaw: float, pos) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    m = np.eye(4)
    m[:3, :3] = [[c, -s, 0], [s, c, 0], [0, 0, 1]]
    m[:3, 3] = pos
    return m


def poses() -> tuple[np.ndarray, list[Box]]:
    cams = np.stack([np.eye(4)] * N_T)
    cams[:, :3, :3] = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])  # columns: right, down, forward
    cams[:, :3, 3] = [[0.15 * t, 0.0, 1.5] for t in range(N_T)]
    box1 = np.stack([_pose(np.radians(10.0 * t), (6.0, 0.0, 0.5)) for t in range(N_T)])
    box2 = np.stack([_pose(0.0, (5.0, 2.0 + 0.1 * t, 0.5)) for t in range(N_T)])
    return cams, [Box(1, (1.0, 1.0, 1.0), box1), Box(2, (0.8, 0.8, 0.8), box2)]


def write_hand_scene(root: Path, with_tracks: bool = True) -> Path:
    """``<root>/scenes/<VIDEO>/`` and (optionally) ``<root>/tracks/<VIDEO>.npz`` with the boxes' corners as
    3-D track points; returns ``root``."""
    cams, boxes = poses()
    scene = make_scene(cams, boxes, width=W, height=H, f=0.8 * W, video_id=VIDEO)
    scene.objects = scene.objects.with_columns(pl.Series("caption", ["red box", "blue box"]))
    write_scene(scene, root / "scenes" / VIDEO)
    if with_tracks:
        corners = np.array([[x, y, z] for x in (-0.4, 0.4) for y in (-0.4, 0.4) for z in (-0.4, 0.4)])
        pts = [np.einsum("tij,nj->nti", b.world_from_object[:, :3, :3], corners) + b.world_from_object[None, :, :3, 3]
               for b in boxes]
        ground = np.array([[x, y, 0.0] for x in (3.0, 8.0) for y in (-3.0, 0.0, 3.0)])  # static background points
        world = np.concatenate([np.repeat(ground[:, None], N_T, 1), *pts])
        # camera coordinates by hand: the camera's axes are its rotation's columns, p_cam = R^T (p - c)
        cam = np.einsum("tji,ntj->nti", cams[:, :3, :3], world - cams[None, :, :3, 3])
        (root / "tracks").mkdir(parents=True, exist_ok=True)
        np.savez(root / "tracks" / f"{VIDEO}.npz", frames=np.arange(N_T),
                 object_id=np.repeat([0, 1, 2], [len(ground), len(corners), len(corners)]), points_world=world,
                 points_cam=cam)
    return root


def instances(root: Path) -> np.ndarray:
    return np.load(root / "scenes" / VIDEO / "instances.npy")


def circle_around(mask: np.ndarray, frame: int, label: str = "") -> dict:
    """A circle mark (normalised) through the mask's farthest pixel from its centroid, + 1.5 px."""
    ys, xs = np.nonzero(mask)
    cx, cy = xs.mean(), ys.mean()
    r = float(np.sqrt(((xs - cx) ** 2 + (ys - cy) ** 2).max())) + 1.5
    return {"kind": "circle", "frame": frame, "xy": [(cx + 0.5) / W, (cy + 0.5) / H], "radius": r / W, "label": label}


def record(rid: str, qtype: int, fmt: str, question: str, spec: dict, answer: str, label: str = "",
           options: list[str] | None = None, marks: list[dict] | None = None, **thresholds) -> dict:
    """A QA record (the fields oracle-2 reads) about the hand scene's full clip."""
    names = {1: "camera_movement", 2: "camera_object_distance", 3: "object_rotation", 4: "object_direction"}
    return {
        "id": rid, "video_id": VIDEO, "question_type": qtype, "question_name": names[qtype], "answer_format": fmt,
        "question": question, "options": options or (["yes", "no"] if fmt == "yn" else []), "answer": answer,
        "label": label, "clip_frames": list(range(N_T)), "marks": marks or [],
        "measurement": {"spec": spec, "values": {"reference_system": "camera" if qtype < 3 else "world"}},
        "threshold": {**LabelThresholds().model_dump(), **thresholds},
    }


def good_records(root: Path) -> list[dict]:
    """Records with the answers the module doc derives by hand, one per reference mode."""
    inst = instances(root)
    ys, xs = np.nonzero(inst[3] == 2)
    px, py = xs[len(xs) // 2], ys[len(ys) // 2]
    box1 = np.nonzero(inst[0] == 1)
    box_mark = {"kind": "box", "frame": 0, "label": "1", "box": [box1[1].min() / W, box1[0].min() / H,
                                                                   (box1[1].max() + 1) / W, (box1[0].max() + 1) / H]}
    return [
        record("cam-mc", 1, "mc", "How does the camera move during the video?",
               {"option_labels": ["static", "forward", "backward", "left"]}, "B", "forward",
               options=["The camera stays still", "The camera moves forward", "The camera moves backward",
                        "The camera moves to the left"]),
        record("cam-yn", 1, "yn", "Does the camera pan left during the video?", {"query": "pan left"}, "no", "forward"),
        record("dist-free", 2, "free", "How does the distance between the camera and the red box change?",
               {"objects": [1]}, "It keeps decreasing", "decreasing"),
        record("rot-yn", 3, "yn", "Seen from above, does the object inside circle 1 in frame 0 rotate clockwise?",
               {"objects": [1], "query": "clockwise"}, "no", "counter-clockwise",
               marks=[circle_around(inst[0] == 1, 0, "1")]),
        record("rot-box", 3, "yn", "Seen from above, does object 1 (boxed in frame 0) rotate counter-clockwise?",
               {"objects": [1], "query": "counter-clockwise"}, "yes", "counter-clockwise", marks=[box_mark]),
        record("dir-mc", 4, "mc", f"In which direction does the object at ({(px + 0.5) / W:.3f}, {(py + 0.5) / H:.3f}) "
               "in frame 3 move?", {"objects": [2], "option_labels": ["away from the camera", "right", "left",
                                                                     "toward the camera"]}, "C", "left",
               options=["Away from the camera", "To the right", "To the left", "Toward the camera"]),
    ]
