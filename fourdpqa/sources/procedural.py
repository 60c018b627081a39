"""The built-in procedural source: Kubric-like scene specs drawn from a seed, their motions, and the raw dump.

A :class:`VideoSpec` is a small, JSON-serialisable description of one video (objects built from analytic parts,
their motion programs, the camera program); :func:`object_poses` / :func:`camera_poses` turn it into per-frame
poses, :mod:`fourdpqa.sources.render` rasterises it, and :mod:`fourdpqa.sources.kubric_dump` writes the result in the
Kubric *worker* layout (Blender camera axes, wxyz quaternions, ray-distance depth, palette segmentation) so that
``standardize`` performs a real convention conversion.

Conventions of the spec (all world-frame, +z up, metres, radians unless the name says ``_deg``):
- object frame: +x front, +y left, +z up, origin at the centre of its 3D box; objects rest on z = 0.
- yaw is counter-clockwise seen from above; ``rotate_cw`` therefore has a negative yaw rate.
- camera program: ``pan_deg > 0`` turns the camera left (CCW about world z), ``tilt_deg > 0`` tilts it up,
  ``roll_deg > 0`` rolls it clockwise as seen from behind the camera, ``orbit_deg > 0`` moves it CCW around the
  target, ``move_cam`` is the total translation expressed in the *first* camera frame (OpenCV: x right, y down,
  z forward). All of them progress linearly in time (constant velocity), except ``push_pull``: a dolly whose
  ``move_cam`` is reached at mid-video and undone by the end (in then out, or out then in).
- ``pass_by`` objects translate at constant velocity on a straight path whose closest approach to another
  (non-translating) object falls at mid-video, so their distance decreases then increases.
- ``convoy`` objects travel with the velocity of an object placed before them that moves straight (translate,
  forward, backward, pass_by, convoy), beside or behind it: two moving objects whose distance stays the same, so
  "the distance stays about the same" is also the answer about things that move (issue 24.1).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from fourdpqa import geometry
from fourdpqa.seeding import numbered_rng
from fourdpqa.sources.shapes import Part, build_parts
from fourdpqa.vocabulary import CAMERA_MOTIONS as CAMERA_KINDS, OBJECT_MOTIONS as OBJECT_KINDS

if TYPE_CHECKING:
    from fourdpqa.params import GenerateParams

GENERATOR_VERSION = "procedural-1"
COMBINABLE = ("pan", "tilt", "roll", "dolly", "truck", "pedestal", "orbit")
CATEGORIES = ("car", "box", "chair", "ball", "can", "person")

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (200, 35, 35), "green": (40, 150, 55), "blue": (35, 75, 205), "yellow": (235, 205, 35),
    "orange": (240, 120, 25), "purple": (125, 55, 170), "white": (238, 238, 238), "brown": (115, 75, 40),
}
# Base (length along +x, width along +y, height) per category and size class, before a +-10% jitter.
BASE_SIZE: dict[str, dict[str, tuple[float, float, float]]] = {
    "car": {"small": (1.0, 0.5, 0.45), "large": (1.8, 0.85, 0.75)},
    "box": {"small": (0.4, 0.4, 0.4), "large": (0.8, 0.8, 0.75)},
    "chair": {"small": (0.45, 0.45, 0.8), "large": (0.6, 0.6, 1.1)},
    "ball": {"small": (0.3, 0.3, 0.3), "large": (0.6, 0.6, 0.6)},
    "can": {"small": (0.22, 0.22, 0.35), "large": (0.4, 0.4, 0.7)},
    "person": {"small": (0.25, 0.4, 1.2), "large": (0.3, 0.5, 1.75)},
}
SIZE_WORDS = {"person": {"small": "short", "large": "tall"}}
N_KINDS = len(CATEGORIES) * len(PALETTE) * 2  # distinct (category, colour, size class) looks
HAS_FRONT = {"car": True, "box": True, "chair": True, "ball": False, "can": False, "person": True}

# Motion magnitudes, chosen well above the label thresholds of params.yaml (qa.thresholds) so every label value
# of the 13 question types occurs on 32-frame clips, and small enough to keep the scene in view.
CAM_ROT_DEG = (15.0, 40.0)
CAM_ORBIT_DEG = (20.0, 45.0)
CAM_MOVE_M = (1.0, 3.0)
CAM_DIST_M = (5.0, 10.0)
CAM_ELEV_DEG = (15.0, 35.0)
# Cameras that dolly, pedestal, pan or orbit start level: from a pitched start, "forward" and "up" along the
# camera's own axes and in the levelled frame differ (a dolly along a downward optical axis also moves down),
# and QA asks camera motion only where the two readings agree (fourdpqa.questions.camera.derive_camera).
LEVEL_ELEV_DEG = (0.0, 1.5)
LEVEL_TARGET_Z_M = (1.0, 2.0)
LEVEL_COMPONENTS = ("dolly", "pedestal", "pan", "orbit")
OBJ_PATH_M = (1.5, 4.0)
OBJ_TURN_DEG = (45.0, 120.0)
OBJ_ROTATE_DEG = (60.0, 180.0)
# push_pull: dolly amplitude as a fraction of the camera-target distance (the distance to the scene changes by
# well over qa.thresholds.*.distance_change_some_rel on both legs of a 32-of-48-frame clip).
CAM_PUSH_PULL_REL = (0.4, 0.55)
# pass_by: path length over the video and the extra clearance (beyond both radii) at the closest approach.
OBJ_PASS_PATH_M = (3.0, 4.5)
OBJ_PASS_GAP_M = (0.15, 0.4)
OBJ_CONVOY_GAP_M = (0.3, 1.2)  # convoy: clearance beyond both radii to the object it travels with
STRAIGHT = ("translate", "forward", "backward", "pass_by", "convoy")  # motions a convoy can travel with
FOCAL_MM, SENSOR_MM = 35.0, 32.0  # Kubric defaults (horizontal field of view 0.8576 rad)
# Cluttered scenes (generate.max_objects above CROWD_OBJECTS): the camera distance, and with it the disc objects are
# placed on, grow with sqrt(max_objects / CROWD_OBJECTS) so that the density stays that of a 6-object scene, and
# the camera looks down more steeply (CROWD_ELEV_DEG) so that objects behind others stay in view.
CROWD_OBJECTS = 6
CROWD_ELEV_DEG = (40.0, 60.0)


@dataclass(frozen=True)
class ObjectSpec:
    object_id: int  # 1-based; equals the segmentation value and the standard object_id
    category: str
    color: str
    size_class: str  # "small" | "large"
    size: tuple[float, float, float]  # (l, w, h) of the tight 3D box of the parts
    has_front: bool
    caption: str
    parts: tuple[Part, ...]
    start_xy: tuple[float, float]
    start_yaw: float
    motion: str  # one of OBJECT_KINDS
    speed: float = 0.0  # m/s along the path (translate/forward/backward/turn)
    direction: float = 0.0  # world heading of a "translate" / "pass_by" motion
    yaw_rate: float = 0.0  # rad/s (turn, rotate_cw < 0, rotate_ccw > 0)


@dataclass(frozen=True)
class CameraSpec:
    kind: str  # one of CAMERA_KINDS
    components: tuple[str, ...]  # the elementary motions composing it (empty when static)
    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    pan_deg: float = 0.0
    tilt_deg: float = 0.0
    roll_deg: float = 0.0
    orbit_deg: float = 0.0
    move_cam: tuple[float, float, float] = (0.0, 0.0, 0.0)
    move_return: bool = False  # push_pull: move_cam is reached at mid-video and undone by the end
    focal_length_mm: float = FOCAL_MM
    sensor_width_mm: float = SENSOR_MM


@dataclass(frozen=True)
class VideoSpec:
    video_id: str
    seed: int
    index: int
    n_frames: int
    fps: float
    width: int
    height: int
    camera: CameraSpec
    objects: tuple[ObjectSpec, ...]
    ground_seed: int
    light_dir: tuple[float, float, float]  # unit vector towards the light (world)

    def to_dict(self) -> dict:
        return asdict(self)

    def spec_hash(self) -> str:
        """Content hash of everything that determines the rendered output (spec + generator version)."""
        blob = json.dumps({"spec": self.to_dict(), "version": GENERATOR_VERSION}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def video_id_for(index: int) -> str:
    return f"proc_{index:05d}"


def make_caption(obj: dict, others: list[dict]) -> str:
    """Shortest of "the car", "the red car", "the small car", "the small red car" no other object matches."""
    size_word = SIZE_WORDS.get(obj["category"], {}).get(obj["size_class"], obj["size_class"])
    for keys in ((), ("color",), ("size_class",), ("size_class", "color")):
        if not any(o["category"] == obj["category"] and all(o[k] == obj[k] for k in keys) for o in others):
            break
    color = obj["color"] if "color" in keys else None
    size = size_word if "size_class" in keys else None
    if obj["category"] == "person":
        words = ["the", size, "person", f"in {color}" if color else None]
    else:
        words = ["the", size, color, obj["category"]]
    return " ".join(w for w in words if w)


# ------------------------------------------------------------------------------------------------------ motions


def frame_times(n_frames: int, fps: float) -> np.ndarray:
    return np.arange(n_frames, dtype=np.float64) / fps


def object_poses(obj: ObjectSpec, times: np.ndarray) -> np.ndarray:
    """world_from_object (T, 4, 4) of one object following its motion program; exactly constant when static."""
    x0, y0 = obj.start_xy
    th0 = obj.start_yaw
    t = times
    if obj.motion == "static":
        x, y, yaw = np.full_like(t, x0), np.full_like(t, y0), np.full_like(t, th0)
    elif obj.motion in ("translate", "pass_by", "convoy"):
        x, y, yaw = x0 + obj.speed * t * math.cos(obj.direction), y0 + obj.speed * t * math.sin(obj.direction), np.full_like(t, th0)
    elif obj.motion in ("forward", "backward"):
        v = obj.speed if obj.motion == "forward" else -obj.speed
        x, y, yaw = x0 + v * t * math.cos(th0), y0 + v * t * math.sin(th0), np.full_like(t, th0)
    elif obj.motion == "turn":
        yaw = th0 + obj.yaw_rate * t
        r = obj.speed / obj.yaw_rate
        x, y = x0 + r * (np.sin(yaw) - math.sin(th0)), y0 - r * (np.cos(yaw) - math.cos(th0))
    elif obj.motion in ("rotate_cw", "rotate_ccw"):
        x, y, yaw = np.full_like(t, x0), np.full_like(t, y0), th0 + obj.yaw_rate * t
    else:
        raise ValueError(f"unknown object motion {obj.motion!r}")
    pos = np.stack([x, y, np.full_like(t, obj.size[2] / 2)], -1)
    return geometry.snap(geometry.pose_matrix(geometry.yaw_to_quat(yaw), pos))


def _rot_z(a: np.ndarray) -> np.ndarray:
    c, s, z, o = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([c, -s, z, s, c, z, z, z, o], -1).reshape(*a.shape, 3, 3)


def _rot_x(a: np.ndarray) -> np.ndarray:
    c, s, z, o = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([o, z, z, z, c, -s, z, s, c], -1).reshape(*a.shape, 3, 3)


def camera_poses(cam: CameraSpec, n_frames: int) -> np.ndarray:
    """OpenCV world_from_cam (T, 4, 4) of the camera program (see the module docstring for the signs), snapped to
    the pose grid (products by :func:`geometry.matmul`, not ``@``: the same bits on every CPU)."""
    s = np.linspace(0.0, 1.0, n_frames)
    eye, target = np.asarray(cam.eye, float), np.asarray(cam.target, float)
    r0 = geometry.look_at(eye, target)[:3, :3]
    orbit = _rot_z(np.radians(cam.orbit_deg) * s)
    mm = geometry.matmul
    rot = mm(mm(mm(mm(orbit, _rot_z(np.radians(cam.pan_deg) * s)), r0), _rot_x(np.radians(cam.tilt_deg) * s)),
             _rot_z(np.radians(cam.roll_deg) * s))
    progress = 1.0 - np.abs(2.0 * s - 1.0) if cam.move_return else s
    move = mm(r0, np.asarray(cam.move_cam, float)[:, None])[:, 0][None, :] * progress[:, None]
    pos = target + mm(orbit, (eye - target)[:, None])[..., 0] + mm(orbit, move[..., None])[..., 0]
    return geometry.snap(geometry.pose_matrix(rot, pos))


def intrinsics(spec: VideoSpec) -> np.ndarray:
    return geometry.kubric_intrinsics(spec.camera.focal_length_mm, spec.camera.sensor_width_mm, spec.width, spec.height)


# ------------------------------------------------------------------------------------------------------ sampling


def _pick(rng: np.random.Generator, mix: dict[str, float], allowed: tuple[str, ...]) -> str:
    names = [k for k in allowed if mix.get(k, 0) > 0]
    if not names:
        raise ValueError(f"motion mix {mix} has no positive weight for any of {allowed}")
    w = np.array([mix[k] for k in names], float)
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def _sign(rng: np.random.Generator) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


def sample_camera(rng: np.random.Generator, mix: dict[str, float], n_frames: int, crowd: float = 1.0) -> CameraSpec:
    """A camera 5-10 m from the scene centre looking at it, at 15-35 deg elevation, or level when its program
    dollies, pedestals, pans or orbits (:data:`LEVEL_COMPONENTS`); ``crowd`` > 1 (cluttered scenes): that many times
    farther and looking down at 40-60 deg whatever the program, so objects behind others stay in view. Redrawn until
    the whole trajectory stays above the ground, away from the scene centre, and looks no higher than the horizon."""
    kind = _pick(rng, mix, CAMERA_KINDS)
    for _ in range(200):
        if kind == "static":
            comps: tuple[str, ...] = ()
        elif kind == "push_pull":
            comps = ("dolly",)
        elif kind == "combined":
            n = int(rng.integers(2, 4))
            comps = tuple(sorted(COMBINABLE[i] for i in rng.choice(len(COMBINABLE), n, replace=False)))
        else:
            comps = (kind,)
        level = crowd == 1.0 and any(c in LEVEL_COMPONENTS for c in comps)
        dist, azim = crowd * rng.uniform(*CAM_DIST_M), rng.uniform(-math.pi, math.pi)
        elev = np.radians(rng.uniform(*(CROWD_ELEV_DEG if crowd > 1.0 else LEVEL_ELEV_DEG if level else CAM_ELEV_DEG)))
        target = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3),
                           rng.uniform(*LEVEL_TARGET_Z_M) if level else rng.uniform(0.3, 0.6)])
        eye = target + dist * np.array([math.cos(elev) * math.cos(azim), math.cos(elev) * math.sin(azim), math.sin(elev)])
        args: dict = {}
        move = np.zeros(3)
        for c in comps:
            if kind == "push_pull":
                move[2] = _sign(rng) * rng.uniform(*CAM_PUSH_PULL_REL) * dist
            elif c in ("pan", "tilt", "roll"):
                args[f"{c}_deg"] = _sign(rng) * rng.uniform(*CAM_ROT_DEG)
            elif c == "orbit":
                args["orbit_deg"] = _sign(rng) * rng.uniform(*CAM_ORBIT_DEG)
            else:  # dolly = camera z, truck = camera x, pedestal = camera -y (up)
                axis = {"dolly": 2, "truck": 0, "pedestal": 1}[c]
                move[axis] = _sign(rng) * rng.uniform(*CAM_MOVE_M)
        spec = CameraSpec(kind=kind, components=comps, eye=tuple(eye), target=tuple(target),
                          move_cam=tuple(float(v) for v in move), move_return=kind == "push_pull", **args)
        pos = camera_poses(spec, n_frames)[:, :3, 3]
        # stay above the ground, away from the objects, and never tilt up past the horizon (an all-sky view)
        if pos[:, 2].min() >= 0.6 and np.linalg.norm(pos - target, axis=1).min() >= 3.5 and spec.tilt_deg <= np.degrees(elev):
            return spec
    raise RuntimeError("could not sample a valid camera trajectory")  # pragma: no cover - 200 tries never fail


def _object_radius(size: tuple[float, float, float]) -> float:
    return 0.5 * math.hypot(size[0], size[1])


def _velocity_heading(attrs: dict) -> float:
    """World heading of a straight motion's constant velocity."""
    if attrs["motion"] in ("forward", "backward"):
        return attrs["start_yaw"] + (0.0 if attrs["motion"] == "forward" else math.pi)
    return attrs["direction"]


