"""Azure OpenAI as a platform (the data plane), through the real CLI in a subprocess:

- examples/azure as written against the built-in `--sandbox` (an azure default Provider starts the
  Azure-flavoured sandbox): apply --wait=jobs trains, a second plan says "No changes.", inventory
  and drift name the platform and Azure's end dates;
- an azure Provider pointed at an Azure sandbox the test serves, with a resource key (never in any
  output or in the state), an endpoint the operator must allow, a wrong key answered with Azure's
  401 and reported in one line;
- `auth: entra` through azure-identity's DefaultAzureCredential against a local managed-identity
  token endpoint (App Service's IDENTITY_ENDPOINT / IDENTITY_HEADER) served by the test over HTTP:
  the token goes to the API as a bearer token, a new one is fetched when the last expires, and
  neither appears in any output;
- a CheckpointPermission (or data.CheckpointPermissions) on an azure Provider refused at validate.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from reconciler_sandbox.testing import run_sandbox

from .conftest import chat_jsonl

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "azure"
AZURE_KEY = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"


def cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_", "IDENTITY_", "MSI_"))}
    base["NO_COLOR"] = "1"
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, env=base, capture_output=True,
                          text=True, timeout=300, check=False)


def ok(proc: subprocess.CompletedProcess[str], code: int = 0) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode == code, f"exit {proc.returncode}\n{out}"
    assert "Traceback" not in out
    return out


# -- examples/azure with --sandbox ----------------------------------------------------------------

def test_example_trains_on_the_azure_sandbox_and_then_says_no_changes(tmp_path: Path) -> None:
    folder = tmp_path / "azure"
    shutil.copytree(EXAMPLE, folder)
    plan = ok(cli(folder, "plan", "--sandbox", "-C", "."))
    assert "platform:      Azure OpenAI (api-version 2025-04-01-preview)" in plan
    assert "until" not in plan and "stop answering on 2027-10-14" in plan   # Azure's end, not OpenAI's
    # Azure's per-token training prices are not shipped (unsourced): unknown, never OpenAI's price
    assert "no price for gpt-4.1-mini-2025-04-14 (supervised) on azure: add one to Settings spec.pricing" in plan
    applied = ok(cli(folder, "apply", "--sandbox", "-C", ".", "--auto-approve", "--wait=jobs"))
    assert "Training succeeded" in applied and "Apply complete! Resources: 3 added" in applied
    assert "Deployment.sql_assistant: Deployment complete" in applied
    assert "No changes." in ok(cli(folder, "plan", "--sandbox", "-C", "."))

    state = json.loads((folder / "state" / "default.json").read_text())
    assert state["api"]["base_url"].endswith("/openai")
    inventory = json.loads(ok(cli(folder, "inventory", "--sandbox", "-C", ".", "--json")))
    [entry] = inventory["models"] if isinstance(inventory, dict) else inventory
    assert entry["platform"] == "azure"
    assert entry["model"].startswith("gpt-4.1-mini-2025-04-14.ft-") and len(entry["model"].split(".ft-")[1]) == 32
    assert entry["serving_end"] == "2027-10-14"
    assert entry["deployments"] == [{"name": "sql_assistant", "sku": "Standard", "capacity": 1,
                                     "address": "Deployment.sql_assistant"}]
    drift = ok(cli(folder, "drift", "--sandbox", "-C", "."))
    assert "(azure): until 2027-10-14" in drift
    ok(cli(folder, "report", "--sandbox", "-C", ".", "--html", "report.html"))
    page = (folder / "report.html").read_text()
    assert "no price for gpt-4.1-mini-2025-04-14 (supervised) on azure" in page   # never OpenAI's price


def test_example_as_its_readme_runs_it_deploys_on_the_second_apply(tmp_path: Path) -> None:
    """apply (the job starts, its Deployment waits), `sandbox advance 2h`, apply again: deployed,
    through the same Azure sandbox's Resource Manager routes; the OpenAI sandbox is never started."""
    folder = tmp_path / "azure"
    shutil.copytree(EXAMPLE, folder)
    first = ok(cli(folder, "apply", "--sandbox", "-C", ".", "--auto-approve"))
    assert "Apply complete! Resources: 2 added" in first and "? Deployment.sql_assistant" in first
    ok(cli(folder, "sandbox", "advance", "2h", "-C", "."))
    second = ok(cli(folder, "apply", "--sandbox", "-C", ".", "--auto-approve"))
    assert "Deployment.sql_assistant: Creation complete" in second, second
    assert "Apply complete! Resources: 1 added" in second
    assert "No changes." in ok(cli(folder, "plan", "--sandbox", "-C", "."))
    world = json.loads((folder / "state" / "sandbox-world-azure.json").read_text())
    [deployment] = world["deployments"].values()
    assert deployment["model"]["name"].startswith("gpt-4.1-mini-2025-04-14.ft-")
    assert not (folder / "state" / "sandbox-world.json").exists()


