"""Supervised fine-tuning of a Qwen2.5-VL model on the conversation export (paper §4.2).

Loss on answer tokens only; vision tower frozen (merger/projector + LLM trained, or LoRA on the LLM); AdamW with
a warm-up + cosine schedule; gradient accumulation; bf16 autocast on CUDA; checkpoints that resume the exact same
loss curve (trainable weights, optimizer, scheduler, RNG state, and a data order that is a pure function of the
seed and the step). ``run_training`` is the file-in/file-out function both drivers (CLI, Dagster) call; it adds
MLflow logging around ``train_model``. Multi-GPU: see README (``accelerate launch``/``torchrun`` wrap the same
entry point once per process).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm
from transformers import AutoTokenizer, get_cosine_schedule_with_warmup

from fourdpqa import layout
from fourdpqa.atomic import atomic_dir, atomic_path, write_json
from fourdpqa.layout import Layout
from fourdpqa.device import resolve_device
from fourdpqa.params import Params, TrainParams
from fourdpqa.vlm.model import add_lora, build_tiny_model, freeze_vision_tower, load_vlm, save_vlm
from fourdpqa.vlm.processor import Encoded, VisionSpec, collate, encode, read_video
from fourdpqa.vlm.tokenizer import train_tokenizer

log = logging.getLogger("fourdpqa.train")

STATE_FILE = "state.pt"
FINGERPRINT_FILE = "fingerprint"  # hash of params + seed + data: a checkpoint only resumes the same run
EXTRA_FILE = "extra.json"  # small driver state (MLflow run id) readable without loading the weights
TOKENIZER_DIR = "tokenizer"
MLFLOW_EXPERIMENT = "fourdpqa-train"


# ----------------------------------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Conversation:
    """One training record of the conversation export.

    frames: clip frame image paths in order (resolved); video: clip mp4 path (used when ``frames`` is empty).
    """

    id: str
    prompt: str
    answer: str
    frames: tuple[str, ...] = ()
    video: str | None = None

    def load_frames(self) -> list[np.ndarray | str]:
        return list(self.frames) if self.frames else read_video(self.video)


def _resolve(p: str, base: Path) -> str:
    """A relative media path is taken relative to the export's folder or the nearest ancestor where it exists
    (exports in ``dataset/exports/`` name clips relative to ``dataset/``); otherwise it is left as given."""
    path = Path(p)
    if path.is_absolute():
        return str(path)
    for root in (base, *base.parents):
        if (root / path).exists():
            return str(root / path)
    return str(path)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(c.get("text", "") for c in content if c.get("type") == "text")


def read_conversations(path: str | Path, limit: int | None = None) -> list[Conversation]:
    """Parse the export: {"id", "frames": [jpg...] and/or "video": mp4, "messages": [user, assistant]}; user
    content holds a {"type": "video"} item and the prompt text, assistant content the answer text."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"training export {path} does not exist (run the assemble stage first)")
    out: list[Conversation] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            msgs = {m["role"]: m["content"] for m in rec["messages"]}
            prompt, answer = _text(msgs["user"]), _text(msgs["assistant"])
            frames = tuple(_resolve(f, path.parent) for f in rec.get("frames") or ())
            video = _resolve(rec["video"], path.parent) if rec.get("video") else None
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path}:{lineno}: malformed conversation record ({type(exc).__name__}: {exc})") from exc
        if not frames and not video:
            raise ValueError(f"{path}:{lineno}: record {rec.get('id')!r} has neither 'frames' nor 'video'")
        if not prompt or not answer:
            raise ValueError(f"{path}:{lineno}: record {rec.get('id')!r} has an empty prompt or answer")
        out.append(Conversation(str(rec.get("id", lineno)), prompt, answer, frames, video))
        if limit is not None and len(out) >= limit:
            break
    if not out:
        raise ValueError(f"{path}: no training records")
    return out


