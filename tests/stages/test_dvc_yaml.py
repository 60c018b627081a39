"""One stage list: dvc.yaml is generated from it (drift fails here), and `dvc dag` equals the Dagster asset graph
collapsed to stages (same nodes, same edges)."""

from __future__ import annotations

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


def _dvc_edges() -> set[tuple[str, str]]:
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:  # edges point from a stage to the stage it depends on
        return {(v.addressing, u.addressing) for u, v in repo.index.graph.edges()}


def _asset_edges(repo: dg.RepositoryDefinition) -> tuple[set[str], set[tuple[str, str]]]:
    graph = repo.asset_graph
    group = {k: graph.get(k).group_name for k in graph.get_all_asset_keys()}
    edges = {(group[p], group[k]) for k in group for p in graph.get(k).parent_keys if group[p] != group[k]}
    return set(group.values()), edges


def test_dvc_dag_equals_the_asset_graph():
    nodes, edges = _asset_edges(defs().get_repository_def())
    assert nodes == {s.name for s in stage_list.pipeline()}
    assert edges == _dvc_edges()
    assert edges == {(up, s.name) for s in stage_list.pipeline() for up in s.upstream}
