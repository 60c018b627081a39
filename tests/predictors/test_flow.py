"""Optical-flow camera-motion heuristic on synthetic sequences made by moving a window over a textured image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fourdpqa.predictors.base import Sample
from fourdpqa.predictors.blind import BlindPredictor
from fourdpqa.predictors.flow import FlowPredictor, estimate_camera_motion, parse_claim

RNG = np.random.default_rng(0)
TEXTURE = cv2.resize(RNG.integers(0, 255, (32, 64, 3)).astype(np.uint8), (256, 128), interpolation=cv2.INTER_CUBIC)
T = 8


def pan(step: int) -> list[np.ndarray]:
    """A camera panning right sees the content slide left: the window moves right over the texture."""
    return [np.ascontiguousarray(TEXTURE[32:96, 64 + step * t:128 + step * t]) for t in range(T)]


def tilt(step: int) -> list[np.ndarray]:
    """Tilting up: the window moves up, the content slides down."""
    return [np.ascontiguousarray(TEXTURE[32 - step * t:96 - step * t, 64:128]) for t in range(T)]


def zoom(rate: float) -> list[np.ndarray]:
    """Moving forward towards a wall: ever smaller central crops blown up to the frame size."""
    out = []
    for t in range(T):
        s = int(64 / (1 + rate * t))
        out.append(cv2.resize(TEXTURE[64 - s // 2:64 + s // 2, 128 - s // 2:128 + s // 2], (64, 64)))
    return out


def roll(deg: float) -> list[np.ndarray]:
    """Content turning anticlockwise on screen = the camera rolling clockwise."""
    base = np.ascontiguousarray(TEXTURE[:, 64:192])
    return [cv2.warpAffine(base, cv2.getRotationMatrix2D((63.5, 63.5), deg * t, 1.0), (128, 128))[32:96, 32:96].copy()
            for t in range(T)]


def truck(step: int) -> list[np.ndarray]:
    """Sideways translation with parallax: the near (lower) half slides 3x faster than the far (upper) half."""
    return [np.ascontiguousarray(np.concatenate([TEXTURE[0:32, 64 + step * t:128 + step * t],
                                                 TEXTURE[64:96, 64 + 3 * step * t:128 + 3 * step * t]]))
            for t in range(T)]


@pytest.mark.parametrize(("frames", "axis", "sign"), [
    (pan(3), "pan_right", 1), (pan(-3), "pan_right", -1), (tilt(3), "tilt_up", 1), (tilt(-3), "tilt_up", -1),
    (zoom(0.05), "forward", 1), (roll(2.0), "roll_cw", 1), (truck(1), "right", 1), (truck(-1), "right", -1),
])
def test_estimate_camera_motion(frames: list[np.ndarray], axis: str, sign: int) -> None:
    values = estimate_camera_motion(frames).values
    assert np.sign(values[axis]) == sign
    # the named axis dominates every other axis
    assert abs(values[axis]) > 5 * max(abs(v) for k, v in values.items() if k != axis)


def test_pan_magnitude() -> None:
    # 3 px per frame at a 64 px width over 7 steps, in units of f = 0.9 * 64 px: 21 / 57.6 rad ~ 0.365
    assert estimate_camera_motion(pan(3)).values["pan_right"] == pytest.approx(21 / 57.6, rel=0.1)


def test_parse_claim() -> None:
    assert parse_claim("The camera moves forward and pans left") == {"forward": 1, "pan_right": -1}
    assert parse_claim("tilting up while rolling counter-clockwise") == {"tilt_up": 1, "roll_cw": -1}
    assert parse_claim("forward+left") == {"forward": 1, "right": -1}
    assert parse_claim("It stays stationary") == dict.fromkeys(
        ("right", "up", "forward", "pan_right", "tilt_up", "roll_cw"), 0)
    assert parse_claim("a red cube") is None


def _record(fmt: str, question: str, options: list[str], name: str = "camera_movement") -> dict:
    return {"id": "q", "question_name": name, "answer_format": fmt, "question": question, "options": options}


def test_flow_predictor_answers_from_pixels() -> None:
    predictor = FlowPredictor(BlindPredictor())
    mc = _record("mc", "How does the camera move?", ["pans left", "pans right", "tilts up", "stays still"])
    fwd = _record("mc", "How does the camera move?", ["moves backward", "moves forward", "moves left", "static"])
    yn = _record("yn", "Does the camera pan left?", ["yes", "no"])
    answers = predictor.predict([Sample(pan(3), "", mc), Sample(pan(-3), "", mc), Sample(tilt(3), "", mc),
                                 Sample(zoom(0.05), "", fwd), Sample(truck(-1), "", fwd),
                                 Sample(pan(-3), "", yn), Sample(pan(3), "", yn)])
    assert answers == ["B", "A", "C", "B", "C", "yes", "no"]


def test_other_questions_use_the_prior() -> None:
    prior = BlindPredictor().fit([{"question_name": "depth", "answer_format": "yn", "answer": "yes"}] * 3)
    rec = _record("yn", "Is the cube closer than the ball?", ["yes", "no"], name="depth")
    assert FlowPredictor(prior).predict([Sample(pan(3), "", rec)]) == ["yes"]


def scale_sequence(scales: list[float]) -> list[np.ndarray]:
    """Frames whose content is magnified about the centre by each scale (bigger = closer to the camera)."""
    base = np.ascontiguousarray(TEXTURE[:, 64:192])
    return [cv2.warpAffine(base, cv2.getRotationMatrix2D((63.5, 63.5), 0.0, s), (128, 128))[32:96, 32:96].copy()
            for s in scales]


DIST_OPTIONS = ["It keeps increasing", "It stays about the same", "It first decreases, then increases",
                "It keeps decreasing"]


@pytest.mark.parametrize(("scales", "label", "letter"), [
    ([1.0 + 0.05 * t for t in range(T)], "decreasing", "D"),  # the object grows: it comes closer
    ([1.0 / (1.0 + 0.05 * t) for t in range(T)], "increasing", "A"),
    ([1.0] * T, "constant", "B"),
    ([1.0 + 0.08 * min(t, T - 1 - t) for t in range(T)], "decreasing then increasing", "C"),
])
def test_camera_object_distance_from_apparent_size(scales: list[float], label: str, letter: str) -> None:
    from fourdpqa.predictors.flow import Region, distance_label_of, distance_ratio

    frames = scale_sequence(scales)
    ratio = distance_ratio(frames, Region(2, 0.5, 0.5, 0.2))
    # apparent size ~ 1 / distance: d(t) / d(0) - 1 = scale(0) / scale(t) - 1
    np.testing.assert_allclose(ratio, np.array(scales[0]) / np.array(scales) - 1, atol=0.04)
    assert distance_label_of(ratio) == label
    record = {"id": "q", "question_name": "camera_object_distance", "answer_format": "mc", "options": DIST_OPTIONS,
              "question": "How does the distance between the camera and the circled object in frame 2 change?",
              "marks": [{"kind": "circle", "frame": 2, "xy": [0.5, 0.5], "radius": 0.2, "label": ""}]}
    yn = dict(record, answer_format="yn", options=["yes", "no"], marks=[],
              question="Does the distance between the camera and the object at (0.500, 0.500) in frame 2 keep "
                       "decreasing during the video?")
    predictor = FlowPredictor(BlindPredictor())
    assert predictor.predict([Sample(frames, "", record), Sample(frames, "", yn)]) == [
        letter, "yes" if label == "decreasing" else "no"]


def test_object_region_from_references() -> None:
    from fourdpqa.predictors.flow import Region, object_region

    box = {"marks": [{"kind": "box", "frame": 0, "box": [0.2, 0.4, 0.4, 0.5], "label": "1", "xy": None, "radius": None}],
           "question": "?"}  # a typed mark: the circle fields are null
    assert object_region(box) == Region(0, pytest.approx(0.3), pytest.approx(0.45), pytest.approx(0.1))
    pixel = {"marks": [], "question": "Does the object at (0.250, 0.750) in frame 3 come closer?"}
    assert object_region(pixel) == Region(3, 0.25, 0.75, 0.06)
    assert object_region({"marks": [], "question": "Does the red car come closer?"}) is None


def test_a_clips_questions_share_its_frames_and_flows(tmp_path, monkeypatch) -> None:
    """Three distance questions about one clip written as files: each frame is decoded once and each pair's flow
    computed once (counted), and the answers equal those computed from the arrays without any cache."""
    import fourdpqa.predictors.flow as flow_module

    frames = scale_sequence([1.0 + 0.05 * t for t in range(T)])
    paths = []
    for t, f in enumerate(frames):
        paths.append(str(tmp_path / f"{t:05d}.png"))
        cv2.imwrite(paths[-1], cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    record = {"id": "q", "question_name": "camera_object_distance", "answer_format": "yn", "options": ["yes", "no"],
              "marks": [], "question": "Does the distance between the camera and the object at (0.500, 0.500) in "
                                       "frame {} keep decreasing during the video?"}
    records = [dict(record, question=record["question"].format(k)) for k in (2, 3, 5)]
    expected = FlowPredictor(BlindPredictor()).predict([Sample(frames, "", r) for r in records])
    calls: list[int] = []
    real = flow_module.pair_flow
    monkeypatch.setattr(flow_module, "pair_flow", lambda a, b, size=128: calls.append(1) or real(a, b, size))
    decoded: list[str] = []
    real_load = flow_module.load_frames
    monkeypatch.setattr(flow_module, "load_frames", lambda fs: decoded.extend(map(str, fs)) or real_load(fs))
    got = FlowPredictor(BlindPredictor()).predict([Sample(paths, "", r) for r in records])
    assert got == expected
    assert sorted(decoded) == sorted(paths)  # every frame decoded once
    # each directed pair once: forward from each question's frame to the end, backward to the start (21 uncached)
    pairs = ({(t, t + 1) for k in (2, 3, 5) for t in range(k, T - 1)}
             | {(t, t - 1) for k in (2, 3, 5) for t in range(1, k + 1)})
    assert len(calls) == len(pairs) == 10
