"""Same seed, same bytes on any x86-64 CPU: the small pipeline (generate -> standardize -> tracks -> qa -> assemble,
then train on the assembled conversations) run twice in one folder, once with this machine's native kernels and 2
threads, once as a baseline x86-64 CPU would run it with 1 thread — torch's scalar ATen kernels (``ATEN_CPU_CAPABILITY=default``), NumPy's dispatched SIMD
loops switched off (its AVX-512 arctan2 / arcsin / exp / log differ from AVX2's in the last bits), OpenBLAS's
oldest kernel, MKL's compatible path, Numba for a generic CPU, OpenCV without IPP or its dispatched SIMD — must
write byte-identical raw videos, scenes, tracks, QA records, dataset and trained model (manifests included, so a
``dvc.lock`` written on one machine stays clean on another). The data stages are exact by construction; training
is, through ``python -m fourdpqa``, because the CLI pins portable CPU kernels for model stages
(``fourdpqa/numerics.py``; without them the weights differed in the last bits between the two runs).

Before the fix, 171 of 384 files differed in this comparison (3 videos of 16 frames at 256 px): every depth TIFF
(torch matmuls and norms in the ray caster), RGB PNGs at silhouette edges, the metadata's boxes and camera
quaternions (BLAS ``@`` on poses), and from there scenes, tracks, QA and dataset clips.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from fourdpqa import geometry
from fourdpqa.numerics import OPT_OUT, PORTABLE_KERNELS
from tests.helpers.params_file import write_params_file

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
STAGES = ("generate", "standardize", "tracks", "qa", "assemble")
SMALL = {
    "generate": {"n_videos": 2, "n_frames": 8, "width": 96, "height": 96, "max_objects": 4},
    "tracks": {"queries_per_video": 32},
    "qa": {"clip_frames": 8, "clips_per_video": 1, "questions_per_clip": 24, "out_width": 48, "out_height": 48},
    "assemble": {"train_size": 24, "benchmark_size": 8, "benchmark_video_share": 0.5},
    "train": {"tiny_hidden_size": 32, "tiny_layers": 1, "tiny_vision_depth": 1, "frames": 2, "image_size": 28,
              "max_steps": 3, "batch_size": 2, "checkpoint_every": 3},
}
OPENCV_SIMD = "SSSE3,SSE4.1,POPCNT,SSE4.2,FP16,AVX,AVX2,FMA3,AVX_VNNI,AVX512F,AVX512-SKX,AVX512-CLX"


def baseline_cpu_env() -> dict[str, str]:
    """Environment that makes this machine compute like the oldest x86-64 it could be (see the module docstring)."""
    from numpy._core._multiarray_umath import __cpu_dispatch__

    return {"ATEN_CPU_CAPABILITY": "default", "NPY_DISABLE_CPU_FEATURES": " ".join(__cpu_dispatch__),
            "OPENBLAS_CORETYPE": "Prescott", "MKL_CBWR": "COMPATIBLE", "NUMBA_CPU_NAME": "generic",
            "OPENCV_IPP": "disabled", "OPENCV_CPU_DISABLE": OPENCV_SIMD, "OMP_NUM_THREADS": "1",
            "POLARS_MAX_THREADS": "1"}


def _run_pipeline(root: Path, env: dict[str, str], threads: int) -> None:
    params = write_params_file(root, SMALL, base={"device": "cpu", "num_threads": threads})
    code = ("import sys; from fourdpqa.__main__ import main\n"
            f"for stage in {STAGES!r}:\n"
            f"    assert main([stage, '--params', {str(params)!r}]) == 0, stage\n")
    pinned = {*baseline_cpu_env(), *PORTABLE_KERNELS, OPT_OUT}
    clean = {k: v for k, v in os.environ.items() if k not in pinned}  # "native" means nothing pinned by the caller
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**clean, **env}, check=True, capture_output=True,
                   text=True)
    export = root / "data" / "dataset" / "exports" / "train_conversations.jsonl"
    # training keeps the thread count params.yaml gives every machine (base.num_threads): sums split across threads
    params = write_params_file(root, SMALL, base={"device": "cpu", "num_threads": 2})
    subprocess.run([sys.executable, "-m", "fourdpqa", "train", "--params", str(params), "--export", str(export)],
                   cwd=REPO, env={**clean, **env, "MLFLOW_ALLOW_FILE_STORE": "true"}, check=True, capture_output=True,
                   text=True)


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[dict[str, str], dict[str, str]]:
    """Digests of every output file of the two runs (same folder, so absolute paths agree)."""
    root = tmp_path_factory.mktemp("determinism")
    out = []
    for env, threads in (({}, 2), (baseline_cpu_env(), 1)):
        # a private Numba cache per run: a kernel compiled for this CPU must not stand in for the generic one
        _run_pipeline(root, {**env, "NUMBA_CACHE_DIR": str(root / f"numba-{threads}")}, threads)
        out.append(_digests(root / "data"))
        shutil.rmtree(root / "data")
    return out[0], out[1]


def test_same_bytes_with_native_and_baseline_kernels_and_threads(two_runs):
    native, baseline = two_runs
    for folder in ("raw/procedural/", "scenes/", "tracks/", "qa/", "dataset/", "models/trained/"):
        assert any(k.startswith(folder) for k in native), f"the pipeline wrote nothing under {folder}"
    # MLflow's run records (and the run id a checkpoint keeps to resume its run) are ids and times, not results;
    # the digest cache is keyed by inodes and mtimes of this machine (local, never an output)
    differ = sorted(k for k in native.keys() | baseline.keys() if native.get(k) != baseline.get(k)
                    and not k.startswith(("mlflow/", ".cache/")) and not k.endswith("/extra.json"))
    assert not differ, f"{len(differ)} of {len(native)} files differ between CPU configurations: {differ[:20]}"


def test_baseline_env_really_changes_the_kernels():
    """The comparison above means something only if the second run computes differently where code lets it:
    torch's dispatch and a BLAS product change under the environment, geometry.matmul does not."""
    probe = ("import numpy as np, torch, hashlib; from fourdpqa import geometry\n"
             "a = np.random.default_rng(0).normal(size=(64, 64))\n"
             "print(torch.backends.cpu.get_cpu_capability(), hashlib.sha256((a @ a).tobytes()).hexdigest(),"
             " hashlib.sha256(geometry.matmul(a, a).tobytes()).hexdigest())")
    outs = [subprocess.run([sys.executable, "-c", probe], cwd=REPO, env={**os.environ, **env}, check=True,
                           capture_output=True, text=True).stdout.split() for env in ({}, baseline_cpu_env())]
    assert outs[1][0] == "DEFAULT"
    if outs[0][0] != "DEFAULT":  # a machine whose native kernels are the baseline ones has nothing to compare
        assert outs[0][1] != outs[1][1], "OpenBLAS gave the same bits with and without its SIMD kernels"
    assert outs[0][2] == outs[1][2]


