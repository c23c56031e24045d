"""Where keys may be sent and what a key variable may hold (config/endpoints.py), table-driven."""

from __future__ import annotations

import pytest

from reconciler.config.endpoints import key_problem, not_a_key_variable, parse_prefixes, url_problem
from reconciler.config.providers import Provider
from reconciler.identity import ApiIdentity
from reconciler.planner.providers import review_providers
from reconciler.state.model import State

ALLOWED = "https://gw.example/v1, http://127.0.0.1:8080/openai, https://*.gateway.example"

CASES = [
    # (spec base_url, allowed?)
    ("https://api.openai.com/v1", True),              # the platform's public endpoint
    ("https://API.OpenAI.com/v1/", True),
    ("https://api.openai.com:443/v1", True),
    ("https://api.openai.com/v1/x", True),
    ("https://api.openai.com/v1evil", False),
    ("https://api.openai.com.evil.com/v1", False),
    ("http://api.openai.com/v1", False),              # another scheme
    ("https://api.openai.com:8443/v1", False),        # another port
    ("https://api.openai.com/v2", False),
    ("https://api.openai.com", False),                # shorter than the prefix
    ("https://api.openai.com@evil.com/v1", False),    # userinfo: another host
    ("https://evil.com\\@api.openai.com/v1", False),  # parsers disagree on a backslash
    ("https://api.openai.com/v1/../../evil", False),
    ("https://api.openai.com/v1/%2e%2e/evil", False),
    ("https://api.openai.com/v1%2fevil", False),
    ("https://api.openai.com/v1?x=1", False),
    ("https://api.openai.com/v1 ", False),
    ("https://аpi.openai.com/v1", False),             # Cyrillic а: not plain ASCII
    ("https://gw.example/v1", True),                  # RECONCILER_ALLOWED_BASE_URLS
    ("https://gw.example/v1/team", True),
    ("https://gw.example/v10", False),
    ("https://gw.example.evil.com/v1", False),
    ("https://evilgw.example/v1", False),
    ("http://127.0.0.1:8080/openai/v1", True),
    ("http://127.0.0.1:8081/openai/v1", False),
    ("http://localhost:8080/openai/v1", False),       # a name is not its address
    ("https://eu.gateway.example/v1", True),          # *. is one label
    ("https://a.b.gateway.example/v1", False),
    ("https://gateway.example/v1", False),
    ("ftp://gw.example/v1", False),
]


@pytest.mark.parametrize(("url", "allowed"), CASES)
def test_prefix_matching(url: str, allowed: bool) -> None:
    problem = url_problem(url, "openai", parse_prefixes(ALLOWED))
    assert (problem is None) is allowed, problem


@pytest.mark.parametrize("bad", ["gw.example/v1", "https://", "https://u:p@gw.example", "https://gw.example/v1?x",
                                 "https://gw example/v1"])
def test_an_operator_prefix_that_is_not_one_is_refused(bad: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_prefixes(f"https://ok.example/v1,{bad}")
    assert repr(bad) in str(caught.value)


KEYS = [
    ("api_key", "sk-proj-abc123_-XYZ", None),
    ("api_key", "sk-svcacct-abc123", None),
    ("api_key", "sk-abcdefghijklmnop", None),
    ("api_key", "sk-admin-abcdef", None),
    ("api_key", "postgresql://u:p@h/db", "holds a URL"),
    ("api_key", "https://hooks.slack.com/services/T/B/x", "holds a URL"),
    ("api_key", "host=h user=u password=p", "holds a connection string"),
    ("api_key", "sk-", "holds something else"),
    ("api_key", "sk-proj-abc def", "holds something else"),
    ("api_key", "Bearer sk-proj-abc", "holds something else"),
    ("admin_key", "sk-admin-abcdef", None),
    ("admin_key", "sk-proj-abcdef", "not an OpenAI admin key"),
]


@pytest.mark.parametrize(("role", "value", "said"), KEYS)
def test_key_shapes(role: str, value: str, said: str | None) -> None:
    problem = key_problem("openai", role, value)
    if said is None:
        assert problem is None
    else:
        assert problem is not None and said in problem and (len(value) < 4 or value not in problem)


@pytest.mark.parametrize(("name", "other"), [("RECONCILER_PG_CONN_STR", True), ("PGPASSWORD", True),
                                             ("GITHUB_TOKEN", True), ("RECONCILER_WEBHOOK", True),
                                             ("OPENAI_API_KEY", False), ("TEAM_B_KEY", False),
                                             ("PG_TEAM_KEY", False)])
def test_variables_of_other_secrets(name: str, other: bool) -> None:
    assert bool(not_a_key_variable(name)) is other


def _state(api: ApiIdentity | None = None, **profiles: ApiIdentity) -> State:
    return State(format_version=1, lineage="l", serial=1, reconciler_version="0", api=api,
                 provider_apis=dict(profiles))


@pytest.mark.parametrize(("state", "declared", "status", "changes"), [
    (_state(), Provider("default", "K", base_url="https://api.openai.com/v1"), "new", ()),
    (_state(ApiIdentity("https://api.openai.com/v1", "org-1", "proj_1")),
     Provider("default", "K", organization="org-1", project="proj_1"), "unchanged", ()),
    (_state(ApiIdentity("https://api.openai.com/v1", "org-1", "proj_1")),
     Provider("default", "K", base_url="https://gw.example/v1/"), "changed",
     (("base_url", "https://api.openai.com/v1", "https://gw.example/v1"),)),
    (_state(team=ApiIdentity("https://api.openai.com/v1", None, "proj_1")),
     Provider("team", "K", project="proj_2"), "changed", (("project", "proj_1", "proj_2"),)),
    (_state(team=ApiIdentity("https://api.openai.com/v1", None, None)),
     Provider("team", "K", project="proj_2"), "unchanged", ()),   # nothing recorded: unknown, not different
    (_state(ApiIdentity("https://api.openai.com/v1", None, None)), Provider("team", "K"), "new", ()),
])
def test_review_marks_new_and_changed_providers(state: State, declared: Provider, status: str,
                                                changes: tuple[tuple[str, str, str], ...]) -> None:
    [review] = review_providers({declared.name: declared}, state, {"File.a": declared.name},
                                default_base_url="https://api.openai.com/v1", default_source="default")
    assert (review.status, review.changes, review.used_by) == (status, changes, 1)
