"""The CI examples work as written: every `run:` step (GitLab: every `script:` line) of each
workflow runs, in order, as a bash script in a fresh clone, against the real sandbox over HTTP,
and the outcome is checked: the plan comment written, the apply done, the state persisted (committed
and pushed, or in PostgreSQL), the drift reports, the exit codes, the webhook sent once per change.

What stands in for the CI service (none of it touches a step's text):
- the checkout: a `git clone` of a local bare repository ("origin") into a new empty folder for
  every run, as a runner gets; what a run leaves behind is gone unless it was pushed or stored;
- GitHub's API: a recording `gh` on PATH; GitLab's API (notes) and the drift webhook: one HTTP
  server on a real socket that records what it is sent; GitLab's push URL: a git `insteadOf` to
  the bare repository;
- secrets and variables: the sandbox's URL and keys in OPENAI_*, RECONCILER_WEBHOOK, ...

The one substitution in the steps: the install step (`pip install "openai-ft-reconciler @ git+…"`)
is not run — the test checks it names the distribution at a pinned ref, never `pip install
reconciler` — and this virtualenv's bin/ comes first on PATH instead. `uses:` steps (checkout,
setup-python, upload-artifact) are the runner's own and are not run.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import cli
from tests.e2e.conftest import ADMIN_KEY, PROJECT_KEY, chat_jsonl

CI = Path(__file__).resolve().parent.parent / "examples" / "ci"
FILES = sorted(p for p in CI.rglob("*.yml"))
GITHUB = CI / "github" / "workflows"
GITHUB_NO_DB = CI / "github" / "without-database"
GITLAB = CI / "gitlab" / ".gitlab-ci.yml"
GITLAB_NO_DB = CI / "gitlab" / "without-database.gitlab-ci.yml"
VENV_BIN = Path(sys.executable).parent
INSTALL = re.compile(r'pip install (-q )?"openai-ft-reconciler @ git\+https://github\.com/YOUR-ORG/reconciler@v\d[\w.]*"$')
TIMEOUT = 600  # per step: generous, the machine is shared

SPECS = """\
kind: File
name: train
spec:
  path: data/train.jsonl
---
kind: FineTuningJob
name: bot
spec:
  model: gpt-4o-mini
  training_file: ${File.train.id}
  suffix: bot-v1
  method: {type: supervised}
---
kind: FineTuningJob
name: other
spec:
  model: gpt-4o-mini
  training_file: ${File.train.id}
  suffix: other-v1
  method: {type: supervised}
"""


# ---------------------------------------------------------------- static checks (no server)

def _commands(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for value in node.values():
            found += _commands(value)
    elif isinstance(node, list):
        for value in node:
            found += _commands(value)
    elif isinstance(node, str):
        for line in node.replace("\\\n", " ").splitlines():
            for match in re.finditer(r"\breconciler ([a-z][a-z-]*(?: [^|>;&\n$]*)?)", line):
                text = match.group(0).strip()
                if text.startswith(("reconciler:", "reconciler-")) or "@" in text:
                    continue
                found.append(text)
    return found


def test_there_are_examples():
    assert {GITHUB / "reconciler-plan.yml", GITHUB / "reconciler-apply.yml", GITHUB / "reconciler-drift.yml",
            GITHUB_NO_DB / "reconciler-apply.yml", GITHUB_NO_DB / "reconciler-drift.yml",
            GITLAB, GITLAB_NO_DB} <= set(FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CI)))
def test_ci_example_commands_exist(path):
    data = yaml.safe_load(path.read_text())
    commands = [c for c in _commands(data) if not c.startswith("reconciler state after")]
    assert commands, f"no reconciler command found in {path}"
    for command in commands:
        argv = shlex.split(command)[1:]
        argv = [a for a in argv if not a.startswith("${")]
        if argv[0] in ("validate",):
            argv = argv[:1]
        result = CliRunner().invoke(cli, [*argv, "--help"])
        assert result.exit_code == 0, f"{path.name}: `{command}` → {result.output}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CI)))
def test_installs_the_distribution_at_a_pinned_ref(path):
    text = path.read_text()
    installs = [line.strip().lstrip("- ").removeprefix("run: ") for line in text.splitlines()
                if "pip install" in line and not line.strip().startswith("#")]
    assert installs, path
    for line in installs:
        assert INSTALL.match(line), f"{path.name}: {line!r} (never `pip install reconciler`: an unrelated package)"


def test_github_concurrency_never_lets_another_workflow_replace_a_pending_apply():
    """GitHub keeps one pending run per concurrency group and a newly queued run replaces it: an
    apply's group holds applies only, and none cancels a running one."""
    groups: dict[str, list[str]] = {}
    for path in [*GITHUB.glob("*.yml"), *GITHUB_NO_DB.glob("*.yml")]:
        data = yaml.safe_load(path.read_text())
        group = data["concurrency"]["group"]
        groups.setdefault(f"{path.parent.name}:{group}", []).append(path.name)
        if "apply" in path.name or "sync" in path.name or "drift" in path.name:
            assert data["concurrency"]["cancel-in-progress"] is False, path
    for key, names in groups.items():
        if "apply" in key:
            assert names == ["reconciler-apply.yml"], (key, names)


WRITE_SECRETS = ("OPENAI_API_KEY", "OPENAI_ADMIN_KEY", "RECONCILER_PG_CONN_STR")
READ_SECRETS = {"OPENAI_API_KEY": "OPENAI_READ_KEY", "OPENAI_ADMIN_KEY": "OPENAI_READ_ADMIN_KEY",
                "RECONCILER_PG_CONN_STR": "RECONCILER_PG_PLAN_CONN_STR"}
PROTECTED = "reconciler-apply"


def _github_jobs() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in [*GITHUB.glob("*.yml"), *GITHUB_NO_DB.glob("*.yml")]:
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            yield f"{path.parent.name}/{path.name}:{name}", job


def _gitlab_jobs() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in (GITLAB, GITLAB_NO_DB):
        for name, job in yaml.safe_load(path.read_text()).items():
            if isinstance(job, dict) and "script" in job:
                yield f"{path.name}:{name}", job


