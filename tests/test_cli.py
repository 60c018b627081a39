"""The command line. ``--help`` answers at once: it imports no stage module and no heavy library (issue 27: every ``--help`` <= 0.3 s,
measured by ``benchmarks/startup.py``), and its texts are plain text (no reStructuredText markup)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fourdpqa.__main__ import DVC_YAML, build_parser
from fourdpqa.stages import options
from fourdpqa.stages.stage_list import STAGES

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "polars", "pandera", "pandas", "matplotlib", "pydantic", "mlflow", "transformers", "cv2", "numpy")
COMMANDS = [[], *([s.name] for s in STAGES), [DVC_YAML]]


def _loaded_by_help(command: list[str]) -> list[str]:
    code = ("import json, sys\nfrom fourdpqa.__main__ import main\ntry:\n    main(sys.argv[1:] + ['--help'])\n"
            "except SystemExit:\n    pass\nprint(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code, *command], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.splitlines()[-1])


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0] if c else "top")
def test_help_imports_no_stage_and_no_heavy_library(command):
    loaded = _loaded_by_help(command)
    heavy = [m for m in loaded if m.split(".")[0] in HEAVY]
    stages = [m for m in loaded if m.startswith("fourdpqa.stages.") and m.rsplit(".", 1)[1] in {s.name for s in STAGES}]
    assert heavy == [] and stages == []


def test_help_texts_are_plain_text():
    parser = build_parser()
    texts = [parser.format_help()]
    sub_parsers = parser._subparsers._group_actions[0].choices  # noqa: SLF001 - argparse keeps them there
    texts += [p.format_help() for p in sub_parsers.values()]
    assert len(texts) == len(STAGES) + 2
    assert not [t for t in texts if "``" in t]


def test_every_pipeline_stage_takes_force_and_the_vlm4d_prompts_match():
    from fourdpqa.external.vlm4d import PROMPTS

    for stage in STAGES:
        parser = build_parser()
        args = parser.parse_args([stage.name, "--force"]) if stage.in_pipeline else None
        assert stage.in_pipeline is False or args.force is True
    assert options.PROMPT_STYLES == tuple(sorted(PROMPTS))


def test_a_stage_run_prints_its_summary_line_once(tmp_path):
    from tests.helpers.params_file import TINY_RUN, write_params_file

    path = write_params_file(tmp_path, TINY_RUN)
    out = subprocess.run([sys.executable, "-m", "fourdpqa", "generate", "--params", str(path)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    assert (out.stdout + out.stderr).count("generate: 1 done, 0 up to date, 0 quarantined") == 1
    again = subprocess.run([sys.executable, "-m", "fourdpqa", "generate", "--params", str(path), "--force"], cwd=ROOT,
                           capture_output=True, text=True, check=True)
    assert (again.stdout + again.stderr).count("generate: 1 done, 0 up to date") == 1  # --force redid it
