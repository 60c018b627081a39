"""QA on a cluttered scene (issue 23.2): CPU seconds and peak RSS per clip at >= 100 visible objects, the library
next to the goal (<= 2 CPU-s and <= 0.5 GB per clip) and next to the previous implementation in the same run.

The scene is procedural and goes through the real chain: ``--objects`` objects (default 30, 60 and 140) on a jittered grid,
each with a motion of the default mix, seen by a camera trucking sideways, rendered by the procedural renderer into
a Kubric worker directory (:func:`fourdpqa.sources.kubric_dump.write_kubric_dump`) and standardised by the Kubric
reader. Printed: how many objects are visible in the clip frames, then for each implementation the CPU seconds of
``generate_records`` (one clip, scene reading included) and the peak RSS of its process (a fresh child each:
peak RSS is per process), also as growth over the process after reading the scene, at several clutter levels
(``--objects``) so the growth with the number of visible objects shows. A child whose resident memory passes
``--cap-gb`` is stopped (the previous implementation needs about 12 GB at 100 visible objects) and reported as such.

Baseline (the previous implementation, kept here and swapped into the question table for its runs): candidate
pairs, triples and pairs of pairs of objects listed in full and shuffled before the first is tried, as the type
rows did before issue 23.2 (C(V, 2)^2 candidate dicts for the "cross" layout of multiview object distance, every
triple for object-object distance); every filter is today's, so the two differ only in listing versus drawing.

    python benchmarks/qa_clutter.py [--objects 30 60 140] [--frames 16] [--size 256] [--cap-gb 3]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from fourdpqa import questions  # noqa: E402
from fourdpqa.params import BaseParams, GenerateParams, Params, QAParams  # noqa: E402
from fourdpqa.questions import camera, object_motion, spatial  # noqa: E402
from fourdpqa.questions.specs import DepthSpec, MovedSpec, ObjectSpec, PairsSpec  # noqa: E402

GOAL_CPU_S, GOAL_RSS_GB = 2.0, 0.5


# ------------------------------------------------------------------------------- baseline: the previous algorithm


def shuffled(ctx, items: list) -> list:
    return [items[i] for i in ctx.rng.permutation(len(items))]


def old_depth_assets(ctx, multiview: bool) -> list[DepthSpec]:
    i, j = spatial._frame_pair(ctx) if multiview else (int(ctx.rng.integers(ctx.motion.n_frames)),) * 2
    vis_j = set(spatial._visible_ids(ctx, j))
    pairs = [(a, b) for a in spatial._visible_ids(ctx, i) for b in vis_j if a != b and (multiview or a < b)]
    return [DepthSpec((a, b), frames=(i, j)) for a, b in shuffled(ctx, pairs)]


def old_obj_dist_assets(ctx, fmt: str) -> list[PairsSpec]:
    k = int(ctx.rng.integers(ctx.motion.n_frames))
    vis = spatial._visible_ids(ctx, k)
    triples = [(a, r, b) for r in vis for a, b in combinations([o for o in vis if o != r], 2)]
    return [PairsSpec((a, r, b), pairs=((a, r), (b, r)), frames=(k, k)) for a, r, b in shuffled(ctx, triples)]


def old_mv_obj_dist_assets(ctx, fmt: str) -> list[PairsSpec]:
    i, j = spatial._frame_pair(ctx)
    vis_i, vis_j = spatial._visible_ids(ctx, i), spatial._visible_ids(ctx, j)
    if ctx.rng.integers(2):
        both = [o for o in vis_i if o in vis_j]
        return [PairsSpec((a, b), pairs=((a, b), (a, b)), frames=(i, j), layout="same")
                for a, b in shuffled(ctx, list(combinations(both, 2)))]
    groups = [(p, q) for p in combinations(vis_i, 2) for q in combinations(vis_j, 2) if set(p) != set(q)]
    return [PairsSpec(tuple(dict.fromkeys([*p, *q])), pairs=(p, q), frames=(i, j), layout="cross")
            for p, q in shuffled(ctx, groups)]


def old_moved_assets(ctx, fmt: str) -> list[MovedSpec]:
    objs = [o for o in camera.eligible(ctx) if ctx.translates(o)]
    if fmt == "mc":
        return [MovedSpec(tuple(objs[:object_motion.MC_OPTIONS]), mode="which")] if len(objs) >= object_motion.MC_OPTIONS else []
    return [MovedSpec((a, b)) for a, b in combinations(objs, 2)]


def old_obj_obj_assets(ctx, fmt: str) -> list[ObjectSpec]:
    objs = camera.eligible(ctx)
    moving = {o for o in objs if fmt == "free" or ctx.translates(o)}
    return [ObjectSpec((a, b)) for a, b in combinations(objs, 2) if a in moving or b in moving]


BASELINE = {6: old_moved_assets, 7: old_obj_obj_assets, 8: lambda ctx, fmt: old_depth_assets(ctx, False),
            9: old_obj_dist_assets, 10: lambda ctx, fmt: old_depth_assets(ctx, True), 11: old_mv_obj_dist_assets}


@contextlib.contextmanager
def previous_algorithm():
    """The question table with the listing asset functions swapped in."""
    saved = {t: questions.TYPES[t] for t in BASELINE}
    questions.TYPES.update({t: dataclasses.replace(saved[t], assets=fn) for t, fn in BASELINE.items()})
    try:
        yield
    finally:
        questions.TYPES.update(saved)


# ------------------------------------------------------------------------------------------------------ scene


def cluttered_spec(n_objects: int, n_frames: int, size: int, seed: int = 0):
    """A procedural video of ``n_objects`` objects on a jittered square grid (0.9 m apart), motions drawn from the
    default mix (speeds of about 1 m per clip), seen from 16 m at 32 deg elevation by a camera trucking 1 m."""
    from fourdpqa.sources import procedural as P
    from fourdpqa.sources.shapes import build_parts

    rng = np.random.default_rng(seed)
    mix = GenerateParams().object_motion_mix
    kinds = [k for k in mix if k not in ("pass_by", "convoy")]  # placed relative to others: not on a grid
    weights = np.array([mix[k] for k in kinds]) / sum(mix[k] for k in kinds)
    side = math.ceil(math.sqrt(n_objects))
    duration = (n_frames - 1) / 12.0
    objects = []
    for i in range(n_objects):
        cat = P.CATEGORIES[int(rng.integers(len(P.CATEGORIES)))]
        color = list(P.PALETTE)[int(rng.integers(len(P.PALETTE)))]
        dims = tuple(float(v) * rng.uniform(0.6, 0.8) for v in P.BASE_SIZE[cat]["small"])
        parts, box = build_parts(cat, dims, P.PALETTE[color])
        motion = kinds[int(rng.choice(len(kinds), p=weights))]
        row, col = divmod(i, side)
        start = ((col - (side - 1) / 2) * 0.9 + rng.uniform(-0.1, 0.1), (row - (side - 1) / 2) * 0.9 + rng.uniform(-0.1, 0.1))
        yaw_rate = {"turn": 1.0, "rotate_cw": -1.5, "rotate_ccw": 1.5}.get(motion, 0.0) / max(duration, 1e-6)
        speed = 0.0 if motion in ("static", "rotate_cw", "rotate_ccw") else rng.uniform(0.8, 1.2) / max(duration, 1e-6)
        objects.append(P.ObjectSpec(object_id=i + 1, category=cat, color=color, size_class="small", size=box,
                                    has_front=P.HAS_FRONT[cat], caption=f"the {color} {cat} number {i + 1}",
                                    parts=parts, start_xy=start, start_yaw=float(rng.uniform(-math.pi, math.pi)),
                                    motion=motion, speed=speed, direction=float(rng.uniform(-math.pi, math.pi)),
                                    yaw_rate=yaw_rate))
    elev, dist = math.radians(32.0), 16.0
    cam = P.CameraSpec(kind="truck", components=("truck",), eye=(-dist * math.cos(elev), 0.0, dist * math.sin(elev)),
                       target=(0.0, 0.0, 0.3), move_cam=(1.0, 0.0, 0.0))
    return P.VideoSpec(video_id="clutter_00000", seed=seed, index=0, n_frames=n_frames, fps=12.0, width=size,
                       height=size, camera=cam, objects=tuple(objects), ground_seed=seed, light_dir=(0.3, 0.2, 0.93))


def build_scene(root: Path, n_objects: int, n_frames: int, size: int) -> Params:
    """Render, standardise and write the cluttered video under ``root``; the params to read it with."""
    from fourdpqa.scene import write_scene
    from fourdpqa.sources.kubric import read_worker_dir
    from fourdpqa.sources.kubric_dump import write_kubric_dump

    spec = cluttered_spec(n_objects, n_frames, size)
    raw = write_kubric_dump(spec, root / "raw" / spec.video_id)
    write_scene(read_worker_dir(raw, "procedural"), root / "scenes" / spec.video_id)
    return Params(base=BaseParams(data_root=str(root), allowed_roots=[str(root)], device="cpu"),
                  qa=QAParams(clip_frames=n_frames, clips_per_video=1))


# --------------------------------------------------------------------------------------------------- measuring


def child(root: str, frames: int, which: str) -> None:
    """One clip's QA in this process: prints CPU seconds, peak RSS and records as JSON."""
    from fourdpqa.scene import read_scene
    from fourdpqa.stages.qa import generate_records

    params = Params(base=BaseParams(data_root=root, allowed_roots=[root], device="cpu"),
                    qa=QAParams(clip_frames=frames, clips_per_video=1))
    start = time.process_time()
    read_scene(Path(root) / "scenes" / "clutter_00000", with_rgb=False)  # page the scene in: growth is QA's own
    rss_scene = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with previous_algorithm() if which == "baseline" else contextlib.nullcontext():
        records = generate_records(params, "clutter_00000")
    cpu = time.process_time() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"cpu_s": cpu, "peak_kb": peak, "scene_kb": rss_scene, "records": len(records)}))


