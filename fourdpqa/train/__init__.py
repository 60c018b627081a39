"""Supervised fine-tuning of a Qwen2.5-VL model on the conversation export (paper §4.2).

``data`` reads the training records, ``loop`` trains (with callbacks for the drivers), ``checkpoint`` makes a
killed run resume the same loss curve, ``distributed`` joins a torchrun / accelerate launch, ``run`` is the
file-in/file-out stage function. MLflow logging is the drivers' (``fourdpqa.stages.mlflow_runs``).
"""

from fourdpqa.train.checkpoint import checkpoint_extra, fingerprint, latest_checkpoint
from fourdpqa.train.data import (
    DEFAULT_EXPORT, Conversation, conversations_from_table, load_training_set, micro_batch_indices, read_conversations,
)
from fourdpqa.train.distributed import DistInfo, init_distributed
from fourdpqa.train.loop import TrainCallback, TrainResult, answer_loss, train_model
from fourdpqa.train.run import TrainingJob, loss_curve_png, prepare_training, run_training

__all__ = [
    "DEFAULT_EXPORT", "Conversation", "DistInfo", "TrainCallback", "TrainResult", "TrainingJob", "answer_loss",
    "checkpoint_extra", "conversations_from_table", "fingerprint", "init_distributed", "latest_checkpoint",
    "load_training_set", "loss_curve_png", "micro_batch_indices", "prepare_training", "read_conversations",
    "run_training", "train_model",
]