def _changes_things(commands: list[str]) -> bool:
    return any(c.split()[1] in ("apply", "sync", "destroy") for c in commands)


def test_only_jobs_in_the_protected_environment_get_keys_that_write():
    """Plan and drift jobs run with read-only credentials; the keys that can create jobs (and the
    database role that can write the state) reach only apply and sync, in the protected
    environment reconciler-apply, which pull and merge requests cannot use."""
    jobs = list(_github_jobs()) + list(_gitlab_jobs())
    assert len(jobs) >= 11
    for where, job in jobs:
        commands = _commands(job)
        writes = _changes_things(commands)
        environment = job.get("environment")
        environment = environment.get("name") if isinstance(environment, dict) else environment
        assert (environment == PROTECTED) is writes, (where, environment, commands)
        if "steps" in job:  # GitHub: which secret each variable is
            for variable, value in (job.get("env") or {}).items():
                if variable in WRITE_SECRETS:
                    wanted = variable if writes else READ_SECRETS[variable]
                    assert value == "${{ secrets." + wanted + " }}", (where, variable, value)
        elif not writes and any(c.split()[1] in ("plan", "drift") for c in commands):
            # GitLab: the project's variables are the protected write ones; these jobs map the read ones
            mapped = job.get("variables") or {}
            for variable in ("OPENAI_API_KEY", "OPENAI_ADMIN_KEY"):
                assert mapped.get(variable) == "${" + READ_SECRETS[variable] + "}", (where, variable, mapped)


def _minutes(text: str) -> float:
    number, unit = re.fullmatch(r"(\d+)([smh])", text.strip()).groups()  # type: ignore[union-attr]
    return int(number) * {"s": 1 / 60, "m": 1, "h": 60}[unit]


def test_every_lock_wait_fits_in_its_jobs_timeout():
    """A lock wait must end before the job's own timeout (else the job dies mid-run, naming
    nothing) and never runs in GitLab's after_script, whose timeout is 5 minutes by default."""
    for where, job in [*_github_jobs(), *_gitlab_jobs()]:
        if all(c.split()[1] == "validate" for c in _commands(job)):
            continue  # takes no lock
        assert "timeout-minutes" in job or "timeout" in job, f"{where}: no explicit timeout"
        limit = job["timeout-minutes"] if "timeout-minutes" in job else _minutes(job["timeout"])
        waits = [_minutes(m) for m in re.findall(r"--lock-timeout (\d+[smh])\b", json.dumps(job.get("script", job.get("steps"))))]
        assert sum(waits) + 10 <= limit, (where, waits, limit)
        after = " ".join(job.get("after_script") or [])
        assert "reconciler" not in after, f"{where}: after_script runs reconciler (5-minute limit)"


# ---------------------------------------------------------------- the world a CI run sees

TOKEN_USER = 42  # the user GitLab's API answers for RECONCILER_GITLAB_TOKEN


