"""HOT3D rendering on the real ground truth: the real cellphone mesh (5462893327580.glb), posed by the sequences'
dynamic_objects.csv and headset trajectories and seen through their real calibrations, against the dataset's own
``box2d_objects.csv`` boxes (Aria P0003 RGB + SLAM, Quest3 P0002 both SLAM cameras; the phone is in both); and the
standard scene of the image fixture (tests/helpers/hot3d_fixture.py) against the CSVs read independently.

Mask -> box: each frame is rendered in a pinhole window around the phone with the fisheye's focal length; the
silhouette's boundary pixels are mapped back to raw fisheye pixels with projectaria-tools' FISHEYE624 model
(``CameraCalibration.project``) and their bounding box is compared with the dataset's box (IoU).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import polars as pl
import pytest
from scipy.spatial.transform import Rotation

from fourdpqa import geometry
from fourdpqa.sources.hot3d import load_sequence, read_sequence
from fourdpqa.sources.hot3d_frames import nearest
from fourdpqa.sources.hot3d_scene import load_meshes
from fourdpqa.sources.raster import rasterize
from helpers.hot3d_fixture import PHONE, make_sequence

ROOT = Path(__file__).parents[1] / "data" / "hot3d"
WIN = 256  # pinhole window (pixels) around the phone


def _box(cam, k: np.ndarray, x0: int, y0: int, mask: np.ndarray) -> tuple[float, ...]:
    """Fisheye bounding box (x_min, x_max, y_min, y_max) of the mask's boundary pixels (window at x0, y0)."""
    edge = mask & ~cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    ys, xs = np.nonzero(edge)
    rays = np.stack([(xs + x0 - k[0, 2]) / k[0, 0], (ys + y0 - k[1, 2]) / k[1, 1], np.ones(len(xs))], -1)
    px = np.array([cam.project(r) for r in rays])
    return px[:, 0].min(), px[:, 0].max(), px[:, 1].min(), px[:, 1].max()


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[2], b[2]))
    inter = ix * iy
    return inter / ((a[1] - a[0]) * (a[3] - a[2]) + (b[1] - b[0]) * (b[3] - b[2]) - inter)


@pytest.fixture(scope="module")
def phone():
    return load_meshes("hot3d", ROOT / "assets", [PHONE])[PHONE]


@pytest.mark.parametrize(("name", "stream"), [("P0003_c701bd11", "214-1"), ("P0003_c701bd11", "1201-1"),
                                              ("P0002_273c2819", "1201-1"), ("P0002_273c2819", "1201-2")])
