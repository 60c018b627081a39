"""Typed view of ``params.yaml``: one section per stage plus a shared ``base``.

Unknown keys, duplicate keys, wrong types and nonsense values (inverted or negative thresholds, shares outside
[0, 1], zero sizes, unknown keys inside a mix, unknown question types or predictors) are rejected when the file is
loaded, before any work, with the offending key path in the message: a typo in a threshold cannot silently fall back
to a default, and a duplicated key cannot silently win over the first. Every number is finite (``.inf`` and ``.nan``
are refused) and lies in a stated range, with a ceiling on every size (``n_videos: 1e12`` would run for ever); the
per-source keys of ``qa.thresholds`` and ``qa.sources`` must name a configured source (a misspelt name would
silently get the defaults).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from fourdpqa.thresholds import KIND_PRESETS, THRESHOLD_PRESETS, LabelThresholds
from fourdpqa.yaml_keys import first_duplicate_key
from fourdpqa.vocabulary import CAMERA_MOTIONS, OBJECT_MOTIONS, SOURCE_KINDS

# The names a mix or list may use. The modules that draw from them import these tuples, so the check and the use
# cannot drift apart (question types: tests/test_params.py compares with fourdpqa.questions.TYPES, which needs torch).
REFERENCE_MODES = ("caption", "pixel", "circle", "box_mark")
ANSWER_FORMATS = ("mc", "yn", "free", "trajectory", "numeric")
QUESTION_TYPES = tuple(range(14))  # paper numbering 1..13, 0 = metric
PREDICTORS = ("random", "blind", "oracle", "flow", "motion_presence", "direction_blind", "trained", "api")  # plus "hf:<model>" and "api:<model>"
PREDICTOR_PREFIXES = ("hf:", "api:")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# Ceilings of sizes and counts: far above any real run, low enough that a typo (1e12) fails before any work.
MAX_VIDEOS = 1_000_000
MAX_FRAMES = 100_000
MAX_PIXELS = 16_384  # one image side
MAX_COUNT = 10_000_000  # rows, queries, steps
MAX_SECONDS = 7 * 24 * 3600.0
# The one seed: numpy's SeedSequence refuses negative seeds and torch.manual_seed needs a 64-bit value.
MAX_SEED = 2**32 - 1
MAX_THREADS = 1024
# The source the generate stage renders: its qa.thresholds entry may stay in params.yaml when it is not standardized.
BUILTIN_SOURCE = "procedural"


MIX_NAMES = {"camera_motion_mix": CAMERA_MOTIONS, "object_motion_mix": OBJECT_MOTIONS,
             "reference_mode_mix": REFERENCE_MODES, "answer_format_mix": ANSWER_FORMATS}


def check_mix(mix: dict[str, float], info: ValidationInfo) -> dict[str, float]:
    """A weight table over the names :data:`MIX_NAMES` allows for the field: no unknown key (a typo would silently
    get weight 0), non-negative weights with a positive sum."""
    known = MIX_NAMES[str(info.field_name)]
    unknown = sorted(set(mix) - set(known))
    if unknown:
        raise ValueError(f"{info.field_name}: unknown key(s) {unknown}; known: {list(known)}")
    if any(not math.isfinite(v) or v < 0 for v in mix.values()) or not 0 < sum(mix.values()) < math.inf:
        raise ValueError(f"{info.field_name} needs non-negative weights with a positive sum, got {mix}")
    return mix


class BaseParams(_Section):
    seed: int = Field(1234, ge=0, le=MAX_SEED)
    data_root: str = "data"
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N"
    num_threads: int = Field(2, ge=1, le=MAX_THREADS)
    # Source roots that input paths must stay inside (resolved, no symlink escapes).
    allowed_roots: list[str] = ["data"]
    # A stage fails (exit 1) when more than this share of its items is quarantined (every item failing always fails).
    max_failed_share: float = Field(0.5, ge=0, lt=1)


class GenerateParams(_Section):
    """The procedural (Kubric-like) source."""

    n_videos: int = Field(128, ge=1, le=MAX_VIDEOS)
    n_frames: int = Field(32, ge=2, le=MAX_FRAMES)
    width: int = Field(256, ge=16, le=MAX_PIXELS)
    height: int = Field(256, ge=16, le=MAX_PIXELS)
    fps: float = Field(12.0, gt=0, le=1000)
    min_objects: int = Field(2, ge=1, le=255)
    max_objects: int = Field(6, ge=1, le=255)
    render_chunk_rays: int = Field(65536, ge=1024, le=1 << 26)
    camera_motion_mix: dict[str, float] = {
        "static": 0.1, "pan": 0.1, "tilt": 0.08, "roll": 0.06, "dolly": 0.14, "truck": 0.12,
        "pedestal": 0.08, "orbit": 0.1, "combined": 0.12, "push_pull": 0.1,
    }
    object_motion_mix: dict[str, float] = {
        "static": 0.08, "translate": 0.14, "forward": 0.14, "backward": 0.1, "turn": 0.14,
        "rotate_cw": 0.1, "rotate_ccw": 0.1, "pass_by": 0.1, "convoy": 0.1,
    }

    _mixes = field_validator("camera_motion_mix", "object_motion_mix")(check_mix)

    @model_validator(mode="after")
    def _check(self) -> "GenerateParams":
        if self.max_objects < self.min_objects:
            raise ValueError("generate.max_objects must be >= generate.min_objects")
        return self


class SourceSpec(_Section):
    """One configured source: ``{name, kind, root}`` enables it; ``options`` are checked by its adapter."""

    name: str  # e.g. "procedural", "vkitti2"; also the key of its per-source QA settings
    kind: str = "kubric"  # an adapter of fourdpqa.sources.ADAPTER_MODULES (= fourdpqa.vocabulary.SOURCE_KINDS)
    root: str
    options: dict[str, Any] = {}

    @model_validator(mode="after")
    def _known_kind(self) -> "SourceSpec":
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"source {self.name!r}: unknown kind {self.kind!r}; known: {sorted(SOURCE_KINDS)}")
        return self


class StandardizeParams(_Section):
    sources: list[SourceSpec] = [SourceSpec(name="procedural", kind="kubric", root="data/raw/procedural")]

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[SourceSpec]) -> list[SourceSpec]:
        names = [s.name for s in sources]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"source name(s) {twice} used more than once (a name keys its scenes and thresholds)")
        return sources


class TracksParams(_Section):
    queries_per_video: int = Field(256, ge=1, le=MAX_COUNT)
    sampling_stride: int = Field(4, ge=1, le=MAX_PIXELS)
    max_sampled_frac: float = Field(0.1, gt=0, le=1)
    background_share: float = Field(0.3, ge=0, le=1)
    query_frames: Literal["first", "any"] = "any"
    chunk_points: int = Field(2048, ge=1, le=MAX_COUNT)
    depth_tolerance: float = Field(0.99, gt=0, le=1)
    # also track one interior pixel of every visible object (and of the background) every this many frames, the
    # queries the tracking questions read (fourdpqa.qa_tracks); 0 = the Kubric-style sample only
    qa_queries_every: int = Field(4, ge=0, le=MAX_FRAMES)


class SourceQAParams(_Section):
    """Per-source QA settings (``qa.sources.<source name>``); unset fields keep the ``qa`` value."""

    preset: Literal["synthetic", "driving", "indoor"] | None = None  # thresholds when qa.thresholds has no entry
    clip_frames: int | None = Field(None, ge=1, le=MAX_FRAMES)  # 1: single-frame clips (depth and distance questions only)
    clip_stride: int | None = Field(None, ge=1, le=MAX_FRAMES)
    clips_per_video: int | None = Field(None, ge=1, le=MAX_FRAMES)
    # frame sampling: clips play at about this rate (stride = round(video fps / sample_fps)); overrides clip_stride
    sample_fps: float | None = Field(None, gt=0, le=1000)
    questions_per_clip: int | None = Field(None, ge=1, le=MAX_FRAMES)


class QAParams(_Section):
    clip_frames: int = Field(32, ge=1, le=MAX_FRAMES)  # 1: single-frame clips (depth and distance questions only)
    clip_stride: int = Field(1, ge=1, le=MAX_FRAMES)
    clips_per_video: int = Field(1, ge=1, le=MAX_FRAMES)
    # clips of one video may share at most this share of their frames (0 = disjoint clips: independent facts)
    clip_max_overlap: float = Field(0.0, ge=0, le=1)
    # a circle/box mark is unambiguous only if every other object keeps at most this share of its visible pixels
    # inside the mark
    mark_max_other_share: float = Field(0.1, ge=0, le=1)
    out_width: int = Field(448, ge=16, le=MAX_PIXELS)
    out_height: int = Field(448, ge=16, le=MAX_PIXELS)
    questions_per_clip: int = Field(60, ge=1, le=MAX_FRAMES)
    track_target_frames: list[int] = [1, 8]  # min/max number of target frames asked in a tracking question
    thresholds: dict[str, LabelThresholds] = {"procedural": LabelThresholds(agent_categories=["person", "car"])}
    reference_mode_mix: dict[str, float] = {"caption": 0.4, "pixel": 0.2, "circle": 0.2, "box_mark": 0.2}
    answer_format_mix: dict[str, float] = {"mc": 0.5, "yn": 0.3, "free": 0.2}
    metric_questions: bool = True
    timestamp_cues: bool = True
    # question types to generate (paper numbering 1..13, 0 = metric); empty = all
    question_types: list[int] = []
    sources: dict[str, SourceQAParams] = {}  # per-source clip settings and threshold preset

    _mixes = field_validator("reference_mode_mix", "answer_format_mix")(check_mix)

    @field_validator("question_types")
    @classmethod
    def _known_types(cls, types: list[int]) -> list[int]:
        unknown = sorted({t for t in types if t not in QUESTION_TYPES})
        if unknown:
            raise ValueError(f"unknown question type(s) {unknown}; known: 0 (metric) and 1..13 (paper numbering)")
        if len(set(types)) != len(types):
            raise ValueError(f"question types listed twice: {types}")
        return types

    @field_validator("track_target_frames")
    @classmethod
    def _min_max_frames(cls, bounds: list[int]) -> list[int]:
        if len(bounds) != 2 or not 1 <= bounds[0] <= bounds[1]:
            raise ValueError(f"expected [min, max] with 1 <= min <= max, got {bounds}")
        return bounds


class LLMCallParams(_Section):
    """Bounds on the LLM calls of one stage run (one retry policy for all of them: :mod:`fourdpqa.llm`)."""

    timeout_s: float = Field(30.0, gt=0, le=MAX_SECONDS)  # one attempt
    max_retries: int = Field(3, ge=0, le=100)  # retries of a transient error (timeout, rate limit, connection, 5xx)
    backoff_s: float = Field(1.0, ge=0, le=3600)  # wait before the first retry, doubled for each further one
    requests_per_minute: float = Field(60.0, gt=0, le=1e9)
    budget_s: float = Field(3600.0, gt=0, le=MAX_SECONDS)  # wall time of all calls of one stage run; later questions are not sent
    breaker_failures: int = Field(5, ge=1, le=MAX_COUNT)  # consecutive failed calls after which the stage stops calling


class PhrasingParams(LLMCallParams):
    model: str | None = None  # litellm model name; None = keep template text (offline default)
    cache_dir: str = "data/cache/phrasing"
    temperature: float = Field(0.7, ge=0, le=2)
    verify: bool = True  # a second call must answer the paraphrase as the template is answered


class AssembleParams(_Section):
    benchmark_video_share: float = Field(0.7, gt=0, lt=1)
    train_size: int = Field(4000, ge=1, le=MAX_COUNT)
    benchmark_size: int = Field(800, ge=1, le=MAX_COUNT)
    tracking_share: float = Field(0.2, ge=0, le=1)
    export_mp4: bool = False  # True: store the benchmark MJPEG mp4s (else lmms-eval muxes them on read)


class ProbeParams(_Section):
    """The learnability stage: a small 3-D CNN (the pixel probe) trained from scratch on CPU on the training clips,
    scored on the benchmark against the text-only baselines of validation."""

    enabled: bool = True
    frames: int = Field(8, ge=2, le=1024)
    size: int = Field(64, ge=16, le=4096)
    epochs: int = Field(12, ge=1, le=MAX_COUNT)
    batch_size: int = Field(32, ge=1, le=1 << 20)
    lr: float = Field(2e-3, gt=0, le=10)
    width: int = Field(8, ge=1, le=4096)  # channels of the first convolution
    dim: int = Field(64, ge=1, le=1 << 16)  # clip / word feature size
    mirror: bool = True  # train on left-right mirrored copies too (texts swap left/right, clockwise senses, x)
    reverse: bool = True  # and motion types played backwards (texts swap forward/backward, up/down, increases, ...)
    motion_weight: float = Field(1.0, ge=0, le=1000)  # weight of the auxiliary camera-motion loss (training scenes' poses)
    max_train_rows: int = Field(3000, ge=1, le=MAX_COUNT)  # training rows used (a seeded sample per group beyond it): bounds the cost
    alpha: float = Field(0.01, gt=0, lt=1)  # family-wise level of "the probe beats text in a category" (Holm)


class ValidateParams(_Section):
    # an answer class may take at most this multiple of its uniform share (assembly selects under the same limit)
    max_option_ratio: float = Field(1.5, ge=1, le=1000)
    yes_share_low: float = Field(0.45, ge=0, le=1)
    yes_share_high: float = Field(0.55, ge=0, le=1)
    letter_chi2_p: float = Field(0.01, gt=0, lt=1)
    blind_margin: float = Field(0.03, ge=0, le=1)
    blind_blocking: bool = True  # a significant text-only shortcut fails validation
    blind_null_draws: int = Field(20, ge=0, le=100_000)  # answer-shuffled copies calibrating the blind audit (0 = off)
    blind_alpha: float = Field(0.01, gt=0, lt=1)  # family-wise level of the blind audit's tests (Holm)
    # validate warns when a benchmark (type, format) group has fewer questions: it cannot tell a shortcut from luck
    min_group_size: int = Field(30, ge=0, le=MAX_COUNT)
    phash_max_distance: int = Field(4, ge=0, le=64)  # bits of a 64-bit perceptual hash
    # a mark is ambiguous when another object has more than this share of its visible pixels inside it
    mark_foreign_share: float = Field(0.1, ge=0, le=1)
    max_ambiguous_mark_share: float = Field(0.0, ge=0, le=1)  # of the benchmark's marked records

    @model_validator(mode="after")
    def _band(self) -> "ValidateParams":
        if self.yes_share_low >= self.yes_share_high:
            raise ValueError(f"yes_share_low ({self.yes_share_low}) must be below yes_share_high ({self.yes_share_high})")
        return self


class ReviewParams(_Section):
    per_type: int = Field(3, ge=1, le=MAX_FRAMES)  # QA pairs shown per (split, question type, format)


class TrainParams(_Section):
    model: str | None = None  # HF id or local path; None = tiny Qwen2.5-VL built from a config in-process
    tiny_hidden_size: int = Field(64, ge=16, le=16_384, multiple_of=16)  # attention heads of 16 dims (fourdpqa.vlm.model)
    tiny_layers: int = Field(2, ge=1, le=256)
    tiny_vision_depth: int = Field(2, ge=1, le=256)
    frames: int = Field(4, ge=1, le=1024)
    image_size: int = Field(56, ge=28, le=MAX_PIXELS)
    max_steps: int = Field(150, ge=1, le=MAX_COUNT)
    batch_size: int = Field(4, ge=1, le=1 << 20)
    grad_accum: int = Field(1, ge=1, le=1 << 20)
    lr: float = Field(1e-3, gt=0, le=10)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0, le=10)
    lora: bool = False
    lora_r: int = Field(8, ge=1, le=4096)
    max_train_samples: int | None = Field(256, ge=1, le=MAX_COUNT)
    balanced: bool = True  # batches take answer formats and answers (yes / no, A-D) in turn (fourdpqa.train.data)
    checkpoint_every: int = Field(50, ge=1, le=MAX_COUNT)


class EvaluateParams(_Section):
    predictors: list[str] = ["random", "blind", "motion_presence", "direction_blind", "oracle", "flow", "trained"]
    frames: int = Field(32, ge=1, le=1024)
    max_new_tokens: int = Field(24, ge=1, le=1 << 20)
    batch_size: int = Field(4, ge=1, le=1 << 20)
    vlm4d_dir: str | None = None  # local folder holding real_mc.json / synthetic_mc.json
    api_model: str | None = None  # litellm model for the API predictor
    api_calls: LLMCallParams = LLMCallParams(timeout_s=60.0, backoff_s=2.0)
    max_response_chars: int = Field(8192, ge=256, le=MAX_COUNT)  # longer answers keep their head and tail (the conclusion)
    # HF predictors that answer MC / yes-no by the most likely allowed answer (constrained decoding) instead of
    # free generation: the tiny default model cannot yet follow the answer format on its own
    constrained: list[str] = ["trained"]

    @field_validator("predictors")
    @classmethod
    def _known_predictors(cls, names: list[str]) -> list[str]:
        bad = [n for n in names if n not in PREDICTORS
               and not any(n.startswith(p) and len(n) > len(p) for p in PREDICTOR_PREFIXES)]
        if bad or not names:
            raise ValueError(f"unknown predictor(s) {bad}; expected {list(PREDICTORS)}, hf:<model> or api:<model>")
        return names


# The "validate" section shares its name with pydantic's deprecated ``BaseModel.validate``; the field wins.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message='Field name "validate"', category=UserWarning)

    class Params(_Section):
        base: BaseParams = BaseParams()
        generate: GenerateParams = GenerateParams()
        standardize: StandardizeParams = StandardizeParams()
        tracks: TracksParams = TracksParams()
        qa: QAParams = QAParams()
        phrasing: PhrasingParams = PhrasingParams()
        assemble: AssembleParams = AssembleParams()
        validate: ValidateParams = ValidateParams()
        learnability: ProbeParams = ProbeParams()
        review: ReviewParams = ReviewParams()
        train: TrainParams = TrainParams()
        evaluate: EvaluateParams = EvaluateParams()

        @model_validator(mode="after")
        def _per_source_keys(self) -> "Params":
            """``qa.thresholds`` and ``qa.sources`` keys name configured sources (``default`` and the built-in
            procedural source's thresholds excepted): a misspelt name would silently fall back to the defaults."""
            names = {s.name for s in self.standardize.sources}
            for key, table, also in (("qa.thresholds", self.qa.thresholds, {"default", BUILTIN_SOURCE}),
                                     ("qa.sources", self.qa.sources, set())):
                unknown = sorted(set(table) - names - also)
                if unknown:
                    raise ValueError(f"{key}: {unknown} name no source of standardize.sources "
                                     f"(configured: {sorted(names)}); fix the name or configure the source")
            return self

        @property
        def data(self) -> Path:
            return Path(self.base.data_root)

        def thresholds_for(self, source: str) -> LabelThresholds:
            """Thresholds of ``source``: its own ``qa.thresholds`` entry, else the ``default`` entry, else the preset of
            ``qa.sources.<source>.preset`` or of its kind (:data:`KIND_PRESETS`); KeyError for an unconfigured source."""
            table = self.qa.thresholds
            if source in table:
                return table[source]
            if "default" in table:
                return table["default"]
            own = self.qa.sources.get(source)
            kinds = [s.kind for s in self.standardize.sources if s.name == source]
            preset = own.preset if own is not None and own.preset else KIND_PRESETS.get(kinds[0]) if kinds else None
            if preset is None:
                raise KeyError(f"params.yaml qa.thresholds has no entry for source {source!r} (and no 'default'), and "
                               f"{source!r} is not a configured source of a known kind")
            return THRESHOLD_PRESETS[preset]

        def qa_for(self, source: str, fps: float | None = None) -> QAParams:
            """The ``qa`` settings for one source's videos: ``qa.sources.<source>`` overrides clip length, stride, clips
            per video and questions per clip; ``sample_fps`` turns the video's ``fps`` into a stride."""
            own = self.qa.sources.get(source)
            if own is None:
                return self.qa
            update = {k: v for k, v in own.model_dump(exclude={"preset", "sample_fps"}).items() if v is not None}
            if own.sample_fps is not None and fps:
                update["clip_stride"] = max(1, round(fps / own.sample_fps))
            return self.qa.model_copy(update=update)


class ParamsError(ValueError):
    """params.yaml is unreadable or does not match the expected types and ranges."""


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate ``params.yaml``; errors name the file and every offending key."""
    path = Path(path)
    try:
        text = path.read_text()
        duplicate = first_duplicate_key(yaml.compose(text, Loader=yaml.SafeLoader))
        raw = yaml.safe_load(text) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ParamsError(f"{path}: cannot read parameters: {exc}") from exc
    if duplicate:
        raise ParamsError(f"{path}: invalid parameters: {duplicate}")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ParamsError(f"{path}: invalid parameters: {problems}") from exc
