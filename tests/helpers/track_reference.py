"""Independent oracle for point tracks: plain per-point, per-frame loops written from the definitions in
``fourdpqa.tracks`` (np.linalg.inv, explicit K @ X / z), sharing no code with the library."""

from __future__ import annotations

import math

import numpy as np


def reference_tracks(scene, frames, q_frame, q_xy, tol=0.99):
    """Plain per-point, per-frame loops written from the definitions (np.linalg.inv, explicit K @ X / z)."""
    h, w = scene.meta.height, scene.meta.width
    ks, wfc = scene.intrinsics, scene.world_from_cam
    obj_row = {oid: i for i, oid in enumerate(scene.object_ids)}
    n, n_t = len(q_frame), len(frames)
    out = {
        "visual_xy": np.zeros((n, n_t, 2)), "true_xy": np.zeros((n, n_t, 2)), "points_world": np.zeros((n, n_t, 3)),
        "points_cam": np.zeros((n, n_t, 3)), "points_query_cam": np.zeros((n, n_t, 3)),
        "visual_occluded": np.zeros((n, n_t), bool), "true_in_view": np.zeros((n, n_t), bool),
        "object_id": np.zeros(n, np.int64),
    }
    for i in range(n):
        tq = int(frames[q_frame[i]])
        x, y = q_xy[i]
        col, row = int(math.floor(x + 0.5)), int(math.floor(y + 0.5))
        z = float(scene.depth[tq, row, col])
        oid = int(scene.instances[tq, row, col])
        out["object_id"][i] = oid
        p_cam = np.linalg.inv(ks[tq]) @ np.array([x, y, 1.0]) * z
        p_world = wfc[tq] @ np.append(p_cam, 1.0)
        for j, t in enumerate(frames):
            if oid:
                poses = scene.world_from_object[obj_row[oid]]
                p_t = poses[t] @ np.linalg.inv(poses[tq]) @ p_world
            else:
                p_t = p_world
            pc = np.linalg.inv(wfc[t]) @ p_t
            pq = np.linalg.inv(wfc[tq]) @ p_t
            uv = ks[t] @ pc[:3]
            uvq = ks[tq] @ pq[:3]
            vx, vy = uv[0] / uv[2], uv[1] / uv[2]
            tx, ty = uvq[0] / uvq[2], uvq[1] / uvq[2]
            out["points_world"][i, j], out["points_cam"][i, j], out["points_query_cam"][i, j] = p_t[:3], pc[:3], pq[:3]
            out["visual_xy"][i, j], out["true_xy"][i, j] = (vx, vy), (tx, ty)
            out["true_in_view"][i, j] = pq[2] > 0 and -0.5 <= tx <= w - 0.5 and -0.5 <= ty <= h - 0.5
            inside = -0.5 <= vx <= w - 0.5 and -0.5 <= vy <= h - 0.5
            occluded = not (pc[2] > 0) or not inside
            if not occluded:
                x0, y0 = math.floor(vx + 1e-6), math.floor(vy + 1e-6)
                nearest_depth, own_seen = -math.inf, False
                for yy in (y0, y0 + 1):
                    for xx in (x0, x0 + 1):
                        yc, xc = min(max(yy, 0), h - 1), min(max(xx, 0), w - 1)
                        d = float(scene.depth[t, yc, xc])
                        nearest_depth = max(nearest_depth, d if math.isfinite(d) else math.inf)
                        own_seen = own_seen or int(scene.instances[t, yc, xc]) == oid
                occluded = nearest_depth < tol * pc[2] or not own_seen
            out["visual_occluded"][i, j] = occluded
    return out
