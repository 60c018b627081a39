"""What the frame shows of the things a benchmark question names (issue 24.2, 24.3, 24.5), measured from the
scene files and the exported frames, without the generator's code:

* **border-cut anchors**: an object a spatial comparison (types 8-11) is about, whose instance pixels reach the
  image border in the frame it is compared in;
* **marks held by another object**: a circle or box that, on the exported frame, holds as many pixels of some
  other object as of the object it marks;
* **convention-dependent camera clips**: camera-movement questions on clips where the first camera's own axes and
  the levelled frame (forward = the horizontal viewing direction, up = against gravity) classify some axis of the
  camera's motion differently (none, one way, the other way, or in between): its travel along forward, left and
  up, the heading and elevation of its optical axis, and the tilt of that frame's "up" on screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import polars as pl
from PIL import Image

from fourdpqa.layout import scene_dir
from fourdpqa.oracle2.references import mark_region
from fourdpqa.scene import Scene, read_scene
from fourdpqa.validate.result import CheckResult
from schemas.qa import present

SPATIAL = {8: "depth", 9: "object_object_distance", 10: "multiview_depth", 11: "multiview_object_distance"}


def compared_at(spec: dict[str, Any], qtype: int) -> list[tuple[int, int]]:
    """(object id, clip frame) of every object a spatial comparison compares (none when its spec does not say)."""
    frames, pairs = spec.get("frames") or [], spec.get("pairs") or []
    if len(frames) != 2:
        return []
    i, j = frames
    if qtype in (8, 10):
        return list(zip(spec.get("objects") or [], (i, j)))
    return [(o, k) for pair, k in zip(pairs, (i, j)) for o in pair]


def touches_border(inst: np.ndarray, object_id: int) -> bool:
    mask = inst == object_id
    return bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


def mark_counts(mark: dict, inst: np.ndarray, size: tuple[int, int]) -> dict[int, int]:
    """Object id -> pixels inside ``mark`` on the exported frame (``size`` = (width, height); the instance mask
    resized nearest-neighbour)."""
    w, h = size
    ids = cv2.resize(inst.astype(np.uint16), (w, h), interpolation=cv2.INTER_NEAREST)
    found, counts = np.unique(ids[mark_region(mark, h, w)], return_counts=True)
    return {int(o): int(n) for o, n in zip(found.tolist(), counts.tolist(), strict=True) if o}


def levelled_axes(cam_rot0: np.ndarray) -> np.ndarray:
    """Rows forward, left, up of the levelled first camera (world up = +z), in world coordinates."""
    fwd = np.array([cam_rot0[0, 2], cam_rot0[1, 2], 0.0])
    if np.linalg.norm(fwd) < 1e-6:  # looking straight down: the image top gives the heading
        fwd = np.array([-cam_rot0[0, 1], -cam_rot0[1, 1], 0.0])
    fwd /= np.linalg.norm(fwd)
    up = np.array([0.0, 0.0, 1.0])
    return np.stack([fwd, np.cross(up, fwd), up])


def axis_classes(values: np.ndarray, none: float, some: float) -> tuple[str, ...]:
    """Per column of ``values`` (T, 3) (relative to row 0): "none" (never beyond ``none``), "+" / "-" (net beyond
    ``some``), else "?"."""
    rel = values - values[0]
    out = []
    for k in range(rel.shape[1]):
        if np.abs(rel[:, k]).max() <= none:
            out.append("none")
        elif abs(rel[-1, k]) >= some:
            out.append("+" if rel[-1, k] > 0 else "-")
        else:
            out.append("?")
    return tuple(out)


def view_angles(cam_rot: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """(T, 3) degrees of how the view turns, seen in the frame ``axes`` (rows forward, left, up): the heading and
    the elevation of the optical axis, and the angle at which that frame's "up" appears in the picture (the tilt
    of the horizon on screen)."""
    f = cam_rot[:, :, 2] @ axes.T  # optical axis as (forward, left, up)
    heading = np.unwrap(np.arctan2(f[:, 1], f[:, 0]))
    elevation = np.arcsin(np.clip(f[:, 2], -1.0, 1.0))
    up_cam = np.einsum("tji,j->ti", cam_rot, axes[2])  # the frame's up in each camera's axes (x right, y down)
    horizon = np.unwrap(np.arctan2(up_cam[:, 0], -up_cam[:, 1]))
    return np.degrees(np.stack([heading, elevation, horizon], -1))


def convention_classes(scene: Scene, frames: list[int], th: dict[str, Any]) -> tuple[tuple, tuple]:
    """Axis classes of the camera's translation (forward, left, up) and turn (heading, elevation, horizon) in the
    levelled frame and in the first camera's own axes."""
    wfc = scene.world_from_cam[frames]
    pos, rot = wfc[:, :3, 3], wfc[:, :3, :3]
    own = np.stack([rot[0][:, 2], -rot[0][:, 0], -rot[0][:, 1]])  # forward z, left -x, up -y
    per_frame = []
    for axes in (levelled_axes(rot[0]), own):
        moved = axis_classes((pos - pos[0]) @ axes.T, th["translation_none_m"], th["translation_some_m"])
        turned = axis_classes(view_angles(rot, axes), th["rotation_none_deg"], th["rotation_some_deg"])
        per_frame.append(moved + turned)
    return per_frame[0], per_frame[1]