# -- an azure Provider against a served Azure sandbox ---------------------------------------------

def azure_provider(endpoint: str, auth: str = "api_key_env: AZURE_OPENAI_API_KEY", version: str = "") -> str:
    return textwrap.dedent(f"""\
    kind: Provider
    name: default
    spec:
      type: azure
      endpoint: {endpoint}
      {auth}
    """) + (f"  api_version: {version}\n" if version else "")


JOB = textwrap.dedent("""\
    ---
    kind: File
    name: train
    spec: {path: data/train.jsonl}
    ---
    kind: FineTuningJob
    name: bot
    spec:
      model: gpt-4o-mini-2024-07-18
      training_file: ${File.train.id}
      suffix: bot
    """)


def folder_with(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "specs"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "data" / "train.jsonl").write_text(chat_jsonl())
    (folder / "specs.yaml").write_text(text)
    return folder


@pytest.mark.parametrize("version", ["2025-04-01-preview", ""])
def test_key_goes_as_api_key_and_never_shows(tmp_path: Path, version: str) -> None:
    with run_sandbox(flavor="azure", azure_key=AZURE_KEY) as sb:
        folder = folder_with(tmp_path, azure_provider(sb.azure_endpoint, version=version) + JOB)
        env = {"AZURE_OPENAI_API_KEY": AZURE_KEY, "RECONCILER_ALLOWED_BASE_URLS": sb.azure_endpoint}
        outputs = [ok(cli(folder, "apply", "-C", ".", "--auto-approve", env=env))]
        sb.advance(3600)
        outputs.append(ok(cli(folder, "plan", "-C", ".", "--json", env=env)))
        outputs.append(ok(cli(folder, "drift", "-C", ".", env=env)))
        jobs = sb.world.jobs.items
        assert len(jobs) == 1
        [job] = jobs.values()
        assert job["metadata"]["reconciler_address"] == "FineTuningJob.bot"   # ownership marks kept
        stats = sb.stats()
        assert stats.get("POST /v1/fine_tuning/jobs") == 1
        state = (folder / "state" / "default.json").read_text()
        for text in [*outputs, state]:
            assert AZURE_KEY not in text


def test_wrong_key_is_azures_401_in_one_line(tmp_path: Path) -> None:
    with run_sandbox(flavor="azure", azure_key=AZURE_KEY) as sb:
        folder = folder_with(tmp_path, azure_provider(sb.azure_endpoint) + JOB)
        wrong = "f" * 32
        env = {"AZURE_OPENAI_API_KEY": wrong, "RECONCILER_ALLOWED_BASE_URLS": sb.azure_endpoint}
        out = ok(cli(folder, "plan", "-C", ".", env=env), code=1)
        assert "Access denied due to invalid subscription key or wrong API endpoint" in out
        assert wrong not in out
        assert sb.world.jobs.items == {}


