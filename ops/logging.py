"""Structured logs: one JSON object per line (LOG_FORMAT=json), with secrets masked in every record."""
from __future__ import annotations

import json
import logging
import re

SECRET_PATTERNS = [
    re.compile(r"(Bearer\s+)[A-Za-z0-9._\-]+", re.IGNORECASE),
    re.compile(r"\b(slk_[A-Za-z0-9]+_)[A-Za-z0-9_\-]+"),  # partner API keys: keep the public prefix only
    re.compile(r"\b(0x)[0-9a-fA-F]{64}\b"),  # private keys (and 32-byte hashes: masking a hash is harmless)
    re.compile(r"(key[\w\s\"':=-]{0,24}?)(?<![0-9a-fA-F])[0-9a-fA-F]{64}\b", re.IGNORECASE),  # ... written without 0x
    # secret=, password: and headers such as APCA-API-KEY-ID / APCA-API-SECRET-KEY (Alpaca's credentials)
    re.compile(r"([\w-]*(?:secret|password|passphrase|api[_-]?key|private[_-]?key)[\w-]*[\"']?\s*[:=]\s*[\"']?)"
               r"[^\s\"',}]+", re.IGNORECASE),
    re.compile(r"(://[^/\s:@]*:)[^/\s@]+(?=@)"),  # a password in a URL's userinfo (redis://:pw@host)
    re.compile(r"(://[^/\s]+/v\d+/)[A-Za-z0-9_-]+"),  # a hosted RPC provider's key in the path (Infura /v3/<key>)
]


def redact(text: str) -> str:
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***", text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Masks the message and the traceback. A formatter renders exc_info itself, after every filter has run,
    unless exc_text is already set: so the traceback is rendered here, masked, into exc_text. exc_info stays for
    handlers that need the exception object."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "task_id", "actor"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        exc = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else "")
        if exc:
            entry["exc"] = redact(exc)
        return json.dumps(entry, ensure_ascii=False)