class Recorder(http.server.BaseHTTPRequestHandler):
    """The drift webhook and GitLab's API: every POST and PUT is recorded; merge request notes are
    kept (`server.notes`), listed and edited as GitLab does, written by the token's user."""

    received: list[tuple[str, dict[str, Any]]]

    def _answer(self, status: int, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict[str, Any]:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        data: dict[str, Any] = json.loads(body or b"{}")
        self.server.received.append((self.path, data))  # type: ignore[attr-defined]
        return data

    def do_POST(self) -> None:
        data = self._body()
        notes: list[dict[str, Any]] = self.server.notes  # type: ignore[attr-defined]
        if self.path.endswith("/notes"):
            note = {"id": 500 + len(notes), "path": self.path, "author": {"id": TOKEN_USER}, "body": data.get("body")}
            notes.append(note)
            self._answer(201, note)
            return
        self._answer(201, {})

    def do_PUT(self) -> None:
        data = self._body()
        path, _, note_id = self.path.rpartition("/")
        found = [n for n in self.server.notes if n["path"] == path and str(n["id"]) == note_id]  # type: ignore[attr-defined]
        if not found:
            self._answer(404, {"message": "404 Not found"})
            return
        found[0]["body"] = data.get("body")
        self._answer(200, found[0])

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        gitlab: GitLab = self.server.gitlab  # type: ignore[attr-defined]
        parts = path.split("/")
        if path == "/api/v4/user":
            self._answer(200, {"id": TOKEN_USER, "username": "project_7_bot"})
        elif path.endswith("/merge_requests") and "/repository/commits/" in path:
            self._answer(200, gitlab.merged.get(parts[-2], []))
        elif path.endswith("/pipelines") and "/merge_requests/" in path:
            self._answer(200, [{k: v for k, v in p.items() if k != "jobs"}
                               for p in reversed(gitlab.pipelines) if p["iid"] == parts[-2]])
        elif path.endswith("/jobs") and "/pipelines/" in path:
            wanted = [p for p in gitlab.pipelines if str(p["id"]) == parts[-2]]
            scope = "success" if "scope[]=success" in self.path or "scope%5B%5D=success" in self.path else None
            self._answer(200, [j for p in wanted for j in p["jobs"] if scope in (None, j["status"])])
        elif "/jobs/" in path and "/artifacts/" in path:
            job, _, name = path.split("/jobs/", 1)[1].partition("/artifacts/")
            data = gitlab.artifacts.get((job, name))
            if data is None:
                self._answer(404, {"message": "404 Not found"})
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif path.endswith("/notes"):
            listed = [n for n in self.server.notes if n["path"] == path]  # type: ignore[attr-defined]
            self._answer(200, list(reversed(listed)))  # sort=desc
        else:
            self._answer(404, {"message": "404 Not found"})

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class GitLab:
    """What GitLab's API answers about merge requests: which merged one a commit came from, the
    merge requests' pipelines (newest last) with their jobs, and the jobs' artifact files."""

    merged: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    artifacts: dict[tuple[str, str], bytes] = field(default_factory=dict)


@pytest.fixture
def recorder() -> Iterator[Any]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.received = []  # type: ignore[attr-defined]
    server.notes = []  # type: ignore[attr-defined]
    server.gitlab = GitLab()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"git {args}: {proc.stderr}"
    return proc.stdout


GH_STUB = """#!{python}
# A recording `gh`: `pr comment N --body-file F` adds a comment as the workflow token's user;
# `api [--method M] PATH [--paginate] [--jq EXPR] [-F body=@FILE]` lists (through the real jq,
# as gh's --jq) or edits the comments kept in $GH_LOG.comments, and answers the pull requests of a
# commit and a pull request; `run list` / `run download` answer from the runs and artifacts the
# test recorded (upload-artifact's stand-in).
import json, os, shutil, subprocess, sys
args = sys.argv[1:]
store = os.environ["GH_LOG"] + ".comments"
comments = json.load(open(store)) if os.path.exists(store) else []
load = lambda name: json.load(open(os.environ["GH_LOG"] + name)) if os.path.exists(os.environ["GH_LOG"] + name) else []
pulls, runs = load(".pulls"), load(".runs")  # written by the test: merged pull requests, workflow runs
body = open(args[args.index("--body-file") + 1]).read() if "--body-file" in args else None
out = ""
if args[:2] == ["pr", "comment"]:
    comments.append({{"id": 1000 + len(comments), "issue": int(args[2]), "user": {{"login": "github-actions[bot]"}},
                      "body": body}})
elif args[0] == "api":
    method = args[args.index("--method") + 1] if "--method" in args else "GET"
    path = next(a for a in args[1:] if a.startswith("repos/"))
    fields = dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "-F")
    if "body" in fields and fields["body"].startswith("@"):
        body = open(fields["body"][1:]).read()
    parts = path.split("/")
    if method == "GET" and parts[-1] == "comments":
        listed = [c for c in comments if c["issue"] == int(parts[-2])]
        out = json.dumps(listed)
        if "--jq" in args:
            out = subprocess.run(["jq", "-r", args[args.index("--jq") + 1]], input=out, text=True,
                                 capture_output=True, check=True).stdout
    elif method == "PATCH" and parts[-2] == "comments":
        found = [c for c in comments if c["id"] == int(parts[-1])]
        if not found:
            sys.exit("gh: Not Found (HTTP 404)")
        found[0]["body"] = body
        out = json.dumps(found[0])
    elif method == "GET" and parts[-1] == "pulls" and parts[-3] == "commits":
        out = json.dumps([p for p in pulls if parts[-2] in p["commits"]])
    elif method == "GET" and parts[-2] == "pulls":
        out = json.dumps(next(p for p in pulls if p["number"] == int(parts[-1])))
    if "--jq" in args and parts[-1] != "comments":
        out = subprocess.run(["jq", "-r", args[args.index("--jq") + 1]], input=out, text=True,
                             capture_output=True, check=True).stdout
elif args[:2] == ["run", "list"]:
    option = lambda name: args[args.index(name) + 1] if name in args else None
    found = [r for r in reversed(runs) if r["workflow"] == option("--workflow")
             and option("--commit") in (None, r["headSha"]) and option("--status") in (None, r["conclusion"])]
    out = json.dumps([{{"databaseId": r["databaseId"]}} for r in found[:int(option("--limit") or 20)]])
    if "--jq" in args:
        out = subprocess.run(["jq", "-r", option("--jq")], input=out, text=True, capture_output=True, check=True).stdout
elif args[:2] == ["run", "download"]:
    source = os.path.join(os.environ["GH_LOG"] + ".artifacts", args[2], args[args.index("--name") + 1])
    if not os.path.isdir(source):
        sys.exit("gh: no artifact matches any of the names or patterns provided")
    shutil.copytree(source, args[args.index("--dir") + 1], dirs_exist_ok=True)
json.dump(comments, open(store, "w"))
with open(os.environ["GH_LOG"], "a") as log:
    log.write(json.dumps({{"args": args, "body": body}}) + "\\n")
sys.stdout.write(out)
"""


@dataclass
class Run:
    folder: Path
    steps: list[tuple[str, int]]  # (name, exit code) of the steps run, in order
    output: str

    @property
    def failed(self) -> bool:
        return any(code != 0 for _, code in self.steps)

    def code(self, name: str) -> int | None:
        return next((code for step, code in self.steps if name in step), None)


@dataclass
class Ci:
    root: Path
    sandbox: Any
    recorder: Any
    pg_conn: str = ""
    runs: int = 0
    runs_made: int = 0
    env: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> Path:
        return self.root / "origin.git"

    @property
    def hook(self) -> str:
        return f"http://127.0.0.1:{self.recorder.server_address[1]}"

    def setup(self, *, settings: str = "") -> None:
        bin_dir = self.root / "bin"
        bin_dir.mkdir()
        (bin_dir / "gh").write_text(GH_STUB.format(python=sys.executable))
        (bin_dir / "gh").chmod(0o755)
        gitconfig = self.root / "gitconfig"
        gitconfig.write_text(f'[init]\n\tdefaultBranch = main\n[user]\n\tname = dev\n\temail = dev@example.invalid\n'
                             f'[url "{self.origin}"]\n\tinsteadOf = https://oauth2:glpat-test@gitlab.test/team/specs.git\n')
        home = self.root / "home"
        home.mkdir()
        keep = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TMPDIR", "TZ")}
        self.env = {**keep, "PATH": f"{VENV_BIN}:{bin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home),
                    "GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1", "GH_LOG": str(self.root / "gh.log"),
                    "CI": "true"}
        seed = self.root / "seed"
        (seed / "specs" / "data").mkdir(parents=True)
        (seed / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
        (seed / "specs" / "jobs.yaml").write_text(SPECS)
        if settings:
            (seed / "specs" / "settings.yaml").write_text(settings)
        (seed / ".gitignore").write_text("state/*\n")  # as this repository's: state must be added with -f
        git("init", "-q", "--bare", str(self.origin), env=self.env)
        git("init", "-q", cwd=seed, env=self.env)
        git("add", "-A", cwd=seed, env=self.env)
        git("commit", "-q", "-m", "specs", cwd=seed, env=self.env)
        git("push", "-q", str(self.origin), "HEAD:main", cwd=seed, env=self.env)

    def secrets(self) -> dict[str, str]:
        # the read-only credentials of plan jobs are keys like the others to the sandbox
        return {"OPENAI_API_KEY": PROJECT_KEY, "OPENAI_ADMIN_KEY": ADMIN_KEY, "RECONCILER_PG_CONN_STR": self.pg_conn,
                "OPENAI_READ_KEY": PROJECT_KEY, "OPENAI_READ_ADMIN_KEY": ADMIN_KEY,
                "RECONCILER_PG_PLAN_CONN_STR": self.pg_conn,
                "RECONCILER_NOTIFY_SECRET": "s3cret", "GITHUB_TOKEN": "ghs_test", "RECONCILER_GITLAB_TOKEN": "glpat-test"}

    def base_env(self) -> dict[str, str]:
        # The sandbox is "the OpenAI API" for the CLI: only its address differs from production.
        return {**self.env, "OPENAI_BASE_URL": self.sandbox.base_url}

    def checkout(self, *, detached: bool = False) -> Path:
        self.runs += 1
        folder = self.root / f"run{self.runs}"
        git("clone", "-q", str(self.origin), str(folder), env=self.env)
        if detached:  # GitLab checks out the commit, not the branch
            git("checkout", "-q", "--detach", cwd=folder, env=self.env)
        return folder

    def bash(self, script: str, folder: Path, env: dict[str, str]) -> tuple[int, str]:
        path = folder.parent / f"{folder.name}.step.sh"
        path.write_text(script)
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT, check=False)
        return proc.returncode, f"$ {script}\n{proc.stdout}{proc.stderr}\n[exit {proc.returncode}]\n"

    # -------------------------------------------------------------- GitHub Actions

    def github(self, path: Path, event: dict[str, Any], variables: dict[str, str] | None = None) -> Run:
        """Run every `run:` step of the workflow's one job in a fresh checkout, as GitHub does:
        each step a bash script (-eo pipefail); a failed step skips the later ones except those
        with `if: always()` / `if: failure()`."""
        data = yaml.safe_load(path.read_text())
        (name, job), = data["jobs"].items()
        context = {"secrets": self.secrets(), "vars": variables or {}, "github": event}
        if "if" in job:
            assert _gh_condition(job["if"], context, failed=False), f"{path.name}: job {name} would not run"
        folder = self.checkout()
        files = {k: folder.parent / f"{folder.name}.{k.lower()}" for k in ("GITHUB_OUTPUT", "GITHUB_ENV",
                                                                          "GITHUB_STEP_SUMMARY")}
        for f in files.values():
            f.touch()
        env = {**self.base_env(), **{k: str(v) for k, v in files.items()},
               "GITHUB_REPOSITORY": "team/specs", "GITHUB_SHA": event["sha"],
               **{k: _gh_expand(str(v), context) for k, v in (data.get("env") or {}).items()},
               **{k: _gh_expand(str(v), context) for k, v in (job.get("env") or {}).items()}}
        steps: list[tuple[str, int]] = []
        output = ""
        self.runs_made += 1
        run_id = str(7000 + self.runs_made)
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/upload-artifact"):
                if _gh_condition(step.get("if", "success()"), context, failed=any(c != 0 for _, c in steps)):
                    self._upload(folder, run_id, step["with"])
                continue
            if "run" not in step:
                continue
            script = step["run"]
            assert "${{" not in script, f"{path.name}: an expression inside run: ({script!r}); pass it through env:"
            label = step.get("name") or script.splitlines()[0]
            if "pip install" in script:
                assert INSTALL.match(script.strip()), script
                steps.append((label, 0))  # the one substitution: this venv is first on PATH
                continue
            failed = any(code != 0 for _, code in steps)
            if not _gh_condition(step.get("if", "success()"), context, failed=failed):
                continue
            step_env = {**env, **{k: _gh_expand(str(v), context) for k, v in (step.get("env") or {}).items()}}
            code, text = self.bash(script, folder, step_env)
            steps.append((label, code))
            output += text
        head = (event.get("event") or {}).get("pull_request", {}).get("head", {}).get("sha", event["sha"])
        self._github_record(".runs", {"databaseId": int(run_id), "workflow": path.name, "headSha": head,
                                      "conclusion": "failure" if any(c != 0 for _, c in steps) else "success"})
        return Run(folder, steps, output)

    def _upload(self, folder: Path, run_id: str, options: dict[str, Any]) -> None:
        """actions/upload-artifact's stand-in: the files named in `path` that exist, kept by run and name."""
        target = self.root / "gh.log.artifacts" / run_id / options["name"]
        target.mkdir(parents=True, exist_ok=True)
        for name in str(options["path"]).split():
            if (folder / name).is_file():
                (target / name).write_bytes((folder / name).read_bytes())

    def _github_record(self, store: str, item: dict[str, Any]) -> None:
        path = self.root / f"gh.log{store}"
        items = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps([*items, item]))

    def main_sha(self) -> str:
        return git("rev-parse", "main", cwd=self.origin, env=self.env).strip()

    def merged(self, number: int) -> None:
        """The pull (merge) request `number` was merged: main's head commit came from it."""
        sha = self.main_sha()
        path = self.root / "gh.log.pulls"
        pulls = json.loads(path.read_text()) if path.exists() else []
        pull = {"number": number, "merged_at": "2026-12-07T05:00:00Z", "head": {"sha": _head(number)}, "commits": [sha]}
        path.write_text(json.dumps([pull, *pulls]))
        self.recorder.gitlab.merged[sha] = [{"iid": number, "state": "merged", "sha": _head(number)}]

    def push(self) -> dict[str, Any]:
        """The push event of main's head commit."""
        return {"event_name": "push", "ref": "refs/heads/main", "sha": self.main_sha()}

    # -------------------------------------------------------------- GitLab CI

    def gitlab(self, path: Path, job_name: str, ci: dict[str, str]) -> Run:
        """Run one job as GitLab's shell executor does: before_script and script as one bash script
        (-eo pipefail), then after_script in a shell of its own, whatever the script's outcome."""
        data = yaml.safe_load(path.read_text())
        job = data[job_name]
        default = data.get("default") or {}
        source = ci["CI_PIPELINE_SOURCE"]
        assert any(source in rule.get("if", "") or ("push" in rule.get("if", "") and source == "push")
                   for rule in job.get("rules", [])), f"{job_name} has no rule for {source}"
        folder = self.checkout(detached=True)
        env = {**self.base_env(), **self.secrets(), **ci,
               "CI_PROJECT_ID": "7", "CI_PROJECT_PATH": "team/specs", "CI_SERVER_HOST": "gitlab.test",
               "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_SHORT_SHA": git("rev-parse", "--short", "HEAD", cwd=folder).strip(),
               "CI_COMMIT_SHA": git("rev-parse", "HEAD", cwd=folder).strip(),
               "CI_API_V4_URL": f"{self.hook}/api/v4"}
        for key, value in {**(data.get("variables") or {}), **(job.get("variables") or {})}.items():
            env[key] = re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), str(value))
        before = job.get("before_script", default.get("before_script", []))
        lines = []
        for line in [*before, *job["script"]]:
            assert isinstance(line, str), f"{path.name}: {job_name}: not a string (quote a line with ': '): {line!r}"
            if "pip install" in line:
                assert INSTALL.match(line.strip()), line
                continue  # the one substitution: this venv is first on PATH
            lines.append(line)
        code, output = self.bash("\n".join(lines) + "\n", folder, env)
        steps = [("script", code)]
        after = job.get("after_script", default.get("after_script", []))
        if after:
            after_code, text = self.bash("\n".join(after) + "\n", folder, env)
            steps.append(("after_script", after_code))
            output += text
        if "CI_MERGE_REQUEST_IID" in ci:
            self._gitlab_record(job_name, job, ci["CI_MERGE_REQUEST_IID"], folder, failed=code != 0)
        return Run(folder, steps, output)

    def _gitlab_record(self, name: str, job: dict[str, Any], iid: str, folder: Path, *, failed: bool) -> None:
        """The merge request pipeline this job ran in (one per commit), and its artifact files."""
        gitlab: GitLab = self.recorder.gitlab
        sha = git("rev-parse", "HEAD", cwd=folder).strip()
        ours = [p for p in gitlab.pipelines if p["iid"] == iid]
        if not ours or ours[-1]["sha"] != sha:
            ours = [{"id": 300 + len(gitlab.pipelines), "iid": iid, "sha": sha, "status": "success", "jobs": []}]
            gitlab.pipelines.append(ours[0])
        pipeline = ours[-1]
        job_id = 900 + sum(len(p["jobs"]) for p in gitlab.pipelines)
        pipeline["jobs"].append({"id": job_id, "name": name, "status": "failed" if failed else "success"})
        if failed:
            pipeline["status"] = "failed"
        artifacts = job.get("artifacts") or {}
        if not failed or artifacts.get("when") == "always":
            for file in artifacts.get("paths", []):
                if (folder / file).is_file():
                    gitlab.artifacts[(str(job_id), file)] = (folder / file).read_bytes()

    # -------------------------------------------------------------- what the world shows

    def jobs(self) -> dict[str, list[dict[str, Any]]]:
        import openai

        client = openai.OpenAI(base_url=self.sandbox.base_url, api_key=ADMIN_KEY, max_retries=3)
        found: dict[str, list[dict[str, Any]]] = {}
        for j in client.fine_tuning.jobs.list(limit=100):
            found.setdefault((j.metadata or {}).get("reconciler_address", "?"), []).append(j.model_dump())
        return found

    def cancel_outside(self, address: str) -> None:
        import openai

        client = openai.OpenAI(base_url=self.sandbox.base_url, api_key=ADMIN_KEY, max_retries=3)
        client.fine_tuning.jobs.cancel(self.jobs()[address][0]["id"])

    def fail_job(self, address: str) -> None:
        """The job fails on the provider's side (as a training run that hit an error)."""
        world = self.sandbox.world
        job_id = self.jobs()[address][0]["id"]
        with world.lock:
            job = dict(world.jobs.items[job_id])
            job["error"] = {"code": "server_error", "param": None, "message": "training failed"}
            # failed now, not once its file validation would have ended (the sandbox fails a job with
            # an error when validation ends; a quick run could still be inside that window)
            job["durations"] = [0.0, *job["durations"][1:]]
            world.jobs.items[job_id] = job

    def committed(self, path: str) -> str | None:
        proc = subprocess.run(["git", "show", f"main:{path}"], cwd=self.origin, capture_output=True, text=True,
                              env=self.env, check=False)
        return proc.stdout if proc.returncode == 0 else None

    def webhooks(self) -> list[dict[str, Any]]:
        return [body for p, body in self.recorder.received if p.startswith("/hook")]


