"""Keep credentials out of every output, and hostile text away from the terminal.

The CLI registers each key it reads; `redact` replaces any registered value (and anything that
looks like an OpenAI key) in text before it is printed, logged or written to a file. It also
hides what URLs carry as credentials (user:password@, `?token=`-like parameters, the value after a
`/token/`-like path segment, the path of a webhook URL) and shows control characters escaped
(`\\u001b`), so a string an API or a file provides cannot move the cursor, retitle the terminal,
plant a link, or reverse the rest of a line (bidi overrides).
"""

from __future__ import annotations

import logging
import re
import threading

__all__ = ["RedactingFilter", "install_log_redaction", "neutralize", "redact", "redact_url",
           "register_secret", "register_url_secrets"]

_lock = threading.Lock()
_secrets: set[str] = set()
# sk-..., sk-proj-..., sk-admin-... : long enough not to eat ordinary words.
_KEY_PATTERN = re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}")
MASK = "[REDACTED]"

# A URL as it appears in running text: up to whitespace, a quote or an angle bracket.
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>`]+")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)([^/?#]*)@")
# A query parameter whose name contains one of these words: its value is hidden.
_SENSITIVE_PARAM = re.compile(r"(?i)([?&;][^=&#;?/]*(?:token|secret|passw(?:or)?d|pwd|key|sig|auth|"
                              r"credential|session|code)[^=&#;]*=)([^&#;]+)")
# A path segment named like a credential (/token/, /api-key/, /secrets/, /sig/): the next one is.
_SENSITIVE_SEGMENT = re.compile(r"(?i)(/(?:[a-z]+[-_])?(?:token|secret|passw(?:or)?d|key|sig|signature|"
                                r"credential)s?/)([^/?#]+)")
# Segments after which a webhook URL's path is its credential (Slack /services/T/B/secret,
# Discord /api/webhooks/id/token, Teams /webhookb2/..., generic /hooks/...).
_WEBHOOK_SEGMENT = re.compile(r"(?i)(/(?:services|hooks?|webhooks?|webhookb2)/)([^?#]+)")

# Shown escaped: C0 controls but newline and tab, DEL, C1 controls, bidi embeddings/overrides/
# isolates/marks, the Unicode line/paragraph separators (a "one line" message stays one line),
# lone surrogates (JSON's "\\ud800" decodes to one; UTF-8 cannot encode it, so writing it would
# fail) and the two noncharacters XML 1.0 forbids.
_CONTROL_CLASS = ("\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069\u2028\u2029"
                  "\ud800-\udfff\ufffe\uffff")
_CONTROL = re.compile(f"[{_CONTROL_CLASS}]")
_SGR_OR_CONTROL = re.compile(f"(\x1b\\[[0-9;]*m)|[{_CONTROL_CLASS}]")


def register_secret(value: str | None) -> None:
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def register_url_secrets(url: str | None) -> None:
    """A URL that is itself a credential (a webhook): its userinfo, every path segment and query
    value of 8 characters or more are hidden wherever they appear, in any form."""
    if not url:
        return
    from urllib.parse import unquote, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        register_secret(url)
        return
    register_secret(url)
    if parts.password:
        register_secret(parts.password)
        register_secret(unquote(parts.password))
    pieces = parts.path.split("/") + [v for pair in parts.query.split("&") for v in pair.split("=", 1)[1:]]
    for piece in pieces:
        if len(piece) >= 8:
            register_secret(piece)
            register_secret(unquote(piece))


def redact_url(url: str) -> str:
    """The URL without its credentials (see the module docstring)."""
    url = _USERINFO.sub(lambda m: m.group(1) + MASK + "@", url, count=1)
    url = _SENSITIVE_PARAM.sub(lambda m: m.group(1) + MASK, url)
    url = _WEBHOOK_SEGMENT.sub(lambda m: m.group(1) + MASK, url, count=1)
    return _SENSITIVE_SEGMENT.sub(lambda m: m.group(1) + MASK, url)


def _escape(char: str) -> str:
    return f"\\u{ord(char):04x}"   # valid inside a JSON string too


def neutralize(text: str, *, keep_sgr: bool = False) -> str:
    """Control and bidi characters shown escaped (`\\u001b`). With `keep_sgr`, colour/style
    sequences (ESC [ digits m, what `click.style` writes) stay: every other sequence is broken."""
    if not _CONTROL.search(text):
        return text
    if not keep_sgr:
        return _CONTROL.sub(lambda m: _escape(m.group()), text)
    return _SGR_OR_CONTROL.sub(lambda m: m.group(1) or _escape(m.group()), text)


def redact(text: str, *, keep_sgr: bool = False) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _KEY_PATTERN.sub(MASK, text)
    if "://" in text:
        text = _URL.sub(lambda m: redact_url(m.group()), text)
    return neutralize(text, keep_sgr=keep_sgr)


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
