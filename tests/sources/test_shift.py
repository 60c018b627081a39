"""SHIFT adapter on the real frame (tests/data/shift, written by the SHIFT authors' tools): the standard scene must
agree with the dataset's own annotations (det_2d boxes, sensors.yaml mounts), and the agreement figures are printed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.spatial.transform import Rotation

from fourdpqa import geometry
from fourdpqa.params import SourceSpec
from fourdpqa.scene import Scene
from fourdpqa.sources.shift import raw_videos, world_from_cam

DATA = Path(__file__).resolve().parents[1] / "data" / "shift"
SPLIT = DATA / "discrete" / "images" / "val"


def _frame(view: str, name: str = "det_3d.json") -> dict:
    return json.loads((SPLIT / view / name).read_text())["frames"][0]


@pytest.fixture(scope="module")
def scene() -> Scene:
    videos = raw_videos(SPLIT, SourceSpec(name="shift", kind="shift", root=str(SPLIT)))
    assert [v.video_id for v in videos] == ["shift_007b-4e72"]
    return videos[0].load()


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_projected_boxes_agree_with_det_2d(scene: Scene) -> None:
    """Scene objects (world poses + sizes) projected through the scene camera vs the dataset's 2D boxes."""
    boxes2d = {lab["id"]: lab["box2d"] for lab in _frame("front", "det_2d.json")["labels"]}
    signs = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])
    ious = {}
    for row in scene.objects.iter_rows(named=True):
        i = scene.object_ids.index(row["object_id"])
        corners = geometry.transform_points(scene.world_from_object[i, 0], signs * [row["size_l"], row["size_w"], row["size_h"]])
        uv, _ = geometry.project_world(scene.intrinsics[0], scene.world_from_cam[0], corners)
        proj = np.array([uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()])
        b = boxes2d[row["track_id"]]
        ious[row["track_id"]] = _iou(proj, np.array([b["x1"], b["y1"], b["x2"], b["y2"]]))
    print(f"SHIFT real frame: IoU(projected 3D box, det_2d box) = {ious}")
    assert sorted(ious) == sorted(boxes2d) and min(ious.values()) > 0.6


def test_depth_in_each_mask_matches_the_box_distance(scene: Scene) -> None:
    """Depth decoded from the 24-bit PNG inside each instance mask vs the annotated box centre depth: the visible
    surface lies between the centre and the near face (half the box footprint nearer)."""
    labels = {lab["id"]: lab["box3d"] for lab in _frame("front")["labels"]}
    for row in scene.objects.iter_rows(named=True):
        box = labels[row["track_id"]]
        mask = scene.instances[0] == row["object_id"]
        d = float(np.median(scene.depth[0][mask]))
        z = box["location"][2]
        half = max(box["dimension"][1:]) / 2
        print(f"SHIFT real frame: track {row['track_id']}: {mask.sum()} mask px, median depth {d:.3f} m, "
              f"box centre z {z:.3f} m (difference {z - d:.3f} m, half footprint {half:.3f} m)")
        assert 0.0 <= z - d <= half + 0.05
    sky = np.isnan(scene.depth[0])
    assert 0.2 < sky.mean() < 0.35 and np.nanmax(scene.depth[0]) < 999.0  # the all-255 far plane is invalid


def test_camera_extrinsics_are_camera_to_world_in_degrees() -> None:
    """front and left_90 poses of the same instant must differ by the mounts in sensors.yaml; only camera->world
    with the devkit's Euler convention gives that (world->camera would put the cameras metres apart)."""
    mounts = yaml.safe_load((DATA / "config" / "sensors.yaml").read_text())["views"]
    poses = {}
    for view in ("front", "left_90"):
        e = _frame(view)["extrinsics"]
        poses[view] = world_from_cam(np.array([e["location"]]), np.array([e["rotation"]]))[0]
    rel = np.linalg.inv(poses["front"]) @ poses["left_90"]  # left_90 camera in the front camera (OpenCV axes)
    (fx, fy, fz), (lx, ly, lz) = mounts["front"]["location"], mounts["left_90"]["location"]
    # CARLA body offset (x fwd, y right, z up) -> OpenCV (x = y_body, y = -z_body, z = x_body)
    np.testing.assert_allclose(rel[:3, 3], [ly - fy, -(lz - fz), lx - fx], atol=1e-4)
    yaw = np.radians(mounts["left_90"]["rotation"][2])  # -90: the left camera looks along front's -x
    np.testing.assert_allclose(rel[:3, 2], [np.sin(yaw), 0.0, np.cos(yaw)], atol=1e-5)
    e = _frame("front")["extrinsics"]
    as_w2c = np.linalg.inv(world_from_cam(np.array([e["location"]]), np.array([e["rotation"]]))[0])
    assert np.linalg.norm(as_w2c[:3, 3] - poses["front"][:3, 3]) > 100.0


