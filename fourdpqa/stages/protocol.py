"""The stage protocol: one way to run a stage, used by the CLI (and so by ``dvc repro``) and by the Dagster assets.

A :class:`Stage` declares its items (video ids for per-video stages, one item named after the stage for dataset-level
stages), what each item reads and writes, the params and the code it depends on, and the function that does the work.
:func:`run_stage` (a whole stage) and :func:`run_item` (one item, e.g. one Dagster partition) own everything else:

* **skipping** — an item is up to date when its manifest (``<out>/_manifest/<item>.json``) holds the current
  fingerprint (params, the digest of the stage's import closure, the content of its inputs) and every output file
  still has the digest recorded there; so a code edit, a params change, a changed input or a truncated output redoes
  the item, and nothing else does;
* **cleanup** — temporaries of a killed run are swept (never those of a writer still holding the item's lock), outputs
  of items that no longer exist are removed (a stage that finds *no* input fails instead of deleting everything);
* **replace only with better** — a per-video item is built in a staging folder (``<out>/<item>.tmp-*``) and its
  outputs replace the previous ones only once the whole item passed; a quarantined item keeps its previous outputs
  (the last good ones) and its quarantine record says why it was not updated;
* **quarantine** — only bad-input errors (:class:`fourdpqa.errors.BadInput`, or an ``OSError`` of reading an input
  file that is missing or misplaced: ``fourdpqa.errors.INPUT_ERRNOS``) set an item aside with the reason; a plain
  ``ValueError`` (a bug), a failed write (:class:`fourdpqa.errors.WriteFailed`: disk full, file-size limit, short
  write) or a misconfigured device fails the stage and removes nothing; so does a failure share above
  ``base.max_failed_share``;
* **determinism** — ``set_determinism`` before any work;
* **integrity** — inputs recorded in an upstream manifest must still match it (a truncated intermediate is named);
* **one writer** — a lock per data root and stage (and per item for partition runs), via ``filelock``;
* **transactions** — a ``staged`` stage writes into a fresh sibling folder that replaces the output folder in one
  rename, so a refused or killed run leaves the previous outputs whole;
* **declared outputs** — an item is never up to date while a file the stage declares to DVC (outs, metrics, plots)
  is missing, so ``dvc repro`` after DVC removed one rebuilds it instead of failing on every rerun.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from fourdpqa import quarantine
from fourdpqa.atomic import TMP_MARK, publish_dir, staging_dir, sweep_siblings, write_json, writing
from fourdpqa.errors import ENVIRONMENT_WHAT, is_bad_input, is_environment_error
from fourdpqa.layout import MANIFEST_DIR, REPORT_FILE, Layout, item_name
from fourdpqa.stages.manifest import input_digests, is_up_to_date, item_fingerprint, where_of, write_manifest
from fourdpqa.stages.stage_list import StageInfo

if TYPE_CHECKING:  # params (pydantic) load when a stage runs, not for --help
    from fourdpqa.params import Params

log = logging.getLogger("fourdpqa")

ITEM_LOCK_TIMEOUT_S = 600.0


class StageFailed(RuntimeError):
    """The stage cannot produce a trustworthy result (missing inputs, too many bad items, a blocking check, a full
    disk, a misconfigured device): the CLI exits 1 and the Dagster step fails, with this message. ``report`` holds
    the per-item outcome when the stage got as far as running its items."""

    def __init__(self, message: str, report: StageReport | None = None):
        super().__init__(message)
        self.report = report


@dataclass
class StageReport:
    stage: str
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    quarantined: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # stage-specific tallies (e.g. paraphrases rejected)

    def as_dict(self) -> dict:
        """What the stage's outputs hold (``items`` produced, ``quarantined`` with reasons, the ``counts`` of the run
        that produced them): the same after a no-op rerun. Which items a run redid is :meth:`summary`'s business."""
        return {"stage": self.stage, "items": sorted([*self.done, *self.skipped]),
                "quarantined": dict(sorted(self.quarantined.items())),
                **({"counts": dict(sorted(self.counts.items()))} if self.counts else {})}

    def summary(self) -> str:
        tallies = "".join(f", {k} {v}" for k, v in sorted(self.counts.items()))
        return (f"{self.stage}: {len(self.done)} done, {len(self.skipped)} up to date, "
                f"{len(self.quarantined)} quarantined{tallies}")


