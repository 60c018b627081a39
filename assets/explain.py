"""Check results that explain themselves in the Dagster UI: the rule, what was observed, the counts and a few
offending items as metadata (the full lists stay in data/validation/report.json), for asset checks and for the
failure of a refused assembly or a failed validation."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import dagster as dg

from fourdpqa.validate.result import CheckResult  # not the package: it loads every check (and torch)

# detail keys under which the checks list what broke their rule (ids, groups, tables, pairs)
OFFENDER_KEYS = ("offenders", "disagreements", "errors", "records", "shared_videos", "near_duplicates", "flagged")
N_EXAMPLES = 5
MAX_TEXT = 300  # characters of one observed value or example
MAX_DETAILS = 20_000  # characters of the trimmed details JSON
RESERVED = ("verdict", "rule", "observed", "details", "examples")


def _short(value: Any, limit: int = MAX_TEXT) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"


def _trim(value: Any, n: int) -> Any:
    """``value`` with every list / dict cut to its first ``n`` entries (a marker says how many were left out)."""
    if isinstance(value, dict):
        items = list(value.items())
        out = {str(k): _trim(v, n) for k, v in items[:n]}
        if len(items) > n:
            out["…"] = f"{len(items) - n} more"
        return out
    if isinstance(value, (list, tuple)):
        return [_trim(v, n) for v in value[:n]] + ([f"… {len(value) - n} more"] if len(value) > n else [])
    return _short(value) if isinstance(value, str) else value


def trimmed_details(details: dict[str, Any], budget: int = MAX_DETAILS) -> dict[str, Any]:
    """The details as they are when their JSON has at most ``budget`` characters, else cut to fewer entries per
    collection (50, 25, ... 1) until they fit."""
    if len(json.dumps(details, default=str)) <= budget:
        return details
    n = 50
    while n >= 1:
        trimmed = _trim(details, n)
        if len(json.dumps(trimmed, default=str)) <= budget:
            return trimmed
        n //= 2
    return {"…": "details too large for the event log: see data/validation/report.json"}


def offenders(result: CheckResult) -> dict[str, list | dict]:
    """The non-empty offender collections of a check's details."""
    return {k: v for k, v in result.details.items() if k in OFFENDER_KEYS and isinstance(v, (list, dict)) and v}


def examples_markdown(result: CheckResult, n: int = N_EXAMPLES) -> str:
    """The first ``n`` items of each offender collection as a markdown list."""
    lines = []
    for key, items in offenders(result).items():
        pairs = list(items.items()) if isinstance(items, dict) else [(None, v) for v in items]
        lines.append(f"**{key}** ({len(pairs)} listed):")
        lines += [f"- `{k}`: {_short(v)}" if k is not None else f"- {_short(v)}" for k, v in pairs[:n]]
        if len(pairs) > n:
            lines.append(f"- … {len(pairs) - n} more")
    return "\n".join(lines)


def _verdict(result: CheckResult) -> str:
    return "passed" if result.passed else ("FAILED (blocking)" if result.blocking else "FAILED (warning)")


def explanation(result: CheckResult) -> str:
    """Markdown: verdict, rule, observed, the check's notes (e.g. a hint) and examples of one check."""
    parts = [f"**{result.name}**: {_verdict(result)}", f"rule: {result.expected}", f"observed: {_short(result.observed)}"]
    parts += [f"{k}: {_short(v)}" for k, v in result.details.items() if isinstance(v, str)]
    examples = examples_markdown(result)
    return "  \n".join(parts) + (f"\n\n{examples}" if examples else "")


def check_metadata(result: CheckResult) -> dict[str, Any]:
    """Metadata of one asset check: rule, observed, verdict, the numeric counts of its details, how many offenders
    it lists per kind, examples of them and the trimmed details."""
    own = {k: v for k, v in result.details.items() if k not in RESERVED}
    meta: dict[str, Any] = {
        "verdict": _verdict(result),
        "rule": result.expected,
        "observed": _short(result.observed),
        **{k: _short(v) for k, v in own.items() if isinstance(v, str)},
        **{k: v for k, v in own.items() if isinstance(v, (int, float)) and not isinstance(v, bool)},
        **{f"{k}_listed": len(v) for k, v in offenders(result).items()},
        "details": dg.MetadataValue.json(trimmed_details(result.details)),
    }
    examples = examples_markdown(result)
    if examples:
        meta["examples"] = dg.MetadataValue.md(examples)
    return meta


def failure(description: str, results: Iterable[CheckResult]) -> dg.Failure:
    """A step failure naming each failed check and why (one markdown entry per check)."""
    failed = list(results)
    return dg.Failure(description=description, metadata={
        "failed_checks": ", ".join(r.name for r in failed),
        **{r.name: dg.MetadataValue.md(explanation(r)) for r in failed},
    })


def from_report(check: dict[str, Any]) -> CheckResult:
    """A check entry of data/validation/report.json back as a :class:`CheckResult`."""
    return CheckResult(check["name"], check["passed"], check["blocking"], check["observed"], check["expected"],
                       check.get("details", {}))
