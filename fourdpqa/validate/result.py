"""The one result type every check returns, so the same object feeds ``data/validation/report.json``, the Dagster
asset checks and assembly's refusal to write a benchmark that fails a blocking check."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class CheckResult:
    name: str
    passed: bool
    blocking: bool
    observed: Any
    expected: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def why(self) -> str:
        """One line a person can act on: what was observed against what was expected."""
        return f"{self.name}: observed {self.observed}, expected {self.expected}"

    def renamed(self, name: str) -> "CheckResult":
        """The same result under another check name (e.g. the training-split variant of a check)."""
        self.name = name
        return self