def conversations_from_table(table: str | Path, dataset_dir: str | Path,
                             limit: int | None = None) -> list[Conversation]:
    """Training records straight from ``dataset/train.parquet`` (prompt/target through ``qa_format``, the same text
    the export writes) — used when no conversation export is present."""
    import polars as pl

    from fourdpqa.qa_format import format_prompt, format_target

    df = pl.read_parquet(table)
    if limit is not None:
        df = df.head(limit)
    base = Path(dataset_dir)
    out = [Conversation(rec["id"], format_prompt(rec), format_target(rec),
                        tuple(str(base / f) for f in rec.get("frames") or ()),
                        str(base / rec["video"]) if rec.get("video") else None) for rec in df.iter_rows(named=True)]
    if not out:
        raise ValueError(f"{table}: no training rows")
    return out


def load_training_set(data_root: str | Path, export: str | Path | None = None,
                      limit: int | None = None) -> tuple[list[Conversation], Path]:
    """The conversation export (``export`` or the default path) if present, else ``dataset/train.parquet``."""
    where = Layout(Path(data_root))
    path = Path(export) if export is not None else where.train_conversations
    if path.is_file() or export is not None:
        return read_conversations(path, limit), path
    table = where.split_table("train")
    if not table.is_file():
        raise FileNotFoundError(f"no training data: neither {path} nor {table} exists (run the assemble stage)")
    return conversations_from_table(table, where.dataset, limit), table


def micro_batch_indices(n: int, batch_size: int, micro_step: int, seed: int) -> list[int]:
    """Example indices of micro-batch ``micro_step``: a fresh seeded permutation per epoch, so the order depends
    only on (seed, step) and a resumed run sees exactly the batches the uninterrupted one would."""
    start = micro_step * batch_size
    idx = []
    for pos in range(start, start + batch_size):
        epoch, k = divmod(pos, n)
        idx.append(int(np.random.default_rng([seed, epoch]).permutation(n)[k]))
    return idx


# ------------------------------------------------------------------------------------------------------- training
@dataclass
class TrainResult:
    losses: list[float]  # mean answer-token loss of each optimizer step 1..steps
    lrs: list[float]
    steps: int
    resumed_from: int
    seconds: float
    samples_per_s: float
    model_dir: Path | None


def fingerprint(tp: TrainParams, seed: int, conversations: Sequence[Conversation]) -> str:
    """Checkpoints are reused only for the same parameters, seed and data."""
    h = hashlib.sha256(json.dumps(tp.model_dump(exclude={"checkpoint_every"}), sort_keys=True).encode())
    h.update(str(seed).encode())
    for c in conversations:
        h.update(json.dumps([c.id, c.prompt, c.answer, c.frames, c.video]).encode())
    return h.hexdigest()[:16]


