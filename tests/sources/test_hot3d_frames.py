"""Reading HOT3D recordings: the Quest3 path (pyvrs, as HOT3D's QuestDataProvider) and the Aria path
(projectaria-tools, TIME_CODE clock) on a real Aria VRS (the ADT sample's video.vrs), checked against
projectaria-tools' own per-stream reading; frame matching against a brute-force nearest search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fourdpqa.scene import SceneError
from fourdpqa.sources.hot3d_frames import match_frames, nearest, open_recording

VRS = Path(__file__).parents[1] / "data" / "adt" / "aria_digital_twin_test_data" / "video.vrs"


def _projectaria(stream: str, domain: str) -> tuple[np.ndarray, list[np.ndarray]]:
    from projectaria_tools.core import data_provider
    from projectaria_tools.core.sensor_data import TimeDomain
    from projectaria_tools.core.stream_id import StreamId

    p, sid = data_provider.create_vrs_data_provider(str(VRS)), StreamId(stream)
    ts = np.asarray(p.get_timestamps_ns(sid, getattr(TimeDomain, domain)), np.int64)
    return ts, [p.get_image_data_by_index(sid, i)[0].to_numpy_array() for i in range(p.get_num_data(sid))]


@pytest.mark.parametrize(("headset", "stream", "domain"), [("Quest3", "1201-1", "RECORD_TIME"), ("Aria", "214-1", "TIME_CODE")])
def test_recording_frames_and_timestamps_match_projectaria(headset, stream, domain):
    rec = open_recording("v", VRS, headset, stream)
    ts, images = _projectaria(stream, domain)
    np.testing.assert_allclose(rec.timestamps, ts, atol=1000)  # pyvrs gives float seconds: sub-microsecond rounding
    for i, img in enumerate(images):
        np.testing.assert_array_equal(rec.read(i), img)


@pytest.mark.parametrize("headset", ["Quest3", "Aria"])
def test_a_recording_without_the_stream_is_refused_naming_it(headset):
    with pytest.raises(SceneError, match=r"recording\.vrs|video\.vrs") as err:
        open_recording("v", VRS, headset, "1201-9")
    assert "no image stream 1201-9" in str(err.value)


def test_nearest_and_frame_matching_agree_with_brute_force():
    rng = np.random.default_rng(0)
    gt = np.sort(rng.choice(10**7, 50, replace=False)).astype(np.int64)
    t = rng.integers(-10**5, 10**7 + 10**5, 400)
    got = nearest(gt, t, 20_000)
    d = np.abs(gt[None] - t[:, None])
    want = np.where(d.min(1) <= 20_000, d.argmin(1), -1)
    np.testing.assert_array_equal(got, want)
    frames = gt[::2] + 500  # every other pose, 0.5 us later; plus one frame before and one after the ground truth
    keep, pose, dropped = match_frames("v", VRS, np.concatenate([[gt[0] - 10**6], frames, [gt[-1] + 10**6]]), gt, 1000)
    assert dropped == 2 and keep.tolist() == list(range(1, 26)) and pose.tolist() == list(range(0, 50, 2))
    with pytest.raises(SceneError, match="no headset pose within"):
        match_frames("v", VRS, np.array([gt[0], (gt[0] + gt[1]) // 2]), gt, 10)
