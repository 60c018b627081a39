"""Typed view of ``params.yaml``: one section per stage plus a shared ``base``.

Unknown keys and wrong types are rejected when the file is loaded, with the offending key path in the message,
so a typo in a threshold cannot silently fall back to a default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BaseParams(_Section):
    seed: int = 1234
    data_root: str = "data"
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N"
    num_threads: int = Field(2, ge=1)
    # Source roots that input paths must stay inside (resolved, no symlink escapes).
    allowed_roots: list[str] = ["data"]


class GenerateParams(_Section):
    """The procedural (Kubric-like) source."""

    n_videos: int = Field(24, ge=1)
    n_frames: int = Field(48, ge=2)
    width: int = Field(256, ge=16)
    height: int = Field(256, ge=16)
    fps: float = Field(12.0, gt=0)
    min_objects: int = Field(2, ge=1)
    max_objects: int = Field(6, ge=1)
    render_chunk_rays: int = Field(65536, ge=1024)
    camera_motion_mix: dict[str, float] = {
        "static": 0.22, "pan": 0.1, "tilt": 0.06, "roll": 0.04, "dolly": 0.14, "truck": 0.12,
        "pedestal": 0.06, "orbit": 0.1, "combined": 0.16, "push_pull": 0.15,
    }
    object_motion_mix: dict[str, float] = {
        "static": 0.25, "translate": 0.15, "forward": 0.18, "backward": 0.1, "turn": 0.14,
        "rotate_cw": 0.09, "rotate_ccw": 0.09, "pass_by": 0.15,
    }

    @model_validator(mode="after")
    def _check(self) -> "GenerateParams":
        if self.max_objects < self.min_objects:
            raise ValueError("generate.max_objects must be >= generate.min_objects")
        for name, mix in (("camera_motion_mix", self.camera_motion_mix), ("object_motion_mix", self.object_motion_mix)):
            if any(v < 0 for v in mix.values()) or sum(mix.values()) <= 0:
                raise ValueError(f"generate.{name} needs non-negative weights with a positive sum")
        return self


class SourceSpec(_Section):
    """One configured source: ``{name, kind, root}`` enables it; ``options`` are checked by its adapter."""

    name: str  # e.g. "procedural", "vkitti2"; also the key of its per-source QA settings
    kind: str = "kubric"  # an adapter of fourdpqa.sources.ADAPTER_MODULES
    root: str
    options: dict[str, Any] = {}

    @model_validator(mode="after")
    def _known_kind(self) -> "SourceSpec":
        from fourdpqa.sources import ADAPTER_MODULES

        if self.kind not in ADAPTER_MODULES:
            raise ValueError(f"source {self.name!r}: unknown kind {self.kind!r}; known: {sorted(ADAPTER_MODULES)}")
        return self


class StandardizeParams(_Section):
    sources: list[SourceSpec] = [SourceSpec(name="procedural", kind="kubric", root="data/raw/procedural")]


class TracksParams(_Section):
    queries_per_video: int = Field(256, ge=1)
    sampling_stride: int = Field(4, ge=1)
    max_sampled_frac: float = Field(0.1, gt=0, le=1)
    background_share: float = Field(0.3, ge=0, le=1)
    query_frames: Literal["first", "any"] = "any"
    chunk_points: int = Field(2048, ge=1)
    depth_tolerance: float = Field(0.99, gt=0, le=1)


class LabelThresholds(_Section):
    """Per-source thresholds: a value below ``none`` is clearly no motion, above ``some`` clearly motion;
    in between is ambiguous and is not labelled."""

    translation_none_m: float = 0.15
    translation_some_m: float = 0.4
    rotation_none_deg: float = 4.0
    rotation_some_deg: float = 12.0
    distance_change_none_rel: float = 0.05
    distance_change_some_rel: float = 0.15
    distance_compare_margin_rel: float = 0.15
    moved_distance_margin_rel: float = 0.3
    min_visible_fraction: float = 0.3
    # share of the clip's frames an object must be visible in for a whole-clip question about it
    min_visible_frames_share: float = Field(0.8, gt=0, le=1)
    # a labelled direction must dominate: the orthogonal component may be at most this share of the main one
    direction_dominance: float = Field(0.35, gt=0, lt=1)
    # a point-tracking target/query pixel, or a referenced object, needs at least this many visible pixels
    min_object_pixels: int = Field(12, ge=1)


class QAParams(_Section):
    clip_frames: int = Field(32, ge=2)
    clip_stride: int = Field(1, ge=1)
    clips_per_video: int = Field(3, ge=1)
    out_width: int = 448
    out_height: int = 448
    questions_per_clip: int = Field(40, ge=1)
    track_target_frames: list[int] = [1, 8]  # min/max number of target frames asked in a tracking question
    thresholds: dict[str, LabelThresholds] = {"procedural": LabelThresholds()}
    reference_mode_mix: dict[str, float] = {"caption": 0.4, "pixel": 0.2, "circle": 0.2, "box_mark": 0.2}
    answer_format_mix: dict[str, float] = {"mc": 0.5, "yn": 0.3, "free": 0.2}
    metric_questions: bool = True
    timestamp_cues: bool = True
    # question types to generate (paper numbering 1..13, 0 = metric); empty = all
    question_types: list[int] = []


class PhrasingParams(_Section):
    model: str | None = None  # litellm model name; None = keep template text (offline default)
    cache_dir: str = "data/cache/phrasing"
    max_retries: int = Field(3, ge=0)
    timeout_s: float = Field(30.0, gt=0)
    requests_per_minute: float = Field(60.0, gt=0)
    temperature: float = 0.7


class AssembleParams(_Section):
    benchmark_video_share: float = Field(0.25, gt=0, lt=1)
    train_size: int = Field(4000, ge=1)
    benchmark_size: int = Field(600, ge=1)
    tracking_share: float = Field(0.2, ge=0, le=1)
    max_option_share: float = Field(1.5, ge=1)  # an answer may take at most this multiple of its uniform share
    export_mp4: bool = True


class ProbeParams(_Section):
    """The pixel-learnability probe of validation: a small 3-D CNN trained from scratch on CPU."""

    enabled: bool = True
    frames: int = Field(8, ge=2)
    size: int = Field(64, ge=16)
    epochs: int = Field(8, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(2e-3, gt=0)
    width: int = Field(16, ge=1)  # channels of the first convolution
    dim: int = Field(64, ge=1)  # clip / word feature size
    mirror: bool = True  # train on left-right mirrored copies too (texts swap left/right, clockwise senses, x)
    min_gain: float = 0.0  # a type where the probe beats the best text-only baseline by no more is flagged


class ValidateParams(_Section):
    max_option_ratio: float = 1.5
    yes_share_low: float = 0.45
    yes_share_high: float = 0.55
    letter_chi2_p: float = 0.01
    blind_margin: float = 0.03
    blind_blocking: bool = True  # a significant text-only shortcut fails validation
    phash_max_distance: int = 4
    # a mark is ambiguous when another object has more than this share of its visible pixels inside it
    mark_foreign_share: float = Field(0.1, ge=0, le=1)
    max_ambiguous_mark_share: float = Field(0.0, ge=0, le=1)  # of the benchmark's marked records
    probe: ProbeParams = ProbeParams()


class TrainParams(_Section):
    model: str | None = None  # HF id or local path; None = tiny Qwen2.5-VL built from a config in-process
    tiny_hidden_size: int = 64
    tiny_layers: int = 2
    tiny_vision_depth: int = 2
    frames: int = Field(4, ge=1)
    image_size: int = Field(56, ge=28)
    max_steps: int = Field(150, ge=1)
    batch_size: int = Field(4, ge=1)
    grad_accum: int = Field(1, ge=1)
    lr: float = Field(1e-3, gt=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    weight_decay: float = 0.0
    lora: bool = False
    lora_r: int = 8
    max_train_samples: int | None = 256
    checkpoint_every: int = Field(50, ge=1)


class EvaluateParams(_Section):
    predictors: list[str] = ["random", "blind", "oracle", "flow", "trained"]
    frames: int = Field(32, ge=1)
    max_new_tokens: int = Field(24, ge=1)
    batch_size: int = Field(4, ge=1)
    vlm4d_dir: str | None = None  # local folder holding real_mc.json / synthetic_mc.json
    api_model: str | None = None  # litellm model for the API predictor
    # HF predictors that answer MC / yes-no by the most likely allowed answer (constrained decoding) instead of
    # free generation: the tiny default model cannot yet follow the answer format on its own
    constrained: list[str] = ["trained"]


class Params(_Section):
    base: BaseParams = BaseParams()
    generate: GenerateParams = GenerateParams()
    standardize: StandardizeParams = StandardizeParams()
    tracks: TracksParams = TracksParams()
    qa: QAParams = QAParams()
    phrasing: PhrasingParams = PhrasingParams()
    assemble: AssembleParams = AssembleParams()
    validate_: ValidateParams = Field(ValidateParams(), alias="validate")
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def data(self) -> Path:
        return Path(self.base.data_root)

    def thresholds_for(self, source: str) -> LabelThresholds:
        """Thresholds of ``source``; a source without its own entry uses the ``default`` entry if present."""
        table = self.qa.thresholds
        if source in table:
            return table[source]
        if "default" in table:
            return table["default"]
        raise KeyError(f"params.yaml qa.thresholds has no entry for source {source!r} (and no 'default')")


class ParamsError(ValueError):
    """params.yaml is unreadable or does not match the expected types and ranges."""


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate ``params.yaml``; errors name the file and every offending key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ParamsError(f"{path}: cannot read parameters: {exc}") from exc
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ParamsError(f"{path}: invalid parameters: {problems}") from exc
