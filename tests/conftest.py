"""Test-wide settings: one torch thread (CI has 2 cores shared by 2 xdist workers) and no network; and the ledger
of injected faults (tests/reliability): every case records whether it was handled and how many good items were
lost, and the session ends with the summary line. Kept at the top level so the xdist controller prints it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("MLFLOW_TRACKING_URI", "file:///tmp/fourdpqa-test-mlruns")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

torch.set_num_threads(1)


LEDGER_ENV = "FOURDPQA_RELIABILITY_LEDGER"


def _ledger() -> Path:
    """This session's ledger: named by the controller at configure time (xdist workers inherit the variable), so
    test sessions running side by side on one machine do not share, or delete, each other's records."""
    return Path(os.environ[LEDGER_ENV])


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and LEDGER_ENV not in os.environ:
        os.environ[LEDGER_ENV] = f"/tmp/fourdpqa-reliability-ledger-{os.getpid()}.jsonl"


# The classes of faults (issue 25): what goes wrong when a fault is not handled.
FAULT_CLASSES = ("lose data", "silently wrong", "hang or stall", "crash, escape or exposure")


class Ledger:
    def record(self, stage: str, case: str, handled: bool, lost: int, kind: str = "crash, escape or exposure") -> None:
        """One injected fault: ``kind`` is its class (:data:`FAULT_CLASSES`), ``lost`` the good items it cost."""
        assert kind in FAULT_CLASSES, kind
        with open(_ledger(), "a") as fh:
            fh.write(json.dumps({"stage": stage, "case": case, "handled": bool(handled), "lost": int(lost),
                                 "kind": kind}) + "\n")


@pytest.fixture(scope="session")
def ledger() -> Ledger:
    return Ledger()


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput") and _ledger().exists():
        _ledger().unlink()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _ledger().exists():
        return
    rows = [json.loads(line) for line in _ledger().read_text().splitlines() if line.strip()]
    if not rows:
        return
    handled = sum(r["handled"] for r in rows)
    lost = sum(r["lost"] for r in rows)
    stages = sorted({r["stage"] for r in rows})
    kinds = {k: [r for r in rows if r.get("kind", FAULT_CLASSES[-1]) == k] for k in FAULT_CLASSES}
    by_kind = "; ".join(f"{k} {len(rs)} ({sum(r['handled'] for r in rs)} handled)" for k, rs in kinds.items() if rs)
    terminalreporter.write_line(
        f"reliability: {len(rows)} bad inputs tried over stages {', '.join(stages)}; "
        f"{handled} handled; {lost} good items lost; by class: {by_kind}"
    )
