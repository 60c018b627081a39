"""Static review page: one card per sampled QA pair (clip frames with the burned-in marks, question, options with
the key highlighted, measured value and threshold, source) so a person can audit the data by opening
``review/index.html`` from disk — image paths are relative, nothing is fetched from a network."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

import numpy as np
import polars as pl

from fourdpqa.atomic import write_text
from fourdpqa.seeding import rng as seeded_rng
from schemas.qa import LETTERS

THUMBS = 4

_CSS = """
body{font-family:sans-serif;margin:1em;background:#f4f4f4}
.card{background:#fff;border:1px solid #ccc;border-radius:6px;padding:.8em;margin:0 0 1em 0}
.meta{color:#555;font-size:.85em}
.thumbs img{width:160px;height:auto;margin-right:4px;border:1px solid #999}
.options{list-style:none;padding-left:1em}
.options li.correct{font-weight:bold;color:#0a0}
.answer{font-weight:bold}
pre{background:#eee;padding:.4em;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.8em}
"""


# Reports missing media (a moved dataset folder) at the top of the page instead of leaving silent broken images.
_STATUS_JS = """window.addEventListener("load", () => {
  const imgs = Array.from(document.images), ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  const s = document.getElementById("status");
  s.dataset.loaded = ok; s.dataset.total = imgs.length;
  s.textContent = ok + " of " + imgs.length + " frame images loaded";
});"""


def sample_for_review(df: pl.DataFrame, per_type: int, seed: int) -> pl.DataFrame:
    """Up to ``per_type`` rows of every (split, question type, format), chosen with the seed, sorted by id."""
    picks = []
    for (split, qname, fmt), grp in df.sort("id").group_by(["split", "question_name", "answer_format"], maintain_order=True):
        rng = seeded_rng(seed, "review", split, qname, fmt)
        picks.append(grp[np.sort(rng.permutation(grp.height)[:per_type]).tolist()])
    return pl.concat(picks).sort("split", "question_name", "id") if picks else df.clear()


def _thumb_indices(record: dict) -> list[int]:
    """Frames to show: every frame carrying a mark, then evenly spaced frames, at most THUMBS in clip order."""
    n = len(record["frames"])
    marked = sorted({m["frame"] for m in json.loads(record["marks"] or "[]")})
    spread = np.linspace(0, n - 1, min(THUMBS, n)).round().astype(int).tolist()
    return sorted(dict.fromkeys([*marked, *spread]))[:THUMBS] if marked else spread


def card_html(record: dict, dataset_dir: Path, out_dir: Path) -> str:
    """One QA card; media paths relative from the page's folder."""
    rel = lambda p: html.escape(os.path.relpath(dataset_dir / p, out_dir))  # noqa: E731
    e = html.escape
    imgs = "".join(f'<img src="{rel(record["frames"][i])}" alt="frame {i}" title="frame {i}">' for i in _thumb_indices(record))
    if record["answer_format"] == "mc":
        items = "".join(f'<li class="{"correct" if L == record["answer"] else ""}">{L}. {e(o)}</li>'
                        for L, o in zip(LETTERS, record["options"], strict=False))
        options = f'<ul class="options">{items}</ul>'
    elif record["options"]:
        options = "<p>options: " + " / ".join(e(o) for o in record["options"]) + "</p>"
    else:
        options = ""
    # a link, not <video>: browsers do not decode the mp4v (MPEG-4 part 2) stream training tools read
    video = f' <a class="clip" href="{rel(record["video"])}">clip.mp4</a>' if record["video"] else ""
    return f"""<div class="card" id="{e(record['id'])}" data-split="{e(record['split'])}">
<div class="meta">{e(record['id'])} · {e(record['split'])} · type {record['question_type']} {e(record['question_name'])} ·
{e(record['category'])} · ref {e(record['reference_mode'])} · {e(record['answer_format'])} · source {e(record['source'])} ·
template {e(record['template_id'])}{' · phrased' if record['phrased'] else ''}</div>
<div class="thumbs">{imgs}</div>{video}
<p class="question">{e(record['question'])}</p>{options}
<p>answer: <span class="answer">{e(record['answer'])}</span> {e(record['answer_text'])}
{('· label ' + e(record['label'])) if record['label'] else ''}</p>
<pre class="measurement">measurement: {e(record['measurement'])}
threshold: {e(record['threshold'])}</pre>
</div>"""


def write_review(dataset_dir: str | Path, out_dir: str | Path, per_type: int, seed: int) -> Path:
    """Write ``<out_dir>/index.html`` from ``<dataset_dir>/{train,benchmark}.parquet``; returns the page path."""
    dataset_dir, out_dir = Path(dataset_dir).resolve(), Path(out_dir).resolve()
    tables = [pl.read_parquet(dataset_dir / f"{s}.parquet") for s in ("benchmark", "train")
              if (dataset_dir / f"{s}.parquet").exists()]
    if not tables:
        raise FileNotFoundError(f"{dataset_dir}: no train.parquet or benchmark.parquet (run assemble first)")
    sample = sample_for_review(pl.concat(tables, how="diagonal_relaxed"), per_type, seed)
    cards = "\n".join(card_html(r, dataset_dir, out_dir) for r in sample.iter_rows(named=True))
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>4DP-QA review</title><style>{_CSS}</style></head>
<body><h1>4DP-QA review: {sample.height} sampled QA pairs</h1>
<p id="status"></p>
{cards}
<script>{_STATUS_JS}</script>
</body></html>
"""
    path = out_dir / "index.html"
    write_text(path, page)
    return path
