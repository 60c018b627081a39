"""The standard scene's metadata and error type, below both ``fourdpqa.scene`` (the format, reading and
validation; it re-exports both) and ``fourdpqa.scene_frames`` (the frame files), which both need them."""

from __future__ import annotations

from dataclasses import dataclass, field

from fourdpqa.errors import BadInput

CHECKED = "checked.json"


class SceneError(BadInput):
    """A scene that does not conform to the standard format."""

    def __init__(self, video_id: str, file: str, problem: str):
        self.video_id, self.file, self.problem = video_id, file, problem
        super().__init__(f"video {video_id!r}: {file}: {problem}")


@dataclass(frozen=True)
class SceneMeta:
    video_id: str
    source: str
    fps: float
    width: int
    height: int
    n_frames: int
    split_hint: str | None = None
    units: str = "m"
    camera_convention: str = "opencv"
    world: str = "z_up"
    depth_kind: str = "z"
    extra: dict = field(default_factory=dict)
