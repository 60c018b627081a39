"""The house rules, checked: the import graph between packages is acyclic, the domain library imports without
Dagster, DVC or MLflow, every declared dependency is imported and every import is declared, and no stage pulls in
the model stack (or even numpy) before it has work to do."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import networkx as nx

from fourdpqa.fingerprint import imported_names
from fourdpqa.stages import stage_list

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("fourdpqa", "schemas", "assets", "dagster_project", "benchmarks")
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _modules(packages=PACKAGES):
    for pkg in packages:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            yield f, ".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _unit(module: str) -> str:
    """Graph node: a top-level package, or a first-level module / sub-package of fourdpqa."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "fourdpqa" and len(parts) > 1 else parts[0]


def test_import_graph_between_packages_is_acyclic():
    graph = nx.DiGraph()
    for path, module in _modules():
        for name in imported_names(path, module, (*PACKAGES, "tests")):
            if _unit(module) != _unit(name):
                graph.add_edge(_unit(module), _unit(name))
    assert list(nx.simple_cycles(graph)) == []
    assert "tests" not in graph  # nothing outside tests/ imports from tests/
    # the library never imports the drivers' packages
    assert not any(nx.has_path(graph, u, d) for u in graph if u.startswith(("fourdpqa", "schemas"))
                   for d in ("assets", "dagster_project") if d in graph)


# None in sys.modules is how Python spells "not installed": imports fail, importlib.util.find_spec returns None
BLOCKER = """
import sys
for name in ('dagster', 'dvc', 'mlflow'):
    sys.modules[name] = None
"""


def test_the_domain_library_imports_without_dagster_dvc_or_mlflow():
    modules = [m for path, m in _modules(("fourdpqa", "schemas")) if not m.endswith("__main__")]
    code = BLOCKER + f"import importlib\nfor m in {modules!r}:\n    importlib.import_module(m)\nprint('ok')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=600)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


def _third_party_imports() -> set[str]:
    """Top-level names imported by the project and its tests (dev dependencies are used by tests only)."""
    found = set()
    for path, _ in _modules((*PACKAGES, "tests")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.add(node.module.split(".")[0])
    local = {p.stem for d in ("tests", "benchmarks") for p in (ROOT / d).rglob("*.py")} | {
        p.name for p in (ROOT / "tests").iterdir() if p.is_dir()}  # sibling imports of scripts and test helpers
    return {m for m in found if m not in sys.stdlib_module_names and m not in PACKAGES and m != "tests"
            and m not in local}


def _distribution(requirement: str) -> str:
    return requirement.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip().lower()


def test_every_dependency_is_imported_and_every_import_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_distribution(r) for r in project["dependencies"]}
    extras = {_distribution(r) for reqs in project["optional-dependencies"].values() for r in reqs}
    # run as commands, not imported: dvc, the Dagster UI, pytest and its plugins, `accelerate launch` for multi-GPU
    # training and lmms-eval on GPU machines (README); tifffile is imageio's TIFF plugin
    # antlr4-python3-runtime is pinned for Dagster's asset-selection parser (DVC, which needs another, has its own venv)
    tools = {"dagster-webserver", "pytest", "pytest-xdist", "pytest-timeout", "accelerate", "lmms-eval",
             "tifffile", "antlr4-python3-runtime"}
    top_of = {}  # import name -> distribution
    for name, dists in metadata.packages_distributions().items():
        for d in dists:
            top_of.setdefault(name.lower(), set()).add(d.lower().replace("_", "-"))
    imports = _third_party_imports()
    def dists(module: str) -> set[str]:  # an extra that is not installed here maps by the usual naming
        return top_of.get(module.lower(), {module.lower().replace("_", "-")})

    used = {d for m in imports for d in dists(m)}
    undeclared = sorted(m for m in imports if not dists(m) & (declared | extras))
    assert undeclared == []
    unused = sorted(d for d in declared | extras if d not in used | tools)
    assert unused == []


HEAVY = ("transformers", "torch", "mlflow", "dagster", "polars", "pydantic", "peft", "datasets", "numpy")


def _loaded_after(code: str) -> set[str]:
    probe = code + f"\nimport sys\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=ENV, timeout=300)
    return set(ast.literal_eval(proc.stderr.strip().splitlines()[-1]))


def test_generate_help_loads_neither_pydantic_nor_numpy():
    """The documented fast path (`python -m fourdpqa generate --help` in well under 1.5 s)."""
    code = ("import sys, runpy\nsys.argv = ['fourdpqa', 'generate', '--help']\n"
            "try:\n    runpy.run_module('fourdpqa', run_name='__main__')\nexcept SystemExit:\n    pass")
    assert _loaded_after(code) == set()


def test_no_stage_module_imports_the_model_stack_or_an_orchestrator():
    """Every stage's module (what its --help and its run import first) together: transformers, MLflow and Dagster
    load only inside the functions that train, run a model or record a run."""
    modules = [s.module for s in stage_list.STAGES]
    loaded = _loaded_after("import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules))
    assert not loaded & {"transformers", "mlflow", "dagster", "peft", "datasets"}, loaded
