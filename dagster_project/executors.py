"""How Dagster executes runs, chosen by configuration only (``FOURDPQA_EXECUTOR``), never by code changes.

* ``multiprocess`` (default): each step of ``dataset_job`` in its own process on this machine
  (``FOURDPQA_MAX_CONCURRENT`` bounds them, default the CPU count); per-video runs and ad-hoc materializations
  execute their steps in the run's process (a chain of light steps: one process per step only adds start-up);
* ``in_process``: every step in the run's process (debugging, tests);
* ``dask``: every step as a task on a Dask cluster (``pip install -e .[scaleout]``): ``FOURDPQA_DASK_SCHEDULER``
  is the address of its scheduler (``tcp://10.0.0.5:8786``, started by ``dask scheduler`` or any cluster manager:
  SLURM, Kubernetes, YARN), else a local cluster is started. Workers need this repository importable, the
  working directory that holds ``params.yaml``, the data root and ``DAGSTER_HOME`` on a shared file system;
* ``k8s``: one Kubernetes Job per step (``dagster-k8s``; the image and namespace come from the run launcher's
  configuration, see README "Scale-out").

The Dask executor is dagster-dask's with one fix for partitioned runs (``dagster_project.dask_executor``).
"""

from __future__ import annotations

import os

import dagster as dg

EXECUTOR_ENV = "FOURDPQA_EXECUTOR"
DASK_SCHEDULER_ENV = "FOURDPQA_DASK_SCHEDULER"
NAMES = ("multiprocess", "in_process", "dask", "k8s")


def _name(name: str | None) -> str:
    name = name or os.environ.get(EXECUTOR_ENV, "multiprocess")
    if name not in NAMES:
        raise ValueError(f"{EXECUTOR_ENV}={name!r}: expected multiprocess, in_process, dask or k8s")
    return name


def executor(name: str | None = None) -> dg.ExecutorDefinition:
    """The executor of the code location (``name``, else ``$FOURDPQA_EXECUTOR``, else ``multiprocess``)."""
    name = _name(name)
    if name == "multiprocess":
        limit = int(os.environ.get("FOURDPQA_MAX_CONCURRENT", "0")) or os.cpu_count() or 1
        return dg.multiprocess_executor.configured({"max_concurrent": limit})
    if name == "in_process":
        return dg.in_process_executor
    if name == "dask":
        from dagster_project.dask_executor import dask_executor

        address = os.environ.get(DASK_SCHEDULER_ENV)
        return dask_executor(address)
    from dagster_k8s import k8s_job_executor

    return k8s_job_executor


def per_video_executor(name: str | None = None) -> dg.ExecutorDefinition:
    """Per-video runs: in the run's process on one machine, else the cluster's executor."""
    name = _name(name)
    return dg.in_process_executor if name in ("multiprocess", "in_process") else executor(name)
