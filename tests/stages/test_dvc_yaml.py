"""One stage list: dvc.yaml is generated from it (drift fails here), and `dvc dag` equals the Dagster asset graph
collapsed to stages (same nodes, same edges)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import dagster as dg

from dagster_project.definitions import defs
from fourdpqa.stages import dvc_yaml, stage_list

ROOT = Path(__file__).resolve().parents[2]


def test_dvc_yaml_is_the_rendering_of_the_stage_list():
    assert (ROOT / "dvc.yaml").read_text(encoding="utf-8") == dvc_yaml.render(ROOT / "params.yaml"), \
        "dvc.yaml drifted from fourdpqa/stages/stage_list.py: run `python -m fourdpqa dvc-yaml`"


def test_code_deps_are_the_import_closure():
    deps = dvc_yaml.stage_entry(stage_list.get("qa"), "data")["deps"]
    assert {"data/scenes", "data/tracks", "fourdpqa/questions/camera.py", "fourdpqa/params.py", "schemas/qa.py",
            "fourdpqa/stages/protocol.py"} <= set(deps)
    assert "fourdpqa/train.py" not in deps and "fourdpqa/stages/dvc_yaml.py" not in deps


def _dvc_dag() -> tuple[set[str], set[tuple[str, str]]]:
    """Nodes and edges of `dvc dag --dot` on the repository (DVC runs as its own tool, next to this interpreter)."""
    dvc = Path(sys.executable).parent / "dvc"
    dot = subprocess.run([str(dvc), "dag", "--dot"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    edges = {tuple(re.findall(r'"([^"]+)"', line)) for line in dot.splitlines() if "->" in line}
    nodes = {m for line in dot.splitlines() if "->" not in line for m in re.findall(r'"([^"]+)"', line)}
    return nodes, edges


def _asset_edges(repo: dg.RepositoryDefinition) -> tuple[set[str], set[tuple[str, str]]]:
    graph = repo.asset_graph
    group = {k: graph.get(k).group_name for k in graph.get_all_asset_keys()}
    edges = {(group[p], group[k]) for k in group for p in graph.get(k).parent_keys if group[p] != group[k]}
    return set(group.values()), edges


def test_dvc_dag_equals_the_asset_graph():
    nodes, edges = _asset_edges(defs().get_repository_def())
    assert nodes == {s.name for s in stage_list.pipeline()}
    assert (nodes, edges) == _dvc_dag()
    assert edges == {(up, s.name) for s in stage_list.pipeline() for up in s.upstream}


def test_assemble_depends_on_the_validate_limits_it_selects_under_only():
    from fourdpqa.params import Params
    from fourdpqa.stages import assemble
    from fourdpqa.stages.manifest import item_fingerprint

    def fp(**validate) -> str:
        params = Params(validate={**validate})
        return item_fingerprint(assemble.STAGE, params, "assemble", {})

    base = fp()
    assert fp(blind_alpha=0.05) == base and fp(blind_margin=0.2) == base  # re-checked, not rebuilt
    assert fp(min_group_size=10) == base
    assert fp(max_option_ratio=1.2) != base and fp(phash_max_distance=9) != base
    deps = dvc_yaml.stage_entry(stage_list.get("assemble"), "data")["params"]
    assert "validate" not in deps and "validate.yes_share_low" in deps
