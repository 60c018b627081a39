"""One pipeline, two drivers: the CLI and the Dagster assets give byte-identical outputs for the same params, and
adding a video re-runs only that video (its partition) plus the dataset-level stages in both."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

import assets.standardize as standardize_assets
from assets.assemble import assembled_dataset
from assets.generate import procedural_videos
from assets.partitions import videos
from assets.qa import qa_pairs
from assets.resources import PipelineParams
from assets.tracks import point_tracks
from fourdpqa.__main__ import main
from fourdpqa.params import load_params
from fourdpqa.stages import stage_list

pytestmark = pytest.mark.slow
CLI_STAGES = ["generate", "standardize", "tracks", "qa", "assemble"]


def write_params(root: Path, n_videos: int) -> Path:
    """Relative paths, as in the repository's params.yaml: outputs must not depend on where the root lives."""
    params = {
        "base": {"data_root": "data", "allowed_roots": ["data"], "device": "cpu", "num_threads": 1},
        "generate": {"n_videos": n_videos, "n_frames": 10, "width": 64, "height": 64, "max_objects": 3},
        "tracks": {"queries_per_video": 16},
        "qa": {"clip_frames": 8, "clips_per_video": 2, "out_width": 32, "out_height": 32},
        "assemble": {"train_size": 120, "benchmark_size": 40, "benchmark_video_share": 0.4, "export_mp4": False},
    }
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def _content(path: Path) -> bytes:
    """A file's bytes; for a manifest, without the digests of the lmms-eval task (absolute paths by design)."""
    if "_manifest" not in path.parts:
        return path.read_bytes()
    manifest = json.loads(path.read_text())
    manifest["files"] = {k: v for k, v in manifest["files"].items() if "lmms_eval" not in k}
    return json.dumps(manifest, sort_keys=True).encode()


def _digests(data: Path) -> dict[str, str]:
    """Every output file except run reports, the lmms-eval task and the Dagster UI previews."""
    return {p.relative_to(data).as_posix(): hashlib.sha256(_content(p)).hexdigest()
            for p in sorted(data.rglob("*")) if p.is_file() and p.name != "_report.json"
            and not {"lmms_eval", ".locks", ".cache", "quarantine", "previews"} & set(p.relative_to(data).parts)}


def _cli(root: Path, monkeypatch, stages=CLI_STAGES) -> None:
    monkeypatch.chdir(root)
    for stage in stages:
        assert main([stage]) == 0, stage


class Dagster:
    """The asset graph on one data root, materialized in-process the way the sensor and jobs would."""

    def __init__(self, root: Path):
        self.root = root
        self.instance = dg.DagsterInstance.ephemeral()
        self.resources = {"pipeline": PipelineParams(params_path=str(root / "params.yaml"))}

    def ingest(self) -> None:
        ingest_asset, _ = standardize_assets.build(load_params(self.root / "params.yaml"))
        assert dg.materialize([procedural_videos, ingest_asset], instance=self.instance, resources=self.resources).success

    def partition(self, key: str) -> dict[str, str]:
        _, scenes = standardize_assets.build(load_params(self.root / "params.yaml"))
        result = dg.materialize([scenes, point_tracks, qa_pairs], partition_key=key, instance=self.instance,
                                resources=self.resources)
        assert result.success
        return {name: result.asset_materializations_for_node(name)[0].metadata["status"].value
                for name in ("standard_scenes", "point_tracks", "qa_pairs")}

    def dataset(self) -> None:
        assert dg.materialize([assembled_dataset], instance=self.instance, resources=self.resources).success


