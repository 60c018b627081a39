"""Oracle-2 must share no code with the generator: importing it loads none of the generator's modules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GENERATOR = ("fourdpqa.motion", "fourdpqa.labels", "fourdpqa.questions", "fourdpqa.sampling", "fourdpqa.prompts",
             "fourdpqa.tracks", "fourdpqa.geometry", "fourdpqa.scene", "fourdpqa.oracle", "fourdpqa.qa_format")


def loaded_modules(module: str) -> set[str]:
    """Every module a fresh interpreter holds after ``import <module>``."""
    code = f"import sys, {module}; print('\\n'.join(sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, check=True)
    return set(out.stdout.split())


def generator_modules(loaded: set[str]) -> list[str]:
    return sorted(m for m in loaded if any(m == g or m.startswith(g + ".") for g in GENERATOR))


def test_oracle2_imports_none_of_the_generators_modules():
    loaded = loaded_modules("fourdpqa.oracle2")
    assert "fourdpqa.oracle2.measure" in loaded
    assert generator_modules(loaded) == []


def test_the_import_probe_sees_a_generator_module_when_one_is_imported():
    assert generator_modules(loaded_modules("fourdpqa.labels")) == ["fourdpqa.labels"]
