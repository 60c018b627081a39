"""Geometry oracle: answers from the 4D ground truth of the scene (poses, depth, masks), not from the pixels.

It re-derives every answer with :func:`fourdpqa.oracle.oracle_answer`, so on our own benchmark it must score
100%; anything less is a bug in the generator, the assembly or the scorer — an end-to-end check of the chain.
"""

from __future__ import annotations

import errno
from pathlib import Path

from fourdpqa.layout import scene_dir
from fourdpqa.predictors.base import Predictor, Sample
from fourdpqa.scene import Scene, read_scene


class OraclePredictor(Predictor):
    """Reads ``<scenes_dir>/<video_id>/`` once per video (without RGB) and asks the geometry oracle."""

    name = "oracle"

    def __init__(self, scenes_dir: str | Path):
        self.scenes_dir = Path(scenes_dir)
        self._scene: Scene | None = None

    def predict(self, batch: list[Sample]) -> list[str]:
        from fourdpqa.oracle import oracle_answer

        return [oracle_answer(s.record, self._scene_of(s.record["video_id"])) for s in batch]

    def _scene_of(self, video_id: str) -> Scene:
        """Keep the last scene only: evaluation visits records grouped by video, and scenes are large."""
        if self._scene is None or self._scene.video_id != video_id:
            path = scene_dir(self.scenes_dir, video_id)
            if not path.is_dir():
                raise FileNotFoundError(errno.ENOENT, f"oracle: no scene directory {path} for video {video_id!r}")
            self._scene = read_scene(path, with_rgb=False)
        return self._scene
