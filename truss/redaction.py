"""Secret scrubbing for audit payloads and log lines. No model imports: logging loads this before apps."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

# Exact keys and suffixes whose values never reach the audit log or the logs.
_SECRET_KEYS = {
    "client_secret",
    "secret",
    "password",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "code_verifier",
    "assertion",
    # private JWK members (RFC 7518 §6.2.2, §6.3.2, §6.4)
    "d",
    "p",
    "q",
    "dp",
    "dq",
    "qi",
    "k",
    "oth",
}
_SECRET_SUFFIXES = ("_secret", "_password", "_token")


def _is_secret(key: str) -> bool:
    key = key.lower()
    return key in _SECRET_KEYS or key.endswith(_SECRET_SUFFIXES)


def redact(value: Any) -> Any:
    """A copy of `value` with every secret-named member replaced by a marker."""
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if _is_secret(str(k)) and v not in (None, "") else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


_TEXT_PATTERNS = [
    (re.compile(r"(truss_sk_[A-Za-z0-9]{8})[A-Za-z0-9_\-]+"), r"\1…"),
    (re.compile(r"\bory_(at|rt|ac|ht)_[A-Za-z0-9_\-.]+"), r"ory_\1_[redacted]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9_\-.=+/]+"), r"\1 [redacted]"),
    (
        re.compile(
            r"(?i)\b(client_secret|password|secret|refresh_token|access_token|id_token|code_verifier)"
            r"([\"']?\s*[=:]\s*[\"']?)[^\s&\"',}]+"
        ),
        r"\1\2[redacted]",
    ),
]


def redact_text(text: str) -> str:
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Scrubs API keys, tokens and secrets from every log line (installed in settings.LOGGING)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix here
            return True
        scrubbed = redact_text(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        return True
