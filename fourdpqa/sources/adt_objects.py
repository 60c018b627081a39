"""ADT objects and agents -> the standard objects / object_poses tables and uint16 instance masks.

ADT object poses are ``T_scene_object`` with an axis-aligned box in the object's local frame and a canonical
``front_vector`` / ``up_vector`` per instance (instances.json); people are skeletons (51 joints in the scene
frame). Both are expressed here in the standard object frame (+x front, +z up, origin at the box centre).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from fourdpqa import geometry
from fourdpqa.scene import SceneError
from fourdpqa.sources.aria import level_from_gravity
from fourdpqa.sources.captions import STRUCTURAL

GRAVITY_RANGE = (9.0, 10.5)  # |g| in m/s^2: anything else means other units or a broken file
# Skeleton joints (AriaDigitalTwinSkeletonProvider.get_joint_labels order) used for an agent's heading.
L_SHOULDER, R_SHOULDER, L_THIGH, R_THIGH = 5, 24, 43, 47
# Joints lie inside the body: pad the joint extent to a body box (front/back, sides, top of head) [inferred].
BODY_PADDING_M = np.array([0.25, 0.2, 0.15])
WEARER_CATEGORY = "camera wearer"  # the wearer's body proxy: an object without poses (adt module docstring)
POSE_SCHEMA = {"frame": pl.Int64, "object_id": pl.Int64, "qw": pl.Float64, "qx": pl.Float64, "qy": pl.Float64,
               "qz": pl.Float64, "tx": pl.Float64, "ty": pl.Float64, "tz": pl.Float64, "visible_fraction": pl.Float64}


def level_gravity(vid: str, path: Path, trajectory: pl.DataFrame) -> np.ndarray:
    """(4, 4) levelling rotation from the trajectory's ``gravity_*_world`` columns (constant, in m/s^2)."""
    g = trajectory.select("gravity_x_world", "gravity_y_world", "gravity_z_world").to_numpy().astype(np.float64)
    if not len(g) or np.ptp(g, axis=0).max() > 1e-3:
        raise SceneError(vid, str(path), "gravity_*_world must be present and constant over the sequence")
    norm = float(np.linalg.norm(g[0]))
    if not GRAVITY_RANGE[0] <= norm <= GRAVITY_RANGE[1]:
        raise SceneError(vid, str(path), f"gravity norm {norm:.3g} is not ~9.81 m/s^2 (unknown units)")
    return level_from_gravity(g[0])


