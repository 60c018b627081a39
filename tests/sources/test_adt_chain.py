"""standardize -> tracks -> qa on the real ADT sample (2 ground-truth frames, 33 ms apart).

What its frames allow, with one 2-frame clip and indoor egocentric thresholds (``INDOOR`` below): camera
movement (1, "no movement": 2 mm of head motion), camera-object distance (2), object-object distance change (7,
"no change"), the single- and multi-view spatial types (8-11) and both point-tracking types (12, 13).
Not produced, and why: metric questions (0) need a path of at least ``translation_some_m`` (0.1 m) and nothing
moves that far in 33 ms; object rotation / direction / moved (3, 4, 6) need an object that clearly moves, and
the one object in motion (the wearer's fork) moves ~1.5 cm; agent questions (5) need a person other than the
wearer, who is the camera itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from fourdpqa.params import BaseParams, Params, QAParams, SourceSpec, StandardizeParams, TracksParams
from fourdpqa.stages import qa, standardize, tracks
from fourdpqa.thresholds import LabelThresholds

SAMPLE_ROOT = Path(__file__).parents[1] / "data" / "adt"
# Egocentric indoor scale: heads move centimetres and objects sit within a few metres.
INDOOR = LabelThresholds(translation_none_m=0.03, translation_some_m=0.1, rotation_none_deg=3.0, rotation_some_deg=10.0)


def test_whole_chain_on_the_adt_sample(tmp_path):
    params = Params(
        base=BaseParams(data_root=str(tmp_path / "data"), allowed_roots=[str(SAMPLE_ROOT), str(tmp_path)], device="cpu"),
        standardize=StandardizeParams(sources=[SourceSpec(name="adt", kind="adt", root=str(SAMPLE_ROOT),
                                                          options={"width": 128, "height": 128, "focal": 80.0})]),
        tracks=TracksParams(queries_per_video=64, sampling_stride=2),
        qa=QAParams(clip_frames=2, clips_per_video=1, questions_per_clip=60, out_width=128, out_height=128,
                    thresholds={"adt": INDOOR}),
    )
    for stage in (standardize, tracks, qa):
        report = stage.run(params)
        assert report.done == ["adt_aria_digital_twin_test_data"] and not report.quarantined, report.as_dict()
    t = np.load(params.data / "tracks" / "adt_aria_digital_twin_test_data.npz")
    print({k: t[k].shape for k in t.files})
    df = pl.read_parquet(params.data / "qa" / "adt_aria_digital_twin_test_data.parquet")
    counts = dict(df.group_by("question_type").len().sort("question_type").iter_rows())
    print("ADT chain QA types:", counts)
    assert {8, 9, 10, 11, 12, 13} <= set(counts), counts
    # 2 frames 33 ms apart, nothing moving 5 cm: motion labels would be guesses, so the motion types are skipped
    skipped = qa.read_skipped_counts(params, "adt_aria_digital_twin_test_data")
    assert not set(counts) & set(range(8)) and list(skipped.values()) == [8] and "nothing moves" in next(iter(skipped))
    assert not {0, 3, 4, 5, 6} & set(counts), counts