def latest_checkpoint(checkpoint_dir: str | Path | None, fp: str | None = None) -> Path | None:
    """Newest ``step_*`` checkpoint (matching fingerprint ``fp`` when given)."""
    if checkpoint_dir is None or not Path(checkpoint_dir).is_dir():
        return None
    for ck in sorted(Path(checkpoint_dir).glob("step_*"), reverse=True):
        if ".tmp-" in ck.name or not (ck / STATE_FILE).is_file():
            continue
        if fp is None or (ck / FINGERPRINT_FILE).read_text() == fp:
            return ck
    return None


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_checkpoint(ck_dir: Path, step: int, model: torch.nn.Module, opt: torch.optim.Optimizer, sched: Any,
                     tokenizer: Any, losses: list[float], lrs: list[float], fp: str, extra: dict) -> None:
    trainable = {n: p.detach().cpu() for n, p in model.named_parameters() if p.requires_grad}
    state = {"step": step, "losses": losses, "lrs": lrs, "trainable": trainable, "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "rng": _rng_state()}
    target = ck_dir / f"step_{step:08d}"
    with atomic_dir(target) as tmp:
        torch.save(state, tmp / STATE_FILE)
        tokenizer.save_pretrained(tmp / TOKENIZER_DIR)
        (tmp / FINGERPRINT_FILE).write_text(fp)
        (tmp / EXTRA_FILE).write_text(json.dumps(extra, sort_keys=True))
    for old in ck_dir.glob("step_*"):  # keep only the newest
        if old != target and old.is_dir() and old.name.startswith("step_") and ".tmp-" not in old.name:
            shutil.rmtree(old)


def peek_checkpoint_extra(checkpoint_dir: str | Path | None, fp: str) -> dict:
    """The ``extra`` dict stored with the newest matching checkpoint (e.g. the MLflow run id to continue)."""
    ck = latest_checkpoint(checkpoint_dir, fp)
    return json.loads((ck / EXTRA_FILE).read_text()) if ck else {}


def _build(tp: TrainParams, seed: int, conversations: Sequence[Conversation], device: torch.device,
           resume_dir: Path | None) -> tuple[torch.nn.Module, Any, VisionSpec]:
    """Model (vision tower frozen, LoRA if asked) + tokenizer + vision spec, rebuilt identically on resume."""
    if tp.model:
        # LoRA on a GPU keeps the frozen base in bf16 (peft keeps adapters fp32); full fine-tuning keeps fp32
        # master weights under bf16 autocast. A 7B model in full fine-tuning needs sharding (FSDP/DeepSpeed),
        # which this loop does not do: use LoRA for 7B on one 80 GB GPU.
        dtype = torch.bfloat16 if device.type == "cuda" and tp.lora else torch.float32
        loaded = load_vlm(tp.model, "cpu", dtype)
        model, tokenizer, spec = loaded.model, loaded.tokenizer, loaded.spec
    else:
        if resume_dir is not None:
            tokenizer = AutoTokenizer.from_pretrained(resume_dir / TOKENIZER_DIR)
        else:
            tokenizer = train_tokenizer(t for c in conversations for t in (c.prompt, c.answer))
        model = build_tiny_model(tokenizer, tp.tiny_hidden_size, tp.tiny_layers, tp.tiny_vision_depth, seed)
        spec = VisionSpec()
    freeze_vision_tower(model)
    if tp.lora:
        model = add_lora(model, tp.lora_r)
    return model.to(device), tokenizer, spec


@dataclass(frozen=True)
class DistInfo:
    """Process group view: one process per GPU under ``torchrun`` / ``accelerate launch``, else world 1."""

    world: int = 1
    rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> tuple[DistInfo, torch.device]:
    """Join the process group the launcher describes (WORLD_SIZE/RANK/LOCAL_RANK); each rank gets its own GPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(), device
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return DistInfo(dist.get_world_size(), dist.get_rank()), device


def train_model(
    conversations: Sequence[Conversation],
    tp: TrainParams,
    seed: int,
    device: torch.device,
    out_dir: str | Path | None,
    checkpoint_dir: str | Path | None = None,
    stop_after: int | None = None,
    on_step: Callable[[int, float, float], None] | None = None,
    extra_state: dict | None = None,
    dist_info: DistInfo = DistInfo(),
) -> TrainResult:
    """Train for ``tp.max_steps`` optimizer steps (resuming from the newest matching checkpoint) and save the model
    to ``out_dir``. ``stop_after`` ends the run early without a final save (used to simulate an interruption).
    With ``dist_info.world > 1`` (an initialised process group) every rank takes its own micro-batches, DDP averages
    the gradients (effective batch = batch_size x grad_accum x world) and rank 0 alone checkpoints and saves."""
    t0 = time.perf_counter()
    fp = fingerprint(tp, seed, conversations)
    resume = latest_checkpoint(checkpoint_dir, fp)
    model, tokenizer, spec = _build(tp, seed, conversations, device, resume)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=tp.lr, weight_decay=tp.weight_decay)
    sched = get_cosine_schedule_with_warmup(opt, round(tp.warmup_ratio * tp.max_steps), tp.max_steps)
    losses: list[float] = []
    lrs: list[float] = []
    start = 0
    if resume is not None:
        # CPU first: RNG states must be CPU tensors; optimizer.load_state_dict moves its state to the params
        state = torch.load(resume / STATE_FILE, weights_only=False, map_location="cpu")
        missing = set(n for n, p in model.named_parameters() if p.requires_grad) - set(state["trainable"])
        if missing:
            raise ValueError(f"checkpoint {resume} lacks trainable parameters {sorted(missing)[:3]}")
        model.load_state_dict(state["trainable"], strict=False)
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        _set_rng_state(state["rng"])
        start, losses, lrs = state["step"], list(state["losses"]), list(state["lrs"])
        log.info("resumed from %s (step %d)", resume, start)
    else:
        torch.manual_seed(seed)

    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    video_id = model.config.video_token_id
    use_bf16 = device.type == "cuda"

    def micro_batch(micro_step: int) -> dict:
        global_micro = micro_step * dist_info.world + dist_info.rank
        idx = micro_batch_indices(len(conversations), tp.batch_size, global_micro, seed)
        enc: list[Encoded] = [encode(tokenizer, spec, conversations[i].load_frames(), conversations[i].prompt,
                                     conversations[i].answer, tp.frames, tp.image_size) for i in idx]
        return {k: v.to(device) for k, v in collate(enc, pad_id, video_id).items()}

    end = tp.max_steps if stop_after is None else min(tp.max_steps, stop_after)
    model.train()
    forward = model
    if dist_info.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        forward = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    bar = tqdm(range(start, end), desc="train", unit="step", disable=None if dist_info.main else True,
               initial=start, total=tp.max_steps)
    for step in bar:
        opt.zero_grad(set_to_none=True)
        total = torch.zeros((), device=device)
        for j in range(tp.grad_accum):
            batch = micro_batch(step * tp.grad_accum + j)
            last = j == tp.grad_accum - 1
            sync = forward.no_sync() if dist_info.world > 1 and not last else contextlib.nullcontext()
            with sync:
                with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
                    loss = answer_loss(forward, batch) / tp.grad_accum
                loss.backward()
            total += loss.detach()
        if dist_info.world > 1:
            torch.distributed.all_reduce(total)
            total /= dist_info.world
        total = float(total)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        lr = sched.get_last_lr()[0]
        opt.step()
        sched.step()
        losses.append(total)
        lrs.append(lr)
        bar.set_postfix(loss=f"{total:.4f}")
        if on_step is not None and dist_info.main:
            on_step(step + 1, total, lr)
        if checkpoint_dir is not None and ((step + 1) % tp.checkpoint_every == 0 or step + 1 == tp.max_steps):
            if dist_info.main:
                _save_checkpoint(Path(checkpoint_dir), step + 1, model, opt, sched, tokenizer, losses, lrs, fp,
                                 extra_state or {})
            if dist_info.world > 1:
                torch.distributed.barrier()
    model.eval()
    done = end - start
    seconds = time.perf_counter() - t0
    saved = None
    if out_dir is not None and end == tp.max_steps and dist_info.main:
        final = model.merge_and_unload() if tp.lora else model
        saved = save_vlm(final, tokenizer, spec, out_dir,
                         {"frames": tp.frames, "image_size": tp.image_size, "steps": end, "fingerprint": fp})
    samples = done * tp.batch_size * tp.grad_accum * dist_info.world
    return TrainResult(losses, lrs, end, start, seconds, samples / max(seconds, 1e-9), saved)


# -------------------------------------------------------------------------------------------- driver-facing run
def mlflow_tracking_uri(data_root: str | Path) -> str:
    """The local MLflow file store under ``<data_root>/mlruns`` (what ``make mlflow`` serves); no server."""
    return Layout(Path(data_root)).mlruns.resolve().as_uri()


def open_mlflow(data_root: str | Path, experiment: str, tracking_uri: str | None = None) -> Any:
    """mlflow, pointed at ``tracking_uri`` or the local file store ``<data_root>/mlruns``, experiment selected."""
    import mlflow  # heavy import, only needed by the driver-facing entry points

    uri = tracking_uri or mlflow_tracking_uri(data_root)
    if uri.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps file stores behind this switch
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment)
    return mlflow


def answer_loss(forward: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy over each sample's answer tokens, averaged per sample, then over the batch.

    A token-level mean lets the long trajectory answers (tracking is ~20% of samples but most answer tokens)
    drown the one-token MC / yes-no answers; weighting samples equally keeps every question type's signal.
    """
    labels = batch["labels"]
    logits = forward(**{k: v for k, v in batch.items() if k != "labels"}).logits[:, :-1].float()
    target = labels[:, 1:]
    tok = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, ignore_index=-100, reduction="none")
    mask = (target != -100).to(tok.dtype)
    return ((tok * mask).sum(1) / mask.sum(1).clamp(min=1)).mean()


