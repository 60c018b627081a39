"""Train the pixel-learnability probe on the training split and score it on the benchmark, per (type, format).

It answers "can these questions be learned from the pixels at all?" with a small model trained from scratch on the
training clips: if it does no better than the text-only baselines on a type, the type's pixels (at this size, with
this much training data) carry no answer it could learn, whatever a large pretrained VLM later scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import torch

from fourdpqa.device import resolve_device
from fourdpqa.params import ProbeParams
from fourdpqa.probe.data import Batchable, Vocabulary, build_arrays, mirror_text, reverse_text
from fourdpqa.probe.model import SHIFT_DIM, ProbeNet, ShiftCorrelation
from fourdpqa.probe.poses import MOTION_DIM, TrainingMotion
from fourdpqa.seeding import rng as seeded_rng

CHOICE_FORMATS = ("mc", "yn")


class NothingToLearn(Exception):
    """No training row shares a (type, format) with the benchmark: the probe has nothing to learn from."""


@dataclass
class ProbeResult:
    """accuracy / n per "<question_name>/<format>" on the benchmark; predictions: record id -> answer."""

    accuracy: dict[str, float]
    n: dict[str, int]
    predictions: dict[str, str]
    train_rows: int
    final_loss: float


def _choice_rows(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(pl.col("answer_format").is_in(CHOICE_FORMATS)).sort("id")


@torch.no_grad()
def shift_features(clips: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """(V, 16) float32 :class:`ShiftCorrelation` features of clip views (V, T, 3, S, S): it has no weights, so once
    per view instead of in every batch of every epoch."""
    layer = ShiftCorrelation()
    out = [layer(torch.from_numpy(clips[s:s + batch_size])).numpy() for s in range(0, len(clips), batch_size)]
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, SHIFT_DIM), np.float32)


def _tensors(a: Batchable, idx: np.ndarray, device: torch.device) -> tuple[torch.Tensor, ...]:
    views = a.view[idx]
    assert a.shift is not None, "shift features not computed"
    return tuple(torch.from_numpy(x).to(device) for x in (a.clips[views], a.shift[views], a.flow[idx], a.question[idx],
                                                         a.candidates[idx], a.group[idx]))


def _forward(model: ProbeNet, a: Batchable, idx: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Candidate scores (padding candidates at -inf) and the predicted camera motion of records ``idx``."""
    clips, shift, flow, q, c, g = _tensors(a, idx, device)
    scores, motion = model(clips, shift, flow, q, c, g, torch.from_numpy(a.yes_no[idx]).to(device))
    mask = torch.arange(scores.shape[1], device=device)[None] >= torch.from_numpy(a.n_candidates[idx]).to(device)[:, None]
    return scores.masked_fill(mask, float("-inf")), motion


def _standardized(motion: np.ndarray) -> np.ndarray:
    """Motion targets scaled to unit spread per component over the rows that have one (NaN rows stay NaN)."""
    known = motion[np.isfinite(motion).all(1)]
    if not len(known):
        return motion
    return (motion - known.mean(0)) / (known.std(0) + 1e-6)


def train_probe(train: Batchable, vocab_size: int, n_groups: int, cfg: ProbeParams, seed: int,
                device: torch.device) -> tuple[ProbeNet, float]:
    """Adam on the cross-entropy over each record's candidates plus ``cfg.motion_weight`` x the Huber loss of
    the camera motion on clips that have it; a seeded shuffle per epoch."""
    torch.manual_seed(seed)
    model = ProbeNet(vocab_size, n_groups, cfg.width, cfg.dim, train.flow.shape[1], train.motion.shape[1]).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    order_rng = seeded_rng(seed, "probe-epochs")
    target = torch.from_numpy(train.target).to(device)
    motion = torch.from_numpy(_standardized(train.motion)).to(device)
    loss = torch.tensor(float("nan"))
    for _ in range(cfg.epochs):
        order = order_rng.permutation(len(train.target))
        for start in range(0, len(order), cfg.batch_size):
            idx = order[start:start + cfg.batch_size]
            scores, predicted = _forward(model, train, idx, device)
            loss = torch.nn.functional.cross_entropy(scores, target[idx])
            known = torch.isfinite(motion[idx]).all(1)
            if cfg.motion_weight and bool(known.any()):
                loss = loss + cfg.motion_weight * torch.nn.functional.smooth_l1_loss(predicted[known], motion[idx][known])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model, float(loss.detach())


