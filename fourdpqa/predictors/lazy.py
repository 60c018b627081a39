"""Lazy motion baselines (issue 24.1): answer from what a motion detector knows, never from how things move.

* ``presence``: whether each object moves at all in the clip, and whether the camera moves;
* ``direction_blind``: for each object and for the camera, whether it translates and whether it rotates: the
  kind of motion, not its direction, sense or size.

A benchmark item that one of them answers above chance asks whether something moves, not which way. The knowledge
is measured here from the scene's poses, with rules of its own rather than the generator's labels: the largest
displacement of a centre from its clip-start position (metres) and the largest 3-D rotation angle from its
clip-start orientation (degrees, from the trace of R0^T Rt), each against the midpoint of the record's "clearly
none" and "clearly some" thresholds (translation thresholds scaled by the first frame's median depth when the
source says ``translation_scale: median_depth``).

Answers are the training split's: for every (question name, format, query word or option, knowledge of the objects
and camera involved) the predictor counts how often each answer was right, and answers a question with the answer
most often right for its knowledge. Rates given the knowledge are shrunk towards the rate without it (``PRIOR``
pseudo-counts), so a handful of training questions cannot make a rule of chance, while what the knowledge really
gives away (every question about a still object answered "no") outweighs the prior at once. Formats outside MC and
yes/no get the text-only prior's answer (:class:`~fourdpqa.predictors.blind.BlindPredictor`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fourdpqa.answers import LETTERS, normalize_text
from fourdpqa.layout import scene_dir
from fourdpqa.predictors.base import Predictor, Sample
from fourdpqa.predictors.blind import BlindPredictor
from fourdpqa.scene import Scene, read_scene
from schemas.qa import present

KNOWLEDGE = ("presence", "direction_blind")
PRIOR = 20.0  # pseudo-counts of the rate without knowledge in the rate given the knowledge
PREDICTOR_NAMES = {"presence": "motion_presence", "direction_blind": "direction_blind"}


@dataclass(frozen=True)
class Motion:
    """What a lazy observer sees of one thing over a clip."""

    translates: bool
    rotates: bool

    def seen(self, knowledge: str) -> tuple[bool, ...]:
        return (self.translates or self.rotates,) if knowledge == "presence" else (self.translates, self.rotates)


def rotation_angle_deg(r0: np.ndarray, rt: np.ndarray) -> np.ndarray:
    """(T,) angle in degrees of the rotations taking ``r0`` (3, 3) to each of ``rt`` (T, 3, 3)."""
    cos = (np.einsum("ij,tij->t", r0, rt) - 1.0) / 2.0  # trace(r0^T rt) = sum_ij r0_ij rt_ij
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _thresholds(record: Mapping[str, Any], scene: Scene, frames: list[int]) -> tuple[float, float]:
    th = present(record["threshold"])
    move = (th["translation_none_m"] + th["translation_some_m"]) / 2
    if th.get("translation_scale") == "median_depth":
        depth = np.asarray(scene.depth[frames[0]], dtype=np.float64)
        move *= float(np.median(depth[np.isfinite(depth) & (depth > 0)]))
    return move, (th["rotation_none_deg"] + th["rotation_some_deg"]) / 2


def clip_knowledge(scene: Scene, frames: list[int], move_m: float, turn_deg: float) -> tuple[Motion, dict[int, Motion]]:
    """(camera, {object id: motion}) over the clip ``frames`` (scene frame indices); objects without a pose in
    every clip frame are left out."""
    def motion(pos: np.ndarray, rot: np.ndarray) -> Motion:
        shift = float(np.linalg.norm(pos - pos[0], axis=-1).max())
        return Motion(shift >= move_m, float(rotation_angle_deg(rot[0], rot).max()) >= turn_deg)

    cam = scene.world_from_cam[frames]
    objects = {}
    for i, oid in enumerate(scene.object_ids):
        poses = scene.world_from_object[i, frames]
        if np.isfinite(poses).all():
            objects[int(oid)] = motion(poses[:, :3, 3], poses[:, :3, :3])
    return motion(cam[:, :3, 3], cam[:, :3, :3]), objects


class LazyMotionPredictor(Predictor):
    """Answers with the training split's answer rates given ``knowledge`` (``presence`` or ``direction_blind``)
    of the clip's motion, read from ``<scenes_dir>/<video>/``."""

    def __init__(self, scenes_dir: str | Path, knowledge: str):
        if knowledge not in KNOWLEDGE:
            raise ValueError(f"unknown lazy knowledge {knowledge!r}: expected one of {KNOWLEDGE}")
        self.scenes_dir, self.knowledge, self.name = Path(scenes_dir), knowledge, PREDICTOR_NAMES[knowledge]
        self.counts: dict[tuple, Counter] = defaultdict(Counter)  # key -> {answer or option: right, (shown, o): n}
        self.prior = BlindPredictor()
        self._scene: Scene | None = None
        self._known: dict[tuple, tuple[Motion, dict[int, Motion]]] = {}

    # ------------------------------------------------------------------------------------------------- knowledge

    def _scene_of(self, video_id: str) -> Scene:
        if self._scene is None or self._scene.video_id != video_id:
            path = scene_dir(self.scenes_dir, video_id)
            if not path.is_dir():
                raise FileNotFoundError(f"{self.name}: no scene directory {path} for video {video_id!r}")
            self._scene = read_scene(path, with_rgb=False)
        return self._scene

    def _knowledge(self, record: Mapping[str, Any]) -> tuple[Motion, dict[int, Motion]]:
        frames = [int(f) for f in record["clip_frames"]]
        key = (record["video_id"], tuple(frames))
        if key not in self._known:
            scene = self._scene_of(record["video_id"])
            self._known[key] = clip_knowledge(scene, frames, *_thresholds(record, scene, frames))
        return self._known[key]

    def _seen(self, record: Mapping[str, Any], object_ids: Iterable[int]) -> tuple:
        cam, objects = self._knowledge(record)
        none = Motion(False, False)
        return (cam.seen(self.knowledge), tuple(objects.get(int(o), none).seen(self.knowledge) for o in object_ids))

    # ----------------------------------------------------------------------------------------------------- keys

    def _keys(self, record: Mapping[str, Any]) -> list[tuple]:
        """(the key with the knowledge, the key without it): (name, format, query, knowledge), (name, format, query)."""
        spec = present(record["measurement"] or {}).get("spec") or {}
        base = (record["question_name"], record["answer_format"], spec.get("query"))
        if record["answer_format"] == "mc" and str(record["question_name"]) == "moved_distance":
            # options are objects: what is known is each option's motion, the options in any order
            return [(*base, tuple(sorted(self._option_seen(record, spec)))), base]
        return [(*base, self._seen(record, spec.get("objects") or record["object_ids"])), base]

    def _option_seen(self, record: Mapping[str, Any], spec: Mapping[str, Any]) -> list[tuple]:
        return [self._seen(record, [int(lab.split(":")[1])])[1][0] for lab in spec.get("option_labels") or []]

    def _option_features(self, record: Mapping[str, Any]) -> list[Any]:
        """What tells MC options apart to this observer: the option's label, or the known motion of the object an
        object option names."""
        spec = present(record["measurement"] or {}).get("spec") or {}
        labels = list(spec.get("option_labels") or [])
        if len(labels) != len(record["options"]):  # a record without its option labels: the option texts
            return [normalize_text(o) for o in record["options"]]
        return self._option_seen(record, spec) if str(record["question_name"]) == "moved_distance" else labels

    # ---------------------------------------------------------------------------------------------- fit, predict

    def fit(self, records: Iterable[Mapping[str, Any]]) -> "LazyMotionPredictor":
        records = list(records)
        self.prior.fit(records)
        for r in sorted(records, key=lambda r: (r["video_id"], r["id"])):  # one scene read per video
            fmt = r["answer_format"]
            if fmt not in ("mc", "yn"):
                continue
            for key in self._keys(r):
                if fmt == "yn":
                    self.counts[key][normalize_text(r["answer"])] += 1
                    continue
                features = self._option_features(r)
                right = features[LETTERS.index(str(r["answer"]))]
                self.counts[key].update(("shown", f) for f in features)
                self.counts[key][("right", right)] += 1
        return self

    def predict(self, batch: list[Sample]) -> list[str]:
        return [self._answer(s.record) for s in batch]

    def _answer(self, record: Mapping[str, Any]) -> str:
        fmt = record["answer_format"]
        if fmt not in ("mc", "yn"):
            return self.prior.predict([Sample([], "", record)])[0]
        known, text = self._keys(record)
        if fmt == "yn":
            yes = _shrunk(self.counts[known]["yes"], sum(self.counts[known].values()),
                          _shrunk(self.counts[text]["yes"], sum(self.counts[text].values()), 0.5))
            return "yes" if yes > 0.5 else "no"  # ties -> "no"
        rates = []
        for f in self._option_features(record):
            prior = _shrunk(self.counts[text][("right", f)], self.counts[text][("shown", f)], 0.0)
            rates.append(_shrunk(self.counts[known][("right", f)], self.counts[known][("shown", f)], prior))
        return LETTERS[int(np.argmax(rates))]  # ties -> the first of them


def _shrunk(hits: float, n: float, prior: float) -> float:
    """hits / n pulled towards ``prior`` by :data:`PRIOR` pseudo-counts (``prior`` itself when n = 0)."""
    return (hits + PRIOR * prior) / (n + PRIOR)