def visible_objects(params: Params) -> tuple[int, int]:
    """(fewest, most) objects visible in a clip frame, by the QA's own visibility rule."""
    from fourdpqa.motion import clip_motion
    from fourdpqa.sampling import visible_frames
    from fourdpqa.scene import read_scene

    scene = read_scene(Path(params.base.data_root) / "scenes" / "clutter_00000", with_rgb=False)
    m = clip_motion(scene, np.arange(scene.meta.n_frames))
    th = params.thresholds_for("procedural")
    per_frame = np.sum([visible_frames(scene, m, o, th) for o in m.object_ids], axis=0)
    return int(per_frame.min()), int(per_frame.max())


def measure(root: Path, frames: int, which: str, cap_gb: float) -> dict:
    """Run one child; stop it when its resident memory passes ``cap_gb`` (polled every 50 ms)."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", which, "--root", str(root), "--frames", str(frames)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        with contextlib.suppress(OSError):
            rss_kb = next((int(line.split()[1]) for line in status.read_text().splitlines()
                           if line.startswith("VmRSS:")), 0)  # none once the child has exited
            if rss_kb > cap_gb * 2**20:
                proc.kill()
                proc.wait()
                return {"stopped_gb": rss_kb / 2**20}
        time.sleep(0.05)
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"{which} child failed: {err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def describe(r: dict) -> str:
    if "stopped_gb" in r:
        return f"stopped: resident memory passed {r['stopped_gb']:.1f} GB"
    return (f"{r['cpu_s']:7.2f} CPU-s per clip, peak RSS {r['peak_kb'] / 2**20:.2f} GB "
            f"(+{(r['peak_kb'] - r['scene_kb']) / 2**20:.2f} GB over the scene), {r['records']} records")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, nargs="+", default=[30, 60, 140])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--cap-gb", type=float, default=3.0, help="stop a child whose resident memory passes this")
    parser.add_argument("--child", choices=("library", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.root, args.frames, args.child)
        return
    print(f"QA per clip on cluttered procedural scenes ({args.frames} frames at {args.size}x{args.size}); goal "
          f"<= {GOAL_CPU_S:g} CPU-s and <= {GOAL_RSS_GB:g} GB per clip at >= 100 visible objects")
    for n in args.objects:
        with tempfile.TemporaryDirectory() as tmp:
            params = build_scene(Path(tmp), n, args.frames, args.size)
            lo, hi = visible_objects(params)
            runs = {which: measure(Path(tmp), args.frames, which, args.cap_gb) for which in ("baseline", "library")}
        print(f"{n} objects, {lo}-{hi} visible per clip frame:")
        print(f"  previous (candidates listed)  {describe(runs['baseline'])}")
        print(f"  library (candidates drawn)    {describe(runs['library'])}")
        lib = runs["library"]
        if lo >= 100:
            ok = lib["cpu_s"] <= GOAL_CPU_S and lib["peak_kb"] / 2**20 <= GOAL_RSS_GB
            print(f"  goal at >= 100 visible objects: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
