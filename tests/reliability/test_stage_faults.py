"""Issue 14 faults of the stage protocol, each tried against a small real data root: missing or wrong inputs fail
loudly without deleting anything, a second writer is refused, truncated intermediates are rebuilt or named,
unusable names and escaping paths are handled, programming errors, a full disk and a missing device fail the stage.
Every case is recorded in the reliability ledger (handled, good items lost)."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest

from fourdpqa.__main__ import main
from fourdpqa.layout import Layout
from fourdpqa.params import load_params
from fourdpqa.quarantine import list_quarantined
from fourdpqa.stages import qa, standardize, tracks
from fourdpqa.stages.protocol import StageFailed, stage_lock
from tests.helpers.small_root import VIDEOS, digests, write_small_params

def _cli(root: Path, stage: str, capsys, **sections) -> tuple[int, str]:
    code = main([stage, "--params", str(write_small_params(root, **sections))])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("case", "source"), [
    ("renamed source root", {"root_suffix": "_renamed"}),
    ("source root is a file", {"file": True}),
    ("no sources configured", {"empty": True}),
])
def test_missing_source_fails_and_keeps_every_scene(root, capsys, ledger, case, source):
    scenes = Layout(root / "data").scenes
    before = digests(scenes)
    raw = root / "data" / "raw" / "procedural"
    sources = [] if source.get("empty") else [{"name": "procedural", "kind": "kubric", "root": str(raw)}]
    if source.get("root_suffix"):
        raw.rename(raw.with_name("procedural" + source["root_suffix"]))
    if source.get("file"):
        shutil.rmtree(raw)
        raw.write_text("not a folder")
    code, err = _cli(root, "standardize", capsys, standardize={"sources": sources})
    lost = len(before) - len(set(digests(scenes).items()) & set(before.items()))
    handled = code == 1 and "standardize" in err and "Traceback" not in err
    ledger.record("standardize", case, handled=handled, lost=lost)
    assert handled, err
    assert lost == 0
    code, err = _cli(root, "tracks", capsys)  # the next stage is unaffected: scenes are all still there
    assert code == 0, err


def test_no_scenes_fails_tracks_and_keeps_every_track(root, capsys, ledger):
    before = digests(Layout(root / "data").tracks)
    shutil.rmtree(Layout(root / "data").scenes)
    code, err = _cli(root, "tracks", capsys)
    lost = len(set(before.items()) - set(digests(Layout(root / "data").tracks).items()))
    ledger.record("tracks", "no scenes at all", handled=code == 1 and "no inputs" in err, lost=lost)
    assert code == 1 and "no inputs" in err and lost == 0


def test_a_second_writer_is_refused_with_a_clear_message(root, capsys, ledger):
    params = load_params(root / "params.yaml")
    lock = stage_lock(qa.STAGE, params)
    lock.acquire()
    try:
        code, err = _cli(root, "qa", capsys)
    finally:
        lock.release()
    handled = code == 1 and "another run" in err and "lock" in err
    ledger.record("qa", "two runs of one stage at once", handled=handled, lost=0)
    assert handled, err
    assert _cli(root, "qa", capsys)[0] == 0


@pytest.mark.parametrize("stage", ["tracks", "qa"])
def test_truncated_intermediate_is_rebuilt_byte_identical(root, ledger, stage):
    params = load_params(root / "params.yaml")
    where = Layout(root / "data")
    path = where.tracks_file(VIDEOS[1]) if stage == "tracks" else where.qa_table(VIDEOS[1])
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    report = {"tracks": tracks, "qa": qa}[stage].run(params)
    handled = report.done == [VIDEOS[1]] and path.read_bytes() == good
    ledger.record(stage, f"truncated {path.suffix} output", handled=handled, lost=0)
    assert handled, report


def test_truncated_scene_file_is_named_and_standardize_rebuilds_it(root, ledger):
    params = load_params(root / "params.yaml")
    depth = Layout(root / "data").scene(VIDEOS[2]) / "depth.npy"
    good = depth.read_bytes()
    depth.write_bytes(good[:300])
    report = tracks.run(params, None)  # the tracks of the other videos are up to date, this one names the file
    reason = report.quarantined.get(VIDEOS[2], "")
    handled = "depth.npy" in reason and VIDEOS[2] in reason and sorted(report.skipped) == VIDEOS[:2]
    assert standardize.run(params).done == [VIDEOS[2]] and depth.read_bytes() == good
    # the quarantined video kept its tracks, made from the same scene it has again: up to date, released
    again = tracks.run(params, None)
    assert sorted(again.skipped) == VIDEOS and not list_quarantined(params.base.data_root, "tracks")
    ledger.record("tracks", "truncated depth.npy of a scene", handled=handled, lost=0)
    assert handled, reason


def test_every_video_failing_fails_qa_and_keeps_the_previous_tables(root, capsys, ledger):
    before = digests(Layout(root / "data").qa)
    for video in VIDEOS:  # every scene's depth truncated: all bad input (a short video is not: issue 23.6)
        depth = Layout(root / "data").scene(video) / "depth.npy"
        depth.write_bytes(depth.read_bytes()[:300])
    code, err = _cli(root, "qa", capsys)
    lost = len(set(before.items()) - set(digests(Layout(root / "data").qa).items()))
    handled = code == 1 and "3 of 3" in err and lost == 0
    ledger.record("qa", "every video quarantined", handled=handled, lost=lost)
    assert handled, err


def test_a_programming_error_fails_the_stage_instead_of_quarantining(root, monkeypatch, ledger):
    import fourdpqa.tracks

    def broken(*args, **kwargs):
        raise IndexError("index 7 is out of bounds")

    monkeypatch.setattr(fourdpqa.tracks, "compute_tracks", broken)
    params = load_params(write_small_params(root, tracks={"queries_per_video": 17}))
    with pytest.raises(IndexError) as err:
        tracks.run(params, None)
    handled = not list_quarantined(params.base.data_root, "tracks") and "tracks" in "".join(err.value.__notes__)
    ledger.record("tracks", "IndexError inside the stage (a bug)", handled=handled, lost=0)
    assert handled


def test_disk_full_fails_the_stage_naming_disk_file_and_video(root, monkeypatch, ledger):
    import fourdpqa.viz_tracks

    def full(path, image):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(fourdpqa.viz_tracks, "write_png", full)
    params = load_params(write_small_params(root, tracks={"queries_per_video": 17}))
    with pytest.raises(StageFailed) as err:
        tracks.run(params, None)
    msg = str(err.value)
    handled = "disk full" in msg and "ENOSPC" in msg and "_overlay.png" in msg and VIDEOS[0] in msg
    ledger.record("tracks", "disk full", handled=handled, lost=0)
    assert handled, msg
    assert not list_quarantined(params.base.data_root, "tracks")


def test_cuda_without_cuda_fails_before_any_work(root, capsys, ledger):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    before = digests(Layout(root / "data").tracks)
    code, err = _cli(root, "tracks", capsys, base={"device": "cuda"}, tracks={"queries_per_video": 17})
    handled = code == 1 and "CUDA" in err and digests(Layout(root / "data").tracks) == before
    ledger.record("tracks", "device: cuda without CUDA", handled=handled, lost=0)
    assert handled, err
    assert not list_quarantined(root / "data", "tracks")


def test_a_240_character_video_id_does_not_crash_tracks_or_qa(root, ledger):
    from fourdpqa.scene import read_scene, write_scene

    params = load_params(root / "params.yaml")
    where = Layout(root / "data")
    scene = read_scene(where.scene(VIDEOS[0]))
    long_id = "v" * 240
    scene.meta = type(scene.meta)(**{**scene.meta.__dict__, "video_id": long_id})
    write_scene(scene, where.scene(long_id))
    t, q = tracks.run(params, None), qa.run(params)
    handled = long_id in t.done and long_id in q.done and where.qa_table(long_id).exists()
    ledger.record("tracks+qa", "240-character video id", handled=handled, lost=0)
    assert handled
    assert len(where.tracks_overlay(long_id).name) < 120


def test_symlinked_video_folder_escaping_the_allowed_roots_is_refused(root, tmp_path_factory, ledger):
    outside = tmp_path_factory.mktemp("outside")
    raw = root / "data" / "raw" / "procedural"
    shutil.copytree(raw / VIDEOS[0], outside / "stolen")
    (raw / "proc_00099").symlink_to(outside / "stolen", target_is_directory=True)
    report = standardize.run(load_params(root / "params.yaml"))
    reason = report.quarantined.get("proc_00099", "")
    handled = "outside the allowed roots" in reason and sorted(report.skipped) == VIDEOS
    ledger.record("standardize", "symlinked video folder escaping allowed_roots", handled=handled, lost=0)
    assert handled, reason
    assert not Layout(root / "data").scene("proc_00099").exists()


def test_symlinked_source_root_is_refused_in_one_line(root, tmp_path_factory, capsys, ledger):
    outside = tmp_path_factory.mktemp("outside-root")
    link = root / "data" / "raw" / "linked"
    link.symlink_to(outside, target_is_directory=True)
    code, err = _cli(root, "standardize", capsys,
                     standardize={"sources": [{"name": "procedural", "kind": "kubric", "root": str(link)}]})
    handled = code == 1 and "outside the allowed roots" in err and "Traceback" not in err and len(err.splitlines()) == 1
    ledger.record("standardize", "symlinked source root", handled=handled, lost=0)
    assert handled, err


@pytest.mark.parametrize(("case", "error", "quarantined"), [
    ("a plain ValueError from a bug", ValueError("operands could not be broadcast together"), False),
    ("a KeyError from a bug", KeyError("object_id"), False),
    ("a BadInput naming the file", None, True),
    ("a missing input file (ENOENT)", FileNotFoundError(errno.ENOENT, "No such file or directory", "x/rgba_00003.png"), True),
])
def test_only_typed_bad_input_is_quarantined(root, monkeypatch, ledger, case, error, quarantined):
    """Issue 25.15: the protocol counted any ValueError / OSError as bad input, so a bug became a quarantined video
    and exit 0. Only a BadInput (or reading a missing input file) sets a video aside; a bug fails the stage loudly
    and removes nothing."""
    import fourdpqa.tracks
    from fourdpqa.errors import BadInput

    error = error or BadInput(f"video {VIDEOS[1]!r}: depth.npy: values in millimetres")

    def failing(scene, *args, **kwargs):
        if scene.video_id == VIDEOS[1]:
            raise error
        return real(scene, *args, **kwargs)

    real = fourdpqa.tracks.compute_tracks
    monkeypatch.setattr(fourdpqa.tracks, "compute_tracks", failing)
    params = load_params(write_small_params(root, tracks={"queries_per_video": 17}))
    before = digests(Layout(root / "data").tracks)
    try:
        report = tracks.run(params, None)
        raised = None
    except type(error) as exc:
        report, raised = None, exc
    failing_item = {(k, v) for k, v in before.items() if k.startswith(VIDEOS[1])}  # its outputs stay as they were
    lost = len(failing_item - set(digests(Layout(root / "data").tracks).items()))
    records = [r.item_id for r in list_quarantined(params.base.data_root, "tracks")]
    if quarantined:
        handled = report is not None and list(report.quarantined) == [VIDEOS[1]] and records == [VIDEOS[1]]
    else:
        handled = raised is not None and not records and any("tracks" in n for n in raised.__notes__)
    ledger.record("tracks", case, handled=handled and lost == 0, lost=lost)
    assert handled and lost == 0, (report and report.summary(), raised, records)
