"""Fault soak: apply/plan cycles against the sandbox with seeded random faults (latency, 429 with
Retry-After, 500, 503, dropped connections, slow answers past the client's read timeout) while
the specs change between cycles (jobs added, removed, replaced; files added and removed; the
projects of a checkpoint permission changed; the clock moved so jobs finish). At the end, with
the faults off, one apply converges and: the sandbox world equals the specs, no job was ever
created twice for the same address and inputs, and the state matches the world.

Default: 8 cycles. `-m slow`: RECONCILER_SOAK_CYCLES (default 200), seed RECONCILER_SOAK_SEED.
The CLI runs as a subprocess with its HTTP read timeout lowered to 1 s (SOAK_TIMEOUT) so that the
sandbox's slow answers (1.5 s) really time out and are retried."""

from __future__ import annotations

import collections
import os
import random
import subprocess
import sys
import time

import pytest

from reconciler.state import StateStore

from .helpers import Cli, chat_jsonl, files, grants, jobs_by_address, plain_name, report

ACTIVE = {"validating_files", "queued", "running", "paused"}
PROJECTS = ["proj_a", "proj_b", "proj_c", "proj_d", "proj_e"]
FAULTS = {"latency_ms": 3, "jitter_ms": 10, "rate_429": 0.05, "retry_after": 0.05, "rate_500": 0.03,
          "rate_503": 0.03, "drop_rate": 0.03, "slow_rate": 0.01, "slow_ms": 1500}

# The CLI, with the API client's timeout lowered (the CLI has no flag for it).
SHORT_TIMEOUT_CLI = """\
import os, sys
import reconciler.api.client as c
_init = c.ApiClient.__init__
def init(self, *a, **k):
    k["timeout"] = float(os.environ["SOAK_TIMEOUT"])
    _init(self, *a, **k)
c.ApiClient.__init__ = init
from reconciler.cli import main
sys.argv = ["reconciler"] + sys.argv[1:]
main()
"""


class Desired:
    """The specs, as data; rendered to YAML each cycle."""

    def __init__(self) -> None:
        self.files = {"f0": "topic0"}
        self.jobs = {"base": {"file": "f0", "suffix": "base"}}
        self.projects = ["proj_a"]
        self.share = False

    def render(self) -> str:
        docs = []
        for name in sorted(self.files):
            docs.append(f"kind: File\nname: {name}\nspec: {{path: data/{name}.jsonl}}\n")
        for name, job in sorted(self.jobs.items()):
            docs.append(f"kind: FineTuningJob\nname: {name}\nspec: {{model: gpt-4o-mini, training_file: "
                        f"\"${{File.{job['file']}.id}}\", suffix: {job['suffix']}}}\n")
        if self.share:
            docs.append("kind: CheckpointPermission\nname: share\nspec:\n"
                        "  fine_tuned_model_checkpoint: ${FineTuningJob.base.fine_tuned_model}\n"
                        f"  project_ids: [{', '.join(self.projects)}]\n  exclusive: true\n")
        return "---\n".join(docs)

    def mutate(self, rng: random.Random, cycle: int, specs_dir, sb, counts: collections.Counter) -> None:
        ops = ["add_job", "remove_job", "replace_job", "add_file", "remove_file", "projects", "advance"]
        for op in rng.sample(ops, k=rng.randint(1, 2)):
            others = [n for n in self.jobs if n != "base"]
            if op == "add_job" and len(others) < 6:
                self.jobs[f"j{cycle}"] = {"file": rng.choice(sorted(self.files)), "suffix": f"s{cycle}"}
            elif op == "remove_job" and others:
                del self.jobs[rng.choice(others)]
            elif op == "replace_job" and others:
                self.jobs[rng.choice(others)]["suffix"] = f"r{cycle}"
            elif op == "add_file" and len(self.files) < 4:
                name = f"f{cycle}"
                self.files[name] = f"topic{cycle}"
                (specs_dir / "data" / f"{name}.jsonl").write_text(chat_jsonl(topic=f"topic{cycle}"))
            elif op == "remove_file":
                used = {j["file"] for j in self.jobs.values()}
                unused = [f for f in self.files if f not in used]
                if unused:
                    del self.files[rng.choice(unused)]
                else:
                    continue
            elif op == "projects" and self.share:
                self.projects = sorted(rng.sample(PROJECTS, k=rng.randint(1, 3)))
            elif op == "advance":
                sb.advance(rng.choice([30, 90, 200]))
            else:
                continue
            counts[f"change {op}"] += 1


