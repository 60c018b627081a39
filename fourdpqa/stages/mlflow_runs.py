"""MLflow records of the drivers (train, evaluate, vlm4d; the library itself logs nothing).

Runs go to ``--tracking-uri``, else the project's store ``<data_root>/mlflow`` (``fourdpqa.stages.mlflow_store``:
SQLite + proxied ``mlflow-artifacts:`` locations, so it travels with the data; what ``make mlflow`` serves; not
``$MLFLOW_TRACKING_URI``, which ``mlflow.set_tracking_uri`` overwrites for child processes). A training run is
named ``<model>-<fingerprint>``, carries the training set as an MLflow dataset input (digest: the DVC md5 of
``data/dataset`` from dvc.lock, else the file's content hash), per-step loss / lr, and the model
(``fourdpqa.stages.mlflow_model``: transformers + pyfunc flavours) registered as ``fourdpqa-vlm``. An evaluation is
one parent run with one nested run per predictor, each opened before its work and tagged with the training run of
the model it evaluates. Runs that a killed process left RUNNING are closed as FAILED the next time a store is opened.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from fourdpqa.layout import Layout
from fourdpqa.stages.dvc_lock import dvc_md5
from fourdpqa.stages.mlflow_model import log_model
from fourdpqa.stages.mlflow_store import prepare_store, store_uri
from fourdpqa.params import Params
from fourdpqa.train import TrainCallback, TrainingJob, prepare_training, run_training
from fourdpqa.vlm.model import RUN_CONFIG

log = logging.getLogger("fourdpqa.tracking")


def metric_key(name: str) -> str:
    """An MLflow metric name from a column or predictor name (MLflow allows letters, digits, ``_-. /``)."""
    return re.sub(r"[^\w.\- /]", "_", name)

TRAIN_EXPERIMENT = "fourdpqa-train"
EVAL_EXPERIMENT = "fourdpqa-evaluate"
REGISTERED_MODEL = "fourdpqa-vlm"
TAG_FINGERPRINT = "fourdpqa.fingerprint"  # training runs: parameters + seed + data of the model they produce
TAG_TRAIN_RUN = "fourdpqa.train_run_id"  # evaluation runs: the training run of the evaluated model
TAG_OWNER = "fourdpqa.owner"  # "<host>:<pid>" of the process holding the run open


# ------------------------------------------------------------------------------------------- the store, stale runs
def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def close_stale_runs(client: Any, experiment_id: str) -> list[str]:
    """Close as FAILED the runs left RUNNING by a process of this host that no longer exists (SIGKILL, OOM, power
    loss before the first checkpoint); returns their ids. Runs of live processes or other hosts are left alone."""
    closed = []
    for run in client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'"):
        host, _, pid = run.data.tags.get(TAG_OWNER, "").rpartition(":")
        if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
            client.set_tag(run.info.run_id, "fourdpqa.failure", f"process {pid} ended without closing the run")
            client.set_terminated(run.info.run_id, status="FAILED")
            closed.append(run.info.run_id)
    if closed:
        log.warning("MLflow: closed %d run(s) left RUNNING by a killed process as FAILED: %s", len(closed), closed)
    return closed


def open_store(data_root: str | Path, experiment: str, tracking_uri: str | None = None) -> Any:
    """``mlflow`` pointed at the store (created on first use), ``experiment`` selected, stale runs closed."""
    import mlflow  # heavy import, only needed by the drivers

    uri = tracking_uri or store_uri(data_root)
    if uri.startswith("file:"):  # a file store given explicitly: MLflow 3 keeps them behind this switch
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    prepare_store(uri, experiment)
    mlflow.set_tracking_uri(uri)
    exp = mlflow.set_experiment(experiment)
    close_stale_runs(mlflow.tracking.MlflowClient(), exp.experiment_id)
    return mlflow


@contextlib.contextmanager
def recorded(mlflow: Any, run_name: str, nested: bool = False, tags: Mapping[str, str] | None = None) -> Iterator[Any]:
    """A run opened *before* the work it records, so its duration is the work's; FAILED with the error as tag
    ``fourdpqa.failure`` when the work raises."""
    with mlflow.start_run(run_name=run_name, nested=nested, tags={TAG_OWNER: _owner(), **(tags or {})}) as run:
        try:
            yield run
        except Exception as exc:
            mlflow.set_tag("fourdpqa.failure", f"{type(exc).__name__}: {exc}"[:5000])
            raise


def content_digest(path: str | Path) -> str:
    """sha256 (16 hex digits) of a file's bytes: identical data, identical digest, wherever it lives."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def log_dataset(mlflow: Any, frame: pl.DataFrame, path: Path, data_root: Path, name: str, context: str) -> str:
    """Log ``frame`` (a light view of the data) as an MLflow dataset input whose source is its path relative to the
    data root and whose digest is the DVC md5 of the dataset folder holding it (tag ``dvc_md5``: ``dvc checkout``
    restores exactly this data), else the file's content hash; returns the digest."""
    from mlflow.data.dataset_source_registry import resolve_dataset_source

    dataset = Layout(Path(data_root)).dataset
    md5 = dvc_md5(dataset) if Path(path).resolve().is_relative_to(dataset.resolve()) else None
    digest = md5 or content_digest(path)
    with warnings.catch_warnings():  # a relative path matches MLflow's "" and "file" local sources alike
        warnings.filterwarnings("ignore", "The specified dataset source can be interpreted in multiple ways")
        source = resolve_dataset_source(Path(os.path.relpath(path, data_root)).as_posix())
    strings = frame.with_columns(pl.all().cast(pl.Utf8))  # no integer-column schema hints: a record, not a model input
    dataset = mlflow.data.from_pandas(strings.to_pandas(), source=source, name=name, digest=digest)
    mlflow.log_input(dataset, context=context)
    mlflow.set_tag(f"fourdpqa.{context}_data_sha256", content_digest(path))
    if md5:
        mlflow.set_tag("dvc_md5", md5)
    return digest


