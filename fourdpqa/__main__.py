"""Command line: ``python -m fourdpqa <stage> [--params params.yaml]`` — what dvc stages and people run.

Stages come from the one stage list (``fourdpqa.stages.stage_list``); only the chosen stage's module is imported,
so light stages start fast, and ``--help`` imports none (the options are declared in ``fourdpqa.stages.options``).
Each stage module exposes ``run(params, args) -> StageReport``; every pipeline stage takes ``--force``.
``python -m fourdpqa dvc-yaml [--check]`` writes (or checks) dvc.yaml. The run's summary line (``N done, M up to
date, K quarantined``) is logged once, by the stage protocol. Exit status: 0 ok, 1 the stage failed (the message says why), 2 bad parameters.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from fourdpqa.stages import options, stage_list

DVC_YAML = "dvc-yaml"
# help texts are plain text (the module docstrings are reStructuredText)
DESCRIPTION = "4D perception QA pipeline: run one stage (python -m fourdpqa <stage> --help for its options)."


def build_parser() -> argparse.ArgumentParser:
    """The CLI: every stage with its options (``fourdpqa.stages.options``; no stage module is imported)."""
    parser = argparse.ArgumentParser(prog="fourdpqa", description=DESCRIPTION)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="stage", required=True)
    for info in stage_list.STAGES:
        p = sub.add_parser(info.name, help=f"{info.help}.", description=f"{info.help}.")
        options.add_arguments(info.name, p, pipeline=info.in_pipeline)
    gen = sub.add_parser(DVC_YAML, help="write dvc.yaml from the stage list (--check fails if it differs).")
    gen.add_argument("--params", default="params.yaml", help="parameters file (default: params.yaml)")
    gen.add_argument("--output", default="dvc.yaml")
    gen.add_argument("--check", action="store_true", help="exit 1 when the file differs from the stage list")
    return parser


def _chosen(argv: list[str]) -> str | None:
    """The subcommand: the first argument that is not an option."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in stage_list.BY_NAME else None


def _dvc_yaml(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fourdpqa.stages import dvc_yaml

    text = dvc_yaml.render(args.params)
    path = Path(args.output)
    if args.check:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            print(f"error: {path} differs from the stage list; run `python -m fourdpqa {DVC_YAML}`", file=sys.stderr)
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.stage == DVC_YAML:
        return _dvc_yaml(args)
    from fourdpqa.params import ParamsError, load_params
    from fourdpqa.secrets import install_log_redaction
    from fourdpqa.stages.protocol import StageFailed

    install_log_redaction()
    try:
        params = load_params(args.params)
    except ParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    mod = importlib.import_module(stage_list.get(args.stage).module)
    try:
        mod.run(params, args)  # the stage protocol logs the run's summary line
    except StageFailed as exc:
        message = str(exc)  # most messages already open with the stage's name
        print(f"error: {message if message.startswith(f'{args.stage}:') else f'{args.stage}: {message}'}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    from fourdpqa.numerics import pin_cpu_kernels

    pin_cpu_kernels(_chosen(sys.argv[1:]))  # before anything loads torch (fourdpqa/numerics.py)
    sys.exit(main())
