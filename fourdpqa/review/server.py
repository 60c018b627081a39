"""``python -m fourdpqa review --serve``: the review page on http://127.0.0.1:<port>/ with answer recording.

A static page cannot write files, so this tiny local server (standard library only, bound to localhost) serves
the page and the dataset's frames read-only and appends each answer to ``answers.jsonl``:

* ``GET /`` -> the page; ``GET /review/...``, ``GET /dataset/...`` -> files under those folders only;
* ``GET /api/answers`` -> the last answer per card (the page restores its state on reload);
* ``POST /api/answers`` ``{"id", "answer", "seconds"}`` -> 204 once the line is on disk; 400 naming the problem
  for an unknown card or an answer the card does not offer;
* ``GET /api/agreement`` -> :func:`fourdpqa.review.answers.agreement` over the answered cards.
"""

from __future__ import annotations

import json
import mimetypes
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import polars as pl

from fourdpqa.review.answers import ANSWERS, AnswerLog, agreement, allowed_answers
from fourdpqa.review.page import CARDS_FILE, load_cards

SERVED = ("review", "dataset")  # folders under the data root the server may read
MAX_BODY = 4096


class ReviewState:
    """The cards of a written page (``<review_dir>/cards.json`` rows of the dataset) and the answer log."""

    def __init__(self, data_root: Path, review_dir: Path, answers: Path):
        self.data_root, self.review_dir = data_root.resolve(), review_dir.resolve()
        ids = json.loads((review_dir / CARDS_FILE).read_text())
        self.cards: pl.DataFrame = load_cards(data_root / "dataset", ids)
        self.by_id: dict[str, dict[str, Any]] = {r["id"]: r for r in self.cards.iter_rows(named=True)}
        self.log = AnswerLog(answers)

    def record(self, payload: dict[str, Any]) -> str | None:
        """Append a valid answer; returns the problem for an invalid one."""
        card = self.by_id.get(str(payload.get("id")))
        if card is None:
            return f"unknown card id {payload.get('id')!r}"
        answer = str(payload.get("answer"))
        if answer not in allowed_answers(card):
            return f"answer {answer!r} is not one of {list(allowed_answers(card))} for card {card['id']}"
        seconds = payload.get("seconds")
        self.log.append({"id": card["id"], "answer": answer,
                         "seconds": float(seconds) if isinstance(seconds, (int, float)) else None})
        return None

    def agreement(self) -> dict[str, Any]:
        return agreement(self.cards.iter_rows(named=True), self.log.latest())


class Handler(BaseHTTPRequestHandler):
    def __init__(self, *args: Any, state: ReviewState, **kw: Any):
        self.state = state
        super().__init__(*args, **kw)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: one line per image otherwise
        return

    def _send(self, status: int, body: bytes = b"", ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, obj: Any) -> None:
        self._send(HTTPStatus.OK, json.dumps(obj).encode())

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = unquote(urlparse(self.path).path)
        if path == "/":
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", "/review/index.html")
            self.end_headers()
        elif path == "/api/answers":
            self._json(self.state.log.latest())
        elif path == "/api/agreement":
            self._json(self.state.agreement())
        else:
            self._file(path)

    def _file(self, path: str) -> None:
        target = (self.state.data_root / path.lstrip("/")).resolve()
        allowed = any(target.is_relative_to(self.state.data_root / d) for d in SERVED)
        if not allowed or not target.is_file():
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
            return
        self._send(HTTPStatus.OK, target.read_bytes(), mimetypes.guess_type(target.name)[0] or "application/octet-stream")

    def do_POST(self) -> None:  # noqa: N802
        if urlparse(self.path).path != "/api/answers":
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            payload = json.loads(self.rfile.read(min(length, MAX_BODY)))
            problem = self.state.record(payload) if isinstance(payload, dict) else "body must be a JSON object"
        except json.JSONDecodeError as exc:
            problem = f"body is not JSON: {exc}"
        if problem:
            self._send(HTTPStatus.BAD_REQUEST, problem.encode(), "text/plain")
        else:
            self._send(HTTPStatus.NO_CONTENT)


def make_server(state: ReviewState, port: int = 8765, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server bound to ``host:port`` (port 0 = any free port; see ``server.server_address``)."""
    return ThreadingHTTPServer((host, port), partial(Handler, state=state))


def _state(data_root: Path) -> ReviewState:
    return ReviewState(data_root, data_root / "review", data_root / ANSWERS)


def recorded_agreement(data_root: str | Path) -> dict[str, Any]:
    """Human-label agreement of the answers recorded for the current page of ``data_root``."""
    return _state(Path(data_root)).agreement()


def serve(data_root: str | Path, port: int) -> None:
    """Serve ``<data_root>/review/index.html`` with answer recording until Ctrl-C."""
    state = _state(Path(data_root))
    server = make_server(state, port)
    print(f"review: answer at http://127.0.0.1:{server.server_address[1]}/ (answers -> {state.log.path}); Ctrl-C to stop")
    with server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