# -------------------------------------------------------------------------------------------------------- training
class MlflowTrainLogger(TrainCallback):
    """Per-step loss / lr into the active run. A resumed run recomputes the steps after its last checkpoint; the
    ones the killed process had already logged are skipped, so each step is recorded once."""

    def __init__(self, mlflow: Any, run_id: str) -> None:
        self.mlflow, self.run_id = mlflow, run_id
        history = mlflow.tracking.MlflowClient().get_metric_history(run_id, "loss")
        self.logged = max((m.step for m in history), default=0)

    def on_step(self, step: int, loss: float, lr: float) -> None:
        if step > self.logged:
            self.mlflow.log_metrics({"loss": loss, "lr": lr}, step=step)

    def checkpoint_state(self) -> dict:
        return {"mlflow_run_id": self.run_id}


def _train_params(job: TrainingJob) -> dict[str, str]:
    out = {f"train.{k}": str(v) for k, v in job.params.train.model_dump().items()}
    out.update({"base.seed": str(job.params.base.seed), "n_examples": str(len(job.conversations)),
                "data": job.relative(job.data_path)})
    return out


def _resumable_run(mlflow: Any, job: TrainingJob) -> tuple[str | None, bool]:
    """(run id stored with the checkpoint this job resumes from, whether that run already FINISHED); (None, False)
    when there is no checkpoint or its run no longer exists."""
    from mlflow.exceptions import MlflowException

    previous = job.resume_state().get("mlflow_run_id")
    if previous is None:
        return None, False
    try:
        status = mlflow.tracking.MlflowClient().get_run(previous).info.status
    except MlflowException:  # the store was reset or the run deleted: start a new one
        return None, False
    return previous, status == "FINISHED"


def _training_frame(job: TrainingJob) -> pl.DataFrame:
    return pl.DataFrame({"id": [c.id for c in job.conversations], "prompt": [c.prompt for c in job.conversations],
                         "answer": [c.answer for c in job.conversations]})


def train_with_tracking(params: Params, export: str | Path | None = None, name: str = "trained",
                        tracking_uri: str | None = None, stop_after: int | None = None) -> dict:
    """:func:`fourdpqa.train.run_training` inside one MLflow run (the same run again when resuming a checkpoint);
    returns the training summary plus ``mlflow_run_id`` and ``model_uri``."""
    job = prepare_training(params, export, name)
    if not job.dist.main:  # other ranks only compute; rank 0 records
        return run_training(job, stop_after=stop_after)
    mlflow = open_store(params.data, TRAIN_EXPERIMENT, tracking_uri)
    previous, finished = _resumable_run(mlflow, job)
    if finished and job.completed():  # trained and recorded (e.g. Dagster re-materialising): outputs only
        return {**run_training(job, stop_after=stop_after), "mlflow_run_id": previous, "model_uri": None}
    run_name = None if previous else f"{name}-{job.fingerprint[:8]}"
    with mlflow.start_run(run_id=previous, run_name=run_name, tags={TAG_OWNER: _owner()}) as run:
        if previous is not None:  # resuming a run a killed process left FAILED: it finishes without that verdict
            failure = mlflow.tracking.MlflowClient().get_run(previous).data.tags.get("fourdpqa.failure")
            if failure is not None:
                mlflow.set_tag("fourdpqa.resumed_after", failure)
                mlflow.delete_tag("fourdpqa.failure")
        if previous is None:
            mlflow.set_tags({TAG_FINGERPRINT: job.fingerprint, "fourdpqa.model_name": name})
            mlflow.log_params(_train_params(job))
            log_dataset(mlflow, _training_frame(job), job.data_path, params.data, f"fourdpqa-{name}-train",
                        "training")
        summary = run_training(job, MlflowTrainLogger(mlflow, run.info.run_id), stop_after)
        mlflow.log_metrics({k: float(summary[k]) for k in ("final_loss", "first_loss", "steps", "n_examples",
                                                          "seconds", "samples_per_s", "resumed_from")})
        for suffix in ("_metrics.json", "_loss.png"):
            mlflow.log_artifact(str(job.output(suffix)))
        model_uri = log_model(job, REGISTERED_MODEL) if summary["model_dir"] else None
    return {**summary, "mlflow_run_id": run.info.run_id, "model_uri": model_uri}