def test_cli_and_dagster_outputs_are_byte_identical_and_adding_a_video_redoes_only_it(tmp_path, monkeypatch):
    cli, dag = tmp_path / "cli", tmp_path / "dagster"
    for root in (cli, dag):
        root.mkdir()
        write_params(root, n_videos=4)
    _cli(cli, monkeypatch)
    monkeypatch.chdir(dag)
    d = Dagster(dag)
    d.ingest()
    keys = d.instance.get_dynamic_partitions(videos.name)
    assert keys == ["proc_00000", "proc_00001", "proc_00002", "proc_00003"]
    for key in keys:
        assert set(d.partition(key).values()) == {"done"}
    d.dataset()
    assert _digests(cli / "data") == _digests(dag / "data")

    # one more video: the CLI redoes it alone in every per-video stage, then the dataset
    write_params(cli, n_videos=5)
    write_params(dag, n_videos=5)
    before = _digests(cli / "data")
    _cli(cli, monkeypatch)
    changed = {k for k, v in _digests(cli / "data").items() if before.get(k) != v}
    per_video = {stage_list.get(s).outs[0] for s in CLI_STAGES[:4]}
    assert {k for k in changed if any(k.startswith(o + "/") for o in per_video)} <= \
        {k for k in changed if "proc_00004" in k or "_report" in k}
    assert any(k.startswith("dataset/") for k in changed)
    # Dagster: ingest registers one new partition; only it is materialized; the dataset assets follow
    monkeypatch.chdir(dag)
    d.ingest()
    assert d.instance.get_dynamic_partitions(videos.name)[-1] == "proc_00004"
    assert set(d.partition("proc_00004").values()) == {"done"}
    assert set(d.partition("proc_00000").values()) == {"skipped"}  # an old partition would be a no-op
    d.dataset()
    assert _digests(cli / "data") == _digests(dag / "data")


def test_removing_a_video_in_dagster_retires_its_partition_and_outputs(tmp_path, monkeypatch):
    write_params(tmp_path, n_videos=2)
    monkeypatch.chdir(tmp_path)
    d = Dagster(tmp_path)
    d.ingest()
    for key in ("proc_00000", "proc_00001"):
        d.partition(key)
    shutil.rmtree(tmp_path / "data" / "raw" / "procedural" / "proc_00001")
    write_params(tmp_path, n_videos=1)
    d.ingest()
    assert d.instance.get_dynamic_partitions(videos.name) == ["proc_00000"]
    data = tmp_path / "data"
    assert not (data / "scenes" / "proc_00001").exists() and not (data / "qa" / "proc_00001.parquet").exists()
    assert not (data / "tracks" / "proc_00001.npz").exists() and (data / "qa" / "proc_00000.parquet").exists()
    assert not (data / "previews" / "proc_00001").exists() and (data / "previews" / "proc_00000").is_dir()


def _tracked_bytes(data: Path) -> dict[str, bytes]:
    """Every file DVC tracks under the data root (locks and quarantine records are bookkeeping, previews are the
    Dagster UI's pictures: not outputs)."""
    return {p.relative_to(data).as_posix(): p.read_bytes() for p in sorted(data.rglob("*"))
            if p.is_file() and not {".locks", ".cache", "quarantine", "previews"} & set(p.relative_to(data).parts)}


def test_a_no_op_rerun_through_the_cli_or_dagster_leaves_every_output_byte_identical(tmp_path, monkeypatch):
    write_params(tmp_path, n_videos=2)
    _cli(tmp_path, monkeypatch, ["generate", "standardize"])
    first = _tracked_bytes(tmp_path / "data")
    assert json.loads(first["raw/procedural/_report.json"])["items"] == ["proc_00000", "proc_00001"]
    _cli(tmp_path, monkeypatch, ["generate", "standardize"])
    assert _tracked_bytes(tmp_path / "data") == first
    d = Dagster(tmp_path)
    d.ingest()
    _, scenes = standardize_assets.build(load_params(tmp_path / "params.yaml"))
    result = dg.materialize([scenes], partition_key="proc_00001", instance=d.instance, resources=d.resources)
    assert result.asset_materializations_for_node("standard_scenes")[0].metadata["status"].value == "skipped"
    assert _tracked_bytes(tmp_path / "data") == first