_LOOKUP = re.compile(r"^(secrets|vars|github)((?:\.[\w-]+)+)$")


def _gh_value(expr: str, context: dict[str, Any]) -> Any:
    match = _LOOKUP.match(expr.strip())
    assert match, f"unsupported expression in the examples: {expr!r}"
    value: Any = context[match.group(1)]
    for part in match.group(2).strip(".").split("."):
        value = value.get(part, "") if isinstance(value, dict) else ""
    return value


def _gh_expand(text: str, context: dict[str, Any]) -> str:
    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: str(_gh_value(m.group(1), context)), text)


def _gh_condition(condition: str, context: dict[str, Any], *, failed: bool) -> bool:
    condition = condition.strip().removeprefix("${{").removesuffix("}}").strip()
    if condition in ("always()", "!cancelled()"):
        return True
    if condition == "success()":
        return not failed
    if condition == "failure()":
        return failed
    match = re.fullmatch(r"([\w.]+) == '([^']*)'", condition)
    assert match, f"unsupported condition in the examples: {condition!r}"
    return (not failed) and _gh_value(match.group(1), context) == match.group(2)


def _head(number: int) -> str:
    return f"{number:040x}"


def _pr(number: int = 12) -> dict[str, Any]:
    return {"event_name": "pull_request", "ref": f"refs/pull/{number}/merge", "sha": "a" * 40,
            "event": {"pull_request": {"number": number, "head": {"sha": _head(number)}}}}


