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


def test_editing_the_answer_extractor_leaves_standardize_up_to_date(tmp_path, monkeypatch):
    """Issue 27.6: the VLM captioner inherited the paraphraser, which put answers.py (and metrics, qa_format,
    paraphrase_check, phrasing) into standardize's import closure, so an edit of the answer extractor
    re-standardized every video. Run through the stage protocol on a copy of the code."""
    from fourdpqa.params import load_params
    from fourdpqa.stages import generate, standardize
    from tests.helpers.params_file import TINY_RUN, write_params_file

    code = tmp_path / "code"
    for pkg in ("fourdpqa", "schemas"):
        shutil.copytree(ROOT / pkg, code / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(fingerprint, "CODE_ROOT", code)
    params = load_params(write_params_file(tmp_path, TINY_RUN))
    generate.run(params)
    assert standardize.run(params).done == ["proc_00000"]
    for name in ("answers.py", "metrics.py", "qa_format.py", "paraphrase_check.py", "phrasing.py"):
        with open(code / "fourdpqa" / name, "a", encoding="utf-8") as fh:
            fh.write("\n# edited\n")
    assert standardize.run(params).skipped == ["proc_00000"]
    with open(code / "fourdpqa" / "llm.py", "a", encoding="utf-8") as fh:  # the captioner's own code still counts
        fh.write("\n# edited\n")
    assert standardize.run(params).done == ["proc_00000"]


def test_a_cached_digest_is_reused_only_for_the_same_file_size_and_mtime(tmp_path):
    """Issue 27.2: a file is hashed once; its digest is reused under its inode while size and mtime_ns hold (across
    a rename, as when a staged output is published), and recomputed after any rewrite or truncation."""
    import os

    cache = fingerprint.DigestCache(tmp_path / "cache.sqlite")
    f = tmp_path / "a.bin"
    f.write_bytes(b"x" * 5000)
    read = fingerprint.hashed()["bytes"]
    assert cache.digest(f) == hashlib.sha256(b"x" * 5000).hexdigest()
    assert fingerprint.hashed()["bytes"] - read == 5000
    moved = tmp_path / "published.bin"
    os.replace(f, moved)
    assert cache.digest(moved) == hashlib.sha256(b"x" * 5000).hexdigest()
    assert fingerprint.hashed()["bytes"] - read == 5000  # served from the cache
    st = moved.stat()
    with open(moved, "r+b") as fh:  # same size, new content, mtime put back: only the mtime_ns can tell ...
        fh.write(b"y")
    os.utime(moved, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # ... and it differs by one nanosecond
    assert cache.digest(moved) == hashlib.sha256(b"y" + b"x" * 4999).hexdigest()
    moved.write_bytes(b"x" * 100)  # truncated
    assert cache.digest(moved) == hashlib.sha256(b"x" * 100).hexdigest()
    again = fingerprint.DigestCache(tmp_path / "cache.sqlite")  # another process sees the same records
    before = fingerprint.hashed()["bytes"]
    assert again.digest(moved) == hashlib.sha256(b"x" * 100).hexdigest() and fingerprint.hashed()["bytes"] == before
