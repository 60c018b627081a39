"""The review page: one card per sampled QA pair (clip frames with the burned-in marks, question, options) that a
person answers with one click or key; the key, measurement, thresholds and source are revealed after answering.

Opened from disk, the page works as a read-only audit (answering reveals the key, nothing is stored). Served by
``python -m fourdpqa review --serve`` (:mod:`fourdpqa.review.server`), every answer is recorded and the page
shows the running human-label agreement per type. Image paths are relative; nothing is fetched from a network.
"""

from __future__ import annotations

import errno
import html
import json
import os
from pathlib import Path

import numpy as np
import polars as pl

from fourdpqa.atomic import write_json, write_text
from fourdpqa.review.answers import allowed_answers
from fourdpqa.seeding import rng as seeded_rng
from schemas.qa import LETTERS, present

THUMBS = 4
CARDS_FILE = "cards.json"  # the sampled ids, so the server accepts answers for exactly these cards

_CSS = """
body{font-family:sans-serif;margin:1em;background:#f4f4f4}
#bar{position:sticky;top:0;background:#223;color:#fff;padding:.4em .8em;z-index:1;font-size:.9em}
#bar .warn{color:#fc6}
.card{background:#fff;border:1px solid #ccc;border-radius:6px;padding:.8em;margin:0 0 1em 0}
.card.current{border:2px solid #36c}
.meta{color:#555;font-size:.85em}
.thumbs img{width:160px;height:auto;margin-right:4px;border:1px solid #999}
.options{list-style:none;padding-left:1em}
.card.revealed .options li.correct{font-weight:bold;color:#0a0}
.key{display:none}
.card.revealed .key{display:block}
.card.agree{border-left:8px solid #0a0}.card.disagree{border-left:8px solid #c00}.card.unsure{border-left:8px solid #999}
.answer{font-weight:bold}
button{margin-right:.4em;min-width:3em}
button.chosen{background:#36c;color:#fff}
pre{background:#eee;padding:.4em;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.8em}
"""

# Answering: click a button or press its key (a-d, y/n, g = agree, x = disagree, u = can't tell) on the current card;
# the answer goes to POST api/answers when the page is served, the key is revealed and the next card comes up.
# "status" reports missing media (a moved dataset folder) instead of leaving silent broken images.
_JS = """
const cards = Array.from(document.querySelectorAll(".card"));
const bar = document.getElementById("bar");
let served = location.protocol.startsWith("http"), shown = Date.now(), current = 0;
function agrees(card, answer) {
  if (answer === "unsure") return null;
  const fmt = card.dataset.format;
  return (fmt === "mc" || fmt === "yn") ? answer === card.dataset.key : answer === "agree";
}
function mark(card, answer) {
  card.classList.add("revealed");
  card.classList.remove("agree", "disagree", "unsure");
  const v = agrees(card, answer);
  card.classList.add(v === null ? "unsure" : (v ? "agree" : "disagree"));
  card.dataset.given = answer;
  card.querySelectorAll("button").forEach(b => b.classList.toggle("chosen", b.dataset.answer === answer));
}
function summary() {
  const done = cards.filter(c => c.dataset.given);
  const per = {};
  done.forEach(c => { const t = c.dataset.type, v = agrees(c, c.dataset.given);
    per[t] = per[t] || [0, 0]; if (v !== null) { per[t][1] += 1; if (v) per[t][0] += 1; } });
  const parts = Object.keys(per).sort().map(t => t + " " + per[t][0] + "/" + per[t][1]);
  bar.innerHTML = done.length + " of " + cards.length + " answered" + (parts.length ? " · agreement: " + parts.join(", ") : "")
    + (served ? "" : " · <span class='warn'>not recording: open through python -m fourdpqa review --serve</span>");
  bar.dataset.answered = done.length;
}
function focus(i) {
  cards.forEach(c => c.classList.remove("current"));
  current = Math.max(0, Math.min(i, cards.length - 1));
  if (cards.length) { cards[current].classList.add("current"); cards[current].scrollIntoView({block: "start"}); }
  shown = Date.now();
}
async function answer(card, value) {
  const seconds = Math.round((Date.now() - shown) / 100) / 10;
  if (served) {
    try {
      const token = (document.querySelector('meta[name="review-token"]') || {}).content || "";
      const r = await fetch("/api/answers", {method: "POST",
        headers: {"Content-Type": "application/json", "X-Review-Token": token},
        body: JSON.stringify({id: card.id, answer: value, seconds: seconds})});
      if (!r.ok) throw new Error(await r.text());
    } catch (e) { served = false; }
  }
  mark(card, value);
  summary();
  const next = cards.findIndex((c, i) => i > cards.indexOf(card) && !c.dataset.given);
  focus(next >= 0 ? next : cards.indexOf(card));
}
cards.forEach(card => card.querySelectorAll("button").forEach(b =>
  b.addEventListener("click", () => { focus(cards.indexOf(card)); answer(card, b.dataset.answer); })));
document.addEventListener("keydown", e => {
  const card = cards[current];
  if (!card) return;
  const b = card.querySelector('button[data-shortcut="' + e.key.toLowerCase() + '"]');
  if (b) { e.preventDefault(); answer(card, b.dataset.answer); }
});
window.addEventListener("load", async () => {
  const imgs = Array.from(document.images), ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  const s = document.getElementById("status");
  s.dataset.loaded = ok; s.dataset.total = imgs.length;
  s.textContent = ok + " of " + imgs.length + " frame images loaded";
  if (served) {
    try {
      const given = await (await fetch("/api/answers")).json();
      cards.forEach(c => { if (given[c.id]) mark(c, given[c.id].answer); });
    } catch (e) { served = false; }
  }
  summary();
  const first = cards.findIndex(c => !c.dataset.given);
  focus(first >= 0 ? first : 0);
  document.body.dataset.ready = "1";
});
"""

