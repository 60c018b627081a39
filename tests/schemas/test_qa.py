"""The typed QA columns (marks, measurement, threshold): vectorised pandera checks on constructed frames, the
writer refusing fields the structs do not declare, and a Parquet round trip that keeps types and values."""

from __future__ import annotations

import re
import typing

import polars as pl
import pytest

from fourdpqa.thresholds import LabelThresholds
from fourdpqa.questions import typed_value
from fourdpqa.stages.qa import records_frame
from schemas.qa import THRESHOLD, QASchema, QASchemaError, present, trajectory_ok, validate_qa

CIRCLE = {"kind": "circle", "frame": 2, "xy": [0.25, 0.75], "radius": 0.1, "label": "1"}
BOX = {"kind": "box", "frame": 0, "box": [0.1, 0.2, 0.5, 0.6], "label": "2"}
SPEC = {"objects": [3, 1], "query": "greater", "pairs": [[3, 1]], "option_labels": ["obj:3", "obj:1"]}
VALUES = {"path_length_m": [1.5, 0.25], "reference_system": "world"}


def record(rid: str = "v-c0-q06-000", marks: list | None = None) -> dict:
    """A yes/no moved-distance record on a 3-frame clip (frames 0..2) with a circle and a box mark."""
    return {
        "id": rid, "video_id": "v", "source": "toy", "clip_id": "v-c0", "clip_frames": [10, 11, 12], "fps": 10.0,
        "question_type": 6, "question_name": "moved_distance", "category": "object_motion",
        "reference_mode": "circle", "answer_format": "yn", "question": "Does circle 1 travel a longer distance?",
        "options": ["yes", "no"], "answer": "yes", "answer_text": "yes", "label": "greater",
        "measurement": {"spec": SPEC, "values": VALUES, "slots": ["circle 1", "box 2"]},
        "threshold": LabelThresholds().model_dump(), "marks": [CIRCLE, BOX] if marks is None else marks,
        "object_ids": [3, 1], "template_id": "a", "seed": 1, "phrased": False,
    }


def test_good_marks_pass():
    last_frame = record("last-frame", marks=[dict(CIRCLE, frame=2)])
    validate_qa(records_frame([record(), record("no-marks", marks=[]), last_frame]))


@pytest.mark.parametrize("mark, check", [
    (dict(CIRCLE, xy=[1.2, 0.5]), "coordinates in [0, 1]"),  # off the image to the right
    (dict(BOX, box=[0.1, -0.1, 0.5, 0.5]), "coordinates in [0, 1]"),  # above the image
    (dict(BOX, box=[0.6, 0.2, 0.5, 0.6]), "coordinates in [0, 1]"),  # x0 > x1
    (dict(CIRCLE, frame=3), "not a clip frame index"),  # the clip has frames 0..2
    (dict(CIRCLE, frame=-1), "not a clip frame index"),
    (dict(CIRCLE, kind="arrow"), "circle marks"),
    ({"kind": "circle", "frame": 0, "xy": [0.5, 0.5], "label": "1"}, "circle marks"),  # a circle without a radius
    (dict(BOX, box=[0.1, 0.2, 0.5]), "box marks"),
])
def test_bad_mark_is_named_by_record_and_check(mark, check):
    df = records_frame([record("good"), record("bad", marks=[CIRCLE, mark])])
    with pytest.raises(QASchemaError) as err:
        validate_qa(df, where="video 'v'")
    lines = [line for line in str(err.value).splitlines() if line.startswith("id=")]
    assert lines and all(line.startswith("id=bad:") for line in lines), str(err.value)
    assert any(check in line for line in lines), str(err.value)


def test_incomplete_threshold_or_measurement_is_refused():
    rec = record()
    rec["threshold"] = {k: v for k, v in rec["threshold"].items() if k != "rotation_some_deg"}
    with pytest.raises(QASchemaError, match="threshold has a null field"):
        validate_qa(records_frame([rec]))
    rec = record()
    rec["measurement"] = {"spec": SPEC, "values": VALUES}  # no slots
    with pytest.raises(QASchemaError, match="measurement needs its spec, values and slots"):
        validate_qa(records_frame([rec]))


