"""Fine-tuning: the trained VLM checkpoint (one MLflow run per materialisation)."""

import dagster as dg

from dagster_project.metadata import png_markdown
from dagster_project.resources import PipelineParams
from fourdpqa.device import set_determinism
from fourdpqa.stages.tracking import train_with_tracking


@dg.asset(group_name="models", deps=["training_set"],
          description="Qwen2.5-VL fine-tuned on the training set (tiny in-process model unless train.model is set).")
def trained_model(context: dg.AssetExecutionContext, pipeline: PipelineParams) -> dg.MaterializeResult:
    params = pipeline.load()
    set_determinism(params.base.seed, params.base.num_threads)
    summary = train_with_tracking(params)
    context.log.info(f"trained {summary['steps']} steps, final loss {summary['final_loss']:.4f}")
    return dg.MaterializeResult(
        metadata={
            "mlflow_run_id": summary["mlflow_run_id"],
            "final_loss": dg.MetadataValue.float(float(summary["final_loss"])),
            "first_loss": dg.MetadataValue.float(float(summary["first_loss"])),
            "steps": summary["steps"],
            "examples": summary["n_examples"],
            "samples_per_s": dg.MetadataValue.float(float(summary["samples_per_s"])),
            "model_dir": dg.MetadataValue.path(summary["model_dir"]),
            "loss_curve": png_markdown(summary["plot_path"], "training loss"),
        }
    )
