"""How Dagster executes runs, chosen by configuration only (``FOURDPQA_EXECUTOR``), never by code changes.

* ``multiprocess`` (default): each step (one asset, one partition) in its own process on this machine;
  ``FOURDPQA_MAX_CONCURRENT`` bounds them (default: the CPU count).
* ``in_process``: everything in the run's process (debugging, tests).
* ``dask``: steps as tasks on a Dask cluster (``pip install -e .[scaleout]``); ``FOURDPQA_DASK_SCHEDULER`` is the
  scheduler address (e.g. ``tcp://10.0.0.5:8786``), else a local cluster is started. Unpartitioned jobs only for
  now: dagster-dask 0.29 cannot submit a partitioned run of dagster 1.13 (its run record refuses the iteration
  dask's argument parsing does).
* ``k8s``: one Kubernetes Job per step (``dagster-k8s``; the image and namespace come from the run launcher's
  configuration, see README "Scale-out").
"""

from __future__ import annotations

import os

import dagster as dg

EXECUTOR_ENV = "FOURDPQA_EXECUTOR"


def executor(name: str | None = None) -> dg.ExecutorDefinition:
    name = name or os.environ.get(EXECUTOR_ENV, "multiprocess")
    if name == "multiprocess":
        limit = int(os.environ.get("FOURDPQA_MAX_CONCURRENT", "0")) or os.cpu_count() or 1
        return dg.multiprocess_executor.configured({"max_concurrent": limit})
    if name == "in_process":
        return dg.in_process_executor
    if name == "dask":
        from dagster_dask import dask_executor

        address = os.environ.get("FOURDPQA_DASK_SCHEDULER")
        cluster = {"existing": {"address": address}} if address else {"local": {"n_workers": 2, "threads_per_worker": 1}}
        return dask_executor.configured({"cluster": cluster})
    if name == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    raise ValueError(f"{EXECUTOR_ENV}={name!r}: expected multiprocess, in_process, dask or k8s")
