"""Random and text-prior baselines, and the predictor registry."""

from __future__ import annotations

import numpy as np
import pytest

from fourdpqa.answers import score_answer
from fourdpqa.params import Params
from fourdpqa.predictors import build_predictor
from fourdpqa.predictors.base import Sample, uniform_indices
from fourdpqa.predictors.blind import BlindPredictor
from fourdpqa.predictors.random import RandomPredictor

OPTIONS = ["increasing", "decreasing", "constant", "first up then down"]


def _bench(n: int) -> list[dict]:
    """n MC questions (4 options, letters cycling) and n yes/no questions (answers alternating)."""
    mc = [{"id": f"mc-{i}", "question_name": "camera_object_distance", "answer_format": "mc", "options": OPTIONS,
           "answer": "ABCD"[i % 4], "answer_text": OPTIONS[i % 4]} for i in range(n)]
    yn = [{"id": f"yn-{i}", "question_name": "depth", "answer_format": "yn", "options": ["yes", "no"],
           "answer": ("yes", "no")[i % 2]} for i in range(n)]
    return mc + yn


def _accuracy(predictor, records: list[dict]) -> dict[str, float]:
    answers = predictor.predict([Sample([], "", r) for r in records])
    out: dict[str, list[float]] = {}
    for r, a in zip(records, answers):
        out.setdefault(r["answer_format"], []).append(score_answer(r, a).score)
    return {k: float(np.mean(v)) for k, v in out.items()}


def test_random_is_at_chance_level() -> None:
    # analytic chance: 1/4 for MC4, 1/2 for yes/no; 4000 questions each -> standard error < 0.8 points
    acc = _accuracy(RandomPredictor(seed=7), _bench(4000))
    assert acc["mc"] == pytest.approx(0.25, abs=0.025)
    assert acc["yn"] == pytest.approx(0.5, abs=0.03)


def test_random_is_reproducible_and_in_range() -> None:
    recs = _bench(50) + [{"id": "n1", "question_name": "metric_speed", "answer_format": "numeric", "answer": "2.0"}]
    a, b = RandomPredictor(seed=3), RandomPredictor(seed=3)
    samples = [Sample([], "", r) for r in recs]
    assert a.predict(samples) == b.predict(samples)
    assert a.predict(samples) != RandomPredictor(seed=4).predict(samples)
    assert 0.1 <= float(a.predict(samples[-1:])[0]) <= 10.0


def test_random_trajectory_lists_the_requested_frames() -> None:
    rec = {"id": "t", "question_name": "visual_tracking", "answer_format": "trajectory",
           "answer": "4: (0.100, 0.200) visible; 2: out of view"}
    answer = RandomPredictor().predict([Sample([], "", rec)])[0]
    assert [e.split(":")[0] for e in answer.split("; ")] == ["2", "4"]


def test_blind_learns_the_majority_text() -> None:
    train = [{"question_name": "camera_object_distance", "answer_format": "mc", "answer": "ABCD"[i % 4],
              "answer_text": "constant" if i % 3 else "increasing", "options": OPTIONS} for i in range(30)]
    train += [{"question_name": "depth", "answer_format": "yn", "answer": a} for a in ["yes", "yes", "no"]]
    train += [{"question_name": "metric_speed", "answer_format": "numeric", "answer": v} for v in ["1", "3", "8"]]
    blind = BlindPredictor().fit(train)
    recs = [{"id": "a", "question_name": "camera_object_distance", "answer_format": "mc",
             "options": ["decreasing", "first up then down", "increasing", "constant"]},
            {"id": "b", "question_name": "depth", "answer_format": "yn", "options": ["yes", "no"]},
            {"id": "c", "question_name": "metric_speed", "answer_format": "numeric"},
            {"id": "d", "question_name": "multiview_depth", "answer_format": "yn", "options": ["yes", "no"]}]
    # "constant" was right 20 of 30 times -> its letter (D here); yes 2:1; median 3; unseen type -> "no"
    assert blind.predict([Sample([], "", r) for r in recs]) == ["D", "yes", "3.00", "no"]


def test_registry() -> None:
    params = Params()
    assert build_predictor("random", params).name == "random"
    assert build_predictor("flow", params, train_records=[]).name == "flow"
    assert build_predictor("api:gpt-4o-mini", params).name == "api:gpt-4o-mini"
    with pytest.raises(ValueError, match="api_model"):
        build_predictor("api", params)
    with pytest.raises(ValueError, match="unknown predictor 'nope'"):
        build_predictor("nope", params)


def test_helpers() -> None:
    assert uniform_indices(10, 4) == [1, 3, 6, 8]
    assert uniform_indices(3, 8) == [0, 1, 2]
