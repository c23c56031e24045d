"""The pg backend under real processes: two working copies (two "machines") sharing one pg
workspace, a holder killed with SIGKILL, kills at action boundaries, PostgreSQL restarted mid-apply.
Duplicates are counted in the sandbox's world (jobs per reconciler_address)."""

from __future__ import annotations

import collections
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconciler.state.pg import PgStateStore
from reconciler_sandbox import routes
from tests.pgcluster import find_bindir, fresh_schema, start_cluster

from .helpers import Cli, chat_jsonl, jobs_by_address, report
from .test_crash_matrix import Killer

SPEC = """\
kind: File
name: train
spec: {path: data/train.jsonl}
""" + "".join(f"""---
kind: FineTuningJob
name: job{i}
spec: {{model: gpt-4o-mini, training_file: "${{File.train.id}}", suffix: pg-{i}}}
""" for i in range(4))

SETTINGS = "kind: Settings\nname: default\nspec:\n  backend: {type: pg, schema: %s}\n"


@dataclass
class PgCli(Cli):
    """A working copy whose Settings select the pg backend (no --state: the workspace is in pg)."""

    def argv(self, *args: str) -> list[str]:
        import sys

        return [sys.executable, "-m", "reconciler", "-C", str(self.specs), *args]


def _copy(root: Path, base_url: str, conninfo: str, schema: str) -> PgCli:
    (root / "specs" / "data").mkdir(parents=True)
    (root / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
    cli = PgCli(root, base_url, extra_env={"RECONCILER_PG_CONN_STR": conninfo})
    cli.write("main.yaml", SPEC)
    cli.write("settings.yaml", SETTINGS % schema)
    return cli


def _duplicates(sb: Any) -> int:
    by_address = jobs_by_address(sb)
    assert sorted(by_address) == [f"FineTuningJob.job{i}" for i in range(4)], by_address
    return sum(len(v) - 1 for v in by_address.values())


def _read_until(proc: Any, needle: str) -> str:
    """stderr lines of `proc` until one holds `needle` (bounded by the process ending)."""
    seen = ""
    for line in proc.stderr:
        seen += line
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} never came: {seen}")


