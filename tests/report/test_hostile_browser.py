"""Hostile text from the API or the specs never runs in the page: a job name, event message,
checkpoint, grant and finding each carrying a script (inline, in an event handler, breaking out
of an attribute or of the SVG) are rendered and loaded in a real headless Chromium. The DOM shows
the text as text, and nothing the payloads would do happened."""

from __future__ import annotations

import re
from pathlib import Path

from reconciler.report.html import render_html
from reconciler.report.model import Checkpoint, FindingRow, Grant, JobReport, Report, Series
from tests.report.test_report_e2e import browse, chromium

MARK = "PWNED"
PAYLOADS = (
    f"<script>document.documentElement.setAttribute('data-x','{MARK}')</script>",
    f"\"><img src=x onerror=\"document.documentElement.setAttribute('data-y','{MARK}')\">",
    f"</title></svg><script>document.title='{MARK}'</script>",
    f"'><svg onload=\"document.body.setAttribute('data-z','{MARK}')\">",
)


def _report() -> Report:
    evil = " ".join(PAYLOADS)
    job = JobReport(evil, id=evil, status=evil, model=evil, method=evil, created_at=1_700_000_000.0,
                    error=evil, fine_tuned_model=evil, notes=(evil,), curves_source=evil,
                    series=(Series("train_loss", ((1.0, 1.0), (2.0, 0.5))), Series(evil, ((1.0, 2.0), (2.0, 1.0)))),
                    checkpoints=(Checkpoint(evil, id=evil, step=2, metrics=((evil, 1.0),), selected_by=(evil,),
                                            grants=(Grant(evil, evil, evil),)),))
    return Report(generated_at=1_700_000_000.0, now=1_700_000_300.0, spec_dir=evil, state_file=evil, summary=evil,
                  in_sync=False, healthy=False, jobs=(job,), findings=(FindingRow("drift", evil, evil, evil, True, evil),),
                  warnings=(evil,))


def test_hostile_text_never_runs_in_a_browser(tmp_path: Path) -> None:
    chromium()
    page = tmp_path / "hostile.html"
    page.write_text(render_html(_report()))
    dom = browse(tmp_path, page.as_uri(), "--dump-dom").stdout
    assert not re.search(r"<html[^>]*data-[xy]=|<body[^>]*data-z=", dom), "a payload ran"
    assert "<title>PWNED</title>" not in dom, "a payload ran"
    assert not re.search(r"<(script|img)\b", dom), "a payload became an element"
    assert not re.search(r"<svg[^>]*onload", dom)
    # the text is there, shown as text
    assert dom.count("&lt;script&gt;document.documentElement.setAttribute") >= 8
