"""The items of the per-video stages downstream of standardize: the videos whose standard scene exists."""

from __future__ import annotations

from fourdpqa import layout
from fourdpqa.params import Params
from fourdpqa.scene import SceneError, list_scenes, read_meta


def scene_items(params: Params) -> list[str]:
    """Video ids of the standard scenes present (what per-video stages after standardize process), sorted; a
    scene whose metadata cannot be read is listed under its folder name, so its stage quarantines it by name."""
    ids = []
    for scene_dir in list_scenes(layout.of(params).scenes):
        try:
            ids.append(read_meta(scene_dir).video_id)
        except SceneError:
            ids.append(scene_dir.name)
    return sorted(ids)
