"""Answer consistency: every stored answer equals what the generator's own derivation gives today.

This re-runs the generator's ``derive_*`` functions (:mod:`fourdpqa.oracle`), so it proves that records were not
edited or corrupted after generation, not that they are right. The independent gate is
:mod:`fourdpqa.validate.oracle_gate` (oracle-2).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
from tqdm import tqdm

from fourdpqa.scene import Scene, SceneError, read_scene
from fourdpqa.validate.result import CheckResult
from fourdpqa.layout import scene_dir


Oracle = Callable[[dict, Scene], str]


def default_oracle() -> Oracle:
    """The generator's own re-derivation (imported lazily: it pulls in the geometry stack)."""
    from fourdpqa.oracle import oracle_answer

    return oracle_answer


def check_answer_consistency(df: pl.DataFrame, scenes_root: str | Path, oracle: Oracle | None = None) -> CheckResult:
    """Recompute every answer with the generator's derivation from the scene and the stored measurement spec;
    100% agreement required. Blocking: a record changed after generation (a bad merge, a hand edit, a phrasing
    step that swapped options) would otherwise reach the benchmark. It cannot catch a generator bug."""
    oracle = oracle or default_oracle()
    wrong: dict[str, str] = {}
    errors: dict[str, str] = {}
    groups = df.sort("video_id").group_by(["video_id"], maintain_order=True)
    for (vid,), grp in tqdm(groups, desc="check_answer_consistency", unit="video", total=df["video_id"].n_unique(),
                            disable=None):
        try:
            scene = read_scene(scene_dir(scenes_root, vid), with_rgb=False)
        except SceneError as exc:
            errors.update({rid: str(exc) for rid in grp["id"].to_list()})
            continue
        for rec in grp.iter_rows(named=True):
            try:
                derived = oracle(rec, scene)
            except (ValueError, KeyError, IndexError) as exc:
                errors[rec["id"]] = f"{type(exc).__name__}: {exc}"
                continue
            if str(derived).strip() != str(rec["answer"]).strip():
                wrong[rec["id"]] = f"stored {rec['answer']!r}, re-derived {derived!r}"
    n = df.height
    agree = n - len(wrong) - len(errors)
    return CheckResult("check_answer_consistency", not wrong and not errors, True,
                       f"{agree}/{n} answers re-derived ({100.0 * agree / max(n, 1):.2f}%)", "100% agreement",
                       {"disagreements": dict(sorted(wrong.items())[:50]), "errors": dict(sorted(errors.items())[:50]),
                        "n_disagree": len(wrong), "n_errors": len(errors)})
