"""Issue 6's promises end to end: drift in four formats, ignore rules, import, moves, prune,
notifications and the safety rails, against the sandbox over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import importlib.resources
import io
import json
import threading
from typing import ClassVar

import jsonschema
import pytest
from junitparser import JUnitXml

from .conftest import JOB_SPEC, PERMISSION_SPEC

SECOND_PERMISSION = """\
---
kind: CheckpointPermission
name: share_loose
spec:
  fine_tuned_model_checkpoint: ${FineTuningJob.bot.fine_tuned_model}
  project_ids: [proj_gamma]
  exclusive: false
"""


def _schema(name: str) -> dict:
    return json.loads((importlib.resources.files("reconciler") / "render" / "schema" / name).read_text())


@pytest.fixture
def synced(world):
    world.write("main.yaml", JOB_SPEC + PERMISSION_SPEC % "true" + """---
kind: FineTuningJob
name: other
spec:
  model: gpt-4o-mini
  training_file: ${File.train.id}
  suffix: other
""")
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.ok("apply", "--auto-approve")
    # `other` is re-created later in some tests; make it active again for the cancel case
    return world


def _make_drift(world):
    sdk = world.sdk()
    state = world.state()["resources"]
    checkpoint = state["CheckpointPermission.share"]["id"]
    # a job created in the dashboard, with no spec
    file_id = state["File.train"]["id"]
    dashboard = sdk.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id, suffix="by-hand")
    # a permission granted by hand, another revoked by hand
    sdk.fine_tuning.checkpoints.permissions.create(checkpoint, project_ids=["proj_intruder"])
    beta = next(g for g in state["CheckpointPermission.share"]["attributes"]["permissions"]
                if g["project_id"] == "proj_beta")
    sdk.fine_tuning.checkpoints.permissions.delete(beta["id"], fine_tuned_model_checkpoint=checkpoint)
    return dashboard.id


def test_in_sync_is_exit_0(synced):
    result = synced.ok("drift")
    assert result.output.startswith("IN SYNC: no drift; health: ok")


def test_drift_in_all_four_formats(synced, tmp_path):
    # a job cancelled via the SDK: replace `other` with an active one first
    synced.write("main.yaml", (synced.specs / "main.yaml").read_text().replace("suffix: other", "suffix: other2"))
    synced.ok("apply", "--auto-approve")
    other_id = synced.state()["resources"]["FineTuningJob.other"]["id"]
    synced.sdk().fine_tuning.jobs.cancel(other_id)
    dashboard_id = _make_drift(synced)

    md, js, xml = tmp_path / "drift.md", tmp_path / "drift.json", tmp_path / "drift.xml"
    result = synced.run("drift", "--output", str(md), "--output", str(js), "--output", str(xml))
    assert result.exit_code == 2, result.output
    text = result.output
    assert text.startswith("DRIFTED:")
    expectations = ["FineTuningJob.other", "cancelled outside reconciler", "proj_intruder", "proj_beta",
                    f"unmanaged.FineTuningJob.{dashboard_id}"]
    markdown = md.read_text()
    report = json.loads(js.read_text())
    for needle in expectations:
        assert needle in text and needle in markdown and needle in js.read_text() and needle in xml.read_text(), needle
    assert markdown.startswith("### ⚠️ reconciler drift report") and "<details>" in markdown
    # JSON: the published schema, and the three booleans
    jsonschema.validate(report, _schema("drift.schema.json"))
    assert report["has_drift"] is True and report["in_sync"] is False
    categories = {(f["address"], f["category"]) for f in report["findings"]}
    assert ("FineTuningJob.other", "cancelled_outside") in categories
    assert ("CheckpointPermission.share", "grant_added") in categories
    assert ("CheckpointPermission.share", "grant_removed") in categories
    assert (f"unmanaged.FineTuningJob.{dashboard_id}", "unmanaged_job") in categories
    # JUnit: a standard parser, one failing case per drifted address
    suite = next(iter(JUnitXml.fromfile(str(xml))))
    failing = sorted(case.name for case in suite if any(r._tag == "failure" for r in case.result))
    drifted = sorted({f["address"] for f in report["findings"] if f["axis"] == "drift" and not f["ignored"]})
    assert failing == drifted
    assert "FineTuningJob.bot" in {case.name for case in suite}  # in sync: a passing case


def test_ignore_rule_hides_its_case_and_does_not_count(synced):
    dashboard_id = _make_drift(synced)
    (synced.specs / ".reconcilerignore").write_text(
        "- match: unmanaged.FineTuningJob.*\n  reason: the research team trains by hand\n"
        "- match: CheckpointPermission.share\n  attribute: grant[*]\n  reason: grants are handled by IT\n")
    result = synced.run("drift", "--format", "json")
    report = json.loads(result.output)
    assert result.exit_code == 0, report["summary"]
    ignored = [f for f in report["findings"] if f["ignored"]]
    assert {f["category"] for f in ignored} >= {"unmanaged_job", "grant_added", "grant_removed"}
    assert all(f["ignore_reason"] and f["ignore_rule"].endswith((":1", ":3")) for f in ignored)
    assert any(f["address"] == f"unmanaged.FineTuningJob.{dashboard_id}" for f in ignored)
    # negation: a later "!" rule un-ignores
    with (synced.specs / ".reconcilerignore").open("a") as fh:
        fh.write(f"- match: '!unmanaged.FineTuningJob.{dashboard_id}'\n  reason: but not this one\n")
    assert synced.run("drift").exit_code == 2


def test_ignore_rule_without_reason_is_a_clear_error(synced):
    (synced.specs / ".reconcilerignore").write_text("- match: FineTuningJob.*\n")
    result = synced.run("drift")
    assert result.exit_code == 1
    assert ".reconcilerignore:1" in result.output and "no reason" in result.output


def test_emit_ignore_writes_a_baseline(synced, tmp_path):
    _make_drift(synced)
    baseline = synced.specs / ".reconcilerignore"
    assert synced.run("drift", "--emit-ignore", str(baseline)).exit_code == 2
    assert synced.run("drift").exit_code == 0


def test_failed_job_is_health_not_drift(world):
    # invalid data uploaded by hand and named by id: plan and apply refuse a File with bad data
    bad = world.sdk().files.create(file=("bad.jsonl", io.BytesIO(b'{"prompt": "no messages"}\n' * 12)),
                                   purpose="fine-tune")
    world.write("main.yaml", JOB_SPEC.replace("${File.train.id}", bad.id))
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    result = world.run("drift", "--format", "json")
    report = json.loads(result.output)
    assert result.exit_code == 0, report
    assert report["has_errors"] is True and report["has_drift"] is False
    failed = [f for f in report["findings"] if f["category"] == "failed"]
    assert failed and failed[0]["axis"] == "health" and "invalid" in failed[0]["message"].lower()


def test_import_of_a_job_created_through_the_sdk(world):
    world.write("main.yaml", JOB_SPEC.split("---")[0])
    world.ok("apply", "--auto-approve")
    file_id = world.state()["resources"]["File.train"]["id"]
    job = world.sdk().fine_tuning.jobs.create(
        model="gpt-4o-mini", training_file=file_id, suffix="support-v1", metadata={"team": "support"},
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": "auto"}}})
    world.write("main.yaml", JOB_SPEC)
    result = world.ok("import", "FineTuningJob.bot", job.id)
    assert "Import successful!" in result.output
    plan = world.ok("plan", "--detailed-exitcode").output
    assert "No changes." in plan
    world.finish_jobs()  # once the model exists the suffix is checked too
    assert "No changes." in world.ok("plan", "--detailed-exitcode").output
    world.ok("apply", "--auto-approve")
    assert world.state()["resources"]["FineTuningJob.bot"]["inputs"]["suffix"] == "support-v1"


def test_import_block_in_specs(world):
    world.write("main.yaml", JOB_SPEC.split("---")[0])
    world.ok("apply", "--auto-approve")
    file_id = world.state()["resources"]["File.train"]["id"]
    job = world.sdk().fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id, suffix="support-v1",
                                              metadata={"team": "support"})
    world.write("main.yaml", JOB_SPEC + f"---\nimport: {{to: FineTuningJob.bot, id: {job.id}}}\n")
    plan = world.ok("plan").output
    assert "Plan: 0 to add, 0 to change, 0 to destroy. (1 to import)" in plan, plan
    assert "will be created" not in plan, plan
    world.ok("apply", "--auto-approve")
    assert world.state()["resources"]["FineTuningJob.bot"]["id"] == job.id
    assert len(world.jobs()) == 1


def test_import_with_a_different_spec_shows_the_difference(world):
    world.write("main.yaml", JOB_SPEC.split("---")[0])
    world.ok("apply", "--auto-approve")
    file_id = world.state()["resources"]["File.train"]["id"]
    job = world.sdk().fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id, seed=7,
                                              metadata={"team": "support"})
    world.write("main.yaml", JOB_SPEC + "  seed: 8\n")
    world.ok("import", "FineTuningJob.bot", job.id)
    plan = world.ok("plan", "--detailed-exitcode", code=2).output
    assert "seed = 7 -> 8" in plan and "must be replaced" in plan


def test_state_mv_and_moved_block_rename_without_replace(world):
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    job_id = world.state()["resources"]["FineTuningJob.bot"]["id"]
    # state mv
    world.write("main.yaml", JOB_SPEC.replace("name: bot", "name: assistant"))
    world.ok("state", "mv", "FineTuningJob.bot", "FineTuningJob.assistant")
    assert "No changes." in world.ok("plan", "--detailed-exitcode").output
    # moved block
    world.write("main.yaml", JOB_SPEC.replace("name: bot", "name: helper")
                + "---\nmoved: {from: FineTuningJob.assistant, to: FineTuningJob.helper}\n")
    plan = world.ok("plan").output
    assert "FineTuningJob.assistant has moved to FineTuningJob.helper" in plan
    assert "0 to add, 0 to change, 0 to destroy" in plan
    world.ok("apply", "--auto-approve")
    assert world.state()["resources"]["FineTuningJob.helper"]["id"] == job_id
    assert "No changes." in world.ok("plan", "--detailed-exitcode").output
    assert len(world.jobs()) == 1


def test_sync_prune_cancels_the_unmanaged_active_job(synced):
    dashboard_id = _make_drift(synced)
    result = synced.run("sync")  # without --prune: reports, converges, keeps the unmanaged job
    assert result.exit_code == 0, result.output
    jobs = {j["id"]: j for j in synced.jobs()}
    assert jobs[dashboard_id]["status"] not in ("cancelled",)
    result = synced.run("sync", "--prune")
    assert result.exit_code == 0, result.output
    assert f"unmanaged.FineTuningJob.{dashboard_id}: Destruction complete" in result.output
    jobs = {j["id"]: j for j in synced.jobs()}
    assert jobs[dashboard_id]["status"] == "cancelled"
    assert synced.run("drift").exit_code == 0


def test_sync_prune_never_touches_a_kind_the_specs_do_not_mention(world):
    world.write("main.yaml", JOB_SPEC.split("---")[0])  # only a File
    world.ok("apply", "--auto-approve")
    file_id = world.state()["resources"]["File.train"]["id"]
    job = world.sdk().fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
    world.ok("sync", "--prune")
    assert {j["id"]: j for j in world.jobs()}[job.id]["status"] != "cancelled"


def test_max_deletes_refuses(world):
    spec = JOB_SPEC + "".join(
        f"---\nkind: FineTuningJob\nname: extra{i}\nspec:\n  model: gpt-4o-mini\n  training_file: ${{File.train.id}}\n"
        for i in range(3))
    world.write("main.yaml", spec)
    world.ok("apply", "--auto-approve")
    world.write("main.yaml", JOB_SPEC)
    result = world.run("apply", "--auto-approve", "--max-deletes", "2")
    assert result.exit_code == 1 and "--max-deletes 2" in result.output
    assert len([j for j in world.jobs() if j["status"] != "cancelled"]) == 4


def test_empty_listing_aborts_instead_of_recreating(world):
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    # another project's key sees no jobs of ours: an empty listing, not deletion
    with world.sandbox.world.lock:
        for job_id in list(world.sandbox.world.jobs.items):
            world.sandbox.world.jobs.items.pop(job_id)
    for command in (["plan"], ["drift"], ["sync"]):
        result = world.run(*command)
        assert result.exit_code == 1, result.output
        assert "refusing to plan: the API listed no fine-tuning jobs" in result.output


def test_bad_key_aborts_the_drift_run(world):
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    result = world.run("drift", OPENAI_API_KEY="", OPENAI_ADMIN_KEY="")
    assert result.exit_code == 1 and "no API key" in result.output


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_webhook_only_on_new_or_resolved_drift_and_signed(synced):
    _Hook.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    secret = "s3cret-for-hmac"
    try:
        assert synced.run("drift", "--notify", url, RECONCILER_NOTIFY_SECRET=secret).exit_code == 0
        assert _Hook.received == []  # nothing new
        _make_drift(synced)
        assert synced.run("drift", "--notify", url, RECONCILER_NOTIFY_SECRET=secret).exit_code == 2
        assert len(_Hook.received) == 1
        headers, body = _Hook.received[0]
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Reconciler-Signature"] == expected
        payload = json.loads(body)
        assert payload["new"] and not payload["resolved"]
        assert any("proj_intruder" in f["message"] for f in payload["new"])
        assert synced.run("drift", "--notify", url, RECONCILER_NOTIFY_SECRET=secret).exit_code == 2
        assert len(_Hook.received) == 1  # same drift: no second notification
        pruned = synced.run("sync", "--prune")
        assert pruned.exit_code == 0, pruned.output
        resolved = synced.run("drift", "--notify", url, RECONCILER_NOTIFY_SECRET=secret)
        assert resolved.exit_code == 0, resolved.output  # in sync again
        assert len(_Hook.received) == 2 and json.loads(_Hook.received[1][1])["resolved"]
    finally:
        server.shutdown()


def test_plan_markdown_stays_under_the_comment_limit(world):
    docs = [JOB_SPEC.split("---")[0]] + [
        f"kind: FineTuningJob\nname: job{i}\nspec:\n  model: gpt-4o-mini\n  training_file: ${{File.train.id}}\n"
        f"  suffix: s{i}\n  metadata: {{team: t{i}, owner: someone-with-a-long-name-{i}}}\n" for i in range(400)]
    world.write("main.yaml", "---\n".join(docs))
    text = world.ok("plan", "--format", "markdown").output
    assert len(text) <= 65536 and "truncated" in text
    assert text.startswith("### reconciler plan") and "**Plan: 401 to add" in text
