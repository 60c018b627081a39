"""Review page and human check: the page renders in headless Chromium with one card per sampled QA, its frames and
its (hidden until answered) key; served by the review server, a reviewer's clicks and key presses land in
answers.jsonl and give the human-label agreement per type."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path

import polars as pl
import pytest

from fourdpqa.review import agreement, sample_for_review, write_review
from fourdpqa.review.server import ReviewState, make_server
from tests.helpers.cdp import CHROMIUM, Browser
from tests.helpers.dataset_data import small_params, toy_oracle, write_data_root

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")


@pytest.fixture(scope="module")
def assembled(tmp_path_factory):
    """One assembled synthetic dataset for the module (these tests only read it; replaces conftest's per-test one)."""
    from fourdpqa.assemble import assemble

    params = small_params(write_data_root(tmp_path_factory.mktemp("review") / "data"))
    return params, assemble(params, oracle=toy_oracle)


def render(page: Path, tmp_path: Path) -> tuple[str, Path]:
    """(DOM after load, screenshot path) from headless Chromium, fully offline."""
    shot = tmp_path / "review.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
           "--window-size=1200,2400", "--virtual-time-budget=5000", f"--screenshot={shot}", "--dump-dom", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, shot


def test_sample_covers_every_type_and_split(assembled):
    params, result = assembled
    df = pl.concat([result.train, result.benchmark])
    sample = sample_for_review(df, 2, seed=3)
    groups = df.select("split", "question_name", "answer_format").unique().height
    assert sample.height == 2 * groups
    assert sample_for_review(df, 2, seed=3)["id"].to_list() == sample["id"].to_list()


@needs_chromium
def test_review_page_renders_cards_images_and_answers(assembled, tmp_path):
    params, result = assembled
    page = write_review(params.data / "dataset", params.data / "review", per_type=1, seed=0)
    html_text = page.read_text()
    srcs = re.findall(r'<img src="([^"]+)"', html_text)
    assert srcs and all(not s.startswith(("/", "http")) for s in srcs)  # relative: opens from disk anywhere
    assert all((page.parent / s).exists() for s in srcs)
    dom, shot = render(page, tmp_path)
    sample = sample_for_review(pl.concat([result.train, result.benchmark]), 1, seed=0)
    status = re.search(r'<p id="status" data-loaded="(\d+)" data-total="(\d+)">', dom)
    assert status and status.group(1) == status.group(2) == str(len(srcs))  # every frame image decoded
    cards = re.findall(r'<div class="card[^"]*" id="([^"]+)"', dom)
    assert sorted(cards) == sorted(sample["id"].to_list())
    assert "not recording" in dom  # opened from disk: answers cannot be stored, and the page says so
    for r in sample.iter_rows(named=True):
        card = dom[dom.index(f'id="{r["id"]}"'):].split('<div class="card', 1)[0]
        assert f'<span class="answer">{r["answer"]}</span>' in card
        assert card.count("<img ") >= 1 and r["frames"][0].rsplit("/", 1)[1] in card
        if r["answer_format"] == "mc":
            correct = re.search(r'<li class="correct">([A-D])\. ', card)
            assert correct and correct.group(1) == r["answer"]
            assert card.index('<span class="answer">') > card.index('<div class="key">')  # hidden until answered
    assert shot.exists() and shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 10_000
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "review_page.png")


def planned_answer(card: dict, i: int) -> str:
    """What the scripted reviewer answers on the i-th card: right on even cards, wrong on odd ones, unsure on
    the 5th."""
    if i == 5:
        return "unsure"
    if card["answer_format"] == "mc":
        return card["answer"] if i % 2 == 0 else "ABCD"[("ABCD".index(card["answer"]) + 1) % 4]
    if card["answer_format"] == "yn":
        return card["answer"] if i % 2 == 0 else {"yes": "no", "no": "yes"}[card["answer"]]
    return "agree" if i % 2 == 0 else "disagree"


SHORTCUT = {"unsure": "u", "yes": "y", "no": "n", "agree": "g", "disagree": "x"}


