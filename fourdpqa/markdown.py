"""The one markdown-table builder (evaluation report, VLM4D statistics, QA counts in stage reports and the UI)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def table(header: Sequence[object], rows: Iterable[Sequence[object]], align: Sequence[str] | None = None) -> str:
    """A GitHub markdown table without a trailing newline; ``align`` holds ``"right"`` for right-aligned columns
    (numbers), anything else for the default."""
    aligns = list(align) if align is not None else [""] * len(header)
    if len(aligns) != len(header):
        raise ValueError(f"{len(aligns)} alignments for {len(header)} columns")
    lines = ["| " + " | ".join(map(str, header)) + " |",
             "|" + "|".join("---:" if a == "right" else "---" for a in aligns) + "|"]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)
