"""Renderer + Kubric dump + standardize chain on scenes with known poses, against analytic values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from fourdpqa import geometry
from fourdpqa.params import GenerateParams
from fourdpqa.scene import Scene
from fourdpqa.sources import kubric
from fourdpqa.sources import procedural as P
from fourdpqa.sources.kubric_dump import write_kubric_dump
from fourdpqa.sources.render import DOME_RADIUS_M, SceneRenderer, reference_pixel
from fourdpqa.sources.shapes import build_parts


def _object(oid: int, category: str, dims: tuple, xy: tuple, yaw: float = 0.0) -> P.ObjectSpec:
    parts, size = build_parts(category, dims, (200, 40, 40))
    return P.ObjectSpec(object_id=oid, category=category, color="red", size_class="small", size=size,
                        has_front=P.HAS_FRONT[category], caption=f"the {category}", parts=parts, start_xy=xy,
                        start_yaw=yaw, motion="static")


def _spec(objects: list[P.ObjectSpec], eye: tuple, target: tuple, size: int = 65) -> P.VideoSpec:
    cam = P.CameraSpec(kind="static", components=(), eye=eye, target=target)
    return P.VideoSpec(video_id="proc_test", seed=0, index=0, n_frames=2, fps=12.0, width=size, height=size,
                       camera=cam, objects=tuple(objects), ground_seed=3, light_dir=(0.3, 0.2, 0.93))


def _standardized(spec: P.VideoSpec, tmp: Path) -> Scene:
    raw = write_kubric_dump(spec, tmp / spec.video_id)
    return kubric.read_worker_dir(raw, source="procedural")


def _mask_centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


def test_box_facing_camera_depth_and_centroid(tmp_path: Path) -> None:
    box = _object(1, "box", (0.8, 0.8, 0.8), (0.0, 0.0))
    h = box.size[2] / 2
    dist = 6.0
    scene = _standardized(_spec([box], eye=(dist, 0.0, h), target=(0.0, 0.0, h)), tmp_path)
    # the camera looks along -x at the box centre: the centre pixel sees the front face at x = +l/2
    assert scene.instances[0, 32, 32] == 1
    assert abs(scene.depth[0, 32, 32] - (dist - box.size[0] / 2)) < 1e-3
    px, _ = geometry.project_world(scene.intrinsics[0], scene.world_from_cam[0], scene.world_from_object[0, 0, None, :3, 3])
    assert np.linalg.norm(_mask_centroid(scene.instances[0] == 1) - px[0]) < 1.0
    assert scene.objects["caption"].to_list() == ["the box"]
    assert scene.visible_fraction[0, 0] == 1.0


def test_off_axis_sphere_depth_and_centroid(tmp_path: Path) -> None:
    ball = _object(1, "ball", (1.0, 1.0, 1.0), (0.9, 0.7))
    scene = _standardized(_spec([ball], eye=(6.0, -1.5, 2.5), target=(0.0, 0.0, 0.5), size=129), tmp_path)
    k, c2w = scene.intrinsics[0], scene.world_from_cam[0]
    centre = scene.world_from_object[0, 0, :3, 3]
    radius = scene.objects["size_h"][0] / 2
    px, _ = geometry.project_world(k, c2w, centre[None])
    x, y = np.round(px[0]).astype(int)
    # independent ray/sphere intersection through the pixel centre (x, y), in the OpenCV camera frame
    d_cam = np.array([(x - k[0, 2]) / k[0, 0], (y - k[1, 2]) / k[1, 1], 1.0])
    c_cam = geometry.transform_points(geometry.invert_pose(c2w), centre[None])[0]
    u = d_cam / np.linalg.norm(d_cam)
    t = u @ c_cam - math.sqrt((u @ c_cam) ** 2 - (c_cam @ c_cam - radius**2))
    assert scene.instances[0, y, x] == 1
    assert abs(scene.depth[0, y, x] - t * u[2]) < 1e-3
    assert np.linalg.norm(_mask_centroid(scene.instances[0] == 1) - px[0]) < 1.0


def test_amodal_counts_and_visible_fraction(tmp_path: Path) -> None:
    front = _object(1, "box", (0.6, 0.6, 0.6), (2.0, 0.2))
    back = _object(2, "ball", (0.8, 0.8, 0.8), (0.0, 0.0))
    eye, target = (6.0, 0.0, 0.6), (0.0, 0.0, 0.4)
    both = _standardized(_spec([front, back], eye, target), tmp_path / "both")
    alone = _standardized(_spec([back], eye, target), tmp_path / "alone")
    # amodal pixels of the occluded ball == its pixel count when rendered alone
    visible = (both.instances[0] == 2).sum()
    amodal = (alone.instances[0] == 1).sum()
    assert 0 < visible < amodal
    assert both.visible_fraction[1, 0] == pytest.approx(visible / amodal)
    # depth where the ball is hidden is the box's (nearer) depth
    hidden = (alone.instances[0] == 1) & (both.instances[0] == 1)
    assert hidden.any() and (both.depth[0][hidden] < alone.depth[0][hidden]).all()


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-5), (torch.float32, 2e-3)])
def test_batched_renderer_matches_per_pixel_reference(dtype: torch.dtype, tol: float) -> None:
    spec = P.sample_video(GenerateParams(width=40, height=32, n_frames=6, min_objects=4), 5, 2)
    k = P.intrinsics(spec)
    c2w = P.camera_poses(spec.camera, spec.n_frames)[3]
    poses = np.stack([P.object_poses(o, P.frame_times(spec.n_frames, spec.fps))[3] for o in spec.objects])
    frame = SceneRenderer(spec, dtype=dtype, chunk_rays=1024).render(k, c2w, poses)
    ref = np.array([[reference_pixel(spec, k, c2w, poses, x, y) for x in range(spec.width)] for y in range(spec.height)])
    same = ref[..., 1] == frame.instances
    assert same.mean() >= (1.0 if dtype == torch.float64 else 0.99)
    assert (frame.instances > 0).sum() > 20  # the check covers object pixels, not only ground
    assert np.abs(ref[..., 0] - frame.depth)[same].max() < tol * ref[..., 0].max()
    # amodal = the object's pixels when rendered alone on a canvas wide enough for all of it (past the border too)
    amodal_alone = [_wide_alone(spec, i, k, c2w, poses[i], dtype) for i in range(len(spec.objects))]
    np.testing.assert_array_equal(frame.amodal, amodal_alone)


def _wide_alone(spec: P.VideoSpec, i: int, k: np.ndarray, c2w: np.ndarray, pose: np.ndarray, dtype, pad: int = 120) -> int:
    """Pixels of object ``i`` rendered alone on the image grid extended by ``pad`` pixels on every side."""
    wide = P.VideoSpec(**{**_only(spec, i).__dict__, "width": spec.width + 2 * pad, "height": spec.height + 2 * pad})
    k_wide = k.copy()
    k_wide[:2, 2] += pad
    frame = SceneRenderer(wide, dtype=dtype).render(k_wide, c2w, pose[None])
    assert not frame.instances[[0, -1]].any() and not frame.instances[:, [0, -1]].any()  # the canvas holds it all
    return int(frame.instances.astype(bool).sum())


def test_objects_cut_by_the_border_count_their_pixels_outside_as_hidden(tmp_path: Path) -> None:
    """Issue 24.2: a box half out of the picture has visible fraction about 1/2, not 1."""
    box = _object(1, "box", (0.8, 0.8, 0.8), (0.0, 2.6))
    spec = _spec([box], eye=(6.0, 0.0, 0.6), target=(0.0, 0.0, 0.4), size=65)
    k, c2w = P.intrinsics(spec), P.camera_poses(spec.camera, 1)[0]
    pose = P.object_poses(spec.objects[0], np.zeros(1))[0]
    frame = SceneRenderer(spec).render(k, c2w, pose[None])
    inside = int((frame.instances == 1).sum())
    full = _wide_alone(spec, 0, k, c2w, pose, torch.float32)
    assert 0 < inside < full and frame.amodal[0] == full
    scene = _standardized(spec, tmp_path)
    assert scene.visible_fraction[0, 0] == pytest.approx(inside / full) and 0.2 < inside / full < 0.8


def _only(spec: P.VideoSpec, i: int) -> P.VideoSpec:
    return P.VideoSpec(**{**spec.__dict__, "objects": (spec.objects[i],)})


def test_sky_has_finite_dome_depth() -> None:
    spec = _spec([], eye=(5.0, 0.0, 1.0), target=(0.0, 0.0, 1.5), size=17)  # looking slightly up: sky on top
    k = P.intrinsics(spec)
    c2w = P.camera_poses(spec.camera, 1)[0]
    frame = SceneRenderer(spec).render(k, c2w, np.zeros((0, 4, 4)))
    assert np.isfinite(frame.depth).all() and (frame.instances == 0).all()
    top = reference_pixel(spec, k, c2w, np.zeros((0, 4, 4)), 8, 0)[0]
    assert frame.depth[0, 8] == pytest.approx(top, rel=1e-5) and top > DOME_RADIUS_M - 6.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu() -> None:
    spec = P.sample_video(GenerateParams(width=64, height=48, n_frames=4), 9, 1)
    k, c2w = P.intrinsics(spec), P.camera_poses(spec.camera, 4)[2]
    poses = np.stack([P.object_poses(o, P.frame_times(4, spec.fps))[2] for o in spec.objects])
    a = SceneRenderer(spec, device="cpu").render(k, c2w, poses)
    b = SceneRenderer(spec, device="cuda").render(k, c2w, poses)
    assert (a.instances == b.instances).mean() > 0.995
    np.testing.assert_allclose(a.depth, b.depth, rtol=1e-4)


def test_sphere_pixel_box_holds_the_projection_and_handles_the_camera_plane() -> None:
    from fourdpqa.sources.render import OUTSIDE_MAX, _sphere_pixel_box

    k = torch.tensor([[100.0, 0.0, 32.0], [0.0, 100.0, 32.0], [0.0, 0.0, 1.0]])
    # a unit sphere 10 m ahead: its silhouette spans +-100 tan(asin 0.1) = +-10.05 px around the centre
    x0, x1, y0, y1 = _sphere_pixel_box(k, torch.tensor([0.0, 0.0, 10.0]), 1.0, 64, 64)
    half = 100 * math.tan(math.asin(0.1))
    assert x0 <= 32 - half and x1 >= 32 + half and y0 <= 32 - half and y1 >= 32 + half and x1 - x0 < 30
    # reaching the camera plane: the whole extended grid; wholly behind the camera: nothing
    assert _sphere_pixel_box(k, torch.tensor([0.0, 0.0, 0.5]), 1.0, 64, 64) == (
        -OUTSIDE_MAX * 64, (OUTSIDE_MAX + 1) * 64 - 1, -OUTSIDE_MAX * 64, (OUTSIDE_MAX + 1) * 64 - 1)
    assert _sphere_pixel_box(k, torch.tensor([0.0, 0.0, -5.0]), 1.0, 64, 64) is None
