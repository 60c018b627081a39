"""The generate stage: raising n_videos renders only the new videos; lowering it removes the dropped ones."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fourdpqa.stages import generate
from tests.stages.test_standardize import tiny_params


def _dumps(root: Path) -> dict[str, str]:
    raw = root / "raw" / "procedural"
    return {p.relative_to(raw).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(raw.glob("proc_*/*"))}


def test_more_videos_render_only_the_new_ones_and_fewer_remove_the_rest(tmp_path):
    assert generate.run(tiny_params(tmp_path, n_videos=2)).done == ["proc_00000", "proc_00001"]
    before = _dumps(tmp_path)
    report = generate.run(tiny_params(tmp_path, n_videos=3))
    assert report.done == ["proc_00002"] and report.skipped == ["proc_00000", "proc_00001"]
    after = _dumps(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("proc_00002/")} == before
    assert generate.run(tiny_params(tmp_path, n_videos=1)).skipped == ["proc_00000"]
    assert sorted(p.name for p in (tmp_path / "raw" / "procedural").glob("proc_*")) == ["proc_00000"]
