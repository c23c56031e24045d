"""The state commands on the pg backend through the real CLI: Settings switches backend only
after `state migrate`, migrate local → pg → local gives back the identical state file (lineage,
serial, previous version), history and `show --serial`, push with lineage/serial checks,
workspaces in pg. The connection string never appears in any output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.state import ResourceState, StateStore
from tests.pgcluster import fresh_schema


def _resource(address: str, rid: str) -> ResourceState:
    return ResourceState.from_dict(address, {"kind": address.split(".")[0], "id": rid, "inputs": {"n": 1},
                                             "digest": "d", "attributes": {"status": "ok"}, "depends_on": []})


class Copy:
    def __init__(self, root: Path, conninfo: str, schema: str):
        self.root, self.conninfo, self.schema = root, conninfo, schema
        (root / "specs").mkdir(parents=True, exist_ok=True)

    def settings(self, backend: str) -> None:
        (self.root / "specs" / "settings.yaml").write_text(
            f"kind: Settings\nname: default\nspec:\n  backend: {{type: {backend}, schema: {self.schema}}}\n")

    def run(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["-C", str(self.root / "specs"), *args],
                                    env={"NO_COLOR": "1", "RECONCILER_PG_CONN_STR": self.conninfo})
        assert "Traceback" not in result.output
        assert self.conninfo not in result.output and "port=" not in result.output
        return result.exit_code, result.output


@pytest.fixture
def copy(tmp_path: Path, pg_conninfo: str, monkeypatch: pytest.MonkeyPatch) -> Copy:
    monkeypatch.chdir(tmp_path)
    return Copy(tmp_path, pg_conninfo, fresh_schema())


def _local_state(root: Path, name: str = "default") -> StateStore:
    store = StateStore(root / "state" / f"{name}.json")
    state = store.load()
    state.resources["File.a"] = _resource("File.a", "file-a")
    store.write(state)
    state.resources["File.b"] = _resource("File.b", "file-b")
    store.write(state)
    return store


def test_migrate_round_trip_is_identical_and_a_switch_without_it_is_refused(copy: Copy) -> None:
    store = _local_state(copy.root)
    _local_state(copy.root, "staging")
    before = store.path.read_bytes(), store.backup_path.read_bytes()
    copy.settings("pg")
    code, text = copy.run("state", "list")
    assert code == 1 and len(text.strip().splitlines()) == 1, text
    assert "settings.yaml:4: Settings selects the pg backend but the state is still in" in text
    assert "run `reconciler state migrate --to pg` first" in text

    code, text = copy.run("state", "migrate", "--to", "pg")
    assert code == 0 and "Migrated 2 workspace(s) to the pg backend." in text, text
    assert copy.run("state", "list") == (0, "File.a\nFile.b\n")
    code, text = copy.run("state", "history", "--json")
    assert [(v["serial"], v["resources"]) for v in json.loads(text)] == [(1, 1), (2, 2)]
    code, text = copy.run("state", "show", "--serial", "1", "--json")
    assert code == 0 and sorted(json.loads(text)["resources"]) == ["File.a"]
    code, text = copy.run("workspace", "list")
    assert text == "* default\n  staging\n"
    assert copy.run("-w", "staging", "state", "list") == (0, "File.a\nFile.b\n")

    copy.settings("local")
    code, text = copy.run("state", "list")
    assert code == 1 and "run `reconciler state migrate --to local` first" in text, text
    copy.settings("pg")
    code, text = copy.run("state", "migrate", "--to", "local")
    assert code == 1 and "set spec.backend.type: local in the Settings document first" in text
    copy.settings("local")
    store.path.unlink()
    store.backup_path.unlink()
    code, text = copy.run("state", "migrate", "--to", "local")
    assert code == 0, text
    assert (store.path.read_bytes(), store.backup_path.read_bytes()) == before
    assert copy.run("state", "list") == (0, "File.a\nFile.b\n")


def test_migrate_refuses_a_target_with_another_lineage(copy: Copy) -> None:
    _local_state(copy.root)
    copy.settings("pg")
    from reconciler.state.pg import PgStateStore

    other = PgStateStore(copy.conninfo, copy.schema, "default")
    other.write(other.load())
    code, text = copy.run("state", "migrate", "--to", "pg")
    assert code == 1 and "already holds another state (lineage" in text and "nothing was migrated" in text, text


def test_push_checks_lineage_and_serial(copy: Copy, tmp_path: Path) -> None:
    copy.settings("pg")
    assert copy.run("workspace", "show") == (0, "default\n")
    from reconciler.state.pg import PgStateStore

    pg = PgStateStore(copy.conninfo, copy.schema, "default")
    state = pg.load()
    state.resources["File.a"] = _resource("File.a", "file-a")
    pg.write(state)
    pulled = tmp_path / "pulled.json"
    code, text = copy.run("state", "pull")
    pulled.write_text(text)
    pg.write(pg.load())  # serial 2: the pulled copy (serial 1) is now older
    code, text = copy.run("state", "push", str(pulled))
    assert code == 1 and "is older (serial 1)" in text, text
    code, text = copy.run("state", "push", str(pulled), "--force")
    assert code == 0 and "(serial 3)" in text, text  # a forced push is a new version on top
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({**json.loads(pulled.read_text()), "lineage": "another"}))
    code, text = copy.run("state", "push", str(foreign))
    assert code == 1 and "is another state (lineage another" in text


def test_workspaces_in_pg(copy: Copy) -> None:
    copy.settings("pg")
    assert copy.run("workspace", "new", "prod")[0] == 0
    assert copy.run("workspace", "list") == (0, "  default\n* prod\n")
    assert copy.run("workspace", "select", "default")[0] == 0
    assert copy.run("workspace", "delete", "prod") == (0, "Deleted workspace 'prod'.\n")
    assert copy.run("workspace", "list") == (0, "* default\n")


def test_no_connection_for_pg_is_one_line(copy: Copy) -> None:
    copy.settings("pg")
    result = CliRunner().invoke(cli, ["-C", str(copy.root / "specs"), "state", "list"], env={"NO_COLOR": "1"})
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: " + str(copy.root / "specs" / "settings.yaml") + ":4: the pg backend needs a database: set "
        "RECONCILER_PG_CONN_STR (key=value pairs or a postgresql:// URL) or PGHOST and the other PG* variables"]
