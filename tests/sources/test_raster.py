"""The batched z-buffer rasteriser against independent references: an analytic ray-box (slab) intersection for
boxes (one in front, one the camera sits inside, so triangles cross the near plane) and, on the real HOT3D
cellphone mesh, a brute-force plane hit + edge-function test over every (pixel, triangle)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

from fourdpqa import geometry
from fourdpqa.sources.raster import Mesh, rasterize

K = np.array([[40.0, 0.0, 31.5], [0.0, 40.0, 23.5], [0.0, 0.0, 1.0]])
H, W = 48, 64
PHONE = Path(__file__).parents[1] / "data" / "hot3d" / "assets" / "5462893327580.glb"


def _rays() -> np.ndarray:
    """(H, W, 3) camera rays with z = 1 through the pixel centres (integer coordinates)."""
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    return np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1)


def _slab(cam_from_box: np.ndarray, half: np.ndarray, near: float) -> tuple[np.ndarray, np.ndarray]:
    """Analytic first hit (ray parameter = z depth) of each pixel ray with a box of half extents ``half``,
    NaN where none; and the distance of each hit to the nearest box edge in ray units (to skip edge pixels)."""
    box_from_cam = geometry.invert_pose(cam_from_box)
    d = _rays() @ box_from_cam[:3, :3].T
    o = box_from_cam[:3, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (-half - o) / d, (half - o) / d
    lo, hi = np.nanmax(np.minimum(t1, t2), -1), np.nanmin(np.maximum(t1, t2), -1)
    t = np.where(lo >= near, lo, hi)  # inside the box the exit face is the first surface past the near plane
    hit = (hi >= lo) & (t >= near)
    p = o + t[..., None] * d
    margin = np.sort(half - np.abs(p), -1)[..., 1]  # second smallest: distance to the closest edge on the hit face
    return np.where(hit, t, np.nan), np.where(hit, margin, np.inf)


def _box(half: np.ndarray) -> Mesh:
    b = trimesh.creation.box(extents=2 * half)
    return Mesh(np.asarray(b.vertices), np.asarray(b.faces))


def test_boxes_match_the_analytic_slab_depth_including_near_plane_crossings():
    cases = {
        "in front, turned": (np.array([0.3, 0.2, 0.1]), geometry.pose_matrix(
            geometry.quat_to_matrix(geometry.axis_angle_to_quat(np.array([0.3, 1.0, 0.2]) / np.linalg.norm([0.3, 1.0, 0.2]), 0.7)),
            np.array([0.05, -0.03, 1.2]))),
        "camera inside": (np.array([1.0, 0.8, 1.5]), geometry.pose_matrix(np.eye(3), np.array([0.1, 0.05, 0.5]))),
    }
    for name, (half, pose) in cases.items():
        r = rasterize([_box(half)], pose[None, None], K, H, W, near=0.01, device="cpu")
        want, margin = _slab(pose, half, 0.01)
        clear = margin > 1e-6  # pixel rays that do not graze an edge
        got = r.depth[0].astype(np.float64)
        print(f"box {name}: {np.isfinite(want).sum()} hit pixels, max |z - slab z| "
              f"{np.nanmax(np.abs(got - want)[clear & np.isfinite(want)]):.2e} m")
        np.testing.assert_array_equal(np.isfinite(got)[clear], np.isfinite(want)[clear])
        np.testing.assert_allclose(got[clear & np.isfinite(want)], want[clear & np.isfinite(want)], rtol=1e-6)
        assert (r.ids[0] > 0).sum() == r.visible[0, 0] == np.isfinite(got).sum()


def _plane_reference(tris: np.ndarray, rays: np.ndarray) -> np.ndarray:
    """(P,) nearest z of rays (P, 3) (z = 1) over triangles (F, 3, 3): the hit with each triangle's plane, kept
    when it lies on the inner side of all three edges (edge-function test, not the rasteriser's barycentrics)."""
    n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    edges = [(tris[:, i], tris[:, (i + 1) % 3]) for i in range(3)]
    out = np.full(len(rays), np.nan)
    for s in range(0, len(rays), 64):
        r = rays[s:s + 64]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (n * tris[:, 0]).sum(-1) / (r @ n.T)  # (p, F)
        p = t[..., None] * r[:, None]  # (p, F, 3)
        inside = np.isfinite(t) & (t > 0)
        for a, b in edges:
            inside &= (np.cross(b - a, p - a) * n).sum(-1) >= 0
        out[s:s + 64] = np.where(inside, t, np.inf).min(1)
    return np.where(np.isfinite(out), out, np.nan)


def test_the_real_phone_mesh_matches_a_brute_force_plane_and_edge_reference():
    mesh = trimesh.load_mesh(str(PHONE), process=True, merge_primitives=True, file_type="glb")  # node transforms applied
    rot = geometry.quat_to_matrix(geometry.axis_angle_to_quat(np.array([0.6, 0.0, 0.8]), 2.1))
    pose = geometry.pose_matrix(rot, np.array([0.01, 0.02, 0.25]))
    r = rasterize([Mesh(np.asarray(mesh.vertices), np.asarray(mesh.faces))], pose[None, None], K, H, W, device="cpu")
    tris = geometry.transform_points(pose, np.asarray(mesh.vertices))[np.asarray(mesh.faces)]
    px, _ = geometry.project(K, tris.reshape(-1, 3))
    (u0, v0), (u1, v1) = np.floor(px.min(0)).astype(int) - 1, np.ceil(px.max(0)).astype(int) + 1
    want = np.full((H, W), np.nan)  # outside the box of the projected vertices no ray can hit
    want[v0:v1 + 1, u0:u1 + 1] = _plane_reference(tris, _rays()[v0:v1 + 1, u0:u1 + 1].reshape(-1, 3)).reshape(v1 - v0 + 1, u1 - u0 + 1)
    both = np.isfinite(want) & np.isfinite(r.depth[0])
    disagree = (np.isfinite(want) != np.isfinite(r.depth[0])).sum()
    print(f"phone vs reference: {np.isfinite(want).sum()} hit pixels, {disagree} silhouette disagreements, "
          f"max |dz| {np.abs(r.depth[0][both] - want[both]).max():.2e} m")
    assert np.isfinite(want).sum() > 100 and disagree <= 2
    np.testing.assert_allclose(r.depth[0][both], want[both], atol=1e-6)


def test_occlusion_truncation_and_chunking():
    near_box, far_box = _box(np.array([0.1, 0.1, 0.1])), _box(np.array([0.3, 0.3, 0.1]))
    poses = np.stack([geometry.pose_matrix(np.eye(3), np.array([0.0, 0.0, 1.0])),
                      geometry.pose_matrix(np.eye(3), np.array([0.0, 0.0, 2.0]))])[None]
    shift = np.zeros((4, 4))
    shift[0, 3] = 0.75  # frame 1: both moved 0.75 m right
    poses = np.concatenate([poses, poses + shift])
    poses[1, 1] = np.nan  # the far box is absent in frame 1
    r = rasterize([near_box, far_box], poses, K, H, W, margin=32, device="cpu")
    small = rasterize([near_box, far_box], poses, K, H, W, margin=32, device="cpu", chunk_pairs=97, buffer_elems=1)
    for f in ("depth", "ids", "visible", "amodal"):
        np.testing.assert_array_equal(getattr(small, f), getattr(r, f))
    # frame 0: the near box (id 1, half width 0.1 m at z 0.9 m -> 4.4 px) hides the centre of the far one (id 2,
    # 0.3 m at z 1.9 m -> 6.3 px): 5.5 px off centre only the far one is seen
    assert r.ids[0, 23, 31] == 1 and r.ids[0, 23, 37] == 2 and r.ids[0, 23, 39] == 0
    assert abs(r.depth[0, 23, 31] - 0.9) < 1e-6 and abs(r.depth[0, 23, 37] - 1.9) < 1e-6
    assert r.visible[0, 0] == r.amodal[0, 0] and r.visible[0, 1] < r.amodal[0, 1]
    # frame 1: the near box is cut by the right border (its amodal footprint extends into the margin)
    assert r.visible[1, 1] == r.amodal[1, 1] == 0 and 0 < r.visible[1, 0] < r.amodal[1, 0]
