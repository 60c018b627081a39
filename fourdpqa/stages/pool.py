"""Per-video items in parallel: a process pool (``concurrent.futures``, forkserver workers) behind ``--workers N``.
Each worker holds an item's lock while it writes and keeps one session (e.g. its LLM budget); results come back in
item order, so the report and the outputs equal a serial run's. No scheduler of our own: items are independent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fourdpqa.stages import stage_list
from fourdpqa.stages.protocol import Rows, Runner, Stage, locked_item, new_session, serial_runner, session_counts

if TYPE_CHECKING:
    from fourdpqa.params import Params


def _pool_init(params_json: dict, uses_torch: bool, parent: int) -> None:
    from fourdpqa.params import Params

    global _POOL_PARAMS
    _POOL_PARAMS = Params.model_validate(params_json)
    _exit_with(parent)
    prepare_worker(_POOL_PARAMS, uses_torch)


def _exit_with(parent: int, every_s: float = 1.0) -> None:
    """End this worker once the process that started the pool is gone. A forkserver worker is the forkserver's
    child, and it holds both ends of the pool's call queue, so it never sees the queue close: without this, killing
    ``--workers 2`` left the workers (hundreds of MB each) waiting for ever. A killed item leaves only temporaries,
    which the next run sweeps."""
    import os
    import threading
    import time

    def watch() -> None:
        while True:
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # a pid reused by another user's process: ours is gone
                os._exit(1)
            time.sleep(every_s)

    threading.Thread(target=watch, daemon=True, name="fourdpqa-parent-watch").start()


def prepare_worker(params: Params, uses_torch: bool = True) -> None:
    from fourdpqa.device import set_determinism

    if uses_torch:
        set_determinism(params.base.seed, params.base.num_threads)


def _pool_item(stage_name: str, item: str, force: bool) -> tuple[str, str | None, int, dict[str, int]]:
    """One item in a worker: (status, reason, worker pid, the worker session's counts so far)."""
    import importlib
    import os

    stage = importlib.import_module(stage_list.get(stage_name).module).STAGE
    if stage_name not in _POOL_SESSIONS:  # one session per worker process (e.g. its own LLM budget)
        _POOL_SESSIONS[stage_name] = new_session(stage, _POOL_PARAMS)
    session = _POOL_SESSIONS[stage_name]
    status, reason = locked_item(stage, _POOL_PARAMS, item, force, session)
    return status, reason, os.getpid(), session_counts(session)


_POOL_PARAMS: Params | None = None
_POOL_SESSIONS: dict[str, Any] = {}


def _closure_modules(stage: Stage) -> list[str]:
    from fourdpqa.fingerprint import CODE_ROOT, import_closure

    names = [".".join(p.relative_to(CODE_ROOT).with_suffix("").parts).removesuffix(".__init__")
             for p in import_closure(stage.info.code_modules)]
    return [stage.info.module, *sorted(set(names) - {stage.info.module})]


def pool_runner(workers: int) -> Runner:
    """Items spread over ``workers`` processes; one worker or one item runs serially in this process."""
    if workers <= 1:
        return serial_runner

    def run(stage: Stage, params: Params, items: list[str], force: bool) -> tuple[Rows, dict[str, int]]:
        import multiprocessing
        import os
        from collections import Counter
        from concurrent.futures import ProcessPoolExecutor

        if len(items) <= 1:
            return serial_runner(stage, params, items, force)
        # forkserver: the code the stage runs (its import closure, lazy imports included) is imported once in a
        # clean server process (no threads, no CUDA context); each worker is a cheap fork of it
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_closure_modules(stage))
        with ProcessPoolExecutor(min(workers, len(items)), mp_context=context,
                                 initializer=_pool_init,
                                 initargs=(params.model_dump(mode="json"), stage.uses_torch, os.getpid())) as pool:
            futures = [pool.submit(_pool_item, stage.name, item, force) for item in items]
            results = [f.result() for f in futures]
        latest: dict[int, Counter] = {}  # a worker's session counts grow: keep its largest tallies
        for _, _, pid, counts in results:
            latest[pid] = latest.get(pid, Counter()) | Counter(counts)
        total = sum(latest.values(), Counter())
        return [(item, status, reason) for item, (status, reason, _, _) in zip(items, results, strict=True)], dict(total)

    return run
