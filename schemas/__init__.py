"""Pandera (polars) schemas of every table the pipeline writes: scenes, tracks, QA records, dataset splits."""