@dataclass(frozen=True)
class Job:
    """One item to produce: ``out`` is where to write (the stage's output folder, or its staging copy);
    ``session`` is what the stage shares across the items of one run (e.g. one LLM budget), if it has any."""

    params: Params
    item: str
    out: Path
    session: Any = None

    @property
    def where(self) -> Layout:
        return Layout(Path(self.params.base.data_root))


@dataclass(frozen=True)
class Stage:
    """What the protocol needs to know about a stage (its name, params and code come from the stage list).

    ``items(params)``: video ids, or ``[name]`` for a dataset-level stage; ``work(job)`` writes one item into
    ``job.out``; ``outputs(params, item)``: the top-level files / folders it writes in ``out_dir`` (what pruning
    keeps); ``inputs(params, item)``: files / folders whose content it depends on.
    """

    info: StageInfo
    out_dir: Callable[[Layout], Path]
    items: Callable[[Params], list[str]]
    work: Callable[[Job], Any]
    outputs: Callable[[Params, str], list[Path]]
    inputs: Callable[[Params, str], list[Path]]
    staged: bool = False  # dataset-level: build in a staging folder, publish with one rename
    uses_device: bool = False
    uses_torch: bool = True  # False: its code never runs torch, so no run imports it (2-4 s of CPU start-up)
    settings: Callable[[Params], Any] | None = None  # what of the params the fingerprint covers (default: info.params)
    # digests of inputs that are not plain files (e.g. one sequence inside an archive), merged into the inputs
    input_digests: Callable[[Params, str], dict[str, str]] | None = None
    # state shared by the items of one run (one per process); its ``counts()``, if any, go into the report
    session: Callable[[Params], Any] | None = None

    @property
    def name(self) -> str:
        return self.info.name


# ----------------------------------------------------------------------------------------------------- one item


def _remove(paths: Sequence[Path]) -> None:
    for p in paths:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()


def _environment_failure(stage: Stage, item: str, exc: OSError) -> StageFailed:
    what = ENVIRONMENT_WHAT.get(exc.errno, "a write failed")  # a short write carries no errno
    where = exc.filename or stage.name
    return StageFailed(f"{stage.name}: {what} while writing {where} for {item!r} ({exc.strerror or exc}); free "
                       "space or raise the limit and rerun (finished items and previous outputs are kept)")


def _publish_item(stage: Stage, params: Params, item: str, staging: Path, final: Path) -> None:
    """Move a staged item's outputs over the previous ones (each in one rename), then its manifest: a kill in
    between leaves an old manifest, so the next run sees the mismatch and rebuilds the item."""
    where = where_of(params)
    with writing(final):
        for entry in stage.outputs(params, item):
            new = staging / entry.relative_to(final)
            if new.is_dir():
                publish_dir(new, entry)
            elif new.exists():
                os.replace(new, entry)
            else:  # the item no longer writes this output
                _remove([entry])
        manifest = where.manifest(final, item)
        manifest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(where.manifest(staging, item), manifest)


def _produce(stage: Stage, params: Params, item: str, fp: str, session: Any) -> None:
    final = stage.out_dir(where_of(params))
    if stage.staged:
        with staging_dir(final) as staging:
            stage.work(Job(params, item, staging, session))
            write_manifest(stage, params, item, fp, staging)
            with writing(final):
                publish_dir(staging, final)
        return
    if not stage.info.per_video:  # train / evaluate: they write their own outputs (checkpoints, MLflow runs)
        stage.work(Job(params, item, final, session))
        write_manifest(stage, params, item, fp, final)
        return
    for entry in [*stage.outputs(params, item), final / item_name(item)]:
        sweep_siblings(entry)  # this item's temporaries from a killed run (we hold its lock)
    with staging_dir(final / item_name(item)) as staging:
        stage.work(Job(params, item, staging, session))
        write_manifest(stage, params, item, fp, staging)
        _publish_item(stage, params, item, staging, final)


