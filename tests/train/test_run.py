"""The train stage function: outputs hold a few scalars and the loss plot, no absolute paths, no timings."""

from __future__ import annotations

import json
import shutil

from tests.helpers.vlm_data import TINY_TRAIN as TINY, write_export

from fourdpqa.params import Params, TrainParams
from fourdpqa.train import DEFAULT_EXPORT, prepare_training, run_training



def _outputs(models):
    return {p.relative_to(models).as_posix(): p.read_bytes() for p in sorted(models.rglob("*"))
            if p.is_file() and "checkpoints" not in p.parts}


def test_outputs_are_small_relative_and_identical_on_rerun(tmp_path):
    root = tmp_path / "data"
    write_export(root / "dataset" / "exports").rename(root / DEFAULT_EXPORT)
    params = Params(base={"data_root": str(root), "seed": 5, "num_threads": 1},
                    train=TrainParams(**TINY, max_steps=3, batch_size=2, checkpoint_every=2))
    job = prepare_training(params)
    summary = run_training(job)
    metrics = json.loads((root / "models" / "trained_metrics.json").read_text())
    assert metrics == {"final_loss": summary["losses"][-1], "first_loss": summary["losses"][0], "steps": 3,
                       "n_examples": 4}
    assert len(summary["losses"]) == 3 and summary["steps"] == 3
    assert (root / "models" / "trained_loss.png").read_bytes()[:4] == b"\x89PNG"
    assert summary["data"] == DEFAULT_EXPORT and summary["model_dir"] == "models/trained"
    first = _outputs(root / "models")
    assert not [name for name, data in first.items() if str(tmp_path).encode() in data]  # no absolute paths
    # a rerun of the same job from scratch writes the same bytes (no timings, no load-time keys)
    shutil.rmtree(root / "models" / "checkpoints")
    run_training(prepare_training(params))
    assert _outputs(root / "models") == first
