"""The normaliser replaces exactly the run-specific values it lists, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler import __version__
from tests.golden.golden import Normaliser, diff

RAW = """\
File.a: Creation complete after 0s [id=file-8QG3NzU93YmnvJgvcZAzN6]
File.b: Creation complete after 1m3s [id=file-eCEsv8x6t8Hiboezb4BV7f]
FineTuningJob.x: Still waiting... [12s elapsed] running
FineTuningJob.x (ftjob-IW28k0MwZWfD4wDhMbrpNjF9) uses file-8QG3NzU93YmnvJgvcZAzN6
import ftjob-abc123def456 (an id written in a spec: kept)
model ft:gpt-4o-mini-2024-07-18:sandbox:sql-v1:6Ds209o5:ckpt-step-36 [cp_AbCdEfGhIjKlMnOpQrStUvWx]
other ft:gpt-4o-mini-2024-07-18:acme:sql-v1:6Ds209o5 (not the sandbox's: kept)
# state /tmp/somewhere/state/default.json (serial 1, lineage 0b7d3c1e-5a2f-4e8b-9c6d-1f2e3a4b5c6d)
drift report 2026-11-29T17:19:08Z, junit 2026-11-29T17:19:09
{
  "reconciler_version": "0.1.0",
  "created_at": 1764436748.123,
  "observed": {
    "x": {
      "created_at": 2000000000,
      "id": "ftjob-IW28k0MwZWfD4wDhMbrpNjF9"
    }
  }
}
"""

NORMALISED = """\
File.a: Creation complete after <duration> [id=<file-1>]
File.b: Creation complete after <duration> [id=<file-2>]
FineTuningJob.x: Still waiting... [<duration> elapsed] running
FineTuningJob.x (<ftjob-1>) uses <file-1>
import ftjob-abc123def456 (an id written in a spec: kept)
model ft:gpt-4o-mini-2024-07-18:sandbox:sql-v1:<model-1>:ckpt-step-36 [<cp_1>]
other ft:gpt-4o-mini-2024-07-18:acme:sql-v1:6Ds209o5 (not the sandbox's: kept)
# state <TMP>/state/default.json (serial 1, lineage <uuid-1>)
drift report <time>, junit <time>
{
  "reconciler_version": "<version>",
  "created_at": "<plan-created-at>",
  "observed": {
    "x": {
      "created_at": 2000000000,
      "id": "<ftjob-1>"
    }
  }
}
"""


def test_normaliser_replaces_only_what_it_lists() -> None:
    normalise = Normaliser(Path("/tmp/somewhere"))
    got = normalise(RAW.replace('"0.1.0"', json.dumps(__version__)))
    assert got == NORMALISED, diff(NORMALISED, got, "normaliser")
    # the same id keeps its placeholder across the outputs of one flow
    assert normalise("ftjob-IW28k0MwZWfD4wDhMbrpNjF9 file-eCEsv8x6t8Hiboezb4BV7f") == "<ftjob-1> <file-2>"


def test_literals() -> None:
    normalise = Normaliser()
    normalise.literals["http://127.0.0.1:41234"] = "<sandbox-url>"
    assert normalise("GET http://127.0.0.1:41234/v1/files") == "GET <sandbox-url>/v1/files"
