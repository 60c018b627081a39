"""Fault injection on the Aria-recorded sources (ADT, HOT3D without and with images): one malformed sequence
beside a good one is rejected with an error naming the file and the problem, quarantined alone, and the good one
is kept.

Sequences are built from the real samples in tests/data/{adt,hot3d} by symlinking every file except the one a
case corrupts, so each case copies at most one file."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from fourdpqa.params import load_params
from fourdpqa.scene import read_scene
from fourdpqa.stages import standardize
from fourdpqa.stages.protocol import StageFailed
from tests.helpers.hot3d_fixture import PHONE, make_sequence

DATA = Path(__file__).parents[1] / "data"
ADT_SAMPLE = DATA / "adt" / "aria_digital_twin_test_data"


def link_sequence(src: Path, dst: Path) -> Path:
    """``dst`` with a symlink to every file of ``src`` (directories recreated)."""
    for p in src.rglob("*"):
        if p.is_file():
            (dst / p.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
            (dst / p.relative_to(src)).symlink_to(p.resolve())
    return dst


def own_copy(p: Path) -> Path:
    """Replace a symlink by a private copy that a case may corrupt."""
    target = p.resolve()
    p.unlink()
    shutil.copyfile(target, p)
    return p


def edit_text(p: Path, fn: Callable[[str], str]) -> None:
    own_copy(p).write_text(fn(p.read_text()))


def truncate(p: Path) -> None:
    data = own_copy(p).read_bytes()
    p.write_bytes(data[: len(data) // 2])


def run_source(root: Path, kind: str, raw: Path, options: dict | None = None):
    params_path = root / "params.yaml"
    params_path.write_text(yaml.safe_dump({
        # the sequences link to the real samples in tests/data: a place the user allows, as any linked data must be
        "base": {"data_root": str(root / "data"), "allowed_roots": [str(root), str(DATA.resolve())]},
        "standardize": {"sources": [{"name": kind, "kind": kind, "root": str(raw), "options": options or {}}]},
    }))
    params = load_params(params_path)
    try:
        return params, standardize.run(params)
    except StageFailed as exc:  # HOT3D samples without recording.vrs all fail: the stage fails, the report says why
        return params, exc.report


ADT_FAULTS: list[tuple[str, Callable[[Path], None], list[str]]] = [
    ("missing depth_images.vrs", lambda s: (s / "depth_images.vrs").unlink(), ["depth_images.vrs", "missing file"]),
    ("truncated segmentations.vrs", lambda s: truncate(s / "segmentations.vrs"), ["segmentations.vrs", "truncated"]),
    ("garbage video.vrs", lambda s: own_copy(s / "video.vrs").write_bytes(b"not a vrs file" * 8), ["video.vrs", "unreadable"]),
    ("object position in millimetres", lambda s: edit_text(s / "scene_objects.csv", lambda t: t.replace("t_wo_x[m]", "t_wo_x[mm]")),
     ["scene_objects.csv", "t_wo_x[m]", "units"]),
    ("gravity in cm/s^2", lambda s: edit_text(s / "aria_trajectory.csv", lambda t: t.replace(",0,-9.81,0,", ",0,-981,0,")),
     ["aria_trajectory.csv", "unknown units"]),
    ("trajectory without quaternion columns", lambda s: edit_text(s / "aria_trajectory.csv", lambda t: t.replace("qw_world_device", "qw")),
     ["aria_trajectory.csv", "qw_world_device"]),
    ("instances.json not JSON", lambda s: edit_text(s / "instances.json", lambda t: t[: len(t) // 2]), ["instances.json", "unreadable JSON"]),
    ("unknown dataset version", lambda s: edit_text(s / "metadata.json", lambda t: t.replace('"2.0"', '"9.9"')),
     ["metadata.json", "dataset_version"]),
]


@pytest.fixture(scope="module")
def adt_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root whose good sequence is converted once; each case swaps in its own bad sequence."""
    root = tmp_path_factory.mktemp("adt-faults")
    link_sequence(ADT_SAMPLE, root / "raw" / "good")
    return root