def _push() -> dict[str, Any]:
    return {"event_name": "push", "ref": "refs/heads/main", "sha": "b" * 40}


def _schedule() -> dict[str, Any]:
    return {"event_name": "schedule", "ref": "refs/heads/main", "sha": "c" * 40}


@pytest.fixture
def ci(tmp_path: Path, recorder: Any) -> Iterator[Ci]:
    from reconciler_sandbox.testing import run_sandbox

    with run_sandbox() as sandbox:
        yield Ci(tmp_path, sandbox, recorder)


def _ok(run: Run) -> Run:
    assert not run.failed, run.output
    assert "Traceback" not in run.output, run.output
    return run


def _one_job_each(ci: Ci) -> None:
    jobs = ci.jobs()
    assert sorted(jobs) == ["FineTuningJob.bot", "FineTuningJob.other"], jobs
    assert all(len(v) == 1 for v in jobs.values()), {k: len(v) for k, v in jobs.items()}  # nobody paid twice


def _drift_runs(ci: Ci, run_drift: Any) -> None:
    """Drift made outside (a job cancelled by hand): reported, webhook once, exit 0 (--fail-on
    health); the same drift next run (a fresh clone): no second webhook, the drift memory was kept;
    a failed job: exit 2, a webhook."""
    ci.cancel_outside("FineTuningJob.bot")
    first = run_drift()
    assert not first.failed, first.output
    for name in ("drift.xml", "drift.md", "drift.json", "report.html"):
        assert (first.folder / name).is_file(), (name, first.output)
    assert "FineTuningJob.bot" in (first.folder / "drift.md").read_text()
    assert len(ci.webhooks()) == 1, first.output
    second = run_drift()
    assert not second.failed, second.output
    assert len(ci.webhooks()) == 1, f"--notify fired again for the same drift\n{second.output}"
    ci.fail_job("FineTuningJob.other")
    third = run_drift()
    assert third.code("rift") == 2 or third.code("script") == 2, third.output  # --fail-on health
    assert (third.folder / "report.html").is_file(), third.output  # the later steps still ran
    assert len(ci.webhooks()) == 2, third.output
    assert "FineTuningJob.other" in json.dumps(ci.webhooks()[-1]["new"])


