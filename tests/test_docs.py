"""The documents: params.yaml stays in the form ``dvc exp run -S`` writes back (no comments to lose), and docs/PARAMS.md documents
exactly its keys; no dvc.yaml dependency is an empty file (DVC warns about each, twice per stage)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _keys(tree: object, prefix: str = "") -> set[str]:
    if not isinstance(tree, dict):
        return {prefix}
    return {k for key, value in tree.items() for k in _keys(value, f"{prefix}.{key}" if prefix else key)} | (
        {prefix} if prefix else set())


def test_params_yaml_has_no_comments_and_the_doc_names_its_keys():
    text = (ROOT / "params.yaml").read_text()
    assert "#" not in text  # comments and examples live in docs/PARAMS.md (DVC's rewrite would drop them)
    doc = (ROOT / "docs" / "PARAMS.md").read_text()
    (annotated,) = re.findall(r"```yaml\n(.*?)```", doc, flags=re.S)
    assert _keys(yaml.safe_load(annotated)) == _keys(yaml.safe_load(text)), \
        "docs/PARAMS.md and params.yaml name different keys: document the new or renamed key there"


def test_no_dvc_dependency_is_an_empty_file():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    deps = {d for s in stages.values() for d in s["deps"] if not d.startswith("data/")}
    assert deps and [d for d in sorted(deps) if (ROOT / d).stat().st_size == 0] == []


def test_design_document_sections_cited_from_the_code_exist():
    """Code and pyproject cite docs/DESIGN.md by section; every cited section is a heading there."""
    design = (ROOT / "docs" / "DESIGN.md").read_text()
    headings = {line.lstrip("#").strip() for line in design.splitlines() if line.startswith("#")}
    files = [ROOT / "pyproject.toml", *(p for d in ("fourdpqa", "schemas", "assets", "dagster_project")
                                        for p in (ROOT / d).rglob("*.py"))]
    cited = {(f.relative_to(ROOT).as_posix(), m) for f in files
             for m in re.findall(r'DESIGN\.md "([^"]+)"', f.read_text(encoding="utf-8"))}
    bare = [f.relative_to(ROOT).as_posix() for f in files if re.search(r"(?<!docs/)DESIGN\.md", f.read_text())]
    assert cited and bare == []
    assert [(f, s) for f, s in sorted(cited) if not any(h.startswith(s) for h in headings)] == []
