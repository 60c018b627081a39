"""Ledger of injected faults: every case records whether it was handled and how many good items were lost;
the session ends with the summary line the issue asks for."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

LEDGER = Path(os.environ.get("FOURDPQA_RELIABILITY_LEDGER", "/tmp/fourdpqa-reliability-ledger.jsonl"))


class Ledger:
    def record(self, stage: str, case: str, handled: bool, lost: int) -> None:
        with open(LEDGER, "a") as fh:
            fh.write(json.dumps({"stage": stage, "case": case, "handled": handled, "lost": lost}) + "\n")


@pytest.fixture(scope="session")
def ledger() -> Ledger:
    return Ledger()


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput") and LEDGER.exists():
        LEDGER.unlink()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not LEDGER.exists():
        return
    rows = [json.loads(line) for line in LEDGER.read_text().splitlines() if line.strip()]
    if not rows:
        return
    handled = sum(r["handled"] for r in rows)
    lost = sum(r["lost"] for r in rows)
    stages = sorted({r["stage"] for r in rows})
    terminalreporter.write_line(
        f"reliability: {len(rows)} bad inputs tried over stages {', '.join(stages)}; "
        f"{handled} handled; {lost} good items lost"
    )
