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


def test_question_type_names_match_the_generators():
    """params checks question_types without importing the generators (they pull torch): the two lists agree."""
    from fourdpqa.params import QUESTION_TYPES
    from fourdpqa.questions import TYPES

    assert QUESTION_TYPES == tuple(sorted(TYPES))
