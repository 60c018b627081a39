"""LLM faults of issue 25.11-13: a VLM caption that is not plain appearance text, an endpoint that trickles a byte
every half second (an HTTP read timeout never fires), and an unreachable caption model over several videos (one
circuit breaker per stage run, not one per video). Endpoints are local (127.0.0.1), never the network."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fourdpqa.llm import LLMClient
from fourdpqa.params import LLMCallParams, load_params
from fourdpqa.sources.captions import VLMCaptioner, fill_captions
from fourdpqa.stages import generate, standardize
from tests.helpers.llm_mock import FailingEndpoint, TricklingEndpoint
from tests.helpers.params_file import write_params_file

RED, BLUE = (220, 30, 30), (30, 30, 220)

# (case, VLM reply): each must fall back to the offline caption
BAD_CAPTIONS = [
    ("carriage return", "the red\rcar"),
    ("terminal escape (clear screen)", "the red car\x1b[2J"),
    ("bidi override U+202E", "the \u202erac der\u202c car"),
    ("zero-width joiner", "the red\u200dcar"),
    ("tab", "the red\tcar"),
    ("newline", "the red car\nthat is parked"),
    ("false motion claim", "the red car that is not moving"),
    ("motion word", "the rolling red car"),
    ("motion state", "the parked red car"),
    ("position word", "the red car on the left"),
    ("distance word", "the nearest red car"),
    ("negation", "the car without red paint"),
    ("direction word", "the red car driving forward"),
    ("over-long caption", "the " + "very " * 30 + "red car"),
    ("label missing", "the red vehicle"),
    ("empty reply", ""),
]


def _scene() -> tuple[pl.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Two 'car' objects (red, blue) in a 2-frame 32x32 video."""
    rgb = np.zeros((2, 32, 32, 3), np.uint8)
    inst = np.zeros((2, 32, 32), np.uint16)
    for oid, (x0, colour) in enumerate([(2, RED), (20, BLUE)], start=1):
        rgb[:, 4:12, x0:x0 + 8] = colour
        inst[:, 4:12, x0:x0 + 8] = oid
    objects = pl.DataFrame({"object_id": [1, 2], "category": ["car", "car"], "size_l": [1.0, 1.0],
                            "size_w": [1.0, 1.0], "size_h": [1.0, 1.0]})
    return objects, rgb, inst, np.full((2, 32, 32), 5.0, np.float32)


@pytest.mark.parametrize(("case", "reply"), BAD_CAPTIONS, ids=[c[0] for c in BAD_CAPTIONS])
def test_a_caption_that_is_not_plain_appearance_text_is_refused(tmp_path, ledger, case, reply):
    objects, rgb, inst, depth = _scene()
    cap = VLMCaptioner("gpt-4o-mini", str(tmp_path), extra_kwargs={"mock_response": reply})
    got = fill_captions(objects, rgb, inst, depth, cap)["caption"].to_list()
    offline = fill_captions(objects, rgb, inst, depth)["caption"].to_list()  # the captions without a VLM
    handled = got == offline and cap.stats["rejected"] == 2 and all(c.isprintable() for c in got)
    ledger.record("standardize", f"VLM caption: {case}", handled=handled, lost=0, kind="silently wrong")
    assert handled, got


def test_a_plain_appearance_caption_is_accepted(tmp_path):
    objects, rgb, inst, depth = _scene()
    cap = VLMCaptioner("gpt-4o-mini", str(tmp_path), extra_kwargs={"mock_response": "the dented red car"})
    out = fill_captions(objects.head(1), rgb, inst, depth, cap)["caption"].to_list()
    assert out == ["the dented red car"] and cap.stats["accepted"] == 1


def test_a_trickling_endpoint_is_cut_at_the_call_bound_and_the_budget(monkeypatch, ledger):
    """One byte every 0.5 s with ``timeout_s: 1`` and ``budget_s: 3``: before, the first call was still running at
    120 s; now each attempt ends at 1 s of wall time and nothing is sent after 3 s."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-trickle-0000")
    policy = LLMCallParams(timeout_s=1.0, budget_s=3.0, max_retries=1, backoff_s=0.0, requests_per_minute=1e6,
                           breaker_failures=100)
    with TricklingEndpoint(every_s=0.5, for_s=60) as endpoint:
        client = LLMClient("openai/gpt-4o-mini", policy, api_base=endpoint.url)
        start = time.monotonic()
        replies = [client.complete([{"role": "user", "content": f"question {i}"}]) for i in range(10)]
        elapsed = time.monotonic() - start
    handled = replies == [None] * 10 and elapsed < 3.0 + 2.0 and client.stats["skipped_budget"] >= 7
    ledger.record("qa", "endpoint trickling one byte every 0.5 s", handled=handled, lost=0, kind="hang or stall")
    assert handled, (elapsed, dict(client.stats), endpoint.hits)


@pytest.fixture(scope="module")
def uncaptioned(tmp_path_factory) -> Path:
    """Three procedural videos whose metadata, like real MOVi's, carries no captions."""
    root = tmp_path_factory.mktemp("uncaptioned")
    generate.run(load_params(write_params_file(root, generate={"n_videos": 3, "n_frames": 4, "width": 32,
                                                                "height": 32, "min_objects": 3, "max_objects": 3})))
    for meta in (root / "data" / "raw" / "procedural").glob("*/metadata.json"):
        doc = json.loads(meta.read_text())
        for inst in doc["instances"]:
            inst.pop("caption", None)
        meta.write_text(json.dumps(doc))
    return root


def test_an_unreachable_caption_model_trips_one_breaker_per_run(tmp_path, uncaptioned, monkeypatch, ledger):
    """HTTP 503 for every request, 3 videos of 3 objects: 2 failed calls trip the breaker once for the whole run
    (before: a new breaker per video, 2 calls per video); every scene gets its offline captions."""
    shutil.copytree(uncaptioned / "data", tmp_path / "data")
    raw = tmp_path / "data" / "raw" / "procedural"
    calls = {"max_retries": 0, "breaker_failures": 2, "timeout_s": 5, "backoff_s": 0, "requests_per_minute": 1e6}
    source = {"name": "procedural", "kind": "kubric", "root": str(raw),
              "options": {"caption_model": "openai/gpt-4o-mini", "caption_calls": calls,
                          "caption_cache_dir": str(tmp_path / "captions")}}
    params = load_params(write_params_file(tmp_path, standardize={"sources": [source]}))
    with FailingEndpoint(503) as endpoint:
        monkeypatch.setenv("OPENAI_API_BASE", endpoint.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-unreachable-0000")
        report = standardize.run(params)
    counts = report.counts
    handled = (endpoint.hits == 2 and len(report.done) == 3 and counts.get("caption_llm_failed") == 2
               and counts.get("caption_llm_skipped_breaker") == 9 - 2)
    ledger.record("standardize", "unreachable caption model over 3 videos", handled=handled, lost=3 - len(report.done),
                  kind="hang or stall")
    assert handled, (endpoint.hits, counts)
