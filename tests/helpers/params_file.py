"""A small params.yaml for tests that run stages: one procedural source under ``<root>/data``, overridable per
section (values merge into the section), so every test states only what it changes."""

from __future__ import annotations

from pathlib import Path

import yaml

# one 8-frame video through generate -> standardize -> tracks -> qa in seconds
TINY_RUN: dict[str, dict] = {
    "base": {"device": "cpu", "num_threads": 1},
    "generate": {"n_videos": 1, "n_frames": 8, "width": 32, "height": 32, "max_objects": 2},
    "tracks": {"queries_per_video": 16},
    "qa": {"clip_frames": 8, "clips_per_video": 1, "questions_per_clip": 12},
}


def write_params_file(root: Path, *layers: dict, **sections: dict) -> Path:
    """``<root>/params.yaml`` with the data root and the procedural source, then each of ``layers`` and finally
    ``sections`` merged in section by section (a later value wins); returns its path."""
    data = root / "data"
    raw: dict = {
        "base": {"data_root": str(data), "allowed_roots": [str(data)]},
        "standardize": {"sources": [{"name": "procedural", "kind": "kubric", "root": str(data / "raw" / "procedural")}]},
    }
    for layer in (*layers, sections):
        for section, values in layer.items():
            raw[section] = {**raw.get(section, {}), **values}
    root.mkdir(parents=True, exist_ok=True)
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path
