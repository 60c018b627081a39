"""Image frames of a HOT3D ``recording.vrs`` and the ground-truth timestamps they are matched to.

Read as HOT3D's own data providers do (hot3d/data_loaders/{Aria,Quest}DataProvider.py): Aria recordings through
projectaria-tools' VRS data provider, timestamps in the ``TIME_CODE`` domain of the ground truth; Quest3
recordings through pyvrs (``SyncVRSReader``, greyscale image blocks, record timestamps in seconds). A frame is kept
when the headset trajectory has a pose within ``tol_ns`` of it; frames before or after the ground truth are
dropped and counted, a frame inside it without a pose means a truncated or inconsistent sequence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fourdpqa.scene import SceneError
from fourdpqa.sources.aria import check_vrs, projectaria

DEFAULT_STREAM = {"Aria": "214-1", "Quest3": "1201-1"}  # RGB camera / left SLAM camera (the one with most boxes)


@dataclass
class Recording:
    """One image stream of a recording: per-frame timestamps and a reader for frame ``i``."""

    timestamps: np.ndarray  # (N,) int64 ns in the ground-truth time domain
    read: Callable[[int], np.ndarray]  # i -> (H, W) or (H, W, 3) uint8 raw (fisheye) image


def open_recording(vid: str, path: Path, headset: str, stream: str) -> Recording:
    """The image stream ``stream`` of ``path``; a missing stream or an unreadable file raises :class:`SceneError`."""
    if not path.exists():
        raise SceneError(vid, str(path), "missing file: no images (HOT3D frames exist only in recording.vrs)")
    return _aria(vid, path, stream) if headset == "Aria" else _quest(vid, path, stream)


def _aria(vid: str, path: Path, stream: str) -> Recording:
    from projectaria_tools.core.sensor_data import TimeDomain

    check_vrs(vid, path)
    pa = projectaria()
    provider = pa.data_provider.create_vrs_data_provider(str(path))
    streams = sorted(str(s) for s in provider.get_all_streams())
    if stream not in streams:
        raise SceneError(vid, str(path), f"no image stream {stream} in the recording (streams: {streams})")
    sid = pa.StreamId(stream)
    ts = np.asarray(provider.get_timestamps_ns(sid, TimeDomain.TIME_CODE), np.int64)
    if not len(ts):
        raise SceneError(vid, str(path), f"stream {stream} has no frames with TIME_CODE timestamps (the ground-truth clock)")

    def read(i: int) -> np.ndarray:
        data = provider.get_image_data_by_index(sid, i)
        if data is None or data[0] is None:
            raise SceneError(vid, str(path), f"stream {stream}: frame {i} cannot be decoded (truncated file?)")
        return np.asarray(data[0].to_numpy_array())

    return Recording(ts, read)


def _quest(vid: str, path: Path, stream: str) -> Recording:
    try:
        from pyvrs import ImageConversion, SyncVRSReader
    except ImportError as exc:  # pragma: no cover - exercised only without the optional dependency
        raise ImportError("HOT3D Quest3 recordings need pyvrs: pip install 'fourdpqa[aria]'") from exc
    try:
        reader = SyncVRSReader(str(path))
    except RuntimeError as exc:
        raise SceneError(vid, str(path), f"unreadable VRS file: {exc}") from exc
    reader.set_image_conversion(ImageConversion.NORMALIZE)
    streams = sorted(str(s) for s in reader.stream_ids)
    if stream not in streams:
        raise SceneError(vid, str(path), f"no image stream {stream} in the recording (streams: {streams})")
    records = reader.filtered_by_fields(stream_ids={stream}, record_types={"data"})
    ts = np.array([round(float(t) * 1e9) for t in records.get_timestamp_list()], np.int64)
    if not len(ts):
        raise SceneError(vid, str(path), f"stream {stream} has no data records")

    def read(i: int) -> np.ndarray:
        blocks = records[i].image_blocks
        if not blocks:
            raise SceneError(vid, str(path), f"stream {stream}: record {i} holds no image")
        return np.asarray(blocks[0])

    return Recording(ts, read)


def nearest(sorted_ts: np.ndarray, t: np.ndarray, tol_ns: int) -> np.ndarray:
    """(N,) index into ``sorted_ts`` (M,) of the closest timestamp to each of ``t`` (N,), -1 beyond ``tol_ns``."""
    if not len(sorted_ts):
        return np.full(len(t), -1, np.int64)
    hi = np.clip(np.searchsorted(sorted_ts, t), 1, max(1, len(sorted_ts) - 1))
    lo = hi - 1
    hi = np.minimum(hi, len(sorted_ts) - 1)
    pick = np.where(np.abs(sorted_ts[hi] - t) < np.abs(sorted_ts[lo] - t), hi, lo)
    return np.where(np.abs(sorted_ts[pick] - t) <= tol_ns, pick, -1)


def match_frames(vid: str, path: Path, frame_ts: np.ndarray, device_ts: np.ndarray, tol_ns: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(frame indices kept, index of each one's headset pose, frames dropped outside the ground truth)."""
    inside = np.flatnonzero((frame_ts >= device_ts[0] - tol_ns) & (frame_ts <= device_ts[-1] + tol_ns))
    if not len(inside):
        raise SceneError(vid, str(path), f"no frame lies within the ground-truth span [{device_ts[0]}, {device_ts[-1]}] ns "
                         "(recording and ground truth of different sequences?)")
    pose = nearest(device_ts, frame_ts[inside], tol_ns)
    if (pose < 0).any():
        bad = inside[pose < 0]
        raise SceneError(vid, str(path), f"frames {bad[:5].tolist()} have no headset pose within {tol_ns / 1e6} ms "
                         "in headset_trajectory.csv (missing or truncated ground truth)")
    return inside, pose, len(frame_ts) - len(inside)
