"""Which provider profile a saved plan's changes go to (cli/providers.py), table-driven without a
server: what `plan --out` records, and when `apply PLANFILE` refuses because the spec folder beside
it would send a change elsewhere. The same over the real CLI and a project-scoped sandbox:
tests/e2e/test_providers_e2e.py::test_a_saved_plan_goes_only_to_the_projects_it_was_made_for."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from reconciler.cli.providers import check_saved_plan_providers, saved_plan_providers
from reconciler.config.providers import Provider
from reconciler.errors import StalePlanError

A = Provider("team_a", api_key_env="A_KEY", project="proj_a", file="specs/p.yaml", line=1,
             positions={"spec.project": 5})
B = Provider("team_b", api_key_env="B_KEY", project="proj_b", file="specs/p.yaml", line=8)


def specs(providers: dict[str, Provider], **documents: str | None) -> Any:
    return SimpleNamespace(providers=providers,
                           documents={a: SimpleNamespace(provider=p) for a, p in documents.items()})


def state(**recorded: str) -> Any:
    return SimpleNamespace(resources={a: SimpleNamespace(meta={"provider": p}, id="x") for a, p in recorded.items()})


def plan(*addresses: str, imports: dict[str, str] | None = None) -> Any:
    return SimpleNamespace(actionable=[SimpleNamespace(address=a) for a in addresses], imports=imports or {},
                           moves=())


def test_nothing_is_recorded_without_profiles() -> None:
    assert saved_plan_providers(specs({}, **{"FineTuningJob.x": None}), state(), plan("FineTuningJob.x")) is None


def test_the_record_names_each_change_and_profile_without_keys() -> None:
    recorded = saved_plan_providers(specs({"team_a": A, "team_b": B}, **{"FineTuningJob.x": "team_a",
                                                                         "File.f": None}),
                                    state(**{"FineTuningJob.gone": "team_b"}),
                                    plan("FineTuningJob.x", "File.f", "FineTuningJob.gone"))
    assert recorded == {
        "addresses": {"File.f": "default", "FineTuningJob.gone": "team_b", "FineTuningJob.x": "team_a"},
        "profiles": {"team_a": {"base_url": None, "organization": None, "project": "proj_a",
                                "api_key_env": "A_KEY", "admin_key_env": None},
                     "team_b": {"base_url": None, "organization": None, "project": "proj_b",
                                "api_key_env": "B_KEY", "admin_key_env": None}}}


MADE = specs({"team_a": A}, **{"FineTuningJob.x": "team_a", "File.f": None})
RECORD = saved_plan_providers(MADE, state(), plan("FineTuningJob.x", "File.f"))
A_ELSEWHERE = Provider("team_a", api_key_env="A_KEY", project="proj_other", file="specs/p.yaml", line=1,
                       positions={"spec.project": 5})


@pytest.mark.parametrize(("recorded", "here", "message"), [
    (RECORD, MADE, None),
    (RECORD, specs({}), "FineTuningJob.x was planned in provider 'team_a', but the spec folder here"),
    (RECORD, specs({"team_a": A}, **{"FineTuningJob.x": None}), "puts it in 'default'"),
    (RECORD, specs({"team_a": A_ELSEWHERE}, **{"FineTuningJob.x": "team_a", "File.f": None}),
     "specs/p.yaml:5: Provider.team_a changed since the plan was made (project: 'proj_a' → 'proj_other')"),
    (RECORD, specs({"team_b": B}, **{"FineTuningJob.x": "team_a", "File.f": None}),
     "planned with Provider.team_a, which the spec folder here"),
    (None, specs({}), None),                      # made and applied without profiles
    (None, MADE, "made without provider profiles (or by an older version)"),
    ({"addresses": "garbage"}, specs({}), None),  # a damaged record checks what it can
], ids=["same", "no-folder", "moved-to-default", "project-changed", "provider-gone", "none-none", "none-now-some",
        "damaged"])
def test_apply_refuses_a_plan_the_folder_would_send_elsewhere(recorded: Any, here: Any, message: str | None) -> None:
    run = lambda: check_saved_plan_providers(Path("plan.json"), plan("FineTuningJob.x", "File.f"), recorded,  # noqa: E731
                                             here, state(), "specs")
    if message is None:
        run()
    else:
        with pytest.raises(StalePlanError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
            run()
        assert "\n" not in str(caught.value) and str(caught.value).startswith("plan.json: ")


def test_no_spec_folder_here_is_said_so() -> None:
    with pytest.raises(StalePlanError, match=r"there is no spec folder here to say which project it goes to "
                                             r"\(it would go to 'default'\): apply the plan beside the specs it "
                                             r"was made from \(-C DIR\)"):
        check_saved_plan_providers(Path("plan.json"), plan("FineTuningJob.x"), RECORD, specs({}), state(), None)