# ---------------------------------------------------------------- GitHub, state committed to git

def test_github_without_database_plan_apply_drift(ci: Ci):
    ci.setup()
    plan = _ok(ci.github(GITHUB / "reconciler-plan.yml", _pr()))
    assert "FineTuningJob.bot" in (plan.folder / "plan.md").read_text()
    assert "exitcode=2" in (plan.folder.parent / f"{plan.folder.name}.github_output").read_text()
    comments = [json.loads(line) for line in (ci.root / "gh.log").read_text().splitlines()]
    assert comments[-1]["args"][:3] == ["pr", "comment", "12"] and "FineTuningJob.bot" in comments[-1]["body"]

    ci.merged(12)
    applied = _ok(ci.github(GITHUB_NO_DB / "reconciler-apply.yml", ci.push()))
    assert "Applying the plan reviewed in pull request #12" in applied.output, applied.output
    _one_job_each(ci)
    state = ci.committed("state/default.json")
    assert state is not None, "the state was not committed (state/* is git-ignored: git add -f)"
    assert "FineTuningJob.bot" in state
    # The next pull request plans from the committed state (a fresh clone): nothing to change, and
    # its merge applies that plan: nothing is created twice.
    _ok(ci.github(GITHUB / "reconciler-plan.yml", _pr(13)))
    ci.merged(13)
    second = _ok(ci.github(GITHUB_NO_DB / "reconciler-apply.yml", ci.push()))
    assert "No changes" in second.output, second.output
    _one_job_each(ci)

    _drift_runs(ci, lambda: ci.github(GITHUB_NO_DB / "reconciler-drift.yml", _schedule(),
                                      {"RECONCILER_WEBHOOK": f"{ci.hook}/hook"}))
    assert ci.committed("state/default.json.drift.json") is not None


def test_github_plan_comment_is_found_by_its_own_marker(ci: Ci):
    """`gh pr comment --edit-last` edited the token's last comment, whichever workflow wrote it. The
    plan comment is found by our marker among the comments the workflow's token wrote: another
    workflow's comment and a person's comment that copies the marker are left alone."""
    ci.setup()
    marker = "<!-- reconciler-plan:default -->"
    others = [{"id": 1, "issue": 12, "user": {"login": "github-actions[bot]"}, "body": "## Coverage: 93%"},
              {"id": 2, "issue": 12, "user": {"login": "mallory"}, "body": marker + "\nplease approve"},
              {"id": 3, "issue": 99, "user": {"login": "github-actions[bot]"}, "body": marker + "\nanother PR"}]
    store = ci.root / "gh.log.comments"
    store.write_text(json.dumps(others))
    _ok(ci.github(GITHUB / "reconciler-plan.yml", _pr()))
    first = json.loads(store.read_text())
    assert first[:3] == others and len(first) == 4, first
    ours = first[3]
    assert ours["user"]["login"] == "github-actions[bot]" and ours["body"].startswith(marker + "\n### reconciler plan")

    (ci.root / "seed" / "specs" / "jobs.yaml").write_text(SPECS.replace("other-v1", "other-v2"))
    git("commit", "-q", "-am", "suffix", cwd=ci.root / "seed", env=ci.env)
    git("push", "-q", str(ci.origin), "HEAD:main", cwd=ci.root / "seed", env=ci.env)
    _ok(ci.github(GITHUB / "reconciler-plan.yml", _pr()))
    second = json.loads(store.read_text())
    assert second[:3] == others and len(second) == 4, second  # edited in place, nothing else touched
    assert second[3]["id"] == ours["id"] and "other-v2" in second[3]["body"]
    calls = [json.loads(line)["args"] for line in (ci.root / "gh.log").read_text().splitlines()]
    assert ["api", "--method", "PATCH", "repos/team/specs/issues/comments/1003", "-F", "body=@comment.md"] in calls
    assert not any("--edit-last" in call for call in calls)


MERGE_REQUEST = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "5"}
PUSH = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main"}


def _plan_without_database(ci: Ci, platform: str) -> Run:
    if platform == "github":
        return ci.github(GITHUB / "reconciler-plan.yml", _pr())
    return ci.gitlab(GITLAB_NO_DB, "plan", MERGE_REQUEST)


