"""Drivers on real generated QA (procedural source, tiny): CLI stages assemble -> validate -> review with oracle-2
(independent of the generator) agreeing on every derivable record, the Dagster assets and asset checks, and the
blocking failure paths of both."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.assemble import assembled_dataset
from assets.resources import PipelineParams
from assets.validate import DATASET_CHECKS
from fourdpqa.__main__ import main
from fourdpqa.atomic import write_parquet
from tests.helpers.params_file import write_params_file

pytestmark = pytest.mark.slow


def write_params(root: Path) -> Path:
    return write_params_file(
        root,
        generate={"n_videos": 10, "n_frames": 10, "width": 32, "height": 32, "max_objects": 3},
        tracks={"sampling_stride": 1, "max_sampled_frac": 1.0},  # enough track points on 32 px objects for oracle-2
        qa={"clip_frames": 8, "clips_per_video": 2, "out_width": 32, "out_height": 32},
        assemble={"train_size": 120, "benchmark_size": 40, "benchmark_video_share": 0.4},
        validate={"probe": {"frames": 2, "size": 16, "epochs": 1, "width": 2, "dim": 8}},
    )


@pytest.fixture(scope="module")
def qa_root(tmp_path_factory) -> Path:
    """A data root with generated, standardized scenes and their QA tables (shared, read-only)."""
    root = tmp_path_factory.mktemp("pipeline")
    params = write_params(root)
    for stage in ("generate", "standardize", "tracks", "qa"):  # tracking questions read the stored tracks
        assert main([stage, "--params", str(params)]) == 0
    return root


@pytest.fixture
def work(qa_root: Path, tmp_path: Path) -> Path:
    """A private copy of the QA data root (tests corrupt it)."""
    shutil.copytree(qa_root / "data", tmp_path / "data", ignore=shutil.ignore_patterns("raw"))
    return write_params(tmp_path)


def test_cli_assemble_validate_review(work: Path):
    data = work.parent / "data"
    assert main(["assemble", "--params", str(work)]) == 0
    bench = pl.read_parquet(data / "dataset" / "benchmark.parquet")
    train = pl.read_parquet(data / "dataset" / "train.parquet")
    assert bench.height > 0 and train.height > 0
    assert not set(bench["video_id"]) & set(train["video_id"])
    assert main(["validate", "--params", str(work)]) == 0
    report = json.loads((data / "validation" / "report.json").read_text())
    assert report["passed"]
    consistency = next(c for c in report["checks"] if c["name"] == "check_answer_consistency")
    assert consistency["passed"] and consistency["observed"].startswith(f"{bench.height + train.height}/")
    oracle = next(c for c in report["checks"] if c["name"] == "check_oracle")["details"]
    tracking = (train["answer_format"] == "trajectory").sum()
    assert oracle["agreement"] == 1.0 and oracle["n_errors"] == 0 and oracle["motion_source"]["tracks"] > 0
    assert oracle["n_derived"] + oracle["n_underivable"] == bench.height + train.height and oracle["n_underivable"] >= tracking
    assert oracle["n_derived"] >= bench.height  # every benchmark record is derived unless its mark is ambiguous
    assert main(["review", "--params", str(work)]) == 0
    assert (data / "review" / "index.html").read_text().count('<div class="card"') > 0

    # a wrong answer key in the written benchmark: validate exits 1 naming the row
    victim = bench.row(0, named=True)
    flip = {"yes": "no", "no": "yes", "A": "B", "B": "C", "C": "D", "D": "A"}[victim["answer"]]
    broken = bench.with_columns(answer=pl.when(pl.col("id") == victim["id"]).then(pl.lit(flip)).otherwise(pl.col("answer")))
    if victim["answer_format"] == "mc":
        broken = broken.with_columns(answer_text=pl.when(pl.col("id") == victim["id"])
                                     .then(pl.col("options").list.get("ABCD".index(flip))).otherwise(pl.col("answer_text")))
    write_parquet(data / "dataset" / "benchmark.parquet", broken)
    assert main(["validate", "--params", str(work)]) == 1
    report = json.loads((data / "validation" / "report.json").read_text())
    oracle = next(c for c in report["checks"] if c["name"] == "check_oracle")
    assert not report["passed"] and list(oracle["details"]["disagreements"]) == [victim["id"]]
    assert oracle["details"]["disagreements"][victim["id"]]["stored"] == flip


def test_dagster_assets_and_checks(work: Path):
    resources = {"pipeline": PipelineParams(params_path=str(work))}
    result = dg.materialize([assembled_dataset, *DATASET_CHECKS], resources=resources, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    got = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in evaluations}
    probe = got.pop(("benchmark", "check_pixel_learnability"))  # a warning: a 1-epoch probe may not beat text
    assert got == {("training_set", "check_schema"): True, ("benchmark", "check_schema"): True,
                   ("training_set", "check_answer_consistency"): True, ("benchmark", "check_answer_consistency"): True,
                   ("training_set", "check_oracle"): True, ("benchmark", "check_oracle"): True,
                   ("benchmark", "check_label_balance"): True, ("training_set", "check_label_balance"): True,
                   ("benchmark", "check_leakage"): True, ("benchmark", "check_marks"): True,
                   ("benchmark", "check_blind_bias"): True}
    learn = next(e for e in evaluations if e.check_name == "check_pixel_learnability")
    assert probe == (not learn.metadata["details"].value["flagged"]) and learn.severity == dg.AssetCheckSeverity.WARN
    assert set(learn.metadata["details"].value["per_type"]) == {
        f"{q}/{f}" for q, f in pl.read_parquet(work.parent / "data" / "dataset" / "benchmark.parquet")
        .select("question_name", "answer_format").unique().iter_rows()}
    assert main(["validate", "--params", str(work)]) == 0  # the CLI's probe: same inputs, seed and camera poses
    report = json.loads((work.parent / "data" / "validation" / "report.json").read_text())
    cli = next(c for c in report["checks"] if c["name"] == "check_pixel_learnability")["details"]
    dagster = learn.metadata["details"].value
    assert (dagster["per_type"], dagster["per_category"], dagster["final_loss"]) == (
        cli["per_type"], cli["per_category"], cli["final_loss"])
    blind_cli = next(c for c in report["checks"] if c["name"] == "check_blind_bias")["details"]
    blind_dagster = next(e for e in evaluations if e.check_name == "check_blind_bias").metadata["details"].value
    assert blind_dagster["null"] == blind_cli["null"] and blind_cli["null"]["draws"] == 20  # same seeded shuffles
    for e in evaluations:  # each check explains itself, in entries small enough for the event log
        assert {"verdict", "rule", "observed", "details"} <= set(e.metadata)
        assert max(len(dg.serialize_value(v)) for v in e.metadata.values()) <= 100_000
    leak = next(e for e in evaluations if e.check_name == "check_leakage")
    assert leak.metadata["observed"].value == "0 shared videos, 0 near-duplicate clip pairs"
    meta = result.asset_materializations_for_node("assembled_dataset")
    by_key = {m.asset_key.to_user_string(): m.metadata for m in meta}
    bench = pl.read_parquet(work.parent / "data" / "dataset" / "benchmark.parquet")
    assert by_key["benchmark"]["rows"].value == bench.height
    assert "data:image/" in by_key["benchmark"]["answer_histogram"].value
    assert max(len(dg.serialize_value(v)) for m in by_key.values() for v in m.values()) <= 100_000


def test_dagster_assembly_refuses_a_wrong_benchmark_answer(work: Path):
    data = work.parent / "data"
    resources = {"pipeline": PipelineParams(params_path=str(work))}
    assert dg.materialize([assembled_dataset], resources=resources, instance=dg.DagsterInstance.ephemeral()).success
    bench = pl.read_parquet(data / "dataset" / "benchmark.parquet")
    before = (data / "dataset" / "benchmark.parquet").read_bytes()
    # flip every yes/no answer of one question type in the benchmark videos' QA tables: the balance is unchanged
    # (each query word still has as many yes as no), so the selection takes such rows again, now all wrong
    name = bench.filter(pl.col("answer_format") == "yn")["question_name"][0]
    flipped = pl.when((pl.col("question_name") == name) & (pl.col("answer_format") == "yn"))
    for vid in bench["video_id"].unique().to_list():
        qa_path = data / "qa" / f"{vid}.parquet"
        qa = pl.read_parquet(qa_path)
        qa = qa.with_columns(answer=flipped.then(pl.col("answer").replace({"yes": "no", "no": "yes"})).otherwise(pl.col("answer")),
                             answer_text=flipped.then(pl.col("answer_text").replace({"yes": "no", "no": "yes"}))
                             .otherwise(pl.col("answer_text")))
        write_parquet(qa_path, qa)
    on_disk = _tree(data)
    result = dg.materialize([assembled_dataset], resources=resources, instance=dg.DagsterInstance.ephemeral(),
                            raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).event_specific_data
    assert "refusing to write the benchmark: check_answer_consistency" in str(failure.error)
    meta = failure.user_failure_data.metadata  # the step failure names the check, its rule and offending records
    assert meta["failed_checks"].value == "check_answer_consistency"
    assert "rule: 100% agreement" in meta["check_answer_consistency"].value and "disagreements" in meta["check_answer_consistency"].value
    assert (data / "dataset" / "benchmark.parquet").read_bytes() == before
    assert _tree(data) == on_disk  # no staging folder, no orphan clip export, nothing else changed


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (lock files and the digest cache aside) with its content."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not {".locks", ".cache"} & set(p.parts)}