def loss_curve_png(losses: Sequence[float]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3), dpi=100)
    ax.plot(range(1, len(losses) + 1), losses, marker=".")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("answer-token loss")
    ax.set_title("training loss")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _flat_params(tp: TrainParams, seed: int, n: int, data_path: Path) -> dict[str, str]:
    out = {f"train.{k}": str(v) for k, v in tp.model_dump().items()}
    out.update({"base.seed": str(seed), "n_examples": str(n), "data": str(data_path)})
    return out


def run_training(params: Params, export: str | Path | None = None, name: str = "trained",
                 tracking_uri: str | None = None, stop_after: int | None = None) -> dict:
    """Train on the training set (:func:`load_training_set`) into ``<data_root>/models/<name>/``; write
    ``models/<name>_metrics.json`` (no timings, so reruns are byte-identical) and ``models/<name>_loss.png``; log
    params, per-step loss/lr, final metrics (with throughput) and both files to MLflow."""
    tp, seed, root = params.train, params.base.seed, params.data
    dist_info, device = init_distributed(resolve_device(params.base.device))
    conversations, data_path = load_training_set(root, export, tp.max_train_samples)
    out_dir, ck_dir = layout.of(params).model(name), layout.of(params).checkpoints(name)
    if not dist_info.main:  # other ranks only compute; rank 0 logs, checkpoints and writes
        train_model(conversations, tp, seed, device, out_dir, ck_dir, stop_after, dist_info=dist_info)
        return {"rank": dist_info.rank}
    mlflow = open_mlflow(root, MLFLOW_EXPERIMENT, tracking_uri)
    previous = peek_checkpoint_extra(ck_dir, fingerprint(tp, seed, conversations)).get("mlflow_run_id")
    with mlflow.start_run(run_id=previous, run_name=None if previous else name) as run:
        if previous is None:
            mlflow.log_params(_flat_params(tp, seed, len(conversations), data_path))
        result = train_model(
            conversations, tp, seed, device, out_dir, ck_dir, stop_after,
            on_step=lambda s, loss, lr: mlflow.log_metrics({"loss": loss, "lr": lr}, step=s),
            extra_state={"mlflow_run_id": run.info.run_id}, dist_info=dist_info,
        )
        metrics = {
            "final_loss": result.losses[-1] if result.losses else float("nan"),
            "first_loss": result.losses[0] if result.losses else float("nan"),
            "steps": result.steps, "n_examples": len(conversations),
        }
        timing = {"seconds": round(result.seconds, 3), "samples_per_s": round(result.samples_per_s, 4),
                  "resumed_from": result.resumed_from}
        mlflow.log_metrics({k: float(v) for k, v in {**metrics, **timing}.items()})
        summary = {**metrics, "losses": result.losses, "data": str(data_path),
                   "model_dir": str(result.model_dir) if result.model_dir else None}
        metrics_path, plot_path = layout.of(params).model_metrics(name), layout.of(params).model_loss_plot(name)
        write_json(metrics_path, summary)
        with atomic_path(plot_path) as tmp:
            tmp.write_bytes(loss_curve_png(result.losses))
        mlflow.log_artifact(str(metrics_path))
        mlflow.log_artifact(str(plot_path))
    return {**summary, **timing, "mlflow_run_id": run.info.run_id, "metrics_path": str(metrics_path),
            "plot_path": str(plot_path)}
