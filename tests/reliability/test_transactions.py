"""Dataset-level outputs are transactional (issue 14.3): a killed or refused assemble leaves the previous dataset,
its exports and its report whole; a validation report never vouches for a newer dataset."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from fourdpqa.layout import Layout
from fourdpqa.params import load_params
from fourdpqa.stages import assemble, generate, qa, standardize, tracks, train, validate
from fourdpqa.stages.protocol import StageFailed

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _write(root: Path, train_size: int = 120) -> Path:
    data = root / "data"
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump({
        "base": {"data_root": str(data), "allowed_roots": [str(data)], "device": "cpu"},
        "generate": {"n_videos": 4, "n_frames": 10, "width": 64, "height": 64, "max_objects": 3},
        "standardize": {"sources": [{"name": "procedural", "kind": "kubric", "root": str(data / "raw" / "procedural")}]},
        "tracks": {"queries_per_video": 16},
        "qa": {"clip_frames": 8, "clips_per_video": 2, "out_width": 32, "out_height": 32},
        "assemble": {"train_size": train_size, "benchmark_size": 40, "benchmark_video_share": 0.4},
    }))
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("transactions")
    params = load_params(_write(root))
    for mod in (generate, standardize, tracks, qa, assemble, validate):
        mod.run(params)
    return root


@pytest.fixture
def root(built, tmp_path) -> Path:
    shutil.copytree(built / "data", tmp_path / "data")
    _write(tmp_path)
    return tmp_path


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_sigkill_during_assemble_leaves_the_previous_dataset_whole(root, ledger):
    where = Layout(root / "data")
    before = _digests(where.dataset)
    params = _write(root, train_size=100)  # a different dataset
    proc = subprocess.Popen([sys.executable, "-m", "fourdpqa", "assemble", "--params", str(params)], cwd=root,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    staged: list[Path] = []
    while time.time() < deadline and not staged and proc.poll() is None:  # kill once the new split is staged
        staged = [p for p in where.root.glob("dataset.tmp-*") if (p / "train.parquet").exists()]
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    whole = _digests(where.dataset) == before
    ledger.record("assemble", "SIGKILL while the new dataset is being written", handled=bool(staged) and whole, lost=0)
    assert staged, "the kill must land while the staging folder is being filled"
    assert whole
    # the next run sweeps the staging folder and publishes the new dataset; the old report no longer vouches for it
    new = load_params(params)
    assemble.run(new)
    assert not list(where.root.glob("dataset.tmp-*")) and _digests(where.dataset) != before
    with pytest.raises(StageFailed, match="checked another dataset"):
        train.check_validated(where)


def test_refused_assemble_keeps_dataset_exports_and_report(root, monkeypatch, ledger):
    import fourdpqa.assemble
    from fourdpqa.validate import CheckResult

    where = Layout(root / "data")
    before = _digests(where.dataset)
    monkeypatch.setattr(fourdpqa.assemble, "check_answer_consistency", lambda *a, **k: CheckResult(
        "check_answer_consistency", False, True, "1 wrong answer", "100% agreement"))
    with pytest.raises(StageFailed, match="check_answer_consistency"):
        assemble.run(load_params(_write(root, train_size=100)))
    kept = _digests(where.dataset) == before and not list(where.root.glob("dataset.tmp-*"))
    ledger.record("assemble", "refused dataset (blocking check fails)", handled=kept, lost=0)
    assert kept
    train.check_validated(where)  # the previous dataset and its passing report still go together


def test_truncated_qa_tables_do_not_shrink_the_dataset(root, capsys, ledger):
    """Issue 25.2: 3 of 4 qa tables truncated, then assemble: it used to exit 0 with a 1-video dataset. The share of
    per-video inputs set aside is held to base.max_failed_share like any stage's items; the dataset is kept."""
    from fourdpqa.__main__ import main

    where = Layout(root / "data")
    before = _digests(where.dataset)
    tables = sorted(where.qa.glob("*.parquet"))
    for t in tables[:3]:
        t.write_bytes(t.read_bytes()[:200])
    code = main(["assemble", "--params", str(_write(root))])
    err = capsys.readouterr().err
    kept = _digests(where.dataset) == before
    handled = code == 1 and "3 of 4" in err and kept and not list(where.root.glob("dataset.tmp-*"))
    ledger.record("assemble", "3 of 4 qa tables truncated", handled=handled, lost=0 if kept else 1, kind="lose data")
    assert handled, err


def test_declared_outputs_dvc_removed_are_rebuilt(root, ledger):
    """Issue 25.14: DVC removes a stage's non-persisted outputs (the plots) before running it; validate then skipped
    as up to date and ``dvc repro`` failed on every rerun. A missing declared output makes the stage redo its work."""
    params = load_params(_write(root))
    plot = root / "data" / "plots" / "answers_train.csv"
    good = plot.read_bytes()
    plot.unlink()
    report = validate.run(params)
    handled = report.done == ["validate"] and plot.read_bytes() == good
    ledger.record("validate", "declared plot removed by dvc", handled=handled, lost=0, kind="hang or stall")
    assert handled, report.summary()
    assert validate.run(params).skipped == ["validate"]


def test_an_up_to_date_assemble_sweeps_leftover_staging_folders(root, ledger):
    """Issue 25.18: a ``dataset.tmp-*`` folder of a killed run stayed for good when the next run had nothing to do."""
    where = Layout(root / "data")
    leftover = where.root / "dataset.tmp-killed"
    shutil.copytree(where.dataset, leftover)
    report = assemble.run(load_params(_write(root)))
    handled = report.skipped == ["assemble"] and not leftover.exists()
    ledger.record("assemble", "leftover dataset.tmp-* of a killed run", handled=handled, lost=0)
    assert handled
