import logging

from fourdpqa.secrets import RedactingFilter, redact, secret_values

ENV = {"OPENAI_API_KEY": "sk-test-1234567890", "GEMINI_API_KEY": "short", "HOME": "/root", "HF_TOKEN": "hf_abcdefghij"}


def test_only_credential_like_values_are_secret():
    assert secret_values(ENV) == ["sk-test-1234567890", "hf_abcdefghij"]


def test_redact_masks_every_occurrence():
    assert redact("key=sk-test-1234567890 and hf_abcdefghij at /root", ENV) == "key=*** and *** at /root"


def test_log_records_are_masked(monkeypatch, caplog):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-ABCDEFGHIJKL")
    logger = logging.getLogger("fourdpqa.test")
    caplog.handler.addFilter(RedactingFilter())
    logger.warning("calling with %s", "sk-live-ABCDEFGHIJKL")
    assert "sk-live" not in caplog.text and "***" in caplog.text
