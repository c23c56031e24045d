"""The number of instances a for_each / matrix document may declare is checked before a single one is
built: the product of a matrix's list sizes, against Settings.spec.limits.max_instances_per_document
(default 1,000), wherever the Settings document sits in the folder. A refusal is one line with the
file and line of the matrix; `validate` on a 10^7-row matrix answers at once in bounded memory."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from reconciler.loading import collect_specs, load_specs
from tests.config.conftest import chat_lines
from tests.reliability.helpers import PEAK_WRAPPER

FILE = "kind: File\nname: t\nspec: {path: t.jsonl}\n---\n"
EXTRA = {"t.jsonl": chat_lines()}
TEN = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
SEVEN_BY_TEN = "matrix:\n" + "".join(f"  {d}: {TEN}\n" for d in "abcdefg")


def job(head: str) -> str:
    return (FILE + "kind: FineTuningJob\nname: sweep\n" + head
            + "spec:\n  model: gpt-4o-mini-2024-07-18\n  training_file: ${File.t.id}\n")


def settings(most: int) -> str:
    return f"kind: Settings\nname: default\nspec:\n  limits: {{max_instances_per_document: {most}}}\n"


def count(specs) -> int:
    return sum(1 for a in specs.documents if a.startswith("FineTuningJob."))


@pytest.mark.parametrize("head, files, expected", [
    # (document head, other files, instances or the one error line)
    ("matrix: {a: " + TEN + ", b: " + TEN + ", c: " + TEN + "}\n", {}, 1000),
    ("matrix: {a: " + TEN + ", b: " + TEN + ", c: " + TEN + ", d: [0, 1]}\n", {},
     "s.yaml:7: FineTuningJob.sweep: matrix: 10 × 10 × 10 × 2 = 2,000 instances, more than the 1,000 one "
     "document may have; raise Settings.spec.limits.max_instances_per_document if you mean it"),
    (SEVEN_BY_TEN, {}, "s.yaml:7: FineTuningJob.sweep: matrix: 10 × 10 × 10 × 10 × 10 × 10 × 10 = 10,000,000 "
                       "instances, more than the 1,000 one document may have; raise "
                       "Settings.spec.limits.max_instances_per_document if you mean it"),
    ("for_each: ${var.many}\n", {},
     "s.yaml:7: FineTuningJob.sweep: for_each: 1,001 instances, more than the 1,000 one document may have; "
     "raise Settings.spec.limits.max_instances_per_document if you mean it"),
    ("matrix: {a: " + TEN + ", b: [0, 1, 2]}\n", {"z-settings.yaml": settings(20)},
     "s.yaml:7: FineTuningJob.sweep: matrix: 10 × 3 = 30 instances, more than the 20 one document may have; "
     "raise Settings.spec.limits.max_instances_per_document if you mean it"),
    ("matrix: {a: " + TEN + ", b: [0, 1, 2]}\n", {"z-settings.yaml": settings(30)}, 30),
    ("for_each: ${var.many}\n", {"a-settings.yaml": settings(2000)}, 1001),
])
def test_the_ceiling(spec_dir, head: str, files: dict[str, str], expected: int | str) -> None:
    root = spec_dir({"s.yaml": job(head), **EXTRA, **files})
    collected = collect_specs(root, {"many": [f"k{i}" for i in range(1001)]})
    if isinstance(expected, int):
        assert not collected.errors, collected.errors
        assert count(collected.specset) == expected
    else:
        found = [str(e).replace(str(root) + "/", "") for e in collected.errors]
        assert found == [expected]


def test_the_limit_is_a_positive_whole_number(spec_dir) -> None:
    root = spec_dir({"s.yaml": job("for_each: [a]\n"), "settings.yaml": settings(0), **EXTRA})
    found = [str(e).replace(str(root) + "/", "") for e in collect_specs(root, {}).errors]
    assert len(found) == 1 and found[0].startswith("settings.yaml:4: Settings.default: ")
    assert "max_instances_per_document" in found[0]
    assert count(load_specs(spec_dir({"settings.yaml": settings(1)}), {})) == 1




def test_validate_of_ten_million_rows_answers_at_once(spec_dir, tmp_path) -> None:
    """Seven 10-value lists through the real CLI: one line, exit 1, and figures for RELIABILITY.md."""
    root = spec_dir({"s.yaml": job(SEVEN_BY_TEN), **EXTRA})
    started = time.monotonic()
    peak_file = tmp_path / "peak-kib"
    # The child's own high-water mark after its exec (VmHWM), written as it exits: a wait4 or
    # RUSAGE_CHILDREN figure would also count the test worker's pages the fork started with.
    run = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, "validate", "-C", str(root), "--no-color"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env={"PATH": "/usr/bin:/bin", "RECONCILER_CACHE_DIR": "off", "PEAK_FILE": str(peak_file)})
    seconds = time.monotonic() - started
    peak_mib = int(peak_file.read_text()) / 1024
    assert run.returncode == 1, run.stdout + run.stderr
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    assert lines[0].endswith("10 × 10 × 10 × 10 × 10 × 10 × 10 = 10,000,000 instances, more than the 1,000 one "
                             "document may have; raise Settings.spec.limits.max_instances_per_document if you mean it")
    assert "Traceback" not in run.stdout + run.stderr
    assert peak_mib < 200, peak_mib
    print(f"\nRELIABILITY matrix-10^7-validate: {{\"seconds\": {seconds:.2f}, \"peak_mib\": {peak_mib:.0f}}}")
