"""The project's MLflow store: ``<data_root>/mlflow/``, laid out the way ``mlflow server`` keeps its own.

``mlflow.db`` is the SQLite backend store (runs, datasets, the model registry) and ``mlartifacts/`` the artifacts,
with every artifact location a proxied ``mlflow-artifacts:/<experiment id>/...`` URI (what ``mlflow server`` gives
the experiments it creates): no record names where the folder lives, so the store moves, copies and travels with the
data (DVC versions it as an output of the evaluate stage). Served as it is by a stock server, which maps those URIs
to ``--artifacts-destination`` (``make mlflow``, or simply ``cd data/mlflow && mlflow server``: both are its
defaults). Without a server, :func:`artifact_repository` (registered for the ``mlflow-artifacts`` scheme through
MLflow's plugin entry point, pyproject.toml) resolves them to ``mlartifacts/`` beside the database of a local
SQLite tracking URI, so the drivers log and ``mlflow.pyfunc.load_model("models:/...")`` loads with
``MLFLOW_TRACKING_URI=sqlite:///data/mlflow/mlflow.db`` and no server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from fourdpqa.layout import Layout

DATABASE = "mlflow.db"
ARTIFACTS_DIR = "mlartifacts"  # `mlflow server`'s default --artifacts-destination, beside its default database
PROXIED_ROOT = "mlflow-artifacts:/"  # `mlflow server`'s default artifact root when it serves artifacts
SERVER_DESTINATION_ENV = "_MLFLOW_SERVER_ARTIFACT_DESTINATION"  # set by `mlflow server` for its own processes
SQLITE = "sqlite:///"


def store_dir(data_root: str | Path) -> Path:
    return Layout(Path(data_root)).mlflow


def store_uri(data_root: str | Path) -> str:
    """The tracking URI of the store under ``<data_root>/mlflow`` (absolute: it is never written into a record)."""
    return f"{SQLITE}{(store_dir(data_root) / DATABASE).resolve().as_posix()}"


def local_artifacts(tracking_uri: str) -> Path | None:
    """Where proxied artifacts of a local SQLite store live (``mlartifacts/`` beside the database, as
    ``mlflow server`` run from that folder keeps them); None for a server or any other store."""
    if not tracking_uri.startswith(SQLITE) or tracking_uri == f"{SQLITE}:memory:":
        return None
    return Path(tracking_uri[len(SQLITE):].split("?")[0]).parent / ARTIFACTS_DIR


def artifact_repository(artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None) -> Any:
    """The repository of an ``mlflow-artifacts:`` URI: MLflow's own (through the tracking server) when the tracking
    URI is a server; the local folder the server would serve from when it is a local SQLite store (or inside
    ``mlflow server`` itself, its ``--artifacts-destination``), where MLflow alone would refuse the URI."""
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository
    from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository
    from mlflow.tracking import get_tracking_uri

    destination = os.environ.get(SERVER_DESTINATION_ENV)
    root = Path(destination) if destination else local_artifacts(tracking_uri or get_tracking_uri())
    if root is None or "://" in str(root):
        return MlflowArtifactsRepository(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)
    relative = urlparse(artifact_uri).path.lstrip("/")
    return LocalArtifactRepository(root.resolve().joinpath(relative).as_uri(), tracking_uri, registry_uri)


def prepare_store(tracking_uri: str, experiment: str) -> None:
    """Create the database with the proxied artifact root (MLflow's client would give new experiments an absolute
    ``./mlruns`` path) and ``experiment`` in it, as ``mlflow server`` would: location ``mlflow-artifacts:/<id>``.
    Only for the local SQLite store; any other tracking URI is used as it is."""
    if local_artifacts(tracking_uri) is None:
        return
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    local_artifacts(tracking_uri).parent.mkdir(parents=True, exist_ok=True)
    store = SqlAlchemyStore(tracking_uri, PROXIED_ROOT)  # its engine is MLflow's shared one for this URI
    try:
        if store.get_experiment_by_name(experiment) is None:
            store.create_experiment(experiment)
    except MlflowException as exc:  # another process created it meanwhile
        if exc.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
            raise
