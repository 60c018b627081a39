"""Tokenizer, video patchify and the answer-only loss mask."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import Qwen2VLImageProcessorPil

from fourdpqa.predictors.base import uniform_indices
from fourdpqa.vlm.processor import (
    IGNORE_INDEX, VIDEO_TOKEN_TYPE, VisionSpec, collate, encode, patchify_video, prepare_frames, prompt_text,
)
from fourdpqa.vlm.tokenizer import SPECIAL_TOKENS, VIDEO_PAD, train_tokenizer


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer(["Is the camera moving to the left? Answer yes or no.", "yes", "no", "A. left"], 400)


def test_special_tokens_are_single_ids_and_round_trip(tok):
    ids = [tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS]
    assert len(set(ids)) == len(SPECIAL_TOKENS)
    text = "".join(SPECIAL_TOKENS) + "héllo wörld 3.5 m"
    enc = tok(text, add_special_tokens=False)["input_ids"]
    assert enc[:len(ids)] == ids
    assert tok.decode(enc) == text  # byte-level BPE encodes any string


def test_chat_template_matches_prompt_builder(tok):
    msgs = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "Q?"}]}]
    assert tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True) == prompt_text("Q?", 1)


def test_still_image_patches_match_qwen_image_processor():
    """A 2-frame video of one image must give the PIL image processor's patches exactly (layout + normalisation)."""
    img = np.random.default_rng(1).integers(0, 256, (56, 84, 3), dtype=np.uint8)
    patches, grid = patchify_video(np.stack([img, img]), VisionSpec())
    ref = Qwen2VLImageProcessorPil()(images=[img], return_tensors="np")
    assert grid == tuple(ref["image_grid_thw"][0])
    np.testing.assert_allclose(patches, ref["pixel_values"], atol=1e-6)


def test_video_patch_layout_pairs_frames_and_merge_windows():
    spec = VisionSpec()
    frames = np.random.default_rng(2).integers(0, 256, (3, 56, 56, 3), dtype=np.uint8)
    patches, grid = patchify_video(frames, spec)
    assert grid == (2, 4, 4)  # 3 frames -> padded to 4 by repeating the last one
    norm = (frames / 255.0 - np.array(spec.image_mean)) / np.array(spec.image_std)

    def patch(t, row, col):  # (C, tp, p, p) of patch (row, col) of temporal pair t
        return np.stack([norm[min(2 * t + k, 2), row * 14:(row + 1) * 14, col * 14:(col + 1) * 14].transpose(2, 0, 1)
                         for k in range(2)], axis=1)

    # merge windows are contiguous: order (0,0) (0,1) (1,0) (1,1) (0,2) ... in patch units
    for k, (row, col) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1), (0, 2)]):
        np.testing.assert_allclose(patches[k].reshape(3, 2, 14, 14), patch(0, row, col), atol=1e-5)
    np.testing.assert_allclose(patches[16].reshape(3, 2, 14, 14), patch(1, 0, 0), atol=1e-5)  # last frame repeated


def test_frames_sampled_uniformly_and_resized():
    frames = [np.full((30, 40, 3), i, np.uint8) for i in range(10)]
    out = prepare_frames(frames, 4, 28)
    assert out.shape == (4, 28, 28, 3)
    assert [int(f[0, 0, 0]) for f in out] == uniform_indices(10, 4)


def test_loss_mask_covers_exactly_the_answer(tok):
    frames = [np.zeros((32, 32, 3), np.uint8)] * 4
    answer = "yes"
    e = encode(tok, VisionSpec(), frames, "Is the camera moving to the left?", answer, n_frames=4, image_size=56)
    target_ids = tok(answer + "<|im_end|>", add_special_tokens=False)["input_ids"]
    keep = (e.labels != IGNORE_INDEX).nonzero().flatten().tolist()
    n = len(e.input_ids)
    assert keep == list(range(n - len(target_ids), n))
    assert e.labels[keep].tolist() == target_ids == e.input_ids[keep].tolist()
    assert tok.decode(e.labels[keep]) == "yes<|im_end|>"
    # the unmasked prefix is exactly the prompt with one video pad per merged 2x2 patch group
    n_pad = int(e.video_grid_thw.prod()) // 4
    assert n_pad == 2 * 2 * 2
    assert tok.decode(e.input_ids[:n - len(target_ids)]) == prompt_text("Is the camera moving to the left?", n_pad)


def test_collate_left_padding_marks_video_tokens(tok):
    spec = VisionSpec()
    long = encode(tok, spec, [np.zeros((28, 28, 3), np.uint8)] * 2, "a much longer question text here", "no", 2, 28)
    short = encode(tok, spec, [np.zeros((28, 28, 3), np.uint8)] * 2, "Q?", None, 2, 28)
    vid = tok.convert_tokens_to_ids(VIDEO_PAD)
    b = collate([long, short], tok.pad_token_id, vid, padding_side="left")
    pad = len(long.input_ids) - len(short.input_ids)
    assert b["attention_mask"][1].tolist() == [0] * pad + [1] * len(short.input_ids)
    assert torch.equal(b["input_ids"][1, pad:], short.input_ids)
    assert torch.equal(b["mm_token_type_ids"] == VIDEO_TOKEN_TYPE, b["input_ids"] == vid)
    assert (b["labels"][1] == IGNORE_INDEX).all()  # no answer given -> nothing to learn from
    assert b["pixel_values_videos"].shape[0] == int(b["video_grid_thw"].prod(-1).sum())
