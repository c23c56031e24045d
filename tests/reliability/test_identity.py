"""Issue 14, item 3: a state is bound to the API account it was made against.

Team A's state planned against an API holding one unrelated job proposed `+ FineTuningJob.bot will
be created` (a second paid job). Now the state records the account the API reports (`"api"`:
base URL, organisation, project) and a run against another account is refused at the API's first
answer, before any request that changes anything; `reconciler state rebind` moves it on purpose.

The pure parts (normalising, comparing, parsing) are table-driven; the promises are shown with the
real CLI against the real sandbox over HTTP, counting the jobs in the other account."""

from __future__ import annotations

import json

import pytest

from reconciler.errors import StateError
from reconciler.state.identity import (
    ApiIdentity,
    IdentityMismatchError,
    check_identity,
    differences,
    normalise_base_url,
)
from reconciler.state.model import State, new_state

# -- normalising the base URL -----------------------------------------------------------------------

NORMALISE = [
    ("https://api.openai.com/v1", "https://api.openai.com/v1"),
    ("https://api.openai.com/v1/", "https://api.openai.com/v1"),
    ("HTTPS://API.OpenAI.com/v1", "https://api.openai.com/v1"),
    ("https://api.openai.com:443/v1", "https://api.openai.com/v1"),
    ("http://proxy.corp:80/v1", "http://proxy.corp/v1"),
    ("https://proxy.corp:8443/v1", "https://proxy.corp:8443/v1"),      # a real port names a service
    ("http://127.0.0.1:53211/v1", "http://127.0.0.1/v1"),              # loopback: the sandbox's random port
    ("http://localhost:8765/v1", "http://localhost/v1"),
    ("http://[::1]:9000/v1", "http://[::1]/v1"),
    ("https://user:secret@api.openai.com/v1", "https://api.openai.com/v1"),   # userinfo never kept
    ("https://api.openai.com/v1?api-version=1#x", "https://api.openai.com/v1"),
    ("https://gateway.example/openai/v1/", "https://gateway.example/openai/v1"),
]


@pytest.mark.parametrize(("url", "expected"), NORMALISE)
def test_normalise_base_url(url: str, expected: str) -> None:
    assert normalise_base_url(url) == expected


# -- comparing ----------------------------------------------------------------------------------------

A = ApiIdentity("https://api.openai.com/v1", "org-a", "proj_a")
COMPARE = [
    # recorded, reported, differing fields
    (None, A, []),                                                                   # nothing recorded yet
    (A, A, []),
    (A, ApiIdentity("https://api.openai.com/v1", "org-b", "proj_a"), ["organization"]),
    (A, ApiIdentity("https://api.openai.com/v1", "org-a", "proj_b"), ["project"]),
    (A, ApiIdentity("https://other.example/v1", "org-a", "proj_a"), ["base_url"]),
    (A, ApiIdentity("https://other.example/v1", "org-b", "proj_b"), ["base_url", "organization", "project"]),
    (A, ApiIdentity("https://api.openai.com/v1", None, None), []),                  # headers not sent: unknown
    (ApiIdentity("https://api.openai.com/v1"), A, []),                              # newly known: filled in
]


@pytest.mark.parametrize(("recorded", "reported", "differ"), COMPARE)
def test_differences(recorded: ApiIdentity | None, reported: ApiIdentity, differ: list[str]) -> None:
    assert differences(recorded, reported) == differ
    if differ:
        with pytest.raises(IdentityMismatchError) as info:
            check_identity(recorded, reported, where="state/a.json")
        line = str(info.value)
        assert "\n" not in line
        assert recorded is not None and recorded.describe() in line and reported.describe() in line
        assert "state/a.json" in line and "reconciler state rebind" in line
    else:
        kept = check_identity(recorded, reported, where="state/a.json")
        assert kept.base_url == (recorded or reported).base_url
        assert kept.organization == ((recorded and recorded.organization) or reported.organization)


def test_reported_identity_normalises_and_drops_blank_headers() -> None:
    got = ApiIdentity.reported("http://u:p@127.0.0.1:4242/v1/", " org-x ", "")
    assert got == ApiIdentity("http://127.0.0.1/v1", "org-x", None)


# -- the state's "api" key ----------------------------------------------------------------------------

def _state_text(api: object) -> str:
    data = json.loads(new_state("lin-1").to_json())
    data["api"] = api
    return json.dumps(data)


@pytest.mark.parametrize(("api", "message"), [
    ("https://api.openai.com/v1", "api must be an object"),
    ({}, "api.base_url must be a non-empty string"),
    ({"base_url": 3}, "api.base_url must be a non-empty string"),
    ({"base_url": "https://x/v1", "organization": 5}, "api.organization must be a non-empty string or null"),
    ({"base_url": "https://x/v1", "project": ""}, "api.project must be a non-empty string or null"),
    ({"base_url": "https://x/v1", "org": "org-a"}, "api has an unknown key 'org'"),
])
def test_state_api_key_is_parsed_strictly(api: object, message: str) -> None:
    with pytest.raises(StateError) as info:
        State.from_json(_state_text(api), where="state/x.json")
    assert str(info.value).startswith("state/x.json: ") and message in str(info.value)


def test_state_api_key_round_trips_and_is_optional() -> None:
    old = new_state("lin-1")
    assert "api" not in json.loads(old.to_json())                    # an old state has none and loads
    assert State.from_json(old.to_json()).api is None
    assert State.from_json(_state_text(None)).api is None
    old.api = A
    text = old.to_json()
    assert b"".join(old.iter_json()) == text.encode()                # the streamed writer agrees
    assert State.from_json(text).api == A
