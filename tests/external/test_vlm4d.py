"""VLM4D loader, prompt and official statistics on fixture files with every quirk of the published data."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from fourdpqa.external import vlm4d
from fourdpqa.predictors.base import Predictor, Sample

HF = "https://huggingface.co/datasets/shijiezhou/VLM4D/resolve/main/"
REAL = [
    {"id": "validation_1", "video": HF + "videos_real/davis/city-ride.mp4", "question_type": "multiple-choice",
     "question": "Which direction are the cyclists moving toward?",
     "choices": {"A": "left", "B": "right", "C": "not moving", "D": "backwards"}, "answer": "left"},
    {"id": "validation_922", "video": HF + "videos_real/youtube-vos/bat.mp4", "question_type": "multiple-choice",
     "question": "How many times does the batter hit the ball to the left?",
     "choices": {"A": 1, "B": 2, "C": 3, "D": 0}, "answer": 0},  # ints; last exo-centric id
    {"id": "validation_923", "video": HF + "videos_real/ego4d/clip_1.mp4", "question_type": "multiple-choice",
     "question": "Where does the hand move?",
     "choices": {"A": "above ", "B": "below", "C": "Right", "D": "left"}, "answer": "right"},  # capitalisation
    {"id": "validation_1000", "video": HF + "videos_real/ego4d/clip_1.mp4", "question_type": "multiple-choice",
     "question": "Where does the cup go?",
     "choices": {"A": "above ", "B": "below", "C": "Right", "D": "left"}, "answer": "Below "},  # trailing space
    {"id": "validation_1002", "video": HF + "videos_real/ego4d/clip_1.mp4", "question_type": "multiple-choice",
     "question": "Where does the man walk?", "choices": {"A": "not sure", "B": "not moving",
                                                          "C": "away from the camera", "D": "away from the camera"},
     "answer": "away from the camera"},  # the right text listed twice (as in real validation_633)
    {"id": "validation_1001", "video": HF + "videos_real/ego4d/clip_missing.mp4", "question_type": "multiple-choice",
     "question": "Is it there?", "choices": {"A": "yes", "B": "no", "C": "maybe", "D": "never"}, "answer": "yes"},
]
SYNTH = [  # ids restart at 1 in the synthetic split
    {"id": "validation_1", "video": HF + "videos_synthetic/synth_001.mp4", "question_type": "multiple-choice",
     "question": "Is the red car turning left?", "choices": {"A": "yes", "B": "no", "C": "left", "D": "right"},
     "answer": "no"},
    {"id": "validation_2", "video": HF + "videos_synthetic/synth_001.mp4", "question_type": "multiple-choice",
     "question": "Which way does the dog run?",
     "choices": {"A": "left", "B": "right", "C": "No dog there", "D": "towards the camera"}, "answer": "No dog there"},
    {"id": "validation_3", "video": HF + "videos_synthetic/synth_002.mp4", "question_type": "multiple-choice",
     "question": "Which way does the ball roll?",
     "choices": {"A": "left", "B": "right", "C": "not moving", "D": "up"}, "answer": "left"},
    {"id": "validation_4", "video": HF + "videos_synthetic/synth_002.mp4", "question_type": "multiple-choice",
     "question": "What is behind the box?",
     "choices": {"A": "nothing", "B": "a cat", "C": "a car", "D": "a tree"}, "answer": "nothing"},  # not FP
]
# scripted model outputs per (split/id): correct, correct, wrong, correct | correct, wrong, correct, correct
RESPONSES = {
    "real/validation_1": "The cyclists go left. Therefore, the final answer is: A",
    "real/validation_922": "0",
    "real/validation_923": "A",
    "real/validation_1000": "below",
    "real/validation_1002": "D",
    "synthetic/validation_1": "(B)",
    "synthetic/validation_2": "A",
    "synthetic/validation_3": "**A**",
    "synthetic/validation_4": "The answer is A.",
}


class Scripted(Predictor):
    name = "scripted"

    def __init__(self) -> None:
        self.seen: list[Sample] = []

    def predict(self, batch: list[Sample]) -> list[str]:
        self.seen += batch
        return [RESPONSES[s.record["id"]] for s in batch]


def _video(path: Path, n: int = 6) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5.0, (32, 32))
    for i in range(n):
        writer.write(np.full((32, 32, 3), 40 * i, np.uint8))
    writer.release()


@pytest.fixture()
def vlm4d_dir(tmp_path: Path) -> Path:
    (tmp_path / "real_mc.json").write_text(json.dumps(REAL))
    (tmp_path / "synthetic_mc.json").write_text(json.dumps(SYNTH))
    for rel in ("videos_real/davis/city-ride.mp4", "videos_real/youtube-vos/bat.mp4", "videos_real/ego4d/clip_1.mp4",
                "videos_synthetic/synth_001.mp4", "videos_synthetic/synth_002.mp4"):
        _video(tmp_path / rel)
    return tmp_path


def test_loader_quirks(vlm4d_dir: Path) -> None:
    items = vlm4d.load_vlm4d(vlm4d_dir)
    by_key = {i.key: i for i in items}
    assert len(by_key) == 10  # validation_1 in both splits stays two questions
    assert by_key["real", "validation_1"].gt_letters == ("A",)
    assert by_key["synthetic", "validation_1"].gt_letters == ("B",)
    assert by_key["real", "validation_922"].gt_letters == ("D",)  # int 0 == int choice 0
    assert by_key["real", "validation_923"].gt_letters == ("C",)  # "right" == "Right"
    assert by_key["real", "validation_1000"].gt_letters == ("B",)  # "Below " == "below"
    assert by_key["real", "validation_1002"].gt_letters == ("C", "D")
    assert by_key["real", "validation_1"].video == "videos_real/davis/city-ride.mp4"


def test_official_prompts(vlm4d_dir: Path) -> None:
    item = {i.key: i for i in vlm4d.load_vlm4d(vlm4d_dir)}["real", "validation_923"]
    assert item.prompt("direct-output") == (
        "\nQuestion: Where does the hand move?\nA: above \nB: below\nC: Right\nD: left\n\nDo not generate any "
        "intermediate reasoning process. Answer directly with the option letter from the given choices.\n")
    cot = item.prompt("cot")
    assert cot.startswith("\nQuestion: Where does the hand move?\nA: above \nB: below\n")
    assert cot.endswith("'Therefore, the final answer is: $LETTER' (without quotes), where $LETTER must be only one "
                        "of the options (A or B or C or D). Think step by step before answering.")


def test_scoring_and_official_statistics(vlm4d_dir: Path) -> None:
    items = vlm4d.load_vlm4d(vlm4d_dir)
    predictor = Scripted()
    run = vlm4d.evaluate_vlm4d(items, predictor, vlm4d_dir, n_frames=4, prompt_style="cot", batch_size=3)
    assert len(run.missing_videos) == 1 and "clip_missing.mp4" in run.missing_videos[0]
    assert all(len(s.frames) == 4 and s.frames[0].shape == (32, 32, 3) for s in predictor.seen)
    correct = {f"{r['split']}/{r['id']}": r["correct"] for r in run.rows}
    assert correct == {"real/validation_1": True, "real/validation_922": True, "real/validation_923": False,
                       "real/validation_1000": True, "real/validation_1002": True, "synthetic/validation_1": True, "synthetic/validation_2": False,
                       "synthetic/validation_3": True, "synthetic/validation_4": True}
    stats = vlm4d.statistics(run.rows)
    expected = {  # hand computed: exo = ids 1, 922; ego = 923, 1000, 1002; FP = "no", "No dog there"
        "Real Exo-centric": (2, 100.0), "Real Ego-centric": (3, 66.67), "Real Overall": (5, 80.0),
        "Synthetic FP": (2, 50.0), "Synthetic Directional": (2, 100.0), "Synthetic Overall": (4, 75.0),
        "Overall": (9, 77.78)}
    assert {k: (v["n"], v["accuracy"]) for k, v in stats.items()} == expected
    md = vlm4d.statistics_markdown({"scripted": stats})
    assert "| scripted | 66.67 | 100.00 | 80.00 | 100.00 | 50.00 | 75.00 | 77.78 |" in md


def test_bad_entries_are_named(tmp_path: Path) -> None:
    bad = [dict(REAL[0], answer="upwards")]
    (tmp_path / "real_mc.json").write_text(json.dumps(bad))
    with pytest.raises(vlm4d.VLM4DError, match=r"real_mc.json: question 'validation_1': answer 'upwards' matches none"):
        vlm4d.load_vlm4d(tmp_path)
    (tmp_path / "real_mc.json").write_text(json.dumps([REAL[0], REAL[0]]))
    with pytest.raises(vlm4d.VLM4DError, match="appears twice"):
        vlm4d.load_vlm4d(tmp_path)
    with pytest.raises(vlm4d.VLM4DError, match="none of"):
        vlm4d.load_vlm4d(tmp_path / "nowhere")


def test_cli_stage(vlm4d_dir: Path, tmp_path: Path, capsys) -> None:
    from fourdpqa.__main__ import main
    from fourdpqa.stages.mlflow_store import store_uri

    data_root = tmp_path / "data"
    params = tmp_path / "params.yaml"
    params.write_text(f"base: {{data_root: {data_root}, allowed_roots: [{data_root}]}}\n")
    argv = ["vlm4d", "--params", str(params), "--data", str(vlm4d_dir), "--predictor", "random",
            "--prompt", "direct-output", "--frames", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| random (direct-output) |" in out and "1 of 10 questions not scored" in out
    stem = data_root / "eval" / "vlm4d" / "random_direct-output"
    rows = [json.loads(line) for line in stem.with_suffix(".jsonl").read_text().splitlines()]
    assert len(rows) == 9
    stats = json.loads(stem.with_name(stem.name + "_stats.json").read_text())
    assert stats["stats"] == vlm4d.statistics(rows)
    assert stats["stats"]["Overall"]["accuracy"] == round(100 * sum(r["correct"] for r in rows) / 9, 2)
    assert main(["vlm4d", "--params", str(params), "--data", str(tmp_path / "nowhere")]) == 1
    assert "none of" in capsys.readouterr().err


def test_the_mlflow_run_spans_the_evaluation(vlm4d_dir: Path, tmp_path: Path, monkeypatch) -> None:
    from mlflow.tracking import MlflowClient

    from fourdpqa.__main__ import main
    from fourdpqa.stages.mlflow_store import store_uri

    spans = []
    real = vlm4d.evaluate_vlm4d

    def timed(*args, **kwargs):  # the work, slowed so that a run opened after it would be visibly shorter
        start = time.time()
        time.sleep(0.3)
        out = real(*args, **kwargs)
        spans.append((start, time.time()))
        return out

    monkeypatch.setattr(vlm4d, "evaluate_vlm4d", timed)
    data_root = tmp_path / "data"
    params = tmp_path / "params.yaml"
    params.write_text(f"base: {{data_root: {data_root}, allowed_roots: [{data_root}]}}\n")
    assert main(["vlm4d", "--params", str(params), "--data", str(vlm4d_dir), "--predictor", "random",
                 "--frames", "2", "--limit", "3"]) == 0
    client = MlflowClient(tracking_uri=store_uri(data_root))  # the project's store, <data_root>/mlflow
    (run,) = client.search_runs([client.get_experiment_by_name("fourdpqa-vlm4d").experiment_id])
    ((start, end),) = spans
    assert run.info.run_name == "vlm4d-random-cot" and run.info.status == "FINISHED"
    assert run.info.start_time <= start * 1000 and run.info.end_time >= end * 1000
    assert run.info.end_time - run.info.start_time >= (end - start) * 1000 >= 300
