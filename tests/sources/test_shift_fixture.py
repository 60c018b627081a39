"""SHIFT adapter on a multi-frame fixture in the official layout (tests/helpers/shift_fixture.py): what the one real
frame cannot show — motion over time, frame timing, zip vs unzipped folders, rescaling, captions."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from fourdpqa.params import SourceSpec
from fourdpqa.scene import Scene, read_scene, write_scene
from fourdpqa.sources.shift import raw_videos
from helpers import shift_fixture as fx


def _load(root: Path, **options: object) -> Scene:
    videos = raw_videos(root, SourceSpec(name="drive", kind="shift", root=str(root), options=options))
    return videos[0].load()


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    root = fx.make_split(tmp_path_factory.mktemp("shift") / "val")
    s = _load(root)
    return read_scene(write_scene(s, tmp_path_factory.mktemp("scenes") / s.video_id))


def _ours(p: np.ndarray) -> np.ndarray:
    """CARLA (left-handed) world point -> the standard right-handed z-up world (y mirrored)."""
    return p * [1.0, -1.0, 1.0]


def test_timing_and_camera_motion(scene: Scene) -> None:
    assert scene.video_id == "shift_abcd-0123" and scene.meta.source == "drive"
    assert scene.meta.n_frames == 6 and scene.meta.fps == 1.0  # frame numbers step by 10 at the 10 Hz counter
    np.testing.assert_allclose(scene.cameras["time_s"].to_numpy(), np.arange(6.0))
    for t in range(6):
        np.testing.assert_allclose(scene.world_from_cam[t, :3, 3], _ours(fx.camera_centre(t)), atol=1e-9)
    # yaw 90 in CARLA = looking along CARLA +y = our -y; image right = CARLA -x; image down = world down
    np.testing.assert_allclose(scene.world_from_cam[0, :3, 2], [0, -1, 0], atol=1e-12)
    np.testing.assert_allclose(scene.world_from_cam[0, :3, 0], [-1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(scene.world_from_cam[0, :3, 1], [0, 0, -1], atol=1e-12)
    np.testing.assert_allclose(scene.intrinsics[0], [[fx.F, 0, fx.CX], [0, fx.F, fx.CY], [0, 0, 1]])


def test_object_tracks_poses_and_headings(scene: Scene) -> None:
    by_track = {r["track_id"]: r for r in scene.objects.iter_rows(named=True)}
    car, ped = by_track["42"], by_track["7"]
    assert (car["category"], car["size_l"], car["size_w"], car["size_h"]) == ("car", 4.5, 1.8, 1.5)
    assert car["is_dynamic"] and not ped["is_dynamic"] and car["has_front"]
    ci, pi = scene.object_ids.index(car["object_id"]), scene.object_ids.index(ped["object_id"])
    for t in range(6):
        np.testing.assert_allclose(scene.world_from_object[ci, t, :3, 3], _ours(fx.OBJECTS["42"][4](t)), atol=1e-9)
        np.testing.assert_allclose(scene.world_from_object[pi, t, :3, 3], _ours(fx.OBJECTS["7"][4](t)), atol=1e-9)
    # the car drives along CARLA +x (yaw 0): its front is our +x and its up is +z; the pedestrian faces CARLA -x
    np.testing.assert_allclose(scene.world_from_object[ci, 0, :3, 0], [1, 0, 0], atol=1e-9)
    np.testing.assert_allclose(scene.world_from_object[ci, 0, :3, 2], [0, 0, 1], atol=1e-9)
    np.testing.assert_allclose(scene.world_from_object[pi, 0, :3, 0], [-1, 0, 0], atol=1e-9)
    # CARLA yaw grows clockwise seen from above (left-handed); in the mirrored world the heading angle is -yaw
    yi = scene.object_ids.index(by_track["5"]["object_id"])
    yaw = np.degrees(np.arctan2(scene.world_from_object[yi, :, 1, 0], scene.world_from_object[yi, :, 0, 0]))
    np.testing.assert_allclose(yaw, [-(90.0 + 15.0 * t) for t in range(6)], atol=1e-9)


def test_depth_masks_and_visibility(scene: Scene) -> None:
    rgb, depth, masks = fx.render(3)
    car = scene.objects.filter(scene.objects["track_id"] == "42")["object_id"].item()
    np.testing.assert_array_equal(scene.instances[3] == car, masks["42"])
    ok = ~np.isnan(depth)
    np.testing.assert_array_equal(np.isnan(scene.depth[3]), ~ok)  # sky (all 255) -> invalid
    assert np.abs(scene.depth[3][ok] - depth[ok]).max() <= 1000.0 / 2 ** 24 + 1e-4  # 24-bit quantisation
    # visible share vs the fixture's own: visible mask pixels / pixels of the whole projected box, off-image too
    pad = 200
    for track in fx.OBJECTS:
        i = scene.object_ids.index(scene.objects.filter(scene.objects["track_id"] == track)["object_id"].item())
        for t in range(6):
            c = fx.corners_cam(track, t)
            uv = np.stack([fx.F * c[:, 0] / c[:, 2] + fx.CX, fx.F * c[:, 1] / c[:, 2] + fx.CY], -1) + pad
            whole = np.zeros((fx.H + 2 * pad, fx.W + 2 * pad), np.uint8)
            cv2.fillConvexPoly(whole, np.round(cv2.convexHull(uv.astype(np.float32))[:, 0]).astype(np.int32), 1)
            truth = fx.render(t)[2][track].sum() / whole.sum()
            assert scene.visible_fraction[i, t] == pytest.approx(truth, abs=0.12), (track, t)
    ped = scene.object_ids.index(scene.objects.filter(scene.objects["track_id"] == "7")["object_id"].item())
    assert (scene.visible_fraction[ped] == 1.0).all()  # nothing stands in front of the pedestrian


def test_captions_name_colours_from_the_pixels(scene: Scene) -> None:
    assert sorted(scene.objects["caption"].to_list()) == ["the blue car", "the red pedestrian", "the yellow car"]


def test_folder_layout_equals_zip_layout(tmp_path: Path, scene: Scene) -> None:
    s = _load(fx.make_split(tmp_path / "val", layout="folder"))
    np.testing.assert_array_equal(s.depth, scene.depth)
    np.testing.assert_array_equal(s.instances, scene.instances)
    assert s.object_poses.equals(scene.object_poses) and s.cameras.equals(scene.cameras)


def test_scale_option_resizes_frames_and_intrinsics(tmp_path: Path, scene: Scene) -> None:
    s = _load(fx.make_split(tmp_path / "val"), scale=0.5)
    assert (s.meta.width, s.meta.height) == (fx.W // 2, fx.H // 2)
    k = s.intrinsics[0]
    assert k[0, 0] == fx.F / 2 and k[0, 2] == pytest.approx((fx.CX + 0.5) / 2 - 0.5)
    assert s.object_poses.select("tx", "ty", "tz").equals(scene.object_poses.select("tx", "ty", "tz"))
    car = s.objects.filter(s.objects["track_id"] == "42")["object_id"].item()
    assert math.isclose((s.instances[3] == car).sum(), (scene.instances[3] == car).sum() / 4, rel_tol=0.35)


@pytest.mark.parametrize("layout", ["zip", "folder"])
def test_sequences_listed_and_digest_tracks_content(tmp_path: Path, layout: str) -> None:
    root = fx.make_split(tmp_path / "val", ("abcd-0001", "abcd-0002"), layout=layout)
    spec = SourceSpec(name="shift", kind="shift", root=str(root))
    videos = raw_videos(root, spec)
    assert [v.video_id for v in videos] == ["shift_abcd-0001", "shift_abcd-0002"]
    before = [v.digest() for v in videos]
    assert [v.digest() for v in raw_videos(root, spec)] == before
    member, data = "abcd-0001/00000020_img_front.jpg", fx.encode_jpg(fx.render(0)[0])
    if layout == "folder":
        (root / "front" / "img" / member).write_bytes(data)
    else:
        with zipfile.ZipFile(root / "front" / "img.zip") as z:
            members = {n: z.read(n) for n in z.namelist()}
        with zipfile.ZipFile(root / "front" / "img.zip", "w") as z:
            for n, b in {**members, member: data}.items():
                z.writestr(n, b)
    after = [v.digest() for v in raw_videos(root, spec)]
    assert after[0] != before[0] and after[1] == before[1]  # only the edited sequence needs re-conversion