def _wait_for_holder(store: PgStateStore, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = store.lock_info()
        if info is not None:
            return info
        time.sleep(0.05)
    raise AssertionError("the apply never took the lock")


def _gate(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Job creates wait (in the sandbox) until the returned event is set: the first apply holds
    the lock for as long as the test needs, whatever the machine's load."""
    gate = threading.Event()
    real = routes.match

    def match(method: str, path: str, compiled: Any = None) -> Any:
        template, handler, params, known = real(method, path, compiled)
        if handler is None or method != "POST" or path != "/v1/fine_tuning/jobs":
            return template, handler, params, known

        def wrapped(world: Any, req: Any) -> Any:
            gate.wait(600)
            return handler(world, req)

        return template, wrapped, params, known

    monkeypatch.setattr(routes, "match", match)
    return gate


def test_two_copies_one_proceeds_the_other_fails_naming_the_holder_or_waits(
        tmp_path: Path, pg_conninfo: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler_sandbox.testing import run_sandbox

    schema = fresh_schema()
    gate = _gate(monkeypatch)
    with run_sandbox() as sb:
        one = _copy(tmp_path / "laptop", sb.base_url, pg_conninfo, schema)
        two = _copy(tmp_path / "ci-runner", sb.base_url, pg_conninfo, schema)
        store = PgStateStore(pg_conninfo, schema, "default")
        first = one.popen("apply", "--auto-approve", "--parallelism", "2")
        holder = _wait_for_holder(store)
        assert holder.pid == first.pid and holder.operation == "apply"
        refused = two.run("apply", "--auto-approve")
        assert refused.returncode == 1, refused.stderr
        line = refused.stderr.strip()
        assert len(line.splitlines()) == 1 and "is locked by" in line and f"pid {first.pid}" in line, line
        assert "operation apply" in line and "postgres" not in line.lower().replace("postgresql session", ""), line
        waiter = two.popen("apply", "--auto-approve", "--lock-timeout", "10m")
        waiting = _read_until(waiter, "Waiting for the state lock")
        gate.set()
        out_first = first.communicate(timeout=600)
        out_waiter = waiter.communicate(timeout=600)
        assert first.returncode == 0, out_first
        assert waiter.returncode == 0, out_waiter
        assert f"pid {first.pid}" in waiting, waiting
        duplicates = _duplicates(sb)
        assert duplicates == 0
        assert one.run("plan", "--detailed-exitcode").returncode == 0
        assert two.run("plan", "--detailed-exitcode").returncode == 0
        report("pg_two_copies", {"duplicates": duplicates, "serial": store.load().serial})


def test_sigkill_of_the_holder_frees_the_lock_at_once(tmp_path: Path, pg_conninfo: str) -> None:
    from reconciler_sandbox.testing import run_sandbox

    schema = fresh_schema()
    with run_sandbox(faults={"latency_ms": 300}) as sb:
        one = _copy(tmp_path / "laptop", sb.base_url, pg_conninfo, schema)
        two = _copy(tmp_path / "ci-runner", sb.base_url, pg_conninfo, schema)
        store = PgStateStore(pg_conninfo, schema, "default")
        proc = one.popen("apply", "--auto-approve")
        _wait_for_holder(store)
        time.sleep(1.0)  # let it create something (not a timing assertion: any point will do)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        sb.clear_faults()
        # No force-unlock: the server ended the killed session and its advisory lock with it.
        # (The wait only covers the server noticing the closed socket; it is not asserted on.)
        proceeded = two.run("apply", "--auto-approve", "--lock-timeout", "2m", timeout=600)
        assert proceeded.returncode == 0, proceeded.stdout + proceeded.stderr
        assert "force-unlock" not in proceeded.stderr
        assert two.converge() >= 1
        duplicates = _duplicates(sb)
        assert duplicates == 0
        report("pg_sigkill_holder", {"duplicates": duplicates})


@pytest.fixture
def killer(monkeypatch: pytest.MonkeyPatch) -> Killer:
    k = Killer()
    monkeypatch.setattr(routes, "match", k.match)
    return k


def _kill_trial(root: Path, conninfo: str, killer: Killer, n: int, stats: collections.Counter) -> None:
    from reconciler_sandbox.testing import run_sandbox

    with run_sandbox() as sb:
        cli = _copy(root, sb.base_url, conninfo, fresh_schema())
        proc = cli.popen("apply", "--auto-approve", "--parallelism", "1")
        killer.reset(proc, n)
        proc.communicate(timeout=600)
        killer.reset(None, None)
        if proc.returncode == -signal.SIGKILL:
            stats["kills"] += 1
        cli.converge()
        stats["duplicates"] += _duplicates(sb)
        stats["trials"] += 1


BOUNDARIES = 5  # 1 upload + 4 creates


def test_sigkill_at_action_boundaries_on_pg_short(tmp_path: Path, pg_conninfo: str, killer: Killer) -> None:
    stats: collections.Counter = collections.Counter()
    for n in (1, 2, BOUNDARIES):
        _kill_trial(tmp_path / f"kill{n}", pg_conninfo, killer, n, stats)
    report("pg_crash_matrix_short", dict(stats))
    assert stats["kills"] == stats["trials"] == 3 and stats["duplicates"] == 0, stats


@pytest.mark.slow
def test_sigkill_at_every_action_boundary_on_pg(tmp_path: Path, pg_conninfo: str, killer: Killer) -> None:
    stats: collections.Counter = collections.Counter()
    for n in range(1, BOUNDARIES + 1):
        _kill_trial(tmp_path / f"kill{n}", pg_conninfo, killer, n, stats)
    report("pg_crash_matrix", dict(stats))
    assert stats["kills"] == stats["trials"] == BOUNDARIES and stats["duplicates"] == 0, stats


@pytest.mark.skipif(find_bindir() is None, reason="PostgreSQL is not installed (apt-get install postgresql)")
def test_postgres_restarted_mid_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cluster of its own (restarting the shared one would cut other tests' sessions): the apply
    stops with one line, the journal rows committed before the restart are kept, the next run
    converges with 0 duplicates."""
    from reconciler_sandbox.testing import run_sandbox

    cluster = start_cluster()
    try:
        restarted: list[int] = []
        real = routes.match

        def match(method: str, path: str, compiled: Any = None) -> Any:
            template, handler, params, known = real(method, path, compiled)
            if handler is None or method != "POST" or not path.startswith("/v1/fine_tuning/jobs") or restarted:
                return template, handler, params, known

            def wrapped(world: Any, req: Any) -> Any:
                result = handler(world, req)
                if not restarted and len(journal_rows()) >= 2:  # the upload and one create are journalled
                    restarted.append(1)
                    cluster.restart()
                return result

            return template, wrapped, params, known

        schema = fresh_schema()
        store = PgStateStore(cluster.conninfo, schema, "default")

        def journal_rows() -> list[Any]:
            import psycopg

            with psycopg.connect(cluster.conninfo, autocommit=True) as conn:
                return conn.execute(f"SELECT address FROM {schema}.journal WHERE address <> ''").fetchall()

        monkeypatch.setattr(routes, "match", match)
        with run_sandbox() as sb:
            cli = _copy(tmp_path / "copy", sb.base_url, cluster.conninfo, schema)
            broken = cli.run("apply", "--auto-approve", "--parallelism", "1", timeout=600)
            assert restarted, broken.stdout + broken.stderr
            assert broken.returncode == 1, broken.stdout + broken.stderr
            assert "Traceback" not in broken.stdout + broken.stderr
            errors = [line for line in broken.stderr.splitlines() if line.startswith("Error:")]
            assert len(errors) == 1 and "PostgreSQL" in errors[0], broken.stderr
            assert "port=" not in broken.stderr and "user=" not in broken.stderr  # no connection string
            kept = journal_rows()
            assert len(kept) >= 2, kept
            recovered = store.load()
            assert recovered.recovered_from_journal == len(kept)
            cli.converge()
            duplicates = _duplicates(sb)
            assert duplicates == 0
            report("pg_restart_mid_apply", {"journal_rows_kept": len(kept), "duplicates": duplicates})
    finally:
        cluster.stop("immediate")
        shutil.rmtree(cluster.root, ignore_errors=True)
