"""``python -m fourdpqa review --serve``: the review page on http://127.0.0.1:<port>/ with answer recording.

A static page cannot write files, so this tiny local server (standard library only, bound to localhost) serves
the page and the dataset's frames read-only and appends each answer to ``answers.jsonl``:

* ``GET /`` -> the page; ``GET /review/...``, ``GET /dataset/...`` -> files under those folders only;
* ``GET /api/answers`` -> the last answer per card (the page restores its state on reload);
* ``POST /api/answers`` ``{"id", "answer", "seconds"}`` -> 204 once the line is on disk; 400 naming the problem
  for an unknown card or an answer the card does not offer;
* ``GET /api/agreement`` -> :func:`fourdpqa.review.answers.agreement` over the answered cards.

Only the reviewer's own browser may record: the server binds 127.0.0.1 by default; every request must name this
server in ``Host`` (a DNS-rebinding page names its own domain); a POST must come from the page itself — its
``Origin`` (when the browser sends one) is this server, its ``Content-Type`` is ``application/json`` (a cross-site
form or ``text/plain`` request cannot send that without a CORS preflight, which is never granted) and it carries the
per-server token the served page holds (``X-Review-Token``). The payload is checked field by field: a known card, an
answer it offers, ``seconds`` a finite number in [0, 86400] (``1e999`` is refused, never stored as Infinity), no other
field.
"""

from __future__ import annotations

import json
import math
import mimetypes
import secrets
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
MAX_SECONDS = 86_400.0  # one card answered within a day
TOKEN_HEADER = "X-Review-Token"
PAGE = "/review/index.html"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def answer_problem(payload: Any) -> str | None:
    """What is wrong with a POSTed answer's shape (None when it has exactly id, answer and optionally a finite,
    non-negative ``seconds``); which cards and answers exist is the state's business."""
    if not isinstance(payload, dict):
        return "body must be a JSON object"
    extra = sorted(set(payload) - {"id", "answer", "seconds"})
    if extra:
        return f"unknown field(s) {extra}"
    if not isinstance(payload.get("id"), str) or not isinstance(payload.get("answer"), str):
        return "id and answer must be strings"
    seconds = payload.get("seconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                or not math.isfinite(seconds) or not 0 <= seconds <= MAX_SECONDS):
        return f"seconds must be a finite number in [0, {MAX_SECONDS:.0f}], got {seconds!r}"
    return None


class ReviewState:
    """The cards of a written page (``<review_dir>/cards.json`` rows of the dataset) and the answer log."""

    def __init__(self, data_root: Path, review_dir: Path, answers: Path):
        self.data_root, self.review_dir = data_root.resolve(), review_dir.resolve()
        ids = json.loads((review_dir / CARDS_FILE).read_text())
        self.cards: pl.DataFrame = load_cards(data_root / "dataset", ids)
        self.by_id: dict[str, dict[str, Any]] = {r["id"]: r for r in self.cards.iter_rows(named=True)}
        self.log = AnswerLog(answers)
        self.token = secrets.token_urlsafe(24)  # handed to the page this server serves, required on every POST

    def record(self, payload: Any) -> str | None:
        """Append a valid answer; returns the problem for an invalid one."""
        problem = answer_problem(payload)
        if problem:
            return problem
        card = self.by_id.get(str(payload.get("id")))
        if card is None:
            return f"unknown card id {payload.get('id')!r}"
        answer = str(payload.get("answer"))
        if answer not in allowed_answers(card):
            return f"answer {answer!r} is not one of {list(allowed_answers(card))} for card {card['id']}"
        seconds = payload.get("seconds")
        self.log.append({"id": card["id"], "answer": answer, "seconds": None if seconds is None else float(seconds)})
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

    def _hosts(self) -> set[str]:
        port = self.server.server_address[1]
        return {f"{h}:{port}" for h in LOCAL_HOSTS}

    def _foreign(self) -> str | None:
        """Why the request does not come from this server's own page (None when it may)."""
        if self.headers.get("Host") not in self._hosts():
            return f"Host {self.headers.get('Host')!r} is not this server"
        origin = self.headers.get("Origin")
        if origin is not None and origin.removeprefix("http://") not in self._hosts():
            return f"cross-origin request from {origin!r}"
        if self.headers.get("Sec-Fetch-Site") not in (None, "same-origin", "none"):
            return "cross-site request"
        return None

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        foreign = self._foreign()
        if foreign:
            self._send(HTTPStatus.FORBIDDEN, foreign.encode(), "text/plain")
            return
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
        body = target.read_bytes()
        if path == PAGE:  # the page carries this server's token, which its answers send back
            meta = f'<meta name="review-token" content="{self.state.token}">'.encode()
            body = body.replace(b"<head>", b"<head>" + meta, 1)
        self._send(HTTPStatus.OK, body, mimetypes.guess_type(target.name)[0] or "application/octet-stream")

    def _post_problem(self) -> tuple[int, str | None]:
        """(status, problem) of a POST before its body is read: who sends it and in what form."""
        foreign = self._foreign()
        if foreign:
            return HTTPStatus.FORBIDDEN, foreign
        if not secrets.compare_digest(self.headers.get(TOKEN_HEADER, ""), self.state.token):
            return HTTPStatus.FORBIDDEN, f"missing or wrong {TOKEN_HEADER} (reload the page)"
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json"
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return HTTPStatus.BAD_REQUEST, "bad Content-Length"
        if not 0 < length <= MAX_BODY:
            return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body must be 1..{MAX_BODY} bytes"
        return HTTPStatus.OK, None

    def do_POST(self) -> None:  # noqa: N802
        if urlparse(self.path).path != "/api/answers":
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
            return
        status, problem = self._post_problem()
        if problem is None:
            try:
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])),
                                     parse_constant=_reject_constant)
                problem = self.state.record(payload)
            except ValueError as exc:
                problem = f"body is not JSON: {exc}"
            status = HTTPStatus.BAD_REQUEST
        if problem:
            self._send(status, problem.encode(), "text/plain")
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
