"""api/profiles.py: one Client over one client per provider profile, routed (pure: fake clients,
no server). Listings outside a change read every profile once; inside a change creates go to the
change's profile; calls about one object go to the profile that listed, created or recorded it;
an object nobody listed is looked up in each profile (a 404 from one is not the answer)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.api.profiles import ProfileClients, acting_for, mark_profile
from reconciler.errors import NotFoundError
from reconciler.state.model import ResourceState


class Fake:
    def __init__(self, name: str, jobs: list[str]):
        self.name = name
        self.jobs = {j: {"id": j} for j in jobs}
        self.calls: list[tuple[str, Any]] = []

    def list_jobs(self, *, metadata: Any = None, page_size: int = 100) -> list[dict[str, Any]]:
        self.calls.append(("list_jobs", None))
        return list(self.jobs.values())

    def get_job(self, job_id: str) -> dict[str, Any]:
        self.calls.append(("get_job", job_id))
        if job_id not in self.jobs:
            raise NotFoundError(f"no {job_id}")
        return self.jobs[job_id]

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        self.calls.append(("cancel_job", job_id))
        return self.get_job(job_id)

    def create_job(self, body: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        self.calls.append(("create_job", body["suffix"]))
        job = {"id": f"ftjob-{self.name}-{body['suffix']}"}
        self.jobs[job["id"]] = job
        return job

    def list_permissions(self, checkpoint: str, **kw: Any) -> list[dict[str, Any]]:
        self.calls.append(("list_permissions", checkpoint))
        return []


def _router(**owners: str) -> tuple[ProfileClients, Fake, Fake]:
    a, b = Fake("a", ["ftjob-1"]), Fake("b", ["ftjob-2"])
    router = ProfileClients({"team_a": a, "team_b": b}, {"Job.x": "team_a", "Job.y": "team_b"}, owners=owners,
                            admins={"team_b"})
    return router, a, b


def test_listing_outside_a_change_reads_each_profile_once_and_learns_owners() -> None:
    router, a, b = _router()
    assert sorted(j["id"] for j in router.list_jobs()) == ["ftjob-1", "ftjob-2"]
    assert a.calls == [("list_jobs", None)] and b.calls == [("list_jobs", None)]
    router.cancel_job("ftjob-2")
    assert ("cancel_job", "ftjob-2") in b.calls and all(c[0] != "cancel_job" for c in a.calls)


@pytest.mark.parametrize(("address", "made_in"), [("Job.x", "a"), ("Job.y", "b"), ("Job.unknown", "a")])
def test_a_change_creates_in_its_own_profile(address: str, made_in: str) -> None:
    router, _a, _b = _router()
    with acting_for(router, address):
        job = router.create_job({"suffix": "s"}, idempotency_key="k")
        listed = [j["id"] for j in router.list_jobs()]
    assert job["id"] == f"ftjob-{made_in}-s"
    assert job["id"] in listed and (("ftjob-2" in listed) == (made_in == "b"))  # only its own project listed
    assert router.owner(job["id"]) == ("team_a" if made_in == "a" else "team_b")


def test_an_object_nobody_listed_is_looked_up_in_each_profile() -> None:
    router, a, b = _router()
    assert router.get_job("ftjob-2") == {"id": "ftjob-2"}
    assert ("get_job", "ftjob-2") in a.calls and ("get_job", "ftjob-2") in b.calls
    with pytest.raises(NotFoundError):
        router.get_job("ftjob-gone")


def test_recorded_owner_is_used_first() -> None:
    router, a, _b = _router(**{"ftjob-2": "team_b"})
    router.get_job("ftjob-2")
    assert a.calls == []


def test_permissions_use_a_profile_that_has_an_admin_key() -> None:
    router, a, b = _router()
    list(router.list_permissions("ft:ckpt"))
    assert b.calls == [("list_permissions", "ft:ckpt")] and a.calls == []


@pytest.mark.parametrize(("meta", "address", "expected"), [
    ({}, "Job.x", {"provider": "team_a"}),
    ({"provider": "team_a"}, "Job.y", {"provider": "team_b"}),
    ({"provider": "team_b", "x": 1}, "Job.y", {"provider": "team_b", "x": 1}),
])
def test_mark_profile_records_the_profile(meta: dict[str, Any], address: str, expected: dict[str, Any]) -> None:
    router, _, _ = _router()
    resource = ResourceState(address, "FineTuningJob", "ftjob-9", meta=dict(meta))
    assert mark_profile(router, address, resource).meta == expected
    assert resource.meta == meta  # the caller's object is not changed
    assert mark_profile(object(), address, resource) is resource  # a plain client: nothing to mark