def _export_size(dataset_dir: Path, record: dict) -> tuple[int, int]:
    with Image.open(dataset_dir / record["frames"][0]) as img:
        return img.size


def check_framing(benchmark: pl.DataFrame, scenes_dir: str | Path, dataset_dir: str | Path,
                  blocking: bool = False) -> CheckResult:
    """0 border-cut anchors of spatial comparisons, 0 marks held as much by another object as by their target,
    0 camera-movement clips whose answer depends on the convention."""
    cut: dict[str, list] = {}
    held: dict[str, list] = {}
    convention: dict[str, Any] = {}
    counts = {"spatial": 0, "marked": 0, "camera_clips": set()}
    for (vid,), grp in benchmark.sort("video_id", "id").group_by(["video_id"], maintain_order=True):
        scene = read_scene(scene_dir(scenes_dir, vid), with_rgb=False)
        for rec in grp.iter_rows(named=True):
            spec = present(rec["measurement"])["spec"]
            frames = [int(f) for f in rec["clip_frames"]]
            if rec["question_type"] in SPATIAL:
                counts["spatial"] += 1
                bad = [(o, k) for o, k in compared_at(spec, rec["question_type"])
                       if touches_border(np.asarray(scene.instances[frames[k]]), o)]
                if bad:
                    cut[rec["id"]] = bad
            marks = present(rec["marks"]) if rec["marks"] else []
            if marks:
                counts["marked"] += 1
                size = _export_size(Path(dataset_dir), rec)
                for mark, target in zip(marks, rec["object_ids"], strict=False):
                    inside = mark_counts(mark, np.asarray(scene.instances[frames[int(mark["frame"])]]), size)
                    rivals = {o: n for o, n in inside.items() if o != target and n >= inside.get(target, 0)}
                    if rivals:
                        held.setdefault(rec["id"], []).append({"target": target, "inside": inside})
            if rec["question_type"] == 1:
                counts["camera_clips"].add(rec["clip_id"])
                lev, own = convention_classes(scene, frames, present(rec["threshold"]))
                if lev != own:
                    convention[rec["clip_id"]] = {"levelled": lev, "own_axes": own}
    n_clips = len(counts["camera_clips"])
    details = {"border_cut": dict(list(cut.items())[:50]), "n_border_cut": len(cut), "n_spatial": counts["spatial"],
               "mark_held_by_other": dict(list(held.items())[:50]), "n_mark_held_by_other": len(held),
               "n_marked": counts["marked"], "convention_dependent": dict(list(convention.items())[:50]),
               "n_convention_dependent": len(convention), "n_camera_clips": n_clips}
    passed = not cut and not held and not convention
    return CheckResult("check_framing", passed, blocking,
                       f"{len(cut)}/{counts['spatial']} spatial questions with a border-cut anchor, "
                       f"{len(held)}/{counts['marked']} marked questions with a mark held by another object, "
                       f"{len(convention)}/{n_clips} camera clips whose answer depends on the convention",
                       "0 of each", details)
