"""One dynamic partition per video id, shared by every per-video asset, and how partitions are batched into runs.

A backfill (or a sensor request) over many partitions makes one run per batch of at most
``FOURDPQA_PARTITIONS_PER_RUN`` partitions (default 32): each per-video asset is then one step over the batch's
videos, so a run's start-up is paid once per batch instead of once per video.
"""

import os

import dagster as dg

videos = dg.DynamicPartitionsDefinition(name="videos")
PARTITIONS_PER_RUN_ENV = "FOURDPQA_PARTITIONS_PER_RUN"


def partitions_per_run() -> int:
    value = os.environ.get(PARTITIONS_PER_RUN_ENV, "32")
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{PARTITIONS_PER_RUN_ENV}={value!r}: expected a positive integer")
    return int(value)


def batches() -> dg.BackfillPolicy:
    """The backfill policy of the per-video assets: runs of at most :func:`partitions_per_run` partitions."""
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=partitions_per_run())
