"""Source adapters (raw dataset layouts -> standard scenes) and the built-in procedural source.

``procedural`` + ``render`` generate Kubric-format raw dumps; every other module is an adapter for one
``standardize.sources[].kind``. An adapter module exposes one function::

    def raw_videos(root: Path, spec: SourceSpec) -> list[RawVideo]

listing the videos under ``root`` cheaply (no decoding); each :class:`RawVideo` carries a ``load`` callable that
does the conversion and raises :class:`fourdpqa.scene.SceneError` naming the video, file and problem.
Adapters are imported lazily by kind (``ADAPTER_MODULES``), so a heavy optional dependency of one source
(e.g. projectaria-tools) is only needed when that source is configured.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fourdpqa.vocabulary import SOURCE_KINDS

if TYPE_CHECKING:
    from fourdpqa.params import SourceSpec
    from fourdpqa.scene import Scene

# kind -> module implementing ``raw_videos(root, spec)``; one line per source kind, kept in the leaf
# fourdpqa.vocabulary so that params can check kinds without importing the adapters' package.
ADAPTER_MODULES = SOURCE_KINDS


@dataclass(frozen=True)
class RawVideo:
    """One raw video of a configured source, before conversion."""

    video_id: str
    source: str  # the source's ``name`` in params (not its kind)
    path: Path  # the raw directory or file the adapter reads; its content is fingerprinted
    load: Callable[[], Scene]
    # digest of the raw inputs where hashing ``path`` would be wrong or slow (one sequence inside split-wide
    # archives, e.g. SHIFT zips); None = hash every file under ``path``
    digest: Callable[[], bytes] | None = None


def adapter_raw_videos(root: Path, spec: SourceSpec) -> list[RawVideo]:
    """Videos of one source through the adapter registered for ``spec.kind``. Bad input met while listing (a
    truncated split-wide archive, say) does not stop the other sources: the source then lists one item,
    ``<name>_unlisted``, whose conversion raises that error, so it is quarantined with the file and the problem."""
    from fourdpqa.errors import BadInput

    module = importlib.import_module(ADAPTER_MODULES[spec.kind])
    try:
        return module.raw_videos(root, spec)
    except BadInput as exc:
        error, message = exc, f"unlisted: {exc}".encode()

        def fail() -> Scene:
            raise error

        return [RawVideo(f"{spec.name}_unlisted", spec.name, root, fail, digest=lambda: message)]


def check_options(spec: SourceSpec, allowed: dict[str, Any]) -> dict[str, Any]:
    """``spec.options`` merged over an adapter's defaults and the frame-selection options every adapter takes
    (``frame_plan``); an unknown option is a configuration error."""
    from fourdpqa.sources.frame_plan import selection_options

    allowed = {**selection_options(spec.kind), **allowed}
    unknown = sorted(set(spec.options) - set(allowed))
    if unknown:
        raise ValueError(f"standardize.sources[{spec.name!r}] (kind {spec.kind}): unknown options {unknown}; "
                         f"known: {sorted(allowed)}")
    return {**allowed, **spec.options}
