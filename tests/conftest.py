"""Shared fixtures. The sandbox fixture starts the real sandbox HTTP server in-process on a free
port (see reconciler.sandbox.testing)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Every CLI run of the suite (in-process or a subprocess, which inherits this) caches loaded spec
# sets in one throw-away folder, never in the user's ~/.cache: the cache is on, as for users, so
# every test that edits a spec and runs again also checks that an edit is never served stale.
os.environ.setdefault("RECONCILER_CACHE_DIR", tempfile.mkdtemp(prefix="reconciler-test-cache-"))

pytest_plugins = ["tests.pgcluster"]  # pg_cluster / pg_conninfo: a throw-away PostgreSQL per session

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "tests" / "contract"  # our own copy of the API contract: nothing outside the clone is read
OPENAPI = CONTRACT / "openai-fine-tuning.openapi.yaml"
ERRORS_OPENAPI = CONTRACT / "openai-errors.supplement.openapi.yaml"

ADMIN_KEY = "sk-admin-test-0123456789abcdef"
PROJECT_KEY = "sk-proj-test-0123456789abcdef"


@pytest.fixture
def sandbox():
    from reconciler.sandbox.testing import run_sandbox

    with run_sandbox() as handle:
        yield handle