@pytest.mark.parametrize(("case", "corrupt", "fragments"), ADT_FAULTS, ids=[c[0] for c in ADT_FAULTS])
def test_adt_bad_sequence_is_quarantined_alone(adt_root, ledger, case, corrupt, fragments):
    raw = adt_root / "raw"
    shutil.rmtree(raw / "bad", ignore_errors=True)
    corrupt(link_sequence(ADT_SAMPLE, raw / "bad"))
    params, report = run_source(adt_root, "adt", raw, {"width": 48, "height": 48, "focal": 30.0})
    reason = report.quarantined.get("adt_bad", "")
    handled = all(f in reason for f in fragments)
    lost = 0 if (params.data / "scenes" / "adt_good" / "scene.json").exists() else 1
    ledger.record("standardize", f"adt: {case}", handled=handled, lost=lost)
    assert list(report.quarantined) == ["adt_bad"] and handled, reason
    assert "adt_good" in report.done + report.skipped and lost == 0
    assert not (params.data / "scenes" / "adt_bad").exists()
    read_scene(params.data / "scenes" / "adt_good")


HOT3D = DATA / "hot3d"
ARIA_SEQ, QUEST_SEQ = HOT3D / "P0003_c701bd11", HOT3D / "P0002_273c2819"
NO_IMAGES = "missing file: no images"


def _scale_first_quaternion(p: Path) -> None:
    lines = own_copy(p).read_text().splitlines()
    head, row = lines[0].split(","), lines[1].split(",")
    for c in ("q_wo_w", "q_wo_x", "q_wo_y", "q_wo_z"):
        row[head.index(c)] = str(2 * float(row[head.index(c)]))
    p.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")


