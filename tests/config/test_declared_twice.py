"""A Policy or Evaluation declared twice under one name: one line naming the second document and
where the first one is, exit 1 from the loader (SpecErrors), whichever kind it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import SpecErrors
from reconciler.loading import load_specs

POLICY = ("kind: Policy\nname: cheap\nspec:\n  match: [FineTuningJob]\n  rule: 'true'\n"
          "  message: never\n  enforcement: deny\n")
EVALUATION = ("kind: Evaluation\nname: switch\nspec:\n  recording: rec\n  target: gpt-4.1-mini-2025-04-14\n"
              "  grader: {type: text_similarity, evaluation_metric: fuzzy_match}\n  threshold: 0.9\n")


@pytest.mark.parametrize(("document", "expected"), [
    (POLICY, "{b}:1: Policy.cheap: declared twice (first at {a}:1); policy names must be unique"),
    (EVALUATION, "{b}:1: Evaluation.switch: declared twice (first at {a}:1); evaluation names must be unique"),
])
def test_a_name_declared_twice_is_one_line_naming_the_first(tmp_path: Path, document: str, expected: str) -> None:
    (tmp_path / "rec" / "recording").mkdir(parents=True)
    (tmp_path / "rec" / "recording" / "manifest.json").write_text("{}")
    (tmp_path / "a.yaml").write_text(document)
    (tmp_path / "b.yaml").write_text(document)
    with pytest.raises(SpecErrors) as caught:
        load_specs(tmp_path, {})
    assert [str(e) for e in caught.value.errors] == [expected.format(a=tmp_path / "a.yaml", b=tmp_path / "b.yaml")]
