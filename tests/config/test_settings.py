"""The `kind: Settings` document: validated like other kinds (file:line, field, did-you-mean),
at most one per spec folder, never a resource (not in SpecSet.documents), read alone by
find_settings (commands choose the backend before reading the specs)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reconciler.config.settings import BackendSettings, Settings
from reconciler.errors import SpecErrors
from reconciler.loading import load_specs
from reconciler.loading.settings import find_settings

JOB = """\
kind: File
name: train
spec:
  path: train.jsonl
"""


def _folder(tmp_path: Path, settings: str, extra: str = "") -> Path:
    (tmp_path / "train.jsonl").write_text('{"messages": [{"role": "user", "content": "hi"}, '
                                          '{"role": "assistant", "content": "hello"}]}\n')
    (tmp_path / "main.yaml").write_text(JOB + extra)
    (tmp_path / "settings.yaml").write_text(textwrap.dedent(settings))
    return tmp_path


VALID = [
    ("kind: Settings\nname: default\nspec: {backend: {type: pg, schema: reconciler}}\n",
     BackendSettings("pg", "reconciler")),
    ("kind: Settings\nname: default\nspec: {backend: {type: pg, schema: team_a}}\n", BackendSettings("pg", "team_a")),
    ("kind: Settings\nname: default\nspec: {backend: {type: local}}\n", BackendSettings("local", "reconciler")),
    ("kind: Settings\nname: default\nspec: {}\n", BackendSettings()),
]


@pytest.mark.parametrize(("text", "backend"), VALID)
def test_valid_settings(tmp_path: Path, text: str, backend: BackendSettings) -> None:
    folder = _folder(tmp_path, text)
    specs = load_specs(folder, {})
    assert specs.settings.backend == backend
    assert list(specs.documents) == ["File.train"]  # not a resource
    assert find_settings(folder).backend == backend


INVALID = [
    ("kind: Settings\nname: default\nspec:\n  backend:\n    type: postgres\n",
     "settings.yaml:5: Settings.default: spec.backend.type: must be one of local, pg; got 'postgres'"),
    ("kind: Settings\nname: default\nspec:\n  backend:\n    type: pg\n    shema: x\n",
     "settings.yaml:6: Settings.default: spec.backend: unknown field 'shema' (did you mean 'schema'?)"),
    ("kind: Settings\nname: default\nspec:\n  backends: {type: pg}\n",
     "settings.yaml:4: Settings.default: spec: unknown field 'backends' (did you mean 'backend'?)"),
    ("kind: Settings\nname: prod\nspec: {}\n",
     "settings.yaml:2: Settings.prod: name: must be 'default', got 'prod'"),
    ("kind: Settings\nname: default\nspec:\n  backend: {type: pg, schema: Bad-Name}\n",
     "settings.yaml:4: Settings.default: spec.backend.schema: 'Bad-Name'"),
    ("kind: Settings\nname: default\nspec:\n  backend: {schema: x}\n",
     "settings.yaml:4: Settings.default: spec.backend: missing required field 'type'"),
    ("kind: Settings\nname: default\nspec: {}\n---\nkind: Settings\nname: default\nspec: {}\n",
     "settings.yaml:5: Settings.default: declared twice (first at"),
    ("kind: Setting\nname: default\nspec: {}\n", "unknown kind 'Setting' (did you mean 'Settings'?)"),
]


@pytest.mark.parametrize(("text", "expected"), INVALID)
def test_invalid_settings_one_line_each(tmp_path: Path, text: str, expected: str) -> None:
    folder = _folder(tmp_path, text)
    with pytest.raises(SpecErrors) as info:
        load_specs(folder, {})
    lines = [str(e) for e in info.value.errors]
    assert len(lines) == 1, lines
    assert expected in lines[0].replace(str(folder) + "/", ""), lines


def test_no_settings_document_means_local(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text("kind: File\nname: x\nspec: {path: a.jsonl}\n")
    assert find_settings(tmp_path) == Settings()
    assert find_settings(tmp_path / "missing") == Settings()


def test_find_settings_ignores_other_documents_errors(tmp_path: Path) -> None:
    """`state list` must choose the backend even while a job spec is being edited."""
    folder = _folder(tmp_path, "kind: Settings\nname: default\nspec: {backend: {type: pg}}\n",
                     "---\nkind: FineTuningJob\nname: broken\nspec: {model: 3}\n")
    assert find_settings(folder).backend.type == "pg"


def test_settings_in_a_file_with_other_documents(tmp_path: Path) -> None:
    (tmp_path / "train.jsonl").write_text('{"messages": [{"role": "user", "content": "hi"}, '
                                          '{"role": "assistant", "content": "hello"}]}\n')
    (tmp_path / "all.yaml").write_text("kind: Settings\nname: default\nspec:\n  backend:\n    type: pg\n---\n" + JOB)
    specs = load_specs(tmp_path, {})
    assert specs.settings.backend.type == "pg"
    assert specs.settings.where("spec.backend.type").endswith("all.yaml:5")


def test_find_settings_reads_flow_style_too(tmp_path: Path) -> None:
    """The backend chosen by commands that do not load the specs is the one the loader sees."""
    (tmp_path / "s.yaml").write_text('{"kind": "Settings", name: default, spec: {backend: {type: pg}}}\n')
    assert find_settings(tmp_path).backend.type == "pg"
    assert load_specs(tmp_path, {}).settings.backend.type == "pg"