@torch.no_grad()
def predict(model: ProbeNet, a: Batchable, batch_size: int, device: torch.device) -> np.ndarray:
    """(N,) index of the best-scoring candidate of each record."""
    model.eval()
    out = [_forward(model, a, np.arange(s, min(s + batch_size, len(a.target))), device)[0].argmax(1).cpu().numpy()
           for s in range(0, len(a.target), batch_size)]
    return np.concatenate(out) if out else np.zeros(0, int)


def capped(rows: pl.DataFrame, cap: int, seed: int) -> pl.DataFrame:
    """At most ``cap`` rows: a seeded sample (kept in id order) when there are more, else all of them."""
    if rows.height <= cap:
        return rows
    keep = np.sort(seeded_rng(seed, "probe-rows").choice(rows.height, cap, replace=False))
    return rows[keep.tolist()]


def run_probe(train: pl.DataFrame, benchmark: pl.DataFrame, dataset_dir: str | Path, cfg: ProbeParams, seed: int,
              device: str = "auto", scenes_dir: str | Path | None = None) -> ProbeResult:
    """Fit on the training split's MC / yes-no rows of the benchmark's (type, format) groups (at most
    ``cfg.max_train_rows`` of them), with the camera motion of each training clip (from the training scenes under
    ``scenes_dir``) as an auxiliary target; score the benchmark."""
    dev = resolve_device(device)
    bench = _choice_rows(benchmark)
    keys = sorted({f"{q}/{f}" for q, f in bench.select("question_name", "answer_format").iter_rows()})
    groups = {k: i for i, k in enumerate(keys)}
    tr = _choice_rows(train).filter((pl.col("question_name") + "/" + pl.col("answer_format")).is_in(keys))
    if not tr.height or not bench.height:
        raise NothingToLearn(f"pixel probe: {tr.height} training and {bench.height} benchmark rows of a shared type")
    tr = capped(tr, cfg.max_train_rows, seed)
    texts = tr["question"].to_list() + [o for opts in tr["options"].to_list() for o in opts] + ["yes no"]
    vocab = Vocabulary(texts + [mirror_text(t) for t in texts] + [reverse_text(t) for t in texts])
    root = Path(dataset_dir)
    motion_of = TrainingMotion(scenes_dir, cfg.frames) if scenes_dir is not None and cfg.motion_weight else None
    a_train = build_arrays(tr, root, vocab, groups, cfg.frames, cfg.size, mirrored=cfg.mirror, reversed_=cfg.reverse,
                           motion_of=motion_of, motion_dim=MOTION_DIM)
    a_bench = build_arrays(bench, root, vocab, groups, cfg.frames, cfg.size)
    mean, spread = a_train.flow.mean(0), a_train.flow.std(0) + 1e-6
    for a in (a_train, a_bench):
        a.flow = (a.flow - mean) / spread  # the flow stream sees unit-scale inputs
        a.shift = shift_features(a.clips)
    model, loss = train_probe(a_train, len(vocab), len(groups), cfg, seed, dev)
    picked = predict(model, a_bench, cfg.batch_size, dev)
    correct = picked == a_bench.target
    accuracy, n, predictions = {}, {}, {}
    for key, gid in groups.items():
        sel = a_bench.group == gid
        accuracy[key], n[key] = round(float(correct[sel].mean()), 4), int(sel.sum())
    for rid, fmt, pick in zip(bench["id"].to_list(), bench["answer_format"].to_list(), picked.tolist(), strict=True):
        predictions[rid] = "ABCD"[pick] if fmt == "mc" else ("yes", "no")[pick]
    return ProbeResult(accuracy, n, predictions, tr.height, loss)
