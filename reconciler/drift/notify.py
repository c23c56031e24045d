"""Webhook notifications: sent only when drift is new or resolved since the last run.

The body is JSON with the new and resolved findings (the diff, not only counts), signed with
HMAC-SHA256 over the exact body: header `X-Reconciler-Signature: sha256=<hex>`. What the last run
saw is kept beside the state file (`<state>.drift.json`), written atomically, or in the state
backend when it keeps it (pg: the drift table). Findings count as told only once the webhook
answered 2xx: a failed delivery leaves them to the next run (`remember_unsent`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.bounded import MAX_STATE_BYTES, RefusedFile, read_regular
from reconciler.drift.findings import DriftReport
from reconciler.errors import ApiError
from reconciler.secrets import register_url_secrets
from reconciler.state.files import atomic_write, ensure_dir

__all__ = ["DriftDelta", "delta_since_last_run", "display_url", "remember", "remember_unsent", "send_webhook",
           "sign"]


@dataclass(frozen=True)
class DriftDelta:
    new: list[dict[str, Any]]
    resolved: list[dict[str, Any]]

    @property
    def changed(self) -> bool:
        return bool(self.new or self.resolved)


def memory_path(state_file: Path) -> Path:
    return state_file.with_name(state_file.name + ".drift.json")


def _key(finding: dict[str, Any]) -> str:
    """`Finding.key()` of a finding's dict form."""
    return f"{finding.get('address')}|{finding.get('category')}|{finding.get('attribute')}"


def _parse(text: str | None) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(findings last delivered, new findings whose delivery failed) from the memory's text."""
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}, {}
    if not isinstance(data, dict):
        return {}, {}

    def mapping(key: str) -> dict[str, dict[str, Any]]:
        value = data.get(key)
        return {k: v for k, v in value.items() if isinstance(v, dict)} if isinstance(value, dict) else {}

    return mapping("findings"), mapping("unsent")


def _read(state_file: Path, store: Any) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    if hasattr(store, "read_drift"):
        return _parse(store.read_drift())
    try:  # a regular file of a bounded size only (a PR may commit a link to /dev/zero there)
        return _parse(read_regular(memory_path(state_file), MAX_STATE_BYTES).decode("utf-8"))
    except (OSError, ValueError, RefusedFile):
        return {}, {}


def delta_since_last_run(report: DriftReport, state_file: Path, store: Any = None) -> DriftDelta:
    """What is new or resolved since the findings last delivered. `store`: a state backend that
    keeps the drift memory itself (pg: `read_drift`); else the file beside the state.

    A finding whose delivery failed and that is gone by now was never told: it is sent as new and
    resolved at once, so the news of what happened in between is not lost."""
    before, unsent = _read(state_file, store)
    now = {f.key(): f.to_dict() for f in report.active()}
    missed = {k: v for k, v in unsent.items() if k not in now and k not in before}
    new = [now[k] for k in sorted(set(now) - set(before))] + [missed[k] for k in sorted(missed)]
    resolved = [before[k] for k in sorted(set(before) - set(now))] + [missed[k] for k in sorted(missed)]
    return DriftDelta(new, resolved)


def _write(data: dict[str, Any], state_file: Path, store: Any) -> None:
    if hasattr(store, "write_drift"):
        store.write_drift(json.dumps(data))
        return
    path = memory_path(state_file)
    ensure_dir(path.parent)
    atomic_write(path, json.dumps(data).encode("utf-8"))


def remember(report: DriftReport, state_file: Path, store: Any = None) -> None:
    """This run's findings are the ones delivered (or nobody asked to be told): the next run's
    news is measured from them."""
    _write({"generated_at": report.generated_at, "findings": {f.key(): f.to_dict() for f in report.active()}},
           state_file, store)


def remember_unsent(delta: DriftDelta, state_file: Path, store: Any = None) -> None:
    """A delivery failed: the findings last delivered stay as they were (so the next run sends the
    same news again), and the new findings it carried are kept as unsent, so one that is gone by
    the next run is still told (`delta_since_last_run`)."""
    before, unsent = _read(state_file, store)
    unsent.update({_key(f): f for f in delta.new})
    _write({"findings": before, "unsent": unsent}, state_file, store)


def display_url(url: str) -> str:
    """The webhook URL as it may be printed: scheme and host only. Webhook URLs often carry their
    credential in the path or query (Slack: /services/T…/B…/<token>) and CI logs are not private."""
    from urllib.parse import urlsplit

    register_url_secrets(url)
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the webhook URL"
    rest = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{host}{port}{rest}"


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def send_webhook(url: str, report: DriftReport, delta: DriftDelta, secret: str | None, *,
                 timeout: float = 10.0) -> int:
    import httpx

    # httpx logs the URL it posts to (--debug): its credential-bearing parts are masked there too.
    register_url_secrets(url)
    body = json.dumps({
        "event": "reconciler.drift",
        "sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "summary": report.summary_line(),
        "in_sync": report.in_sync,
        "has_drift": report.has_drift,
        "has_errors": report.has_errors,
        "new": delta.new,
        "resolved": delta.resolved,
    }, sort_keys=True).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "reconciler-drift"}
    if secret:
        headers["X-Reconciler-Signature"] = sign(body, secret)
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ApiError(f"webhook {display_url(url)} could not be reached: {type(exc).__name__}") from None
    if response.status_code >= 300:
        raise ApiError(f"webhook {display_url(url)} answered {response.status_code}", status=response.status_code)
    return response.status_code
