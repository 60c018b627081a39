"""dagster-dask's executor, fixed for partitioned runs (Dask extra: ``pip install -e .[scaleout]``).

``dagster_dask.dask_executor`` hands the run record to ``Client.submit`` as a task argument, and dask walks every
argument looking for futures; a partitioned run's record holds a ``KeyRangesPartitionsSubset``, a Dagster ``@record``
that refuses iteration, so every partitioned run failed (``Iteration is not allowed on @record
KeyRangesPartitionsSubset``). Here each step's arguments travel pickled in one ``bytes`` value, which dask does not
walk; the worker side is dagster-dask's own ``query_on_dask_worker``. Clusters: an existing scheduler (any cluster
manager that starts one: ``dask scheduler``, SLURM, Kubernetes, YARN) or a local one.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster._core.errors import raise_execution_interrupts
from dagster._core.events import DagsterEvent
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._utils import iterate_with_context
from dagster_dask.executor import DaskExecutor, get_dask_resource_requirements, query_on_dask_worker
from distributed import Client, LocalCluster, as_completed

LOCAL_CLUSTER = {"n_workers": 2, "threads_per_worker": 1}


def run_step(dependencies: list[Any], payload: bytes) -> list[DagsterEvent]:
    """On a Dask worker: one step of the run (``dependencies`` only order the tasks)."""
    return query_on_dask_worker(dependencies, *pickle.loads(payload))


class PartitionSafeDaskExecutor(DaskExecutor):
    """One Dask task per step, ordered by the step dependencies, with its arguments as opaque bytes."""

    def execute(self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan) -> Iterator[DagsterEvent]:
        if self.cluster_type == "existing":
            cluster: Any = self.cluster_configuration["address"]
        else:
            cluster = LocalCluster(**self.build_dict(plan_context.job_name))
        instance_ref = plan_context.instance.get_ref()
        with Client(cluster) as client:
            futures: dict[str, Any] = {}
            for level in execution_plan.get_steps_to_execute_by_level():
                for step in level:
                    deps = [futures[k] for inp in step.step_inputs for k in inp.dependency_keys]
                    payload = pickle.dumps((plan_context.reconstructable_job, plan_context.dagster_run,
                                            plan_context.run_config, [step.key], instance_ref,
                                            execution_plan.known_state))
                    futures[step.key] = client.submit(
                        run_step, deps, payload, key=f"{plan_context.run_id}.{step.key}",
                        resources=get_dask_resource_requirements(step.tags))
            done = as_completed(list(futures.values()), with_results=True)
            for _, events in iterate_with_context(raise_execution_interrupts, done):
                yield from events


def dask_executor(address: str | None) -> dg.ExecutorDefinition:
    """Steps on the scheduler at ``address`` (``tcp://host:8786``), else on a local two-worker cluster."""
    kind, config = ("existing", {"address": address}) if address else ("local", LOCAL_CLUSTER)

    @dg.executor(name="dask", requirements=dg.multiple_process_executor_requirements())
    def _dask(init_context: dg.InitExecutorContext) -> dg.Executor:
        return PartitionSafeDaskExecutor(kind, config)

    return _dask
