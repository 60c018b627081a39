import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import polars as pl

from fourdpqa import quarantine
from fourdpqa.atomic import atomic_dir, sweep_tmp, write_json, write_npy, write_parquet


def test_writes_are_byte_identical_across_runs(tmp_path):
    df = pl.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    for name in ("x", "y"):
        write_parquet(tmp_path / f"{name}.parquet", df)
        write_json(tmp_path / f"{name}.json", {"b": 1, "a": [1.0, np.float32(2)]})
        write_npy(tmp_path / f"{name}.npy", np.arange(5, dtype=np.float32))
    for ext in ("parquet", "json", "npy"):
        assert (tmp_path / f"x.{ext}").read_bytes() == (tmp_path / f"y.{ext}").read_bytes()
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": [1.0, 2.0], "b": 1}


def test_failed_directory_write_keeps_previous_version(tmp_path):
    target = tmp_path / "scene"
    with atomic_dir(target) as tmp:
        (tmp / "f.txt").write_text("v1")
    try:
        with atomic_dir(target) as tmp:
            (tmp / "f.txt").write_text("v2-partial")
            raise RuntimeError("crash mid-write")
    except RuntimeError:
        pass
    assert (target / "f.txt").read_text() == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["scene"]


def test_killed_writer_leaves_no_final_file(tmp_path):
    out = tmp_path / "big.npy"
    code = textwrap.dedent(f"""
        import os, signal, numpy as np
        from fourdpqa.atomic import atomic_path
        with atomic_path({str(out)!r}) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(b"x" * 1000)
                fh.flush()
                os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ})
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    assert sweep_tmp(tmp_path) == 1
    assert list(tmp_path.iterdir()) == []


def test_quarantine_records_and_release(tmp_path):
    quarantine.quarantine(tmp_path, "standardize", "vidé o/1", "bad depth", "/x")
    recs = quarantine.list_quarantined(tmp_path, "standardize")
    assert [(r.item_id, r.reason) for r in recs] == [("vidé o/1", "bad depth")]
    assert recs[0].path == "/x"
    quarantine.release(tmp_path, "standardize", "vidé o/1")
    assert quarantine.list_quarantined(tmp_path, "standardize") == []


def test_publish_replaces_a_folder_whole_and_restore_undoes_a_half_publish(tmp_path):
    from fourdpqa.atomic import TMP_MARK, publish_dir, restore_dir, staging_dir, sweep_siblings

    final = tmp_path / "dataset"
    final.mkdir()
    (final / "old.txt").write_text("old")
    with staging_dir(final) as staged:
        (staged / "new.txt").write_text("new")
        publish_dir(staged, final)
    assert sorted(p.name for p in final.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["dataset"]  # no staging or old copy left
    # a kill between the fallback's two renames: the previous version sits aside and the name is free
    final.rename(tmp_path / f"dataset{TMP_MARK}old")
    (tmp_path / f"dataset{TMP_MARK}abc").mkdir()  # and a half-built staging folder
    assert sweep_siblings(final) == 1 and not restore_dir(final)
    assert (final / "new.txt").read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["dataset"]
