"""What evaluation takes from a predictor: exactly one text answer per question, as valid UTF-8 of bounded length.

A predictor that returns too few or too many answers, or something other than text, has broken the interface: a
:class:`PredictorContractError` names it and the questions (evaluate sets that predictor aside, the others go on),
instead of a ``zip()`` error or answers paired with the wrong questions. Answers themselves are sanitised, since
they come from models: bytes and lone surrogates (undecodable text) become U+FFFD replacement characters instead of a
``UnicodeEncodeError`` when the predictions file is written, and an answer longer than ``max_chars`` keeps its head and
its tail (where a chain of thought concludes) around a marker, so 2.4 MB answers cannot make a 36 MB predictions file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fourdpqa.errors import BadInput

MAX_RESPONSE_CHARS = 8192  # params.evaluate.max_response_chars


class PredictorContractError(BadInput):
    """A predictor returned the wrong number of answers, or an answer that is not text."""


def sanitise(answer: str | bytes, max_chars: int = MAX_RESPONSE_CHARS) -> str:
    """``answer`` as valid UTF-8 text without NULs, at most ``max_chars`` long (+ the cut marker)."""
    if isinstance(answer, bytes):
        text = answer.decode("utf-8", errors="replace")
    else:
        text = answer.encode("utf-8", errors="surrogatepass").decode("utf-8", errors="replace")
    text = text.replace("\x00", "")
    if len(text) <= max_chars:
        return text
    half = max_chars // 2
    return f"{text[:half]} [... {len(text) - 2 * half} characters cut ...] {text[-half:]}"


def checked_answers(predictor: str, ids: Sequence[Any], answers: Any, max_chars: int = MAX_RESPONSE_CHARS) -> list[str]:
    """The sanitised answers of ``predictor`` to the questions ``ids`` (in order); raises
    :class:`PredictorContractError` naming the predictor and the questions when the contract is broken."""
    span = f"{ids[0]} .. {ids[-1]}" if ids else "none"
    if not isinstance(answers, (list, tuple)):
        raise PredictorContractError(f"predictor {predictor!r} returned {type(answers).__name__}, not a list of "
                                     f"answers, for {len(ids)} question(s) ({span})")
    if len(answers) != len(ids):
        raise PredictorContractError(f"predictor {predictor!r} returned {len(answers)} answer(s) for {len(ids)} "
                                     f"question(s) ({span}): exactly one per question is required")
    for qid, answer in zip(ids, answers):
        if not isinstance(answer, (str, bytes)):
            raise PredictorContractError(f"predictor {predictor!r} answered question {qid} with "
                                         f"{type(answer).__name__}, not text")
    return [sanitise(a, max_chars) for a in answers]


def unanswered(rows: Iterable[Mapping[str, Any]]) -> int:
    """Scored rows (fields ``error``, ``extracted``) where no answer was obtained: the predictor failed, or its
    text gives none (empty, an abstention such as "N/A", unreadable)."""
    return sum(bool(r["error"]) or r["extracted"] is None for r in rows)
