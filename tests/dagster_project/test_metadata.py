"""Light metadata: every image in the event log is a thumbnail under 100 KB and the full image is a file linked by
path; checked on the metadata of materialized standard_scenes / point_tracks / qa_pairs partitions of a video large
enough that the full-size previews would not fit."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import cv2
import dagster as dg
import numpy as np

import assets.standardize as standardize_assets
from assets.generate import procedural_videos
from assets.metadata import MAX_ENTRY_BYTES, image_entries, thumbnail_uri, thumbnails_markdown
from assets.partitions import videos
from assets.qa import qa_pairs
from assets.resources import PipelineParams
from assets.tracks import point_tracks
from fourdpqa.params import load_params
from tests.helpers.params_file import TINY_RUN, write_params_file

URI = re.compile(r"data:image/(jpeg|png);base64,([A-Za-z0-9+/=]+)")


def _decoded(uri_text: str) -> list[np.ndarray]:
    """Every inline image of a markdown text, decoded independently of the encoder (RGB order is irrelevant)."""
    return [cv2.imdecode(np.frombuffer(base64.b64decode(m.group(2)), np.uint8), cv2.IMREAD_COLOR)
            for m in URI.finditer(uri_text)]


def _noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)  # incompressible


def test_thumbnail_of_an_incompressible_image_fits_the_budget():
    image = _noise(600, 800)
    uri = thumbnail_uri(image, max_width=800, max_bytes=50_000)
    (thumb,) = _decoded(uri)
    assert len(uri) <= 50_000 and thumb.shape[1] < 800
    assert abs(thumb.shape[0] / thumb.shape[1] - 0.75) < 0.01  # aspect ratio kept
    flat = np.full((300, 400, 3), 200, np.uint8)  # a plot-like image stays at full width (and becomes a PNG)
    (thumb,) = _decoded(thumbnail_uri(flat, max_width=512))
    assert thumb.shape[:2] == (300, 400)


def test_image_entries_write_the_full_image_and_link_it(tmp_path):
    image = _noise(600, 2400)
    meta = image_entries("strip", image, "a strip", tmp_path / "full" / "strip.png", max_width=768)
    full = Path(meta["strip_file"].value)
    assert full.exists() and cv2.imread(str(full)).shape == (600, 2400, 3) and full.stat().st_size > MAX_ENTRY_BYTES
    assert len(dg.serialize_value(meta["strip"])) <= MAX_ENTRY_BYTES
    shared = thumbnails_markdown([image] * 5, [f"s{i}" for i in range(5)])
    assert sum(len(s) for s in shared) <= MAX_ENTRY_BYTES - 10_000 and len(_decoded("".join(shared))) == 5


def test_every_metadata_entry_of_per_video_partitions_is_at_most_100kb(tmp_path):
    params_file = write_params_file(tmp_path, TINY_RUN, generate={"width": 192, "height": 144})
    resources = {"pipeline": PipelineParams(params_path=str(params_file))}
    instance = dg.DagsterInstance.ephemeral()
    ingest, scenes = standardize_assets.build(load_params(params_file))
    assert dg.materialize([procedural_videos, ingest], instance=instance, resources=resources).success
    (key,) = instance.get_dynamic_partitions(videos.name)
    result = dg.materialize([scenes, point_tracks, qa_pairs], partition_key=key, instance=instance, resources=resources)
    assert result.success
    metas = {name: result.asset_materializations_for_node(name)[0].metadata
             for name in ("standard_scenes", "point_tracks", "qa_pairs")}
    sizes = {(asset, k): len(dg.serialize_value(v)) for asset, meta in metas.items() for k, v in meta.items()}
    assert max(sizes.values()) <= MAX_ENTRY_BYTES, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]

    # the images are there, each with its full-size file on disk, larger than what the event log holds
    samples = metas["qa_pairs"]["samples"].value
    strips = sorted(Path(metas["qa_pairs"]["samples_folder"].value).glob("qa_*.png"))
    assert len(_decoded(samples)) == len(strips) == samples.count("**Answer:**") >= 3
    assert sum(p.stat().st_size for p in strips) > MAX_ENTRY_BYTES  # the old inline PNGs would not have fit
    for asset, key_name in (("standard_scenes", "preview"), ("point_tracks", "overlay")):
        (thumb,) = _decoded(metas[asset][key_name].value)
        full = cv2.imread(metas[asset][f"{key_name}_file"].value)
        assert thumb.shape[1] <= full.shape[1] and abs(thumb.shape[0] / thumb.shape[1] - full.shape[0] / full.shape[1]) < 0.02
