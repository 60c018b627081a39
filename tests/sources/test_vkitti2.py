"""VKITTI2 adapter on a 2-frame fixture written in the official on-disk layout (SOURCES.md §A.6)."""

import numpy as np
import pytest

from fourdpqa import geometry
from fourdpqa.scene import SceneError, read_scene, write_scene
from fourdpqa.sources.vkitti2 import list_sequences, load_sequence
from tests.helpers.vkitti2_fixture import make_fixture


def test_fixture_converts_to_a_valid_standard_scene(tmp_path):
    seq = make_fixture(tmp_path / "vkitti")
    assert list_sequences(tmp_path / "vkitti") == [seq]
    scene = load_sequence(seq)
    out = write_scene(scene, tmp_path / "scenes" / scene.video_id)
    s = read_scene(out)
    assert s.video_id == "vkitti2_Scene01_clone_cam0" and s.meta.n_frames == 2
    # centimetres -> metres; 65535 = sky -> invalid
    assert s.depth[0, 5, 5] == pytest.approx(10.0) and np.isnan(s.depth[0, 0]).all()
    # palette index 1 = trackID 0 -> object_id 1
    assert s.object_ids == [1] and (s.instances[0, 6:9, 10:13] == 1).all()
    assert s.object_row(1)["caption"] == "the red car" and s.object_row(1)["category"] == "car"
    # world re-levelled: camera up (-y) becomes +z; second frame moved 0.5 m forward, horizontally
    c0, c1 = s.world_from_cam[0, :3, 3], s.world_from_cam[1, :3, 3]
    np.testing.assert_allclose(s.world_from_cam[0, :3, :3] @ [0, -1, 0], [0, 0, 1], atol=1e-9)
    np.testing.assert_allclose(c1 - c0, s.world_from_cam[0, :3, :3] @ [0, 0, 0.5], atol=1e-9)
    assert abs(c1[2] - c0[2]) < 1e-9
    # KITTI location is the bottom-face centre: the box centre sits h/2 above it, 1.6 - 0.75 m below the camera
    obj = s.world_from_object[0, 0]
    assert obj[2, 3] - c0[2] == pytest.approx(-(1.6 - 0.75))
    cam_pt = geometry.transform_points(geometry.invert_pose(s.world_from_cam[0]), obj[None, :3, 3][None])[0, 0]
    np.testing.assert_allclose(cam_pt, [2.0, 0.85, 10.0], atol=1e-9)
    # rotation_y = 0 -> the car's front (+x) points along camera +x; pi/2 -> along camera -z (KITTI convention)
    cam0 = np.linalg.inv(s.world_from_cam[0])[:3, :3]
    np.testing.assert_allclose(cam0 @ obj[:3, 0], [1, 0, 0], atol=1e-9)
    np.testing.assert_allclose(cam0 @ s.world_from_object[0, 1, :3, 0], [0, 0, -1], atol=1e-6)
    np.testing.assert_allclose(cam0 @ obj[:3, 2], [0, -1, 0], atol=1e-9)  # object up = camera up
    np.testing.assert_allclose(s.visible_fraction[0], [1.0, 0.4])


def test_bad_fixture_names_file_and_problem(tmp_path):
    seq = make_fixture(tmp_path)
    (seq / "frames/depth/Camera_0/depth_00001.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    with pytest.raises(SceneError, match=r"depth_00001.png.*unreadable"):
        load_sequence(seq)
    seq2 = make_fixture(tmp_path / "b")
    with open(seq2 / "pose.txt", "a") as fh:
        fh.write("7 0 0 -1.57 1.8 1.5 4.0 2 1.6 10 0 0 0 2 1.6 9.5 0 0 0\n")
    with pytest.raises(SceneError, match="frame 7, which does not exist"):
        load_sequence(seq2)