def process_item(stage: Stage, params: Params, item: str, force: bool = False,
                 session: Any = None) -> tuple[str, str | None]:
    """Produce one item unless up to date: ``("done" | "skipped" | "quarantined", reason)``. Bad input is
    quarantined (record written; the previous outputs, if any, are kept); environment and programming errors
    propagate, and nothing is removed."""
    where = where_of(params)
    notes: list[str] = []
    try:
        digests, notes = input_digests(stage, params, item)
        fp = item_fingerprint(stage, params, item, digests)
        if not force and is_up_to_date(stage, params, item, fp):
            quarantine.release(where.root, stage.name, item)  # up to date with the inputs it has now
            return "skipped", None
        _produce(stage, params, item, fp, session)
    except Exception as exc:
        if is_environment_error(exc):
            raise _environment_failure(stage, item, exc) from exc
        if not is_bad_input(exc):
            exc.add_note(f"while stage {stage.name!r} processed {item!r}")
            raise
        reason = "; ".join([f"{type(exc).__name__}: {exc}", *notes])
        quarantine.quarantine(where.root, stage.name, item, reason)
        kept = any(p.exists() for p in stage.outputs(params, item))
        log.warning("%s: quarantined %s: %s%s", stage.name, item, reason,
                    " (its previous outputs are kept)" if kept else "")
        return "quarantined", reason
    quarantine.release(where.root, stage.name, item)
    return "done", None


# --------------------------------------------------------------------------------------------------- locking


def _lock(path: Path, timeout: float) -> FileLock:
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(path, timeout=timeout)


def stage_lock(stage: Stage, params: Params) -> FileLock:
    """The lock of a whole stage run on this data root; a second run exits at once with a clear message."""
    return _lock(where_of(params).lock(stage.name), timeout=0)


def item_lock(stage: Stage, params: Params, item: str) -> FileLock:
    """The lock of one item (partition runs and pool workers); a second writer of the same item waits."""
    return _lock(where_of(params).lock(stage.name, item), timeout=ITEM_LOCK_TIMEOUT_S)


def _acquire(lock: FileLock, stage: Stage, what: str) -> None:
    try:
        lock.acquire()
    except Timeout as exc:
        raise StageFailed(f"{stage.name}: another run is writing {what} (lock {lock.lock_file}); wait for it to "
                          "finish, or remove the lock file if no such run exists") from exc


def locked_item(stage: Stage, params: Params, item: str, force: bool = False,
                session: Any = None) -> tuple[str, str | None]:
    """:func:`process_item` under the item's lock (what a pool worker or a partition run calls)."""
    lock = item_lock(stage, params, item)
    _acquire(lock, stage, repr(item))
    try:
        return process_item(stage, params, item, force, session)
    finally:
        lock.release()


# ---------------------------------------------------------------------------------------------------- whole stage


def prepare(stage: Stage, params: Params) -> None:
    """Checks before any work: a configured device must exist; determinism is fixed (torch's seeds and threads for
    the stages that run torch)."""
    from fourdpqa.device import resolve_device, set_determinism

    if stage.uses_device:
        try:
            resolve_device(params.base.device)
        except RuntimeError as exc:
            raise StageFailed(f"{stage.name}: base.device: {exc}") from exc
    if stage.uses_torch:
        set_determinism(params.base.seed, params.base.num_threads)


def _writer_active(stage: Stage, params: Params, temporary: Path) -> bool:
    """Whether a writer holds the lock of the item a temporary belongs to (``<item name>.tmp-*`` or
    ``<item name><suffix>.tmp-*``): a Dagster partition step writing beside a CLI run."""
    locks = where_of(params).lock(stage.name, "x").parent
    owner = temporary.name.split(TMP_MARK)[0]
    for lock_file in locks.glob("*.lock") if locks.is_dir() else []:
        name = lock_file.name.removesuffix(".lock")
        if owner == name or owner.startswith((f"{name}.", f"{name}_")):
            lock = FileLock(lock_file, timeout=0)
            try:
                lock.acquire()
            except Timeout:
                return True
            lock.release()
    return False


def prune(stage: Stage, params: Params, items: Sequence[str]) -> list[str]:
    """Remove what the stage's output folder holds beyond the outputs of ``items`` (removed videos, old names,
    temporaries of killed runs, never those of a writer holding its item's lock); returns the removed names.
    A dataset-level stage only sweeps the temporaries of its output folder (it holds the stage lock)."""
    where = where_of(params)
    out = stage.out_dir(where)
    if not stage.info.per_video:  # dataset-level folders hold other runs' files (checkpoints)
        if stage.staged:
            sweep_siblings(out)
        return []
    if not out.is_dir():
        return []
    keep = {p.name for item in items for p in stage.outputs(params, item)} | {MANIFEST_DIR, REPORT_FILE}
    manifests = {f"{item_name(i)}.json" for i in items}
    stale = [p for p in out.iterdir() if p.name not in keep]
    stale += [p for p in (out / MANIFEST_DIR).glob("*") if p.name not in manifests]
    stale = [p for p in stale if TMP_MARK not in p.name or not _writer_active(stage, params, p)]
    _remove(stale)
    return sorted(p.name for p in stale if TMP_MARK not in p.name)


