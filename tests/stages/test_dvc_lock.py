"""The DVC hash of a stage output folder, read from dvc.lock and DVC's cache as real DVC writes them: returned only
while the lock describes the folder as it is on disk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from fourdpqa.stages.dvc_lock import dvc_md5

DVC = Path(sys.executable).parent / "dvc"


def _dataset(repo: Path, manifest: bytes) -> Path:
    folder = repo / "data" / "dataset"
    (folder / "_manifest").mkdir(parents=True)
    (folder / "train.parquet").write_bytes(b"rows")
    (folder / "_manifest" / "assemble.json").write_bytes(manifest)
    return folder


def _lock_from_dvc_add(repo: Path) -> str:
    """`dvc add` hashes the folder and caches its listing; its entry becomes the assemble stage's out in dvc.lock."""
    for args in (["init", "--no-scm", "-q"], ["add", "-q", "data/dataset"]):
        subprocess.run([str(DVC), *args], cwd=repo, check=True, capture_output=True)
    (out,) = yaml.safe_load((repo / "data" / "dataset.dvc").read_text())["outs"]
    out["path"] = "data/dataset"
    (repo / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": {"assemble": {
        "cmd": "python -m fourdpqa assemble", "outs": [out]}}}))
    return out["md5"]


def test_the_lock_hash_holds_until_the_folder_changes(tmp_path):
    folder = _dataset(tmp_path, b'{"files": {"train.parquet": "1"}}')
    assert dvc_md5(folder) is None  # no dvc.lock yet
    md5 = _lock_from_dvc_add(tmp_path)
    assert md5.endswith(".dir") and dvc_md5(folder) == md5
    assert dvc_md5(tmp_path / "data") is None  # a folder the lock does not list
    # rebuilt outside dvc repro with the same file count and size: the manifest differs from DVC's cached listing
    (folder / "_manifest" / "assemble.json").write_bytes(b'{"files": {"train.parquet": "2"}}')
    assert dvc_md5(folder) is None
    (folder / "_manifest" / "assemble.json").write_bytes(b'{"files": {"train.parquet": "1"}}')
    assert dvc_md5(folder) == md5
    (folder / "extra.json").write_bytes(b"")  # one more file: the lock's nfiles no longer match
    assert dvc_md5(folder) is None
