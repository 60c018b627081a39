"""Unambiguous visual marks, re-checked on the exported frames a model actually sees, without the generator's
mark code (:mod:`fourdpqa.sampling`, :mod:`fourdpqa.prompts`).

For every circle / box of a record, at the export resolution (the instance mask resized to the exported frame):

* **exclusive**: apart from the object it encloses most of, no object has more than ``mark_foreign_share`` of its
  visible pixels inside the mark (a small object lying in a big circle makes the question ambiguous);
* **separate**: marks of one question on the same frame do not overlap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import polars as pl
from PIL import Image

from fourdpqa.oracle2.references import enclosed_objects, mark_region
from fourdpqa.validate.result import CheckResult
from fourdpqa.layout import scene_dir
from schemas.qa import present

InstanceLoader = Callable[[str, int], np.ndarray]  # (video id, scene frame) -> (H, W) uint16 instance ids


def scene_instances(scenes_root: str | Path) -> InstanceLoader:
    """Instance masks read from ``<scenes_root>/<video>/instances.npy`` (memory-mapped, one video at a time)."""
    cache: dict[str, np.ndarray] = {}

    def load(video_id: str, frame: int) -> np.ndarray:
        if video_id not in cache:
            cache.clear()
            cache[video_id] = np.load(scene_dir(scenes_root, video_id) / "instances.npy", mmap_mode="r")
        return np.asarray(cache[video_id][frame])

    return load


def judge_marks(marks: list[dict], instances: list[np.ndarray], size: tuple[int, int], foreign_share: float) -> list[str]:
    """Problems of one record's marks (empty when every mark is exclusive and separate).

    instances[i]: (H, W) uint16 scene instance mask of ``marks[i]``'s frame; size: (width, height) of the export."""
    problems, regions = [], []
    w, h = size
    for mark, inst in zip(marks, instances, strict=True):
        ids = cv2.resize(inst.astype(np.uint16), (w, h), interpolation=cv2.INTER_NEAREST)
        region = mark_region(mark, h, w)
        regions.append((int(mark["frame"]), region))
        shares = enclosed_objects(ids, region)
        if shares:
            target = max(shares, key=lambda o: (shares[o], int((ids[region] == o).sum())))
            others = {o: round(s, 3) for o, s in shares.items() if o != target and s > foreign_share}
            if others:
                problems.append(f"{mark['kind']} {mark.get('label', '')} in frame {mark['frame']} also holds "
                                f"objects {others} (share of their pixels) besides {target}")
        else:
            problems.append(f"{mark['kind']} {mark.get('label', '')} in frame {mark['frame']} encloses no object")
    for i in range(len(regions)):
        for j in range(i + 1, len(regions)):
            if regions[i][0] == regions[j][0] and (regions[i][1] & regions[j][1]).any():
                problems.append(f"marks {i + 1} and {j + 1} overlap in frame {regions[i][0]}")
    return problems


def check_marks(df: pl.DataFrame, dataset_dir: str | Path, instances: InstanceLoader, foreign_share: float,
                max_share: float, split: str) -> CheckResult:
    """Share of marked records with an ambiguous or overlapping mark at the exported frames' size; at most
    ``max_share`` (blocking for the benchmark, a warning for training)."""
    marked = df.filter(pl.col("marks").list.len() > 0).sort("video_id", "id")
    bad: dict[str, list[str]] = {}
    kinds: Counter = Counter()
    for rec in marked.iter_rows(named=True):
        marks = present(rec["marks"])
        inst = [instances(rec["video_id"], int(rec["clip_frames"][int(m["frame"])])) for m in marks]
        problems = judge_marks(marks, inst, _export_size(Path(dataset_dir) / rec["frames"][0]), foreign_share)
        if problems:
            bad[rec["id"]] = problems
            kinds.update({"overlap" if "overlap" in p else "ambiguous" for p in problems})
    n = marked.height
    share = len(bad) / n if n else 0.0
    details: dict[str, Any] = {"split": split, "n_marked": n, "n_ambiguous": len(bad), "ambiguous_share": round(share, 4),
                               "problem_kinds": dict(sorted(kinds.items())),
                               "per_type": _per_type(marked, bad), "records": dict(list(bad.items())[:50])}
    return CheckResult("check_marks", share <= max_share, split == "benchmark",
                       f"{len(bad)}/{n} marked records ambiguous ({100 * share:.1f}%)",
                       f"<= {100 * max_share:.1f}% (other objects <= {foreign_share:.0%} of their pixels inside a mark, "
                       "marks of a question not overlapping)", details)


def _export_size(frame: Path) -> tuple[int, int]:
    """(width, height) of an exported frame, read from its header."""
    with Image.open(frame) as img:
        return img.size


def _per_type(marked: pl.DataFrame, bad: dict[str, list[str]]) -> dict[str, list[int]]:
    """question name -> [ambiguous, marked]."""
    out: dict[str, list[int]] = {}
    for rid, qname in marked.select("id", "question_name").iter_rows():
        row = out.setdefault(qname, [0, 0])
        row[0] += rid in bad
        row[1] += 1
    return dict(sorted(out.items()))
