"""Manifests of the stage protocol: what an item's outputs were made from (its fingerprint: params, the digest of
the stage's import closure, the content of its inputs) and the digest of every file it wrote, stored as
``<stage folder>/_manifest/<item>.json``. Up to date = same fingerprint, every output still has its digest and every
file the stage declares to DVC exists. Digests go through the data root's :class:`fourdpqa.fingerprint.DigestCache`,
so a file is read once when written and again only when its size, mtime or inode changed."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fourdpqa import fingerprint
from fourdpqa.atomic import write_json
from fourdpqa.layout import MANIFEST_DIR, Layout
from fourdpqa.stages import stage_list

if TYPE_CHECKING:
    from fourdpqa.params import Params
    from fourdpqa.stages.protocol import Stage

log = logging.getLogger("fourdpqa")


def where_of(params: Params) -> Layout:
    return Layout(Path(params.base.data_root))


@functools.lru_cache(maxsize=8)
def _cache_at(path: Path) -> fingerprint.DigestCache:
    return fingerprint.DigestCache(path)


def digest_cache(params: Params) -> fingerprint.DigestCache:
    """The digest cache of the run's data root (one per process)."""
    return _cache_at(where_of(params).digest_cache.resolve())


def _listed_params(stage: Stage) -> Callable[[Params], Any]:
    return lambda params: stage_list.select(params, stage.info.params)


def item_fingerprint(stage: Stage, params: Params, item: str, inputs: dict[str, str]) -> str:
    """Digest of everything the item's outputs depend on: its params, the stage's code and its inputs."""
    return fingerprint.combine({"stage": stage.name, "item": item,
                                "params": (stage.settings or _listed_params(stage))(params),
                                "code": fingerprint.code_digest(stage.info.code_modules), "inputs": inputs})


@functools.lru_cache(maxsize=32)
def _folder_records(folder: Path, stamp: tuple[int, int]) -> dict[str, str]:
    """The ``files`` of every manifest in ``folder`` (``stamp``: the folder's mtime and size, which change whenever
    a manifest is published into it, so a process rereads it only then)."""
    recorded: dict[str, str] = {}
    for m in sorted(folder.glob("*.json")):
        try:
            recorded.update(json.loads(m.read_text(encoding="utf-8"))["files"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # an unreadable manifest only means its producer redoes that item
    return recorded


def _recorded_digests(entries: Sequence[Path], root: Path) -> dict[str, str]:
    """Digests that producers' manifests recorded for files next to / under ``entries`` (path rel. to root)."""
    recorded: dict[str, str] = {}
    folders = {e / MANIFEST_DIR for e in entries if e.is_dir()} | {e.parent / MANIFEST_DIR for e in entries}
    for folder in sorted(f for f in folders if f.is_dir()):
        st = folder.stat()
        recorded.update(_folder_records(folder, (st.st_mtime_ns, st.st_size)))
    return recorded


def input_digests(stage: Stage, params: Params, item: str) -> tuple[dict[str, str], list[str]]:
    """Digests of the item's inputs (paths relative to the data root), and a note for every input that no longer
    matches the digest its producer recorded (truncated or edited after it was written): the note names the file
    and goes into the quarantine reason if the item then fails (an edited raw source may be deliberate)."""
    root = where_of(params).root
    entries = stage.inputs(params, item)
    digests = fingerprint.digest_files(entries, root, digest_cache(params))
    digests.update(stage.input_digests(params, item) if stage.input_digests is not None else {})
    notes = [f"{root / rel} differs from the digest recorded when it was written (truncated or modified; "
             f"rerun the stage that writes {Path(rel).parts[0]}/)"
             for rel, recorded in _recorded_digests(entries, root).items()
             if rel in digests and digests[rel] != recorded]
    for note in notes:
        log.warning("%s: %s: input %s", stage.name, item, note)
    return digests, notes


def missing_declared(stage: Stage, params: Params) -> list[str]:
    """Files and folders the stage declares to DVC (outs, metrics, plots) that do not exist: DVC removes
    non-persisted outputs before it runs a stage, so a stage skipping them would leave ``dvc repro`` failing."""
    root = where_of(params).root
    return [rel for rel in (*stage.info.outs, *stage.info.metrics, *stage.info.records) if not (root / rel).exists()]


def is_up_to_date(stage: Stage, params: Params, item: str, fp: str) -> bool:
    """The item's manifest holds ``fp``, every output still exists with its recorded digest and every output the
    stage declares to DVC exists."""
    where = where_of(params)
    try:
        manifest = json.loads(where.manifest(stage.out_dir(where), item).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("fingerprint") != fp or not all(p.exists() for p in stage.outputs(params, item)):
        return False
    missing = missing_declared(stage, params)
    if missing:
        log.warning("%s: %s: declared output(s) %s missing; rebuilding", stage.name, item, missing)
        return False
    cache = digest_cache(params)
    for rel, digest in manifest.get("files", {}).items():
        path = where.root / rel
        if not path.is_file() or fingerprint.file_digest(path, cache) != digest:
            log.warning("%s: %s: output %s is missing or differs from its recorded digest; rebuilding",
                        stage.name, item, path)
            return False
    return True


def write_manifest(stage: Stage, params: Params, item: str, fp: str, out: Path) -> None:
    """Record ``fp`` and the digest of every file the item wrote in ``out`` (the output folder or its staging
    copy), with paths relative to the data root as they are once published."""
    where = where_of(params)
    final = stage.out_dir(where)
    prefix = final.relative_to(where.root)
    entries = [out / p.relative_to(final) for p in stage.outputs(params, item)]
    digests = fingerprint.digest_files(entries, out, digest_cache(params))  # kept by the rename that publishes
    files = {(prefix / rel).as_posix(): d for rel, d in digests.items()}
    write_json(where.manifest(out, item), {"stage": stage.name, "item": item, "fingerprint": fp,
                                           "files": dict(sorted(files.items()))})
