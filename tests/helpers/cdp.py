"""Drive headless Chromium through the DevTools protocol (websocket-client), so tests click and type on a page
the way a person does, fully offline."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import websocket

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """``with Browser(tmp) as b: b.goto(url); b.eval("document.title")``."""

    def __init__(self, profile: Path, timeout: float = 60.0):
        self.profile, self.timeout, self._id = profile, timeout, 0

    def __enter__(self) -> "Browser":
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", "--window-size=1200,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = self.profile / "DevToolsActivePort"
        self._wait(port_file.exists, "Chromium's DevTools port")
        port = port_file.read_text().split()[0]
        self._wait(lambda: self._targets(port), "a page target")
        page = next(t for t in self._targets(port) if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=self.timeout, suppress_origin=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.ws.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)

    @staticmethod
    def _targets(port: str) -> list[dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                return [t for t in json.load(r) if t["type"] == "page"]
        except OSError:
            return []

    def _wait(self, ready, what: str) -> None:
        end = time.monotonic() + self.timeout
        while not ready():
            if time.monotonic() > end:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(0.1)

    def send(self, method: str, **params: Any) -> dict:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    def eval(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression (promises awaited)."""
        out = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in out:
            raise RuntimeError(f"{expression}: {out['exceptionDetails']}")
        return out["result"].get("value")

    def goto(self, url: str, ready: str = "document.body && document.body.dataset.ready === '1'") -> None:
        self.send("Page.navigate", url=url)
        self.wait_for(ready)

    def wait_for(self, expression: str) -> None:
        self._wait(lambda: bool(self.eval(expression)), expression)

    def press(self, key: str) -> None:
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, text=key if kind == "keyDown" else "")
