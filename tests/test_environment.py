"""The documented commands work in the installed environment: the Dagster CLI with an asset selection (it needs
antlr4 4.13, which DVC's hydra pin would replace by 4.9 if both shared one environment), the MLflow command line on
the project's store, and ``python -m fourdpqa --help`` whose stage lines are whole sentences. The DVC commands are
exercised in test_dvc_project.py, the Dagster UI in dagster_project/test_ui.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(args: list, cwd: Path, env: dict | None = None) -> str:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"{args}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc.stdout  # what the command answers; warnings (e.g. Dagster's BetaWarning) go to stderr


def test_dagster_cli_parses_asset_selections(tmp_path):
    """``--select`` goes through Dagster's antlr grammar: with the 4.9 runtime DVC's hydra pins, every such command
    died with ``TypeError: ord() expected string of length 1, but int found``."""
    from dagster_project.definitions import defs

    (tmp_path / "home").mkdir()
    out = _run([BIN / "dagster", "asset", "list", "-m", "dagster_project.definitions", "--select",
                "raw_videos_procedural+"], ROOT, {"DAGSTER_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)})
    graph = defs().get_repository_def().asset_graph
    children = {k.to_user_string() for k in graph.get(dg.AssetKey("raw_videos_procedural")).child_keys}
    assert set(out.split()) == {"raw_videos_procedural", *children} and "standard_scenes" in children


def test_mlflow_command_line_reads_the_project_store(tmp_path):
    from fourdpqa.stages import mlflow_runs

    mlflow = mlflow_runs.open_store(tmp_path / "data", mlflow_runs.TRAIN_EXPERIMENT)
    with mlflow.start_run(run_name="trained-0123abcd") as run:
        mlflow.log_metric("final_loss", 0.5)
    env = {"MLFLOW_TRACKING_URI": mlflow_runs.store_uri(tmp_path / "data")}
    runs = _run([BIN / "mlflow", "runs", "list", "--experiment-id", run.info.experiment_id], tmp_path, env)
    assert run.info.run_id in runs and "trained-0123abcd" in runs


def test_stage_help_lines_are_whole_sentences(monkeypatch):
    from fourdpqa.__main__ import DVC_YAML, build_parser
    from fourdpqa.stages.stage_list import STAGES

    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps to the terminal width
    listing = build_parser().format_help().split("positional arguments:")[1].split("options:")[0]
    helps: dict[str, str] = {}
    name = None
    for line in listing.splitlines()[2:]:
        m = re.match(r"^    ([\w-]+)\s{2,}(.*)$", line) or re.match(r"^    ([\w-]+)$", line)
        if m:
            name = m.group(1)
            helps[name] = m.group(2) if m.lastindex == 2 else ""
        elif name and line.strip():
            helps[name] += " " + line.strip()
    assert set(helps) == {info.name for info in STAGES} | {DVC_YAML}
    for stage, text in helps.items():
        assert text.rstrip().endswith("."), f"{stage}: help stops mid-sentence: {text!r}"