def _apply_without_database(ci: Ci, platform: str, *, planned: bool = False) -> Run:
    """The merge of the pull (merge) request: its plan (made here unless `planned`), then the apply."""
    if not planned:
        _ok(_plan_without_database(ci, platform))
        ci.merged(12 if platform == "github" else 5)
    if platform == "github":
        return ci.github(GITHUB_NO_DB / "reconciler-apply.yml", ci.push())
    return ci.gitlab(GITLAB_NO_DB, "apply", PUSH)


def _pre_receive(ci: Ci, script: str) -> None:
    hook = ci.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\n" + script)
    hook.chmod(0o755)


@pytest.mark.parametrize("platform", ["github", "gitlab"])
def test_without_database_a_refused_push_fails_the_job(ci: Ci, platform: str):
    """The state cannot be lost silently: when every push is refused the job fails, naming why."""
    ci.setup()
    _pre_receive(ci, "echo 'protected branch' >&2\nexit 1\n")
    run = _apply_without_database(ci, platform)
    assert run.failed, run.output
    assert "the state is not committed and pushed" in run.output, run.output
    assert ci.committed("state/default.json") is None
    _one_job_each(ci)  # the apply itself was done: only the push failed


@pytest.mark.parametrize("platform", ["github", "gitlab"])
def test_without_database_main_moved_during_the_apply(ci: Ci, platform: str):
    """Someone merged while the apply ran: the first push is refused, the state is rebased onto the
    new main and pushed; the other commit is kept."""
    ci.setup()
    # On the first push, main moves on (a commit made outside the quarantine of this push) and the
    # push is refused as non-fast-forward would be.
    _pre_receive(ci, f"""[ -f "{ci.root}/moved" ] && exit 0
touch "{ci.root}/moved"
g() {{ env -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES git "$@"; }}
new=$(g commit-tree -p main -m "someone else's merge" "main^{{tree}}")
g update-ref refs/heads/main "$new"
echo 'main moved' >&2
exit 1
""")
    _ok(_apply_without_database(ci, platform))
    assert (ci.root / "moved").exists()
    assert ci.committed("state/default.json") is not None
    log = git("log", "--format=%s", "main", cwd=ci.origin, env=ci.env)
    assert "someone else's merge" in log, log
    _one_job_each(ci)


# ---------------------------------------------------------------- GitLab, state committed to git

def test_gitlab_without_database_plan_apply_drift(ci: Ci):
    ci.setup()
    merge_request = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "5"}
    _ok(ci.gitlab(GITLAB_NO_DB, "validate", merge_request))
    plan = _ok(ci.gitlab(GITLAB_NO_DB, "plan", merge_request))
    notes = [(p, body) for p, body in ci.recorder.received if p.endswith("/merge_requests/5/notes")]
    assert len(notes) == 1 and "FineTuningJob.bot" in notes[0][1]["body"], plan.output
    assert notes[0][0] == "/api/v4/projects/7/merge_requests/5/notes"

    ci.merged(5)
    push = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main"}
    applied = _ok(ci.gitlab(GITLAB_NO_DB, "apply", push))
    assert "Applying the plan reviewed in merge request !5" in applied.output, applied.output
    _one_job_each(ci)
    assert ci.committed("state/default.json") is not None
    _ok(ci.gitlab(GITLAB_NO_DB, "plan", {**merge_request, "CI_MERGE_REQUEST_IID": "6"}))
    ci.merged(6)
    second = _ok(ci.gitlab(GITLAB_NO_DB, "apply", push))
    assert "No changes" in second.output, second.output
    _one_job_each(ci)

    schedule = {"CI_PIPELINE_SOURCE": "schedule", "RECONCILER_WEBHOOK": f"{ci.hook}/hook"}
    _drift_runs(ci, lambda: ci.gitlab(GITLAB_NO_DB, "drift", schedule))


def test_gitlab_plan_note_is_found_by_its_own_marker(ci: Ci):
    """One note per merge request, updated on every push: found by our marker among the token
    user's notes; another bot's note and a person's note that copies the marker are left alone."""
    ci.setup()
    marker = "<!-- reconciler-plan:default -->"
    path = "/api/v4/projects/7/merge_requests/5/notes"
    others = [{"id": 1, "path": path, "author": {"id": 7}, "body": marker + "\nplease approve"},
              {"id": 2, "path": path, "author": {"id": TOKEN_USER}, "body": "## Coverage: 93%"},
              {"id": 3, "path": "/api/v4/projects/7/merge_requests/6/notes", "author": {"id": TOKEN_USER},
               "body": marker + "\nanother MR"}]
    ci.recorder.notes.extend(json.loads(json.dumps(others)))
    merge_request = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "5"}
    _ok(ci.gitlab(GITLAB_NO_DB, "plan", merge_request))
    assert ci.recorder.notes[:3] == others and len(ci.recorder.notes) == 4
    ours = ci.recorder.notes[3]
    assert ours["body"].startswith(marker + "\n### reconciler plan") and "other-v1" in ours["body"]

    (ci.root / "seed" / "specs" / "jobs.yaml").write_text(SPECS.replace("other-v1", "other-v2"))
    git("commit", "-q", "-am", "suffix", cwd=ci.root / "seed", env=ci.env)
    git("push", "-q", str(ci.origin), "HEAD:main", cwd=ci.root / "seed", env=ci.env)
    _ok(ci.gitlab(GITLAB_NO_DB, "plan", merge_request))
    assert ci.recorder.notes[:3] == others and len(ci.recorder.notes) == 4, ci.recorder.notes
    assert ci.recorder.notes[3]["id"] == ours["id"] and "other-v2" in ci.recorder.notes[3]["body"]


# ---------------------------------------------------------------- the pg backend (recommended)

SETTINGS = """\
kind: Settings
name: default
spec:
  backend: {type: pg, schema: %s}
"""


@pytest.fixture
def ci_pg(ci: Ci, pg_conninfo: str) -> Ci:
    from tests.pgcluster import fresh_schema

    ci.pg_conn = pg_conninfo
    ci.setup(settings=SETTINGS % fresh_schema())
    return ci


def _nothing_under_state(ci: Ci) -> None:
    tree = git("ls-tree", "-r", "--name-only", "main", cwd=ci.origin, env=ci.env)
    assert "state/" not in tree, tree  # the pg backend keeps it: nothing to commit