def _soak(tmp, cycles: int, seed: int) -> dict:
    from reconciler_sandbox.testing import run_sandbox

    rng = random.Random(seed)
    root = tmp / "soak"
    (root / "specs" / "data").mkdir(parents=True)
    (root / "specs" / "data" / "f0.jsonl").write_text(chat_jsonl(topic="topic0"))
    desired = Desired()
    counts: collections.Counter = collections.Counter()
    start = time.monotonic()
    with run_sandbox() as sb:
        injected: collections.Counter = collections.Counter()
        decide = sb.sandbox.faults.decide

        def counting_decide(*args, **kwargs):
            decision = decide(*args, **kwargs)
            kind = ("drop" if decision.drop else "slow" if decision.slow_s else
                    str(decision.status) if decision.status else None)
            if kind:
                injected[kind] += 1
            injected["requests_seen"] += 1
            return decision

        sb.sandbox.faults.decide = counting_decide
        cli = Cli(root, sb.base_url, extra_env={"SOAK_TIMEOUT": "1.0"})

        def run(*args: str) -> subprocess.CompletedProcess:
            proc = subprocess.run([sys.executable, "-c", SHORT_TIMEOUT_CLI, *cli.argv(*args)[3:]],
                                  env=cli.env(), check=False, capture_output=True, text=True, timeout=600, cwd=root)
            text = proc.stdout + proc.stderr
            assert "Traceback" not in text and proc.returncode != 3, text
            return proc

        # the base job finishes first, so its model can be shared
        cli.write("main.yaml", desired.render())
        cli.ok("apply", "--auto-approve")
        sb.advance(3600)
        desired.share = True
        sb.set_faults(**FAULTS, seed=seed)
        for cycle in range(1, cycles + 1):
            desired.mutate(rng, cycle, root / "specs", sb, counts)
            cli.write("main.yaml", desired.render())
            applied = run("apply", "--auto-approve", "--parallelism", str(rng.choice([1, 4, 10])))
            counts[f"apply exit {applied.returncode}"] += 1
            counts["retries logged"] += applied.stderr.count("retrying")
            planned = run("plan", "--detailed-exitcode")
            counts[f"plan exit {planned.returncode}"] += 1
        sb.clear_faults()
        counts["applies to converge after faults"] = cli.converge()
        figures = _check_world(sb, cli, desired)
    return {"cycles": cycles, "seed": seed, "faults_injected": {k: v for k, v in injected.items()
                                                                 if k != "requests_seen"},
            "faults_total": sum(v for k, v in injected.items() if k != "requests_seen"),
            "requests_seen": injected["requests_seen"], **dict(counts), **figures,
            "seconds": round(time.monotonic() - start)}


def _check_world(sb, cli: Cli, desired: Desired) -> dict:
    found = jobs_by_address(sb)
    assert None not in found, "a job without reconciler metadata"
    # no job was ever created twice for the same address and inputs (any status)
    by_intent = collections.Counter((a, j["metadata"]["reconciler_digest"]) for a, js in found.items() for j in js)
    duplicates = {k: n for k, n in by_intent.items() if n > 1}
    state = StateStore(cli.state_file).load()
    wanted = {f"FineTuningJob.{n}" for n in desired.jobs}
    for address, jobs in found.items():
        active = [j for j in jobs if j["status"] in ACTIVE]
        if address not in wanted:
            assert not active, (address, active)  # removed from the specs: cancelled, none left running
            continue
        resource = state.resources[address]
        current = [j for j in jobs if j["id"] == resource.id]
        assert len(current) == 1 and current[0]["status"] != "cancelled", (address, jobs)
        spec = desired.jobs[address.split(".", 1)[1]]
        assert current[0]["user_provided_suffix"] == spec["suffix"], (address, current)
        assert current[0]["training_file"] == state.resources[f"File.{spec['file']}"].id
        assert all(j["id"] == resource.id for j in active), (address, active)   # old intents cancelled
    assert wanted <= set(found)
    names = collections.Counter(plain_name(f) for f in files(sb))
    assert names == {f"{n}.jsonl": 1 for n in desired.files}, names
    model = state.resources["FineTuningJob.base"].attributes["fine_tuned_model"]
    projects = collections.Counter(g["project_id"] for g in grants(sb, model))
    assert projects == {p: 1 for p in desired.projects}, (projects, desired.projects)
    expected = wanted | {f"File.{n}" for n in desired.files} | {"CheckpointPermission.share"}
    assert set(state.resources) == expected, set(state.resources) ^ expected
    file_ids = {plain_name(f): f["id"] for f in files(sb)}
    for name in desired.files:
        assert state.resources[f"File.{name}"].id == file_ids[f"{name}.jsonl"]
    assert not duplicates, duplicates
    return {"jobs_created": sum(by_intent.values()), "duplicates_found": len(duplicates),
            "final_jobs": len(wanted), "final_files": len(desired.files)}


def test_fault_soak_short(tmp_path):
    figures = _soak(tmp_path, cycles=8, seed=int(os.environ.get("RECONCILER_SOAK_SEED", "1")))
    report("soak_short", figures)
    assert figures["faults_total"] >= 5, figures


@pytest.mark.slow
def test_fault_soak_200_cycles(tmp_path):
    figures = _soak(tmp_path, cycles=int(os.environ.get("RECONCILER_SOAK_CYCLES", "200")),
                    seed=int(os.environ.get("RECONCILER_SOAK_SEED", "1")))
    report("soak", figures)
    assert figures["faults_total"] >= 100, figures
