"""Predictor registry: ``build_predictor(name, params, **kw)`` builds any row of the evaluation table by name.

Names: ``random``, ``blind``, ``oracle``, ``flow``, ``motion_presence`` and ``direction_blind`` (the lazy motion
baselines of :mod:`fourdpqa.predictors.lazy`), ``trained`` (the checkpoint of the train stage),
``hf:<model id or path>``, ``api`` (``params.evaluate.api_model``) or ``api:<litellm model>``.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fourdpqa import layout
from fourdpqa.errors import BadInput
from fourdpqa.params import PREDICTOR_PREFIXES, PREDICTORS, Params
from fourdpqa.predictors.base import Predictor, Sample, load_frames, sample_frames

__all__ = ["Predictor", "Sample", "build_predictor", "load_frames", "sample_frames", "trained_model_dir"]

TRAINED_MODEL = "trained"  # fourdpqa.train.run_training default name


def trained_model_dir(params: Params) -> Path:
    """Where the train stage writes its checkpoint (``<data_root>/models/<name>``)."""
    return layout.of(params).model(TRAINED_MODEL)


def build_predictor(name: str, params: Params, train_records: Iterable[Mapping[str, Any]] = (),
                    **kw: Any) -> Predictor:
    """The predictor called ``name``; text-prior baselines (blind, flow, the lazy motion baselines) are fitted on
    ``train_records``.
    Extra keyword arguments go to the predictor's constructor."""
    if name == "random":
        from fourdpqa.predictors.random import RandomPredictor

        return RandomPredictor(seed=params.base.seed, **kw)
    if name in ("blind", "flow"):
        from fourdpqa.predictors.blind import BlindPredictor

        prior = BlindPredictor().fit(train_records)
        if name == "blind":
            return prior
        from fourdpqa.predictors.flow import FlowPredictor

        return FlowPredictor(prior, **kw)
    if name in ("motion_presence", "direction_blind"):
        from fourdpqa.predictors.lazy import LazyMotionPredictor

        knowledge = "presence" if name == "motion_presence" else "direction_blind"
        return LazyMotionPredictor(layout.of(params).scenes, knowledge, **kw).fit(train_records)
    if name == "oracle":
        from fourdpqa.predictors.oracle import OraclePredictor

        return OraclePredictor(layout.of(params).scenes, **kw)
    if name == "trained" or name.startswith("hf:"):
        from fourdpqa.predictors.hf import HFPredictor

        if name == "trained":  # our checkpoint records the frame count it was trained with
            path: Path | str = trained_model_dir(params)
            if not Path(path).is_dir():
                raise FileNotFoundError(errno.ENOENT, f"no trained model at {path}: run the train stage first")
        else:
            path = name[3:]
            kw.setdefault("frames", params.evaluate.frames)
        kw.setdefault("max_new_tokens", params.evaluate.max_new_tokens)
        kw.setdefault("batch_size", params.evaluate.batch_size)
        kw.setdefault("constrained", name in params.evaluate.constrained)
        return HFPredictor(path, device=params.base.device, name=name, **kw)
    if name == "api" or name.startswith("api:"):
        from fourdpqa.predictors.api import ApiPredictor

        model = name[4:] if name.startswith("api:") else params.evaluate.api_model
        if not model:
            raise BadInput("predictor 'api' needs params.evaluate.api_model (or use the name 'api:<model>')")
        kw.setdefault("frames", params.evaluate.frames)
        kw.setdefault("calls", params.evaluate.api_calls)
        return ApiPredictor(model, **kw)
    raise ValueError(f"unknown predictor {name!r}: expected {', '.join(PREDICTORS)}, "
                     f"{' or '.join(p + '<model>' for p in PREDICTOR_PREFIXES)}")
