"""The Dagster UI as a newcomer meets it: ``dagster dev`` serves every asset, check, job, sensor and schedule of the
code location (asked through its GraphQL API), materializes one video partition launched from there, and draws
the asset graph (a headless Chromium screenshot lands in test-artifacts/)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from dagster_project.definitions import defs

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "test-artifacts"

INVENTORY = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
  name location { name }
  assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks { name } } } }
  jobs { name } sensors { name } schedules { name } } } } }"""
ADD_PARTITION = """mutation($repo: RepositorySelector!, $key: String!) {
  addDynamicPartition(repositorySelector: $repo, partitionsDefName: "videos", partitionKey: $key) {
    __typename ... on PythonError { message } } }"""
LAUNCH = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on InvalidSubsetError { message } ... on RunConfigValidationInvalid { errors { message } } } }"""
STATUS = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gql(port: int, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        out = json.loads(resp.read())
    assert "errors" not in out, out["errors"]
    return out["data"]


def _wait_for_location(port: int, proc: subprocess.Popen, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "dagster dev exited"
        try:
            nodes = _gql(port, INVENTORY)["repositoriesOrError"].get("nodes")
            if nodes:
                return nodes[0]
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError("dagster dev did not serve the code location")


def _expected() -> dict[str, set]:
    """What the code location defines, read from the Definitions object in this process."""
    repo = defs().get_repository_def()
    graph = repo.asset_graph
    return {
        "assets": {k.to_user_string() for k in graph.get_all_asset_keys()},
        "checks": {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys},
        "jobs": {j.name for j in repo.get_all_jobs() if not j.name.startswith("__")},
        "sensors": {s.name for s in repo.sensor_defs},
        "schedules": {s.name for s in repo.schedule_defs},
    }


def _generate_one_video(tmp_path: Path) -> tuple[Path, str]:
    data = tmp_path / "data"
    params = {"base": {"data_root": str(data), "allowed_roots": [str(data)], "num_threads": 1},
              "generate": {"n_videos": 1, "n_frames": 4, "width": 32, "height": 32, "max_objects": 2},
              "standardize": {"sources": [{"name": "procedural", "kind": "kubric",
                                           "root": str(data / "raw" / "procedural")}]}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    from fourdpqa.params import load_params
    from fourdpqa.stages import generate

    generate.run(load_params(tmp_path / "params.yaml"), None)
    (video,) = [p.name for p in (data / "raw" / "procedural").iterdir() if p.is_dir() and not p.name.startswith("_")]
    return data, video


def _screenshot(port: int, repo: dict) -> tuple[str, Path]:
    """DOM and screenshot of the global lineage view with every group expanded (URL state ``expanded``; group ids
    are ``global@global:<group>``, or ``<repo>@<location>:<group>`` per code location), after the first-visit
    community dialog has been marked as seen."""
    _gql(port, "mutation { setNuxSeen }")
    groups = {g for ad in defs().get_repository_def().asset_graph.assets_defs for g in ad.group_names_by_key.values()}
    ids = [f"global@global:{g}" for g in sorted(groups)]
    ids += [f"{repo['name']}@{repo['location']['name']}:{g}" for g in sorted(groups)]
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dagster_asset_graph.png"
    shot.unlink(missing_ok=True)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--window-size=1600,1000", "--virtual-time-budget=20000", f"--screenshot={shot}", "--dump-dom",
           f"http://127.0.0.1:{port}/asset-groups?{urllib.parse.urlencode({'expanded': ','.join(ids)})}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    return proc.stdout, shot


@pytest.mark.slow
def test_dagster_dev_serves_everything_and_materializes_a_partition(tmp_path):
    port = _free_port()
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT)}
    dev = subprocess.Popen([str(Path(sys.executable).parent / "dagster"), "dev", "-m", "dagster_project.definitions",
                            "-h", "127.0.0.1", "-p", str(port)], cwd=tmp_path, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=open(tmp_path / "dev.log", "w"))
    try:
        data, video = _generate_one_video(tmp_path)  # while the server starts
        repo = _wait_for_location(port, dev)
        expected = _expected()
        assert {"raw_videos_procedural", "standard_scenes", "training_set", "benchmark", "trained_model", "evaluation"} <= \
            expected["assets"] and expected["checks"] and expected["schedules"] and expected["sensors"]
        served = {
            "assets": {"/".join(n["assetKey"]["path"]) for n in repo["assetNodes"]},
            "checks": {("/".join(n["assetKey"]["path"]), c["name"]) for n in repo["assetNodes"]
                       for c in (n["assetChecksOrError"].get("checks") or [])},
            "jobs": {j["name"] for j in repo["jobs"] if not j["name"].startswith("__")},
            "sensors": {s["name"] for s in repo["sensors"]},
            "schedules": {s["name"] for s in repo["schedules"]},
        }
        assert served == expected

        selector = {"repositoryLocationName": repo["location"]["name"], "repositoryName": repo["name"]}
        added = _gql(port, ADD_PARTITION, {"repo": selector, "key": video})["addDynamicPartition"]
        assert added["__typename"] == "AddDynamicPartitionSuccess", added
        params = {"selector": {**selector, "jobName": "__ASSET_JOB", "assetSelection": [{"path": ["standard_scenes"]}]},
                  "runConfigData": {},  # ad-hoc materializations execute in the run process
                  "executionMetadata": {"tags": [{"key": "dagster/partition", "value": video}]}}
        launched = _gql(port, LAUNCH, {"params": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id, status, deadline = launched["run"]["runId"], "", time.monotonic() + 300
        while status not in ("SUCCESS", "FAILURE", "CANCELED") and time.monotonic() < deadline:
            time.sleep(1)
            status = _gql(port, STATUS, {"id": run_id})["runOrError"]["status"]
        assert status == "SUCCESS", (tmp_path / "dev.log").read_text()[-3000:]
        assert json.loads((data / "scenes" / video / "scene.json").read_text())["video_id"] == video

        if CHROMIUM is None:
            pytest.skip("chromium is not installed (make browser): no asset-graph screenshot")
        dom, shot = _screenshot(port, repo)
        assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 20_000  # a drawn page, not a blank one
        assert "standard_scenes" in dom and "trained_model" in dom
    finally:
        os.killpg(dev.pid, signal.SIGTERM)
        try:
            dev.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)