def _check_failures(stage: Stage, params: Params, report: StageReport, n: int) -> None:
    share = len(report.quarantined) / n
    if report.quarantined and share > params.base.max_failed_share:
        first = next(iter(sorted(report.quarantined.items())))
        raise StageFailed(f"{stage.name}: {len(report.quarantined)} of {n} items quarantined (more than "
                          f"base.max_failed_share={params.base.max_failed_share}); first: {first[0]}: {first[1]}",
                          report)


Rows = list[tuple[str, str, str | None]]  # (item, status, reason) in item order
Runner = Callable[[Stage, "Params", list[str], bool], tuple[Rows, dict[str, int]]]


def new_session(stage: Stage, params: Params) -> Any:
    return stage.session(params) if stage.session is not None else None


def session_counts(session: Any) -> dict[str, int]:
    return session.counts() if session is not None and hasattr(session, "counts") else {}


def serial_runner(stage: Stage, params: Params, items: list[str], force: bool) -> tuple[Rows, dict[str, int]]:
    """Items one after the other in this process, sharing one session; returns the rows and the session's counts."""
    from tqdm import tqdm

    session = new_session(stage, params)
    rows = [(item, *locked_item(stage, params, item, force, session))
            for item in tqdm(items, desc=stage.name, unit="item", disable=None)]
    return rows, session_counts(session)


def write_report(path: Path, report: StageReport) -> None:
    """Write ``_report.json`` (a DVC-tracked output) unless the run produced nothing and the items and quarantine
    it records are unchanged: a no-op rerun must leave every tracked output byte-identical (``dvc status`` clean)."""
    new = report.as_dict()
    if not report.done and path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
        if all(old.get(k) == new[k] for k in ("stage", "items", "quarantined")):
            return
    write_json(path, new)


def run_stage(stage: Stage, params: Params, only: Sequence[str] | None = None, force: bool = False,
              runner: Runner | None = None) -> StageReport:
    """Run every item of ``stage`` (or the ``only`` ones: no pruning then) under the stage lock; write
    ``<out>/_report.json`` (unless nothing changed); raise :class:`StageFailed` on missing inputs or too many failures."""
    where = where_of(params)
    lock = stage_lock(stage, params)
    _acquire(lock, stage, f"{where.root}")
    try:
        prepare(stage, params)
        items = stage.items(params)
        if not items:
            raise StageFailed(f"{stage.name}: no inputs found (nothing to process; existing outputs are kept)")
        if only:
            unknown = sorted(set(only) - set(items))
            if unknown:
                raise StageFailed(f"{stage.name}: unknown items {unknown}; known: {items[:10]}...")
            items = [i for i in items if i in set(only)]
        else:
            removed = prune(stage, params, items)
            if removed:
                log.info("%s: removed outputs of %d items that no longer exist: %s", stage.name, len(removed),
                         removed[:10])
        report = StageReport(stage.name)
        rows, counts = (runner or serial_runner)(stage, params, items, force)
        for item, status, reason in rows:
            {"done": report.done, "skipped": report.skipped}.get(status, []).append(item)
            if status == "quarantined":
                report.quarantined[item] = reason or ""
        report.counts.update(counts)
        if not only and not stage.staged:
            write_report(stage.out_dir(where) / REPORT_FILE, report)
        log.info(report.summary())
        _check_failures(stage, params, report, len(items))
        return report
    finally:
        lock.release()


def run_partition(stage: Stage, params: Params, item: str) -> str:
    """One item as a Dagster partition (or any single-item caller): prepared, locked, quarantined on bad input.
    Returns "done" or "skipped"; a quarantined item raises :class:`StageFailed` with the reason."""
    prepare(stage, params)
    status, reason = locked_item(stage, params, item, session=new_session(stage, params))
    if status == "quarantined":
        raise StageFailed(f"{stage.name}: {item!r} quarantined: {reason}")
    return status
