"""Fault injection on the SHIFT and 4D-reconstruction adapters: one malformed sequence among good ones is rejected
with an error naming the file and the problem, quarantined alone, and the others are converted."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from fourdpqa.params import load_params
from fourdpqa.scene import read_scene
from fourdpqa.stages import standardize
from helpers import recon_fixture, shift_fixture

SEQS = ("abcd-0001", "abcd-0002", "abcd-0003")
BAD_SEQ = "abcd-0002"


def _assert_alone(tmp_path: Path, source: tuple[str, str, Path], bad: str, ledger, case: str, file: str, fragment: str) -> None:
    """Standardize the one configured ``source`` (name, kind, root): only ``bad`` is quarantined, with a reason naming
    ``file`` and ``fragment``; every other video becomes a readable scene."""
    name, kind, root = source
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump({
        "base": {"data_root": str(tmp_path / "data"), "allowed_roots": [str(tmp_path / "data")]},
        "standardize": {"sources": [{"name": name, "kind": kind, "root": str(root)}]},
    }))
    params = load_params(p)
    videos = standardize.list_raw_videos(params)
    report = standardize.run(params)
    reason = report.quarantined.get(bad, "")
    good = [v for v in videos if v != bad]
    lost = sum(not (params.data / "scenes" / g / "scene.json").exists() for g in good)
    ledger.record("standardize", case, handled=file in reason and fragment in reason, lost=lost)
    assert list(report.quarantined) == [bad] and file in reason and fragment in reason, reason
    assert sorted(report.done) == good and len(good) == 2 and lost == 0
    for g in good:
        read_scene(params.data / "scenes" / g)


def _edit_json(path: Path, fn: Callable[[dict], None]) -> None:
    """Apply ``fn`` to the first frame record of the bad sequence in a split-wide Scalabel file."""
    data = json.loads(path.read_text())
    fn(next(f for f in data["frames"] if f["videoName"] == BAD_SEQ and f["frameIndex"] == 20))
    path.write_text(json.dumps(data))


def _drop_zip_member(z_path: Path, member: str) -> None:
    with zipfile.ZipFile(z_path) as z:
        kept = {n: z.read(n) for n in z.namelist() if n != member}
    with zipfile.ZipFile(z_path, "w") as z:
        for n, b in kept.items():
            z.writestr(n, b)


def _frame_file(view: Path, group: str, ext: str) -> Path:
    return view / group / BAD_SEQ / f"00000020_{group}_front.{ext}"


SHIFT_FAULTS: list[tuple[str, str, str, Callable[[Path], None], str]] = [
    ("missing depth member in the zip", "zip", "depth.zip",
     lambda v: _drop_zip_member(v / "depth.zip", f"{BAD_SEQ}/00000020_depth_front.png"), "missing frame file"),
    ("truncated jpeg", "folder", "00000020_img_front.jpg",
     lambda v: _frame_file(v, "img", "jpg").write_bytes(_frame_file(v, "img", "jpg").read_bytes()[:200]), "truncated"),
    ("depth png of another size", "folder", "00000020_depth_front.png",
     lambda v: _frame_file(v, "depth", "png").write_bytes(shift_fixture.encode_depth(np.ones((10, 10)))), "differs"),
    ("3D label without dimension", "folder", "det_3d.json",
     lambda v: _edit_json(v / "det_3d.json", lambda f: f["labels"][0]["box3d"].pop("dimension")), "box3d"),
    ("camera rotation in unknown units", "folder", "det_3d.json",
     lambda v: _edit_json(v / "det_3d.json", lambda f: f["extrinsics"].update(rotation=[0.0, 0.0, 9000.0])), "unknown units"),
    ("mask RLE of another image size", "zip", "det_insseg_2d.json",
     lambda v: _edit_json(v / "det_insseg_2d.json", lambda f: f["labels"][0]["rle"].update(size="[10, 10]")), "bad RLE mask"),
    ("repeated frame number", "zip", "det_3d.json",
     lambda v: _edit_json(v / "det_3d.json", lambda f: f.update(frameIndex=10)), "repeat"),
    # HDF5 packs (shift-dev to_hdf5): a sequence missing from one pack, a member that is not a file's bytes
    ("sequence missing from depth.hdf5", "hdf5", "depth.hdf5", lambda v: _h5_edit(v / "depth.hdf5", lambda h5: h5.pop(BAD_SEQ)),
     "missing frame file"),
    ("packed member not uint8 bytes", "hdf5", "img.hdf5",
     lambda v: _h5_edit(v / "img.hdf5", lambda h5: (h5[BAD_SEQ].pop("00000020_img_front.jpg"),
                                                   h5[BAD_SEQ].create_dataset("00000020_img_front.jpg", data=np.zeros(5)))),
     "1-D uint8 dataset"),
]


def _h5_edit(path: Path, fn: Callable) -> None:
    import h5py

    with h5py.File(path, "a") as h5:
        fn(h5)


@pytest.mark.parametrize(("case", "layout", "file", "corrupt", "fragment"), SHIFT_FAULTS, ids=[c[0] for c in SHIFT_FAULTS])
def test_shift_bad_sequence_is_quarantined_alone(tmp_path, ledger, case, layout, file, corrupt, fragment):
    root = shift_fixture.make_split(tmp_path / "data" / "raw" / "shift", SEQS, layout=layout)
    corrupt(root / "front")
    _assert_alone(tmp_path, ("shift", "shift", root), f"shift_{BAD_SEQ}", ledger, f"shift: {case}", file, fragment)


@pytest.mark.parametrize("layout", ["zip", "hdf5"])
def test_an_unreadable_split_archive_is_quarantined_and_the_other_sources_go_on(tmp_path, ledger, layout):
    """A truncated split-wide img archive cannot even be listed: it becomes one quarantined item naming the file
    (not "video ''", not a traceback), and the other source's videos are converted."""
    raw = tmp_path / "data" / "raw"
    bad = shift_fixture.make_split(raw / "shift_bad", SEQS[:1], layout=layout) / "front" / f"img.{layout}"
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 3])
    shift_fixture.make_split(raw / "shift_good", SEQS, layout="zip")
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump({
        "base": {"data_root": str(tmp_path / "data"), "allowed_roots": [str(tmp_path / "data")]},
        "standardize": {"sources": [{"name": "bad", "kind": "shift", "root": str(raw / "shift_bad")},
                                    {"name": "good", "kind": "shift", "root": str(raw / "shift_good")}]}}))
    params = load_params(p)
    report = standardize.run(params)
    reason = report.quarantined.get("bad_unlisted", "")
    good = [f"shift_{s}" for s in SEQS]
    lost = sum(not (params.data / "scenes" / g / "scene.json").exists() for g in good)
    handled = list(report.quarantined) == ["bad_unlisted"] and f"img.{layout}" in reason and "video ''" not in reason
    ledger.record("standardize", f"shift: truncated split-wide img.{layout}", handled=handled, lost=lost)
    assert handled and "unreadable" in reason, reason
    assert sorted(report.done) == good and lost == 0


