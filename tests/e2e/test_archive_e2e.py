"""`reconciler archive DIR` through the real CLI against the real sandbox over HTTP, on the quick
start (specs/): byte-identical training files, a metrics CSV equal to the job's result file, events
and checkpoints of every page, a manifest of sha256 sums; a second run keeps what is there; a file
with other content is refused in one line; a file not in the spec folder is downloaded."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from reconciler_sandbox.testing import run_sandbox
from tests.e2e.conftest import World

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def quick_start(tmp_path: Path):
    with run_sandbox() as sandbox:
        w = World(sandbox, tmp_path)
        shutil.copytree(ROOT / "specs", w.specs)
        w.ok("apply", "--auto-approve")
        w.finish_jobs()
        yield w


def _archive(w: World, out: Path, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(w.ok("archive", str(out), "--json", *args).output)
    return data


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_quick_start_archive_reproduces_data_and_metrics(quick_start: World, tmp_path: Path) -> None:
    w, out = quick_start, tmp_path / "archive"
    summary = _archive(w, out)
    jobs = {j["address"]: j for j in summary["jobs"]}
    assert {j["status"] for j in jobs.values()} == {"archived"} and len(jobs) == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["jobs"]) == set(jobs)
    for address, job in jobs.items():
        folder = out / job["folder"]
        live = next(j for j in w.jobs() if j["id"] == job["job_id"])
        recipe = json.loads((folder / "recipe.json").read_text())
        method = {k: v for k, v in live["method"].items() if v is not None}
        assert recipe["seed"] == live["seed"] and recipe["method"] == method
        assert recipe["model"] == live["model"]
        spec = json.loads((folder / "spec.json").read_text())
        assert spec["address"] == address and spec["spec"]["model"] == "gpt-4o-mini-2024-07-18"
        state_file = next(r for r in w.state()["resources"].values() if r["id"] == live["training_file"])
        local = w.specs / state_file["inputs"]["path"]
        assert (folder / "training.jsonl").read_bytes() == local.read_bytes()  # byte-identical
        assert recipe["files"]["training_file"]["sha256"] == _sha(local)
        (result_id,) = live["result_files"]
        api_rows = list(csv.reader(io.StringIO(base64.b64decode(
            w.sdk().files.content(result_id).read()).decode())))
        ours = list(csv.reader(io.StringIO((folder / "results" / f"{result_id}.csv").read_text())))
        assert ours == api_rows and ours[0][0] == "step" and len(ours) > 2
        events = [json.loads(x) for x in (folder / "events.jsonl").read_text().splitlines()]
        # every page: the SDK's own pagination, three at a time, lists the same events
        assert [e["id"] for e in events] == [e.id for e in w.sdk().fine_tuning.jobs.list_events(job["job_id"],
                                                                                                  limit=3)]
        assert len(events) > 3
        checkpoints = [json.loads(x) for x in (folder / "checkpoints.jsonl").read_text().splitlines()]
        assert checkpoints and all("metrics" in c for c in checkpoints)
        for name, entry in manifest["files"].items():
            assert _sha(out / name) == entry["sha256"]


def test_a_second_run_keeps_what_is_there(quick_start: World, tmp_path: Path) -> None:
    w, out = quick_start, tmp_path / "archive"
    first = _archive(w, out)
    assert first["written"] > 0 and first["kept"] == 0
    w.sandbox.reset_stats()
    second = _archive(w, out)
    assert second["written"] == 0 and second["kept"] == first["written"]
    assert not w.sandbox.stats().get("GET /v1/files/{file_id}/content")  # verified on disk, not fetched again
    text = w.ok("archive", str(out)).output
    assert f"0 file(s) written, {first['written']} already there and verified" in text


def test_a_file_with_other_content_is_never_overwritten(quick_start: World, tmp_path: Path) -> None:
    w, out = quick_start, tmp_path / "archive"
    first = _archive(w, out)
    recipe = out / first["jobs"][0]["folder"] / "recipe.json"
    recipe.write_text('{"edited": true}\n')
    result = w.run("archive", str(out))
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert len(lines) == 1 and f"{recipe}: exists with other content" in lines[0]
    assert recipe.read_text() == '{"edited": true}\n'


def test_a_training_file_not_in_the_spec_folder_is_downloaded(quick_start: World, tmp_path: Path) -> None:
    w, out = quick_start, tmp_path / "archive"
    state = w.state()["resources"]
    address = "FineTuningJob.support_bot"
    local = w.specs / state["File.support_train"]["inputs"]["path"]
    uploaded = local.read_bytes()
    local.write_bytes(b'{"messages": []}\n')  # edited since the upload: its sha256 no longer matches
    w.sandbox.reset_stats()
    summary = _archive(w, out, "--target", address)
    assert [j["address"] for j in summary["jobs"]] == [address]
    folder = out / summary["jobs"][0]["folder"]
    assert (folder / "training.jsonl").read_bytes() == uploaded
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"][f"{summary['jobs'][0]['folder']}/training.jsonl"]["source"].startswith("GET /files/")


def test_an_unknown_target_is_one_line(quick_start: World, tmp_path: Path) -> None:
    result = quick_start.run("archive", str(tmp_path / "a"), "--target", "FineTuningJob.nope")
    assert result.exit_code == 1 and "--target FineTuningJob.nope: not a managed FineTuningJob" in result.output
