"""The registered model through MLflow's own loaders: ``mlflow.pyfunc.load_model`` answers benchmark rows exactly as
the evaluate stage's ``trained`` predictor, and ``mlflow.transformers.load_model`` gives the model, its tokenizer and
its processor, enough to answer a question without the checkpoint directory."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
import torch

from fourdpqa.assemble import assemble
from fourdpqa.evaluate import make_samples
from fourdpqa.params import Params
from fourdpqa.predictors import build_predictor
from fourdpqa.stages.mlflow_runs import REGISTERED_MODEL, train_with_tracking
from fourdpqa.stages.mlflow_store import store_uri
from fourdpqa.vlm.model import load_vlm
from fourdpqa.vlm.processor import VisionSpec, collate, encode
from fourdpqa.vlm.runner import VLMRunner
from schemas.qa import LETTERS
from tests.helpers.dataset_data import toy_oracle, write_data_root
from tests.helpers.vlm_data import TINY_TRAIN

URI = f"models:/{REGISTERED_MODEL}/1"


@pytest.fixture(autouse=True)
def _project_store(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def registered(tmp_path_factory) -> Params:
    """A small assembled dataset and the model trained on it, registered in the project's store."""
    import mlflow

    root = tmp_path_factory.mktemp("mlflow_model") / "data"
    write_data_root(root, 4, per_type=4)
    params = Params.model_validate({
        "base": {"data_root": str(root), "allowed_roots": [str(root)], "num_threads": 1},
        "qa": {"out_width": 32, "out_height": 32},
        "assemble": {"train_size": 80, "benchmark_size": 40, "export_mp4": False},
        "train": {**TINY_TRAIN, "max_steps": 3, "batch_size": 2, "lr": 1e-2},
        "evaluate": {"batch_size": 4, "max_new_tokens": 6},
    })
    assemble(params, oracle=toy_oracle)
    train_with_tracking(params)  # default store: <data>/mlflow
    mlflow.set_tracking_uri(store_uri(root))
    return params


def _rows(params: Params) -> pl.DataFrame:
    """Two benchmark rows of each answer format the benchmark holds (MC, yes/no), in the evaluate stage's order."""
    bench = pl.read_parquet(params.data / "dataset" / "benchmark.parquet").sort("video_id", "id")
    picked = pl.concat([bench.filter(pl.col("answer_format") == f).head(2) for f in ("mc", "yn")])
    assert picked["answer_format"].to_list() == ["mc", "mc", "yn", "yn"]
    return picked


def _prompt_rows(samples: list) -> Any:
    """The same questions as ready prompts with absolute frame paths (no frames_root)."""
    return pl.DataFrame({"frames": [[str(f) for f in s.frames] for s in samples],
                         "prompt": [s.prompt for s in samples]}).to_pandas()


def test_pyfunc_answers_benchmark_rows_as_the_trained_predictor(registered):
    import mlflow

    params = registered
    rows = _rows(params)
    dataset = params.data / "dataset"
    model = mlflow.pyfunc.load_model(URI)
    answers = model.predict(rows.to_pandas(), params={"frames_root": str(dataset)})
    samples = make_samples(rows.to_dicts(), dataset)  # what the evaluate stage hands its predictors
    assert answers == build_predictor("trained", params).predict(samples)
    assert all(a in LETTERS[: len(o)] for a, o in zip(answers[:2], rows["options"][:2])) and \
        set(answers[2:]) <= {"yes", "no"}  # constrained decoding, as the evaluate stage's default for `trained`
    # a caller may turn it off (free generation, from ready prompts and absolute frame paths)
    free = mlflow.pyfunc.load_model(URI, model_config={"constrained": False})
    assert free.predict(_prompt_rows(samples)) == build_predictor("trained", params, constrained=False).predict(samples)


def test_a_row_without_a_clip_or_a_question_is_bad_input_naming_it(tmp_path):
    from fourdpqa.errors import BadInput
    from fourdpqa.qa_format import format_prompt
    from fourdpqa.stages.mlflow_model import sample

    with pytest.raises(BadInput, match=r"row 3 \(q7\): no clip"):
        sample({"id": "q7", "prompt": "Is it?"}, tmp_path, 3)
    with pytest.raises(BadInput, match=r"row 0 \(no id\): needs a 'prompt'"):
        sample({"frames": ["a.jpg"], "prompt": float("nan")}, tmp_path)  # pandas' missing cell
    row = {"frames": ["a.jpg"], "question": "Is the cube moving left?", "answer_format": "yn", "options": None,
           "prompt": float("nan")}
    got = sample(row, tmp_path)
    assert got.prompt == format_prompt({**row, "options": []}) and got.frames == [tmp_path / "a.jpg"]


def test_transformers_flavour_gives_model_tokenizer_and_processor(registered):
    import mlflow

    params = registered
    parts = mlflow.transformers.load_model(URI, return_type="components")
    assert parts["task"] == "image-text-to-text" and {"model", "tokenizer", "processor"} <= set(parts)
    trained_dir = params.data / "models" / "trained"
    trained = load_vlm(str(trained_dir))
    ours, theirs = parts["model"].state_dict(), trained.model.state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    spec = VisionSpec.from_image_processor(getattr(parts["processor"], "image_processor", parts["processor"]))
    assert spec == trained.spec
    # the components alone answer a benchmark question like the checkpoint on disk (greedy, same frames / size)
    (sample,) = make_samples(_rows(params).head(1).to_dicts(), params.data / "dataset")
    runner = VLMRunner(trained_dir, device="cpu")
    enc = encode(parts["tokenizer"], spec, list(sample.frames), sample.prompt, None, runner.frames, runner.image_size)
    tok = parts["tokenizer"]
    batch = collate([enc], tok.pad_token_id, parts["model"].config.video_token_id, padding_side="left")
    with torch.inference_mode():
        out = parts["model"].generate(**batch, max_new_tokens=6, do_sample=False, pad_token_id=tok.pad_token_id,
                                      eos_token_id=tok.eos_token_id)
    answer = tok.decode(out[0, batch["input_ids"].shape[1]:], skip_special_tokens=True).strip()
    assert answer == runner.generate([(list(sample.frames), sample.prompt)], max_new_tokens=6)[0]
