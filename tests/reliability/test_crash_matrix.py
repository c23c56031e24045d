"""Crash matrix: SIGKILL the apply at *every* action boundary of a mixed plan (upload, create,
cancel, replace = cancel + create, grant, revoke), then check that the next run converges with
nothing duplicated or lost, and that the state file and its backup always load.

How the kill lands deterministically: the sandbox runs in this process; `routes.match` is wrapped
so that the handler of the Nth mutating request (POST/DELETE under /v1) kills the CLI subprocess
with SIGKILL *after* the API applied the mutation and *before* the answer is sent: the nastiest
point (the world changed, the client never learnt it, nothing was journalled). Variant "before"
kills when the Nth mutating request arrives, before it is applied.

The world before the measured apply (a finished job with a shared checkpoint, two active jobs,
one uploaded file) is built once and copied for each trial (sandbox --data file + state dir).

Default run: every boundary, "after" variant, --parallelism 1 (deterministic order).
`-m slow`: both variants at --parallelism 1 and 8, plus RECONCILER_RANDOM_KILLS (default 20)
kills at random mutation counts with 30 ms latency and parallelism 8.
"""

from __future__ import annotations

import collections
import os
import random
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.state import StateStore
from reconciler_sandbox import routes

from .helpers import Cli, chat_jsonl, files, grants, jobs_by_address, plain_name, report

BASE = """\
kind: File
name: train
spec: {path: data/train.jsonl}
---
kind: FineTuningJob
name: base
spec: {model: gpt-4o-mini, training_file: "${File.train.id}", suffix: base}
"""

PHASE0 = BASE + """\
---
kind: FineTuningJob
name: old
spec: {model: gpt-4o-mini, training_file: "${File.train.id}", suffix: old}
---
kind: FineTuningJob
name: swap
spec: {model: gpt-4o-mini, training_file: "${File.train.id}", suffix: swap-v1}
---
kind: CheckpointPermission
name: share
spec:
  fine_tuned_model_checkpoint: ${FineTuningJob.base.fine_tuned_model}
  project_ids: [proj_a, proj_b]
  exclusive: true
"""

# The measured plan: upload File.extra, create FineTuningJob.new, cancel FineTuningJob.old (gone
# from the specs), replace FineTuningJob.swap (cancel + create), grant proj_c, revoke proj_a.
PHASE1 = BASE + """\
---
kind: File
name: extra
spec: {path: data/extra.jsonl}
---
kind: FineTuningJob
name: swap
spec: {model: gpt-4o-mini, training_file: "${File.train.id}", suffix: swap-v2}
---
kind: FineTuningJob
name: new
spec: {model: gpt-4o-mini, training_file: "${File.extra.id}", suffix: new}
---
kind: CheckpointPermission
name: share
spec:
  fine_tuned_model_checkpoint: ${FineTuningJob.base.fine_tuned_model}
  project_ids: [proj_b, proj_c]
  exclusive: true
"""

MUTATING = ("POST", "DELETE")


class Killer:
    """Wraps routes.match: counts mutating /v1 requests; kills `proc` at the Nth."""

    def __init__(self) -> None:
        self.real = routes.match
        self.proc: Any = None
        self.kill_at: int | None = None
        self.when = "after"
        self.count = 0
        self.seen: list[str] = []
        self.killed_on: str | None = None
        self.lock = threading.Lock()

    def reset(self, proc: Any, kill_at: int | None, when: str = "after") -> None:
        with self.lock:
            self.proc, self.kill_at, self.when, self.count, self.seen, self.killed_on = \
                proc, kill_at, when, 0, [], None

    def _kill(self, what: str) -> None:
        proc = self.proc
        self.killed_on = what
        os.kill(proc.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)

    def match(self, method: str, path: str, compiled: Any = None):
        template, handler, params, known = self.real(method, path, compiled)
        if handler is None or method not in MUTATING or not path.startswith("/v1/") or self.proc is None:
            return template, handler, params, known

        def wrapped(world, req):
            with self.lock:
                if self.proc is None or self.proc.poll() is not None:
                    raise ConnectionError("client gone")  # the server just closes the connection
                self.count += 1
                n = self.count
                self.seen.append(f"{method} {template}")
                if n == self.kill_at and self.when == "before":
                    self._kill(f"before {method} {template}")
                    raise ConnectionError("killed")
                result = handler(world, req)
                if n == self.kill_at:
                    self._kill(f"after {method} {template}")
                return result

        return template, wrapped, params, known


@pytest.fixture
def killer(monkeypatch):
    k = Killer()
    monkeypatch.setattr(routes, "match", k.match)
    return k


