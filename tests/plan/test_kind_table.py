"""The planner plans each document by asking the table of kinds it is given (`PlanOptions.kinds`),
not a registry it imports: a table that records what it is asked sees every document's kind, and a
table without a kind refuses that document's plan."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import PlanError
from reconciler.kinds import registry
from reconciler.kinds.base import Kind
from reconciler.loading import load_specs
from reconciler.plan.model import Action, Plan
from reconciler.plan.snapshot import Snapshot
from reconciler.planner.build import PlanOptions, plan
from reconciler.state import ResourceState
from reconciler.state.model import new_state


class Table:
    """The registry's kinds, less `without`, recording every name asked."""

    def __init__(self, without: str | None = None) -> None:
        self.without = without
        self.asked: list[str] = []

    def get(self, name: str) -> Kind:
        self.asked.append(name)
        if name == self.without:
            raise PlanError(f"unknown kind {name}")
        return registry.get(name)

    def by_type(self, type_: str) -> Kind:
        return self.get(type_)

    def all_kinds(self) -> Iterator[Kind]:
        return (k for k in registry.all_kinds() if k.name != self.without)

    def kind_of_address(self, address: str) -> Kind | None:
        return registry.kind_of_address(address)

    def imported_resource(self, address: str, kind_name: str, object_id: str, attributes: Mapping[str, Any],
                          depends_on: Iterable[str]) -> ResourceState:
        return registry.imported_resource(address, kind_name, object_id, attributes, depends_on)


@pytest.fixture
def specs(tmp_path: Path) -> Any:
    (tmp_path / "train.jsonl").write_text('{"messages": [{"role": "user", "content": "hi"}, '
                                          '{"role": "assistant", "content": "hello"}]}\n')
    (tmp_path / "specs.yaml").write_text("kind: File\nname: train\nspec:\n  path: train.jsonl\n")
    return load_specs(tmp_path, {})


def test_the_planner_asks_the_table_it_is_given(specs: Any) -> None:
    table = Table()
    result = plan(specs, new_state(), Snapshot.of(refreshed=False), PlanOptions(refresh=False, kinds=table))
    assert isinstance(result, Plan)
    assert [(c.address, c.action) for c in result.changes] == [("File.train", Action.CREATE)]
    assert "File" in table.asked


def test_a_table_without_the_kind_refuses_its_document(specs: Any) -> None:
    with pytest.raises(PlanError, match="unknown kind File"):
        plan(specs, new_state(), Snapshot.of(refreshed=False), PlanOptions(refresh=False, kinds=Table("File")))
