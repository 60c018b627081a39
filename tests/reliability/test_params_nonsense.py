"""Parameters that parse but make no sense (issue 14.5) are rejected when params.yaml is loaded, naming the key;
the CLI exits 2 before any stage work."""

from __future__ import annotations

import os
import subprocess
import typing
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


# Issue 25.7: infinities, typos in source names, absurd sizes, seeds and threads that crashed with a traceback.
UNBOUNDED = [
    ("infinite fps", "generate: {fps: .inf}", ["generate.fps", "finite"]),
    ("NaN fps", "generate: {fps: .nan}", ["generate.fps", "finite"]),
    ("infinite learning rate", "train: {lr: .inf}", ["train.lr", "finite"]),
    ("infinite probe learning rate", "learnability: {lr: .inf}", ["learnability.lr", "finite"]),
    ("infinite translation_some_m", "qa: {thresholds: {procedural: {translation_some_m: .inf}}}",
     ["qa.thresholds.procedural.translation_some_m", "finite"]),
    ("infinite rotation_some_deg", "qa: {thresholds: {procedural: {rotation_some_deg: .inf}}}",
     ["qa.thresholds.procedural.rotation_some_deg", "finite"]),
    ("infinite distance_change_some_rel", "qa: {thresholds: {procedural: {distance_change_some_rel: .inf}}}",
     ["qa.thresholds.procedural.distance_change_some_rel", "finite"]),
    ("rotation threshold above a full turn", "qa: {thresholds: {procedural: {rotation_some_deg: 720}}}",
     ["qa.thresholds.procedural.rotation_some_deg", "less than or equal to 360"]),
    ("infinite LLM budget", "phrasing: {budget_s: .inf}", ["phrasing.budget_s", "finite"]),
    ("infinite LLM timeout", "evaluate: {api_calls: {timeout_s: .inf}}", ["evaluate.api_calls.timeout_s", "finite"]),
    ("infinite weight in a mix", "qa: {answer_format_mix: {mc: .inf, yn: 0.3}}", ["qa.answer_format_mix", "finite"]),
    ("infinite max_failed_share", "base: {max_failed_share: .inf}", ["base.max_failed_share"]),
    ("infinite sample_fps", "standardize: {sources: [{name: procedural, kind: kubric, root: data/raw/procedural}]}\n"
     "qa: {sources: {procedural: {sample_fps: .inf}}}", ["qa.sources.procedural.sample_fps", "finite"]),
    ("misspelt source in qa.thresholds", "qa: {thresholds: {procedurall: {translation_none_m: 0.1}}}",
     ["qa.thresholds", "['procedurall']", "no source"]),
    ("misspelt source in qa.sources", "qa: {sources: {procedurall: {clip_frames: 8}}}",
     ["qa.sources", "['procedurall']", "no source"]),
    ("n_videos 1e12", "generate: {n_videos: 1.0e+12}", ["generate.n_videos", "less than or equal to"]),
    ("frames 1e9", "generate: {n_frames: 1000000000}", ["generate.n_frames", "less than or equal to"]),
    ("image side 1e6", "generate: {width: 1000000}", ["generate.width", "less than or equal to"]),
    ("queries 1e12", "tracks: {queries_per_video: 1000000000000}", ["tracks.queries_per_video", "less than or equal to"]),
    ("train size 1e12", "assemble: {train_size: 1.0e+12}", ["assemble.train_size", "less than or equal to"]),
    ("training steps 1e12", "train: {max_steps: 1.0e+12}", ["train.max_steps", "less than or equal to"]),
    ("probe epochs 1e12", "learnability: {epochs: 1.0e+12}", ["learnability.epochs", "less than or equal to"]),
    ("negative seed", "base: {seed: -5}", ["base.seed", "greater than or equal to 0"]),
    ("seed 2^80", "base: {seed: 1208925819614629174706176}", ["base.seed", "less than or equal to"]),
    ("a million threads", "base: {num_threads: 1.0e+6}", ["base.num_threads", "less than or equal to 1024"]),
    ("zero threads", "base: {num_threads: 0}", ["base.num_threads", "greater than or equal to 1"]),
    ("fractional seed", "base: {seed: 1.5}", ["base.seed"]),
]


CASES = [(*c, "crash, escape or exposure") for c in NONSENSE] + [(*c, "silently wrong") for c in UNBOUNDED]


@pytest.mark.parametrize(("case", "text", "fragments", "kind"), CASES, ids=[c[0] for c in CASES])
def test_nonsense_params_are_rejected_naming_the_key(tmp_path, ledger, case, text, fragments, kind):
    p = tmp_path / "params.yaml"
    p.write_text(text)
    try:
        load_params(p)
        message = ""
    except ParamsError as exc:
        message = str(exc)
    handled = str(p) in message and all(f in message for f in fragments)
    ledger.record("params", case, handled=handled, lost=0, kind=kind)
    assert handled, message


def _numeric_fields(model: type, prefix: str = "") -> list[tuple[str, object]]:
    """(key path, FieldInfo) of every int / float field of a params model, nested sections included."""
    from pydantic import BaseModel

    out = []
    for name, info in model.model_fields.items():
        if typing.get_origin(info.annotation) in (dict, list):  # mixes and lists are checked by their validators
            continue
        kinds = getattr(info.annotation, "__args__", (info.annotation,))
        nested = [k for k in kinds if isinstance(k, type) and issubclass(k, BaseModel)]
        if nested:
            out += _numeric_fields(nested[0], f"{prefix}{name}.")
        elif any(k in (int, float) for k in kinds) and bool not in kinds:
            out.append((f"{prefix}{name}", info))
    return out


def test_every_number_in_params_has_a_stated_range():
    """Each int / float key of params.yaml (and of a qa.thresholds entry) declares a lower and an upper bound, so
    none can run away (a new key without a ceiling fails here, naming it)."""
    from fourdpqa.params import Params
    from fourdpqa.thresholds import LabelThresholds

    fields = _numeric_fields(Params) + _numeric_fields(LabelThresholds, "qa.thresholds.<source>.")
    bounds = {key: {type(m).__name__ for m in info.metadata} for key, info in fields}
    unbounded = sorted(k for k, b in bounds.items() if not ({"Ge", "Gt"} & b and {"Le", "Lt"} & b))
    assert len(fields) > 80 and not unbounded, unbounded
