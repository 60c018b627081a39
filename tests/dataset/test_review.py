"""Review page: renders in headless Chromium with one card per sampled QA, its frames and its answer."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from fourdpqa.review import sample_for_review, write_review

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


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


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
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
    cards = re.findall(r'<div class="card" id="([^"]+)"', dom)
    assert sorted(cards) == sorted(sample["id"].to_list())
    for r in sample.iter_rows(named=True):
        card = dom[dom.index(f'id="{r["id"]}"'):].split('<div class="card"', 1)[0]
        assert f'<span class="answer">{r["answer"]}</span>' in card
        assert card.count("<img ") >= 1 and r["frames"][0].rsplit("/", 1)[1] in card
        if r["answer_format"] == "mc":
            correct = re.search(r'<li class="correct">([A-D])\. ', card)
            assert correct and correct.group(1) == r["answer"]
    assert shot.exists() and shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 10_000
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "review_page.png")
