"""Predictors that misbehave (issues 14.7, 14.10), run together with a well-behaved one on a small benchmark:
undecodable text and 2.4 MB answers are sanitised and capped; a wrong number or type of answers sets that predictor
aside with a clear reason; a predictor that always abstains ("N/A") scores 0 with every question counted as failed.
The good predictor's results are never lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from fourdpqa import evaluate as library
from fourdpqa.assemble import assemble
from fourdpqa.params import Params
from fourdpqa.predictors import Predictor, Sample
from fourdpqa.stages import evaluate as stage
from tests.helpers.dataset_data import toy_oracle, write_data_root

HUGE = 2_400_000
CAP = 4096


class Scripted(Predictor):
    """Answers every batch with ``reply(batch)``."""

    def __init__(self, name: str, reply: Callable[[list[Sample]], list]) -> None:
        self.name = name
        self.reply = reply

    def predict(self, batch: list[Sample]) -> list:
        return self.reply(batch)


def _letter(s: Sample) -> str:
    return str(s.record["answer"]) if s.record["answer_format"] == "mc" else "A"


BROKEN = {
    "surrogates": lambda b: [f"{_letter(s)}\udcff\ud800" for s in b],  # undecodable text (lone surrogates)
    "latin1_bytes": lambda b: [f"{_letter(s)} caf\xe9".encode("latin-1") for s in b],  # bytes, not UTF-8
    "huge": lambda b: ["blah " * (HUGE // 5) + f"Therefore, the final answer is: {_letter(s)}" for s in b],
    "one_too_few": lambda b: ["A"] * (len(b) - 1),
    "one_too_many": lambda b: ["A"] * (len(b) + 1),
    "not_text": lambda b: [None] * len(b),
    "always_na": lambda b: ["N/A"] * len(b),
}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory) -> tuple[Params, library.EvaluationResult, int]:
    root = tmp_path_factory.mktemp("evaluate_faults") / "data"
    write_data_root(root, 4, per_type=2)
    params = Params.model_validate({
        "base": {"data_root": str(root), "allowed_roots": [str(root)], "num_threads": 1},
        "qa": {"out_width": 32, "out_height": 32},
        "assemble": {"train_size": 60, "benchmark_size": 24, "export_mp4": False},
        "evaluate": {"batch_size": 4, "max_response_chars": CAP},
    })
    assemble(params, oracle=toy_oracle)
    real = library.build_predictor
    fakes = {name: Scripted(name, reply) for name, reply in BROKEN.items()}
    library.build_predictor = lambda name, p, **kw: fakes[name] if name in fakes else real(name, p, **kw)
    try:
        result = stage.evaluate(params, ["random", *BROKEN], tracking_uri=(root.parent / "mlruns").as_uri())
    finally:
        library.build_predictor = real
    n = pl.read_parquet(root / "dataset" / "benchmark.parquet").height
    return params, result, n


def _rows(params: Params, name: str) -> list[dict]:
    path = library.predictions_path(params, name)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _good_kept(params: Params, result: library.EvaluationResult, n: int) -> int:
    """Good items lost: the well-behaved predictor's rows missing from its predictions file."""
    return n - len(_rows(params, "random")) if "random" in result.summaries else n


@pytest.mark.parametrize(("case", "name"), [("undecodable text (lone surrogates)", "surrogates"),
                                            ("answers as non-UTF-8 bytes", "latin1_bytes")])
def test_undecodable_answers_are_sanitised(evaluated, ledger, case, name):
    params, result, n = evaluated
    rows = _rows(params, name) if name in result.summaries else []
    readable = len(rows) == n and all("\ufffd" in r["response"] for r in rows)
    right = all(r["score"] == 1.0 for r in rows if r["answer_format"] == "mc")  # the letter survives the noise
    ledger.record("evaluate", case, handled=readable and right and name not in result.quarantined,
                  lost=_good_kept(params, result, n))
    assert readable and right, result.quarantined.get(name)


def test_huge_answers_are_capped_and_still_scored(evaluated, ledger):
    params, result, n = evaluated
    path = library.predictions_path(params, "huge")
    size = path.stat().st_size if path.exists() else 0
    rows = _rows(params, "huge") if size else []
    capped = len(rows) == n and size < n * (CAP + 2048) and all(len(r["response"]) < CAP + 64 for r in rows)
    scored = all(r["score"] == 1.0 for r in rows if r["answer_format"] == "mc")  # the conclusion (tail) is kept
    ledger.record("evaluate", "2.4 MB answers", handled=capped and scored, lost=_good_kept(params, result, n))
    assert capped and scored, size


@pytest.mark.parametrize(("case", "name", "fragment"), [
    ("one answer too few", "one_too_few", "returned 3 answer(s) for 4 question(s)"),
    ("one answer too many", "one_too_many", "returned 5 answer(s) for 4 question(s)"),
    ("answers that are not text", "not_text", "with NoneType, not text"),
])
def test_broken_contract_sets_the_predictor_aside(evaluated, ledger, case, name, fragment):
    params, result, n = evaluated
    reason = result.quarantined.get(name, "")
    clear = f"predictor {name!r}" in reason and fragment in reason and "zip" not in reason
    ledger.record("evaluate", case, handled=clear and name not in result.summaries, lost=_good_kept(params, result, n))
    assert clear and name not in result.summaries, reason
    assert _good_kept(params, result, n) == 0


def test_always_abstaining_predictor_scores_zero_and_fails_every_question(evaluated, ledger):
    params, result, n = evaluated
    summary = result.summaries.get("always_na", {})
    overall = summary["overall"].mean if summary else None
    failed = result.failures.get("always_na")
    extracted = {r["extracted"] for r in _rows(params, "always_na")} if summary else {"missing"}
    ledger.record("evaluate", "predictor always answering 'N/A'", handled=overall == 0.0 and failed == n,
                  lost=_good_kept(params, result, n))
    assert overall == 0.0 and failed == n and extracted == {None}, (overall, failed, extracted)
    report = json.loads((Path(params.data) / "eval" / "report.json").read_text())
    assert report["failed_questions"]["always_na"] == n and report["overall"]["always_na"] == 0.0
