"""`kind: Provider` documents and `provider:` choices, table-driven, no server: each bad
input is one file:line line naming the field and what to do; good input loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config.providers import DEFAULT_PROVIDER, provider_of
from reconciler.errors import SpecErrors
from reconciler.loading import load_specs

FILE = "kind: File\nname: train\n{provider}spec: {{path: train.jsonl}}\n"
PROVIDER = "kind: Provider\nname: {name}\nspec:\n{spec}"


def _load(tmp_path: Path, text: str) -> object:
    (tmp_path / "train.jsonl").write_text('{"messages": []}\n')
    (tmp_path / "main.yaml").write_text(text)
    return load_specs(tmp_path, {})


def _errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SpecErrors) as caught:
        _load(tmp_path, text)
    return [str(e) for e in caught.value.errors]


GOOD = PROVIDER.format(name="team_a", spec="  api_key_env: TEAM_A_KEY\n  project: proj_a\n") + "---\n"

BAD = [
    # (spec text, the one line expected: where and what)
    (GOOD + FILE.format(provider="provider: team_b\n"),
     "main.yaml:9: File.train: provider: unknown provider 'team_b' (did you mean 'team_a'?); declared: team_a"),
    (GOOD + FILE.format(provider="provider: team_aa\n"),
     "main.yaml:9: File.train: provider: unknown provider 'team_aa' (did you mean 'team_a'?)"),
    (FILE.format(provider="provider: team_a\n"),
     "main.yaml:3: File.train: provider: unknown provider 'team_a'; there are no Provider documents"),
    (FILE.format(provider="provider: [a]\n"),
     "main.yaml:3: File.train: provider: provider must be the name of a Provider document"),
    (PROVIDER.format(name="team_a", spec="  api_key_env: sk-live-123\n"),
     "main.yaml:4: Provider.team_a: spec.api_key_env: must name an environment variable"),
    (PROVIDER.format(name="team_a", spec="  api_key_env: K\n  projcet: proj_a\n"),
     "main.yaml:5: Provider.team_a: spec.projcet: unknown field 'projcet' (did you mean 'project'?)"),
    (PROVIDER.format(name="team_a", spec="  api_key_env: K\n  project: team_a\n"),
     "main.yaml:5: Provider.team_a: spec.project: a project id starts with proj_"),
    (PROVIDER.format(name="team_a", spec="  api_key_env: K\n  base_url: api.openai.com\n"),
     "main.yaml:5: Provider.team_a: spec.base_url: must be an http(s) URL"),
    (PROVIDER.format(name="team_a", spec="  project: proj_a\n"),
     "main.yaml:3: Provider.team_a: spec.api_key_env: missing required field 'api_key_env'"),
    (GOOD + PROVIDER.format(name="team_a", spec="  api_key_env: OTHER\n"),
     "main.yaml:7: Provider.team_a: declared twice (first at "),
]


@pytest.mark.parametrize(("text", "expected"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_provider_input_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    errors = _errors(tmp_path, text)
    assert len(errors) == 1, errors
    assert errors[0].startswith(str(tmp_path)) and expected in errors[0], errors
    assert "sk-live-123" not in errors[0]


def test_a_broken_provider_does_not_also_make_its_users_unknown(tmp_path: Path) -> None:
    text = PROVIDER.format(name="team_a", spec="  api_key_env: 1BAD\n") + "---\n" + \
        FILE.format(provider="provider: team_a\n")
    errors = _errors(tmp_path, text)
    assert len(errors) == 1 and "spec.api_key_env" in errors[0]


@pytest.mark.parametrize(("choice", "profile"), [("", DEFAULT_PROVIDER), ("provider: team_a\n", "team_a"),
                                                 ("provider: default\n", DEFAULT_PROVIDER)])
def test_good_input_loads(tmp_path: Path, choice: str, profile: str) -> None:
    specs = _load(tmp_path, GOOD + FILE.format(provider=choice))
    doc = specs.documents["File.train"]  # type: ignore[attr-defined]
    assert provider_of(doc) == profile
    assert specs.providers["team_a"].project == "proj_a"  # type: ignore[attr-defined]
    assert "Provider.team_a" not in specs.documents  # type: ignore[attr-defined]  # not a resource
