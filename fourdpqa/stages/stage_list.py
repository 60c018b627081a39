"""The one stage list: names, order, upstream stages, params, outputs and Dagster assets of every stage.

``dvc.yaml`` is generated from it (``python -m fourdpqa dvc-yaml``; a test fails when the file drifts), the Dagster
assets take their upstream keys and group names from it, and the stage protocol takes each stage's params and code
from it — so the two drivers cannot disagree about the graph. Importing this module imports no stage.

One name per stage: the CLI subcommand, the module ``fourdpqa/stages/<name>.py``, the params section, the dvc stage,
the Dagster asset group and the test folder are all ``<name>``; the assets are data nouns (``assets`` below).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fourdpqa.layout import MANIFEST_DIR, Layout
from fourdpqa.vocabulary import SOURCE_KINDS

if TYPE_CHECKING:
    from fourdpqa.params import Params


@dataclass(frozen=True)
class StageInfo:
    name: str
    help: str
    upstream: tuple[str, ...] = ()  # stages whose outputs this one reads
    params: tuple[str, ...] = ()  # params sections or dotted keys that change its outputs
    outs: tuple[str, ...] = ()  # outputs, relative to the data root (dvc outs; persisted)
    metrics: tuple[str, ...] = ()  # small JSON metrics files (dvc metrics), relative to the data root
    records: tuple[str, ...] = ()  # plot data (dvc plots) and other small files kept in git, not the DVC cache
    assets: tuple[str, ...] = ()  # Dagster asset keys it materializes (group = the stage name)
    per_video: bool = False  # items are videos (a Dagster partition each) rather than one dataset-level item
    code: tuple[str, ...] = ()  # modules run but imported by name (adapters), beyond fourdpqa.stages.<name>
    in_pipeline: bool = True  # part of dvc.yaml and the asset graph (vlm4d is an on-demand command)

    @property
    def module(self) -> str:
        return f"fourdpqa.stages.{self.name}"

    @property
    def code_modules(self) -> tuple[str, ...]:
        return (self.module, *self.code)


ADAPTERS = tuple(sorted(SOURCE_KINDS.values()))  # imported by kind name, so listed as code explicitly

_AT = Layout(Path())  # folder names come from the one layout module, relative to the data root
SPLITS = ("train", "benchmark")


def _rel(*paths: Path) -> tuple[str, ...]:
    return tuple(p.as_posix() for p in paths)


# the qa clip settings that decide which frames a video's clips use (fourdpqa.scene_clips, sources.frame_plan)
QA_CLIPS = tuple(f"qa.{k}" for k in ("clip_frames", "clip_stride", "clips_per_video", "clip_max_overlap", "sources"))

STAGES: tuple[StageInfo, ...] = (
    StageInfo("generate", "render the built-in procedural source into Kubric worker folders",
              params=("base.seed", "generate"), outs=_rel(_AT.raw("procedural")), assets=("procedural_videos",),
              per_video=True),
    StageInfo("standardize", "every raw video of every configured source -> a validated standard scene",
              # + the qa clip settings: recorded sources decode only the clips QA will use (sources.frame_plan)
              upstream=("generate",), params=("standardize", *QA_CLIPS), outs=_rel(_AT.scenes),
              assets=("standard_scenes",),
              per_video=True, code=ADAPTERS),
    StageInfo("tracks", "visual / true-motion point tracks of every standard scene",
              # the QA clip windows: tracks cover exactly the frames the QA clips use (fourdpqa.scene_clips)
              upstream=("standardize",), params=("base.seed", "tracks", *QA_CLIPS),
              outs=_rel(_AT.tracks),
              assets=("point_tracks",), per_video=True),
    StageInfo("qa", "QA records of every standard scene (13 paper types + metric)",
              upstream=("standardize", "tracks"), params=("base.seed", "qa", "phrasing", "tracks.depth_tolerance"),
              outs=_rel(_AT.qa), assets=("qa_pairs",), per_video=True),
    StageInfo("assemble", "per-video QA -> training set and held-out benchmark (+ clips, exports)",
              upstream=("standardize", "qa"),
              # the validate limits assembly selects under (not the audit settings: changing those re-checks the
              # dataset without rebuilding it)
              params=("base.seed", "assemble", "qa.out_width", "qa.out_height", *(f"validate.{k}" for k in (
                  "max_option_ratio", "yes_share_low", "yes_share_high", "letter_chi2_p", "phash_max_distance"))),
              outs=_rel(_AT.dataset), assets=("training_set", "benchmark")),
    StageInfo("validate", "checks of the assembled dataset -> validation report",
              upstream=("standardize", "tracks", "qa", "assemble"), params=("base.seed", "validate"),
              outs=_rel(_AT.validation),
              metrics=_rel(_AT.metrics("validate")),
              records=_rel(*(_AT.plot(f"answers_{s}").with_suffix(x) for s in SPLITS for x in (".csv", ".png"))),
              assets=("validation_report",)),
    StageInfo("learnability", "can the benchmark be learned from its pixels? the pixel probe vs text-only predictors",
              upstream=("standardize", "assemble", "validate"), params=("base.seed", "learnability"),
              outs=_rel(_AT.learnability), metrics=_rel(_AT.metrics("learnability")),
              assets=("learnability_report",)),
    StageInfo("review", "static HTML page of sampled QA pairs for a person to audit",
              upstream=("assemble",), params=("base.seed", "review"), outs=_rel(_AT.review), assets=("review_page",)),
    StageInfo("train", "fine-tune the VLM on the training set (MLflow run)",
              upstream=("assemble", "validate"), params=("base.seed", "train"),
              outs=_rel(_AT.model("trained"), _AT.model_loss_plot("trained"), _AT.model_metrics("trained"),
                        _AT.models / MANIFEST_DIR),
              metrics=_rel(_AT.metrics("train")), records=_rel(_AT.plot("train_loss"), _AT.plot("train_loss").with_suffix(".png")),
              assets=("trained_model",)),
    StageInfo("evaluate", "every configured predictor on the benchmark -> Table-2 report (MLflow runs)",
              upstream=("standardize", "assemble", "train"), params=("base.seed", "evaluate"),
              # the MLflow store: evaluate writes into it last (after train), so the store DVC versions holds
              # the training run, the registered model and the evaluation runs of these outputs
              outs=_rel(_AT.predictions, *_AT.eval_report_files,
                        _AT.eval / MANIFEST_DIR, _AT.mlflow),
              metrics=_rel(_AT.metrics("evaluate")), assets=("evaluation",)),
    StageInfo("vlm4d", "run a predictor on a local copy of the VLM4D benchmark", in_pipeline=False),
)

BY_NAME = {s.name: s for s in STAGES}


def get(name: str) -> StageInfo:
    return BY_NAME[name]


def pipeline() -> list[StageInfo]:
    """The stages of ``dvc repro`` and the asset graph, in run order."""
    return [s for s in STAGES if s.in_pipeline]


def upstream_assets(name: str) -> list[str]:
    """Dagster keys an asset of stage ``name`` depends on: every asset of its upstream stages."""
    return [a for up in get(name).upstream for a in get(up).assets]


def select(params: Params, keys: tuple[str, ...]) -> dict[str, Any]:
    """The values of params sections / dotted keys (what a stage's fingerprint and dvc ``params`` cover)."""
    dumped = params.model_dump(mode="json")
    out: dict[str, Any] = {}
    for key in keys:
        value: Any = dumped
        for part in key.split("."):
            value = value[part]
        out[key] = value
    return out
