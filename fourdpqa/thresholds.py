"""Label thresholds (``qa.thresholds.<source>`` in ``params.yaml``) and the presets by kind of footage.

A motion or distance change below a ``none`` threshold is labelled "no change", above the ``some`` threshold
"change"; values in between are ambiguous and get no question, so a label never rests on a measurement within
noise of its boundary.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class LabelThresholds(BaseModel):
    """Per-source thresholds: a value below ``none`` is clearly no motion, above ``some`` clearly motion;
    in between is ambiguous and is not labelled."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # finite and bounded: an infinite "some" threshold would silently label nothing and empty question types
    translation_none_m: float = Field(0.15, ge=0, le=1000)
    translation_some_m: float = Field(0.4, gt=0, le=1000)
    rotation_none_deg: float = Field(4.0, ge=0, le=360)
    rotation_some_deg: float = Field(12.0, gt=0, le=360)
    distance_change_none_rel: float = Field(0.05, ge=0, le=100)
    distance_change_some_rel: float = Field(0.15, gt=0, le=100)
    distance_compare_margin_rel: float = Field(0.15, ge=0, le=100)
    moved_distance_margin_rel: float = Field(0.3, ge=0, le=100)
    min_visible_fraction: float = Field(0.3, ge=0, le=1)
    # share of the clip's frames an object must be visible in for a whole-clip question about it
    min_visible_frames_share: float = Field(0.8, gt=0, le=1)
    # a labelled direction must dominate: the orthogonal component may be at most this share of the main one
    direction_dominance: float = Field(0.35, gt=0, lt=1)
    # a point-tracking target/query pixel, or a referenced object, needs at least this many visible pixels
    min_object_pixels: int = Field(12, ge=1, le=1 << 26)
    # agents (type 5) are objects of these categories (things with intent: people, vehicles, animals); matched
    # case-insensitively against the scene's object category
    agent_categories: list[str] = ["person", "pedestrian", "rider", "car", "truck", "bus", "van", "bicycle",
                                   "motorcycle", "animal", "dog", "cat", "horse"]
    # "metres": translation_none_m / translation_some_m are metres; "median_depth": they are fractions of the
    # median scene depth of the clip's first frame (scale-free labels across indoor and driving sources)
    translation_scale: Literal["metres", "median_depth"] = "metres"

    @model_validator(mode="after")
    def _none_below_some(self) -> "LabelThresholds":
        """An inverted pair would label every clip (or none) and silently empty whole question types."""
        for none_key, some_key in (("translation_none_m", "translation_some_m"),
                                   ("rotation_none_deg", "rotation_some_deg"),
                                   ("distance_change_none_rel", "distance_change_some_rel")):
            none, some = getattr(self, none_key), getattr(self, some_key)
            if none >= some:
                raise ValueError(f"{none_key} ({none}) must be below {some_key} ({some})")
        return self


# Threshold presets by kind of footage, used for a source without its own ``qa.thresholds.<name>`` entry.
# Engineering choices, not from the paper (which tunes thresholds per dataset): synthetic = the procedural source's
# tuned values; driving = metres-scale motion (cars move metres per second, GT is exact, so the ambiguity band only
# separates parked from moving); indoor = centimetre-scale motion of hand-held objects and head-mounted cameras.
THRESHOLD_PRESETS: dict[str, LabelThresholds] = {
    "synthetic": LabelThresholds(),
    "driving": LabelThresholds(translation_none_m=0.5, translation_some_m=1.5, rotation_none_deg=5.0,
                               rotation_some_deg=15.0),
    "indoor": LabelThresholds(translation_none_m=0.05, translation_some_m=0.15, rotation_none_deg=5.0,
                              rotation_some_deg=15.0),
}
# source kind -> preset name (a 4D reconstruction defaults to indoor: hand-held footage at room scale)
KIND_PRESETS: dict[str, str] = {"kubric": "synthetic", "vkitti2": "driving", "shift": "driving", "adt": "indoor",
                                "hot3d": "indoor", "hot3d_clips": "indoor", "recon": "indoor"}
