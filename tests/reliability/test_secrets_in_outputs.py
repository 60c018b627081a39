"""With an API key in the environment and LLM phrasing switched on, the key appears in no output file and no log."""

from __future__ import annotations

import functools
import logging

import litellm

from fourdpqa.params import BaseParams, GenerateParams, Params, PhrasingParams, QAParams, SourceSpec, StandardizeParams
from fourdpqa.secrets import RedactingFilter
from fourdpqa.stages import generate, qa, standardize

KEY = "sk-fake-4dpqa-SECRET-0123456789"


def test_api_key_never_reaches_outputs_or_logs(tmp_path, monkeypatch, caplog, ledger):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    calls = []

    def mocked(**kwargs):
        calls.append(kwargs)
        logging.getLogger("LiteLLM").warning("request with key %s", KEY)  # a chatty provider log line
        return functools.partial(litellm.completion, mock_response="A paraphrase that drops every slot.")(**kwargs)

    monkeypatch.setattr(litellm, "completion", mocked)
    caplog.handler.addFilter(RedactingFilter())
    caplog.set_level(logging.INFO)
    p = Params(
        base=BaseParams(data_root=str(tmp_path / "data"), allowed_roots=[str(tmp_path / "data")], device="cpu"),
        generate=GenerateParams(n_videos=2, n_frames=8, width=48, height=48, max_objects=3),
        standardize=StandardizeParams(sources=[SourceSpec(name="procedural", kind="kubric", root=str(tmp_path / "data/raw/procedural"))]),
        qa=QAParams(clip_frames=8, clips_per_video=1, questions_per_clip=10),
        phrasing=PhrasingParams(model="openai/gpt-4o-mini", cache_dir=str(tmp_path / "data/cache/phrasing"), max_retries=0),
    )
    generate.run(p, None)
    standardize.run(p, None)
    assert len(qa.run(p, None).done) == 2
    assert calls, "phrasing must have called the LLM"
    leaked = [f for f in (tmp_path / "data").rglob("*") if f.is_file() and KEY.encode() in f.read_bytes()]
    ledger.record("secrets", "api key in environment during an LLM-phrased run", handled=not leaked and KEY not in caplog.text, lost=0)
    assert leaked == [] and KEY not in caplog.text and "request with key" in caplog.text
