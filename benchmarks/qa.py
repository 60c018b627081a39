"""QA generation speed: the library against the previous algorithm, on the same videos in one run.

Baseline (what the qa stage did before issue 16.2, kept here as copies of the old hot functions and swapped into
the library for the baseline runs): every visibility test counted an object's pixels with a full-frame
``(instances == id).sum()``, every object lookup filtered the objects table, every tracking candidate eroded
a full-frame instance mask to test one pixel, and every scene read re-ran the schema (pandera) checks of its
tables. The library counts pixels once per clip frame (one ``bincount``), indexes object rows, tests a candidate's
3x3 window, and skips the schema checks of tables unchanged since they passed them when written.

The whole-process baseline also starts as the qa process did: torch imported (``fourdpqa.geometry`` and
``fourdpqa.tracks`` imported it at module level) and its determinism set (every stage's ``prepare``); the qa
process no longer loads torch. A third run, the previous algorithm on today's start-up, shows the two parts.

Printed: records per CPU-second inside the process (``generate_records``, the two taking turns per video) and for
the whole ``qa`` stage process (start-up, scene reading, validation and writing included; CPU time of the child
process), their ratio, and whether the records / parquet files are identical (asserted).

    python benchmarks/qa.py [--params params.yaml] [--videos 8]

Uses the scenes and tracks of ``--params``'s data root when they exist (the default run: ``dvc repro`` up to
tracks); otherwise builds ``--videos`` procedural videos at the default sizes in a temporary root first.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import polars as pl
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from fourdpqa import layout, qa_tracks, sampling
from fourdpqa import scene as scene_module
from fourdpqa.__main__ import main
from fourdpqa.framing import MIN_IN_FRAME
from fourdpqa.motion import ClipMotion
from fourdpqa.params import load_params
from fourdpqa.questions import tracking
from fourdpqa.scene import Scene, list_scenes, read_meta
from fourdpqa.stages import qa as qa_stage
from fourdpqa.stages.qa import generate_records
from fourdpqa.thresholds import LabelThresholds

# ------------------------------------------------------------------------------- baseline: the previous algorithm


def old_mask_pixels(scene: Scene, frame: int, object_id: int) -> int:
    return int((scene.instances[frame] == object_id).sum())


def old_visible_at(scene: Scene, m: ClipMotion, object_id: int, k: int, th: LabelThresholds) -> bool:
    i = m.index(object_id)
    return bool(m.visible[i, k] >= th.min_visible_fraction
                and old_mask_pixels(scene, int(m.frames[k]), object_id) >= th.min_object_pixels
                and (m.in_frame is None or m.in_frame[i, k] >= MIN_IN_FRAME))  # the rule of issue 24.2


def old_visible_frames(scene: Scene, m: ClipMotion, object_id: int, th: LabelThresholds) -> np.ndarray:
    return np.array([old_visible_at(scene, m, object_id, k, th) for k in range(m.n_frames)])


def old_object_row(scene: Scene, object_id: int) -> dict:
    return scene.objects.filter(pl.col("object_id") == object_id).row(0, named=True)


def old_candidates(ctx) -> list[tuple[int, int, int]]:
    t, m, s = ctx.tracks, ctx.motion, ctx.scene
    if t is None or qa_tracks.clip_columns(t, m.frames) is None:
        return []
    clip_index = {int(f): k for k, f in enumerate(m.frames)}
    out, moving = [], []
    for i in ctx.rng.permutation(len(t)).tolist():
        f = int(t.frames[int(t.queries.frame[i])])
        if f not in clip_index:
            continue
        oid, k = int(t.object_id[i]), clip_index[f]
        x, y = (int(round(v)) for v in t.queries.xy[i])
        if oid and not np.isfinite(m.obj_pos[m.index(oid), k]).all():
            continue
        if not qa_tracks.interior_mask(s, f, oid)[y, x]:
            continue
        is_moving = bool(oid) and float(np.ptp(m.obj_pos[m.index(oid)], axis=0).max()) > 0
        (moving if is_moving else out).append((i, k, oid))
    first_moving = bool(moving) and ctx.rng.random() < tracking.MOVING_SHARE
    return moving + out if first_moving else out + moving


def old_candidate(ctx) -> tuple[int, int, int] | None:
    return next(iter(old_candidates(ctx)), None)


def old_make_reference(scene, m, object_id, mode, k, number, th, numbered, max_other_share=0.1):
    if mode == "caption":
        if not sampling.caption_unique(scene, object_id):
            return None
        return sampling.Reference(object_id, mode, sampling.caption_text(scene.object_row(object_id)["caption"]))
    if mode == "box_mark":
        k = 0
    if k is None or not sampling.visible_at(scene, m, object_id, k, th):
        return None
    inst = scene.instances[int(m.frames[k])]
    mask = inst == object_id
    h, w = mask.shape
    if mode == "pixel":
        x, y = sampling.interior_pixel(mask)
        xn, yn = sampling.normalise_xy(x, y, w, h)
        return sampling.Reference(object_id, mode, f"the object at ({xn:.3f}, {yn:.3f}) in frame {k}", k)
    ys, xs = np.nonzero(mask)
    yy, xx = np.mgrid[:h, :w]
    if mode == "circle":
        (x, y), r = cv2.minEnclosingCircle(np.stack([xs, ys], 1).astype(np.float32))
        r = float(r) + sampling.CIRCLE_PAD_PX
        region = (xx - x) ** 2 + (yy - y) ** 2 <= (r + sampling.MARK_MARGIN_PX) ** 2
        if not old_unambiguous(inst, region, object_id, max_other_share):
            return None
        xn, yn = sampling.normalise_xy(x, y, w, h)
        mark = {"kind": "circle", "frame": k, "xy": [xn, yn], "radius": round(r / max(w, h), 3),
                "label": str(number) if numbered else ""}
        text = f"the object inside circle {number} in frame {k}" if numbered else f"the circled object in frame {k}"
        return sampling.Reference(object_id, mode, text, k, [mark])
    x0, x1 = max(xs.min() - sampling.BOX_PAD_PX, 0), min(xs.max() + 1 + sampling.BOX_PAD_PX, w)
    y0, y1 = max(ys.min() - sampling.BOX_PAD_PX, 0), min(ys.max() + 1 + sampling.BOX_PAD_PX, h)
    mm = sampling.MARK_MARGIN_PX
    region = (xx >= x0 - mm) & (xx < x1 + mm) & (yy >= y0 - mm) & (yy < y1 + mm)
    if not old_unambiguous(inst, region, object_id, max_other_share):
        return None
    box = [round(float(v), 3) for v in (x0 / w, y0 / h, x1 / w, y1 / h)]
    mark = {"kind": "box", "frame": 0, "box": box, "label": str(number)}
    return sampling.Reference(object_id, mode, f"object {number} (boxed in frame 0)", 0, [mark])


def old_unambiguous(inst: np.ndarray, region: np.ndarray, object_id: int, max_other_share: float) -> bool:
    ids, total = np.unique(inst, return_counts=True)
    inside = np.bincount(inst[region].ravel(), minlength=int(ids.max()) + 1)
    for oid, n in zip(ids.tolist(), total.tolist(), strict=True):
        if oid in (0, object_id):
            continue
        if inside[oid] > max_other_share * n or inside[oid] >= inside[object_id]:  # issue 24.5's rule too
            return False
    return bool(inside[object_id] > 0)


BASELINE = [(sampling, "visible_at", old_visible_at), (sampling, "visible_frames", old_visible_frames),
            (sampling, "make_reference", old_make_reference), (Scene, "object_row", old_object_row),
            (tracking, "_candidate", old_candidate), (scene_module, "_checked_state", lambda scene_dir: (False, None))]


def previous_start_up() -> None:
    """Start the qa process as before issue 16.2: torch loaded, its seeds, threads and determinism set."""
    import torch  # noqa: F401  (fourdpqa.geometry and fourdpqa.tracks imported it at module level)

    qa_stage.STAGE = dataclasses.replace(qa_stage.STAGE, uses_torch=True)


@contextlib.contextmanager
def previous_algorithm():
    """The library with the old hot functions swapped in (every caller reaches them through these attributes)."""
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in BASELINE]
    for owner, name, fn in BASELINE:
        setattr(owner, name, fn)
    try:
        yield
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)


# ------------------------------------------------------------------------------------------------------ setup


def default_root(params_path: Path, tmp: Path, videos: int) -> Path:
    """Params whose data root holds scenes and tracks: ``params_path``'s own, or ``videos`` fresh default-size
    procedural videos in ``tmp``."""
    where = layout.of(load_params(params_path))
    if list_scenes(where.scenes) and where.tracks.is_dir():
        return params_path
    raw = yaml.safe_load(params_path.read_text())
    data = tmp / "data"
    raw["base"].update(data_root=str(data), allowed_roots=[str(data)])
    raw["generate"]["n_videos"] = videos
    raw["standardize"]["sources"] = [{"name": "procedural", "kind": "kubric", "root": str(data / "raw" / "procedural")}]
    out = tmp / "params.yaml"
    out.write_text(yaml.safe_dump(raw, sort_keys=False))
    for stage in ("generate", "standardize", "tracks"):
        if main([stage, "--params", str(out)]) != 0:
            raise SystemExit(f"{stage} failed")
    return out


def side_root(params_path: Path, tmp: Path, name: str) -> Path:
    """A params file whose data root shares the scenes and tracks of ``params_path``'s (symlinks) with its own qa."""
    raw = yaml.safe_load(params_path.read_text())
    src = Path(raw["base"]["data_root"]).resolve()
    data = tmp / name / "data"
    data.mkdir(parents=True)
    for sub in ("scenes", "tracks"):
        (data / sub).symlink_to(src / sub)
    raw["base"].update(data_root=str(data), allowed_roots=[str(data), str(src)])
    out = tmp / name / "params.yaml"
    out.write_text(yaml.safe_dump(raw, sort_keys=False))
    return out


