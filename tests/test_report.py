"""Table-2 aggregation on a constructed prediction set, checked against hand computation."""

from __future__ import annotations

import csv
import io

import cv2
import pytest

from fourdpqa import report


def _rows(name: str, category: str, scores: list[float]) -> list[dict]:
    return [{"id": f"{name}-{i}", "question_name": name, "category": category, "score": s}
            for i, s in enumerate(scores)]


ROWS = (_rows("camera_movement", "camera_motion", [1, 0, 1]) + _rows("camera_object_distance", "camera_motion", [1])
        + _rows("object_rotation", "object_motion", [0, 0]) + _rows("depth", "spatial", [1, 1, 1, 0]))


def test_summary_is_sample_weighted() -> None:
    s = report.summarize(ROWS)
    assert s["camera_movement"].mean == pytest.approx(2 / 3)
    assert s["camera_object_distance"].mean == 1.0
    # category average over its questions (3/4), not the mean of the type means ((2/3 + 1) / 2 = 0.833)
    assert s["avg:camera_motion"].mean == pytest.approx(0.75)
    assert s["avg:object_motion"].mean == 0.0
    assert s["avg:spatial"].mean == pytest.approx(0.75)
    assert s["overall"].n == 10
    assert s["overall"].mean == pytest.approx(6 / 10)
    assert "avg:point_tracking" not in s


def test_markdown_and_csv_layout(tmp_path) -> None:
    half = [dict(r, score=0.5) for r in ROWS]
    summaries = report.side_by_side([("model-a", ROWS), ("model-b", half)])
    md = report.to_markdown(summaries)
    lines = md.strip().splitlines()
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    # paper order; every type of a shown category present; categories without data (tracking, metric) left out
    assert head[:4] == ["Model", "Camera Motion: (1) Cam.", "Camera Motion: (2) Cam.-Obj. Chg.", "Camera Motion: Average"]
    assert "Object Motion: (5) Agent" in head and "3D Spatial Understanding: (11) MV Obj. Dist." in head
    assert not any(h.startswith(("Point Tracking", "Metric")) for h in head)
    assert head[-1] == "Overall Avg."
    row_a = dict(zip(head, [c.strip() for c in lines[2].strip("|").split("|")]))
    assert row_a["Camera Motion: (1) Cam."] == "66.7"
    assert row_a["Camera Motion: Average"] == "**75.0**"
    assert row_a["Object Motion: (4) Direction"] == "–"
    assert row_a["Overall Avg."] == "**60.0**"
    row_b = dict(zip(head, [c.strip() for c in lines[3].strip("|").split("|")]))
    assert row_b["Overall Avg."] == "**50.0**"
    counts = dict(zip(head, [c.strip() for c in lines[4].strip("|").split("|")]))
    assert counts["Model"] == "n" and counts["Overall Avg."] == "10" and counts["3D Spatial Understanding: (8) Depth"] == "4"

    table = list(csv.DictReader(io.StringIO(report.to_csv(summaries))))
    overall = {r["model"]: r for r in table if r["key"] == "overall"}
    assert overall["model-a"]["accuracy"] == "60.00" and overall["model-a"]["n"] == "10"
    assert {r["accuracy"] for r in table if r["key"] == "object_direction"} == {""}

    paths = report.write_report(summaries, tmp_path)
    assert paths["md"].read_text() == md
    image = cv2.imread(str(paths["png"]))
    assert image is not None and image.shape[0] > 100 and image.shape[1] > 100


def test_unknown_question_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="bogus"):
        report.summarize([{"id": "x", "question_name": "bogus", "category": "spatial", "score": 1}])


def test_compare_runs_from_prediction_files(tmp_path) -> None:
    from fourdpqa.atomic import write_jsonl
    from fourdpqa.params import Params
    from fourdpqa.evaluate import compare

    write_jsonl(tmp_path / "a.jsonl", ROWS)
    write_jsonl(tmp_path / "b.jsonl", [dict(r, score=1.0) for r in ROWS])
    params = Params(base={"data_root": str(tmp_path / "data")})
    paths = compare(params, [f"before={tmp_path / 'a.jsonl'}", f"after={tmp_path / 'b.jsonl'}"])
    md = paths["md"].read_text()
    assert "| before |" in md and md.index("| before |") < md.index("| after |")
    assert md.splitlines()[3].endswith("**100.0** |")
    with pytest.raises(ValueError, match="LABEL=PATH"):
        compare(params, ["nolabel"])


def _scored(model_scores: list[int], answers: str, fmt: str = "yn") -> list[dict]:
    return [{"id": f"q{i}", "question_name": "camera_movement", "category": "camera_motion", "answer_format": fmt,
             "extracted": a, "score": s} for i, (s, a) in enumerate(zip(model_scores, answers, strict=True))]


def test_diagnostics_flag_the_constant_row_and_test_against_blind(tmp_path) -> None:
    blind = _scored([1, 0] * 10, "n" * 20)  # "no" to everything: half right
    model = _scored([1] * 18 + [0, 0], "ny" * 10)
    diagnosed = report.diagnostics({"blind": blind, "trained": model})
    assert diagnosed["degenerate"] == ["blind"]
    assert report.diversity_verdict(diagnosed) == (True, "0 of 1 models degenerate")
    overall = diagnosed["versus"]["trained"]["groups"]["overall"]
    assert (overall["wins"], overall["losses"]) == (9, 1)  # 10 blind-wrong questions right, 1 of blind's right ones wrong
    assert set(diagnosed["versus"]["trained"]["beats"]) == {"overall", "avg:camera_motion", "camera_movement/yn"}
    paths = report.write_report(report.side_by_side([("blind", blind), ("trained", model)]), tmp_path,
                                diagnosed=diagnosed)
    md = paths["md"].read_text()
    assert "### Answer diversity" in md and "| blind | 20 | 1 | 0.000 |" in md and "**yes**: yn: 1 distinct" in md
    assert "| trained | 90.0 | 50.0 | 9 | 1 |" in md
    swapped = report.diagnostics({"blind": model, "trained": blind})
    assert report.diversity_verdict(swapped)[0] is False
