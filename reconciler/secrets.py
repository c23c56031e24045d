"""Keep credentials out of every output.

The CLI registers each key it reads; `redact` replaces any registered value (and anything that
looks like an OpenAI key) in text before it is printed, logged or written to a file.
"""

from __future__ import annotations

import logging
import re
import threading

__all__ = ["RedactingFilter", "install_log_redaction", "redact", "register_secret"]

_lock = threading.Lock()
_secrets: set[str] = set()
# sk-..., sk-proj-..., sk-admin-... : long enough not to eat ordinary words.
_KEY_PATTERN = re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}")


def register_secret(value: str | None) -> None:
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "[REDACTED]")
    return _KEY_PATTERN.sub("[REDACTED]", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    target = logger or logging.getLogger("reconciler")
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(RedactingFilter())
    for handler in logging.getLogger().handlers + target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