def test_geometry_matmul_is_the_matrix_product():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 4, 3, 3)), rng.normal(size=(4, 3, 2))
    np.testing.assert_allclose(geometry.matmul(a, b), a @ b, rtol=0, atol=1e-14)
    ta, tb = torch.as_tensor(a), torch.as_tensor(b)
    assert torch.equal(geometry.matmul(ta, tb), torch.as_tensor(geometry.matmul(a, b)))  # same order, same bits


def test_snap_is_a_binary_grid():
    x = np.array([0.1, -2.5, 1 / 3, 7.0])
    s = geometry.snap(x, bits=8)
    assert np.array_equal(s * 256, np.rint(s * 256)) and np.abs(s - x).max() <= 2.0**-9
    assert np.array_equal(geometry.snap(s, bits=8), s)  # idempotent: snapped poses re-snap to themselves


def test_render_is_the_same_with_one_or_two_threads():
    """generate renders with one intra-op thread; a caller with more (benchmarks, notebooks) gets the same frame."""
    from fourdpqa.params import GenerateParams
    from fourdpqa.sources.procedural import camera_poses, frame_times, intrinsics, object_poses, sample_video
    from fourdpqa.sources.render import SceneRenderer

    spec = sample_video(GenerateParams(n_frames=4, width=64, height=48), 7, 0)
    poses = np.stack([object_poses(o, frame_times(4, spec.fps)) for o in spec.objects])
    frames = []
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            frames.append(SceneRenderer(spec, chunk_rays=1000).render(intrinsics(spec), camera_poses(spec.camera, 4)[3], poses[:, 3]))
    finally:
        torch.set_num_threads(before)
    for field in ("rgb", "depth", "instances", "amodal"):
        assert np.array_equal(getattr(frames[0], field), getattr(frames[1], field)), field