def ours_in_local(front: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(3, 3) rotation local_from_ours: our +x = the canonical front, +z = the canonical up (local frame)."""
    f, u = np.asarray(front, np.float64), np.asarray(up, np.float64)
    f, u = f / np.linalg.norm(f), u / np.linalg.norm(u)
    return np.stack([f, np.cross(u, f), u], -1)


def object_pose(scene_from_local: np.ndarray, aabb: np.ndarray, local_from_ours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(4, 4) scene_from_ours (origin at the AABB centre) and the (3,) box size along our x, y, z.

    ``aabb`` is ADT's (xmin, xmax, ymin, ymax, zmin, zmax) in the local frame, metres."""
    lo, hi = np.asarray(aabb[0::2], np.float64), np.asarray(aabb[1::2], np.float64)
    local_from_box = geometry.pose_matrix(local_from_ours, (lo + hi) / 2)
    size = np.abs(local_from_ours.T) @ (hi - lo)
    return scene_from_local @ local_from_box, size


def agent_pose(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(4, 4) world_from_agent and (3,) body box size from skeleton joints (51, 3) in a +z-up world, metres.

    Front = (left - right) x up over shoulders and hips (a person facing +x has the left side at +y)."""
    lr = (joints[L_SHOULDER] - joints[R_SHOULDER]) + (joints[L_THIGH] - joints[R_THIGH])
    front = np.cross(np.array([lr[0], lr[1], 0.0]), [0.0, 0.0, 1.0])
    front /= np.linalg.norm(front)
    rot = np.stack([front, np.cross([0.0, 0.0, 1.0], front), [0.0, 0.0, 1.0]], -1)
    local = joints @ rot
    lo, hi = local.min(0), local.max(0)
    return geometry.pose_matrix(rot, rot @ ((lo + hi) / 2)), hi - lo + BODY_PADDING_M


class ObjectTable:
    """Collects per-frame ids, poses and visibility of the instances (one pass over the masks, none kept), then
    builds the standard tables and maps any later-decoded mask to object ids (:meth:`instance_ids`)."""

    def __init__(self, vid: str, seq: Path, instances: dict[str, dict], serial: str, front_categories: list[str],
                 level: np.ndarray):
        self.vid, self.seq, self.instances, self.level = vid, seq, instances, level
        self.front_categories = set(front_categories)
        self.wearer = [u for u, v in instances.items() if v["instance_type"] == "human"
                       and serial and str(v.get("associated_device_serial", serial_of(seq, u))) == serial]
        self.frames: list[dict[str, Any]] = []
        self.body: set[int] = set()  # wearer uids seen in the masks (their body proxy)
        self.lut = np.zeros(0, np.uint64)  # sorted uids with an object id, set by finish
        self.lut_ids = np.zeros(0, np.uint16)

    def add_frame(self, k: int, seg: np.ndarray, raw_seg: np.ndarray, coverage: np.ndarray, gt: Any, ts: int,
                  sid: Any, tol: int) -> None:
        """Record frame ``k``: rectified (H, W) and raw (H_raw, W_raw) uint64 uid masks, raw view coverage."""
        ids = {int(u) for u in np.unique(seg) if u}
        unknown = sorted(u for u in ids if str(u) not in self.instances)
        if unknown:
            raise SceneError(self.vid, "segmentations.vrs", f"frame {k}: instance ids {unknown[:5]} not in instances.json")
        ids = {u for u in ids if str(self.instances[str(u)]["category"]).lower() not in STRUCTURAL}  # the room shell: background
        body = {int(u) for u in self.wearer} & ids  # the wearer's body proxy (``*_with_skeleton`` files)
        self.body |= body
        ids -= body  # the wearer is the camera: never an object (with a pose) of its own video
        uids, raw_n = np.unique(raw_seg, return_counts=True)
        in_view = dict(zip(*np.unique(raw_seg[coverage], return_counts=True)))
        share = {int(u): in_view.get(u, 0) / n for u, n in zip(uids, raw_n) if int(u) in ids}
        boxes = gt.get_object_2d_boundingboxes_by_timestamp_ns(ts, sid)
        ratio = {int(u): float(b.visibility_ratio) for u, b in boxes.data().items()} if boxes.is_valid() and abs(boxes.dt_ns()) <= tol else {}
        b3 = gt.get_object_3d_boundingboxes_by_timestamp_ns(ts)
        poses = {int(u): (b.transform_scene_object.to_matrix(), np.asarray(b.aabb)) for u, b in b3.data().items()} \
            if b3.is_valid() and abs(b3.dt_ns()) <= tol else {}
        humans = [u for u in ids | body if self.instances[str(u)]["instance_type"] == "human"]
        joints = {}
        for u in humans:
            sk = gt.get_skeleton_by_timestamp_ns(ts, u)
            if sk.is_valid() and abs(sk.dt_ns()) <= tol:
                joints[u] = np.asarray(sk.data().joints, np.float64)
        self.frames.append({"ids": ids, "vis": {u: ratio.get(u, 0.0) * share.get(u, 0.0) for u in ids},
                            "poses": poses, "joints": joints})

    def _pose(self, k: int, uid: int) -> tuple[np.ndarray, np.ndarray] | None:
        f, info = self.frames[k], self.instances[str(uid)]
        if info["instance_type"] == "human":
            j = f["joints"].get(uid)
            return None if j is None else agent_pose(geometry.transform_points(self.level, j[None])[0])
        if uid not in f["poses"]:
            return None
        canon = info.get("canonical_pose") or {"front_vector": [0, 0, 1], "up_vector": [0, 1, 0]}
        m, aabb = f["poses"][uid]
        pose, size = object_pose(m, aabb, ours_in_local(canon["front_vector"], canon["up_vector"]))
        return self.level @ pose, size

    def instance_ids(self, seg: np.ndarray) -> np.ndarray:
        """(H, W) uint16 object ids of a rectified uid mask (after :meth:`finish`; the wearer and instances seen
        in no rectified frame of the pass -> 0)."""
        pos = np.minimum(np.searchsorted(self.lut, seg), max(len(self.lut) - 1, 0))
        known = (seg > 0) & (self.lut[pos] == seg) if len(self.lut) else np.zeros(seg.shape, bool)
        return np.where(known, self.lut_ids[pos], 0).astype(np.uint16)

    def finish(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(objects, object_poses) over the instances seen in any rectified frame."""
        uids = sorted(set().union(*(f["ids"] for f in self.frames)))
        if len(uids) > 65535:
            raise SceneError(self.vid, "segmentations.vrs", f"{len(uids)} visible instances exceed the uint16 id range")
        rows, sizes = [], {}
        for k in range(len(self.frames)):
            for oid, u in enumerate(uids, start=1):
                got = self._pose(k, u)
                if got is None:
                    if u in self.frames[k]["ids"]:
                        raise SceneError(self.vid, "scene_objects.csv", f"instance {u} is visible at frame {k} but has no pose there")
                    continue
                pose, size = got
                sizes.setdefault(u, size)
                q = geometry.matrix_to_quat(pose[:3, :3])
                rows.append((k, oid, *q.tolist(), *pose[:3, 3].tolist(), float(np.clip(self.frames[k]["vis"].get(u, 0.0), 0, 1))))
        poses = pl.DataFrame(rows, schema=POSE_SCHEMA, orient="row").sort("object_id", "frame")
        body = sorted(self.body)  # after the objects: object ids 1..N are those of the files without skeletons
        for u in body:
            sizes[u] = self._body_size(u)
        every = uids + body
        info = [self.instances[str(u)] for u in every]
        human = [i["instance_type"] == "human" for i in info]
        category = [WEARER_CATEGORY if u in self.body else "person" if h else str(i["category"])
                    for u, i, h in zip(every, info, human)]
        objects = pl.DataFrame({
            "object_id": np.arange(1, len(every) + 1, dtype=np.int64),
            "category": category,
            "caption": [""] * len(every),  # from the pixels: captions.fill_captions
            "size_l": [float(sizes[u][0]) for u in every], "size_w": [float(sizes[u][1]) for u in every],
            "size_h": [float(sizes[u][2]) for u in every],
            "has_front": [h or str(i["category"]) in self.front_categories for i, h in zip(info, human)],
            "is_dynamic": [str(i.get("motion_type")) == "dynamic" or u in self.body for u, i in zip(every, info)],
            "adt_uid": [str(u) for u in every],
            "instance_name": [str(i.get("instance_name", "")) for i in info],
        }, schema_overrides={"size_l": pl.Float64, "size_w": pl.Float64, "size_h": pl.Float64})
        order = np.argsort(np.asarray(every, np.uint64), kind="stable")
        self.lut = np.asarray(every, np.uint64)[order]
        self.lut_ids = (order + 1).astype(np.uint16)
        return objects, poses

    def _body_size(self, uid: int) -> np.ndarray:
        """The wearer's body box from the first skeleton seen (a standing person's box when none was)."""
        for f in self.frames:
            if uid in f["joints"]:
                return agent_pose(geometry.transform_points(self.level, f["joints"][uid][None])[0])[1]
        return np.array([0.3, 0.5, 1.7])


def serial_of(seq: Path, uid: str) -> str:
    """Device serial a skeleton is associated with (skeleton_aria_association.json), '' if none."""
    import json

    p = seq / "skeleton_aria_association.json"
    if not p.exists():
        return ""
    try:
        rows = json.loads(p.read_text()).get("SkeletonMetadata", [])
    except (OSError, ValueError, AttributeError):
        return ""
    return next((str(r.get("AssociatedDeviceSerial", "")) for r in rows if str(r.get("SkeletonId")) == uid), "")
