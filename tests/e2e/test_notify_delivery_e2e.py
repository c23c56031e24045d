"""Notify, then remember: a drift finding counts as notified only once the webhook answered 2xx.

A webhook on a real socket answers from a script (500 first, then 200); the real CLI reports drift
made through the SDK against the real sandbox. A failed delivery leaves the drift memory as it was,
so the next run sends the same news; `--fail-on notify` makes the failure fail the run.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from .conftest import JOB_SPEC


class _Webhook(http.server.BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []     # status per request, in order; 200 once it runs out
    received: ClassVar[list[tuple[int, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = _Webhook.answers.pop(0) if _Webhook.answers else 200
        _Webhook.received.append((status, json.loads(body)))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    _Webhook.answers, _Webhook.received = [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def drifted(world: Any) -> Any:
    """A managed job cancelled outside reconciler: one drift finding."""
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    world.sdk().fine_tuning.jobs.cancel(world.state()["resources"]["FineTuningJob.bot"]["id"])
    return world


def _memory(world: Any) -> dict[str, Any]:
    path = world.state_file.with_name(world.state_file.name + ".drift.json")
    return json.loads(path.read_text())["findings"] if path.exists() else {}


def test_a_failed_delivery_is_sent_again_by_the_next_run(drifted: Any, webhook: str) -> None:
    _Webhook.answers = [500]
    first = drifted.run("drift", "--notify", webhook)
    assert first.exit_code == 2, first.output           # drift, as without a webhook
    assert "notification failed" in first.output and "answered 500" in first.output
    assert "sent again by the next run" in first.output
    assert _memory(drifted) == {}                        # not remembered as notified

    second = drifted.run("drift", "--notify", webhook)
    assert second.exit_code == 2 and "Notified" in second.output, second.output
    assert [status for status, _ in _Webhook.received] == [500, 200]
    failed, delivered = (body for _, body in _Webhook.received)
    assert delivered["new"] == failed["new"] and delivered["new"], delivered   # the same news, again
    assert sorted(_memory(drifted)) == sorted(f"{f['address']}|{f['category']}|{f['attribute']}"
                                              for f in delivered["new"])

    third = drifted.run("drift", "--notify", webhook)
    assert "nothing new or resolved" in third.output and len(_Webhook.received) == 2


def test_fail_on_notify_fails_the_run_and_keeps_the_report_axis(drifted: Any, webhook: str) -> None:
    _Webhook.answers = [503, 503]
    failed = drifted.run("drift", "--notify", webhook, "--fail-on", "health,notify")
    assert failed.exit_code == 1, failed.output
    assert "Error: notification failed" in failed.output and "Traceback" not in failed.output
    alone = drifted.run("drift", "--notify", webhook, "--fail-on", "notify")
    assert alone.exit_code == 1, alone.output
    assert _memory(drifted) == {}
    # delivered: the report axis decides again (health: no failed job; notify alone adds drift's default)
    assert drifted.run("drift", "--notify", webhook, "--fail-on", "health", "--fail-on", "notify").exit_code == 0
    assert drifted.run("drift", "--fail-on", "notify").exit_code == 2
    assert [status for status, _ in _Webhook.received] == [503, 503, 200]


def test_sync_remembers_only_what_was_delivered(drifted: Any, webhook: str) -> None:
    _Webhook.answers = [500]
    failed = drifted.run("sync", "--notify", webhook, "--fail-on", "notify")
    assert failed.exit_code == 1, failed.output
    assert sorted(j["status"] for j in drifted.jobs()) == ["cancelled", "validating_files"]  # it still converged
    assert _memory(drifted) == {}
    again = drifted.run("sync", "--notify", webhook, "--fail-on", "notify")
    assert again.exit_code == 0, again.output
    assert [status for status, _ in _Webhook.received] == [500, 200]
    # the sync repaired the drift it could not tell about: the next run tells it, as new and resolved
    told = _Webhook.received[1][1]
    assert told["new"] == _Webhook.received[0][1]["new"] and told["resolved"] == told["new"], told
    assert drifted.run("sync", "--notify", webhook).exit_code == 0 and len(_Webhook.received) == 2


def test_fail_on_rejects_an_unknown_part(drifted: Any) -> None:
    result = drifted.run("drift", "--fail-on", "health,everything")
    assert result.exit_code == 1 and "'everything' is not one of drift, health, any, notify" in result.output
