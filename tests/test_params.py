from pathlib import Path

import pytest

from fourdpqa.params import Params, ParamsError, load_params

ROOT = Path(__file__).resolve().parents[1]


def test_repo_params_equal_documented_defaults():
    assert load_params(ROOT / "params.yaml") == Params()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("base: {seed: abc}", "base.seed"),
        ("generate: {n_videos: 0}", "generate.n_videos"),
        ("tracks: {max_sampled_frac: 1.5}", "tracks.max_sampled_frac"),
        ("qa: {thresholds: {procedural: {translation_none_m: fast}}}", "qa.thresholds.procedural.translation_none_m"),
        ("typo_section: {}", "typo_section"),
        ("generate: {min_objects: 5, max_objects: 2}", "max_objects"),
        ("base: [unclosed", "cannot read"),
    ],
)
def test_bad_params_name_the_key(tmp_path, text, fragment):
    p = tmp_path / "params.yaml"
    p.write_text(text)
    with pytest.raises(ParamsError) as err:
        load_params(p)
    assert fragment in str(err.value) and str(p) in str(err.value)


def test_thresholds_for_unknown_source_is_an_error():
    with pytest.raises(KeyError, match="vkitti2"):
        Params().thresholds_for("vkitti2")


def _enable(text: str, tmp_path) -> Params:
    p = tmp_path / "params.yaml"
    p.write_text(text)
    return load_params(p)


def test_one_line_enables_a_source_and_its_kind_preset_applies(tmp_path):
    params = _enable("standardize: {sources: [{name: procedural, kind: kubric, root: data/raw/procedural}, "
                     "{name: drive, kind: shift, root: data/raw/shift/discrete/images/val}, "
                     "{name: phone, kind: recon, root: data/raw/recon}]}", tmp_path)
    drive, phone = params.thresholds_for("drive"), params.thresholds_for("phone")
    assert (drive.translation_none_m, drive.translation_some_m) == (0.5, 1.5)  # driving preset: metres
    assert (phone.translation_none_m, phone.translation_some_m) == (0.05, 0.15)  # indoor preset: centimetres
    assert params.thresholds_for("procedural").translation_none_m == 0.15  # its own entry wins


def test_per_source_preset_and_clip_settings(tmp_path):
    params = _enable("standardize: {sources: [{name: drive, kind: shift, root: r}, {name: kitchen, kind: recon, root: s}]}\n"
                     "qa: {sources: {drive: {clip_frames: 6, clips_per_video: 1, sample_fps: 1.0},"
                     " kitchen: {preset: driving, clip_stride: 3}}}", tmp_path)
    assert params.thresholds_for("kitchen").translation_some_m == 1.5
    qa = params.qa_for("drive", fps=10.0)
    assert (qa.clip_frames, qa.clips_per_video, qa.clip_stride, qa.questions_per_clip) == (6, 1, 10, params.qa.questions_per_clip)
    assert params.qa_for("drive", fps=1.0).clip_stride == 1
    assert params.qa_for("kitchen", fps=30.0).clip_stride == 3 and params.qa_for("kitchen").clip_frames == 32
    assert params.qa_for("procedural") is params.qa
    drive = "standardize: {sources: [{name: drive, kind: shift, root: r}]}\n"
    assert _enable(drive + "qa: {clip_frames: 1, sources: {drive: {clip_frames: 1}}}", tmp_path).qa_for("drive").clip_frames == 1
    with pytest.raises(ParamsError, match="qa.sources.drive.clip_frames"):  # single-frame clips are the least
        _enable(drive + "qa: {sources: {drive: {clip_frames: 0}}}", tmp_path)


def test_question_type_names_match_the_generators():
    """params checks question_types without importing the generators (they pull torch): the two lists agree."""
    from fourdpqa.params import QUESTION_TYPES
    from fourdpqa.questions import TYPES

    assert QUESTION_TYPES == tuple(sorted(TYPES))
