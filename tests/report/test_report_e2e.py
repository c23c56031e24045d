"""`reconciler report --html` end to end: apply a small spec on the sandbox, finish the jobs, add a
grant outside reconciler (drift), run the real CLI, then load the page in a real headless
Chromium: the DOM has a curve per job and the drift section, the browser logs no console error,
and screenshots (light, dark, phone width) are kept under the test's tmp dir."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import World, chat_jsonl

SPEC = """\
kind: File
name: train
spec:
  path: data/train.jsonl
---
kind: File
name: valid
spec:
  path: data/valid.jsonl
---
kind: FineTuningJob
name: sql
spec:
  model: gpt-4o-mini-2024-07-18
  training_file: ${File.train.id}
  validation_file: ${File.valid.id}
  suffix: sql
  method:
    type: supervised
    supervised:
      hyperparameters: {n_epochs: 3}
---
kind: FineTuningJob
name: support
spec:
  model: gpt-4o-mini-2024-07-18
  training_file: ${File.train.id}
  suffix: support
  method:
    type: supervised
    supervised:
      hyperparameters: {n_epochs: 2}
---
kind: data.FineTuningJobCheckpoints
name: best
spec:
  fine_tuning_job_id: ${FineTuningJob.sql.id}
  select:
    lowest: valid_loss
---
kind: CheckpointPermission
name: share_best
spec:
  fine_tuned_model_checkpoint: ${data.FineTuningJobCheckpoints.best.fine_tuned_model_checkpoint}
  project_ids: [proj_analytics]
  exclusive: true
"""

INSTALL = ("chromium is not installed: the report test loads the page in a real headless browser. "
           "Install it with `apt-get update && apt-get install -y chromium` (Debian/Ubuntu), then run again.")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail(INSTALL, pytrace=False)
    return found


def browse(tmp: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / f"profile-{hashlib.sha1(' '.join(extra).encode()).hexdigest()[:8]}"
    result = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, url],
                            capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    return result


@pytest.fixture
def world(tmp_path: Path):
    from reconciler_sandbox.testing import run_sandbox

    with run_sandbox() as sandbox:
        w = World(sandbox, tmp_path)
        (w.specs / "data").mkdir(parents=True)
        (w.specs / "data" / "train.jsonl").write_text(chat_jsonl(40))
        (w.specs / "data" / "valid.jsonl").write_text(chat_jsonl(10, "refunds"))
        yield w


def test_report_html_in_a_real_browser(world: World, tmp_path: Path) -> None:
    browser = chromium()  # fail first, and clearly, when there is no browser
    world.write("main.yaml", SPEC)
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.ok("apply", "--auto-approve")  # the permission waited for the checkpoint
    state = world.state()
    checkpoint = state["resources"]["CheckpointPermission.share_best"]["attributes"]["fine_tuned_model_checkpoint"]
    world.sdk().fine_tuning.checkpoints.permissions.create(checkpoint, project_ids=["proj_intruder"])
    before = json.dumps(state, sort_keys=True)
    jobs_before = len(world.jobs())

    page = tmp_path / "out" / "report.html"
    result = world.ok("report", "--html", str(page))
    assert f"Wrote {page}: 2 job(s); DRIFTED" in result.output
    # read-only: no job created, the state untouched
    assert len(world.jobs()) == jobs_before == 2
    assert json.dumps(world.state(), sort_keys=True) == before
    text = page.read_text()
    assert len(text) < 200_000

    dom = browse(tmp_path, page.as_uri(), "--dump-dom").stdout
    articles = dict(re.findall(r'<article class="job" id="([^"]+)">(.*?)</article>', dom, re.S))
    assert sorted(articles) == ["job-FineTuningJob-sql", "job-FineTuningJob-support"]
    for name, body in articles.items():
        curves = re.findall(r'<path class="curve s-([a-z_]+)"', body)
        assert "train_loss" in curves, name
    assert "valid_loss" in re.findall(r'<path class="curve s-([a-z_]+)"', articles["job-FineTuningJob-sql"])
    assert "selected by data.FineTuningJobCheckpoints.best" in articles["job-FineTuningJob-sql"]
    assert "proj_analytics</code>" in articles["job-FineTuningJob-sql"]
    costs = re.findall(r'<td data-label="cost">(.*?)</td>', dom, re.S)  # both finished: spend, in dollars
    assert "<th>cost</th>" in dom and len(costs) == 2 and all("spent" in c and "$" in c for c in costs), costs
    assert re.search(r'id="cost-total"[^>]*>Total cost: \$[0-9.,]+ \(2 spent\)<', dom)
    lifecycle = re.search(r'<section id="lifecycle">(.*?)</section>', dom, re.S)
    assert lifecycle is not None
    rows = re.findall(r'<tr class="life-(\w+)">(.*?)</tr>', lifecycle.group(1), re.S)
    # both jobs' models (gpt-4o-mini fine-tunes), each with its end day and a bar on the timeline
    assert len(rows) == 2 and all("2027-01-14" in body and "<rect" in body for _, body in rows), rows
    assert {state for state, _ in rows} <= {"ok", "soon"}
    drift = re.search(r'<section id="drift">(.*?)</section>', dom, re.S)
    assert drift is not None and "proj_intruder" in drift.group(1) and "CheckpointPermission.share_best" in drift.group(1)

    shots = {"light": ["--window-size=1280,1800"],
             "dark": ["--window-size=1280,1800", "--blink-settings=preferredColorScheme=0"],
             "phone": ["--window-size=390,2400"]}
    for name, flags in shots.items():
        png = tmp_path / f"report-{name}.png"
        browse(tmp_path, page.as_uri(), f"--screenshot={png}", *flags)
        assert png.stat().st_size > 10_000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        print(f"\nREPORT screenshot ({name}, {browser}): {png}")