def test_threshold_struct_is_label_thresholds_field_by_field():
    py = {float: pl.Float64, int: pl.Int64, list[str]: pl.List(pl.Utf8)}
    expected = {name: py.get(f.annotation, pl.Utf8 if typing.get_origin(f.annotation) is typing.Literal else None)
                for name, f in LabelThresholds.model_fields.items()}
    assert {f.name: f.dtype for f in THRESHOLD.fields} == expected


def test_writer_refuses_an_undeclared_field():
    with pytest.raises(ValueError, match=r"\['spec.new_field', 'values.other'\]"):
        typed_value("measurement", {"spec": {**SPEC, "new_field": 1}, "values": {**VALUES, "other": [1]}, "slots": []})
    with pytest.raises(ValueError, match=r"\[\]\.colour"):
        typed_value("marks", [dict(CIRCLE, colour="red")])


def test_parquet_round_trip_keeps_types_and_values(tmp_path):
    recs = [record(), record("no-marks", marks=[])]
    path = tmp_path / "qa.parquet"
    records_frame(recs).write_parquet(path)
    back = validate_qa(pl.read_parquet(path))
    declared = QASchema.to_schema().columns
    for column in ("measurement", "threshold", "marks"):
        assert back.schema[column] == declared[column].dtype.type
    rows = back.to_dicts()
    assert present(rows[0]["marks"]) == [CIRCLE, BOX] and rows[1]["marks"] == []
    assert present(rows[0]["measurement"]) == {"spec": SPEC, "values": VALUES, "slots": ["circle 1", "box 2"]}
    assert rows[0]["threshold"] == LabelThresholds().model_dump()
    assert rows[0]["measurement"]["values"]["value"] is None  # a field moved distance does not use stays null


def test_rows_with_different_mark_kinds_fail_another_check_by_id():
    """Two failing rows, one with a circle and one with a box (their null fields differ): the report still names
    both rows (pandera cannot rebuild such rows for a frame-level check, so the checks are column checks)."""
    bad = [dict(record(rid, marks=[m]), answer="maybe") for rid, m in (("bad-circle", CIRCLE), ("bad-box", BOX))]
    with pytest.raises(QASchemaError) as err:
        validate_qa(records_frame([record("good"), *bad]))
    assert {line.split(":")[0] for line in str(err.value).splitlines()[1:]} == {"id=bad-circle", "id=bad-box"}
    assert "yn record needs options [yes, no]" in str(err.value)


def _trajectory_reference(answer: str) -> bool:
    """The row-by-row rule the vectorised check replaces, written out with ``re``."""
    frames = []
    for entry in answer.split("; "):
        m = re.fullmatch(r"(\d+): (?:\((\d\.\d{3}), (\d\.\d{3})\) (?:visible|occluded)|out of view)", entry)
        if not m or (m.group(2) and max(float(m.group(2)), float(m.group(3))) > 1.0):
            return False
        frames.append(int(m.group(1)))
    return len(set(frames)) == len(frames) > 0


TRAJECTORIES = ["3: (0.500, 0.250) visible; 4: out of view", "12: (0.000, 1.000) occluded; 2: (0.999, 0.999) visible",
                "3: out of view; 3: (0.100, 0.100) occluded", "3: (1.200, 0.500) visible", "3: (0.500, 1.001) occluded",
                "", "yes", "3: (0.5, 0.25) visible", "3: (0.500, 0.250) visible;4: out of view", "3: out of view; ",
                "3: (0.500, 0.250) hidden", "a: out of view", "2: out of view"]


def test_trajectory_check_agrees_with_the_row_rule():
    got = pl.DataFrame({"answer": TRAJECTORIES}).select(trajectory_ok())["answer"].to_list()
    assert got == [_trajectory_reference(a) for a in TRAJECTORIES]
    assert got.count(True) == 3
