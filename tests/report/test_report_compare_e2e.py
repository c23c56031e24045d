"""`reconciler report --html FILE --recordings DIR` end to end: a job trained on the sandbox is
recorded, compared with itself (pass) and with a base model (fail), both through the real CLI, and
the page, loaded in a real headless Chromium, has one section per comparison: target, threshold,
PASS/FAIL, the score histogram, and the lowest-scoring prompts with the recorded and the new
answer side by side, as text."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.e2e.conftest import JOB_SPEC, World
from tests.report.test_report_e2e import browse, chromium


def test_comparisons_in_the_report(world: World, tmp_path: Path) -> None:
    chromium()
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    [job] = world.jobs()
    rec = tmp_path / "rec"
    world.ok("record", str(rec), "--auto-approve")
    assert world.run("compare", str(rec), "--model", str(job["fine_tuned_model"]), "--auto-approve").exit_code == 0
    assert world.run("compare", str(rec), "--model", "gpt-4.1-mini", "--auto-approve", "--threshold", "0.8",
                     "--worst", "3").exit_code == 1
    saved = json.loads((rec / "FineTuningJob.bot" / "compare" / "gpt-4.1-mini" / "report.json").read_text())

    page = tmp_path / "report.html"
    result = world.ok("report", "--html", str(page), "--recordings", str(rec))
    assert "2 comparison(s), 1 failing" in result.output
    dom = browse(tmp_path, page.as_uri(), "--dump-dom").stdout
    section = re.search(r'<section id="comparisons">(.*?)</section>', dom, re.S)
    assert section is not None
    articles = re.findall(r'<article class="comparison (pass|fail)" id="[^"]+"><h3>(.*?)</h3>(.*?)</article>',
                          section.group(1), re.S)
    by_model = {re.search(r"<code>([^<]+)</code>", h).group(1): (cls, h, body)  # type: ignore[union-attr]
                for cls, h, body in articles}
    assert sorted(by_model) == sorted([str(job["fine_tuned_model"]), "gpt-4.1-mini"])
    cls, head, body = by_model["gpt-4.1-mini"]
    assert cls == "fail" and "FineTuningJob.bot" in head and '<span class="badge bad">FAIL</span>' in head
    assert "(threshold 0.8)" in body and "text_similarity:fuzzy_match" in body
    bars = re.findall(r'<rect class="bar( pass)?" [^>]*><title>score ([0-9.]+)–[0-9.]+: (\d+) prompts?</title>', body)
    assert len(bars) == 10 and [int(n) for _, _, n in bars] == saved["summary"]["histogram"]
    assert all(bool(p) == (float(lo) >= 0.8) for p, lo, _ in bars)
    rows = re.findall(r'<tr><td class="n">\d+</td><td class="n">([0-9.]+)</td><td><div class="answer">(.*?)</div></td>'
                      r'<td><div class="answer">(.*?)</div></td><td><div class="answer">(.*?)</div></td></tr>', body, re.S)
    assert len(rows) == 3
    assert [r[2] for r in rows] == [w["recorded"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                                    for w in saved["worst"]]
    assert all(r[2] != r[3] for r in rows)
    cls, head, _ = by_model[str(job["fine_tuned_model"])]
    assert cls == "pass" and '<span class="badge ok">PASS</span>' in head

    png = tmp_path / "compare.png"
    browse(tmp_path, page.as_uri() + "#comparisons", f"--screenshot={png}", "--window-size=1280,2400")
    print(f"\nREPORT screenshot (comparisons): {png}")


def test_a_recordings_folder_that_is_not_there_is_one_line(world: World, tmp_path: Path) -> None:
    result = world.run("report", "--html", str(tmp_path / "r.html"), "--recordings", str(tmp_path / "nope"))
    assert result.exit_code == 1
    assert f"--recordings {tmp_path / 'nope'}: not a folder" in result.output
    assert not (tmp_path / "r.html").exists()