_LABELS = {"yes": "Yes (y)", "no": "No (n)", "agree": "Key is right (g)", "disagree": "Key is wrong (x)",
           "unsure": "Can't tell (u)"}
_SHORTCUTS = {"yes": "y", "no": "n", "agree": "g", "disagree": "x", "unsure": "u"}


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
    marked = sorted({m["frame"] for m in record["marks"] or []})
    spread = np.linspace(0, n - 1, min(THUMBS, n)).round().astype(int).tolist()
    return sorted(dict.fromkeys([*marked, *spread]))[:THUMBS] if marked else spread


def _compact(value: dict) -> str:
    """A typed column's value as the compact JSON a reviewer reads (null fields left out)."""
    return json.dumps(present(value), sort_keys=True, separators=(",", ":"))


def _buttons(record: dict) -> str:
    out = []
    for a in allowed_answers(record):
        shortcut = a.lower() if a in LETTERS else _SHORTCUTS[a]
        label = f"{a} ({shortcut})" if a in LETTERS else _LABELS[a]
        out.append(f'<button data-answer="{a}" data-shortcut="{shortcut}">{html.escape(label)}</button>')
    return '<div class="buttons">' + "".join(out) + "</div>"


def card_html(record: dict, dataset_dir: Path, out_dir: Path) -> str:
    """One QA card; media paths relative from the page's folder. MC / yes-no keys stay hidden until answered;
    other formats show the answer to be judged."""
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
    answer = (f'<p>answer: <span class="answer">{e(record["answer"])}</span> {e(record["answer_text"])}'
              f'{(" · label " + e(record["label"])) if record["label"] else ""}</p>')
    blind = record["answer_format"] in ("mc", "yn")
    # a link, not <video>: browsers do not play the MJPEG-in-mp4 stream that lmms-eval reads (the card shows the frames)
    video = f' <a class="clip" href="{rel(record["video"])}">clip.mp4</a>' if record["video"] else ""
    return f"""<div class="card" id="{e(record['id'])}" data-split="{e(record['split'])}" data-type="{e(record['question_name'])}"
data-format="{e(record['answer_format'])}" data-key="{e(record['answer'])}">
<div class="meta">{e(record['id'])} · {e(record['split'])} · type {record['question_type']} {e(record['question_name'])} ·
{e(record['category'])} · ref {e(record['reference_mode'])} · {e(record['answer_format'])} · source {e(record['source'])} ·
template {e(record['template_id'])}{' · phrased' if record['phrased'] else ''}</div>
<div class="thumbs">{imgs}</div>{video}
<p class="question">{e(record['question'])}</p>{options}{'' if blind else answer}
{_buttons(record)}
<div class="key">{answer if blind else ''}<pre class="measurement">measurement: {e(_compact(record['measurement']))}
threshold: {e(_compact(record['threshold']))}</pre></div>
</div>"""


def load_cards(dataset_dir: str | Path, ids: list[str] | None = None) -> pl.DataFrame:
    """Rows of ``train.parquet`` / ``benchmark.parquet`` (those with ``ids`` when given)."""
    dataset_dir = Path(dataset_dir)
    tables = [pl.read_parquet(dataset_dir / f"{s}.parquet") for s in ("benchmark", "train")
              if (dataset_dir / f"{s}.parquet").exists()]
    if not tables:
        raise FileNotFoundError(errno.ENOENT, f"{dataset_dir}: no train.parquet or benchmark.parquet (run assemble first)")
    df = pl.concat(tables, how="diagonal_relaxed")
    return df if ids is None else df.filter(pl.col("id").is_in(ids))


def write_review(dataset_dir: str | Path, out_dir: str | Path, per_type: int, seed: int) -> Path:
    """Write ``<out_dir>/index.html`` (and ``cards.json``, its card ids) from the dataset; returns the page."""
    dataset_dir, out_dir = Path(dataset_dir).resolve(), Path(out_dir).resolve()
    sample = sample_for_review(load_cards(dataset_dir), per_type, seed)
    cards = "\n".join(card_html(r, dataset_dir, out_dir) for r in sample.iter_rows(named=True))
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>4DP-QA review</title><style>{_CSS}</style></head>
<body><div id="bar"></div><h1>4DP-QA review: {sample.height} sampled QA pairs</h1>
<p>Answer each question from the frames (keys a-d, y/n; u = can't tell); the stored key is shown afterwards.
Free-form, numeric and trajectory cards show their key: judge it (g = right, x = wrong).</p>
<p id="status"></p>
{cards}
<script>{_JS}</script>
</body></html>
"""
    path = out_dir / "index.html"
    write_text(path, page)
    write_json(out_dir / CARDS_FILE, sample["id"].to_list())
    return path
