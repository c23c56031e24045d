"""examples/sweep end to end, in a real headless Chromium: the real CLI applies the example on the
sandbox, the jobs finish, the data source picks the best checkpoint across the six runs, and the
page shows per job its resolved hyperparameters, seed, duration and trained tokens; one overlay
chart of every run's loss on one scale with a hover value per band; the runs ranked by valid loss
with the selected one marked; ages on the same clock as the times beside them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import World
from tests.report.test_report_e2e import browse, chromium

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sweep"


@pytest.fixture
def world(tmp_path: Path):
    from reconciler_sandbox.testing import run_sandbox

    with run_sandbox() as sandbox:
        w = World(sandbox, tmp_path)
        shutil.copytree(EXAMPLE, w.specs)
        yield w


def test_sweep_report_in_a_real_browser(world: World, tmp_path: Path) -> None:
    chromium()
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.ok("apply", "--auto-approve")  # the grant waited for the sweep's pick
    picked = world.state()["resources"]["CheckpointPermission.share_best"]["attributes"]["fine_tuned_model_checkpoint"]
    page = tmp_path / "sweep.html"
    assert "Wrote" in world.ok("report", "--html", str(page)).output

    dom = browse(tmp_path, page.as_uri(), "--dump-dom").stdout
    articles = dict(re.findall(r'<article class="job" id="([^"]+)">(.*?)</article>', dom, re.S))
    assert len(articles) == 6
    for name, body in articles.items():
        facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>(.*?)</dd>", body, re.S))
        epochs = re.search(r"epochs-(\d)", name)
        assert epochs is not None
        assert f'<span class="hp">epochs {epochs.group(1)}</span>' in facts["hyperparameters"]
        assert re.search(r'<span class="hp">batch size \d+ <small>\(auto\)</small></span>', facts["hyperparameters"]), name
        lr = "0.5" if "lr-0-5" in name else "1"
        assert f'<span class="hp">LR multiplier {lr}</span>' in facts["hyperparameters"]
        assert re.fullmatch(r"\d+", facts["seed"]) and re.fullmatch(r"\d+m|\d+s", facts["duration"])
        assert re.fullmatch(r"[\d,]+", facts["trained tokens"])

    sweeps = re.findall(r'<article class="sweep" id="([^"]+)">(.*?)</article>', dom, re.S)
    assert [name for name, _ in sweeps] == ["job-FineTuningJob-sweep"]
    body = sweeps[0][1]
    assert body.count('<svg class="chart"') == 1
    runs = set(re.findall(r'<path class="curve run r\d [^"]*" data-series="(?:train|valid)_loss" data-run="([^"]+)"',
                          body))
    assert len(runs) == 6
    assert len(re.findall(r'<rect class="hover"[^>]*><title>step \d+: ', body)) >= 10
    rows = re.findall(r'<tr class="run-row( selected)?"><td>(\d)</td>.*?</tr>', body, re.S)
    assert [rank for _, rank in rows] == ["1", "2", "3", "4", "5", "6"]
    assert [bool(sel) for sel, _ in rows] == [True, False, False, False, False, False]  # the best one was picked
    values = [float(v) for v in re.findall(r'<td class="n">([0-9.]+)</td><td><span class="hp"', body)]
    assert values == sorted(values) and len(values) == 6
    # the data source's pick is marked in its run's checkpoints, and it is the checkpoint granted
    marked = [b for b in articles.values() if "selected by data.FineTuningJobCheckpoints.best" in b]
    assert len(marked) == 1 and picked in marked[0]
    # runs share the sweep's loss scale: every run's loss chart has the same y labels
    scales = {tuple(re.findall(r'<text class="tick y" x="40" y="[^"]+">([^<]+)</text>',
                               re.search(r"<figure class=\"plot\">(.*?)</figure>", b, re.S).group(1)))  # type: ignore[union-attr]
              for b in articles.values()}
    assert len(scales) == 1
    # ages on the API's clock, like the times beside them (the sandbox's clock ran an hour ahead)
    ages = re.findall(r'<td data-label="age">([^<]+)</td>', dom)
    assert ages and all(a.startswith("1h ") for a in ages), ages
    assert "on the API's clock" in dom

    png = tmp_path / "sweep.png"
    browse(tmp_path, page.as_uri(), f"--screenshot={png}", "--window-size=1280,2400")
    assert png.stat().st_size > 10_000
    print(f"\nREPORT screenshot (sweep): {png}")
