"""Object captions: colour names from pixels, scene-unique offline captions, and the optional VLM captioner
(litellm with ``mock_response``: no network) with its slot check, cache and fallbacks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fourdpqa.sources.captions import VLMCaptioner, caption_ok, colour_name, fill_captions


@pytest.mark.parametrize(("rgb", "name"), [
    ((220, 20, 20), "red"), ((240, 140, 20), "orange"), ((230, 220, 30), "yellow"), ((30, 180, 40), "green"),
    ((30, 60, 210), "blue"), ((140, 40, 200), "purple"), ((120, 70, 20), "brown"), ((10, 10, 10), "black"),
    ((128, 128, 128), "grey"), ((245, 245, 245), "white"), ((250, 120, 190), "pink"),
])
def test_colour_names(rgb: tuple[int, int, int], name: str) -> None:
    px = np.tile(np.array(rgb, np.uint8), (50, 1))
    px[:5] = (128, 128, 128)  # a few background pixels do not change the name
    assert colour_name(px) == name


def _scene(boxes: list[tuple[int, int, int, int, tuple[int, int, int]]], sizes: list[float], depths: list[float],
           categories: list[str]) -> tuple[pl.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Two frames 20x40; object k+1 painted in box k = (y0, y1, x0, x1, colour) at depth ``depths[k]``."""
    rgb = np.full((2, 20, 40, 3), 90, np.uint8)
    inst = np.zeros((2, 20, 40), np.uint16)
    depth = np.full((2, 20, 40), 50.0, np.float32)
    for k, (y0, y1, x0, x1, colour) in enumerate(boxes):
        rgb[:, y0:y1, x0:x1], inst[:, y0:y1, x0:x1], depth[:, y0:y1, x0:x1] = colour, k + 1, depths[k]
    objects = pl.DataFrame({"object_id": list(range(1, len(boxes) + 1)), "category": categories,
                            "size_l": sizes, "size_w": [1.0] * len(boxes), "size_h": [1.0] * len(boxes)})
    return objects, rgb, inst, depth


RED, BLUE = (220, 20, 20), (30, 60, 210)


def test_offline_captions_are_refined_only_where_needed_and_flag_what_they_cannot_single_out() -> None:
    boxes = [(2, 6, 2, 6, RED), (2, 6, 10, 14, RED), (10, 14, 30, 34, RED), (10, 14, 18, 22, BLUE),
             (14, 18, 2, 6, RED), (14, 18, 34, 38, RED)]
    objects, rgb, inst, depth = _scene(boxes, sizes=[2.0, 1.0, 1.0, 1.0, 4.0, 4.0], depths=[5, 5, 5, 5, 8, 12],
                                       categories=["car", "car", "car", "car", "bus", "bus"])
    out = fill_captions(objects, rgb, inst, depth)
    assert out["caption"].to_list() == [
        "the largest red car",  # three red cars: the 3D size singles out the largest ...
        "the red car",  # ... nothing singles this one out (neither size, distance, side nor height): flagged
        "the red car on the right",  # ... the rightmost of them
        "the blue car",  # unique already: untouched
        "the nearer red bus",  # equal sizes: the distance separates them
        "the farther red bus",
    ]
    assert out["caption_unique"].to_list() == [True, False, True, True, True, True]
    assert out["caption_frame"].to_list() == [0, 0, 0, 0, 0, 0]


def test_identical_objects_are_told_apart_by_place_never_by_ordinals() -> None:
    objects, rgb, inst, depth = _scene([(2, 6, 2, 6, RED), (8, 12, 2, 6, RED)], [1.0, 1.0], [5, 5], ["box", "box"])
    assert fill_captions(objects, rgb, inst, depth)["caption"].to_list() == [
        "the red box at the top", "the red box at the bottom"]


def test_colour_ignores_near_black_shadow_pixels() -> None:
    shadowed = np.tile(np.array([(10, 7, 5)], np.uint8), (100, 1))  # the SHIFT pedestrian of issue 23
    assert colour_name(shadowed) == "black"
    shadowed[:40] = RED  # lit pixels name the colour even where shadows are the majority of the rest
    assert colour_name(shadowed) == "red"


def test_slot_check() -> None:
    assert caption_ok("the rusty red pickup truck", "truck")
    assert not caption_ok("a red vehicle", "truck")  # the label word is the slot
    assert not caption_ok("the truck\nwith a dog", "truck")
    assert not caption_ok(" ".join(["the"] * 11 + ["truck"]), "truck")


def test_vlm_captioner_with_mocked_litellm(tmp_path: Path) -> None:
    objects, rgb, inst, depth = _scene([(2, 6, 2, 6, RED), (2, 6, 20, 24, BLUE)], [1.0, 1.0], [5, 5], ["car", "car"])
    calls = []

    def completion(**kw):
        import litellm

        calls.append(kw)
        reply = {"car": "The dented red car."} if len(calls) == 1 else {"car": "a small boat"}
        return litellm.completion(**kw, mock_response=reply["car"])

    cap = VLMCaptioner("gpt-4o-mini", str(tmp_path / "cache"), completion=completion)
    out = fill_captions(objects, rgb, inst, depth, cap)["caption"].to_list()
    # first reply accepted (normalised), second fails the slot check -> offline caption
    assert out == ["the dented red car", "the blue car"] and cap.stats["accepted"] == 1 and cap.stats["rejected"] == 1
    content = calls[0]["messages"][0]["content"]
    assert content[1]["image_url"]["url"].startswith("data:image/jpeg;base64,") and "'car'" in content[0]["text"]
    again = VLMCaptioner("gpt-4o-mini", str(tmp_path / "cache"), completion=completion)
    assert fill_captions(objects, rgb, inst, depth, again)["caption"].to_list() == out
    assert len(calls) == 2 and again.stats["cache_hits"] == 2  # cached on disk under (model, prompt, crop)


def test_vlm_duplicates_fall_back_to_offline(tmp_path: Path) -> None:
    objects, rgb, inst, depth = _scene([(2, 6, 2, 6, RED), (2, 6, 20, 24, BLUE)], [1.0, 1.0], [5, 5], ["car", "car"])
    cap = VLMCaptioner("gpt-4o-mini", str(tmp_path), extra_kwargs={"mock_response": "the shiny car"})
    assert fill_captions(objects, rgb, inst, depth, cap)["caption"].to_list() == ["the red car", "the blue car"]
    assert cap.stats["accepted"] == 2 and cap.stats["errors"] == 0  # both replies came, but they name no one alone