def _convoy(leader: dict, radius: float, rng: np.random.Generator) -> dict:
    """Start, speed and direction of an object travelling with ``leader`` at a fixed offset (beside or behind it,
    clear of it by both radii and a gap)."""
    heading = _velocity_heading(leader)
    side = float(rng.uniform(-math.pi, math.pi))
    gap = radius + _object_radius(leader["size"]) + rng.uniform(*OBJ_CONVOY_GAP_M)
    lx, ly = leader["start_xy"]
    return dict(start_xy=(lx + gap * math.cos(heading + side), ly + gap * math.sin(heading + side)),
                speed=leader["speed"], direction=heading)


def sample_video(params: GenerateParams, seed: int, index: int) -> VideoSpec:
    """The spec of video ``index`` drawn from ``seeding.numbered_rng(seed, index)``."""
    rng = numbered_rng(seed, index)
    n_frames, fps = params.n_frames, params.fps
    times = frame_times(n_frames, fps)
    duration = max(times[-1], 1e-6)
    crowd = max(1.0, math.sqrt(params.max_objects / CROWD_OBJECTS))
    cam = sample_camera(rng, params.camera_motion_mix, n_frames, crowd)
    cam_pos = camera_poses(cam, n_frames)[:, :3, 3]
    k = geometry.kubric_intrinsics(cam.focal_length_mm, cam.sensor_width_mm, params.width, params.height)
    first_cam = camera_poses(cam, 1)[0]
    disc = 0.3 * float(geometry.norm(np.asarray(cam.eye) - np.asarray(cam.target)))
    n_obj = int(rng.integers(params.min_objects, params.max_objects + 1))
    placed: list[tuple[dict, np.ndarray, float]] = []  # (attributes, (T, 3) centres, radius)
    for _attempt in range(60 * n_obj if crowd == 1.0 else 400 * n_obj):  # a crowd rejects more draws
        if len(placed) == n_obj:
            break
        cat = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
        size_class = "small" if rng.random() < 0.5 else "large"
        color = list(PALETTE)[int(rng.integers(len(PALETTE)))]
        if len(placed) < N_KINDS and any(a["category"] == cat and a["color"] == color and a["size_class"] == size_class
                                         for a, _, _ in placed):
            continue  # a distinct look while any is left (beyond, a crowd repeats looks; captions then tell by place)
        dims = tuple(float(v) * rng.uniform(0.9, 1.1) for v in BASE_SIZE[cat][size_class])
        parts, size = build_parts(cat, dims, PALETTE[color])  # type: ignore[arg-type]
        motion = _pick(rng, params.object_motion_mix, OBJECT_KINDS)
        rad = float(rng.uniform(0, disc) ** 0.5 * disc ** 0.5)
        ang = rng.uniform(-math.pi, math.pi)
        attrs = dict(category=cat, color=color, size_class=size_class, size=size, parts=parts,
                     start_xy=(rad * math.cos(ang), rad * math.sin(ang)), start_yaw=float(rng.uniform(-math.pi, math.pi)),
                     motion=motion, speed=0.0, direction=0.0, yaw_rate=0.0)
        radius = _object_radius(size)
        if motion == "pass_by":
            # pass a placed object that keeps its place, closest at mid-video, clear of it by both radii + a gap
            anchors = [(c, r) for a, c, r in placed if a["motion"] in ("static", "rotate_cw", "rotate_ccw")]
            if not anchors:
                continue
            anchor, anchor_r = anchors[int(rng.integers(len(anchors)))]
            heading = float(rng.uniform(-math.pi, math.pi))
            speed = rng.uniform(*OBJ_PASS_PATH_M) / duration
            offset = _sign(rng) * (radius + anchor_r + rng.uniform(*OBJ_PASS_GAP_M))
            u, n = np.array([math.cos(heading), math.sin(heading)]), np.array([-math.sin(heading), math.cos(heading)])
            start = anchor[0, :2] + offset * n - speed * (duration / 2) * u
            attrs.update(start_xy=(float(start[0]), float(start[1])), speed=speed, direction=heading)
        elif motion == "convoy":
            leaders = [a for a, _, _ in placed if a["motion"] in STRAIGHT]
            if not leaders:
                continue
            attrs.update(_convoy(leaders[int(rng.integers(len(leaders)))], radius, rng))
        elif motion in ("translate", "forward", "backward", "turn"):
            attrs["speed"] = rng.uniform(*OBJ_PATH_M) / duration
        if motion == "translate":
            attrs["direction"] = float(rng.uniform(-math.pi, math.pi))
        elif motion == "turn":
            attrs["yaw_rate"] = _sign(rng) * np.radians(rng.uniform(*OBJ_TURN_DEG)) / duration
        elif motion in ("rotate_cw", "rotate_ccw"):
            attrs["yaw_rate"] = (-1 if motion == "rotate_cw" else 1) * np.radians(rng.uniform(*OBJ_ROTATE_DEG)) / duration
        probe = ObjectSpec(object_id=0, has_front=HAS_FRONT[cat], caption="", **attrs)
        centres = object_poses(probe, times)[:, :3, 3]
        if np.linalg.norm(centres[:, :2] - cam_pos[:, :2], axis=1).min() < radius + 1.0:
            continue
        if any((np.linalg.norm(centres[:, :2] - c[:, :2], axis=1) < radius + r + 0.1).any() for _, c, r in placed):
            continue
        px, z = geometry.project_world(k, first_cam, centres[:1])
        if z[0] <= 0 or not (0.05 * params.width < px[0, 0] < 0.95 * params.width and 0.05 * params.height < px[0, 1] < 0.95 * params.height):
            continue
        placed.append((attrs, centres, radius))
    objects = []
    for i, (attrs, _, _) in enumerate(placed):
        caption = make_caption(attrs, [a for j, (a, _, _) in enumerate(placed) if j != i])
        objects.append(ObjectSpec(object_id=i + 1, has_front=HAS_FRONT[attrs["category"]], caption=caption, **attrs))
    light_el, light_az = np.radians(rng.uniform(40, 70)), rng.uniform(-math.pi, math.pi)
    light = (math.cos(light_el) * math.cos(light_az), math.cos(light_el) * math.sin(light_az), math.sin(light_el))
    return VideoSpec(video_id=video_id_for(index), seed=seed, index=index, n_frames=n_frames, fps=fps,
                     width=params.width, height=params.height, camera=cam, objects=tuple(objects),
                     ground_seed=int(rng.integers(2**31)), light_dir=light)
