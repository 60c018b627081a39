"""Chunking bounds the memory of track extraction and rendering: peak RSS growth of a long video stays under a
bound set by the outputs, not by the points x frames x intermediates product."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TRACKS = textwrap.dedent("""
    import json, sys, numpy as np, torch
    torch.set_num_threads(1)
    sys.path.insert(0, "tests")
    from tests.helpers.track_scenes import random_scene
    from fourdpqa import track_kernels
    from fourdpqa.tracks import Queries, compute_tracks
    if "{backend}" == "torch":  # the batched torch code CUDA runs, here on CPU
        track_kernels.cpu_samples = lambda inp, tol: track_kernels.torch_samples(inp, tol, torch.device("cpu"), {chunk})
    scene = random_scene(0, n_t={n_t}, width=32, height=32, n_boxes=2)
    rng = np.random.default_rng(0)
    ys, xs = np.nonzero(np.isfinite(scene.depth[0]))
    pick = rng.integers(0, len(xs), {n})
    q = Queries(frame=np.zeros({n}, np.int64), xy=np.stack([xs[pick], ys[pick]], -1).astype(np.float64))
    def status(key):
        return int(next(l for l in open("/proc/self/status") if l.startswith(key)).split()[1]) * 1024
    open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to the current RSS
    before = status("VmRSS:")
    tr = compute_tracks(scene, q, device="cpu", chunk_points={chunk})
    out = sum(a.nbytes for a in (tr.visual_xy, tr.true_xy, tr.points_world, tr.points_cam, tr.points_query_cam))
    print(json.dumps({{"growth": status("VmHWM:") - before, "out": out}}))
""")


def _run(code: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_track_extraction_memory_is_bounded_by_chunking():
    n, n_t = 1500, 400
    kernel = _run(TRACKS.format(n=n, n_t=n_t, chunk=n, backend="kernel"))
    small = _run(TRACKS.format(n=n, n_t=n_t, chunk=64, backend="torch"))
    whole = _run(TRACKS.format(n=n, n_t=n_t, chunk=n, backend="torch"))
    # outputs must exist in full (~5 float64 arrays); the CPU kernel has no intermediates, whatever chunk_points,
    # and the batched torch code's chunked intermediates add little on top of the outputs
    assert kernel["growth"] < 2 * kernel["out"] + 64 * 2**20, kernel
    assert small["growth"] < 2 * small["out"] + 64 * 2**20, small
    assert whole["growth"] > small["growth"] + 32 * 2**20, (whole, small)


SCENE_IO = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path.insert(0, "tests")
    from dataclasses import replace
    from tests.helpers.track_scenes import random_scene
    from fourdpqa.frame_store import FrameArray
    from fourdpqa.scene import read_scene, write_scene
    base = random_scene(0, n_t=2, width={w}, height={w}, n_boxes=2)
    n = {n}
    def lazy(a):  # frame i of a long video, decoded on demand (the two stored frames alternate)
        return FrameArray(n, a.shape[1:], a.dtype, lambda i: a[i % 2].copy())
    cams = base.cameras.vstack(base.cameras.sample(n - 2, with_replacement=True, seed=0)).with_columns(
        frame=np.arange(n), time_s=np.arange(n) / 10.0)
    poses = base.object_poses.filter(base.object_poses["frame"] == 0)
    scene = replace(base, meta=replace(base.meta, n_frames=n), rgb=lazy(base.rgb), depth=lazy(base.depth),
                    instances=lazy(base.instances), cameras=cams, object_poses=poses)
    def status(key):
        return int(next(l for l in open("/proc/self/status") if l.startswith(key)).split()[1]) * 1024
    open("/proc/self/clear_refs", "w").write("5")
    before = status("VmRSS:")
    write_scene(scene, "{out}")
    wrote = status("VmHWM:") - before
    back = read_scene("{out}")
    total = sum(float(np.nansum(back.depth[i])) + int(back.instances[i].sum()) + int(back.rgb[i].sum()) for i in range(n))
    print(json.dumps({{"write": wrote, "read": status("VmHWM:") - before, "frame": base.depth[0].nbytes, "total": total}}))
""")


def test_writing_and_reading_a_long_scene_holds_a_few_frames(tmp_path):
    """A 400-frame 256x256 scene (about 230 MB of frames) streamed through write_scene and read back frame by frame:
    memory grows by the frame caches (8 frames per array) and a few frames, not by the video."""
    out = _run(SCENE_IO.format(n=400, w=256, out=tmp_path / "long"))
    video = 400 * out["frame"] * (1 + 0.5 + 0.75)  # depth + ids + rgb
    assert out["write"] < 40 * 2**20 < video / 5, out
    assert out["read"] < 40 * 2**20, out
