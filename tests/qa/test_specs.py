"""Typed question specs (issue 27.6): every layout's fields are declared, with their types, in the record schema's
spec struct (``schemas.qa.SPEC``), and a generated spec comes back equal from the record it is stored in."""

from __future__ import annotations

import types
import typing

import numpy as np
import polars as pl
import pytest

from fourdpqa.motion import clip_motion
from fourdpqa.params import QAParams
from fourdpqa.questions import TYPES, generate_clip, to_record
from fourdpqa.questions.base import Ctx
from fourdpqa.questions.specs import LAYOUTS
from fourdpqa.seeding import rng
from schemas.qa import SPEC, present
from tests.qa.conftest import N_T, stored_tracks_of
from tests.qa.test_types import TH, rich  # noqa: F401  (the module fixture: a scene with every kind of motion)

SCALARS = {int: pl.Int64, str: pl.Utf8, float: pl.Float64}


def polars_type(hint) -> pl.DataType:
    """The polars dtype a spec field's type hint is stored as (``X | None`` as X, tuples as lists)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return polars_type(args[0])
    if typing.get_origin(hint) is tuple:
        return pl.List(polars_type(args[0]))
    return SCALARS[hint]


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda c: c.__name__)
def test_every_spec_field_is_declared_in_the_record_schema_with_its_type(layout):
    declared = dict(SPEC.to_schema())
    for name, hint in typing.get_type_hints(layout).items():
        assert name in declared, f"{layout.__name__}.{name} is not a field of schemas.qa.SPEC"
        assert polars_type(hint) == declared[name], (layout.__name__, name)


def test_every_question_type_reads_its_layout_back(rich):
    assert {qt.spec_type for qt in TYPES.values()} == set(LAYOUTS)
    tracks = stored_tracks_of(rich)
    m = clip_motion(rich, np.arange(N_T))
    qa = QAParams(clip_frames=N_T, questions_per_clip=60, thresholds={"default": TH})
    drafts = generate_clip(Ctx(rich, m, TH, qa, rng(0, "specs"), tracks=tracks))
    assert {d.question_type for d in drafts} >= {0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
    for d in drafts:
        rec = to_record(d, rid="r", video_id=rich.video_id, source="toy", clip_id="c", clip_frames=list(range(N_T)),
                        fps=10.0, seed=0)
        stored = present(rec["measurement"])["spec"]
        assert isinstance(d.spec, TYPES[d.question_type].spec_type)
        assert TYPES[d.question_type].spec_type.from_dict(stored) == d.spec, d.question_type
