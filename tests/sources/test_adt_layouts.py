"""ADT layouts people download: the ``*_with_skeleton`` files (the wearer's body proxy rendered into depth and masks)
and ADT 1.x subtour folders, on the real sample (tests/data/adt; tests/data/adt_skeleton: its real ``*_with_skeleton``
files; tests/data/adt_v1: the real v1.2 metadata.json).

The body proxy is checked against the raw files read independently (projectaria-tools' VRS reader, no adapter code):
the pixels that differ between ``segmentations_with_skeleton.vrs`` and ``segmentations.vrs`` carry the wearer's uid,
and there the ``*_with_skeleton`` depth is nearer than the depth without the body."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fourdpqa.params import SourceSpec, TracksParams
from fourdpqa.qa_tracks import qa_queries
from fourdpqa.sources import adt
from fourdpqa.tracks import sample_queries

DATA = Path(__file__).parents[1] / "data"
SAMPLE, SKELETON = DATA / "adt" / "aria_digital_twin_test_data", DATA / "adt_skeleton"
OPTS = {"width": 160, "height": 160, "focal": 100.0}
WEARER = "6810803442292599"


def with_skeleton_files(folder: Path) -> Path:
    """A copy of the sample sequence with its ``*_with_skeleton`` files beside the others, as ADT ships them."""
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns("metadata.json"))
    shutil.copy(SAMPLE / "metadata.json", folder / "metadata.json")
    for p in SKELETON.glob("*_with_skeleton.*"):
        shutil.copy(p, folder / p.name)
    return folder


@pytest.fixture(scope="module")
def seq(tmp_path_factory) -> Path:
    return with_skeleton_files(tmp_path_factory.mktemp("adt") / "aria_digital_twin_test_data")


@pytest.fixture(scope="module")
def scenes(seq):
    return {skel: adt.load_sequence(seq, "adt", {**OPTS, "with_skeletons": skel}) for skel in (True, False)}


def _raw(name: str, k: int) -> np.ndarray:
    from projectaria_tools.core import data_provider

    p = data_provider.create_vrs_data_provider(str((SKELETON if "skeleton" in name else SAMPLE) / name))
    return p.get_image_data_by_index(p.get_all_streams()[0], k)[0].to_numpy_array()


def test_raw_files_render_the_wearers_body():
    seg_skel, seg = _raw("segmentations_with_skeleton.vrs", 0), _raw("segmentations.vrs", 0)
    body = seg_skel != seg
    assert body.sum() > 50_000 and set(np.unique(seg_skel[body]).tolist()) == {int(WEARER)}
    d_skel, d = _raw("depth_images_with_skeleton.vrs", 0).astype(float), _raw("depth_images.vrs", 0).astype(float)
    nearer = (d_skel[body] < d[body] - 5).mean()  # millimetres
    print(f"ADT body proxy: {int(body.sum())} raw pixels (frame 0), {nearer:.2f} of them nearer in the skeleton depth")
    assert nearer > 0.9


def test_body_proxy_is_an_unposed_occluder_no_question_or_query_uses(scenes):
    skel, plain = scenes[True], scenes[False]
    body = skel.objects.filter(pl.col("category") == "camera wearer")
    assert body.height == 1 and body["adt_uid"].to_list() == [WEARER]
    bid = int(body["object_id"][0])
    # the other objects keep their ids, poses and tables
    others = skel.objects.filter(pl.col("object_id") != bid)
    drop = ("caption", "caption_frame", "caption_unique", "color")  # what is seen changes where the body hides things
    assert others.drop(drop).equals(plain.objects.drop(drop))
    # no pose row for the body; the other poses unchanged, their visibility only lowered (the body hides them)
    assert skel.object_poses.drop("visible_fraction").equals(plain.object_poses.drop("visible_fraction"))
    hidden = plain.object_poses["visible_fraction"].to_numpy() - skel.object_poses["visible_fraction"].to_numpy()
    assert hidden.min() > -0.02 and hidden.max() > 0.1
    i = skel.object_ids.index(bid)
    assert (skel.visible_fraction[i] == 0).all() and not np.isfinite(skel.world_from_object[i]).any()
    for k in range(skel.meta.n_frames):
        mask = skel.instances[k] == bid
        assert mask.sum() > 200
        assert np.isfinite(skel.depth[k][mask]).mean() > 0.95  # its depth stays: it hides what is behind it
        assert (plain.instances[k][mask] != bid).all()
    # no tracking query on the body: neither the Kubric-style sample nor the per-object QA queries
    queries, obj = sample_queries(skel, TracksParams(queries_per_video=400, sampling_stride=1, max_sampled_frac=0.5),
                                  np.random.default_rng(0))
    px = queries.xy.astype(int)
    hit = skel.instances[queries.frame, px[:, 1], px[:, 0]]
    assert len(queries) > 200 and not (hit == bid).any() and bid not in obj.tolist()
    q = qa_queries(skel, 1, np.random.default_rng(0))
    px = q.xy.astype(int)
    assert not (skel.instances[q.frame, px[:, 1], px[:, 0]] == bid).any()


def test_v1_subtour_layout_reads_like_the_v2_layout(tmp_path, seq, scenes):
    """The real v1.2 metadata.json (subtours) over the sample's files in their subtour folder: one video per
    subtour, converted to the same scene as the 2.0 layout."""
    sub = tmp_path / "adt" / "Apartment_release_golden_skeleton_seq100" / "1WM103600M1292_optitrack_release_golden_skeleton_seq100"
    shutil.copytree(seq, sub, ignore=shutil.ignore_patterns("metadata.json"))
    shutil.copy(DATA / "adt_v1" / "metadata.json", sub.parent / "metadata.json")
    videos = adt.raw_videos(tmp_path / "adt", SourceSpec(name="adt", kind="adt", root=str(tmp_path / "adt"), options=OPTS))
    assert [(v.video_id, v.path) for v in videos] == [(adt.video_id_for(sub), sub)]
    from fourdpqa.scene import in_memory

    v1 = in_memory(videos[0].load())
    v2 = scenes[True]
    assert v1.meta.extra["with_skeletons"] and v1.meta.extra["timestamps_ns"] == v2.meta.extra["timestamps_ns"]
    for name in ("cameras", "objects", "object_poses"):
        assert getattr(v1, name).equals(getattr(v2, name)), name
    np.testing.assert_array_equal(v1.depth, v2.depth)
    np.testing.assert_array_equal(v1.instances, v2.instances)
