"""The evaluation table, laid out like the paper's Table 2: one row per model/run, one column per question type,
grouped by category, with sample-weighted category averages and a sample-weighted overall score.

Input is one list of scored predictions per run (dicts with ``question_name``, ``category`` and ``score`` in
[0, 1]); output is markdown, CSV and a grouped bar plot (PNG). Categories without any scored question in any run are
left out (e.g. point tracking on the MC/yes-no benchmark); within a shown category a type no run has is "–".

:func:`diagnostics` adds what an accuracy alone hides: each model's answer entropy per format (a constant answerer
is flagged *degenerate*) and, per question type, category and overall, a paired sign test against the blind row
with Holm's correction; :func:`write_report` prints both under the table.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fourdpqa import markdown, metrics  # noqa: E402
from fourdpqa.atomic import atomic_path, write_text  # noqa: E402
from fourdpqa.errors import BadInput  # noqa: E402

# (category key, display name, [(question_name, column label)]) in paper order; "metric" is beyond the paper.
LAYOUT: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("camera_motion", "Camera Motion", [
        ("camera_movement", "(1) Cam."), ("camera_object_distance", "(2) Cam.-Obj. Chg.")]),
    ("object_motion", "Object Motion", [
        ("object_rotation", "(3) Rotation"), ("object_direction", "(4) Direction"), ("agent_motion", "(5) Agent"),
        ("moved_distance", "(6) Moved Dist."), ("object_object_distance_change", "(7) Obj.-Obj. Chg.")]),
    ("spatial", "3D Spatial Understanding", [
        ("depth", "(8) Depth"), ("object_object_distance", "(9) Obj.-Obj. Dist."),
        ("multiview_depth", "(10) MV Depth"), ("multiview_object_distance", "(11) MV Obj. Dist.")]),
    ("point_tracking", "Point Tracking", [
        ("visual_tracking", "(12) Visual Track"), ("true_motion_tracking", "(13) True-Motion Track")]),
    ("metric", "Metric", [
        ("metric_speed", "Speed"), ("metric_displacement", "Displacement"), ("metric_path_length", "Path Length"),
        ("metric_camera_travel", "Cam. Travel")]),
]
OVERALL = "Overall"


@dataclass(frozen=True)
class Cell:
    """Mean score over ``n`` questions (``mean`` is None when n == 0)."""

    n: int
    total: float

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None


@dataclass(frozen=True)
class Column:
    key: str  # question_name, "avg:<category>" or "overall"
    label: str
    group: str  # category display name ("" for overall)
    is_average: bool


def summarize(rows: Iterable[Mapping[str, Any]]) -> dict[str, Cell]:
    """Per question name, per category (``avg:<category>``, sample-weighted) and ``overall`` (sample-weighted)."""
    sums: dict[str, list[float]] = {}
    known = {name for _, _, types in LAYOUT for name, _ in types}
    for r in rows:
        if r["question_name"] not in known:
            raise BadInput(f"prediction {r.get('id')!r}: unknown question_name {r['question_name']!r}")
        score = float(r["score"])
        for key in (r["question_name"], f"avg:{r['category']}", "overall"):
            acc = sums.setdefault(key, [0, 0.0])
            acc[0] += 1
            acc[1] += score
    return {k: Cell(int(n), t) for k, (n, t) in sums.items()}


def columns(summaries: Mapping[str, Mapping[str, Cell]]) -> list[Column]:
    """Table columns for these runs: every category with data in some run, its types, its average; overall last."""
    present = {k for s in summaries.values() for k, c in s.items() if c.n}
    cols: list[Column] = []
    for cat, display, types in LAYOUT:
        if f"avg:{cat}" not in present:
            continue
        cols += [Column(name, label, display, False) for name, label in types]
        cols.append(Column(f"avg:{cat}", "Average", display, True))
    cols.append(Column("overall", "Overall Avg.", "", True))
    return cols


def _pct(cell: Cell | None) -> str:
    return "–" if cell is None or cell.mean is None else f"{100 * cell.mean:.1f}"


def to_markdown(summaries: Mapping[str, Mapping[str, Cell]]) -> str:
    """Rows = runs; a first header line names the category of each column; last row = question counts of the
    first run (every run is scored on the same benchmark)."""
    cols = columns(summaries)
    head = ["Model"] + [f"{c.group}: {c.label}" if c.group else c.label for c in cols]
    rows = [[run] + [f"**{_pct(summary.get(c.key))}**" if c.is_average else _pct(summary.get(c.key)) for c in cols]
            for run, summary in summaries.items()]
    if summaries:
        first = next(iter(summaries.values()))
        rows.append(["n"] + [str(first[c.key].n) if c.key in first else "0" for c in cols])
    return markdown.table(head, rows, ["left"] + ["right"] * len(cols)) + "\n"


def to_csv(summaries: Mapping[str, Mapping[str, Cell]]) -> str:
    """Long format: one line per (run, column) with the category, the count and the accuracy in percent."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["model", "category", "column", "key", "n", "accuracy"])
    for run, summary in summaries.items():
        for c in columns(summaries):
            cell = summary.get(c.key)
            writer.writerow([run, c.group, c.label, c.key, cell.n if cell else 0,
                             "" if cell is None or cell.mean is None else f"{100 * cell.mean:.2f}"])
    return buf.getvalue()


