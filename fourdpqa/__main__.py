"""Command line: ``python -m fourdpqa <stage> [--params params.yaml]`` — what dvc stages and people run.

Each stage module in ``fourdpqa.stages`` exposes ``run(params, args) -> StageReport`` and may add its own
arguments with ``add_arguments(parser)``. Exit status: 0 ok, 1 a blocking failure, 2 bad parameters.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from fourdpqa.params import ParamsError, load_params
from fourdpqa.secrets import install_log_redaction
from fourdpqa.stages.common import StageFailed

# stage name -> module under fourdpqa.stages (one name per stage: params section, dvc stage, CLI, asset module)
STAGES = {
    "generate": "generate",
    "standardize": "standardize",
    "tracks": "tracks",
    "qa": "qa",
    "assemble": "assemble",
    "validate": "validate",
    "review": "review",
    "train": "train",
    "evaluate": "evaluate",
    "vlm4d": "vlm4d",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fourdpqa", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="stage", required=True)
    for name, module in STAGES.items():
        mod = importlib.import_module(f"fourdpqa.stages.{module}")
        p = sub.add_parser(name, help=(mod.__doc__ or name).strip().splitlines()[0])
        p.add_argument("--params", default="params.yaml", help="parameters file (default: params.yaml)")
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    try:
        params = load_params(args.params)
    except ParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    mod = importlib.import_module(f"fourdpqa.stages.{STAGES[args.stage]}")
    try:
        report = mod.run(params, args)
    except StageFailed as exc:
        print(f"error: {args.stage}: {exc}", file=sys.stderr)
        return 1
    if report is not None and hasattr(report, "summary"):
        print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
