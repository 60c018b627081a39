"""standardize -> tracks -> qa on the HOT3D image fixture (tests/helpers/hot3d_fixture.py: the real ADT Aria
recording paired with the HOT3D P0003 ground truth re-timed onto it; 3 RGB frames, 33 ms apart; one object, the
cellphone, whose mesh is the only public one).

Produced, with one 3-frame clip and indoor egocentric thresholds: camera movement (1), camera-object distance (2)
and both point-tracking types (12, 13; query points lie on the phone only: the background has no depth).
Not produced, and why:
- 0 (metric): needs a path of at least ``translation_some_m`` (0.1 m); nothing moves that far in 67 ms;
- 3, 4, 6 (object rotation / direction / moved): the phone lies still in these frames (< 1 mm);
- 5 (agents): HOT3D has no people but the wearer; the hands are not rendered (MANO model not distributable);
- 7-11 (object-object distance change, depth order, relative distances, single- and multi-view): need two or more
  visible objects, and only the phone's mesh is public (the other five objects of the sequence are left out).
With a full HOT3D download (all meshes, ~2 min sequences) these follow from the same code path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from fourdpqa.params import BaseParams, Params, QAParams, SourceSpec, StandardizeParams, TracksParams
from fourdpqa.stages import qa, standardize, tracks
from fourdpqa.thresholds import LabelThresholds
from tests.helpers.hot3d_fixture import make_sequence

INDOOR = LabelThresholds(translation_none_m=0.03, translation_some_m=0.1, rotation_none_deg=3.0, rotation_some_deg=10.0)
VIDEO = "hot3d_P0003_c701bd11"


def test_whole_chain_on_the_hot3d_fixture(tmp_path):
    raw = tmp_path / "raw"
    make_sequence(raw)
    params = Params(
        base=BaseParams(data_root=str(tmp_path / "data"), allowed_roots=[str(tmp_path), str(Path(__file__).parents[1] / "data")],
                        device="cpu"),
        standardize=StandardizeParams(sources=[SourceSpec(name="hot3d", kind="hot3d", root=str(raw),
                                                          options={"width": 96, "height": 96, "focal": 60.0, "device": "cpu"})]),
        tracks=TracksParams(queries_per_video=64, sampling_stride=2),
        qa=QAParams(clip_frames=3, clips_per_video=1, questions_per_clip=60, out_width=96, out_height=96,
                    thresholds={"hot3d": INDOOR}),
    )
    for stage in (standardize, tracks, qa):
        report = stage.run(params)
        assert report.done == [VIDEO] and not report.quarantined, report.as_dict()
    t = np.load(params.data / "tracks" / f"{VIDEO}.npz")
    print({k: t[k].shape for k in t.files})
    df = pl.read_parquet(params.data / "qa" / f"{VIDEO}.parquet")
    counts = dict(df.group_by("question_type").len().sort("question_type").iter_rows())
    print("HOT3D chain QA types:", counts)
    assert {12, 13} <= set(counts), counts
    # 3 frames 67 ms apart, nothing moving 5 cm: motion labels would be guesses, so the motion types are skipped
    skipped = qa.read_skipped_counts(params, VIDEO)
    assert not set(counts) & set(range(8)) and list(skipped.values()) == [8] and "nothing moves" in next(iter(skipped))
    assert not {0, 3, 4, 5, 6, 7, 8, 9, 10, 11} & set(counts), counts
