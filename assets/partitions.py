"""One dynamic partition per video id, shared by every per-video asset."""

import dagster as dg

videos = dg.DynamicPartitionsDefinition(name="videos")