def test_rendered_phone_matches_the_datasets_2d_boxes_and_its_pose_distance(phone, name, stream):
    gt = read_sequence(ROOT / name, ROOT / "assets")
    boxes = pl.read_csv(ROOT / name / "box2d_objects.csv", schema_overrides={"stream_id": pl.Utf8})
    rows = boxes.filter((pl.col("object_uid") == PHONE) & (pl.col("stream_id") == stream)).sort("timestamp[ns]")[::5]
    ts = rows["timestamp[ns]"].to_numpy()
    i, j = nearest(gt.device_ts, ts, 0), nearest(gt.object_ts[PHONE], ts, 0)
    assert (i >= 0).all() and (j >= 0).all()
    cam = gt.cameras[stream]
    cam_from_obj = geometry.invert_pose(gt.world_from_device[i] @ cam.get_transform_device_camera().to_matrix()) \
        @ gt.world_from_object[PHONE][j]
    f = float(cam.get_focal_lengths()[0])
    w, h = (float(v) for v in cam.get_image_size())
    origin = cam_from_obj[:, :3, 3]
    ious, dz = [], []
    for n in range(len(ts)):
        centre = f * origin[n, :2] / origin[n, 2] + [(w - 1) / 2, (h - 1) / 2]
        x0, y0 = (int(c) - WIN // 2 for c in centre)
        k = geometry.intrinsics_matrix(np.float64(f), np.float64(f), np.float64((w - 1) / 2 - x0), np.float64((h - 1) / 2 - y0))
        r = rasterize([phone], cam_from_obj[n][None, None], k, WIN, WIN, device="cpu")
        mask = r.ids[0] > 0
        assert mask.any() and not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())
        row = rows.row(n, named=True)
        ious.append(_iou(_box(cam, geometry.intrinsics_matrix(np.float64(f), np.float64(f), np.float64((w - 1) / 2),
                                                               np.float64((h - 1) / 2)), x0, y0, mask),
                         (row["x_min[pixel]"], row["x_max[pixel]"], row["y_min[pixel]"], row["y_max[pixel]"])))
        dz.append(float(r.depth[0, WIN // 2, WIN // 2]) - origin[n, 2])  # depth on the origin's ray vs its z
    print(f"HOT3D {name} {stream}: rendered phone vs box2d_objects.csv IoU mean {np.mean(ious):.3f} min {np.min(ious):.3f} "
          f"over {len(ious)} frames (visibility {rows['visibility_ratio[%]'].mean():.2f}); depth at the pose origin's "
          f"pixel - its z: {1000 * np.mean(dz):.1f} mm (max |.| {1000 * np.max(np.abs(dz)):.1f} mm; phone 10.3 mm thick)")
    assert min(ious) >= 0.9
    # the origin lies inside the 10.3 mm thin phone: the surface on its ray is a few mm in front of it
    assert all(-0.012 < d < 0 for d in dz)


@pytest.fixture(scope="module")
def fixture_scene(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("hot3d-images")
    seq = make_sequence(root)
    return seq, load_sequence(seq, root / "assets", "hot3d", {"width": 64, "height": 48, "focal": 40.0, "device": "cpu"})


def test_fixture_scene_follows_the_recording_and_the_ground_truth(fixture_scene):
    seq, scene = fixture_scene
    from projectaria_tools.core import data_provider
    from projectaria_tools.core.sensor_data import TimeDomain
    from projectaria_tools.core.stream_id import StreamId

    rgb_ts = data_provider.create_vrs_data_provider(str(seq / "recording.vrs")).get_timestamps_ns(StreamId("214-1"), TimeDomain.TIME_CODE)
    assert scene.meta.extra["timestamps_ns"] == list(rgb_ts) and scene.rgb.shape == (3, 48, 64, 3)
    # camera poses: the trajectory rows at those times (scipy, quaternion columns by name), levelled (Aria: z-up
    # already), times the camera extrinsics -> the camera centre is the device pose applied to the camera offset
    traj = pl.read_csv(seq / "headset_trajectory.csv")
    rows = [int(np.argmin(np.abs(traj["timestamp[ns]"].to_numpy() - t))) for t in rgb_ts]
    r_wd = Rotation.from_quat(traj.select("q_wo_x", "q_wo_y", "q_wo_z", "q_wo_w").to_numpy()[rows]).as_matrix()
    t_wd = traj.select("t_wo_x[m]", "t_wo_y[m]", "t_wo_z[m]").to_numpy()[rows]
    offset = read_sequence(seq, seq.parent / "assets").cameras["214-1"].get_transform_device_camera().translation().ravel()
    np.testing.assert_allclose(scene.world_from_cam[:, :3, 3], t_wd + r_wd @ offset, atol=1e-9)
    # depth exactly on the object's pixels; the object centre (mesh AABB centre posed) projects into its mask
    assert np.array_equal(np.isfinite(scene.depth), scene.instances > 0) and (scene.instances == 1).sum(axis=(1, 2)).min() > 5
    centre = scene.world_from_object[0, :, :3, 3]
    px, z = geometry.project_world(scene.intrinsics, scene.world_from_cam, centre[:, None])
    for t in range(3):
        x, y = np.round(px[t, 0]).astype(int)
        assert scene.instances[t, y, x] == 1 and abs(scene.depth[t, y, x] - z[t, 0]) < 0.012
    assert scene.objects["category"].to_list() == ["cellphone"] and scene.meta.extra["depth_coverage"] == "objects"
    assert scene.object_poses["visible_fraction"].min() > 0.9  # the phone is fully in view, nothing occludes it


def test_object_only_depth_is_checked_against_the_instances(fixture_scene):
    """``depth_coverage: objects`` lets frames without any valid depth pass, but only where no object is seen."""
    from dataclasses import replace

    from fourdpqa.scene import SceneError, validate_scene

    _, scene = fixture_scene
    empty = replace(scene, depth=np.full_like(scene.depth, np.nan), instances=np.zeros_like(scene.instances))
    validate_scene(empty)  # no object in view: legal for object-only depth
    stray = scene.depth.copy()
    stray[0, 0, 0] = 1.0  # depth on a background pixel
    with pytest.raises(SceneError, match="valid exactly on object pixels"):
        validate_scene(replace(scene, depth=stray))
    with pytest.raises(SceneError, match="frames without any valid depth"):
        validate_scene(replace(empty, meta=replace(scene.meta, extra={})))
