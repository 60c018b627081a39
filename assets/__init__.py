"""Dagster assets, one module per stage: they wire, partition, check and record; the work is in fourdpqa."""
