"""The train stage as a file-in/file-out function: :func:`prepare_training` resolves data, device and output paths,
:func:`run_training` trains and writes ``models/<name>/`` (the model), ``models/<name>_metrics.json`` (a few
scalars) and ``models/<name>_loss.png`` (the curve).
Every written byte depends only on parameters, seed and data (no timings, no absolute paths), so a rerun is
byte-identical. Drivers attach their logging through a :class:`~fourdpqa.train.loop.TrainCallback`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from fourdpqa.atomic import atomic_path, write_json
from fourdpqa.device import resolve_device
from fourdpqa.params import Params
from fourdpqa.train.checkpoint import checkpoint_extra, checkpoint_step, fingerprint, latest_checkpoint
from fourdpqa.train.data import Conversation, load_training_set
from fourdpqa.train.distributed import DistInfo, init_distributed
from fourdpqa.train.loop import TrainCallback, TrainResult, train_model

MODELS_DIR = "models"


@dataclass(frozen=True)
class TrainingJob:
    """Everything one training run needs, resolved before any work (drivers read it to open their records)."""

    params: Params
    name: str
    conversations: Sequence[Conversation]
    data_path: Path  # the export or table the conversations came from
    device: torch.device
    dist: DistInfo
    fingerprint: str  # of parameters, seed and data: names the checkpoint lineage and the trained model

    @property
    def out_dir(self) -> Path:
        return self.params.data / MODELS_DIR / self.name

    @property
    def checkpoint_dir(self) -> Path:
        return self.params.data / MODELS_DIR / "checkpoints" / self.name

    def output(self, suffix: str) -> Path:
        """``models/<name><suffix>``, e.g. ``_metrics.json``."""
        return self.params.data / MODELS_DIR / f"{self.name}{suffix}"

    def resume_state(self) -> dict:
        """The callback state stored with the checkpoint this run will resume from ({} for a fresh start)."""
        return checkpoint_extra(self.checkpoint_dir, self.fingerprint)

    def completed(self) -> bool:
        """A checkpoint of this lineage already holds the last step: a rerun only rewrites the outputs."""
        ck = latest_checkpoint(self.checkpoint_dir, self.fingerprint)
        return ck is not None and checkpoint_step(ck) >= self.params.train.max_steps

    def relative(self, path: Path | None) -> str | None:
        """``path`` relative to the data root (outputs never embed where the repository happens to live)."""
        return None if path is None else Path(os.path.relpath(path, self.params.data)).as_posix()


def prepare_training(params: Params, export: str | Path | None = None, name: str = "trained") -> TrainingJob:
    """Join the process group (if launched with torchrun / accelerate), pick the device and read the training set."""
    dist_info, device = init_distributed(resolve_device(params.base.device))
    conversations, data_path = load_training_set(params.data, export, params.train.max_train_samples,
                                                 params.base.seed)
    fp = fingerprint(params.train, params.base.seed, conversations)
    return TrainingJob(params, name, conversations, data_path, device, dist_info, fp)


def loss_curve_png(losses: Sequence[float]) -> bytes:
    """The loss per optimizer step as a small PNG (no timestamp metadata, so identical curves give identical bytes)."""
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


def write_outputs(job: TrainingJob, result: TrainResult) -> dict:
    """Metrics JSON and loss PNG of a finished run; returns the summary (metrics + curve + paths)."""
    metrics = {
        "final_loss": result.losses[-1] if result.losses else float("nan"),
        "first_loss": result.losses[0] if result.losses else float("nan"),
        "steps": result.steps, "n_examples": len(job.conversations),
    }
    write_json(job.output("_metrics.json"), metrics)
    with atomic_path(job.output("_loss.png")) as tmp:
        tmp.write_bytes(loss_curve_png(result.losses))
    return {**metrics, "losses": result.losses, "data": job.relative(job.data_path),
            "model_dir": job.relative(result.model_dir), "fingerprint": job.fingerprint,
            "metrics_path": str(job.output("_metrics.json")), "plot_path": str(job.output("_loss.png")),
            "seconds": round(result.seconds, 3), "samples_per_s": round(result.samples_per_s, 4),
            "resumed_from": result.resumed_from}


def run_training(job: TrainingJob, callback: TrainCallback | None = None, stop_after: int | None = None) -> dict:
    """Train ``job`` (resuming its checkpoint lineage) and, on rank 0, write the outputs; returns the summary
    (``{"rank": r}`` on the other ranks of a multi-GPU launch). ``stop_after`` simulates an interruption."""
    tp, seed = job.params.train, job.params.base.seed
    result = train_model(job.conversations, tp, seed, job.device, job.out_dir, job.checkpoint_dir, stop_after,
                         callback=callback, dist_info=job.dist)
    if not job.dist.main:
        return {"rank": job.dist.rank}
    return write_outputs(job, result)
