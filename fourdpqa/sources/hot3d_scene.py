"""HOT3D ground truth + recording frames + object meshes -> a standard scene.

HOT3D has no depth or instance images: both are rendered here from the object library's glTF meshes in their
ground-truth poses (:mod:`.raster`) in the rectified pinhole camera of the frames. Only the modelled objects are
rendered: background pixels (table, room) and hands (MANO meshes need the separately licensed MANO model) get
no depth (NaN) and instance 0, which the scene records as ``depth_coverage: objects``.

Object frame: HOT3D poses place the mesh's own axes (glTF: +y up); ours has +z = mesh +y, +x = mesh +x and the
origin at the centre of the mesh's axis-aligned box, whose extents are the object size [inferred: HOT3D defines
no canonical front, so ``has_front`` is false]. Visible fraction = rendered visible pixels / pixels of the object
rendered alone on a canvas widened by a quarter of the image on every side (occlusion by other objects and the
image border count; occlusion by hands and unmodelled scenery does not).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from fourdpqa import geometry
from fourdpqa.frame_store import FrameArray
from fourdpqa.scene import Scene, SceneError, SceneMeta
from fourdpqa.sources.adt_objects import POSE_SCHEMA, object_pose, ours_in_local
from fourdpqa.sources.aria import Rectifier, pinhole_cameras
from fourdpqa.sources.captions import fill_captions
from fourdpqa.sources.frame_plan import plan_frames
from fourdpqa.sources.hot3d_frames import Recording, match_frames, nearest
from fourdpqa.sources.raster import Mesh, Raster, rasterize

if TYPE_CHECKING:
    from fourdpqa.sources.hot3d import Hot3dSequence

MESH_EXTENT_M = (0.005, 3.0)  # a hand-held object's largest extent, metres: outside it the units are wrong
LOCAL_FROM_OURS = ours_in_local(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))


def load_meshes(vid: str, folder: Path, uids: list[int], name: str = "{}.glb") -> dict[int, Mesh]:
    """``<folder>/<uid>.glb`` (``name`` formats the file name) of every object, loaded as HOT3D's render_3d.py
    does (trimesh, primitives merged, node transforms applied, metres)."""
    import trimesh

    out = {}
    for uid in uids:
        path = folder / name.format(uid)
        if not path.exists():
            raise SceneError(vid, str(path), f"missing object model: no mesh of object {uid} in {folder} (option object_models)")
        try:
            loaded = trimesh.load_mesh(str(path), process=True, merge_primitives=True, file_type="glb")
            mesh = loaded.to_mesh() if isinstance(loaded, trimesh.Scene) else loaded
        except Exception as exc:  # noqa: BLE001 - any parse failure is a bad file
            raise SceneError(vid, str(path), f"unreadable glTF mesh of object {uid}: {exc}") from exc
        if not len(mesh.faces):
            raise SceneError(vid, str(path), f"mesh of object {uid} has no triangles")
        extent = float(np.ptp(mesh.vertices, axis=0).max())
        if not MESH_EXTENT_M[0] <= extent <= MESH_EXTENT_M[1]:
            raise SceneError(vid, str(path), f"mesh of object {uid} is {extent:.4g} units across, not an object's size "
                             f"in metres {MESH_EXTENT_M} (unknown units)")
        out[uid] = Mesh(np.asarray(mesh.vertices, np.float64), np.asarray(mesh.faces, np.int64))
    return out


def read_frame(vid: str, vrs: Path, rec: Recording, i: int, rect: Rectifier) -> np.ndarray:
    """(height, width, 3) uint8 rectified frame ``i`` of the recording (greyscale streams repeated over 3 channels)."""
    w, h = (int(v) for v in rect.source.get_image_size())
    raw = rec.read(i)
    if raw.shape[:2] != (h, w) or raw.dtype != np.uint8:
        raise SceneError(vid, str(vrs), f"frame {i} is {raw.shape} {raw.dtype}, but the calibration is for {w}x{h} uint8 images")
    img = rect(raw, nearest=False)
    return np.repeat(img[..., None], 3, -1) if img.ndim == 2 else img


def object_tracks(gt: Hot3dSequence, frame_ts: np.ndarray, tol_ns: int) -> tuple[list[int], np.ndarray]:
    """Object uids and their (T, O, 4, 4) world_from_object at the frames (NaN where no pose is within tol)."""
    uids = sorted(gt.world_from_object)
    out = np.full((len(frame_ts), len(uids), 4, 4), np.nan)
    for o, uid in enumerate(uids):
        j = nearest(gt.object_ts[uid], frame_ts, tol_ns)
        out[j >= 0, o] = gt.world_from_object[uid][j[j >= 0]]
    return uids, out


def build_scene(gt: Hot3dSequence, vrs: Path, rec: Recording, rect: Rectifier, meshes: dict[int, Mesh], source: str,
                opts: dict[str, Any], raw_format: str = "hot3d") -> Scene:
    """Frames matched to the ground truth and chosen by the ``frame_plan`` options, depth and instances rendered
    from the meshes one frame at a time (a first pass renders each kept frame for the visibility of the objects;
    the frames' depth, ids and RGB are rendered / decoded again when read), the standard tables. ``opts``: the
    adapter's options with ``stream`` resolved."""
    tol = int(float(opts["max_time_offset_ms"]) * 1e6)
    keep, pose_idx, dropped = match_frames(gt.video_id, vrs, rec.timestamps, gt.device_ts, tol)
    matched = rec.timestamps[keep]
    plan = plan_frames(gt.video_id, (matched - matched[0]) / 1e9, opts)
    keep, pose_idx = keep[plan.frames], pose_idx[plan.frames]
    frame_ts = rec.timestamps[keep]
    world_from_cam = gt.world_from_device[pose_idx] @ rect.device_from_cam
    uids, world_from_object = object_tracks(gt, frame_ts, tol)
    cam_from_object = geometry.invert_pose(world_from_cam)[:, None] @ world_from_object
    h, w = rect.out.height, rect.out.width
    mesh_list = [meshes[u] for u in uids]

    @lru_cache(maxsize=2)
    def render(j: int) -> Raster:
        return rasterize(mesh_list, cam_from_object[j:j + 1], rect.k, h, w, margin=max(h, w) // 4,
                         device=str(opts["device"]))

    counts = [(render(j).visible[0], render(j).amodal[0]) for j in range(len(keep))]
    visible, amodal = np.stack([c[0] for c in counts]), np.stack([c[1] for c in counts])
    seen = np.flatnonzero(visible.sum(0) > 0)
    if not len(seen):
        raise SceneError(gt.video_id, str(vrs), f"no modelled object is visible in any of the {len(keep)} frames")
    lut = np.zeros(len(uids) + 1, np.uint16)
    lut[seen + 1] = np.arange(1, len(seen) + 1)
    vis = np.where(amodal > 0, visible / np.maximum(amodal, 1), 0.0)
    objects, poses = _tables(gt, [uids[o] for o in seen], world_from_object[:, seen], vis[:, seen], meshes)
    times = (frame_ts - matched[0]) / 1e9
    n = len(frame_ts)
    span = (matched[-1] - matched[0]) / 1e9
    fps = (len(matched) - 1) / span / plan.stride if len(matched) > 1 and span > 0 else 30.0
    meta = SceneMeta(video_id=gt.video_id, source=source, fps=float(fps), width=w, height=h, n_frames=n,
                     extra={"raw_format": raw_format, "headset": gt.headset, "stream": str(opts["stream"]),
                            "timestamps_ns": frame_ts.tolist(), "frames_outside_ground_truth": dropped,
                            "depth_coverage": "objects", "hands": "not rendered",
                            "raw_world": "z_up" if gt.headset == "Aria" else "y_up", "raw_depth_kind": "rendered_z",
                            **plan.extra()})
    frames = (FrameArray(n, (h, w, 3), np.uint8, lambda j: read_frame(gt.video_id, vrs, rec, int(keep[j]), rect)),
              FrameArray(n, (h, w), np.float32, lambda j: render(j).depth[0].astype(np.float32)),
              FrameArray(n, (h, w), np.uint16, lambda j: lut[render(j).ids[0]]))
    counts = np.zeros((n, len(seen) + 1), np.int64)
    counts[:, 1:] = visible[:, seen]  # the objects pass's pixel counts, by object id
    objects = fill_captions(objects, frames[0], frames[2], frames[1], counts=counts)
    return Scene(meta, *frames, pinhole_cameras(rect.k, world_from_cam, times), objects, poses)


def _tables(gt: Hot3dSequence, uids: list[int], world_from_object: np.ndarray, vis: np.ndarray,
            meshes: dict[int, Mesh]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """objects (ids 1..N in ``uids`` order) and object_poses from (T, N, 4, 4) poses and (T, N) visibility."""
    rows, sizes = [], []
    for oid, uid in enumerate(uids, start=1):
        v = meshes[uid].vertices
        aabb = np.stack([v.min(0), v.max(0)], 1).ravel()  # (xmin, xmax, ymin, ymax, zmin, zmax)
        local_from_ours, size = object_pose(np.eye(4), aabb, LOCAL_FROM_OURS)
        sizes.append(size)
        for k in np.flatnonzero(np.isfinite(world_from_object[:, oid - 1, 0, 0])):
            pose = world_from_object[k, oid - 1] @ local_from_ours
            q = geometry.matrix_to_quat(pose[:3, :3])
            rows.append((int(k), oid, *q.tolist(), *pose[:3, 3].tolist(), float(np.clip(vis[k, oid - 1], 0, 1))))
    poses = pl.DataFrame(rows, schema=POSE_SCHEMA, orient="row").sort("object_id", "frame")
    names = [gt.names[u] for u in uids]
    objects = pl.DataFrame({
        "object_id": np.arange(1, len(uids) + 1, dtype=np.int64), "category": names,
        "caption": [""] * len(uids),  # from the pixels: captions.fill_captions
        "size_l": [float(s[0]) for s in sizes], "size_w": [float(s[1]) for s in sizes], "size_h": [float(s[2]) for s in sizes],
        "has_front": [False] * len(uids), "is_dynamic": [True] * len(uids), "hot3d_uid": [str(u) for u in uids],
    }, schema_overrides={"size_l": pl.Float64, "size_w": pl.Float64, "size_h": pl.Float64})
    return objects, poses