def _build_template(tmp: Path) -> Path:
    """specs + state + sandbox world just before the measured apply."""
    from reconciler_sandbox.testing import run_sandbox

    root = tmp / "template"
    (root / "specs" / "data").mkdir(parents=True)
    (root / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
    (root / "specs" / "data" / "extra.jsonl").write_text(chat_jsonl(topic="shipping"))
    with run_sandbox(data=root / "world" / "world.json") as sb:
        cli = Cli(root, sb.base_url)
        cli.write("main.yaml", BASE)
        cli.ok("apply", "--auto-approve")
        sb.advance(3600)  # base succeeds: its model can be shared
        cli.write("main.yaml", PHASE0)
        cli.ok("apply", "--auto-approve")
        cli.ok("plan", "--detailed-exitcode")
        sb.advance(5)  # old and swap are validating: active, so the next plan cancels them
        cli.write("main.yaml", PHASE1)
        plan = cli.ok("plan", "--detailed-exitcode", codes=(2,)).stdout
        for needle in ("File.extra", "FineTuningJob.new", "FineTuningJob.old", "FineTuningJob.swap",
                       "proj_c", "proj_a"):
            assert needle in plan, plan
    return root


def _destroy_template(template: Path, tmp: Path) -> Path:
    """PHASE1 applied: what the destroy matrix destroys."""
    from reconciler_sandbox.testing import run_sandbox

    root = tmp / "template-destroy"
    if root.exists():
        return root
    _copy(template, root)
    with run_sandbox(data=root / "world" / "world.json") as sb:
        Cli(root, sb.base_url).converge()
    return root


def _copy(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest, symlinks=True)
    return dest


def _check_converged(sb, cli: Cli) -> dict[str, int]:
    """The world equals PHASE1 with no duplicate and nothing lost; the state matches the world."""
    found = jobs_by_address(sb)
    live = {a: [j for j in js if j["status"] != "cancelled"] for a, js in found.items()}
    assert set(found) <= {"FineTuningJob.base", "FineTuningJob.old", "FineTuningJob.swap", "FineTuningJob.new"}, found
    for address in ("FineTuningJob.base", "FineTuningJob.swap", "FineTuningJob.new"):
        assert len(live.get(address, [])) == 1, (address, found[address])
    assert not live.get("FineTuningJob.old"), found["FineTuningJob.old"]  # cancelled, not lost
    assert live["FineTuningJob.swap"][0]["user_provided_suffix"] == "swap-v2", live["FineTuningJob.swap"]
    names = collections.Counter(plain_name(f) for f in files(sb))
    assert names == {"train.jsonl": 1, "extra.jsonl": 1}, names
    state = StateStore(cli.state_file).load()
    model = found["FineTuningJob.base"][0]["fine_tuned_model"]
    projects = collections.Counter(g["project_id"] for g in grants(sb, model))
    assert projects == {"proj_b": 1, "proj_c": 1}, projects
    for address in ("FineTuningJob.base", "FineTuningJob.swap", "FineTuningJob.new"):
        assert state.resources[address].id == live[address][0]["id"], address
    assert "FineTuningJob.old" not in state.resources
    file_ids = {plain_name(f): f["id"] for f in files(sb)}
    assert state.resources["File.extra"].id == file_ids["extra.jsonl"]
    assert state.resources["File.train"].id == file_ids["train.jsonl"]
    recorded = {p["project_id"] for p in state.resources["CheckpointPermission.share"].attributes["permissions"]}
    assert recorded == {"proj_b", "proj_c"}, recorded
    # no job made twice for one intent, whatever became of it (a cancelled twin still cost money)
    intents = collections.Counter((a, j["metadata"]["reconciler_digest"]) for a, js in found.items() for j in js)
    duplicates = {k: n for k, n in intents.items() if n > 1}
    assert not duplicates, duplicates
    return {"duplicates": len(duplicates)}


def _trial(template: Path, dest: Path, killer: Killer, kill_at: int | None, *, when: str = "after",
           parallelism: int = 1, faults: dict[str, Any] | None = None,
           stats: collections.Counter | None = None, saved_plan: bool = False,
           destroy: bool = False) -> dict[str, Any]:
    from reconciler_sandbox.testing import run_sandbox

    root = _copy(template, dest)
    stats = stats if stats is not None else collections.Counter()
    with run_sandbox(data=root / "world" / "world.json", faults=faults) as sb:
        cli = Cli(root, sb.base_url)
        plan_file = root / "saved.plan"
        if saved_plan:
            cli.ok("plan", "--out", str(plan_file))
            command = ["apply", str(plan_file)]
        elif destroy:
            command = ["destroy", "--auto-approve"]
        else:
            command = ["apply", "--auto-approve"]
        proc = cli.popen(*command, "--parallelism", str(parallelism))
        killer.reset(proc, kill_at, when)
        out, err = proc.communicate(timeout=120)
        seen, killed_on = list(killer.seen), killer.killed_on
        killer.reset(None, None)
        if kill_at is None:
            assert proc.returncode == 0, out + err
        store = StateStore(cli.state_file)
        state = store.load()  # the state (with the journal replayed) always loads
        stats["journal_entries_replayed"] += state.recovered_from_journal
        if store.backup_path.exists():
            store.load_backup()
            stats["backups_loaded"] += 1
        holder = store.lock_info()
        if proc.returncode == -signal.SIGKILL:
            stats["kills"] += 1
            assert holder is not None and holder.pid == proc.pid, holder
            # The lock's flock died with the process: the next run takes it over by itself and
            # says so, naming the dead holder and its pid (no force-unlock).
            taken = cli.run("plan")
            assert taken.returncode == 0, taken.stdout + taken.stderr
            assert f"pid {proc.pid}" in taken.stderr and "took over a stale state lock" in taken.stderr, taken.stderr
            assert holder.id in taken.stderr and store.lock_info() is None, taken.stderr
            stats["stale_locks_cleared"] += 1
        sb.clear_faults()
        if saved_plan and kill_at is not None:
            # the same saved plan, applied again after the crash: it completes, or is refused as
            # stale with one line - never a second job, upload or grant
            again = cli.run("apply", str(plan_file))
            assert "Traceback" not in again.stdout + again.stderr and again.returncode in (0, 1), again.stderr
            if again.returncode == 1:   # refused: as stale, in one line (after the note of a journal replayed)
                lines = [line for line in again.stderr.strip().splitlines() if not line.startswith("Recovered ")]
                assert "is stale" in again.stderr and len(lines) == 1, again.stderr
            stats[f"saved plan re-applied: exit {again.returncode}"] += 1
        if destroy:
            stats["destroys_to_converge"] += _converge_destroy(cli)
            _check_destroyed(sb, cli)
            return {"seen": seen, "killed_on": killed_on}
        stats["applies_to_converge"] += cli.converge()
        figures = _check_converged(sb, cli)
        stats["duplicates"] += figures["duplicates"]
    return {"seen": seen, "killed_on": killed_on}


def _converge_destroy(cli: Cli, tries: int = 4) -> int:
    for attempt in range(1, tries + 1):
        proc = cli.run("destroy", "--auto-approve")
        assert "Traceback" not in proc.stdout + proc.stderr and proc.returncode in (0, 1), proc.stderr
        check = cli.run("plan", "--destroy", "--detailed-exitcode")
        if proc.returncode == 0 and check.returncode == 0:
            return attempt
    raise AssertionError(f"destroy did not converge:\n{proc.stdout}{proc.stderr}")


def _check_destroyed(sb, cli: Cli) -> None:
    """Everything managed is gone: active jobs cancelled, uploads deleted, managed grants revoked."""
    found = jobs_by_address(sb)
    active = {a: [j["id"] for j in js if j["status"] in ("validating_files", "queued", "running", "paused")]
              for a, js in found.items()}
    assert not any(active.values()), active
    for address, jobs in found.items():   # and nothing was created twice
        digests = collections.Counter(j["metadata"]["reconciler_digest"] for j in jobs)
        assert max(digests.values()) == 1, (address, jobs)
    assert files(sb) == [], files(sb)
    model = found["FineTuningJob.base"][0]["fine_tuned_model"]
    assert grants(sb, model) == []
    assert StateStore(cli.state_file).load().resources == {}


def _kind(request: str) -> str:
    method, template = request.split(" ", 1)
    if template == "/v1/files":
        return "upload"
    if template.startswith("/v1/files/"):
        return "delete file"
    if template.endswith("/cancel"):
        return "cancel"
    if template.startswith("/v1/fine_tuning/jobs"):
        return "create"
    return "revoke" if method == "DELETE" else "grant"


def _boundaries(template: Path, tmp: Path, killer: Killer, parallelism: int = 1, **mode: bool) -> list[str]:
    name = "-".join(k for k, v in mode.items() if v)
    result = _trial(template, tmp / f"uninterrupted-p{parallelism}{name}", killer, None, parallelism=parallelism,
                    **mode)
    seen = result["seen"]
    kinds = collections.Counter(_kind(s) for s in seen)
    if mode.get("destroy"):   # revoke proj_b and proj_c, cancel swap and new, delete both uploads
        assert kinds == {"revoke": 2, "cancel": 2, "delete file": 2}, seen
    else:
        assert kinds == {"upload": 1, "create": 2, "cancel": 2, "grant": 1, "revoke": 1}, seen
    return seen


def _matrix(tmp: Path, killer: Killer, variants: list[tuple[str, int]], *, only: list[int] | None = None,
            template: Path | None = None, **mode: bool) -> collections.Counter:
    template = template or _build_template(tmp)
    if mode.get("destroy"):
        template = _destroy_template(template, tmp)
    stats: collections.Counter = collections.Counter()
    boundaries_by_p: dict[int, list[str]] = {}
    name = "-".join(k for k, v in mode.items() if v)
    for when, parallelism in variants:
        if parallelism not in boundaries_by_p:
            boundaries_by_p[parallelism] = _boundaries(template, tmp, killer, parallelism, **mode)
        seen = boundaries_by_p[parallelism]
        for n in range(1, len(seen) + 1):
            if only is not None and n not in only:
                continue
            result = _trial(template, tmp / f"{when}-p{parallelism}-{n}{name}", killer, n, when=when,
                            parallelism=parallelism, stats=stats, **mode)
            assert result["killed_on"] is not None, (n, result)
            stats[f"killed {result['killed_on'].split(' ')[0]} {_kind(result['killed_on'].split(' ', 1)[1])}"] += 1
            stats["trials"] += 1
    stats["boundaries"] = len(boundaries_by_p[variants[0][1]])
    return stats


def test_sigkill_at_every_action_boundary(tmp_path, killer):
    start = time.monotonic()
    stats = _matrix(tmp_path, killer, [("after", 1)])
    stats["seconds"] = round(time.monotonic() - start)
    report("crash_matrix_short", dict(stats))
    assert stats["kills"] == stats["trials"] == stats["boundaries"] == 7, stats
    assert stats["duplicates"] == 0


def test_sigkill_saved_plan_and_destroy_short(tmp_path, killer):
    """Short versions: a saved plan killed right after its second create, then applied again;
    destroy killed right after its last mutation (the delete of the last upload)."""
    start = time.monotonic()
    template = _build_template(tmp_path)
    saved: collections.Counter = collections.Counter()
    result = _trial(template, tmp_path / "saved-4", killer, 4, saved_plan=True, stats=saved)
    assert result["killed_on"] == "after POST /v1/fine_tuning/jobs", result
    destroyed: collections.Counter = collections.Counter()
    # the last mutation of destroy deletes the last upload: killed there (before it is recorded), the
    # next plan saw "no files at all while the state manages 1" and refused - found by this suite
    result = _trial(_destroy_template(template, tmp_path), tmp_path / "destroy-6", killer, 6, destroy=True,
                    stats=destroyed)
    assert result["killed_on"] and _kind(result["killed_on"].split(" ", 1)[1]) == "delete file", result
    destroyed[f"killed {result['killed_on']}"] += 1
    report("crash_saved_plan_and_destroy_short", {"saved_plan": dict(saved), "destroy": dict(destroyed),
                                                  "seconds": round(time.monotonic() - start)})
    assert saved["kills"] == 1 and destroyed["kills"] == 1
    assert saved["duplicates"] == 0


@pytest.mark.slow
def test_sigkill_saved_plan_and_destroy_matrix(tmp_path, killer):
    start = time.monotonic()
    template = _build_template(tmp_path)
    saved = _matrix(tmp_path, killer, [("after", 1), ("before", 1)], template=template, saved_plan=True)
    destroyed = _matrix(tmp_path, killer, [("after", 1), ("before", 1), ("after", 8)], template=template,
                        destroy=True)
    report("crash_saved_plan_and_destroy", {"saved_plan": dict(saved), "destroy": dict(destroyed),
                                            "seconds": round(time.monotonic() - start)})
    assert saved["kills"] == saved["trials"] and destroyed["kills"] == destroyed["trials"]
    assert saved["duplicates"] == 0


@pytest.mark.slow
def test_sigkill_matrix_full(tmp_path, killer):
    start = time.monotonic()
    stats = _matrix(tmp_path, killer, [("after", 1), ("before", 1), ("after", 8), ("before", 8)])
    template = tmp_path / "template"
    rng = random.Random(int(os.environ.get("RECONCILER_CRASH_SEED", "9")))
    for i in range(int(os.environ.get("RECONCILER_RANDOM_KILLS", "20"))):
        n = rng.randint(1, 7)
        when = rng.choice(["before", "after"])
        result = _trial(template, tmp_path / f"random-{i}", killer, n, when=when, parallelism=8,
                        faults={"latency_ms": 30, "jitter_ms": 30, "seed": i}, stats=stats)
        stats["random_trials"] += 1
        stats[f"killed {result['killed_on'].split(' ')[0]} {_kind(result['killed_on'].split(' ', 1)[1])}"] += 1
    stats["seconds"] = round(time.monotonic() - start)
    report("crash_matrix_full", dict(stats))
    assert stats["duplicates"] == 0
    assert stats["kills"] == stats["trials"] + stats["random_trials"], stats
