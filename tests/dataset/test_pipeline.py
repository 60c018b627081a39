"""Drivers on real generated QA (procedural source, tiny): CLI stages assemble -> validate -> learnability -> review
with oracle-2 (independent of the generator) agreeing on every derivable record, the Dagster assets and asset checks
reporting exactly what the CLI's reports hold from one computation, and the blocking failure paths of both."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.assemble import assembled_dataset
from assets.explain import trimmed_details
from assets.learnability import learnability_report
from assets.resources import PipelineParams
from assets.validate import dataset_checks, validation_report
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
        learnability={"frames": 2, "size": 16, "epochs": 1, "width": 2, "dim": 8},
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
    checks = {c["name"]: c for c in report["checks"]}
    for name, split in (("check_answer_consistency", bench), ("check_answer_consistency_train", train)):
        assert checks[name]["passed"] and checks[name]["observed"].startswith(f"{split.height}/{split.height}")
    oracle = report["figures"]["oracle2"]  # both splits
    tracking = (train["answer_format"] == "trajectory").sum()
    assert oracle["agreement"] == 1.0 and oracle["n_errors"] == 0
    assert sum(checks[n]["details"]["motion_source"].get("tracks", 0) for n in ("check_oracle", "check_oracle_train")) > 0
    assert oracle["n_derived"] + oracle["n_underivable"] == bench.height + train.height and oracle["n_underivable"] >= tracking
    assert checks["check_oracle"]["details"]["n_derived"] >= 0.9 * bench.height  # all but ambiguous marks
    assert main(["learnability", "--params", str(work)]) == 0  # a warning at most: never blocks
    learn = json.loads((data / "learnability" / "report.json").read_text())
    assert set(learn["check"]["details"]["per_type"]) == {f"{q}/{f}" for q, f in bench.select(
        "question_name", "answer_format").unique().iter_rows()}
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
    consistency = next(c for c in report["checks"] if c["name"] == "check_answer_consistency")
    assert "recorded_by" not in consistency["details"] and not consistency["passed"]  # the table changed: rechecked
    assert oracle["details"]["disagreements"][victim["id"]]["stored"] == flip


def test_dagster_checks_report_what_the_cli_report_holds_from_one_computation(work: Path, monkeypatch):
    """The asset checks read the validate stage's report.json: each check ran once (counted), and every Dagster
    check result equals the report's entry; the learnability asset's check equals its report; the CLI afterwards
    finds both stages up to date."""
    import fourdpqa.validate.registry as registry

    calls: dict[str, int] = {}

    def counted(name, fn):
        def wrapper(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return fn(*args, **kwargs)
        return wrapper

    for name in ("check_blind_bias", "check_oracle", "check_marks", "check_label_balance"):
        monkeypatch.setattr(registry, name, counted(name, getattr(registry, name)))
    resources = {"pipeline": PipelineParams(params_path=str(work))}
    result = dg.materialize([assembled_dataset, validation_report, dataset_checks, learnability_report],
                            resources=resources, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert calls == {"check_blind_bias": 1, "check_oracle": 2, "check_marks": 2, "check_label_balance": 2}
    data = work.parent / "data"
    report = json.loads((data / "validation" / "report.json").read_text())
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    learn = evaluations.pop(("learnability_report", "check_pixel_learnability"))
    expected = {("training_set" if c["name"].endswith("_train") else "benchmark", c["name"].removesuffix("_train")): c
                for c in report["checks"]}
    assert set(evaluations) == set(expected) and len(expected) == 15
    for key, e in evaluations.items():
        c = expected[key]
        assert e.passed == c["passed"] and e.metadata["observed"].value == c["observed"]
        assert e.metadata["details"].value == trimmed_details(c["details"]), key
        assert e.severity == (dg.AssetCheckSeverity.ERROR if c["blocking"] else dg.AssetCheckSeverity.WARN)
        assert {"verdict", "rule", "observed", "details"} <= set(e.metadata)
        assert max(len(dg.serialize_value(v)) for v in e.metadata.values()) <= 100_000
    assert all(e.passed for k, e in evaluations.items() if expected[k]["blocking"])
    sizes = evaluations[("benchmark", "check_group_sizes")]  # a tiny benchmark: groups below 30, a warning
    assert not sizes.passed and sizes.severity == dg.AssetCheckSeverity.WARN
    learn_cli = json.loads((data / "learnability" / "report.json").read_text())["check"]
    assert learn.passed == learn_cli["passed"] and learn.severity == dg.AssetCheckSeverity.WARN
    assert learn.metadata["details"].value == trimmed_details(learn_cli["details"])
    assert set(learn_cli["details"]["per_type"]) == {
        f"{q}/{f}" for q, f in pl.read_parquet(data / "dataset" / "benchmark.parquet")
        .select("question_name", "answer_format").unique().iter_rows()}
    blind = report["checks"][[c["name"] for c in report["checks"]].index("check_blind_bias")]["details"]
    assert blind["null"]["draws"] == 20  # the seeded calibration, computed once in the stage
    leak = evaluations[("benchmark", "check_leakage")]
    assert leak.metadata["observed"].value == "0 shared videos, 0 near-duplicate clip pairs"
    meta = result.asset_materializations_for_node("assembled_dataset")
    by_key = {m.asset_key.to_user_string(): m.metadata for m in meta}
    bench = pl.read_parquet(data / "dataset" / "benchmark.parquet")
    assert by_key["benchmark"]["rows"].value == bench.height
    assert "data:image/" in by_key["benchmark"]["answer_histogram"].value
    assert max(len(dg.serialize_value(v)) for m in by_key.values() for v in m.values()) <= 100_000
    calls.clear()
    assert main(["validate", "--params", str(work)]) == 0 and main(["learnability", "--params", str(work)]) == 0
    assert calls == {}  # the CLI finds what Dagster produced up to date: nothing computed again


def test_dagster_blocking_check_failure_stops_downstream(work: Path):
    """Wrong yes/no answers in the training videos' QA tables (assembly checks only the benchmark's answers, so it
    writes the dataset): the blocking consistency check on training_set fails with the report's reason, the
    validation report and what follows it are not materialized, and the run fails."""
    data = work.parent / "data"
    assert main(["assemble", "--params", str(work)]) == 0
    train_videos = set(pl.read_parquet(data / "dataset" / "train.parquet")["video_id"])
    flipped = pl.when(pl.col("answer_format") == "yn")
    for vid in sorted(train_videos):
        qa_path = data / "qa" / f"{vid}.parquet"
        qa = pl.read_parquet(qa_path)
        write_parquet(qa_path, qa.with_columns(
            answer=flipped.then(pl.col("answer").replace({"yes": "no", "no": "yes"})).otherwise(pl.col("answer")),
            answer_text=flipped.then(pl.col("answer_text").replace({"yes": "no", "no": "yes"})).otherwise(pl.col("answer_text"))))
    resources = {"pipeline": PipelineParams(params_path=str(work))}
    result = dg.materialize([assembled_dataset, dataset_checks, validation_report], resources=resources,
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    failed = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations() if not e.passed}
    consistency = failed[("training_set", "check_answer_consistency")]
    assert consistency.severity == dg.AssetCheckSeverity.ERROR and "disagreements" in consistency.metadata["examples"].value
    assert not result.asset_materializations_for_node("validation_report")  # blocked by the failed check
    report = json.loads((data / "validation" / "report.json").read_text())  # what the check reported
    cli = next(c for c in report["checks"] if c["name"] == "check_answer_consistency_train")
    assert consistency.metadata["observed"].value == cli["observed"] and not cli["passed"]


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


def test_fact_keys_read_column_wise_equal_the_generators_fact_key(qa_root: Path):
    """Selection's column-wise fact keys on real generated QA of every type equal fourdpqa.questions.fact_key."""
    from fourdpqa.questions import fact_key
    from fourdpqa.selection import fact_keys

    qa = pl.concat([pl.read_parquet(p) for p in sorted((qa_root / "data" / "qa").glob("*.parquet"))],
                   how="vertical_relaxed")
    for _, grp in qa.group_by("question_name"):
        assert fact_keys(grp) == [fact_key(r) for r in grp.iter_rows(named=True)]
