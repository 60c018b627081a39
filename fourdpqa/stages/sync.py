"""Retiring removed videos outside a full stage run (the Dagster ingest assets): when a source no longer provides a
video, its scene, tracks and QA are removed, so no stale answer can reach the dataset."""

from __future__ import annotations

from fourdpqa.params import Params
from fourdpqa.stages import qa, standardize, tracks
from fourdpqa.stages.protocol import prune, stage_lock


def retire_removed(params: Params, current: set[str]) -> list[str]:
    """Remove the per-video outputs of every video not in ``current`` (the ids the sources provide now), stage by
    stage under each stage's lock; returns the removed output names. An empty ``current`` removes nothing (a
    missing source is an error upstream, never a reason to delete)."""
    if not current:
        return []
    removed: list[str] = []
    for stage in (standardize.STAGE, tracks.STAGE, qa.STAGE):
        lock = stage_lock(stage, params)
        lock.acquire()
        try:
            removed += prune(stage, params, sorted(current))
        finally:
            lock.release()
    return removed
