"""A spec folder, a state file and a fake API in a temporary directory, for the executor tests."""

from __future__ import annotations

import json
import textwrap
import threading
from pathlib import Path
from typing import Any

from reconciler.apply.events import ApplyResult, Event
from reconciler.plan.model import Plan
from reconciler.state import State, StateStore
from tests.apply.fake_client import FakeClient
from tests.apply.harness import make_plan, run_apply

__all__ = ["Background", "Workspace", "file_doc", "job_doc", "permission_doc"]

MODEL = "gpt-4o-mini-2024-07-18"


def file_doc(name: str, path: str | None = None) -> str:
    return f"""
kind: File
name: {name}
spec:
  path: {path or f"data/{name}.jsonl"}
"""


def job_doc(name: str, training_file: str | None = None, *, suffix: str | None = None,
            model: str = MODEL, create_before_destroy: bool = False, extra: str = "") -> str:
    lifecycle = "lifecycle:\n  create_before_destroy: true\n" if create_before_destroy else ""
    return f"""
kind: FineTuningJob
name: {name}
spec:
  model: {model}
  training_file: {training_file or "${File.train.id}"}
  suffix: {suffix or name.replace("_", "-")}
{textwrap.indent(extra.strip(), "  ") if extra else ""}
{lifecycle}"""


def permission_doc(name: str, checkpoint: str, projects: list[str], *, depends_on: list[str] | None = None,
                   exclusive: bool = False) -> str:
    lines = "\n".join(f"    - {p}" for p in projects)
    deps = f"depends_on: [{', '.join(depends_on)}]\n" if depends_on else ""
    return f"""
kind: CheckpointPermission
name: {name}
spec:
  fine_tuned_model_checkpoint: "{checkpoint}"
  project_ids:
{lines}
  exclusive: {"true" if exclusive else "false"}
{deps}"""


class Workspace:
    def __init__(self, root: Path):
        self.root = root
        self.specs = root / "specs"
        self.specs.mkdir(parents=True, exist_ok=True)
        self.state_path = root / "state" / "default.json"
        self.client = FakeClient()
        self.store = StateStore(self.state_path)
        self.state: State = self.store.load()
        self.events: list[Event] = []
        self._events_lock = threading.Lock()

    # -- specs -------------------------------------------------------------------------------
    def data(self, name: str, examples: int = 3) -> str:
        """A small valid chat JSONL file under specs/data; returns its path relative to specs/."""
        path = self.specs / "data" / f"{name}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [{"messages": [{"role": "user", "content": f"{name} question {i}?"},
                              {"role": "assistant", "content": f"{name} answer {i}."}]} for i in range(examples)]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return f"data/{name}.jsonl"

    def write(self, name: str, *documents: str) -> None:
        """specs/<name>.yaml with these documents (replaced if present)."""
        text = "\n---\n".join(textwrap.dedent(d).strip("\n") for d in documents) + "\n"
        (self.specs / f"{name}.yaml").write_text(text)

    def remove(self, name: str) -> None:
        (self.specs / f"{name}.yaml").unlink()

    # -- plan / apply ------------------------------------------------------------------------
    def plan(self, **options: Any) -> Plan:
        return make_plan(self.specs, self.state, self.client, **options)

    def listener(self, event: Event) -> None:
        with self._events_lock:
            self.events.append(event)

    def apply(self, plan: Plan | None = None, **executor_options: Any) -> ApplyResult:
        executor_options.setdefault("listener", self.listener)
        return run_apply(plan if plan is not None else self.plan(), self.client, self.store, self.state,
                         **executor_options)

    def reload(self) -> State:
        """The state as a new process would load it (journal replayed, if one was left)."""
        self.store = StateStore(self.state_path)
        self.state = self.store.load()
        return self.state

    def on_disk(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.state_path.read_text())
        return data

    @property
    def journal_path(self) -> Path:
        return self.state_path.with_name(self.state_path.name + ".journal")

    def journal_addresses(self) -> list[str]:
        if not self.journal_path.exists():
            return []
        lines = [json.loads(line) for line in self.journal_path.read_text().splitlines() if line.strip()]
        return [line["address"] for line in lines if not line.get("begin")]  # a begin line records no action


class Background:
    """Run `fn` in a thread (e.g. an apply whose calls the test holds at a gate)."""

    def __init__(self, fn: Any):
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), name="test-apply", daemon=True)
        self._thread.start()

    def _run(self, fn: Any) -> None:
        try:
            self.result = fn()
        except BaseException as exc:
            self.error = exc

    def join(self, timeout: float = 30.0) -> Any:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the apply did not finish (a gate left closed?)"
        if self.error is not None:
            raise self.error
        return self.result