def plot(summaries: Mapping[str, Mapping[str, Cell]], path: str | Path, title: str = "4DP-QA-Bench accuracy") -> Path:
    """Grouped bar plot (one bar per run per column), written atomically as PNG."""
    cols = columns(summaries)
    runs = list(summaries)
    width = 0.8 / max(1, len(runs))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(cols) + 2), 4.0), dpi=100)
    for i, run in enumerate(runs):
        values = [summaries[run][c.key].mean * 100 if c.key in summaries[run] and summaries[run][c.key].n else 0.0
                  for c in cols]
        ax.bar([j + i * width - 0.4 + width / 2 for j in range(len(cols))], values, width, label=run)
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels([f"{c.group.split()[0]} avg" if c.is_average and c.group else c.label for c in cols],
                       rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def write_report(summaries: Mapping[str, Mapping[str, Cell]], out_dir: str | Path,
                 stem: str = "report", diagnosed: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """``<stem>.md``, ``<stem>.csv`` and ``<stem>.png`` in ``out_dir``; returns their paths. With ``diagnosed``
    (:func:`diagnostics`), the markdown also holds the answer-diversity and versus-blind tables."""
    out_dir = Path(out_dir)
    paths = {"md": out_dir / f"{stem}.md", "csv": out_dir / f"{stem}.csv", "png": out_dir / f"{stem}.png"}
    extra = diagnostics_markdown(diagnosed) if diagnosed else ""
    write_text(paths["md"], to_markdown(summaries) + extra)
    write_text(paths["csv"], to_csv(summaries))
    plot(summaries, paths["png"])
    return paths


def side_by_side(runs: Sequence[tuple[str, Iterable[Mapping[str, Any]]]]) -> dict[str, dict[str, Cell]]:
    """Summaries of several runs (label, scored rows) in the given order, ready for the writers above."""
    return {label: summarize(rows) for label, rows in runs}


def read_predictions(path: str | Path) -> list[dict[str, Any]]:
    """Scored rows of a predictions JSONL written by the evaluate stage (to compare runs made at other times)."""
    path = Path(path)
    try:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path}: cannot read predictions: {exc}") from exc


# ------------------------------------------------------------------------------------------------ diagnostics

REFERENCE = "blind"  # the row every other model is tested against: what the text alone gets right
SIGNIFICANCE = 0.05  # family-wise (Holm) level per model


def diagnostics(scored: Mapping[str, Sequence[Mapping[str, Any]]], reference: str = REFERENCE) -> dict[str, Any]:
    """``{"answers": {model: answer diversity}, "degenerate": [models], "versus": {model: comparison}}`` from each
    model's scored prediction rows (``id``, ``question_name``, ``category``, ``answer_format``, ``extracted``,
    ``score``). The comparison is :func:`versus` against ``reference`` (absent when that model was not run)."""
    answers = {name: metrics.answer_diversity(rows) for name, rows in scored.items()}
    out: dict[str, Any] = {"answers": answers, "degenerate": sorted(n for n, a in answers.items() if a["degenerate"])}
    if reference in scored:
        out["versus"] = {name: versus(rows, scored[reference]) for name, rows in scored.items() if name != reference}
        out["reference"] = reference
    return out


def versus(rows: Sequence[Mapping[str, Any]], reference: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Paired sign tests of ``rows`` against ``reference`` on their common questions, per (question type, format)
    group, per category and overall, with Holm-adjusted p-values over all those groups; ``beats`` lists the groups
    where the model is significantly better at :data:`SIGNIFICANCE`."""
    ref = {r["id"]: float(r["score"]) for r in reference}
    groups: dict[str, tuple[list[float], list[float]]] = {}
    for r in rows:
        if r["id"] not in ref:
            continue
        for key in (f"{r['question_name']}/{r['answer_format']}", f"avg:{r['category']}", "overall"):
            pair = groups.setdefault(key, ([], []))
            pair[0].append(float(r["score"]))
            pair[1].append(ref[r["id"]])
    tests = {k: metrics.paired_sign_test(a, b) for k, (a, b) in sorted(groups.items())}
    adjusted = metrics.holm({k: t["p"] for k, t in tests.items()})
    for k, t in tests.items():
        t["p_holm"] = adjusted[k]
    return {"groups": tests, "beats": sorted(k for k, t in tests.items() if t["p_holm"] < SIGNIFICANCE)}


def diagnostics_markdown(diagnosed: Mapping[str, Any]) -> str:
    """The two tables :func:`write_report` adds under Table 2."""
    head = ["Model", "yes/no n", "yes/no answers", "yes/no entropy (bits)", "MC n", "MC letters",
            "MC entropy (bits)", "degenerate"]
    rows = []
    for name, a in diagnosed["answers"].items():
        cells = [name]
        for fmt in ("yn", "mc"):
            f = a.get(fmt)
            cells += [str(f["n"]), str(f["distinct"]), f"{f['entropy_bits']:.3f}"] if f else ["0", "–", "–"]
        rows.append(cells + ["**yes**: " + "; ".join(a["reasons"]) if a["degenerate"] else "no"])
    out = ("\n### Answer diversity\n\nA model that gives one answer to every yes/no question, or uses at most "
           f"{metrics.DEGENERATE_MC_LETTERS} letters across the MC questions, is degenerate: its accuracy measures "
           "the benchmark's answer balance.\n\n" + markdown.table(head, rows, ["left"] + ["right"] * 6 + ["left"]))
    if "versus" not in diagnosed:
        return out + "\n"
    head = ["Model", "accuracy", f"{diagnosed['reference']}", "wins", "losses", "p (one-sided)", "groups better"]
    rows = []
    for name, v in diagnosed["versus"].items():
        o = v["groups"].get("overall")
        if o is None:
            continue
        rows.append([name, f"{100 * o['accuracy']:.1f}", f"{100 * o['reference_accuracy']:.1f}", str(o["wins"]),
                     str(o["losses"]), f"{o['p']:.3g}", ", ".join(v["beats"]) or "none"])
    return (out + f"\n\n### Against the {diagnosed['reference']} row\n\nExact paired sign test on the questions where "
            f"exactly one of the two is right; groups = each (type, format), each category and overall, Holm-adjusted "
            f"at {SIGNIFICANCE} per model.\n\n" + markdown.table(head, rows, ["left"] + ["right"] * 5 + ["left"]) + "\n")


def diversity_verdict(result: Mapping[str, Any]) -> tuple[bool, str]:
    """(passed, observed) of the answer-diversity check on an evaluation's ``report.json``: passed when no model
    but the reference (a text prior, constant by design where the training answers are balanced) is degenerate."""
    answers = result.get("answers", {})
    judged = [n for n in answers if n != result.get("reference", REFERENCE)]
    bad = [n for n in judged if answers[n]["degenerate"]]
    why = "; ".join(f"{n}: {' / '.join(answers[n]['reasons'])}" for n in bad)
    return not bad, (f"{len(bad)} of {len(judged)} models degenerate" + (f" ({why})" if why else ""))
