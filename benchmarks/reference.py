"""What the dataset benchmarks share: the reference code (the project at an earlier commit, unpacked from git so it
runs side by side with the working tree), stage runs in child processes with their CPU seconds, and a small
pipeline to measure on when no data root is given."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = "6e8148d"  # main before the validation registry, the learnability stage and the linear selection


def copy_repo(dst: Path, skip_data: bool = True) -> Path:
    """A copy of the repository's tracked and untracked-but-not-ignored files under ``dst``: what a fresh clone has
    (without ``data/`` unless ``skip_data`` is False: its metrics and plots are tracked by git)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.splitlines()
    for f in files:
        if (ROOT / f).is_file() and not (skip_data and f.startswith("data/")):
            (dst / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dst / f)
    return dst


def unpack(rev: str, dest: Path) -> Path:
    """``fourdpqa/``, ``schemas/`` and ``params.yaml`` of commit ``rev`` under ``dest`` (a code root)."""
    blob = subprocess.run(["git", "archive", rev, "fourdpqa", "schemas", "params.yaml"], cwd=ROOT, check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def child_cpu(code_root: Path, args: list[str], cwd: Path | None = None) -> float:
    """CPU seconds (user + system, every thread) of ``python <args>`` run with ``code_root`` first on the path."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    proc = subprocess.run([sys.executable, *args], cwd=cwd or code_root, env=env, capture_output=True, text=True)
    if proc.returncode not in (0, 1):  # 1: a stage that ran and reported failing checks
        raise RuntimeError(f"{args}: exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def params_file(code_root: Path, path: Path, data_root: Path, **sections: dict) -> Path:
    """The ``params.yaml`` of ``code_root`` with ``base.data_root`` set and ``sections`` merged in (one level deep)."""
    params = yaml.safe_load((code_root / "params.yaml").read_text())
    params["base"].update({"data_root": str(data_root), "allowed_roots": [str(data_root)]})
    params["standardize"]["sources"] = [{"name": "procedural", "kind": "kubric",
                                         "root": str(data_root / "raw" / "procedural")}]
    for section, values in sections.items():
        params.setdefault(section, {})
        for key, value in values.items():
            if isinstance(value, dict) and isinstance(params[section].get(key), dict):
                params[section][key] = {**params[section][key], **value}
            else:
                params[section][key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


SMALL = {"generate": {"n_videos": 24, "n_frames": 16, "width": 128, "height": 128},
         "qa": {"clip_frames": 16, "out_width": 224, "out_height": 224},
         "tracks": {"queries_per_video": 128}}


def small_pipeline(workdir: Path, through: str = "assemble", **sections: dict) -> Path:
    """A data root built by this code's stages generate -> ... -> ``through`` on a small configuration."""
    data = workdir / "data"
    params = params_file(ROOT, workdir / "params.yaml", data, **{**SMALL, **sections})
    stages = ["generate", "standardize", "tracks", "qa", "assemble", "validate"]
    for stage in stages[: stages.index(through) + 1]:
        subprocess.run([sys.executable, "-m", "fourdpqa", stage, "--params", str(params)], cwd=ROOT, check=True,
                       capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return data


def scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="fourdpqa-bench-"))
