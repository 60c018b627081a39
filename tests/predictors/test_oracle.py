"""The geometry oracle predictor answers every generated question right (through the same scorer as models)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from fourdpqa.answers import score_answer
from fourdpqa.params import Params, QAParams
from fourdpqa.predictors import build_predictor
from fourdpqa.predictors.base import Sample
from fourdpqa.qa_format import format_prompt
from fourdpqa.scene import write_scene
from fourdpqa.stages.qa import generate_records
from fourdpqa.thresholds import LabelThresholds
from tests.qa.conftest import N_T, build_scene, cam_track, obj_track

OBJECTS = [  # (start, velocity per frame, yaw0, yaw rate per frame, size)
    ((6.0, 1.5, 0.25), (0.0, 0.12, 0.0), np.pi / 2, 0.0, (1.0, 0.5, 0.5)),
    ((8.0, -1.5, 0.4), (0.0, 0.0, 0.0), 0.0, 0.08, (0.8, 0.8, 0.8)),
    ((5.0, 0.0, 0.3), (0.2, 0.0, 0.0), 0.0, 0.0, (0.6, 0.6, 0.6)),
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Params, list[dict]]:
    """Two small rendered videos (static camera; camera trucking left while panning) and all their QA records."""
    root = tmp_path_factory.mktemp("oracle") / "data"
    objs = [(size, obj_track(start, vel, yaw0, rate)) for start, vel, yaw0, rate, size in OBJECTS]
    cams = {"toy_00001": cam_track(np.array([0.0, 0.0, 1.5])),
            "toy_00002": cam_track(np.array([0.0, 0.0, 1.5]), velocity=(0.0, 0.15, 0.0), yaw_rate=0.03)}
    for vid, cam in cams.items():
        write_scene(build_scene(cam, objs, captions=["red car", "blue box", "green cart"], video_id=vid),
                    root / "scenes" / vid)
    params = Params(base={"data_root": str(root), "allowed_roots": [str(root)]},
                    qa=QAParams(clip_frames=N_T, clips_per_video=1, questions_per_clip=60,
                                thresholds={"default": LabelThresholds(min_object_pixels=4)}))
    records = [r for vid in cams for r in generate_records(params, vid)]
    return params, records


def test_oracle_scores_100_percent(generated: tuple[Params, list[dict]]) -> None:
    params, records = generated
    assert len({r["question_type"] for r in records}) >= 8  # a broad benchmark, not one easy type
    oracle = build_predictor("oracle", params)
    answers = oracle.predict([Sample([], format_prompt(r), r) for r in records])
    scores = [score_answer(r, a).score for r, a in zip(records, answers)]
    wrong = [(r["id"], r["answer"], a) for r, a, s in zip(records, answers, scores) if s < 1.0]
    assert not wrong
    assert Counter(r["answer_format"] for r in records)["mc"] > 0


def test_oracle_names_a_missing_scene(generated: tuple[Params, list[dict]]) -> None:
    params, records = generated
    record = dict(records[0], video_id="toy_99999")
    with pytest.raises(FileNotFoundError, match="toy_99999"):
        build_predictor("oracle", params).predict([Sample([], "", record)])
