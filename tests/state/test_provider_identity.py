"""Each provider profile's API identity in the state (reconciler/identity.py): the default
keeps the top-level "api", the others sit in "provider_apis"; each is checked like the default's."""

from __future__ import annotations

import json

import pytest

from reconciler.errors import StateError
from reconciler.identity import ApiIdentity, IdentityMismatchError, check_profile_identity
from reconciler.state.model import State

BASE = {"format_version": 1, "lineage": "l-1", "serial": 3, "reconciler_version": "0.1.0", "resources": {}}
A = ApiIdentity("https://api.openai.com/v1", "org-1", "proj_a")
B = ApiIdentity("https://api.openai.com/v1", "org-1", "proj_b")


def test_old_state_loads_and_round_trips_without_the_map() -> None:
    state = State.from_json(json.dumps({**BASE, "api": A.to_dict()}))
    assert state.provider_apis == {} and state.api == A
    assert "provider_apis" not in json.loads(state.to_json())


def test_map_round_trips_and_streams_as_to_json() -> None:
    state = State.from_json(json.dumps({**BASE, "api": A.to_dict(), "provider_apis": {"team_b": B.to_dict()}}))
    assert state.provider_apis == {"team_b": B}
    assert b"".join(state.iter_json()).decode() == state.to_json()


@pytest.mark.parametrize("bad", [[1], {"team_b": {"base_url": ""}}, {"team_b": {"base_url": "x", "projcet": "p"}}])
def test_malformed_map_is_one_state_error(bad: object) -> None:
    with pytest.raises(StateError):
        State.from_json(json.dumps({**BASE, "provider_apis": bad}))


@pytest.mark.parametrize(("profile", "reported", "refused"), [
    ("default", A, False), ("default", B, True),          # the top-level api, as before
    ("team_b", B, False), ("team_b", A, True),            # the map entry
    ("team_c", A, False),                                 # not recorded yet: learnt
])
def test_each_profile_is_checked_against_its_own_record(profile: str, reported: ApiIdentity, refused: bool) -> None:
    state = State.from_json(json.dumps({**BASE, "api": A.to_dict(), "provider_apis": {"team_b": B.to_dict()}}))
    if refused:
        with pytest.raises(IdentityMismatchError, match="state rebind"):
            check_profile_identity(state, profile, reported, where="state/default.json")
        return
    check_profile_identity(state, profile, reported, where="state/default.json")
    recorded = state.api if profile == "default" else state.provider_apis[profile]
    assert recorded == reported
