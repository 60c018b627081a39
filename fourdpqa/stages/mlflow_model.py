"""The trained VLM as one MLflow model with two flavours (this module is the flavour MLflow logs it with).

* ``transformers``, task ``image-text-to-text``: the checkpoint, its tokenizer and its processor.
  ``mlflow.transformers.load_model(uri, return_type="components")`` returns ``model``, ``tokenizer`` and
  ``processor``: the full Qwen2.5-VL processor where transformers can build one (an install with torchvision), else
  the checkpoint's image processor, the part that turns frames into patches (the CPU install has no video processor:
  docs/DESIGN.md "CPU install and torchvision"). MLflow builds no ``pipeline`` for a model saved with a processor.
* ``python_function``, loaded by :func:`_load_pyfunc`: answers benchmark rows exactly as the evaluate stage's
  ``trained`` predictor (:class:`fourdpqa.predictors.hf.HFPredictor`, the same frames, prompt and constrained
  decoding), e.g. ``mlflow.pyfunc.load_model("models:/fourdpqa-vlm/1").predict(benchmark_rows,
  params={"frames_root": "data/dataset"})``. It needs the ``fourdpqa`` package where it is loaded.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fourdpqa.errors import BadInput
from fourdpqa.predictors.base import Sample

if TYPE_CHECKING:
    from fourdpqa.params import Params
    from fourdpqa.train import TrainingJob

log = logging.getLogger("fourdpqa.tracking")

NAME = "model"  # artifact path inside the training run
TASK = "image-text-to-text"
TRANSFORMERS_MODEL_DIR = "model"  # where mlflow.transformers keeps the checkpoint inside the MLflow model
QA_FIELDS = ("question", "answer_format", "options")  # benchmark-row fields format_prompt reads


def pyfunc_config(params: Params) -> dict[str, Any]:
    """The pyfunc's defaults: the evaluate stage's settings for the ``trained`` predictor (overridable with
    ``mlflow.pyfunc.load_model(uri, model_config={...})``)."""
    ev = params.evaluate
    return {"device": "auto", "batch_size": ev.batch_size, "max_new_tokens": ev.max_new_tokens,
            "constrained": "trained" in ev.constrained}


def signature() -> Any:
    """Input: a row per question with its clip, ``frames`` (image paths) or else a ``video`` file (relative paths
    under the ``frames_root`` parameter), and either the benchmark fields ``question`` / ``answer_format`` /
    ``options`` or a ready ``prompt``; output: the answer text."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema
    from mlflow.types.schema import Array

    inputs = Schema([ColSpec(Array("string"), "frames", required=False), ColSpec("string", "video", required=False),
                     ColSpec("string", "prompt", required=False), ColSpec("string", "id", required=False),
                     ColSpec("string", "question", required=False), ColSpec("string", "answer_format", required=False),
                     ColSpec(Array("string"), "options", required=False)])
    return ModelSignature(inputs, Schema([ColSpec("string")]), ParamSchema([ParamSpec("frames_root", "string", "")]))


def model_processor(model_dir: str | Path) -> Any:
    """The checkpoint's Hugging Face processor, or its image processor where transformers cannot build the
    processor (no torchvision; as :func:`fourdpqa.vlm.model.load_processor_parts`)."""
    from transformers import AutoImageProcessor, AutoProcessor

    try:
        return AutoProcessor.from_pretrained(str(model_dir))
    except ImportError as exc:
        log.debug("no AutoProcessor (%s): the processor logged is the image processor", " ".join(str(exc).split()))
    return AutoImageProcessor.from_pretrained(str(model_dir))


@contextlib.contextmanager
def _pipeline_classes_resolved() -> Iterator[None]:
    """MLflow (<= 3.18) logs a local checkpoint by reading ``check_task(task)[1]["impl"].__name__``; transformers 5
    stores that class as a dotted string. Resolve it for the duration of the call."""
    from transformers import pipelines

    original = pipelines.check_task

    def check_task(task: str) -> Any:
        name, meta, options = original(task)
        if isinstance(meta.get("impl"), str):
            module, _, cls = meta["impl"].rpartition(".")
            meta = {**meta, "impl": getattr(importlib.import_module(module), cls)}
        return name, meta, options

    pipelines.check_task = check_task
    try:
        yield
    finally:
        pipelines.check_task = original


