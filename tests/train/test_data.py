"""Training records: the export (frames or mp4), the train-table fallback, clear errors, the seeded data order."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from tests.helpers.vlm_data import QA, write_export

from fourdpqa.qa_format import format_prompt, format_target
from fourdpqa.train import load_training_set, micro_batch_indices, read_conversations


def test_reads_frames_and_video_records(tmp_path):
    convs = read_conversations(write_export(tmp_path))
    assert [(c.answer, c.answer_format) for c in convs] == [(a, f) for _, a, f in QA]
    assert all(len(c.frames) == 4 and c.video is None for c in convs[:-1])
    last = convs[-1]
    assert last.frames == () and last.video.endswith("3.mp4")
    frames = last.load_frames()
    assert len(frames) == 4 and frames[0].shape == (32, 32, 3)
    assert read_conversations(tmp_path / "train_conversations.jsonl", limit=2) == convs[:2]


def test_bad_records_name_file_and_line(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"id": "a", "frames": ["f.jpg"], "messages": []}\n')
    with pytest.raises(ValueError, match=r"x\.jsonl:1: .*malformed"):
        read_conversations(p)
    p.write_text(json.dumps({"id": "b", "messages": [{"role": "user", "content": "q"},
                                                      {"role": "assistant", "content": "a"}]}) + "\n")
    with pytest.raises(ValueError, match="'b' has neither 'frames' nor 'video'"):
        read_conversations(p)
    p.write_text("\n" + json.dumps({"frames": ["f.jpg"], "messages": [{"role": "user", "content": "q"},
                                                                       {"role": "assistant", "content": ""}]}) + "\n")
    with pytest.raises(ValueError, match=r"x\.jsonl:2: record '2' has an empty prompt or answer"):
        read_conversations(p)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_conversations(tmp_path / "missing.jsonl")


def test_falls_back_to_the_train_table_with_qa_format_text(tmp_path):
    rec = {"id": "proc_00001-c0-q01-000", "question": "Is the camera moving left?", "options": ["yes", "no"],
           "answer_format": "yn", "answer": "no", "answer_text": "no", "frames": ["clips/a/00000.jpg"],
           "video": "clips/a/clip.mp4"}
    (tmp_path / "dataset").mkdir()
    pl.DataFrame([rec]).write_parquet(tmp_path / "dataset" / "train.parquet")
    (conv,), source = load_training_set(tmp_path)
    assert source.name == "train.parquet"
    assert (conv.prompt, conv.answer) == (format_prompt(rec), format_target(rec)) and conv.answer == "no"
    assert conv.frames == (str(tmp_path / "dataset" / "clips/a/00000.jpg"),)
    with pytest.raises(FileNotFoundError, match="no training data"):
        load_training_set(tmp_path / "empty")


def test_reads_the_assemble_export_format(tmp_path):
    import cv2

    from fourdpqa.export.conversation import conversation

    rec = {"id": "proc_00002-c0-q01-000", "question": "Is the camera moving left?", "options": ["yes", "no"],
           "answer_format": "yn", "answer": "yes", "answer_text": "yes", "question_type": 1, "video": "",
           "frames": [f"clips/proc_00002/k/{i:05d}.jpg" for i in range(2)]}
    for f in rec["frames"]:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / f), np.zeros((8, 8, 3), np.uint8))
    export = tmp_path / "exports" / "train_conversations.jsonl"  # media paths are relative to the dataset dir
    export.parent.mkdir()
    export.write_text(json.dumps(conversation(rec)) + "\n")
    (conv,) = read_conversations(export)
    assert conv.answer == "yes" and conv.video is None
    assert conv.frames == tuple(str(tmp_path / f) for f in rec["frames"])
    assert conv.prompt.startswith("Is the camera moving left?")


def test_data_order_depends_only_on_seed_and_step():
    epoch = [i for k in range(4) for i in micro_batch_indices(8, 2, k, seed=7)]
    assert sorted(epoch) == list(range(8))  # one epoch = a permutation
    assert micro_batch_indices(8, 2, 5, seed=7) == micro_batch_indices(8, 2, 5, seed=7)
    assert epoch != [i for k in range(4) for i in micro_batch_indices(8, 2, k, seed=8)]


def _convs(spec: dict[tuple[str, str], int]) -> list:
    from fourdpqa.train import Conversation

    return [Conversation(f"{fmt}-{ans}-{i}", "q", ans, ("f.jpg",), None, fmt)
            for (fmt, ans), n in spec.items() for i in range(n)]


def test_balanced_order_takes_formats_and_answers_in_turn():
    from fourdpqa.train.data import BalancedOrder, balanced_batch_indices

    convs = _convs({("yn", "no"): 9, ("yn", "yes"): 3, ("mc", "A"): 2, ("mc", "B"): 1, ("mc", "C"): 1, ("mc", "D"): 1,
                    ("trajectory", "(1, 2)"): 4})
    order = BalancedOrder(convs, seed=3)
    stream = [convs[i] for i in (order[p] for p in range(120))]
    assert [c.answer_format for c in stream[:6]] == ["mc", "trajectory", "yn"] * 2  # formats in turn
    yn = [c.answer for c in stream if c.answer_format == "yn"]
    assert yn == ["no", "yes"] * 20  # answers in turn: the 3 "yes" are revisited as often as the 9 "no"
    mc = [c.answer for c in stream if c.answer_format == "mc"]
    assert mc == ["A", "B", "C", "D"] * 10
    assert {c.id for c in stream} == {c.id for c in convs}  # every example is seen
    # a pure function of (seed, position): a resumed run reads the same batches; another seed another order
    assert balanced_batch_indices(BalancedOrder(convs, seed=3), 4, 7) == [order[p] for p in range(28, 32)]
    assert [BalancedOrder(convs, seed=4)[p] for p in range(60)] != [order[p] for p in range(60)]


def test_a_sample_of_the_training_set_is_seeded_and_spread():
    from fourdpqa.train.data import sample_conversations

    convs = _convs({("yn", "no"): 50, ("yn", "yes"): 50})
    picked = sample_conversations(convs, 10, seed=1)
    assert picked == sample_conversations(convs, 10, seed=1) != sample_conversations(convs, 10, seed=2)
    assert len(picked) == 10 and picked == [c for c in convs if c in picked]  # original order kept
    assert any(c.answer == "yes" for c in picked)  # not the first ten rows (all "no")
    assert sample_conversations(convs, None, seed=1) == convs
