"""DVC as its users drive it, in a copy of the repository: ``dvc dag`` and ``dvc repro --dry`` follow dvc.yaml,
``dvc metrics show`` lists a small summary, ``dvc plots show`` finds the loss curve and the answer shares, and a
local remote round-trips a stage output through ``dvc push`` / ``dvc pull``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from fourdpqa.report import summarize as summarize_scores
from fourdpqa.layout import Layout
from fourdpqa.stages import learnability, records
from fourdpqa.validate import CheckResult, ValidationReport, summarize
from tests.helpers.dataset_data import make_records
from tests.helpers.repo_copy import copy_repo

ROOT = Path(__file__).resolve().parents[1]
DVC = Path(sys.executable).parent / "dvc"  # the venv's dvc (make install links the DVC tool environment there)


def dvc(repo: Path, *args: str) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "PYTHONPATH": str(repo)}
    proc = subprocess.run([str(DVC), *args], cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"dvc {' '.join(args)}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    dst = copy_repo(tmp_path_factory.mktemp("dvcrepo"))
    dvc(dst, "config", "core.no_scm", "true")
    return dst


def test_dag_and_dry_run_follow_dvc_yaml(repo):
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    # an edge A -> B wherever B depends on an output of A (computed from dvc.yaml, not by dvc)
    outs = {name: [next(iter(o)) if isinstance(o, dict) else o for o in s.get("outs", []) + s.get("metrics", [])]
            for name, s in stages.items()}
    expected = {(a, b) for b, s in stages.items() for dep in s.get("deps", []) for a, paths in outs.items()
                if any(dep == p or dep.startswith(p + "/") for p in paths)}
    dot = dvc(repo, "dag", "--dot")
    edges = {tuple(part.strip().strip('"').split("@")[0] for part in line.rstrip(";").split("->"))
             for line in dot.splitlines() if "->" in line}
    assert edges == expected and ("generate", "standardize") in edges and ("train", "evaluate") in edges
    # on a fresh clone a plain --dry stops at the first stage whose inputs do not exist yet (DVC #9021)
    dry = dvc(repo, "repro", "--dry", "--force")
    order = [s for line in dry.splitlines() if line.startswith("Running stage") for s in [line.split("'")[1]]]
    assert sorted(order) == sorted(stages)
    assert all(order.index(a) < order.index(b) for a, b in expected)


def _validation_report() -> ValidationReport:
    train = pl.DataFrame(make_records("proc_00001") + make_records("proc_00002"))
    bench = pl.DataFrame(make_records("proc_00003"))
    checks = [CheckResult("check_schema", True, True, "ok", "valid"),
              CheckResult("check_blind_bias", False, False, "0.9", "<= 0.6")]
    return ValidationReport(checks, summarize({"train": train, "benchmark": bench}), figures={})


def test_metrics_show_a_small_summary_and_plots_find_their_data(repo):
    report = _validation_report()
    records.write_validation_records(repo / "data", report)
    losses = [2.5, 1.75, 1.25]
    records.write_training_records(repo / "data", {"first_loss": 2.5, "final_loss": 1.25, "steps": 3,
                                                   "n_examples": 12, "losses": losses})
    rows = [{"question_name": "depth", "category": "spatial", "score": s} for s in (1, 0, 1, 1)]
    scores = {p: summarize_scores(rows) for p in ("random", "blind", "oracle", "flow", "trained")}
    records.write_evaluation_records(repo / "data", scores)
    probe = CheckResult("check_pixel_learnability", True, False, "camera_motion", "a category",
                        {"per_category": {"camera_motion": {"probe": 0.6, "best_text": 0.45}}})
    learnability.write_metrics(Layout(repo / "data"), probe, retrained=True)

    shown = json.loads(dvc(repo, "metrics", "show", "--json"))
    (files,) = (rev["data"] for rev in shown.values())  # one revision: the workspace

    def leaves(obj):
        return [v for x in obj.values() for v in leaves(x)] if isinstance(obj, dict) else [obj]

    values = {path: leaves(f["data"]) for path, f in files.items()}
    assert set(values) == {"data/metrics/validate.json", "data/metrics/train.json", "data/metrics/evaluate.json",
                           "data/metrics/learnability.json"}
    assert sum(len(v) for v in values.values()) <= 40  # a summary, not every histogram bin
    validate = files["data/metrics/validate.json"]["data"]
    assert validate["train_rows"] == 2 * len(make_records("proc_00001")) and validate["benchmark_videos"] == 1
    assert validate["checks"] == {"check_schema": True, "check_blind_bias": False}
    assert files["data/metrics/evaluate.json"]["data"]["accuracy"]["oracle"] == {"overall": 0.75, "spatial": 0.75}
    assert files["data/metrics/learnability.json"]["data"]["probe_per_category"] == {"camera_motion": 0.6}

    loss = pl.read_csv(repo / "data/plots/train_loss.csv")
    assert list(zip(loss["step"], loss["loss"], strict=True)) == list(enumerate(losses, 1))
    bars = pl.read_csv(repo / "data/plots/answers_train.csv")
    hist = report.overview["train"]["answer_histogram"]
    assert dict(zip(bars["bar"], bars["count"], strict=True)) == {f"{k} {a}": n for k, h in hist.items()
                                                                    for a, n in h.items()}
    _plots_render_offline(repo)


def _plots_render_offline(repo: Path) -> None:
    """``dvc plots show`` writes a page that embeds the stages' PNG plots and loads nothing from the network."""
    dvc(repo, "plots", "show")
    page = (repo / "dvc_plots" / "index.html").read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page
    for name in ("train_loss", "answers_train"):
        png = (repo / "data" / "plots" / f"{name}.png").read_bytes()
        assert png[:4] == b"\x89PNG"
        shown = [p.read_bytes() for p in (repo / "dvc_plots").rglob("*.png")]
        assert png in shown, name
    ignored = subprocess.run(["git", "check-ignore", "dvc_plots/index.html"], cwd=ROOT, capture_output=True, text=True)
    assert ignored.stdout.strip() == "dvc_plots/index.html"


