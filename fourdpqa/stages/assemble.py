"""assemble: per-video QA tables -> data/dataset/ (train and benchmark tables, clips, exports).

Exports: training conversations, benchmark JSONL, lmms-eval task folder, Hugging Face DatasetDict with its card.

Transactional: the new dataset is built in a staging folder beside ``data/dataset`` and replaces it in one rename,
so a refused (a blocking check fails: exit 1) or killed run leaves the previous dataset whole.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

from fourdpqa import layout
from fourdpqa.atomic import write_json
from fourdpqa.fingerprint import file_digest
from fourdpqa.params import Params
from fourdpqa.stages import common, stage_list
from fourdpqa.stages.protocol import Job, Stage, StageFailed, StageReport, run_stage

CLIPS = "clips"


def _verified_clip_dirs(where: layout.Layout) -> list[Path]:
    """Clip folders of the published dataset whose every file still has the digest its manifest recorded (a folder
    missing a frame or holding a corrupt one is re-exported, never reused)."""
    try:
        recorded = json.loads(where.manifest(where.dataset, "assemble").read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError):
        return []
    expected: dict[Path, dict[str, str]] = {}
    for rel, digest in recorded.items():
        path = where.root / rel
        if path.relative_to(where.dataset).parts[0] == CLIPS:
            expected.setdefault(path.parent, {})[path.name] = digest
    return [d for d, files in sorted(expected.items())
            if d.is_dir() and {p.name for p in d.iterdir()} == set(files)
            and all(file_digest(d / name) == digest for name, digest in files.items())]


def carry_clips(where: layout.Layout, staging: Path) -> int:
    """Hard-link (else copy) the previous dataset's verified clip exports into the staging folder, so unchanged
    clips are not re-encoded; clips the new dataset does not use are dropped by :func:`drop_unused_clips`."""
    carried = _verified_clip_dirs(where)
    for clip_dir in carried:
        dest = staging / clip_dir.relative_to(where.dataset)
        dest.mkdir(parents=True)
        for f in clip_dir.iterdir():
            try:
                os.link(f, dest / f.name)
            except OSError:
                shutil.copy2(f, dest / f.name)
    return len(carried)


def drop_unused_clips(staging: Path, used: set[str]) -> None:
    """Remove clip files (``clips/<video>/<clip key>/<file>``) no row of the new dataset points at, then emptied
    folders (carried clips hold every file a previous dataset used)."""
    clips = staging / CLIPS
    for path in sorted(clips.glob("*/*/*")) if clips.is_dir() else []:
        if path.relative_to(staging).as_posix() not in used:
            path.unlink()
    for folder in [*sorted(clips.glob("*/*")), *sorted(clips.glob("*"))] if clips.is_dir() else []:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def assemble_dataset(job: Job) -> None:
    from fourdpqa.assemble import AssemblyRefused, assemble

    carry_clips(job.where, job.out)
    try:
        result = assemble(job.params, out_dir=job.out)
    except AssemblyRefused as exc:
        raise StageFailed(f"{exc} (the previous dataset is kept)") from exc
    used = {f for df in (result.train, result.benchmark) for fs in df["frames"] for f in fs}
    used |= {v for df in (result.train, result.benchmark) for v in df["video"] if v}
    drop_unused_clips(job.out, used)
    report = StageReport("assemble", done=sorted(result.train_videos + result.benchmark_videos),
                         quarantined=dict(result.quarantined))
    write_json(job.out / layout.REPORT_FILE, report.as_dict())
    print(f"assemble: train {result.train.height} QA ({len(result.train_videos)} videos), "
          f"benchmark {result.benchmark.height} QA ({len(result.benchmark_videos)} videos) -> {job.where.dataset}")


STAGE = Stage(
    info=stage_list.get("assemble"),
    out_dir=lambda where: where.dataset,
    items=lambda params: ["assemble"],
    work=assemble_dataset,
    outputs=lambda params, item: [layout.of(params).dataset],
    inputs=lambda params, item: [layout.of(params).qa, layout.of(params).scenes],
    staged=True,
)


def run(params: Params, args: argparse.Namespace | None = None) -> StageReport:
    return run_stage(STAGE, params, force=common.force_arg(args))
