"""Parameters that parse but make no sense (issue 14.5) are rejected when params.yaml is loaded, naming the key;
the CLI exits 2 before any stage work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fourdpqa.params import ParamsError, load_params

ROOT = Path(__file__).resolve().parents[2]

# (case, params.yaml text, fragments the error must contain: the key path and what is wrong)
NONSENSE = [
    ("duplicate section", "qa: {clip_frames: 8}\ntracks: {chunk_points: 64}\nqa: {clip_frames: 16}\n",
     ["qa: duplicate key", "lines 1 and 3"]),
    ("duplicate nested key", "qa:\n  thresholds:\n    procedural:\n      rotation_some_deg: 12\n      rotation_some_deg: 1\n",
     ["qa.thresholds.procedural.rotation_some_deg: duplicate key"]),
    ("inverted motion thresholds", "qa: {thresholds: {procedural: {translation_none_m: 0.5, translation_some_m: 0.4}}}",
     ["qa.thresholds.procedural", "translation_none_m (0.5) must be below translation_some_m (0.4)"]),
    ("negative threshold", "qa: {thresholds: {procedural: {rotation_none_deg: -1}}}",
     ["qa.thresholds.procedural.rotation_none_deg", "greater than or equal to 0"]),
    ("visible share above 1", "qa: {thresholds: {procedural: {min_visible_fraction: 1.5}}}",
     ["qa.thresholds.procedural.min_visible_fraction"]),
    ("negative phash distance", "validate: {phash_max_distance: -1}", ["validate.phash_max_distance"]),
    ("inverted yes-share band", "validate: {yes_share_low: 0.6, yes_share_high: 0.4}",
     ["validate", "yes_share_low (0.6) must be below yes_share_high (0.4)"]),
    ("zero output width", "qa: {out_width: 0}", ["qa.out_width"]),
    ("zero tiny hidden size", "train: {tiny_hidden_size: 0}", ["train.tiny_hidden_size"]),
    ("unknown camera motion beside valid ones", "generate: {camera_motion_mix: {static: 0.5, zoom: 0.5}}",
     ["generate.camera_motion_mix", "unknown key(s) ['zoom']"]),
    ("unknown object motion beside valid ones", "generate: {object_motion_mix: {static: 0.5, teleport: 0.5}}",
     ["generate.object_motion_mix", "['teleport']"]),
    ("unknown reference mode", "qa: {reference_mode_mix: {caption: 0.5, arrow: 0.5}}", ["qa.reference_mode_mix", "['arrow']"]),
    ("unknown answer format", "qa: {answer_format_mix: {mc: 0.5, essay: 0.5}}", ["qa.answer_format_mix", "['essay']"]),
    ("inverted tracking target frames", "qa: {track_target_frames: [8, 1]}", ["qa.track_target_frames"]),
    ("two sources with one name", "standardize: {sources: [{name: a, kind: kubric, root: data/a}, "
     "{name: a, kind: kubric, root: data/b}]}", ["standardize.sources", "['a']"]),
    ("unknown predictor", "evaluate: {predictors: [random, ranodm]}", ["evaluate.predictors", "['ranodm']"]),
]


@pytest.mark.parametrize(("case", "text", "fragments"), NONSENSE, ids=[c[0] for c in NONSENSE])
def test_nonsense_params_are_rejected_naming_the_key(tmp_path, ledger, case, text, fragments):
    p = tmp_path / "params.yaml"
    p.write_text(text)
    try:
        load_params(p)
        message = ""
    except ParamsError as exc:
        message = str(exc)
    ledger.record("params", case, handled=all(f in message for f in fragments), lost=0)
    assert str(p) in message and all(f in message for f in fragments), message


def test_unknown_question_types_stop_the_cli_before_any_work(tmp_path, ledger):
    """``question_types: [99, -4]`` used to quarantine every video and exit 0; now exit 2, nothing touched."""
    data = tmp_path / "data"
    (data / "scenes").mkdir(parents=True)
    p = tmp_path / "params.yaml"
    p.write_text(f"base: {{data_root: {data}, allowed_roots: [{data}]}}\nqa: {{question_types: [99, -4]}}\n")
    proc = subprocess.run([sys.executable, "-m", "fourdpqa", "qa", "--params", str(p)], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    untouched = sorted(f.relative_to(data).as_posix() for f in data.rglob("*")) == ["scenes"]
    named = "qa.question_types" in proc.stderr and "[-4, 99]" in proc.stderr
    ledger.record("params", "unknown question types", handled=proc.returncode == 2 and named and untouched, lost=0)
    assert proc.returncode == 2 and named, proc.stderr
    assert untouched
