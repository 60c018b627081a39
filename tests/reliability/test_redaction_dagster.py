"""Secret redaction on the Dagster path (issue 14): the CLI installs it, and so does the ``pipeline`` resource that
every asset takes, so an API key in the environment reaches neither the Python logs nor Dagster's event log of a
materialization. (No ``from __future__ import annotations``: Dagster reads the asset's annotations.)"""

import logging

import dagster as dg
import pytest

from dagster_project.resources import PipelineParams

KEY = "sk-fake-4dpqa-DAGSTER-0123456789"


@pytest.fixture
def fresh_logging():
    """Each test starts without redaction installed and leaves none behind."""
    factory = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(factory)


@dg.asset
def chatty(context: dg.AssetExecutionContext, pipeline: PipelineParams) -> None:
    """Logs what a provider error might: the key, through a library logger and through Dagster's own log."""
    logging.getLogger("fourdpqa.llm").warning("request with key %s failed", KEY)
    context.log.info(f"provider said: invalid key {KEY}")


def test_api_key_is_masked_in_a_dagster_run(tmp_path, monkeypatch, caplog, fresh_logging, ledger):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    caplog.set_level(logging.INFO)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([chatty], instance=instance,
                            resources={"pipeline": PipelineParams(params_path=str(tmp_path / "params.yaml"))})
    events = " ".join(e.message for e in instance.all_logs(result.run_id))
    masked = result.success and KEY not in caplog.text and KEY not in events
    ledger.record("secrets", "api key in a log line of a Dagster run", handled=masked, lost=0)
    assert result.success and "request with key *** failed" in caplog.text and "invalid key ***" in events
    assert KEY not in caplog.text and KEY not in events


def test_every_asset_takes_the_pipeline_resource():
    """The redaction hook sits on the ``pipeline`` resource: every asset of the code location must require it."""
    from dagster_project.definitions import defs

    graph = defs.get_repository_def().asset_graph
    missing = [k.to_user_string() for k in graph.get_all_asset_keys()
               if "pipeline" not in graph.get(k).assets_def.required_resource_keys]
    assert missing == []
