"""Training checkpoints that resume the exact same loss curve: trainable weights, optimizer, scheduler, RNG state,
the curve so far, the tokenizer of a locally trained vocabulary and a small driver state (e.g. the MLflow run id).

A checkpoint carries the fingerprint of the parameters, seed and data it belongs to; only a run with the same
fingerprint resumes from it. Only the newest checkpoint is kept.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from fourdpqa.atomic import atomic_dir
from fourdpqa.params import TrainParams
from fourdpqa.train.data import Conversation

STATE_FILE = "state.pt"
FINGERPRINT_FILE = "fingerprint"
EXTRA_FILE = "extra.json"  # small driver state, readable without loading the weights
TOKENIZER_DIR = "tokenizer"


@dataclass
class Resumed:
    """What a checkpoint restores besides the weights: the step reached and the curve up to it."""

    step: int
    losses: list[float]
    lrs: list[float]


def fingerprint(tp: TrainParams, seed: int, conversations: Sequence[Conversation]) -> str:
    """Checkpoints are reused only for the same parameters, seed and data (``checkpoint_every`` excluded)."""
    h = hashlib.sha256(json.dumps(tp.model_dump(exclude={"checkpoint_every"}), sort_keys=True).encode())
    h.update(str(seed).encode())
    for c in conversations:
        h.update(json.dumps([c.id, c.prompt, c.answer, c.frames, c.video]).encode())
    return h.hexdigest()[:16]


def latest_checkpoint(checkpoint_dir: str | Path | None, fp: str | None = None) -> Path | None:
    """Newest complete ``step_*`` checkpoint (matching fingerprint ``fp`` when given)."""
    if checkpoint_dir is None or not Path(checkpoint_dir).is_dir():
        return None
    for ck in sorted(Path(checkpoint_dir).glob("step_*"), reverse=True):
        if ".tmp-" in ck.name or not (ck / STATE_FILE).is_file():
            continue
        if fp is None or (ck / FINGERPRINT_FILE).read_text() == fp:
            return ck
    return None


def checkpoint_step(ck: Path) -> int:
    """The optimizer step a ``step_<n>`` checkpoint was taken after."""
    return int(ck.name.removeprefix("step_"))


def checkpoint_extra(checkpoint_dir: str | Path | None, fp: str) -> dict:
    """The driver state stored with the newest matching checkpoint (empty when there is none)."""
    ck = latest_checkpoint(checkpoint_dir, fp)
    return json.loads((ck / EXTRA_FILE).read_text()) if ck else {}


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(ck_dir: Path, step: int, model: torch.nn.Module, opt: torch.optim.Optimizer, sched: Any,
                    tokenizer: Any, curve: Resumed, fp: str, extra: dict) -> Path:
    """Write ``step_<step>`` atomically, then drop older checkpoints."""
    trainable = {n: p.detach().cpu() for n, p in model.named_parameters() if p.requires_grad}
    state = {"step": step, "losses": curve.losses, "lrs": curve.lrs, "trainable": trainable,
             "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "rng": _rng_state()}
    target = ck_dir / f"step_{step:08d}"
    with atomic_dir(target) as tmp:
        torch.save(state, tmp / STATE_FILE)
        tokenizer.save_pretrained(tmp / TOKENIZER_DIR)
        (tmp / FINGERPRINT_FILE).write_text(fp)
        (tmp / EXTRA_FILE).write_text(json.dumps(extra, sort_keys=True))
    for old in ck_dir.glob("step_*"):
        if old != target and old.is_dir() and ".tmp-" not in old.name:
            shutil.rmtree(old)
    return target


def restore_checkpoint(ck: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, sched: Any) -> Resumed:
    """Load trainable weights, optimizer, scheduler and RNG state from ``ck``; returns the step and curve so far."""
    # CPU first: RNG states must be CPU tensors; optimizer.load_state_dict moves its state to the params
    state = torch.load(ck / STATE_FILE, weights_only=False, map_location="cpu")
    missing = {n for n, p in model.named_parameters() if p.requires_grad} - set(state["trainable"])
    if missing:
        raise ValueError(f"checkpoint {ck} lacks trainable parameters {sorted(missing)[:3]}")
    model.load_state_dict(state["trainable"], strict=False)
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    _set_rng_state(state["rng"])
    return Resumed(state["step"], list(state["losses"]), list(state["lrs"]))
