"""Kubric worker-directory adapter on a hand-written 2-frame fixture (SOURCES.md B.5) and on broken copies."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from fourdpqa.scene import SceneError
from fourdpqa.sources import kubric

W, H = 8, 6
CAM_Q = [math.cos(math.radians(40)), math.sin(math.radians(40)), 0.0, 0.0]  # tilted 80 deg up from looking down


def _seg_png(path: Path, seg: np.ndarray) -> None:
    img = Image.fromarray(seg.astype(np.uint8), mode="P")
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.save(path)


def make_worker_dir(root: Path, name: str = "video_a") -> Path:
    d = root / name
    d.mkdir(parents=True)
    for t in range(2):
        rgba = np.zeros((H, W, 4), np.uint8)
        rgba[..., 2], rgba[..., 3] = 100 + t, 255  # BGRA on disk: red channel = 100 + t
        cv2.imwrite(str(d / f"rgba_{t:05d}.png"), rgba)
        cv2.imwrite(str(d / f"depth_{t:05d}.tiff"), np.full((H, W), 10.0, np.float32))
        seg = np.zeros((H, W), np.uint8)
        seg[2:4, 3:5] = 1
        _seg_png(d / f"segmentation_{t:05d}.png", seg)
    corners = [[[sx, sy, 0.5 + sz] for sx in (-0.5, 0.5) for sy in (-0.25, 0.25) for sz in (-0.5, 0.5)]]
    corners = [corners[0], [[x + 0.1, y, z] for x, y, z in corners[0]]]
    meta = {
        "flags": {},
        "metadata": {"resolution": [W, H], "frame_rate": 12, "num_frames": 2, "num_instances": 1, "background": "x"},
        "camera": {"focal_length": 35.0, "sensor_width": 32.0, "field_of_view": 0.8575560450553894,
                   "positions": [[0, -10, 3], [0.1, -10, 3]], "quaternions": [CAM_Q, CAM_Q]},
        "instances": [{"asset_id": "obj", "category": "Toys", "is_dynamic": True,
                       "positions": [[0, 0, 0.4], [0.1, 0, 0.4]], "quaternions": [[1, 0, 0, 0], [1, 0, 0, 0]],
                       "bboxes_3d": corners, "visibility": [4, 2]}],
    }
    (d / "metadata.json").write_text(json.dumps(meta))
    (d / "data_ranges.json").write_text(json.dumps({"forward_flow": {"min": -1.0, "max": 1.0}}))
    (d / "events.json").write_text(json.dumps({"collisions": []}))
    return d


def test_fixture_converts_to_standard_conventions(tmp_path: Path) -> None:
    scene = kubric.read_worker_dir(make_worker_dir(tmp_path), source="movi")
    assert scene.video_id == "video_a" and scene.meta.source == "movi" and scene.meta.fps == 12.0
    f = 35.0 / 32.0 * W
    np.testing.assert_allclose(scene.intrinsics[0], [[f, 0, 3.5], [0, f, 2.5], [0, 0, 1]])
    # ray distance 10 everywhere -> z = 10 / ||K^-1 [x, y, 1]||
    assert scene.depth[0, 0, 0] == pytest.approx(10.0 / math.sqrt(1 + (3.5 / f) ** 2 + (2.5 / f) ** 2), rel=1e-6)
    assert scene.depth.max() < 10.0
    # Blender camera rotated 80 deg about +X: OpenCV forward = R_blender @ (0, 0, -1), down = R_blender @ (0, -1, 0)
    a = math.radians(80)
    np.testing.assert_allclose(scene.world_from_cam[0, :3, 2], [0, math.sin(a), -math.cos(a)], atol=1e-12)
    np.testing.assert_allclose(scene.world_from_cam[0, :3, 1], [0, -math.cos(a), -math.sin(a)], atol=1e-12)
    np.testing.assert_allclose(scene.world_from_cam[1, :3, 3], [0.1, -10, 3])
    assert scene.rgb[1, 0, 0].tolist() == [101, 0, 0]
    row = scene.object_row(1)
    # MOVi metadata has no caption: offline caption, colour named from the object's pixels (pure red, value 100)
    assert (row["category"], row["caption"], row["color"]) == ("Toys", "the red toys", "red")
    assert (row["size_l"], row["size_w"], row["size_h"]) == pytest.approx((1.0, 0.5, 1.0))
    # pose origin = centre of the 3D box corners (not the asset origin), visibility normalised by its maximum
    np.testing.assert_allclose(scene.world_from_object[0, :, :3, 3], [[0, 0, 0.5], [0.1, 0, 0.5]])
    np.testing.assert_allclose(scene.visible_fraction[0], [1.0, 0.5])
    assert (scene.instances[:, 2:4, 3:5] == 1).all() and scene.instances.sum() == 8


def test_list_videos_skips_temporaries(tmp_path: Path) -> None:
    make_worker_dir(tmp_path, "b")
    make_worker_dir(tmp_path, "a")
    (tmp_path / "c.tmp-xyz").mkdir()
    (tmp_path / "_report.json").write_text("{}")
    assert kubric.list_videos(tmp_path) == ["a", "b"]


def _edit_meta(d: Path, fn) -> None:  # noqa: ANN001 - small test helper
    meta = json.loads((d / "metadata.json").read_text())
    fn(meta)
    (d / "metadata.json").write_text(json.dumps(meta))


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])


BREAKAGES = {
    "missing metadata": (lambda d: (d / "metadata.json").unlink(), "metadata.json", "missing"),
    "corrupt json": (lambda d: (d / "metadata.json").write_text("{"), "metadata.json", "unreadable JSON"),
    "zero focal length": (lambda d: _edit_meta(d, lambda m: m["camera"].__setitem__("focal_length", 0)), "metadata.json", "focal_length"),
    "no camera": (lambda d: _edit_meta(d, lambda m: m.pop("camera")), "metadata.json", "camera"),
    "NaN camera pose": (lambda d: _edit_meta(d, lambda m: m["camera"]["positions"][1].__setitem__(0, float("nan"))), "metadata.json", "NaN"),
    "NaN object pose": (lambda d: _edit_meta(d, lambda m: m["instances"][0]["quaternions"][0].__setitem__(0, float("nan"))), "metadata.json", "NaN"),
    "non-unit quaternion": (lambda d: _edit_meta(d, lambda m: m["camera"]["quaternions"].__setitem__(0, [1.3, 0, 0, 0])), "metadata.json", "non-orthonormal"),
    "wrong pose shape": (lambda d: _edit_meta(d, lambda m: m["instances"][0].__setitem__("positions", [[0, 0, 0.4]])), "metadata.json", "shape"),
    "missing frame": (lambda d: (d / "rgba_00001.png").unlink(), "rgba_00001.png", "missing"),
    "truncated png": (lambda d: _truncate(d / "rgba_00000.png"), "rgba_00000.png", "truncated"),
    "truncated tiff": (lambda d: _truncate(d / "depth_00001.tiff"), "depth_00001.tiff", "truncated"),
    "depth size mismatch": (lambda d: cv2.imwrite(str(d / "depth_00000.tiff"), np.ones((H + 1, W), np.float32)), "depth_00000.tiff", "size"),
    "depth not float": (lambda d: cv2.imwrite(str(d / "depth_00000.tiff"), np.ones((H, W), np.uint16)), "depth_00000.tiff", "float32"),
    "segmentation id out of range": (lambda d: _seg_png(d / "segmentation_00001.png", np.full((H, W), 3, np.uint8)), "segmentation", "only 1 instances"),
    "rgb segmentation": (lambda d: cv2.imwrite(str(d / "segmentation_00000.png"), np.zeros((H, W, 3), np.uint8)), "segmentation_00000.png", "palette"),
}


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_broken_inputs_raise_scene_error_naming_video_and_file(tmp_path: Path, name: str) -> None:
    break_it, file, problem = BREAKAGES[name]
    d = make_worker_dir(tmp_path, "video_b")
    break_it(d)
    with pytest.raises(SceneError) as err:
        kubric.read_worker_dir(d)
    assert err.value.video_id == "video_b"
    assert file in err.value.file and problem in str(err.value), str(err.value)


@pytest.mark.parametrize("variant", ["a", "e"])
def test_real_kubric_writer_output(tmp_path: Path, variant: str) -> None:
    """A worker directory as the kubric repo's writers produce it (pypng PNGs, imageio/tifffile TIFFs, sorted
    indent-4 JSON, MOVi-A/B or GSO instance metadata, flow-only data_ranges.json)."""
    from helpers.kubric_writer import make_movi_dir

    scene = kubric.read_worker_dir(make_movi_dir(tmp_path, variant), source="movi")
    f = 35.0 / 32.0 * 8
    k = np.array([[f, 0, 3.5], [0, f, 2.5], [0, 0, 1]])
    xs, ys = np.meshgrid(np.arange(8.0), np.arange(6.0))
    rays = np.linalg.inv(k) @ np.stack([xs, ys, np.ones((6, 8))]).reshape(3, -1)
    np.testing.assert_allclose(scene.depth[0], 7.0 / np.linalg.norm(rays, axis=0).reshape(6, 8), rtol=1e-6)
    assert scene.meta.extra["data_ranges"] == {"backward_flow": [-1.0, 3.0], "forward_flow": [-2.5, 1.0]}
    assert (scene.instances[0, 1:3, 1:3] == 1).all() and (scene.instances[0, 3:5, 5:8] == 2).all()
    rows = scene.objects.to_dicts()
    # MOVi-A/B: "size" is a scalar scale (the extent comes from the 3D box corners), "color" an RGB list
    assert [(r["size_l"], r["size_w"], r["size_h"]) for r in rows] == [(1.0, 1.0, 1.0)] * 2
    if variant == "a":
        assert [(r["category"], r["color"], r["caption"]) for r in rows] == [
            ("cube", "red", "the red cube"), ("sphere", "blue", "the blue sphere")]
    else:
        assert [r["category"] for r in rows] == ["Shoe", "Shoe"] and [r["is_dynamic"] for r in rows] == [True, False]
        assert [r["caption"] for r in rows] == ["the red shoe", "the blue shoe"]  # colour named from the pixels


def test_malformed_data_ranges_is_named(tmp_path: Path) -> None:
    d = make_worker_dir(tmp_path)
    (d / "data_ranges.json").write_text(json.dumps({"forward_flow": {"min": 2.0, "max": -1.0}}))
    with pytest.raises(SceneError, match="data_ranges.json.*forward_flow"):
        kubric.read_worker_dir(d)
