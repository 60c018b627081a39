"""Typed question specs: what a question is about, one frozen dataclass per layout (issue 27.6).

A spec holds everything ``derive`` and :func:`fourdpqa.questions.base.answer_for` need (the objects, frames,
query word, option labels, ...). Generation builds them, the record stores :meth:`Spec.as_dict` in
``measurement.spec`` (``schemas.qa.SPEC``: a test keeps every field here declared there, with its type), and the
oracle reads them back with :meth:`Spec.from_dict`. Sequences are tuples, so a spec is hashable and never edited in
place: :meth:`Spec.with_` returns a changed copy.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

S = TypeVar("S", bound="Spec")


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, (list, tuple)) else value


def _listed(value: Any) -> Any:
    return [_listed(v) for v in value] if isinstance(value, (list, tuple)) else value


@dataclass(frozen=True)
class Spec:
    """Fields every layout has: the objects referred to (template-slot order), a yes/no query word, the MC
    options' labels in display order."""

    objects: tuple[int, ...] = ()
    query: str | None = None
    option_labels: tuple[str, ...] | None = None

    def with_(self: S, **changes: Any) -> S:
        """A copy with ``changes`` (sequences stored as tuples)."""
        return replace(self, **{k: _tupled(v) for k, v in changes.items()})

    def as_dict(self) -> dict[str, Any]:
        """The record's ``measurement.spec``: plain lists, unset fields left out."""
        return {f.name: _listed(getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) is not None}

    @classmethod
    def from_dict(cls: type[S], value: dict[str, Any]) -> S:
        """The spec a record stored (:meth:`as_dict`, or ``schemas.qa.present`` of the typed column)."""
        return cls(**{f.name: _tupled(value[f.name]) for f in fields(cls) if value.get(f.name) is not None})


@dataclass(frozen=True)
class ObjectSpec(Spec):
    """Camera movement (no object), camera-object and object-object distance change, rotation, direction."""


@dataclass(frozen=True)
class AgentSpec(Spec):
    """Agent motion: how an agent moves along its own heading (``move``) or turns (``turn``)."""

    aspect: str = "move"


@dataclass(frozen=True)
class MovedSpec(Spec):
    """Moved distance: a pair compared (yes/no) or, ``mode`` "which", the objects of an MC question."""

    mode: str | None = None


@dataclass(frozen=True)
class DepthSpec(Spec):
    """Depth comparison: ``objects[k]`` in clip frame ``frames[k]`` (one frame, or two for multi-view)."""

    frames: tuple[int, ...] = ()


@dataclass(frozen=True)
class PairsSpec(Spec):
    """Distance comparison: the distance of ``pairs[0]`` in clip frame ``frames[0]`` against ``pairs[1]`` in
    ``frames[1]``; multi-view ``layout`` "same" (one pair, two frames) or "cross" (two pairs), None for type 9."""

    pairs: tuple[tuple[int, ...], ...] = ()
    frames: tuple[int, ...] = ()
    layout: str | None = None


@dataclass(frozen=True)
class MetricSpec(Spec):
    """Metric question of ``kind`` over clip frames ``frames`` (first, last)."""

    kind: str = ""
    frames: tuple[int, ...] = ()


@dataclass(frozen=True)
class TrackSpec(Spec):
    """Point tracking: the query pixel ``xy`` in clip frame ``query_frame``, the ``targets`` asked, in the
    answer's (shuffled) ``order``; ``track`` indexes the stored tracks the answer was read from."""

    kind: str = "visual"
    query_frame: int = 0
    xy: tuple[int, ...] = ()  # a stored query pixel (integer pixel centre)
    order: tuple[int, ...] = ()
    targets: tuple[int, ...] = ()
    depth_tolerance: float = 0.99
    track: int | None = None


LAYOUTS: tuple[type[Spec], ...] = (ObjectSpec, AgentSpec, MovedSpec, DepthSpec, PairsSpec, MetricSpec, TrackSpec)