# --------------------------------------------------------------------------------------------------- measuring


def in_process(params_path: Path) -> tuple[dict[str, float], int]:
    """CPU seconds of ``generate_records`` over every video, library and baseline taking turns per video; asserts
    equal record lists. Returns (seconds by name, records)."""
    params = load_params(params_path)
    videos = [read_meta(s).video_id for s in list_scenes(layout.of(params).scenes)]
    cpu = {"library": 0.0, "baseline": 0.0}
    n = 0
    for vid in videos:
        start = time.process_time()
        new = generate_records(params, vid)
        cpu["library"] += time.process_time() - start
        with previous_algorithm():
            start = time.process_time()
            old = generate_records(params, vid)
            cpu["baseline"] += time.process_time() - start
        assert new == old, f"video {vid}: records differ from the previous algorithm"
        n += len(new)
    return cpu, n


def stage_process(params_path: Path, which: str) -> float:
    """CPU seconds (user + system) of one ``qa`` stage process run from scratch."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, __file__, "--child", which, "--params", str(params_path)], check=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def qa_digests(params_path: Path) -> dict[str, str]:
    qa = Path(yaml.safe_load(params_path.read_text())["base"]["data_root"]) / "qa"
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(qa.glob("*.parquet"))}


def report(name: str, cpu: dict[str, float], n: int, baseline: str = "baseline", label: str = "previous algorithm") -> None:
    lib, base = n / cpu["library"], n / cpu[baseline]
    print(f"{name}: {n} records; {label} {base:.0f} records/CPU-s ({cpu[baseline]:.1f} s), "
          f"library {lib:.0f} records/CPU-s ({cpu['library']:.1f} s) = {lib / base:.2f}x")


SIDES = ("baseline", "algorithm_only", "library")


def main_(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--videos", type=int, default=8, help="videos to build when --params has no scenes")
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # one whole qa stage process (what stage_process times)
        if args.child == "baseline":
            previous_start_up()
        with previous_algorithm() if args.child != "library" else contextlib.nullcontext():
            raise SystemExit(main(["qa", "--params", str(args.params), "--force"]))
    with tempfile.TemporaryDirectory() as tmp:
        params_path = default_root(args.params.resolve(), Path(tmp), args.videos)
        cpu, n = in_process(params_path)
        report("qa inside the process (generate_records)", cpu, n)
        sides = {which: side_root(params_path, Path(tmp), which) for which in SIDES}
        cpu = {which: stage_process(path, which) for which, path in sides.items()}
        same = all(qa_digests(sides[which]) == qa_digests(sides["library"]) for which in SIDES)
        report("qa stage process (start-up included)", cpu, n, label="previous qa process")
        report("  of which the algorithm (previous algorithm on today's start-up)", cpu, n, "algorithm_only")
        print(f"qa parquet files byte-identical to the previous algorithm's: {same}")
        assert same, "qa parquet files differ from the previous algorithm's"


if __name__ == "__main__":
    main_()