def test_endpoint_not_allowed_and_bad_key_shape_are_refused_before_any_request(tmp_path: Path) -> None:
    with run_sandbox(flavor="azure") as sb:
        folder = folder_with(tmp_path, azure_provider(sb.azure_endpoint) + JOB)
        out = ok(cli(folder, "plan", "-C", ".", env={"AZURE_OPENAI_API_KEY": AZURE_KEY}), code=1)
        assert "specs.yaml:5" in out and "not an allowed endpoint" in out and "*.openai.azure.com" in out
        env = {"AZURE_OPENAI_API_KEY": "postgres://u:p@db/x", "RECONCILER_ALLOWED_BASE_URLS": sb.azure_endpoint}
        out = ok(cli(folder, "plan", "-C", ".", env=env), code=1)
        assert "AZURE_OPENAI_API_KEY holds a URL, not an Azure OpenAI resource key" in out
        assert sb.stats() == {}


# -- auth: entra through azure-identity against a local managed-identity endpoint -------------------

class TokenEndpoint:
    """App Service's managed-identity endpoint (GET ?api-version=2019-08-01&resource=…, header
    X-IDENTITY-HEADER), handing out numbered tokens that expire `lifetime` seconds after issue."""

    def __init__(self, lifetime: int) -> None:
        self.lifetime = lifetime
        self.issued: list[str] = []
        self.resources: list[str] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                from urllib.parse import parse_qs, urlsplit

                query = parse_qs(urlsplit(self.path).query)
                if self.headers.get("X-IDENTITY-HEADER") != "identity-secret":
                    self.send_response(401)
                    self.end_headers()
                    return
                endpoint.resources.append(query.get("resource", [""])[0])
                token = f"entra-token-{len(endpoint.issued) + 1:04d}-{'x' * 40}"
                endpoint.issued.append(token)
                body = json.dumps({"access_token": token, "token_type": "Bearer",
                                   "expires_on": str(int(time.time()) + endpoint.lifetime),
                                   "resource": query.get("resource", [""])[0]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/msi/token"

    def __enter__(self) -> TokenEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("lifetime", [3600, 10])
def test_entra_token_from_default_azure_credential(tmp_path: Path, lifetime: int) -> None:
    with TokenEndpoint(lifetime) as tokens, run_sandbox(flavor="azure", azure_key=AZURE_KEY) as sb:
        folder = folder_with(tmp_path, azure_provider(sb.azure_endpoint, auth="auth: entra") + JOB)
        env = {"IDENTITY_ENDPOINT": tokens.url, "IDENTITY_HEADER": "identity-secret",
               "RECONCILER_ALLOWED_BASE_URLS": sb.azure_endpoint}
        outputs = [ok(cli(folder, "apply", "-C", ".", "--auto-approve", env=env))]
        outputs.append(ok(cli(folder, "plan", "-C", ".", env=env)))
        assert "Microsoft Entra ID (auth: entra)" in outputs[-1]
        assert "No changes." in outputs[-1]
        assert tokens.resources and set(tokens.resources) == {"https://cognitiveservices.azure.com"}
        requests = sum(sb.stats().values())
        if lifetime < 300:
            # a token within 5 minutes of its end is renewed before it is sent: one per request
            assert len(tokens.issued) >= requests - 1 > 2
        else:
            assert len(tokens.issued) == 2, tokens.issued   # one per CLI run: cached for the rest of it
        state = (folder / "state" / "default.json").read_text()
        for text in [*outputs, state]:
            for token in tokens.issued:
                assert token not in text
            assert "identity-secret" not in text


def test_entra_without_any_credential_is_one_line(tmp_path: Path) -> None:
    with run_sandbox(flavor="azure") as sb:
        folder = folder_with(tmp_path, azure_provider(sb.azure_endpoint, auth="auth: entra") + JOB)
        env = {"RECONCILER_ALLOWED_BASE_URLS": sb.azure_endpoint, "PATH": "/nonexistent",
               "HOME": str(tmp_path), "AZURE_CONFIG_DIR": str(tmp_path / "az")}
        out = ok(cli(folder, "plan", "-C", ".", env=env), code=1)
        assert "Microsoft Entra ID gave no token (auth: entra" in out
        assert sb.world.jobs.items == {}


# -- what Azure does not have ---------------------------------------------------------------------

@pytest.mark.parametrize("document", [
    "kind: CheckpointPermission\nname: share\nspec:\n  fine_tuned_model_checkpoint: ${FineTuningJob.bot.fine_tuned_model}\n"
    "  project_ids: [proj_other]\n",
    "kind: data.CheckpointPermissions\nname: grants\nspec:\n  fine_tuned_model_checkpoint: ft:gpt-4o-mini-2024-07-18:org::abc\n",
])
def test_checkpoint_permissions_on_azure_are_refused_at_validate(tmp_path: Path, document: str) -> None:
    folder = folder_with(tmp_path, azure_provider("https://res.openai.azure.com") + JOB + "---\n" + document)
    out = ok(cli(folder, "validate", "-C", "."), code=1)
    [line] = [x for x in out.splitlines() if "Provider.default" in x]
    assert "not available on Provider.default (type: azure)" in line and "specs.yaml:" in line


# -- a lost create answer where job metadata is not kept --------------------------------------------

def test_lost_create_answer_without_metadata_is_never_sent_twice(tmp_path: Path) -> None:
    with run_sandbox(flavor="azure", azure_key=AZURE_KEY, azure_metadata=False) as sb:
        folder = folder_with(tmp_path, azure_provider(sb.azure_endpoint) + JOB)
        env = {"AZURE_OPENAI_API_KEY": AZURE_KEY, "RECONCILER_ALLOWED_BASE_URLS": sb.azure_endpoint}
        sb.set_faults(drop_rate=1.0, paths=["/v1/fine_tuning/jobs"], methods=["POST"])
        out = ok(cli(folder, "apply", "-C", ".", "--auto-approve", env=env), code=1)
        [job] = sb.world.jobs.items.values()      # made once, its answer lost
        assert job["metadata"] is None
        assert "does not keep job metadata" in out and "not creating it again" in out
        assert "reconciler import FineTuningJob.bot JOB_ID" in out
        assert sb.stats().get("POST /v1/fine_tuning/jobs") == 1


def test_azure_price_from_settings_prices_the_plan(tmp_path: Path) -> None:
    folder = tmp_path / "azure"
    shutil.copytree(EXAMPLE, folder)
    with (folder / "specs.yaml").open("a") as specs:
        specs.write("---\nkind: Settings\nname: default\nspec:\n  pricing:\n    - {platform: azure, model: "
                    "gpt-4.1-mini-2025-04-14, method: supervised, per_1m_tokens: 7.5}\n")
    plan = json.loads(ok(cli(folder, "plan", "--sandbox", "-C", ".", "--json")))
    [job] = [c for c in plan["resource_changes"] if c["address"] == "FineTuningJob.sql_assistant"]
    assert job["cost"]["price"]["platform"] == "azure" and job["cost"]["price"]["usd"] == 7.5
    assert job["cost"]["usd"] == pytest.approx(job["cost"]["billed_tokens"] * 7.5 / 1e6)


# -- moving from OpenAI to Azure: one reviewed plan ---------------------------------------------------

OPENAI_SPECS = textwrap.dedent("""\
    kind: File
    name: train
    spec: {path: data/train.jsonl}
    ---
    kind: FineTuningJob
    name: bot
    spec:
      model: gpt-4.1-mini-2025-04-14
      training_file: ${File.train.id}
      suffix: bot
    """)
AZURE_PROVIDER = textwrap.dedent("""\
    kind: Provider
    name: azure
    spec:
      type: azure
      endpoint: https://my-resource.openai.azure.com
      api_key_env: AZURE_OPENAI_API_KEY
    ---
    """)


def test_switching_provider_to_azure_retrains_there_and_keeps_the_openai_objects(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, OPENAI_SPECS)
    ok(cli(folder, "apply", "--sandbox", "-C", ".", "--auto-approve", "--wait=jobs"))
    moved = OPENAI_SPECS.replace("name: train\n", "name: train\nprovider: azure\n").replace(
        "name: bot\n", "name: bot\nprovider: azure\n")
    (folder / "specs.yaml").write_text(AZURE_PROVIDER + moved)
    plan = ok(cli(folder, "plan", "--sandbox", "-C", "."))
    assert "Plan: 2 to add, 0 to change, 0 to destroy. (2 to forget)" in plan
    assert "moves from openai to azure: the openai file is kept, not deleted" in plan
    assert "stays on openai, its model serving until openai shuts it down" in plan
    assert "delete" not in plan.lower().replace("not deleted", "") and "cancel" not in plan.lower()
    assert "no price for gpt-4.1-mini-2025-04-14 (supervised) on azure" in plan   # the move's cost, as known
    ok(cli(folder, "apply", "--sandbox", "-C", ".", "--auto-approve", "--wait=jobs"))
    assert "No changes." in ok(cli(folder, "plan", "--sandbox", "-C", "."))

    openai_world = json.loads((folder / "state" / "sandbox-world.json").read_text())
    azure_world = json.loads((folder / "state" / "sandbox-world-azure.json").read_text())
    assert len(openai_world["jobs"]["items"]) == 1 and len(openai_world["files"]["items"]) == 1   # kept
    assert len(azure_world["jobs"]["items"]) == 1 and len(azure_world["files"]["items"]) == 1
    state = json.loads((folder / "state" / "default.json").read_text())
    [job_id] = azure_world["jobs"]["items"]
    assert state["resources"]["FineTuningJob.bot"]["id"] == job_id
    assert state["resources"]["FineTuningJob.bot"]["meta"]["provider"] == "azure"


# -- the quick start after OpenAI's end of new jobs ---------------------------------------------------

def test_quick_start_pins_the_clock_and_azure_trains_after_openais_end(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    line = next(x for x in readme.splitlines() if "reconciler apply --sandbox --auto-approve --wait" in x)
    pin = re.search(r"RECONCILER_SANDBOX_NOW=(\S+) ", line)
    assert pin is not None
    clone = tmp_path / "clone"
    shutil.copytree(ROOT / "specs", clone / "specs")
    # the quick start as written on a machine whose clock is past 2027-01-06: the pin still trains
    out = ok(cli(clone, "apply", "--sandbox", "--auto-approve", "--wait", "--poll-interval", "0.2",
                 env={"RECONCILER_SANDBOX_NOW": pin.group(1), "RECONCILER_SANDBOX_SPEED": "1000"}))
    assert "Apply complete!" in out
    # examples/azure, as the README says, on a clock past OpenAI's end: Azure still trains
    folder = tmp_path / "azure"
    shutil.copytree(EXAMPLE, folder)
    out = ok(cli(folder, "apply", "--sandbox", "-C", ".", "--auto-approve", "--wait=jobs",
                 env={"RECONCILER_SANDBOX_NOW": "2027-02-01T00:00:00Z"}))
    assert "Training succeeded" in out


def test_a_saved_plan_is_stale_once_the_azure_provider_changes(tmp_path: Path) -> None:
    folder = tmp_path / "azure"
    shutil.copytree(EXAMPLE, folder)
    ok(cli(folder, "plan", "--sandbox", "-C", ".", "--out", "plan.json"))
    specs = folder / "specs.yaml"
    specs.write_text(specs.read_text().replace("api_version: 2025-04-01-preview", "api_version: 2024-10-21"))
    out = ok(cli(folder, "apply", "--sandbox", "-C", ".", "plan.json"), code=1)
    assert "Provider.default changed since the plan was made (api_version: '2025-04-01-preview' → '2024-10-21')" in out
    assert not (folder / "state" / "sandbox-world-azure.json").exists() or \
        json.loads((folder / "state" / "sandbox-world-azure.json").read_text())["jobs"]["items"] == {}