def test_exp_run_set_param_changes_one_line_of_params_yaml(tmp_path):
    """``dvc exp run -S`` rewrites params.yaml through its own YAML dumper: the file is kept in that form (comments
    and examples live in docs/PARAMS.md), so an experiment changes exactly the value it sets."""
    original = (ROOT / "params.yaml").read_text()
    (tmp_path / "params.yaml").write_text(original)
    (tmp_path / "dvc.yaml").write_text("stages:\n  count:\n    cmd: python -c \"import yaml; print(yaml.safe_load("
                                       "open('params.yaml'))['generate']['n_videos'], file=open('n.txt', 'w'))\"\n"
                                       "    params: [generate.n_videos]\n    outs: [n.txt]\n")
    for cmd in (["init", "-q"], ["config", "user.email", "t@t"], ["config", "user.name", "t"]):
        subprocess.run(["git", *cmd], cwd=tmp_path, check=True)
    dvc(tmp_path, "init", "-q")
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run(["git", "commit", "-qm", "init"], cwd=tmp_path, check=True)
    dvc(tmp_path, "exp", "run", "-S", "generate.n_videos=3")
    assert (tmp_path / "n.txt").read_text().strip() == "3"
    changed = [(a, b) for a, b in zip(original.splitlines(), (tmp_path / "params.yaml").read_text().splitlines(),
                                      strict=True) if a != b]
    assert changed == [("  n_videos: 128", "  n_videos: 3")]


def test_local_remote_push_and_pull_restore_a_stage_output(repo, tmp_path):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["generate"].update({"n_videos": 2, "n_frames": 4, "width": 32, "height": 32, "max_objects": 2})
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dvc(repo, "repro", "generate")
    raw = repo / "data" / "raw" / "procedural"
    before = {p.relative_to(raw): p.read_bytes() for p in raw.rglob("*") if p.is_file()}
    assert len({p.parts[0] for p in before if len(p.parts) > 1 and not p.parts[0].startswith("_")}) == 2
    dvc(repo, "remote", "add", "-d", "local", str(tmp_path / "remote"))
    assert "pushed" in dvc(repo, "push", "generate") and any(p.is_file() for p in (tmp_path / "remote").rglob("*"))
    shutil.rmtree(raw)
    shutil.rmtree(repo / ".dvc" / "cache")
    dvc(repo, "pull", "generate")
    assert {p.relative_to(raw): p.read_bytes() for p in raw.rglob("*") if p.is_file()} == before
    assert "didn't change, skipping" in dvc(repo, "repro", "--dry", "generate")
    assert "up to date" in dvc(repo, "status", "generate")
