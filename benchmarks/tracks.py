"""Point-track extraction: ``fourdpqa.tracks.compute_tracks`` vs the plain vectorised NumPy a peer would write.

The baseline (``numpy_tracks`` below) computes the same visual / true-motion tracks and Kubric occlusion flags in
float64: one matmul per object for the 3D track, one batched matmul per frame for the camera points, one per query
frame for the query camera, flat-index gathers of the 4 neighbouring pixels. Both run on the same procedural scenes
(generated and standardised in a temporary directory) and queries; the script prints CPU seconds (process time, so
other load on a shared machine counts less), the speed-up and the largest difference of every output, for

- ``bulk``: the tracks stage, all queries of a video at once (``--queries`` per video x all frames);
- ``question``: a point-tracking question, one query x ``--question-frames`` frames, called once per question.

CUDA (torch) is timed too when present. ``--full`` is the issue-16 configuration: 16,384 queries x 48 frames of
256x256 video.

    python benchmarks/tracks.py [--full] [--size 128 --frames 24 --videos 2 --queries 2048]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-threaded baseline and library alike (--threads)
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from fourdpqa import geometry  # noqa: E402
from fourdpqa.params import GenerateParams, TracksParams  # noqa: E402
from fourdpqa.scene import Scene  # noqa: E402
from fourdpqa.sources.kubric import read_worker_dir  # noqa: E402
from fourdpqa.sources.kubric_dump import write_kubric_dump  # noqa: E402
from fourdpqa.sources.procedural import sample_video  # noqa: E402
from fourdpqa.track_kernels import SNAP_PX  # noqa: E402
from fourdpqa.tracks import Queries, compute_tracks, sample_queries  # noqa: E402
from timing import cpu_seconds, cuda_seconds  # noqa: E402

FIELDS_PX = ("visual_xy", "true_xy")
FIELDS_M = ("points_world", "points_cam", "points_query_cam")
FLAGS = ("visual_occluded", "true_in_view")


def numpy_tracks(scene: Scene, frames: np.ndarray, q_frame: np.ndarray, q_xy: np.ndarray, tol: float = 0.99) -> dict:
    """Tracks of queries (frame index into ``frames`` (N,), pixel (x, y) (N, 2)) as a dict of the Tracks fields."""
    h, w = scene.meta.height, scene.meta.width
    n, n_t = len(q_frame), len(frames)
    tq = frames[q_frame]
    px = np.floor(q_xy + 0.5).astype(np.int64)
    oid = scene.instances[tq, px[:, 1], px[:, 0]].astype(np.int64)
    z = scene.depth[tq, px[:, 1], px[:, 0]].astype(np.float64)
    k_all, wfc = scene.intrinsics, scene.world_from_cam
    cfw = geometry.invert_pose(wfc)
    x_world = geometry.transform_points(wfc[tq], geometry.unproject(k_all[tq], q_xy[:, None], z[:, None]))[:, 0]
    pw = np.empty((n, n_t, 3))
    for i, o in enumerate([0, *scene.object_ids]):  # one matmul per object
        sel = np.flatnonzero(oid == o)
        if o == 0:
            pw[sel] = x_world[sel, None]
        elif len(sel):
            poses = scene.world_from_object[i - 1]
            local = geometry.transform_points(geometry.invert_pose(poses[tq[sel]]), x_world[sel, None])[:, 0]
            pf = poses[frames]
            pw[sel] = (local @ pf[:, :3, :3].reshape(-1, 3).T).reshape(-1, n_t, 3) + pf[:, :3, 3]
    c = cfw[frames]
    pc = (pw.transpose(1, 0, 2) @ c[:, :3, :3].transpose(0, 2, 1) + c[:, None, :3, 3]).transpose(1, 0, 2)
    pq = np.empty_like(pw)
    for f in np.unique(tq):  # one matmul per query frame
        sel = np.flatnonzero(tq == f)
        pq[sel] = pw[sel] @ cfw[f, :3, :3].T + cfw[f, :3, 3]
    vxy, vz = geometry.project(k_all[frames][:, None], pc.transpose(1, 0, 2)[:, :, None])
    vxy, vz = vxy[:, :, 0].transpose(1, 0, 2), vz[:, :, 0].T
    txy, tz = geometry.project(k_all[tq], pq)

    def inside(xy: np.ndarray) -> np.ndarray:
        return (xy[..., 0] >= -0.5) & (xy[..., 0] <= w - 0.5) & (xy[..., 1] >= -0.5) & (xy[..., 1] <= h - 0.5)

    with np.errstate(invalid="ignore"):
        visible = inside(vxy) & (vz > 0)
        x0 = np.floor(np.where(visible, vxy[..., 0], 0) + SNAP_PX).astype(np.int64)
        y0 = np.floor(np.where(visible, vxy[..., 1], 0) + SNAP_PX).astype(np.int64)
        d_max = np.full((n, n_t), -np.inf, np.float32)
        seen = np.zeros((n, n_t), bool)
        depth, inst = scene.depth.reshape(-1), scene.instances.reshape(-1)
        base = frames[None, :] * (h * w)
        for dy in (0, 1):
            for dx in (0, 1):
                flat = base + np.clip(y0 + dy, 0, h - 1) * w + np.clip(x0 + dx, 0, w - 1)
                d = depth[flat]
                d_max = np.maximum(d_max, np.where(np.isfinite(d), d, np.inf))
                seen |= inst[flat] == oid[:, None]
        occluded = ~visible | (d_max < tol * vz) | ~seen
        in_view = (tz > 0) & inside(txy)
    return {"object_id": oid, "points_world": pw, "points_cam": pc, "points_query_cam": pq, "visual_xy": vxy,
            "true_xy": txy, "visual_occluded": occluded, "true_in_view": in_view}


def max_differences(tracks, ref: dict) -> dict[str, float]:
    """Largest |difference| per float field (NaN where both are NaN ignored) and differing flag counts."""
    out = {}
    for name in FIELDS_PX + FIELDS_M:
        a, b = getattr(tracks, name), ref[name]
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            out[name] = float("inf")
            continue
        diff = np.abs(a - b)[~np.isnan(a)]
        out[name] = float(diff.max()) if diff.size else 0.0
    for name in FLAGS + ("object_id",):
        out[name] = int((getattr(tracks, name) != ref[name]).sum())
    return out


def make_scenes(size: int, frames: int, videos: int) -> list[Scene]:
    gen = GenerateParams(n_frames=frames, width=size, height=size)
    with tempfile.TemporaryDirectory() as tmp:
        return [read_worker_dir(write_kubric_dump(sample_video(gen, 1234, i), Path(tmp) / f"v{i}"), source="procedural")
                for i in range(videos)]


def compare(label: str, work: list[tuple[Scene, np.ndarray, Queries]], repeats: int) -> dict:
    """Time baseline and library on ``work`` (scene, clip frames, queries), print one block, return the figures."""
    samples = sum(len(q) * len(f) for _, f, q in work)
    times = cpu_seconds({"numpy": lambda: [numpy_tracks(s, f, q.frame, q.xy) for s, f, q in work],
                         "library": lambda: [compute_tracks(s, q, frames=f, device="cpu") for s, f, q in work]}, repeats)
    t_base, t_lib = times["numpy"], times["library"]
    diffs = [max_differences(compute_tracks(s, q, frames=f, device="cpu"), numpy_tracks(s, f, q.frame, q.xy))
             for s, f, q in work]
    worst = {k: max(d[k] for d in diffs) for k in diffs[0]}
    print(f"[{label}] {len(work)} call(s), {samples:,} points x frames")
    print(f"  numpy baseline   : {t_base * 1e3:10.2f} ms CPU  ({samples / t_base:14,.0f} points*frames/s)")
    print(f"  compute_tracks   : {t_lib * 1e3:10.2f} ms CPU  ({samples / t_lib:14,.0f} points*frames/s)  "
          f"speed-up {t_base / t_lib:.2f}x")
    max_px, max_m = max(worst[k] for k in FIELDS_PX), max(worst[k] for k in FIELDS_M)
    flags = sum(worst[k] for k in FLAGS)
    print(f"  max |difference| : pixels {max_px:.1e} px, 3D {max_m:.1e} m, flags differing {flags}, "
          f"object ids differing {worst['object_id']}")
    out = {"label": label, "samples": samples, "numpy_s": t_base, "library_s": t_lib, "ratio": t_base / t_lib,
           "max_px": max_px, "flags_differing": flags}
    if torch.cuda.is_available():
        t_cuda = cuda_seconds(lambda: [compute_tracks(s, q, frames=f, device="cuda") for s, f, q in work], repeats)
        print(f"  compute_tracks CUDA ({torch.cuda.get_device_name()}): {t_cuda * 1e3:.2f} ms wall, "
              f"{t_base / t_cuda:.1f}x the CPU numpy baseline")
        out["cuda_s"] = t_cuda
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="16,384 queries x 48 frames of 256x256 video (issue 16)")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--videos", type=int, default=2)
    ap.add_argument("--queries", type=int, default=2048, help="queries per video for the bulk case")
    ap.add_argument("--question-frames", type=int, default=16)
    ap.add_argument("--questions", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (BLAS: set OPENBLAS_NUM_THREADS)")
    a = ap.parse_args(argv)
    if a.full:
        a.size, a.frames, a.queries, a.question_frames = 256, 48, 16384, 32
    torch.set_num_threads(a.threads)
    scenes = make_scenes(a.size, a.frames, a.videos)
    start = time.perf_counter()
    compute_tracks(scenes[0], Queries(frame=np.zeros(0, np.int64), xy=np.zeros((0, 2))), device="cpu")
    print(f"tracks: {a.videos} procedural videos {a.size}x{a.size}x{a.frames}; CPU seconds, {a.threads} thread(s); "
          f"load average {os.getloadavg()[0]:.1f}; kernel compile or cache load {time.perf_counter() - start:.1f} s")
    dense = TracksParams(queries_per_video=a.queries, sampling_stride=1, max_sampled_frac=1.0)
    bulk = [(s, np.arange(s.meta.n_frames), sample_queries(s, dense, np.random.default_rng(i))[0])
            for i, s in enumerate(scenes)]
    rng = np.random.default_rng(0)
    questions = []
    for s, _, q in bulk:
        for _ in range(a.questions // len(bulk)):
            start = int(rng.integers(0, s.meta.n_frames - a.question_frames + 1))
            frames = np.arange(start, start + a.question_frames)
            pick = rng.choice(np.flatnonzero((q.frame >= start) & (q.frame < start + a.question_frames)))
            questions.append((s, frames, Queries(frame=q.frame[pick:pick + 1] - start, xy=q.xy[pick:pick + 1])))
    return [compare(f"bulk: {a.queries} queries x {a.frames} frames per video", bulk, a.repeats),
            compare(f"question: 1 query x {a.question_frames} frames, per call", questions, a.repeats)]


if __name__ == "__main__":
    main()
