"""Fingerprints: content digests independent of location, and the code digest of an import closure."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from fourdpqa import fingerprint

ROOT = Path(fingerprint.__file__).resolve().parents[1]


def test_file_digests_are_relative_and_skip_temporaries(tmp_path):
    for base in (tmp_path / "a", tmp_path / "b"):
        (base / "x").mkdir(parents=True)
        (base / "x" / "f.bin").write_bytes(b"hello")
        (base / "x" / "f.bin.tmp-123").write_bytes(b"half")
    a = fingerprint.digest_files([tmp_path / "a" / "x"], tmp_path / "a")
    assert a == fingerprint.digest_files([tmp_path / "b" / "x"], tmp_path / "b")
    assert a == {"x/f.bin": hashlib.sha256(b"hello").hexdigest()}
    assert fingerprint.json_digest({"a": 1, "b": [2]}) == fingerprint.json_digest({"b": [2], "a": 1})


def test_import_closure_follows_lazy_and_from_imports():
    files = {p.relative_to(ROOT).as_posix() for p in fingerprint.import_closure(["fourdpqa.stages.qa"])}
    assert {"fourdpqa/stages/qa.py", "fourdpqa/questions/camera.py", "fourdpqa/motion.py", "fourdpqa/params.py",
            "schemas/qa.py", "fourdpqa/__init__.py", "fourdpqa/questions/__init__.py"} <= files
    assert "fourdpqa/train.py" not in files and not any(f.startswith(("assets/", "dagster_project/")) for f in files)


def test_code_digest_changes_with_an_edit_in_the_closure_only(tmp_path):
    for pkg in ("fourdpqa", "schemas"):
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    before = fingerprint.code_digest(["fourdpqa.stages.qa"], tmp_path)
    assert before == fingerprint.code_digest(["fourdpqa.stages.qa"], ROOT)  # location-independent
    (tmp_path / "fourdpqa" / "train.py").write_text("# unrelated edit\n", encoding="utf-8")
    assert fingerprint.code_digest(["fourdpqa.stages.qa"], tmp_path) == before
    with open(tmp_path / "fourdpqa" / "questions" / "camera.py", "a", encoding="utf-8") as fh:
        fh.write("\n# edited\n")
    assert fingerprint.code_digest(["fourdpqa.stages.qa"], tmp_path) != before