def test_github_pg_plan_apply_drift_sync(ci_pg: Ci):
    ci = ci_pg
    plan = _ok(ci.github(GITHUB / "reconciler-plan.yml", _pr()))
    assert "FineTuningJob.bot" in (plan.folder / "plan.md").read_text()
    comments = [json.loads(line) for line in (ci.root / "gh.log").read_text().splitlines()]
    assert comments[-1]["args"][:3] == ["pr", "comment", "12"] and "FineTuningJob.bot" in comments[-1]["body"]

    ci.merged(12)
    _ok(ci.github(GITHUB / "reconciler-apply.yml", ci.push()))
    _one_job_each(ci)
    # A fresh clone has no state file: the next pull request's plan and its apply read the state
    # from PostgreSQL.
    _ok(ci.github(GITHUB / "reconciler-plan.yml", _pr(13)))
    ci.merged(13)
    second = _ok(ci.github(GITHUB / "reconciler-apply.yml", ci.push()))
    assert "No changes" in second.output, second.output
    _one_job_each(ci)
    _nothing_under_state(ci)

    sync = ci.github(GITHUB / "reconciler-sync.yml", _schedule())
    assert sync.code("reconciler sync") == 0 and "Traceback" not in sync.output, sync.output
    assert (sync.folder / "sync-drift.md").is_file(), sync.output
    _one_job_each(ci)
    _nothing_under_state(ci)
    _drift_runs(ci, lambda: ci.github(GITHUB / "reconciler-drift.yml", _schedule(),
                                      {"RECONCILER_WEBHOOK": f"{ci.hook}/hook"}))
    _nothing_under_state(ci)


def test_github_pg_apply_without_the_secret_fails_in_one_line(ci_pg: Ci):
    ci = ci_pg
    ci.pg_conn = ""
    run = ci.github(GITHUB / "reconciler-apply.yml", _push())
    assert run.code("Check the state backend") == 1, run.output
    assert "secret RECONCILER_PG_CONN_STR is not set" in run.output
    assert ci.jobs() == {}


def test_gitlab_pg_plan_apply_drift(ci_pg: Ci):
    ci = ci_pg
    merge_request = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "5"}
    _ok(ci.gitlab(GITLAB, "validate", merge_request))
    plan = _ok(ci.gitlab(GITLAB, "plan", merge_request))
    notes = [body for p, body in ci.recorder.received if p == "/api/v4/projects/7/merge_requests/5/notes"]
    assert len(notes) == 1 and "FineTuningJob.bot" in notes[0]["body"], plan.output

    ci.merged(5)
    push = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main"}
    _ok(ci.gitlab(GITLAB, "apply", push))
    _one_job_each(ci)
    _ok(ci.gitlab(GITLAB, "plan", {**merge_request, "CI_MERGE_REQUEST_IID": "6"}))
    ci.merged(6)
    second = _ok(ci.gitlab(GITLAB, "apply", push))
    assert "No changes" in second.output, second.output
    _one_job_each(ci)
    _nothing_under_state(ci)

    schedule = {"CI_PIPELINE_SOURCE": "schedule", "RECONCILER_WEBHOOK": f"{ci.hook}/hook"}
    _drift_runs(ci, lambda: ci.gitlab(GITLAB, "drift", schedule))
    _nothing_under_state(ci)


# ---------------------------------------------------------------- the merge applies what was reviewed

def _push_to_main(ci: Ci, specs: str, message: str) -> None:
    (ci.root / "seed" / "specs" / "jobs.yaml").write_text(specs)
    git("commit", "-q", "-am", message, cwd=ci.root / "seed", env=ci.env)
    git("push", "-q", str(ci.origin), "HEAD:main", cwd=ci.root / "seed", env=ci.env)


@pytest.mark.parametrize("platform", ["github", "gitlab"])
def test_a_stale_reviewed_plan_is_refused_not_planned_again(ci: Ci, platform: str):
    """The pull request's plan was saved; main moved on (another merge changed a spec) before it
    was merged: the apply refuses the plan, names what changed, and creates nothing."""
    ci.setup()
    _ok(_plan_without_database(ci, platform))
    _push_to_main(ci, SPECS.replace("other-v1", "other-v2"), "another merge")
    ci.merged(12 if platform == "github" else 5)
    run = _apply_without_database(ci, platform, planned=True)
    assert run.failed, run.output
    assert "specs/jobs.yaml changed since the plan was made" in run.output, run.output
    assert "A stale plan is never planned again here" in run.output, run.output
    assert ci.jobs() == {}


@pytest.mark.parametrize("platform", ["github", "gitlab"])
def test_a_commit_without_a_reviewed_plan_applies_nothing(ci: Ci, platform: str):
    """Specs pushed to main directly: no pull request showed a plan of them, nothing is applied."""
    ci.setup()
    run = _apply_without_database(ci, platform, planned=True)
    assert run.failed, run.output
    assert "came from no merged" in run.output, run.output
    assert ci.jobs() == {}


@pytest.mark.parametrize("platform", ["github", "gitlab"])
def test_a_failed_plan_posts_its_error_and_saves_no_plan(ci: Ci, platform: str):
    """A plan that fails (here a misspelt field) is still the comment: its error, not an empty
    plan; the job fails and there is no plan to apply."""
    ci.setup()
    _push_to_main(ci, SPECS.replace("  suffix: bot-v1", "  sufix: bot-v1"), "typo")
    run = _plan_without_database(ci, platform)
    assert run.failed, run.output
    assert not (run.folder / "plan.json").exists()
    if platform == "github":
        body = [json.loads(line) for line in (ci.root / "gh.log").read_text().splitlines()][-1]["body"]
    else:
        body = ci.recorder.notes[-1]["body"]
    assert body.startswith("<!-- reconciler-plan:default -->\n### reconciler: the plan failed"), body
    assert "sufix" in body, body
    ci.merged(12 if platform == "github" else 5)
    applied = _apply_without_database(ci, platform, planned=True)
    assert applied.failed and "no successful plan" in applied.output, applied.output
    assert ci.jobs() == {}
