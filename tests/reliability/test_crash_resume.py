"""Kill a stage mid-run with SIGKILL: no half-written file remains, and the rerun completes to exactly the
bytes of an uninterrupted run (no duplicates, nothing missing)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml


def _params(root: Path) -> Path:
    data = root / "data"
    p = root / "params.yaml"
    p.write_text(yaml.safe_dump({
        "base": {"data_root": str(data), "allowed_roots": [str(data)]},
        "generate": {"n_videos": 3, "n_frames": 4, "width": 32, "height": 32, "max_objects": 2},
        "standardize": {"sources": [{"name": "procedural", "kind": "kubric", "root": str(data / "raw" / "procedural")}]},
    }))
    return p


def _stage(root: Path, stage: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "fourdpqa", stage, "--params", str(_params(root))], cwd=root,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _digest(tree: Path) -> dict[str, str]:
    """Content hash per file (reports excluded: they describe the run, e.g. which items were skipped)."""
    return {p.relative_to(tree).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(tree.rglob("*")) if p.is_file() and p.name != "_report.json"}


def _kill_after_first_output(root: Path, stage: str, out_dir: Path, marker: str) -> None:
    proc = _stage(root, stage)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(out_dir.glob(f"*/{marker}"))) < 1:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_killed_stages_resume_to_identical_outputs(tmp_path):
    ref, crash = tmp_path / "ref", tmp_path / "crash"
    for root in (ref, crash):
        root.mkdir()
    for stage in ("generate", "standardize"):
        assert _stage(ref, stage).wait() == 0

    raw = crash / "data" / "raw" / "procedural"
    _kill_after_first_output(crash, "generate", raw, "metadata.json")
    done_before = len(list(raw.glob("proc_*/metadata.json")))
    assert 1 <= done_before < 3, "the kill must land mid-stage"
    assert _stage(crash, "generate").wait() == 0
    scenes = crash / "data" / "scenes"
    _kill_after_first_output(crash, "standardize", scenes, "scene.json")
    assert _stage(crash, "standardize").wait() == 0

    for sub in ("raw/procedural", "scenes"):
        got, want = _digest(crash / "data" / sub), _digest(ref / "data" / sub)
        assert not [f for f in got if ".tmp-" in f], "temporaries left behind"
        assert got.keys() == want.keys() and got == want