def test_lidar_view_stores_world_to_sensor_in_radians() -> None:
    """The ``center`` (LiDAR) record differs from the camera views: inverting it as world->sensor with radians puts
    the sensor at the front camera minus the 0.5 m mount offset (SOURCES.md correction)."""
    f, c = _frame("front")["extrinsics"], _frame("center")["extrinsics"]
    r_front = Rotation.from_euler("xyz", f["rotation"], degrees=True).as_matrix()
    r_c = Rotation.from_euler("xyz", c["rotation"]).as_matrix()
    centre = -r_c.T @ np.array(c["location"])
    np.testing.assert_allclose(centre, np.array(f["location"]) - r_front @ [0.5, 0.0, 0.0], atol=5e-3)
    assert Rotation.from_matrix(r_c @ r_front).magnitude() < 1e-6


def test_object_positions_agree_with_the_lidar_annotation(scene: Scene) -> None:
    """The same pedestrians are annotated again in the LiDAR frame (center/det_3d.json, x fwd, y right, z up, with
    its own world->sensor pose): both routes to the world must meet."""
    c = _frame("center")
    r = Rotation.from_euler("xyz", c["extrinsics"]["rotation"]).as_matrix().T  # sensor -> CARLA world
    origin = -r @ np.array(c["extrinsics"]["location"])
    boxes = {lab["id"]: lab["box3d"] for lab in c["labels"]}
    ego = next(lab["box3d"] for lab in c["labels"] if lab["attributes"].get("ego"))
    assert abs(abs(ego["orientation"][2]) - np.pi) < 1e-3  # the ego car faces +x with yaw 180: LiDAR yaw = heading + pi
    for row in scene.objects.iter_rows(named=True):
        box = boxes[row["track_id"]]
        carla = origin + r @ np.array(box["location"])
        pose = scene.world_from_object[scene.object_ids.index(row["object_id"]), 0]
        yaw = box["orientation"][2] + np.pi
        front = (r @ [np.cos(yaw), np.sin(yaw), 0.0]) * [1, -1, 1]  # heading in the LiDAR (x fwd, y right) frame
        print(f"SHIFT real frame: track {row['track_id']}: world position from the camera box vs the LiDAR box: "
              f"{np.linalg.norm(pose[:3, 3] - carla * [1, -1, 1]) * 1000:.2f} mm apart, headings "
              f"{np.degrees(np.arccos(np.clip(pose[:3, 0] @ front, -1, 1))):.3f} deg apart")
        np.testing.assert_allclose(pose[:3, 3], carla * [1, -1, 1], atol=0.02)  # left-handed CARLA y mirrored
        assert pose[:3, 0] @ front > np.cos(np.radians(1.0))


def test_scene_conventions_on_the_real_frame(scene: Scene) -> None:
    assert (scene.meta.width, scene.meta.height, scene.meta.n_frames) == (1280, 800, 1)
    np.testing.assert_allclose(scene.intrinsics[0], [[640, 0, 640], [0, 640, 400], [0, 0, 1]])
    assert scene.world_from_cam[0, 2, 3] == pytest.approx(1.5971, abs=1e-3)  # camera 1.6 m above CARLA ground
    # yaw -179.3 deg in the left-handed CARLA world = facing -x; mirrored y keeps -x; camera down = world down
    np.testing.assert_allclose(scene.world_from_cam[0, :3, 2], [-1.0, 0.012, 0.0], atol=2e-3)
    np.testing.assert_allclose(scene.world_from_cam[0, :3, 1], [0.0, 0.0, -1.0], atol=2e-3)
    assert len(set(scene.objects["caption"].to_list())) == scene.objects.height