# ------------------------------------------------------------------------------------------------------ evaluation
def training_run_of(mlflow: Any, model_dir: Path) -> str | None:
    """The newest finished training run that produced ``model_dir`` (matched by the fingerprint the model records)."""
    config = model_dir / RUN_CONFIG
    if not config.is_file():
        return None
    fp = json.loads(config.read_text()).get("fingerprint")
    exp = mlflow.get_experiment_by_name(TRAIN_EXPERIMENT)
    if fp is None or exp is None:
        return None
    runs = mlflow.tracking.MlflowClient().search_runs(
        [exp.experiment_id], f"tags.`{TAG_FINGERPRINT}` = '{fp}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"], max_results=1)
    return runs[0].info.run_id if runs else None


class EvaluationTracker:
    """One parent run per evaluation with one nested run per predictor, each opened before its work starts."""

    def __init__(self, params: Params, benchmark: Path, trained_model: Path, tracking_uri: str | None = None) -> None:
        self.params, self.benchmark = params, benchmark
        self.trained_model, self.tracking_uri = trained_model, tracking_uri
        self.mlflow: Any = None
        self.train_run: str | None = None
        self.run_ids: dict[str, str] = {}

    @contextlib.contextmanager
    def evaluation(self, frame: pl.DataFrame) -> Iterator[EvaluationTracker]:
        """The parent run ``evaluate-<benchmark digest>``; ``frame`` is logged as its evaluation dataset input."""
        mlflow = self.mlflow = open_store(self.params.data, EVAL_EXPERIMENT, self.tracking_uri)
        self.train_run = training_run_of(mlflow, self.trained_model)
        tags = {TAG_OWNER: _owner(), **({TAG_TRAIN_RUN: self.train_run} if self.train_run else {})}
        with mlflow.start_run(run_name=f"evaluate-{content_digest(self.benchmark)[:8]}", tags=tags) as run:
            mlflow.log_params({"benchmark_questions": frame.height, "seed": self.params.base.seed,
                               "frames": self.params.evaluate.frames,
                               "max_new_tokens": self.params.evaluate.max_new_tokens})
            log_dataset(mlflow, frame, self.benchmark, self.params.data, "fourdpqa-benchmark", "evaluation")
            self.run_ids["evaluation"] = run.info.run_id
            yield self

    @contextlib.contextmanager
    def predictor(self, name: str) -> Iterator[None]:
        """A nested run named after the predictor; FAILED (with the error) if its work raises."""
        tags = {"fourdpqa.predictor": name}
        if self.train_run and name == self.trained_model.name:
            tags[TAG_TRAIN_RUN] = self.train_run
        with recorded(self.mlflow, name, nested=True, tags=tags) as run:
            self.mlflow.log_param("predictor", name)
            self.run_ids[name] = run.info.run_id
            yield

    def log_scores(self, accuracies: Mapping[str, float], failed: int, predictions: Path) -> None:
        """Inside :meth:`predictor`: accuracy per column of the report, failed questions, the predictions file."""
        self.mlflow.log_metrics({**{f"acc/{metric_key(k)}": v for k, v in accuracies.items()},
                                 "failed_questions": failed})
        self.mlflow.log_artifact(str(predictions))

    def log_report(self, overall: Mapping[str, float], paths: Mapping[str, Path]) -> None:
        """On the parent run: overall accuracy per predictor and the report files."""
        parent = self.run_ids["evaluation"]
        client = self.mlflow.tracking.MlflowClient()
        for name, value in overall.items():
            client.log_metric(parent, f"overall/{metric_key(name)}", value)
        for path in paths.values():
            client.log_artifact(parent, str(path))
