"""A throw-away PostgreSQL cluster for tests: initdb into a temporary folder, the server listening
on a unix socket in that folder and on a free TCP port on 127.0.0.1, stopped (and the folder
removed) at the end of the session.

Use the `pg_conninfo` fixture (a session-scoped conninfo string, `host=127.0.0.1 port=N
dbname=postgres user=postgres`); `pg_cluster` gives the `PgCluster` itself (restart, stop). Import
it from a conftest or a test module:

    from tests.pgcluster import pg_cluster, pg_conninfo  # noqa: F401  (pytest fixtures)

Tests are skipped, with the reason, only when no PostgreSQL binaries exist on this machine (CI
installs them: see .ci/run). Running as root, initdb and pg_ctl run as the `postgres` user (via
`runuser -u postgres --`) in a folder made theirs: PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PgCluster", "find_bindir", "fresh_schema", "pg_cluster", "pg_conninfo", "start_cluster"]

START_TIMEOUT = 120  # seconds: the machine is shared and loaded


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: `pg_config --bindir`, /usr/lib/postgresql/*/bin, or PATH."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=True)
            candidates.append(Path(out.stdout.strip()))
        except (subprocess.SubprocessError, OSError):
            pass
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(os.path.realpath(initdb)).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgCluster:
    bindir: Path
    root: Path  # the temp folder: data/ and the socket
    port: int
    as_postgres: bool  # running as root: the server runs as the postgres user

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} dbname=postgres user=postgres connect_timeout=10"

    @property
    def socket_conninfo(self) -> str:
        return f"host={self.root} port={self.port} dbname=postgres user=postgres"

    def _run(self, *args: str, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def initdb(self) -> None:
        done = self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                         "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   f"-c full_page_writes=off -c max_connections=200")
        done = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                         "-o", options, "-w", "-t", str(START_TIMEOUT), "start")
        if done.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:] if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()} {log}")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", str(START_TIMEOUT), "stop")

    def restart(self) -> None:
        """Stop (immediate: every session is cut, as a crashed or restarted server does) and start."""
        self.stop("immediate")
        self.start()


def start_cluster() -> PgCluster:
    bindir = find_bindir()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL binaries (initdb, pg_ctl)")
    as_postgres = hasattr(os, "geteuid") and os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="reconciler-pg-"))
    if as_postgres:
        import pwd

        entry = pwd.getpwnam("postgres")
        os.chown(root, entry.pw_uid, entry.pw_gid)
        os.chmod(root, 0o700)
    cluster = PgCluster(bindir, root, _free_port(), as_postgres)
    try:
        cluster.initdb()
        cluster.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    if find_bindir() is None:
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl: pg_config --bindir, "
                    "/usr/lib/postgresql/*/bin, PATH); apt-get install postgresql")
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_conninfo(pg_cluster: PgCluster) -> str:
    return pg_cluster.conninfo


def fresh_schema() -> str:
    """A schema name no other test uses (tests share the session's cluster)."""
    return "t_" + uuid.uuid4().hex[:12]
