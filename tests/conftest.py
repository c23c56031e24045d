"""Shared fixtures. The sandbox fixture starts the real sandbox HTTP server in-process on a free
port (see reconciler_sandbox.testing)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Every CLI run of the suite (in-process or a subprocess, which inherits this) caches loaded spec
# sets in one throw-away folder, never in the user's ~/.cache: the cache is on, as for users, so
# every test that edits a spec and runs again also checks that an edit is never served stale.
os.environ.setdefault("RECONCILER_CACHE_DIR", tempfile.mkdtemp(prefix="reconciler-test-cache-"))

# Every sandbox of the suite starts on one fixed day, whatever day the suite runs: the platforms'
# end dates (2027-01-06: no new OpenAI job; 2027-01-14: gpt-4o/4.1 fine-tunes stop answering) are
# behaviour the sandbox has, so a suite on the wall clock would change its answers as those days
# pass. Tests about the end dates start their own sandbox at the day they need (now=...). The
# built-in `--sandbox` of CLI runs (in-process or a child, which inherits this) starts there too.
SUITE_DAY = "2026-12-01T00:00:00Z"
os.environ.setdefault("RECONCILER_SANDBOX_NOW", SUITE_DAY)


def _pin_sandbox_clock() -> None:
    import datetime as dt
    import functools

    import reconciler_sandbox as sandbox_package
    import reconciler_sandbox.testing as sandbox_testing

    start = dt.datetime.fromisoformat(SUITE_DAY.replace("Z", "+00:00")).timestamp()
    original = sandbox_package.run_sandbox

    @functools.wraps(original)
    def run_sandbox(*args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("now") is None:
            kwargs["now"] = start
        return original(*args, **kwargs)

    sandbox_package.run_sandbox = run_sandbox
    sandbox_testing.run_sandbox = run_sandbox


_pin_sandbox_clock()

pytest_plugins = ["tests.pgcluster"]  # pg_cluster / pg_conninfo: a throw-away PostgreSQL per session

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "tests" / "contract"  # our own copy of the API contract: nothing outside the clone is read
OPENAPI = CONTRACT / "openai-fine-tuning.openapi.yaml"
ERRORS_OPENAPI = CONTRACT / "openai-errors.supplement.openapi.yaml"

ADMIN_KEY = "sk-admin-test-0123456789abcdef"
PROJECT_KEY = "sk-proj-test-0123456789abcdef"


@pytest.fixture
def sandbox():
    from reconciler_sandbox.testing import run_sandbox

    with run_sandbox() as handle:
        yield handle
