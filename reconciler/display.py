"""How a single value is written in human output (`fmt`) and in machine output (`plain`); shared by
the renderers and the drift findings, which build their messages with it."""

from __future__ import annotations

import json
from typing import Any

from reconciler.resources.canonical import MISSING
from reconciler.values import UNKNOWN

KNOWN_AFTER_APPLY = "(known after apply)"


def fmt(value: Any, width: int = 100) -> str:
    if value is UNKNOWN:
        return KNOWN_AFTER_APPLY
    if value is MISSING:
        return "(not set)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True,
                      default=lambda v: KNOWN_AFTER_APPLY if v is UNKNOWN else str(v))
    return text if len(text) <= width else text[: width - 3] + "..."


def plain(value: Any) -> Any:
    """`value` as JSON can hold it: values known only after apply and unset values become null."""
    if value is UNKNOWN or value is MISSING:
        return None
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
