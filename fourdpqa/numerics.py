"""CPU kernels with the same bits on every x86-64 machine, for the stages that train or run models.

Training and inference sum in orders chosen by instruction set: ATen's vectorised reductions (AVX-512 vs AVX2 vs
scalar), MKL's GEMM kernels and oneDNN's JIT kernels each pick theirs at run time, so the same seed trains
different weights on different machines, and a ``dvc.lock`` written on one is stale on the next. The CLI
(``python -m fourdpqa <stage>``, what ``dvc repro`` runs) therefore pins them for :data:`MODEL_STAGES` before torch
loads: ATen's scalar kernels, MKL's conditional-numerical-reproducibility path and oneDNN capped at SSE4.1 — code
paths every x86-64 machine runs the same way. It costs those stages about half again their CPU time on an AVX-512
machine (20 training steps of the default tiny model: 18 s -> 27 s). The data stages need no pin: their numerics
are exact by construction (``fourdpqa.geometry`` docstring, ``tests/test_determinism.py``).

A variable already set in the environment wins; ``FOURDPQA_NATIVE_KERNELS=1`` keeps every native kernel (faster,
bit-identical only on the same kind of CPU). ``make ui`` sets the same variables for Dagster's processes.
"""

from __future__ import annotations

import logging
import os
import sys

PORTABLE_KERNELS = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "SSE41"}
MODEL_STAGES = ("validate", "learnability", "train", "evaluate")
OPT_OUT = "FOURDPQA_NATIVE_KERNELS"

log = logging.getLogger("fourdpqa")


def pin_cpu_kernels(stage: str | None) -> dict[str, str]:
    """Set :data:`PORTABLE_KERNELS` (where unset) when ``stage`` trains or runs models; returns what is in force.
    Must run before torch is imported: afterwards the kernels are chosen and a warning says so."""
    if stage not in MODEL_STAGES or os.environ.get(OPT_OUT, "") not in ("", "0"):
        return {}
    if "torch" in sys.modules:
        log.warning("%s: torch was loaded before the portable CPU kernels could be pinned; results may differ "
                    "between machines", stage)
    for key, value in PORTABLE_KERNELS.items():
        os.environ.setdefault(key, value)
    return {k: os.environ[k] for k in PORTABLE_KERNELS}
