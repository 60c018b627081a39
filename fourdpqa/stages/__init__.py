"""Stage drivers: each stage is ``run(params) -> StageReport`` over all items plus a per-item function that the
Dagster assets call per partition. Domain computation lives in the modules they call."""
