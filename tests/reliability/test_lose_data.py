"""Faults that used to lose good outputs (issue 25.1-4), each tried on a small real data root after a good run:

* a rerun that hits a full disk (a real ``RLIMIT_FSIZE``: ``np.save`` then writes short, without errno) is an
  environment failure: the stage exits 1, nothing is quarantined, every previous output stays byte-identical;
* a rerun whose inputs turned bad (every raw video truncated) quarantines them and keeps their last good scenes;
* an empty source root, while another source is still there, is refused like a missing one;
* the prune of a CLI run never deletes the temporaries of a writer that holds its item's lock (a Dagster step).
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from filelock import FileLock

from fourdpqa.layout import Layout
from fourdpqa.params import load_params
from fourdpqa.quarantine import list_quarantined
from fourdpqa.stages import tracks
from fourdpqa.stages.protocol import item_lock, prune
from tests.helpers.small_root import VIDEOS, digests, lost
from tests.helpers.small_root import write_small_params as _write_params

ROOT = Path(__file__).resolve().parents[2]
SOURCE = {"name": "procedural", "kind": "kubric"}


def _limited(stage: str, params: Path, limit_bytes: int) -> subprocess.CompletedProcess:
    """``python -m fourdpqa <stage>`` with files capped at ``limit_bytes`` (what ``ulimit -f`` sets)."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", "fourdpqa", stage, "--params", str(params)], cwd=ROOT,
                          preexec_fn=cap, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(("stage", "change", "folder"), [
    # a new caption cache folder changes every scene's settings: all three are rebuilt (depth.npy is 32 KiB)
    ("standardize", {"standardize": {"sources": [{**SOURCE, "options": {"caption_cache_dir": "elsewhere"}}]}}, "scenes"),
    ("tracks", {"tracks": {"queries_per_video": 24}}, "tracks"),  # every npz is rewritten
])
def test_a_full_disk_fails_the_stage_and_keeps_every_output(root, ledger, stage, change, folder):
    if change.get("standardize"):
        change["standardize"]["sources"][0]["root"] = str(root / "data" / "raw" / "procedural")
    before = digests(root / "data" / folder)
    proc = _limited(stage, _write_params(root, **change), 16 * 1024)
    cost = lost(before, root / "data" / folder)
    handled = (proc.returncode == 1 and "cannot write" in proc.stderr and "Traceback" not in proc.stderr
               and not list_quarantined(root / "data", stage) and cost == 0)
    ledger.record(stage, f"disk full (RLIMIT_FSIZE 16 KiB) during a rerun of {stage}", handled=handled, lost=cost,
                  kind="lose data")
    assert handled, proc.stderr[-3000:]
    assert not [p for p in (root / "data" / folder).rglob("*") if ".tmp-" in p.name]
    assert subprocess.run([sys.executable, "-m", "fourdpqa", stage, "--params", str(root / "params.yaml")],
                          cwd=ROOT, capture_output=True).returncode == 0  # with room again, the rerun completes


def test_every_raw_video_truncated_after_a_good_run_keeps_the_last_good_scenes(root, capsys, ledger):
    from fourdpqa.__main__ import main

    scenes = Layout(root / "data").scenes
    before = digests(scenes)
    for vid in VIDEOS:
        png = root / "data" / "raw" / "procedural" / vid / "rgba_00001.png"
        png.write_bytes(png.read_bytes()[:50])
    code = main(["standardize", "--params", str(root / "params.yaml")])
    err = capsys.readouterr().err
    cost = lost(before, scenes)
    handled = code == 1 and "3 of 3" in err and cost == 0 and len(list_quarantined(root / "data", "standardize")) == 3
    ledger.record("standardize", "every raw video truncated after a good run", handled=handled, lost=cost,
                  kind="lose data")
    assert handled, err
    assert main(["tracks", "--params", str(root / "params.yaml")]) == 0  # downstream still has its scenes


def test_an_empty_source_root_is_refused_while_another_source_remains(root, capsys, ledger):
    from fourdpqa.__main__ import main

    data = root / "data"
    extra = data / "raw" / "extra"
    shutil.copytree(data / "raw" / "procedural" / VIDEOS[0], extra / "extra_00000")
    sources = [{**SOURCE, "root": str(data / "raw" / "procedural")},
               {"name": "extra", "kind": "kubric", "root": str(extra)}]
    params = _write_params(root, standardize={"sources": sources})
    assert main(["standardize", "--params", str(params)]) == 0
    before = digests(data / "scenes")
    for entry in extra.iterdir():  # the drive is unmounted: its mount point is an empty folder
        shutil.rmtree(entry)
    code = main(["standardize", "--params", str(params)])
    err = capsys.readouterr().err
    cost = lost(before, data / "scenes")
    handled = code == 1 and "'extra'" in err and "no videos" in err and cost == 0 and err.count("standardize:") == 1
    ledger.record("standardize", "empty source root beside a good one", handled=handled, lost=cost, kind="lose data")
    assert handled, err


def test_prune_leaves_the_temporaries_of_a_writer_holding_its_lock(root, ledger):
    """A Dagster step writes ``proc_00001`` (its lock held, its staging folder and a temporary file present) while
    the CLI runs the whole stage: the prune keeps them; the CLI waits for the lock and then finishes the video."""
    params = load_params(root / "params.yaml")
    out = Layout(root / "data").tracks
    staging = out / "proc_00001.tmp-dagster"
    staging.mkdir()
    (staging / "proc_00001.npz").write_bytes(b"half written")
    partial = out / "proc_00001.npz.tmp-dagster"
    partial.write_bytes(b"half written")
    orphan = out / "proc_00002.npz.tmp-killed"  # a killed run's temporary: nobody holds proc_00002's lock
    orphan.write_bytes(b"left behind")
    # the step's lock, held by this test and released from another thread (as another process would)
    lock = FileLock(item_lock(tracks.STAGE, params, VIDEOS[1]).lock_file, thread_local=False)
    lock.acquire()
    try:
        prune(tracks.STAGE, params, VIDEOS)
        kept = staging.is_dir() and partial.exists() and not orphan.exists()
        seen: dict[str, bool] = {}

        def release_later() -> None:  # the CLI run has pruned and waits for proc_00001 by now
            time.sleep(3)
            seen["kept"] = staging.is_dir() and partial.exists()
            lock.release()

        thread = threading.Thread(target=release_later)
        thread.start()
        report = tracks.run(params, None)
        thread.join()
    finally:
        if lock.is_locked:
            lock.release()
    handled = kept and seen.get("kept", False) and sorted(report.skipped) == VIDEOS and not report.quarantined
    ledger.record("tracks", "CLI prune while a partition step writes the same video", handled=handled, lost=0,
                  kind="lose data")
    assert handled, (kept, seen, report.summary())
