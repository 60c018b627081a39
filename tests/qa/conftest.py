"""Small analytic scenes with known camera/object motion for the QA tests (rendered by tests.helpers.track_scenes)."""

from __future__ import annotations

import numpy as np
import pytest

from fourdpqa.geometry import look_at, pose_matrix, yaw_to_quat
from fourdpqa.params import Params, QAParams
from fourdpqa.thresholds import LabelThresholds
from tests.helpers.track_scenes import Box, make_scene

N_T = 10


def obj_track(start, velocity=(0.0, 0.0, 0.0), yaw0: float = 0.0, yaw_rate: float = 0.0, n_t: int = N_T) -> np.ndarray:
    """(T, 4, 4) poses: constant velocity (m/frame) and yaw rate (rad/frame) about world z."""
    t = np.arange(n_t)[:, None]
    pos = np.asarray(start, float) + t * np.asarray(velocity, float)
    return pose_matrix(yaw_to_quat(yaw0 + yaw_rate * np.arange(n_t, dtype=float)), pos)


def cam_track(eye0, target_offset=(6.0, 0.0, -1.0), velocity=(0.0, 0.0, 0.0), yaw_rate: float = 0.0, n_t: int = N_T) -> np.ndarray:
    """(T, 4, 4) OpenCV cameras: centre moves with ``velocity`` (m/frame); the viewing direction (initially
    ``target_offset``) turns about world z by ``yaw_rate`` rad/frame (pan left when positive)."""
    out = []
    for t in range(n_t):
        eye = np.asarray(eye0, float) + t * np.asarray(velocity, float)
        a = yaw_rate * t
        off = np.asarray(target_offset, float)
        rot = np.array([off[0] * np.cos(a) - off[1] * np.sin(a), off[0] * np.sin(a) + off[1] * np.cos(a), off[2]])
        out.append(look_at(eye, eye + rot))
    return np.stack(out)


def build_scene(cams: np.ndarray, objects: list[tuple[tuple, np.ndarray]], captions: list[str] | None = None,
                width: int = 64, height: int = 48, video_id: str = "toy_00001", categories: list[str] | None = None):
    """A rendered toy scene; objects are boxes of category "box" unless ``categories`` names them."""
    import polars as pl

    boxes = [Box(object_id=i + 1, size=size, world_from_object=poses) for i, (size, poses) in enumerate(objects)]
    scene = make_scene(cams, boxes, width=width, height=height, f=0.8 * width, video_id=video_id)
    if captions:
        scene.objects = scene.objects.with_columns(pl.Series("caption", captions))
    if categories:
        scene.objects = scene.objects.with_columns(pl.Series("category", categories))
    return scene


def stored_tracks_of(scene, seed: int = 0):
    """The tracks the tracks stage would store for ``scene`` (Kubric-style sample + the QA queries)."""
    from fourdpqa.params import TracksParams
    from fourdpqa.qa_tracks import merge_queries, qa_queries
    from fourdpqa.tracks import compute_tracks, sample_queries

    rng = np.random.default_rng(seed)
    queries, _ = sample_queries(scene, TracksParams(sampling_stride=2), rng)
    queries = merge_queries(queries, qa_queries(scene, 2, rng))
    return compute_tracks(scene, queries, device="cpu")


@pytest.fixture
def params() -> Params:
    th = LabelThresholds(min_object_pixels=4)
    return Params(qa=QAParams(clip_frames=N_T, clips_per_video=1, questions_per_clip=60,
                              thresholds={"default": th}))


@pytest.fixture
def th() -> LabelThresholds:
    return LabelThresholds(min_object_pixels=4)
