"""train: the trained VLM checkpoint, through the train stage (validation gate, lock, skip when up to date)."""

import json

import dagster as dg

from assets.metadata import image_entries
from assets.resources import PipelineParams
from assets.runner import report_metadata, run_whole
from fourdpqa import layout
from fourdpqa.params import Params
from fourdpqa.stages import stage_list, train

INFO = stage_list.get("train")


def latest_run_id(params: Params, name: str) -> str:
    """The MLflow run that trained model ``name`` (matched by the fingerprint the model records)."""
    from fourdpqa.stages.mlflow_runs import TRAIN_EXPERIMENT, open_store, training_run_of

    mlflow = open_store(layout.of(params).root, TRAIN_EXPERIMENT)
    return training_run_of(mlflow, layout.of(params).model(name)) or ""


@dg.asset(name=INFO.assets[0], group_name=INFO.name, deps=stage_list.upstream_assets(INFO.name),
          description="Qwen2.5-VL fine-tuned on the training set (tiny in-process model unless train.model is set).")
def trained_model(pipeline: PipelineParams) -> dg.MaterializeResult:
    params = pipeline.load()
    report = run_whole(train.STAGE, params)
    where = layout.of(params)
    summary = json.loads(where.model_metrics("trained").read_text(encoding="utf-8"))
    return dg.MaterializeResult(metadata={
        **report_metadata(report),
        "mlflow_run_id": latest_run_id(params, "trained"),
        "final_loss": dg.MetadataValue.float(float(summary["final_loss"])),
        "first_loss": dg.MetadataValue.float(float(summary["first_loss"])),
        "steps": summary["steps"],
        "examples": summary["n_examples"],
        "model_dir": dg.MetadataValue.path(str(where.model("trained"))),
        **image_entries("loss_curve", where.model_loss_plot("trained"), "training loss"),
    })