HOT3D_FAULTS: list[tuple[str, Path, Callable[[Path], None], list[str]]] = [
    ("missing headset_trajectory.csv", ARIA_SEQ, lambda s: (s / "headset_trajectory.csv").unlink(),
     ["headset_trajectory.csv", "missing file"]),
    ("object position in millimetres", ARIA_SEQ, lambda s: edit_text(s / "dynamic_objects.csv", lambda t: t.replace("t_wo_y[m]", "t_wo_y[mm]")),
     ["dynamic_objects.csv", "t_wo_y[m]", "units"]),
    ("non-unit object quaternion", ARIA_SEQ, lambda s: _scale_first_quaternion(s / "dynamic_objects.csv"),
     ["dynamic_objects.csv", "non-orthonormal"]),
    ("unknown headset", QUEST_SEQ, lambda s: edit_text(s / "metadata.json", lambda t: t.replace('"Quest3"', '"Quest2"')),
     ["metadata.json", "unknown headset 'Quest2'"]),
    ("truncated camera_models.json", QUEST_SEQ, lambda s: edit_text(s / "camera_models.json", lambda t: t[: len(t) // 2]),
     ["camera_models.json", "unreadable JSON"]),
    ("garbage online calibration", ARIA_SEQ, lambda s: own_copy(s / "mps/slam/online_calibration.jsonl").write_text("{oops\n"),
     ["online_calibration.jsonl", "no online calibration record"]),
    ("object missing from the library", ARIA_SEQ, lambda s: edit_text(s / "dynamic_objects.csv", lambda t: t.replace("223371871635142", "999")),
     ["dynamic_objects.csv", "[999]", "not in the object library"]),
    ("garbage recording.vrs", QUEST_SEQ, lambda s: (s / "recording.vrs").write_bytes(b"not a vrs" * 10), ["recording.vrs", "unreadable"]),
]


@pytest.fixture(scope="module")
def hot3d_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hot3d-faults")
    link_sequence(ARIA_SEQ, root / "raw" / ARIA_SEQ.name)
    link_sequence(HOT3D / "assets", root / "raw" / "assets")
    return root


@pytest.mark.parametrize(("case", "sample", "corrupt", "fragments"), HOT3D_FAULTS, ids=[c[0] for c in HOT3D_FAULTS])
def test_hot3d_bad_sequence_is_refused_alone(hot3d_root, ledger, case, sample, corrupt, fragments):
    """HOT3D sequences without recording.vrs are all refused (no images); the bad one must be refused for its own
    fault, named, while the good one is still read to the end (its reason is the missing images)."""
    raw = hot3d_root / "raw"
    shutil.rmtree(raw / "bad", ignore_errors=True)
    corrupt(link_sequence(sample, raw / "bad"))
    _, report = run_source(hot3d_root, "hot3d", raw)
    reason, good = report.quarantined.get("hot3d_bad", ""), report.quarantined.get(f"hot3d_{ARIA_SEQ.name}", "")
    handled = all(f in reason for f in fragments)
    lost = 0 if NO_IMAGES in good and "recording.vrs" in good else 1
    ledger.record("standardize", f"hot3d: {case}", handled=handled, lost=lost)
    assert handled and NO_IMAGES not in reason and "\n" not in reason, reason
    assert lost == 0, good


# HOT3D with images (tests/helpers/hot3d_fixture.py): the good sequence is standardized (frames from the recording,
# depth and instances rendered from the phone's mesh); the bad one is refused for its own fault, named.
MUG = 223371871635142  # in the object library's instance.json, but its mesh is not public


def _add_mug_rows(s: Path) -> None:
    """The bad sequence also poses the mug (its rows copied from the phone's, uid swapped)."""
    text = own_copy(s / "dynamic_objects.csv").read_text()
    rows = [r.replace(str(PHONE), str(MUG), 1) for r in text.splitlines()[1:]]
    (s / "dynamic_objects.csv").write_text(text + "\n".join(rows) + "\n")


def _mug_mesh(lib: Path, data: bytes) -> None:
    (lib / f"{MUG}.glb").write_bytes(data)


def _phone_in_millimetres() -> bytes:
    import trimesh

    mesh = trimesh.load_mesh(str(HOT3D / "assets" / f"{PHONE}.glb"), process=True, merge_primitives=True, file_type="glb")
    mesh.apply_scale(1000.0)
    return trimesh.exchange.gltf.export_glb(trimesh.Scene(mesh))


HOT3D_IMAGE_FAULTS: list[tuple[str, Callable[[Path, Path], None], list[str]]] = [
    ("object model missing", lambda s, lib: _add_mug_rows(s), [f"{MUG}.glb", "missing object model", str(MUG), "assets"]),
    ("corrupt object model", lambda s, lib: (_add_mug_rows(s), _mug_mesh(lib, b"glTF" + b"\0" * 40)),
     [f"{MUG}.glb", "unreadable glTF mesh"]),
    ("object model in millimetres", lambda s, lib: (_add_mug_rows(s), _mug_mesh(lib, _phone_in_millimetres())),
     [f"{MUG}.glb", "unknown units"]),
    ("recording without the RGB stream", lambda s, lib: ((s / "recording.vrs").unlink(),
                                                         (s / "recording.vrs").symlink_to((ADT_SAMPLE / "depth_images.vrs").resolve())),
     ["recording.vrs", "no image stream 214-1"]),
    ("recording of another sequence", lambda s, lib: edit_text(s / "headset_trajectory.csv", lambda t: t.replace(",738", ",739")),
     ["recording.vrs", "no frame lies within the ground-truth span"]),
]


@pytest.fixture(scope="module")
def hot3d_image_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hot3d-image-faults")
    make_sequence(root / "raw")
    return root


@pytest.mark.parametrize(("case", "corrupt", "fragments"), HOT3D_IMAGE_FAULTS, ids=[c[0] for c in HOT3D_IMAGE_FAULTS])
def test_hot3d_bad_sequence_with_images_is_quarantined_alone(hot3d_image_root, ledger, case, corrupt, fragments):
    raw, lib = hot3d_image_root / "raw", hot3d_image_root / "raw" / "assets"
    shutil.rmtree(raw / "bad", ignore_errors=True)
    (lib / f"{MUG}.glb").unlink(missing_ok=True)
    corrupt(link_sequence(raw / ARIA_SEQ.name, raw / "bad"), lib)
    params, report = run_source(hot3d_image_root, "hot3d", raw, {"width": 32, "height": 32, "focal": 20.0, "device": "cpu"})
    reason = report.quarantined.get("hot3d_bad", "")
    handled = all(f in reason for f in fragments) and "\n" not in reason
    good = f"hot3d_{ARIA_SEQ.name}"
    lost = 0 if (params.data / "scenes" / good / "scene.json").exists() else 1
    ledger.record("standardize", f"hot3d: {case}", handled=handled, lost=lost)
    assert list(report.quarantined) == ["hot3d_bad"] and handled, reason
    assert good in report.done + report.skipped and lost == 0
    assert not (params.data / "scenes" / "hot3d_bad").exists()
    read_scene(params.data / "scenes" / good)
