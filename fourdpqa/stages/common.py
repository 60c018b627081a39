"""Reading the command-line options the stages share (declared in ``fourdpqa.stages.options``)."""

from __future__ import annotations

import argparse


def videos_arg(args: argparse.Namespace | None) -> list[str] | None:
    """The ``--video`` selection (a single id given programmatically is accepted too)."""
    videos = getattr(args, "video", None)
    return [videos] if isinstance(videos, str) else videos


def workers_arg(args: argparse.Namespace | None) -> int:
    return int(getattr(args, "workers", None) or 1)


def force_arg(args: argparse.Namespace | None) -> bool:
    """``--force`` (every pipeline stage has it): redo every item even when its outputs are up to date."""
    return bool(getattr(args, "force", False))
