"""Checks that explain themselves: the metadata of a check names its rule, what was observed, the counts and a few
offending items, stays small however many offenders there are, and a refusal names every failed check."""

from __future__ import annotations

import dagster as dg

from assets.explain import check_metadata, examples_markdown, failure, from_report, trimmed_details
from assets.metadata import MAX_ENTRY_BYTES
from fourdpqa.validate import CheckResult


def _consistency(n_wrong: int) -> CheckResult:
    wrong = {f"proc_{i:05d}_q0": {"stored": "yes", "derived": "no"} for i in range(n_wrong)}
    return CheckResult("check_answer_consistency", not wrong, True, f"{10_000 - n_wrong}/10000 answers re-derived",
                       "100% agreement", {"disagreements": wrong, "errors": {}, "n_disagree": n_wrong, "n_errors": 0})


def test_a_failed_check_shows_rule_counts_and_five_examples():
    meta = check_metadata(_consistency(3000))
    assert meta["verdict"] == "FAILED (blocking)" and meta["rule"] == "100% agreement"
    assert meta["observed"] == "7000/10000 answers re-derived"
    assert meta["n_disagree"] == 3000 and meta["disagreements_listed"] == 3000 and "errors_listed" not in meta
    examples = meta["examples"].value
    assert examples.count("\n- `proc_") == 5 and "`proc_00004_q0`" in examples and "`proc_00005_q0`" not in examples
    assert "… 2995 more" in examples and '"stored": "yes"' in examples
    sizes = [len(dg.serialize_value(dg.MetadataValue.md(v) if isinstance(v, str) else v)) for v in meta.values()]
    assert max(sizes) <= MAX_ENTRY_BYTES  # the full details would be ~150 KB
    details = meta["details"].value
    assert len(details["disagreements"]) < 3000 and details["n_disagree"] == 3000
    assert list(details["disagreements"])[-1] == "…"


def test_a_passed_check_keeps_its_details_whole_and_lists_no_examples():
    passed = CheckResult("check_leakage", True, True, "0 shared videos, 0 near-duplicate clip pairs", "0 shared",
                         {"shared_videos": [], "near_duplicates": [], "per_type": {f"t{i}": i for i in range(30)}})
    meta = check_metadata(passed)
    assert meta["verdict"] == "passed" and "examples" not in meta
    assert meta["details"].value == passed.details  # small details are not cut
    warning = CheckResult("check_pixel_learnability", False, False, "1/2 types", "gain", {"flagged": ["a/mc"]})
    assert check_metadata(warning)["verdict"] == "FAILED (warning)"
    assert examples_markdown(warning) == "**flagged** (1 listed):\n- a/mc"


def test_trimmed_details_fit_any_budget():
    details = {"records": {f"r{i}": ["x" * 100] * 20 for i in range(200)}, "n": 200}
    trimmed = trimmed_details(details, budget=5_000)
    assert len(str(trimmed)) <= 6_000 and trimmed["n"] == 200 and trimmed["records"]["…"].endswith("more")


def test_a_refusal_names_each_failed_check_and_why():
    balance = CheckResult("check_label_balance", False, True, "1 unbalanced groups of 9", "class share <= 1.5x",
                          {"offenders": {"camera_movement/yn": "yes share 0.80 outside [0.45, 0.55]"},
                           "hint": "generate more videos"})
    exc = failure("refusing to write the benchmark", [_consistency(2), balance])
    assert exc.description == "refusing to write the benchmark"
    assert exc.metadata["failed_checks"].value == "check_answer_consistency, check_label_balance"
    why = exc.metadata["check_label_balance"].value
    assert "rule: class share <= 1.5x" in why and "camera_movement/yn" in why and "yes share 0.80" in why
    assert "hint: generate more videos" in why
    assert from_report(balance.as_dict()) == balance
