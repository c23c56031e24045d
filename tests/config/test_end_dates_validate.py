"""`reconciler validate` against the models each method trains and the platforms' end dates,
through the real CLI: a retired base is refused with its date and source, a near miss with
did-you-mean, a model the method does not train with what it does; an unknown model is a warning
(exit 0), a fine-tuned model as base is left to the API. Settings.spec.lifecycle is checked too."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_cli_validate import run

SOURCE = "https://developers.openai.com/api/docs/deprecations"


def job(model: str, method: str = "supervised") -> str:
    return (f"kind: FineTuningJob\nname: j\nspec:\n  model: {model}\n  training_file: file-abc\n"
            f"  method: {{type: {method}}}\n")


CASES = [
    # model, method, exit code, what the one line says (None: nothing about the model)
    ("gpt-4.1-nano-2025-04-14", "supervised", 1,
     f"j.yaml:4: FineTuningJob.j: spec.model: gpt-4.1-nano-2025-04-14 was retired for fine-tuning on OpenAI on "
     f"2026-10-23 (source: {SOURCE}"),
    ("gpt-4.1-nano", "dpo", 1, "gpt-4.1-nano-2025-04-14 was retired for fine-tuning on OpenAI on 2026-10-23"),
    ("gpt-4o-mini-2024-07-19", "supervised", 1,
     "j.yaml:4: FineTuningJob.j: spec.model: model gpt-4o-mini-2024-07-19 does not exist "
     "(did you mean gpt-4o-mini-2024-07-18?)"),
    ("gpt-4.1-mini-2025-04-1", "supervised", 1, "(did you mean gpt-4.1-mini-2025-04-14?)"),
    ("o4-mini", "supervised", 1, "o4-mini cannot be trained with method supervised (it supports reinforcement)"),
    ("gpt-4o-mini", "reinforcement", 1, "gpt-4o-mini cannot be trained with method reinforcement"),
    ("gpt-5-mini", "supervised", 0, "Warning: j.yaml:4: FineTuningJob.j: spec.model: gpt-5-mini is not a model "
                                    "reconciler knows can be fine-tuned with supervised"),
    ("o3", "supervised", 0, "o3 is not a model reconciler knows can be fine-tuned with supervised"),
    ("gpt-4o-mini-2024-07-18", "supervised", 0, None),
    ("gpt-4.1", "dpo", 0, None),
    ("ft:gpt-4o-mini-2024-07-18:acme::AbC123", "supervised", 0, None),
]


@pytest.mark.parametrize(("model", "method", "code", "says"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_models_per_method_and_end_dates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str,
                                         method: str, code: int, says: str | None) -> None:
    (tmp_path / "j.yaml").write_text(job(model, method).replace("  method: {type: reinforcement}\n",
                                                                "  method: {type: reinforcement, reinforcement: "
                                                                "{grader: {type: string_check, name: g, input: "
                                                                "'{{sample.output_text}}', reference: 'a', "
                                                                "operation: eq}}}\n"))
    monkeypatch.chdir(tmp_path)
    exit_code, output = run("validate", "-C", ".")
    assert exit_code == code, output
    if says is None:
        assert "spec.model" not in output, output
    else:
        assert says in output, output
        assert sum("spec.model" in line for line in output.splitlines()) == 1, output
    assert "Traceback" not in output


SETTINGS = "kind: Settings\nname: default\nspec:\n  lifecycle:\n"


@pytest.mark.parametrize(("body", "line", "says"), [
    ("    warn_days: -1\n", 5, "spec.lifecycle.warn_days"),
    ("    end_dates: {openai: {job_creation_ends: '2027-02-30'}}\n", 5,
     "'2027-02-30' is not a calendar day (YYYY-MM-DD)"),
    ("    end_dates: {openai: {models: {gpt-4o-2024-08-06: {serving_end: '2027-01-14'}}}}\n", 5,
     "serving_end"),
    ("    end_dates: {aws: {job_creation_ends: '2027-01-06'}}\n", 5, "aws"),
])
def test_lifecycle_settings_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, line: int,
                                   says: str) -> None:
    (tmp_path / "settings.yaml").write_text(SETTINGS + body)
    monkeypatch.chdir(tmp_path)
    exit_code, output = run("validate", "-C", ".")
    assert exit_code == 1, output
    first = output.splitlines()[0]
    assert first.startswith(f"settings.yaml:{line}: Settings.default: ") and says in first, output


def test_an_override_makes_a_base_retired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "settings.yaml").write_text(
        SETTINGS + "    end_dates: {openai: {models: {gpt-4o-2024-08-06: {training_ends: '2026-01-01'}}}}\n")
    (tmp_path / "j.yaml").write_text(job("gpt-4o"))
    monkeypatch.chdir(tmp_path)
    exit_code, output = run("validate", "-C", ".")
    assert exit_code == 1, output
    assert "gpt-4o-2024-08-06 was retired for fine-tuning on OpenAI on 2026-01-01 (source: override in " \
           "settings.yaml:4)" in output


def test_the_spec_doc_example_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/SPEC.md's Settings.spec.lifecycle example (marked a fragment there: a spec folder holds
    one Settings document, and the doc shows another) validates on its own."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "SPEC.md").read_text(encoding="utf-8")
    start = text.index("```yaml\nkind: Settings\nname: default\nspec:\n  lifecycle:")
    block = text[start + len("```yaml\n"):text.index("```", start + 8)]
    (tmp_path / "settings.yaml").write_text(block)
    (tmp_path / "j.yaml").write_text(job("gpt-4.1-mini"))
    monkeypatch.chdir(tmp_path)
    exit_code, output = run("validate", "-C", ".")
    assert exit_code == 0 and output.startswith("Success!"), output
