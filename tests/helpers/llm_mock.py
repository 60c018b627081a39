"""LLM stand-ins for tests: a scripted phrasing model (paraphrase and verification requests get different
replies, each produced by litellm's own ``mock_response``, so reply objects are real litellm responses) and a local
endpoint that fails every request (no network: it listens on 127.0.0.1)."""

from __future__ import annotations

import abc
import http.server
import re
import threading
import time
from collections.abc import Callable

import litellm

from fourdpqa.phrasing import PROMPT, VERIFY_PROMPT

_QUESTION = re.compile(r"\n\nQuestion: (.*)\Z", re.S)
_ANSWER = re.compile(r"\nCorrect answer: (.*?)\n\n", re.S)
_COMPLETION = litellm.completion  # the real one, also when a test patches litellm.completion with a ScriptedModel
PARAPHRASE_MARK = PROMPT.split("{")[0]
VERIFY_MARK = VERIFY_PROMPT.split("{")[0]


class ScriptedModel:
    """``rewrite(question) -> paraphrase`` answers paraphrase prompts; ``verify(told_answer) -> reply`` answers
    verification prompts (default: repeats the answer it was told, as an agreeing model would)."""

    def __init__(self, rewrite: Callable[[str], str], verify: Callable[[str], str] = lambda told: told) -> None:
        self.rewrite = rewrite
        self.verify = verify
        self.prompts: list[str] = []

    def __call__(self, **kw):
        prompt = kw["messages"][-1]["content"]
        self.prompts.append(prompt)
        if prompt.startswith(VERIFY_MARK):
            reply = self.verify(_ANSWER.search(prompt).group(1))
        else:
            assert prompt.startswith(PARAPHRASE_MARK), prompt
            reply = self.rewrite(_QUESTION.search(prompt).group(1))
        return _COMPLETION(**{**kw, "mock_response": reply})


class LocalEndpoint(abc.ABC):
    """A local OpenAI-compatible endpoint on 127.0.0.1 that counts the requests reaching it (so retries hidden
    inside a client are counted too) and answers each with :meth:`reply`. Use as a context manager; ``url`` is the
    ``api_base``."""

    def __init__(self) -> None:
        self.hits = 0
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                endpoint.hits += 1
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    endpoint.reply(self)
                except OSError:  # the client gave up
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/v1"

    @abc.abstractmethod
    def reply(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        """Answer one request (its body is already read)."""

    def __enter__(self) -> LocalEndpoint:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class FailingEndpoint(LocalEndpoint):
    """Answers every request with HTTP ``status``."""

    def __init__(self, status: int = 503) -> None:
        super().__init__()
        self.status = status

    def reply(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(self.status)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        handler.wfile.write(b'{"error": {"message": "model unavailable", "type": "server_error"}}')


class TricklingEndpoint(LocalEndpoint):
    """Answers every request with HTTP 200 and then one byte every ``every_s`` seconds for ``for_s`` seconds: each
    byte resets an HTTP read timeout, so only a wall-clock bound ends the call."""

    def __init__(self, every_s: float = 0.5, for_s: float = 60.0) -> None:
        super().__init__()
        self.every_s, self.for_s = every_s, for_s

    def reply(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        n = int(self.for_s / self.every_s)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(n + 2))
        handler.end_headers()
        for _ in range(n):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(self.every_s)