@pytest.fixture
def served(assembled, tmp_path):
    """(review state, base URL) of a review server on a free port, answers in the test's own folder."""
    params, _ = assembled
    write_review(params.data / "dataset", params.data / "review", per_type=1, seed=0)
    state = ReviewState(params.data, params.data / "review", tmp_path / "answers.jsonl")
    server = make_server(state, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@needs_chromium
def test_a_reviewer_answers_in_the_browser_and_gets_agreement_per_type(served, tmp_path):
    state, url = served
    with Browser(tmp_path / "profile") as browser:
        browser.goto(url + "/")
        ids = browser.eval("Array.from(document.querySelectorAll('.card')).map(c => c.id)")
        cards = [state.by_id[i] for i in ids]
        plan = {c["id"]: planned_answer(c, i) for i, c in enumerate(cards)}
        for i, card in enumerate(cards):
            given = plan[card["id"]]
            if i < 8:  # keyboard on the card the page brings up next, clicks for the rest
                assert browser.eval("document.querySelector('.card.current').id") == card["id"]
                browser.press(SHORTCUT.get(given, given.lower()))
            else:
                browser.eval(f"document.getElementById({card['id']!r}).querySelector('button[data-answer=\"{given}\"]').click()")
            browser.wait_for(f"document.getElementById({card['id']!r}).dataset.given === {given!r}")
        browser.wait_for(f"document.getElementById('bar').dataset.answered === '{len(cards)}'")
        logged = [json.loads(line) for line in (tmp_path / "answers.jsonl").read_text().splitlines()]
        assert [(e["id"], e["answer"]) for e in logged] == list(plan.items())
        assert all(isinstance(e["seconds"], float) for e in logged)
        browser.goto(url + "/")  # a reload restores every answer from the server
        assert browser.eval("document.getElementById('bar').dataset.answered") == str(len(cards))
        assert browser.eval("document.querySelectorAll('.card.revealed').length") == len(cards)
    expected: dict[str, list[int]] = {}
    for c in cards:
        row = expected.setdefault(c["question_name"], [0, 0])
        if plan[c["id"]] != "unsure":
            row[1] += 1
            row[0] += plan[c["id"]] in (c["answer"], "agree")
    got = state.agreement()
    assert {k: [v["agree"], v["answered"] - v["unsure"]] for k, v in got["per_type"].items()} == expected
    assert got["overall"]["answered"] == len(cards) and got["overall"]["unsure"] == 1
    assert got["minutes_per_100"] is not None


def test_the_server_refuses_unknown_cards_bad_answers_and_files_outside_the_dataset(served):
    state, url = served
    card = next(iter(state.by_id.values()))

    def post(body: dict) -> tuple[int, str]:
        req = urllib.request.Request(url + "/api/answers", json.dumps(body).encode(),
                                     {"Content-Type": "application/json", "X-Review-Token": state.token})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def get(path: str) -> int:
        try:
            with urllib.request.urlopen(url + path, timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post({"id": "nope", "answer": "A"}) == (400, "unknown card id 'nope'")
    status, why = post({"id": card["id"], "answer": "maybe"})
    assert status == 400 and "is not one of" in why
    assert post({"id": card["id"], "answer": "unsure", "seconds": 3})[0] == 204
    assert get("/review/index.html") == 200 and get("/dataset/" + card["frames"][0]) == 200
    assert get("/qa/" + card["video_id"] + ".parquet") == 404 and get("/review/../qa/x.parquet") == 404
    assert state.log.latest() == {card["id"]: {"id": card["id"], "answer": "unsure", "seconds": 3.0}}


def test_agreement_counts_the_last_answer_and_keeps_unsure_apart():
    records = [{"id": "a", "question_name": "depth", "answer_format": "yn", "answer": "yes", "options": ["yes", "no"]},
               {"id": "b", "question_name": "depth", "answer_format": "yn", "answer": "no", "options": ["yes", "no"]},
               {"id": "c", "question_name": "depth", "answer_format": "yn", "answer": "no", "options": ["yes", "no"]},
               {"id": "d", "question_name": "metric_speed", "answer_format": "numeric", "answer": "1.5", "options": []}]
    answers = {"a": {"answer": "yes", "seconds": 4.0}, "b": {"answer": "yes", "seconds": 8.0},
               "c": {"answer": "unsure", "seconds": 6.0}, "d": {"answer": "agree", "seconds": 5.0}}
    got = agreement(records, answers)
    assert got["per_type"]["depth"] == {"answered": 3, "agree": 1, "unsure": 1, "agreement": 0.5}
    assert got["per_type"]["metric_speed"]["agreement"] == 1.0
    assert got["overall"] == {"answered": 4, "agree": 2, "unsure": 1, "agreement": round(2 / 3, 4)}
    assert got["median_seconds"] == 5.5 and got["minutes_per_100"] == 9.2


def _request(url: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, str]:
    req = urllib.request.Request(url, body, headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def test_the_server_records_only_its_own_page_and_only_valid_payloads(served, ledger):
    """Issue 25.17: a cross-origin text/plain POST (what any web page can send without asking) was recorded and
    ``seconds: 1e999`` stored as Infinity. Now: Host, Origin, content type and the page's token are checked, and the
    payload field by field; the page the server hands out carries the token and records as before."""
    state, url = served
    card = next(iter(state.by_id.values()))
    ok = {"Content-Type": "application/json", "X-Review-Token": state.token}
    good = json.dumps({"id": card["id"], "answer": "unsure", "seconds": 2}).encode()
    port = url.rsplit(":", 1)[1]
    cases = [
        ("cross-origin text/plain POST", good, {"Content-Type": "text/plain", "Origin": "http://evil.example"}, 403),
        ("cross-origin POST with the token", good, {**ok, "Origin": "http://evil.example"}, 403),
        ("DNS-rebound Host", good, {**ok, "Host": f"evil.example:{port}"}, 403),
        ("POST without the page's token", good, {"Content-Type": "application/json"}, 403),
        ("POST with a wrong token", good, {**ok, "X-Review-Token": "guess"}, 403),
        ("text/plain POST with the token", good, {**ok, "Content-Type": "text/plain"}, 415),
        ("seconds 1e999", b'{"id": "%s", "answer": "unsure", "seconds": 1e999}' % card["id"].encode(), ok, 400),
        ("seconds Infinity", b'{"id": "%s", "answer": "unsure", "seconds": Infinity}' % card["id"].encode(), ok, 400),
        ("seconds NaN", b'{"id": "%s", "answer": "unsure", "seconds": NaN}' % card["id"].encode(), ok, 400),
        ("negative seconds", json.dumps({"id": card["id"], "answer": "unsure", "seconds": -4}).encode(), ok, 400),
        ("seconds true", json.dumps({"id": card["id"], "answer": "unsure", "seconds": True}).encode(), ok, 400),
        ("an extra field", json.dumps({"id": card["id"], "answer": "unsure", "note": "x"}).encode(), ok, 400),
        ("answer not a string", json.dumps({"id": card["id"], "answer": ["unsure"]}).encode(), ok, 400),
        ("body larger than 4 KiB", b" " * 5000, ok, 413),
    ]
    for case, body, headers, status in cases:
        got, why = _request(url + "/api/answers", body, headers)
        handled = got == status and not state.log.latest()
        ledger.record("review", f"review server: {case}", handled=handled, lost=0)
        assert handled, (case, got, why)
    status, _ = _request(url + "/api/answers", None, {"Host": f"evil.example:{port}"})
    assert status == 403  # a rebound page cannot read the answers either
    page = _request(url + "/review/index.html", None, {})[1]
    assert f'<meta name="review-token" content="{state.token}">' in page
    assert _request(url + "/api/answers", good, ok)[0] == 204
    assert state.log.latest() == {card["id"]: {"id": card["id"], "answer": "unsure", "seconds": 2.0}}
