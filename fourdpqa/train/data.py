"""Training records: the conversation export (or ``dataset/train.parquet``) parsed into :class:`Conversation` s, and
the data order, a pure function of the seed and the step so a resumed run sees exactly the batches it would have.

The order is *balanced* (:class:`BalancedOrder`): answer formats take turns, and within a format the answer classes
(yes / no, the letters A-D) take turns, so every few micro-batches hold each format and answer equally often. A
small model trained on the plain shuffled order learns the marginal answer first and, with little signal, ends up
answering "no" to every yes/no question (the default run's trained row was such a constant answerer)."""

from __future__ import annotations

import errno
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from fourdpqa.errors import BadInput
from fourdpqa.frames import read_video
from fourdpqa.seeding import numbered_rng

DEFAULT_EXPORT = "dataset/exports/train_conversations.jsonl"  # relative to the data root
TRAIN_TABLE = "dataset/train.parquet"  # relative to the data root; used when no export exists


@dataclass(frozen=True)
class Conversation:
    """One training record of the conversation export.

    frames: clip frame image paths in order (resolved); video: clip mp4 path (used when ``frames`` is empty).
    """

    id: str
    prompt: str
    answer: str
    frames: tuple[str, ...] = ()
    video: str | None = None
    answer_format: str = ""  # mc | yn | free | numeric | trajectory ("" when the export does not say)

    @property
    def answer_class(self) -> str:
        """What batches balance within a format: the answer itself for MC letters and yes / no, else nothing."""
        return self.answer if self.answer_format in ("mc", "yn") else ""

    def load_frames(self) -> list[np.ndarray | str]:
        """Frame paths, or the decoded mp4 frames as RGB uint8 (H, W, 3) arrays."""
        return list(self.frames) if self.frames else read_video(self.video)


def _resolve(p: str, base: Path) -> str:
    """A relative media path is taken relative to the export's folder or the nearest ancestor where it exists
    (exports in ``dataset/exports/`` name clips relative to ``dataset/``); otherwise it is left as given."""
    path = Path(p)
    if path.is_absolute():
        return str(path)
    for root in (base, *base.parents):
        if (root / path).exists():
            return str(root / path)
    return str(path)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(c.get("text", "") for c in content if c.get("type") == "text")


def _parse_line(line: str, base: Path, lineno: int) -> Conversation:
    rec = json.loads(line)
    msgs = {m["role"]: m["content"] for m in rec["messages"]}
    frames = tuple(_resolve(f, base) for f in rec.get("frames") or ())
    video = _resolve(rec["video"], base) if rec.get("video") else None
    return Conversation(str(rec.get("id", lineno)), _text(msgs["user"]), _text(msgs["assistant"]), frames, video,
                        str(rec.get("answer_format") or ""))


