"""A plan job's PostgreSQL role needs no write access to the state: with SELECT on the backend's
tables and INSERT/UPDATE/DELETE on `locks` and `drift` only (what docs/STATE.md and the CI examples
tell to grant), `plan` and `drift` run, and the state itself cannot be written with it. The real
CLI, a real PostgreSQL, the sandbox.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.pgcluster import fresh_schema

psycopg = pytest.importorskip("psycopg")


def _run(root: Path, conninfo: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RECONCILER_", "PG"))}
    env.update(RECONCILER_PG_CONN_STR=conninfo, RECONCILER_CACHE_DIR="off", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "reconciler", "-C", str(root / "specs"), "--sandbox", *args],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_plan_and_drift_run_with_a_read_only_role(tmp_path: Path, pg_conninfo: str) -> None:
    schema = fresh_schema()
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "settings.yaml").write_text(f"kind: Settings\nname: default\nspec:\n  backend: {{type: pg, schema: {schema}}}\n")
    (specs / "t.jsonl").write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                                                     {"role": "assistant", "content": f"a{i}"}]}) + "\n"
                                           for i in range(12)))
    (specs / "main.yaml").write_text("kind: File\nname: t\nspec: {path: t.jsonl}\n")
    first = _run(tmp_path, pg_conninfo, "apply", "--auto-approve")
    assert first.returncode == 0, first.stdout + first.stderr

    role = f"planner_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
        conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
        conn.execute(f"GRANT INSERT, UPDATE, DELETE ON {schema}.locks, {schema}.drift TO {role}")
    reader = pg_conninfo.replace("user=postgres", f"user={role} password=pw")

    plan = _run(tmp_path, reader, "plan", "--detailed-exitcode")
    assert plan.returncode == 0 and "No changes" in plan.stdout, plan.stdout + plan.stderr
    drift = _run(tmp_path, reader, "drift")
    assert drift.returncode == 0, drift.stdout + drift.stderr

    (specs / "main.yaml").write_text("kind: File\nname: t2\nspec: {path: t.jsonl}\n")
    refused = _run(tmp_path, reader, "apply", "--auto-approve")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stdout + refused.stderr
    assert "permission denied for table journal" in refused.stderr, refused.stderr
    with psycopg.connect(pg_conninfo, autocommit=True) as conn:
        states = conn.execute(f"SELECT serial, data FROM {schema}.states").fetchall()
    assert len(states) == 1 and "File.t2" not in states[0][1]
