"""API keys come from the environment only; this module keeps their values out of logs and outputs."""

from __future__ import annotations

import logging
import os
import re
from typing import Any

_SECRET_NAME = re.compile(r"(API_KEY|_TOKEN|_SECRET|PASSWORD)$", re.IGNORECASE)
MASK = "***"


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names look like credentials (long enough to be real)."""
    env = os.environ if environ is None else environ
    return sorted({v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= 8}, key=len, reverse=True)


def redact(text: str, environ: dict[str, str] | None = None) -> str:
    """``text`` with every credential value from the environment replaced by ``***``."""
    for value in secret_values(environ):
        text = text.replace(value, MASK)
    return text


def redact_record(record: logging.LogRecord) -> None:
    """Mask credential values in a record's message, arguments and exception text (a provider error may quote
    the key)."""
    try:
        record.msg = redact(record.getMessage())
        record.args = None
    except (TypeError, ValueError):  # a malformed call: logging reports it when the record is formatted
        pass
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))


class RedactingFilter(logging.Filter):
    """Logging filter that masks credential values in every record (message and arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install_log_redaction() -> None:
    """Mask credentials in every log record created from now on, whatever logger or handler takes it (the CLI's,
    Dagster's run and event logs, a library's): the process-wide record factory redacts each record as it is
    made. Idempotent; the CLI and the Dagster resources both call it."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacting", False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        redact_record(record)
        return record

    redacting_factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)
