"""The qa stage process: NumPy-only work, so the process never loads torch (or numba), whose imports cost more CPU
than the QA generation of a default-size video (issue 16.2: records per CPU-second of the whole process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from tests.helpers.track_scenes import random_scene

from fourdpqa.scene import write_scene

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import json, sys
from fourdpqa.__main__ import main
rc = main(["qa", "--params", sys.argv[1]])
print(json.dumps({"rc": rc, "loaded": sorted(m for m in ("torch", "numba") if m in sys.modules)}))
"""


def test_qa_stage_process_never_imports_torch(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for seed in (1, 2):
        write_scene(random_scene(seed), data / "scenes" / f"toy_{seed:05d}")
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({
        "base": {"data_root": str(data), "allowed_roots": [str(data)]},
        "qa": {"clip_frames": 6, "clips_per_video": 1, "questions_per_clip": 12,
               "thresholds": {"default": {"min_object_pixels": 4}}}}))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(params)], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=300, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"rc": 0, "loaded": []}, out.stderr[-2000:]
    assert sorted(p.name for p in (data / "qa").glob("*.parquet")) == ["toy_00001.parquet", "toy_00002.parquet"]