def save_model(path: str, mlflow_model: Any, model_dir: str, source: str, model_card: Any, license_text: str,
               pip_requirements: Sequence[str], config: Mapping[str, Any]) -> None:
    """MLflow's flavour hook (``Model.log(flavor=this module)``): the transformers flavour of the checkpoint
    directory ``model_dir`` with its processor, then this module as the pyfunc loader. ``source`` (the checkpoint
    relative to the data root) and ``license_text`` replace what MLflow derives from the absolute checkpoint path
    (a source model name and a licence file pointing at huggingface.co/<that path>)."""
    import mlflow.transformers
    from mlflow import pyfunc

    with _pipeline_classes_resolved():
        mlflow.transformers.save_model(model_dir, path, processor=model_processor(model_dir), task=TASK,
                                       mlflow_model=mlflow_model, model_card=model_card,
                                       pip_requirements=list(pip_requirements), signature=signature())
    mlflow_model.flavors["transformers"]["source_model_name"] = source
    (Path(path) / "LICENSE.txt").write_text(license_text, encoding="utf-8")
    env = mlflow_model.flavors.pop(pyfunc.FLAVOR_NAME)[pyfunc.ENV]
    pyfunc.add_to_model(mlflow_model, loader_module=__name__, data=TRANSFORMERS_MODEL_DIR, conda_env=env["conda"],
                        python_env=env["virtualenv"], model_config=dict(config))
    mlflow_model.save(str(Path(path) / "MLmodel"))


def log_model(job: TrainingJob, registered_model_name: str) -> str:
    """Log the trained model of ``job`` into the active run and register it; returns the model URI. Offline: the
    model card is ours, the pip requirements are given."""
    import torch
    import transformers
    from huggingface_hub import ModelCard
    from mlflow.models import Model

    tiny = job.params.train.model is None
    base = job.params.train.model or "a tiny Qwen2.5-VL built in-process"
    card = ModelCard(f"---\nlicense: {'apache-2.0' if tiny else 'other'}\n---\n# fourdpqa {job.name}\n\n"
                     f"Qwen2.5-VL fine-tuned on {len(job.conversations)} 4DP-QA training examples from {base} "
                     f"(fingerprint {job.fingerprint}).\n")
    license_text = (f"Trained by fourdpqa from {base}: Apache-2.0.\n" if tiny else
                    f"Fine-tuned by fourdpqa from {base}: the base model's licence applies (see its model card).\n")
    reqs = [f"torch=={torch.__version__.split('+')[0]}", f"transformers=={transformers.__version__}"]
    info = Model.log(None, sys.modules[__name__], name=NAME, registered_model_name=registered_model_name,
                     model_dir=str(job.out_dir), source=job.relative(job.out_dir), model_card=card,
                     license_text=license_text, pip_requirements=reqs, config=pyfunc_config(job.params))
    return info.model_uri


# ------------------------------------------------------------------------------------------------------- pyfunc
class BenchmarkAnswerer:
    """The pyfunc model: ``predict(rows, params={"frames_root": ...})`` -> one answer per row."""

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> list[str]:
        root = Path((params or {}).get("frames_root") or ".")
        rows = data.to_dict("records") if hasattr(data, "to_dict") else list(data)
        return self.predictor.predict([sample(row, root, k) for k, row in enumerate(rows)])


def sample(row: Mapping[str, Any], frames_root: Path, index: int = 0) -> Sample:
    """A benchmark row (or a clip + ``prompt``) as the predictor's sample; clip paths relative to ``frames_root``."""
    from fourdpqa.frames import read_video
    from fourdpqa.qa_format import format_prompt

    name = f"row {index} ({_text(row, 'id') or 'no id'})"
    frames = row.get("frames")
    if frames is not None and not isinstance(frames, float) and len(frames):
        clip: list = [frames_root / str(f) for f in frames]
    elif _text(row, "video"):
        clip = read_video(frames_root / str(row["video"]))
    else:
        raise BadInput(f"{name}: no clip (neither 'frames' nor 'video')")
    record: dict[str, Any] = {k: _text(row, k) for k in ("id", "question", "answer_format") if _text(row, k)}
    options = row.get("options")
    record["options"] = [] if options is None or isinstance(options, float) else [str(o) for o in options]
    prompt = _text(row, "prompt")
    if not prompt:
        if "question" not in record or "answer_format" not in record:
            raise BadInput(f"{name}: needs a 'prompt' or the benchmark fields {', '.join(QA_FIELDS)}")
        prompt = format_prompt(record)
    return Sample(clip, prompt, record)


def _text(row: Mapping[str, Any], key: str) -> str | None:
    """A text cell, None when absent or missing (pandas fills missing cells of an optional column with NaN)."""
    value = row.get(key)
    return value if isinstance(value, str) and value else None


def _load_pyfunc(path: str, model_config: Mapping[str, Any] | None = None) -> BenchmarkAnswerer:
    """MLflow's pyfunc hook: ``path`` is the checkpoint directory inside the downloaded model."""
    from fourdpqa.predictors.hf import HFPredictor

    config = dict(model_config or {})
    return BenchmarkAnswerer(HFPredictor(path, device=config.get("device", "auto"), name="fourdpqa-vlm",
                                         batch_size=int(config.get("batch_size", 4)),
                                         max_new_tokens=int(config.get("max_new_tokens", 24)),
                                         constrained=bool(config.get("constrained", True))))