def _npz_edit(path: Path, **changes: object) -> None:
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(changes)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})


RECON_FAULTS: list[tuple[str, str, Callable[[Path], None], str]] = [
    ("npz without camera poses", "b.npz", lambda r: _npz_edit(r / "b.npz", cam_c2w=None), "missing arrays"),
    ("truncated npz", "b.npz", lambda r: (r / "b.npz").write_bytes((r / "b.npz").read_bytes()[:5000]), "truncated"),
    ("non-rigid camera pose", "b.npz",
     lambda r: _npz_edit(r / "b.npz", cam_c2w=np.stack([np.diag([2.0, 1, 1, 1])] * recon_fixture.T)), "not rigid"),
    ("trajectory with 7 columns", "pred_traj.txt",
     lambda r: (r / "c" / "pred_traj.txt").write_text("0 0 0 0 1 0 0\n"), "8 columns"),
    ("missing depth frame", "frame_0003.npy", lambda r: (r / "c" / "frame_0003.npy").unlink(), "unreadable depth"),
    ("mask of another size", "00002.png",
     lambda r: Image.fromarray(np.zeros((4, 4), np.uint8)).save(r / "b.masks" / "00002.png"), "do not fit"),
    # issue 25.15: intrinsics of other shapes are named, not crashed on
    ("intrinsics of shape (2, 3, 3)", "b.npz", lambda r: _npz_edit(r / "b.npz", intrinsic=np.stack([recon_fixture.K] * 2)),
     "intrinsic must be (3, 3) or (T, 3, 3)"),
    ("intrinsics of shape (3, 4)", "b.npz", lambda r: _npz_edit(r / "b.npz", intrinsic=np.zeros((3, 4))), "got (3, 4)"),
    ("intrinsics of shape (4,)", "b.npz", lambda r: _npz_edit(r / "b.npz", intrinsic=np.array([40.0, 40.0, 23.5, 15.5])),
     "got (4,)"),
    # issue 25.8: depth in millimetres against the camera baseline
    ("depth in millimetres", "b.npz", lambda r: _npz_scale_depth(r / "b.npz", 1000.0), "wrong depth units"),
]


def _npz_scale_depth(path: Path, factor: float) -> None:
    with np.load(path) as z:
        depths = z["depths"].astype(np.float32) * factor
    _npz_edit(path, depths=depths)


@pytest.mark.parametrize(("case", "file", "corrupt", "fragment"), RECON_FAULTS, ids=[c[0] for c in RECON_FAULTS])
def test_recon_bad_video_is_quarantined_alone(tmp_path, ledger, case, file, corrupt, fragment):
    root = tmp_path / "data" / "raw" / "recon"
    for name in ("a.npz", "b.npz"):
        recon_fixture.write_megasam(root / name)
    recon_fixture.write_monst3r(root / "c", masks=False)
    corrupt(root)
    bad = "c" if file in ("pred_traj.txt", "frame_0003.npy") else "b"
    _assert_alone(tmp_path, ("phone", "recon", root), bad, ledger, f"recon: {case}", file, fragment)
