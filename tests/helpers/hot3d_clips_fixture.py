"""A HOT3D-Clips tar built from real files, in the documented clip format (facebookresearch/hot3d
``hot3d/clips/README.md``; member names, JSON keys and the ``%06d`` frame keys as its ``clip_util.py`` /
``vis_clips.py`` read them; the 15-parameter Aria FISHEYE624 calibration as hand_tracking_toolkit's
``camera.from_json`` reads it). No HOT3D-Clips tar is public at test size, so the clip is written here from the
same real data as the HOT3D image fixture (``hot3d_fixture``): the ADT sample's Aria RGB frames (re-encoded as
JPEG, as the clips store them), the HOT3D sequence P0003_c701bd11's headset and cellphone poses re-timed onto them,
and that sequence's MPS calibration of the RGB camera. Written from the raw CSV / calibration files, not through the
adapters, so a clip converted by ``kind: hot3d_clips`` can be compared with the same data converted by ``kind:
hot3d``.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import cv2
import numpy as np
import polars as pl
from scipy.spatial.transform import Rotation

from tests.helpers.hot3d_fixture import LIBRARY, PHONE, make_sequence

STREAM = "214-1"


def _se3(m: np.ndarray) -> dict:
    q = Rotation.from_matrix(m[:3, :3]).as_quat()  # x, y, z, w
    return {"translation_xyz": m[:3, 3].tolist(), "quaternion_wxyz": [q[3], q[0], q[1], q[2]]}


def _poses(csv: Path) -> tuple[np.ndarray, np.ndarray]:
    """(timestamps, (N, 4, 4) T_world_from_x) of a HOT3D pose CSV (quaternion w first)."""
    df = pl.read_csv(csv).sort("timestamp[ns]")
    q = df.select("q_wo_x", "q_wo_y", "q_wo_z", "q_wo_w").to_numpy()
    m = np.tile(np.eye(4), (len(df), 1, 1))
    m[:, :3, :3] = Rotation.from_quat(q).as_matrix()
    m[:, :3, 3] = df.select("t_wo_x[m]", "t_wo_y[m]", "t_wo_z[m]").to_numpy()
    return df["timestamp[ns]"].to_numpy(), m


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def make_clip(root: Path, split: str = "train_aria", clip_id: int = 1) -> tuple[Path, Path]:
    """(``root/<split>/clip-<id>.tar``, the HOT3D sequence it was made from); object models in
    ``root/object_models_eval/obj_000024.glb`` (the cellphone, BOP id 24 in HOT3D's instance.json)."""
    from projectaria_tools.core import data_provider, mps
    from projectaria_tools.core.sensor_data import TimeDomain
    from projectaria_tools.core.stream_id import StreamId

    seq = make_sequence(root / "hot3d")
    calib = next(c for c in mps.read_online_calibration(str(seq / "mps/slam/online_calibration.jsonl"))[0].camera_calibs
                 if c.get_label() == "camera-rgb")
    device_from_camera = calib.get_transform_device_camera().to_matrix()
    vrs = data_provider.create_vrs_data_provider(str(seq / "recording.vrs"))
    sid = StreamId(STREAM)
    frame_ts = np.asarray(vrs.get_timestamps_ns(sid, TimeDomain.TIME_CODE), np.int64)
    dev_ts, world_from_device = _poses(seq / "headset_trajectory.csv")
    obj_ts, world_from_object = _poses(seq / "dynamic_objects.csv")
    keep = [i for i, t in enumerate(frame_ts) if np.abs(dev_ts - t).min() <= 1_000_000]
    (root / split).mkdir(parents=True, exist_ok=True)
    models = root / "object_models_eval"
    models.mkdir(exist_ok=True)
    shutil.copy(LIBRARY / f"{PHONE}.glb", models / "obj_000024.glb")
    path = root / split / f"clip-{clip_id:06d}.tar"
    with tarfile.open(path, "w") as tar:
        for k, i in enumerate(keep):
            key, t = f"{k:06d}", int(frame_ts[i])
            rgb = vrs.get_image_data_by_index(sid, i)[0].to_numpy_array()
            ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
            _add(tar, f"{key}.image_{STREAM}.jpg", jpg.tobytes())
            cam = {"calibration": {
                "label": "camera-rgb", "stream_id": STREAM, "serial_number": calib.get_serial_number(),
                "image_width": 1408, "image_height": 1408, "projection_model_type": "CameraModelType.FISHEYE624",
                "projection_params": np.asarray(calib.projection_params()).tolist(),
                "T_device_from_camera": _se3(device_from_camera), "max_solid_angle": calib.get_max_solid_angle()},
                "T_world_from_camera": _se3(world_from_device[np.abs(dev_ts - t).argmin()] @ device_from_camera)}
            _add(tar, f"{key}.cameras.json", json.dumps({STREAM: cam}).encode())
            j = int(np.abs(obj_ts - t).argmin())
            if abs(int(obj_ts[j]) - t) <= 1_000_000:
                objects = {str(PHONE): [{"object_bop_id": 24, "T_world_from_object": _se3(world_from_object[j])}]}
                _add(tar, f"{key}.objects.json", json.dumps(objects).encode())
            _add(tar, f"{key}.info.json", json.dumps({"device": "Aria", "image_timestamps_ns": {STREAM: t}}).encode())
    return path, seq
