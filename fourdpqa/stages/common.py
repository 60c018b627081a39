"""Command-line options shared by the per-video stages."""

from __future__ import annotations

import argparse


def add_video_arguments(parser: argparse.ArgumentParser) -> None:
    """``--video`` (repeatable) and ``--workers`` for per-video stages."""
    parser.add_argument("--video", action="append", help="only this video id (repeatable; no pruning then)")
    parser.add_argument("--workers", type=int, default=1,
                        help="process this many videos in parallel (a process pool; default 1)")


def videos_arg(args: argparse.Namespace | None) -> list[str] | None:
    """The ``--video`` selection (a single id given programmatically is accepted too)."""
    videos = getattr(args, "video", None)
    return [videos] if isinstance(videos, str) else videos


def workers_arg(args: argparse.Namespace | None) -> int:
    return int(getattr(args, "workers", None) or 1)


def force_arg(args: argparse.Namespace | None) -> bool:
    """``--force`` (every pipeline stage has it): redo every item even when its outputs are up to date."""
    return bool(getattr(args, "force", False))
