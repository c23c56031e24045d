"""Token counts made in a child process (cost/count_worker.py, called by cli/cost.py): the same
counts as in this process for every example file and both encodings, the same one-line error for a
file that cannot be read, the tokenizer never loaded here, and a child that cannot run falls back
to counting here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from reconciler.cli.cost import child_argv, child_env, count_in_child
from reconciler.cost.tokens import count_in_process

from .test_tokens import EXAMPLE_FILES, EXAMPLES

REQUESTS = [(str(EXAMPLES / relative), fmt, encoding)
            for relative, fmt in EXAMPLE_FILES for encoding in ("o200k_base", "cl100k_base")]


def ctx(**env: str) -> Any:
    return SimpleNamespace(env={"PATH": "/usr/bin:/bin", **env})


def test_the_child_counts_what_this_process_counts(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.jsonl")
    requests = [*REQUESTS, (missing, "chat", "o200k_base")]
    assert count_in_child(ctx(), requests) == count_in_process(requests)
    assert count_in_child(ctx(), requests)[-1] == f"cannot read {missing}: No such file or directory"


def test_the_tokenizer_is_loaded_only_in_the_child() -> None:
    """Run in a fresh interpreter (this one may have loaded the tokenizer for other tests)."""
    script = (
        "import sys; from types import SimpleNamespace; from reconciler.cli.cost import count_in_child\n"
        f"found = count_in_child(SimpleNamespace(env={{'PATH': '/usr/bin:/bin'}}), {REQUESTS[:2]!r})\n"
        "assert all(c.tokens > 0 for c in found), found\n"
        "print(sorted(m for m in sys.modules if m.startswith('bpe_openai')))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_a_child_that_cannot_run_falls_back_to_counting_here(monkeypatch: pytest.MonkeyPatch) -> None:
    import reconciler.cli.cost as cli_cost

    def broken(*args: Any, **kwargs: Any) -> Any:
        return subprocess.CompletedProcess(args, 1, stdout="", stderr="ModuleNotFoundError: reconciler")

    monkeypatch.setattr(subprocess, "run", broken)
    assert cli_cost.count_in_child(ctx(), REQUESTS[:2]) == count_in_process(REQUESTS[:2])
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout="[1]", stderr=""))
    assert cli_cost.count_in_child(ctx(), REQUESTS[:2]) == count_in_process(REQUESTS[:2])  # wrong length


@pytest.mark.parametrize(("env", "given"), [
    ({"PATH": "/bin", "LANG": "C.UTF-8", "OPENAI_API_KEY": "sk-x", "OPENAI_ADMIN_KEY": "sk-admin-x"},
     {"PATH": "/bin", "LANG": "C.UTF-8"}),
    ({"RECONCILER_PG_CONN_STR": "postgresql://u:p@h/d", "PGPASSWORD": "p", "RECONCILER_NOTIFY_SECRET": "s",
      "PYTHONPATH": "/checkout", "PYTHONSTARTUP": "/checkout/x.py", "TMPDIR": "/tmp"}, {"TMPDIR": "/tmp"}),
    ({}, {}),
])
def test_the_child_gets_only_the_locale_path_and_temp_dir(env: dict[str, str], given: dict[str, str]) -> None:
    assert child_env(env) == given


def test_the_child_is_an_isolated_interpreter() -> None:
    assert child_argv("/somewhere")[:3] == [sys.executable, "-I", "-c"]
    assert child_argv("/somewhere")[-1] == "/somewhere"