def read_conversations(path: str | Path, limit: int | None = None) -> list[Conversation]:
    """Parse the export: {"id", "frames": [jpg...] and/or "video": mp4, "messages": [user, assistant]}; user
    content holds a {"type": "video"} item and the prompt text, assistant content the answer text."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, f"training export {path} does not exist (run the assemble stage first)")
    out: list[Conversation] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            conv = _parse_line(line, path.parent, lineno)
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise BadInput(f"{path}:{lineno}: malformed conversation record ({type(exc).__name__}: {exc})") from exc
        if not conv.frames and not conv.video:
            raise BadInput(f"{path}:{lineno}: record {conv.id!r} has neither 'frames' nor 'video'")
        if not conv.prompt or not conv.answer:
            raise BadInput(f"{path}:{lineno}: record {conv.id!r} has an empty prompt or answer")
        out.append(conv)
        if limit is not None and len(out) >= limit:
            break
    if not out:
        raise BadInput(f"{path}: no training records")
    return out


def conversations_from_table(table: str | Path, dataset_dir: str | Path,
                             limit: int | None = None) -> list[Conversation]:
    """Training records straight from ``dataset/train.parquet`` (prompt/target through ``qa_format``, the same text
    the export writes) — used when no conversation export is present."""
    import polars as pl

    from fourdpqa.qa_format import format_prompt, format_target

    df = pl.read_parquet(table)
    if limit is not None:
        df = df.head(limit)
    base = Path(dataset_dir)
    out = [Conversation(rec["id"], format_prompt(rec), format_target(rec),
                        tuple(str(base / f) for f in rec.get("frames") or ()),
                        str(base / rec["video"]) if rec.get("video") else None, str(rec.get("answer_format") or ""))
           for rec in df.iter_rows(named=True)]
    if not out:
        raise BadInput(f"{table}: no training rows")
    return out


def load_training_set(data_root: str | Path, export: str | Path | None = None,
                      limit: int | None = None, seed: int = 0) -> tuple[list[Conversation], Path]:
    """The conversation export (``export`` or the default path) if present, else ``dataset/train.parquet``;
    at most ``limit`` records, a seeded sample (:func:`sample_conversations`)."""
    root = Path(data_root)
    path = Path(export) if export is not None else root / DEFAULT_EXPORT
    if path.is_file() or export is not None:
        return sample_conversations(read_conversations(path), limit, seed), path
    table = root / TRAIN_TABLE
    if not table.is_file():
        raise FileNotFoundError(errno.ENOENT, f"no training data: neither {path} nor {table} exists (run the assemble stage)")
    return sample_conversations(conversations_from_table(table, root / "dataset"), limit, seed), table


def micro_batch_indices(n: int, batch_size: int, micro_step: int, seed: int) -> list[int]:
    """Example indices of micro-batch ``micro_step``: a fresh seeded permutation per epoch, so the order depends
    only on (seed, step) and a resumed run sees exactly the batches the uninterrupted one would."""
    start = micro_step * batch_size
    idx = []
    for pos in range(start, start + batch_size):
        epoch, k = divmod(pos, n)
        idx.append(int(numbered_rng(seed, epoch).permutation(n)[k]))
    return idx


def sample_conversations(conversations: list[Conversation], limit: int | None, seed: int) -> list[Conversation]:
    """At most ``limit`` conversations, a seeded sample spread over the whole set (not its first rows, which come
    from the first videos), in their original order."""
    if limit is None or limit >= len(conversations):
        return conversations
    keep = np.sort(numbered_rng(seed, 1).choice(len(conversations), limit, replace=False))
    return [conversations[i] for i in keep]


class BalancedOrder:
    """The balanced data order over ``conversations``: position p (0, 1, 2, ...) of the example stream belongs to
    format ``formats[p % F]`` (F formats, in sorted order), the r-th draw of that format (r = p // F) to its answer
    class ``r % C`` (C classes), and that class's k-th draw (k = r // C) is item ``k % n`` of the class's seeded
    permutation number ``k // n``. Minority classes are therefore revisited more often; every position is a pure
    function of (seed, p), so a resumed run sees the same examples."""

    def __init__(self, conversations: list[Conversation], seed: int):
        groups: dict[str, dict[str, list[int]]] = {}
        for i, c in enumerate(conversations):
            groups.setdefault(c.answer_format, {}).setdefault(c.answer_class, []).append(i)
        self.formats = sorted(groups)
        self.classes = {f: [groups[f][k] for k in sorted(groups[f])] for f in self.formats}
        self.seed = seed

    @lru_cache(maxsize=256)  # noqa: B019 (one order per training run; positions are read in sequence)
    def _perm(self, f: int, c: int, cycle: int) -> np.ndarray:
        items = self.classes[self.formats[f]][c]
        return np.asarray(items)[numbered_rng(self.seed, f, c, cycle).permutation(len(items))]

    def __getitem__(self, position: int) -> int:
        f = position % len(self.formats)
        r = position // len(self.formats)
        classes = self.classes[self.formats[f]]
        c, k = r % len(classes), r // len(classes)
        n = len(classes[c])
        return int(self._perm(f, c, k // n)[k % n])


def balanced_batch_indices(order: BalancedOrder, batch_size: int, micro_step: int) -> list[int]:
    """Example indices of micro-batch ``micro_step`` in the balanced order."""
    return [order[p] for p in range(micro_step * batch_size, (micro_step + 1) * batch_size)]
