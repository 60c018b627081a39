"""Fault injection on the layouts added for issue 23 (ADT with ``*_with_skeleton`` files, ADT 1.x subtours,
HOT3D-Clips tars): one malformed recording beside a good one is quarantined alone, naming the file and the problem;
the good one is converted. (SHIFT HDF5 packs: tests/reliability/test_shift_recon_faults.py.)"""

from __future__ import annotations

import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.hot3d_clips_fixture import make_clip
from tests.reliability.test_aria_source_faults import ADT_SAMPLE, DATA, link_sequence, run_source, truncate

OPTS = {"width": 48, "height": 48, "focal": 30.0}


def _with_skeleton(seq: Path) -> Path:
    for p in (DATA / "adt_skeleton").glob("*_with_skeleton.*"):
        (seq / p.name).symlink_to(p.resolve())
    return seq


def _subtours(raw: Path, name: str) -> Path:
    """An ADT 1.2 sequence (the real v1.2 metadata.json) whose subtour folder holds the sample's files."""
    meta = json.loads((DATA / "adt_v1" / "metadata.json").read_text())
    sub = next(iter(meta["subtours"].values()))["subtour_name"]
    link_sequence(ADT_SAMPLE, raw / name / sub)
    (raw / name / sub / "metadata.json").unlink()
    (raw / name / "metadata.json").write_text(json.dumps(meta))
    return raw / name / sub


ADT_FAULTS: list[tuple[str, Callable[[Path], Path], str, list[str]]] = [
    ("truncated segmentations_with_skeleton.vrs",
     lambda raw: truncate(_with_skeleton(link_sequence(ADT_SAMPLE, raw / "bad")) / "segmentations_with_skeleton.vrs"),
     "adt_bad", ["segmentations_with_skeleton.vrs", "truncated"]),
    ("missing depth_images_with_skeleton.vrs",
     lambda raw: (_with_skeleton(link_sequence(ADT_SAMPLE, raw / "bad")) / "depth_images_with_skeleton.vrs").unlink(),
     "adt_bad", ["depth_images_with_skeleton.vrs", "missing file"]),
    ("ADT 1.2 subtour folder missing", lambda raw: shutil.rmtree(_subtours(raw, "bad")),
     "adt_1WM103600M1292_optitrack_release_golden_skeleton_seq100", ["sequence directory missing"]),
    ("ADT 1.2 metadata without subtours",
     lambda raw: (raw / "bad" / "metadata.json").write_text(
         (DATA / "adt_v1" / "metadata.json").read_text().replace('"subtours"', '"tours"')) if _subtours(raw, "bad") else None,
     "adt_bad", ["metadata.json", "subtours"]),
]


@pytest.mark.parametrize(("case", "corrupt", "bad", "fragments"), ADT_FAULTS, ids=[c[0] for c in ADT_FAULTS])
def test_adt_layout_fault_is_quarantined_alone(tmp_path, ledger, case, corrupt, bad, fragments):
    raw = tmp_path / "raw"
    link_sequence(ADT_SAMPLE, raw / "good")
    corrupt(raw)
    params, report = run_source(tmp_path, "adt", raw, OPTS)
    reason = report.quarantined.get(bad, "")
    handled = list(report.quarantined) == [bad] and all(f in reason for f in fragments)
    lost = 0 if (params.data / "scenes" / "adt_good" / "scene.json").exists() else 1
    ledger.record("standardize", f"adt: {case}", handled=handled, lost=lost)
    assert handled, report.quarantined
    assert report.done == ["adt_good"] and lost == 0


def _rewrite_tar(path: Path, fn: Callable[[str, bytes], bytes | None]) -> None:
    import io

    with tarfile.open(path) as src:
        members = [(m, src.extractfile(m).read()) for m in src.getmembers()]
    with tarfile.open(path, "w") as dst:
        for m, data in members:
            new = fn(m.name, data)
            if new is not None:
                m.size = len(new)
                dst.addfile(m, io.BytesIO(new))


CLIP_FAULTS: list[tuple[str, Callable[[Path], None], list[str]]] = [
    ("truncated clip tar", lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), ["clip-000002.tar", "truncated tar"]),
    ("frame without cameras.json", lambda p: _rewrite_tar(p, lambda n, d: None if n == "000001.cameras.json" else d),
     ["clip-000002.tar:000001.cameras.json", "missing member"]),
    ("objects.json not JSON", lambda p: _rewrite_tar(p, lambda n, d: d[:10] if n == "000000.objects.json" else d),
     ["000000.objects.json", "unreadable JSON"]),
    ("unknown device", lambda p: _rewrite_tar(p, lambda n, d: d.replace(b'"Aria"', b'"Glasses"') if n.endswith("info.json") else d),
     ["000000.info.json", "unknown device"]),
]


@pytest.mark.parametrize(("case", "corrupt", "fragments"), CLIP_FAULTS, ids=[c[0] for c in CLIP_FAULTS])
def test_hot3d_clip_fault_is_quarantined_alone(tmp_path, ledger, case, corrupt, fragments):
    raw = tmp_path / "raw"
    good, _ = make_clip(raw, clip_id=1)
    bad = good.with_name("clip-000002.tar")
    shutil.copy(good, bad)
    corrupt(bad)
    params, report = run_source(tmp_path, "hot3d_clips", raw, {**OPTS, "device": "cpu"})
    reason = report.quarantined.get("hot3dclip_train_aria_clip-000002", "")
    handled = list(report.quarantined) == ["hot3dclip_train_aria_clip-000002"] and all(f in reason for f in fragments)
    lost = 0 if (params.data / "scenes" / "hot3dclip_train_aria_clip-000001" / "scene.json").exists() else 1
    ledger.record("standardize", f"hot3d_clips: {case}", handled=handled, lost=lost)
    assert handled, report.quarantined
    assert report.done == ["hot3dclip_train_aria_clip-000001"] and lost == 0
