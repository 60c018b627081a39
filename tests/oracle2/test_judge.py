"""Oracle-2 on a hand-built scene whose answers are known without project code (tests/helpers/oracle_scenes.py):
right answers agree, an injected wrong answer or label disagrees with both values named, a reference to the
wrong object and an ambiguous mark are caught, and the blocking check fails on any of them."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.spatial.transform import Rotation

from fourdpqa.oracle2 import judge, load_evidence
from fourdpqa.validate.oracle_gate import check_oracle
from tests.helpers.oracle_scenes import VIDEO, circle_around, good_records, instances, record, write_hand_scene


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return write_hand_scene(tmp_path_factory.mktemp("hand"))


@pytest.fixture(scope="module")
def evidence(root: Path):
    return load_evidence(root / "scenes" / VIDEO, root / "tracks" / f"{VIDEO}.npz")


def test_every_hand_derived_answer_agrees_and_motion_comes_from_the_tracks(root, evidence):
    sources = set()
    for rec in good_records(root):
        verdict = judge(rec, evidence)
        assert verdict.status == "agree", (rec["id"], verdict)
        sources.add(verdict.source)
    # camera motion from the background's tracks, objects from their own tracks: no pose table but the anchors
    assert sources == {"camera:tracks", "camera:tracks+tracks", "tracks"}


def test_without_tracks_the_raw_poses_give_the_same_answers(tmp_path):
    root = write_hand_scene(tmp_path, with_tracks=False)
    ev = load_evidence(root / "scenes" / VIDEO, root / "tracks" / f"{VIDEO}.npz")
    verdicts = [judge(r, ev) for r in good_records(root)]
    assert all(v.status == "agree" for v in verdicts)
    assert {v.source for v in verdicts} == {"camera:poses", "camera:poses+poses", "poses"}


def test_camera_motion_is_measured_from_the_background_tracks_not_the_camera_table(root, evidence):
    """Tracks of a camera that stands still, with the camera table still dollying: oracle-2 says "static"."""
    tracks = dict(evidence.tracks, points_cam=np.repeat(evidence.tracks["points_cam"][:, :1], len(evidence.times), 1))
    still = dataclasses.replace(evidence, tracks=tracks, _cache={})
    rec = next(r for r in good_records(root) if r["id"] == "cam-mc")
    verdict = judge(rec, still)
    assert (verdict.status, verdict.derived) == ("disagree", "A")  # option A = "static"


@pytest.mark.parametrize("rid, field, wrong, derived", [
    ("cam-mc", "answer", "A", "B"),  # "static" instead of "forward"
    ("cam-yn", "answer", "yes", "no"),
    ("rot-yn", "answer", "yes", "no"),  # the box turns counter-clockwise, not clockwise
    ("dist-free", "label", "increasing", "decreasing"),
    ("dir-mc", "answer", "B", "C"),  # "to the right" instead of "to the left"
])
def test_an_injected_wrong_answer_disagrees_naming_both_values(root, evidence, rid, field, wrong, derived):
    rec = dict(next(r for r in good_records(root) if r["id"] == rid), **{field: wrong})
    verdict = judge(rec, evidence)
    assert (verdict.status, verdict.stored, verdict.derived) == ("disagree", wrong, derived)


def test_thresholds_come_from_the_record(root, evidence):
    """1.35 m of dolly is "forward" under the default bounds but ambiguous when "some" motion needs 2 m."""
    rec = dict(next(r for r in good_records(root) if r["id"] == "cam-mc"))
    strict = record("cam-strict", 1, "mc", rec["question"], {"option_labels": ["static", "forward", "backward", "left"]},
                    "B", options=rec["options"], translation_some_m=2.0)
    assert judge(strict, evidence).derived == "(ambiguous)"
    with pytest.raises(ValueError, match="unknown to oracle-2"):
        judge(record("x", 1, "mc", rec["question"], {"option_labels": ["forward"]}, "A", relative_to_depth=True), evidence)


def test_a_mark_on_another_object_or_around_two_objects_is_caught(root, evidence):
    inst = instances(root)
    base = next(r for r in good_records(root) if r["id"] == "rot-yn")
    other = dict(base, marks=record("", 3, "yn", "", {}, "no", marks=[circle_around(inst[0] == 2, 0, "1")])["marks"])
    verdict = judge(other, evidence)
    assert verdict.status == "disagree" and "refers to objects [2]" in verdict.detail
    both = dict(base, marks=record("", 3, "yn", "", {}, "no", marks=[circle_around(inst[0] > 0, 0, "1")])["marks"])
    verdict = judge(both, evidence)
    assert verdict.status == "underivable" and "encloses 2 objects" in verdict.detail


def test_a_caption_of_another_object_is_caught(root, evidence):
    rec = dict(next(r for r in good_records(root) if r["id"] == "dist-free"),
               question="How does the distance between the camera and the blue box change?")
    verdict = judge(rec, evidence)
    assert verdict.status == "disagree" and "refers to objects [2], the record's spec to [1]" in verdict.detail


def test_check_oracle_blocks_on_a_corrupted_label_and_lists_it(root):
    good = pl.DataFrame(good_records(root))
    result = check_oracle(good, root / "scenes", root / "tracks")
    assert result.passed and result.blocking and result.details["agreement"] == 1.0
    assert result.details["n_derived"] == good.height
    bad = good.with_columns(answer=pl.when(pl.col("id") == "rot-box").then(pl.lit("no")).otherwise(pl.col("answer")))
    result = check_oracle(bad, root / "scenes", root / "tracks")
    assert not result.passed and result.details["disagreements"] == {
        "rot-box": {"stored": "no", "oracle2": "yes", "why": result.details["disagreements"]["rot-box"]["why"]}}
    assert result.observed.startswith(f"{good.height - 1}/{good.height} derived answers agree")


def test_check_oracle_reports_an_unreadable_scene_as_errors(root, tmp_path):
    result = check_oracle(pl.DataFrame(good_records(root)[:2]), tmp_path, tmp_path)
    assert not result.passed and result.details["n_errors"] == 2 and "scene.json" in next(iter(result.details["errors"].values()))


def test_a_pixel_reference_on_the_background_is_a_wrong_reference(root, evidence):
    rec = next(r for r in good_records(root) if r["id"] == "dir-mc")
    sky = dict(rec, question=re.sub(r"\(\d\.\d{3}, \d\.\d{3}\)", "(0.008, 0.010)", rec["question"]))
    verdict = judge(sky, evidence)
    assert verdict.status == "disagree" and verdict.detail.startswith("wrong reference: pixel (0.008, 0.01) in frame 3")


def test_translation_bounds_scale_with_the_median_depth_when_the_record_says_so(root, evidence):
    """With ``translation_scale: median_depth`` the bounds are fractions of the first frame's median depth (a few
    metres here): "some" = 0.4 of it exceeds the 1.35 m dolly (ambiguous), 0.2 of it does not ("forward")."""
    depth = np.load(root / "scenes" / VIDEO / "depth.npy")[0]
    median = float(np.median(depth[np.isfinite(depth) & (depth > 0)]))
    assert 0.4 * median > 1.35 > 0.2 * median
    rec = next(r for r in good_records(root) if r["id"] == "cam-mc")
    scaled = [record(f"s{some}", 1, "mc", rec["question"], {"option_labels": ["static", "forward", "backward", "left"]},
                     "B", options=rec["options"], translation_scale="median_depth", translation_none_m=0.1,
                     translation_some_m=some) for some in (0.4, 0.2)]
    assert judge(scaled[0], evidence).derived == "(ambiguous)" and judge(scaled[1], evidence).status == "agree"


def test_roll_named_from_the_cameras_side_is_the_same_motion(root, evidence):
    """Rolling the camera so its right side drops (clockwise seen from behind) is "roll clockwise" in one
    vocabulary and "roll right" in the other; oracle-2 accepts either name for it and rejects the opposite."""
    angle = np.radians(np.linspace(0, 30, len(evidence.times)))
    forward = evidence.cam_rot[0][:, 2]
    rolled = np.stack([Rotation.from_rotvec(a * forward).as_matrix() @ evidence.cam_rot[0] for a in angle])
    world = np.load(root / "tracks" / f"{VIDEO}.npz")["points_world"]  # the rolled cameras see them at R^T (p - c)
    cam = np.einsum("tji,ntj->nti", rolled, world - evidence.cam_pos[None])
    ev = dataclasses.replace(evidence, cam_rot=rolled, tracks=dict(evidence.tracks, points_cam=cam), _cache={})
    ask = lambda query, answer: record("roll", 1, "yn", "Does the camera roll?", {"query": query}, answer)  # noqa: E731
    for query, answer in (("roll right", "yes"), ("roll clockwise", "yes"), ("roll left", "no")):
        assert judge(ask(query, answer), ev).status == "agree", query
    assert judge(ask("roll left", "yes"), ev).status == "disagree"
    free = record("roll-free", 1, "free", "How does the camera move?", {}, "x", label="forward+roll right")
    assert judge(free, ev).status == "agree"
