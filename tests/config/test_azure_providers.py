"""`kind: Provider` with `type: azure`, table-driven, no server: every mistake is one
file:line line naming the field; the endpoint rules (config/endpoints.py) and key shapes likewise."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config.endpoints import key_problem, parse_prefixes, url_problem
from reconciler.errors import SpecErrors
from reconciler.loading import load_specs

HEAD = "kind: Provider\nname: az\nspec:\n  type: azure\n"
GOOD = HEAD + "  endpoint: https://res.openai.azure.com\n  api_key_env: AZURE_OPENAI_API_KEY\n"


def _load(tmp_path: Path, text: str) -> object:
    (tmp_path / "main.yaml").write_text(text)
    return load_specs(tmp_path, {})


def test_a_good_azure_provider_loads(tmp_path: Path) -> None:
    specs = _load(tmp_path, GOOD + "  api_version: 2025-04-01-preview\n  subscription_id: sub\n")
    provider = specs.providers["az"]  # type: ignore[attr-defined]
    assert (provider.type, provider.platform, provider.endpoint, provider.api_version) == (
        "azure", "azure", "https://res.openai.azure.com", "2025-04-01-preview")
    assert provider.url == provider.endpoint and provider.url_field == "endpoint"
    assert provider.subscription_id == "sub"


def test_entra_instead_of_a_key(tmp_path: Path) -> None:
    specs = _load(tmp_path, HEAD + "  endpoint: https://res.openai.azure.com\n  auth: entra\n")
    assert specs.providers["az"].auth == "entra"  # type: ignore[attr-defined]


BAD = [
    (HEAD + "  api_key_env: K\n", "main.yaml:3: Provider.az: spec.endpoint: missing required field 'endpoint'"),
    (HEAD + "  endpoint: https://res.openai.azure.com\n",
     "main.yaml:3: Provider.az: spec.api_key_env: missing required field 'api_key_env' (the variable holding the "
     "resource's key) or 'auth: entra'"),
    (GOOD + "  auth: entra\n", "main.yaml:7: Provider.az: spec.auth: choose one: api_key_env (an api-key) or auth: entra"),
    (GOOD + "  base_url: https://api.openai.com/v1\n",
     "main.yaml:7: Provider.az: spec.base_url: base_url belongs to a Provider of type openai, not azure"),
    (GOOD + "  admin_key_env: ADMIN\n", "Azure has no checkpoint permissions"),
    (GOOD + "  project: proj_x\n", "main.yaml:7: Provider.az: spec.project: project belongs to a Provider of type openai"),
    (GOOD + "  api_version: latest\n", "main.yaml:7: Provider.az: spec.api_version: must be an Azure OpenAI API version"),
    (HEAD + "  endpoint: https://res.openai.azure.com\n  auth: oauth\n", "spec.auth: unknown auth 'oauth'"),
    (GOOD.replace("https://res.openai.azure.com", "https://res.openai.azure.com/openai/v1"),
     "main.yaml:5: Provider.az: spec.endpoint: is the resource's endpoint without a path"),
    (GOOD.replace("https://res.openai.azure.com", "res.openai.azure.com"), "spec.endpoint: must be an https URL"),
    (GOOD + "  endpont: x\n", "unknown field 'endpont' (did you mean 'endpoint'?)"),
    (HEAD.replace("azure", "azur") + "  api_key_env: K\n",
     "main.yaml:4: Provider.az: spec.type: unknown type 'azur' (did you mean 'azure'?)"),
    ("kind: Provider\nname: o\nspec:\n  api_key_env: K\n  endpoint: https://res.openai.azure.com\n",
     "main.yaml:5: Provider.o: spec.endpoint: endpoint belongs to a Provider of type azure, not openai"),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_each_mistake_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(SpecErrors) as caught:
        _load(tmp_path, text)
    lines = [str(e) for e in caught.value.errors]
    assert len(lines) == 1, lines
    assert expected in lines[0]


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://res.openai.azure.com", True),
    ("https://res.cognitiveservices.azure.com", True),
    ("https://a.b.openai.azure.com", False),          # * is one DNS label
    ("https://openai.azure.com", False),
    ("http://res.openai.azure.com", False),           # not https
    ("https://res.openai.azure.com.evil.com", False),
    ("https://evil.com/res.openai.azure.com", False),
    ("https://api.openai.com/v1", False),             # OpenAI's endpoint is not Azure's
])
def test_azure_endpoints_allowed_without_the_operator(url: str, allowed: bool) -> None:
    assert (url_problem(url, "azure", ()) is None) is allowed


def test_other_endpoints_only_through_the_operator() -> None:
    assert url_problem("https://gw.example.com/azure", "azure", parse_prefixes("https://gw.example.com")) is None
    problem = url_problem("https://gw.example.com/azure", "azure", ())
    assert problem is not None and "not an allowed endpoint" in problem


@pytest.mark.parametrize(("value", "problem"), [
    ("0123456789abcdef0123456789abcdef", None),
    ("A" * 84, None),
    ("sk-proj-abcdefgh", "holds something else, not an Azure OpenAI resource key"),
    ("postgres://u:p@h/db", "holds a URL"),
    ("short", "holds something else"),
])
def test_azure_key_shapes(value: str, problem: str | None) -> None:
    found = key_problem("azure", "api_key", value)
    assert (found is None) if problem is None else (found is not None and problem in found)
    if found is not None:
        assert value not in found
