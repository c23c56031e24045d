"""The marks objects carry (reconciler/resources/ownership.py): the lineage, the workspace's name
and the spec folder's identity, table-driven."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.resources.ownership import (
    file_owner,
    folder_identity,
    job_owner,
    job_workspace,
    legacy_adoptable,
    mark,
    marked_filename,
    normalise_remote,
    owner_tag,
    same_folder,
)
from reconciler.state.model import Owner

L = "5f0c4c8e-2d7a-4f7e-9a51-0c1d2e3f4a5b"

NAMES = [
    ("train.jsonl", f"train.reconciler-{L}.jsonl"),
    ("my.data.v2.jsonl", f"my.data.v2.reconciler-{L}.jsonl"),   # the extension stays last
    ("noext", f"noext.reconciler-{L}"),
    (".hidden", f".hidden.reconciler-{L}"),
]


@pytest.mark.parametrize(("name", "marked"), NAMES)
def test_marked_filename_round_trips(name: str, marked: str) -> None:
    assert marked_filename(name, L) == marked
    assert file_owner({"filename": marked}) == L


@pytest.mark.parametrize("name", ["train.jsonl", "reconciler-x.jsonl", "train.reconciler-.jsonl", None, 7])
def test_unmarked_files_have_no_owner(name: object) -> None:
    assert file_owner({"filename": name}) is None


def test_a_lineage_with_other_characters_is_marked_by_its_digest() -> None:
    odd = "team a / prod"
    assert mark(odd) != odd and len(mark(odd)) == 32 and mark(odd) == mark(odd)
    assert file_owner({"filename": marked_filename("t.jsonl", odd)}) == mark(odd)
    assert len(marked_filename("t.jsonl", L)) <= 64 + len("t.jsonl") + len(".reconciler-")


@pytest.mark.parametrize(("metadata", "owner"), [
    ({"reconciler_lineage": L}, L), ({"reconciler_address": "FineTuningJob.bot"}, None),
    (None, None), ("x", None), ({"reconciler_lineage": ""}, None), ({"reconciler_lineage": 3}, None),
])
def test_job_owner(metadata: object, owner: str | None) -> None:
    assert job_owner({"metadata": metadata}) == owner


def test_only_a_state_written_before_adopts_unmarked_objects() -> None:
    assert not legacy_adoptable(0) and legacy_adoptable(1)


def test_the_job_metadata_stays_within_the_api_limits() -> None:
    from reconciler.config.schema_parts import MAX_METADATA
    from reconciler.kinds.job.inputs import create_body

    spec = {"model": "gpt-4o-mini", "training_file": "file-1",
            "metadata": {f"k{i}": "v" for i in range(MAX_METADATA)}}
    owner = Owner("w" * 64, "github.com/" + "r" * 200 + "//" + "p" * 400)  # too long a folder: a digest
    body = create_body(spec, "FineTuningJob." + "x" * 64, "0" * 64, "L" * 300, owner)
    assert len(body["metadata"]) == 16
    assert all(len(k) <= 64 and len(v) <= 512 for k, v in body["metadata"].items())
    assert body["metadata"]["reconciler_workspace"].startswith("w" * 64 + ":sha256-")


@pytest.mark.parametrize(("value", "owner"), [
    ("prod:specs", Owner("prod", "specs")),
    ("prod:github.com/acme/ml//examples/x", Owner("prod", "github.com/acme/ml//examples/x")),
    ("prod:C:/work/specs", Owner("prod", "C:/work/specs")),   # the first colon ends the name
    ("prod", None), (":specs", None), ("prod:", None), (7, None), (None, None),
    # what a message would show raw (markup, control characters) is not a mark of ours
    ("prod:<img src=https://evil.example/p.png>", None), ("prod:a|b", None), ("prod:specs\u0001", None),
    ("pr od:specs", None), ("prod:`x`", None),
])
def test_job_workspace(value: object, owner: Owner | None) -> None:
    assert job_workspace({"metadata": {"reconciler_workspace": value}}) == owner
    if owner is not None:
        assert owner_tag(owner) == value


@pytest.mark.parametrize(("url", "repo"), [
    ("git@github.com:acme/ml.git", "github.com/acme/ml"),
    ("https://github.com/acme/ml", "github.com/acme/ml"),
    ("https://x-access-token:ghs_SECRET@github.com/acme/ml.git", "github.com/acme/ml"),
    ("https://gitlab-ci-token:glcbt-SECRET@gitlab.example.com:8443/group/sub/ml.git", "gitlab.example.com/group/sub/ml"),
    ("ssh://git@github.com:22/acme/ml.git", "github.com/acme/ml"),
    ("https://github.com/acme/ml.git?token=SECRET#frag", "github.com/acme/ml"),
    ("/srv/git/ml.git", "srv/git/ml"),
])
def test_a_remote_is_named_without_its_credentials(url: str, repo: str) -> None:
    assert normalise_remote(url) == repo
    assert "SECRET" not in normalise_remote(url)


def _git(root: Path, config: str = "") -> None:
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "config").write_text(config)


ORIGIN = '[core]\n\tbare = false\n[remote "upstream"]\n\turl = git@github.com:up/ml.git\n' \
         '[remote "origin"]\n\turl = https://token:SECRET@github.com/acme/ml.git\n\tfetch = +refs/heads/*\n'


def test_a_folder_is_named_the_same_in_every_clone(tmp_path: Path) -> None:
    # Two clones at different absolute paths (a CI runner's checkout, a laptop's): the same identity.
    names = set()
    for clone in ("runner-1/builds/ml", "home/me/src/ml"):
        root = tmp_path / clone
        _git(root, ORIGIN)
        (root / "examples" / "supervised").mkdir(parents=True)
        names.add(folder_identity(root / "examples" / "supervised", tmp_path))
        names.add(folder_identity(Path(os.path.relpath(root / "examples" / "supervised")), Path.cwd()))
    assert names == {"github.com/acme/ml//examples/supervised"}


def test_a_folder_without_a_remote_or_outside_git(tmp_path: Path) -> None:
    _git(tmp_path / "repo")
    (tmp_path / "repo" / "specs").mkdir()
    assert folder_identity(tmp_path / "repo" / "specs", tmp_path) == "specs"
    assert folder_identity(tmp_path / "repo", tmp_path) == "."
    (tmp_path / "loose" / "specs").mkdir(parents=True)
    assert folder_identity(tmp_path / "loose" / "specs", tmp_path / "loose") == "specs"
    assert folder_identity(tmp_path / "loose" / "specs", tmp_path / "repo") == str(tmp_path / "loose" / "specs")


def test_a_git_worktree_names_its_main_repository_remote(tmp_path: Path) -> None:
    _git(tmp_path / "main", ORIGIN)
    (tmp_path / "main" / ".git" / "worktrees" / "wt").mkdir(parents=True)
    (tmp_path / "main" / ".git" / "worktrees" / "wt" / "commondir").write_text("../..\n")
    (tmp_path / "wt" / "specs").mkdir(parents=True)
    (tmp_path / "wt" / ".git").write_text(f"gitdir: {tmp_path / 'main' / '.git' / 'worktrees' / 'wt'}\n")
    assert folder_identity(tmp_path / "wt" / "specs", tmp_path) == "github.com/acme/ml//specs"
    # a symlink to the folder is the folder
    (tmp_path / "link").symlink_to(tmp_path / "wt" / "specs")
    assert folder_identity(tmp_path / "link", tmp_path) == "github.com/acme/ml//specs"


@pytest.mark.parametrize(("a", "b", "same"), [
    ("specs", "specs", True), ("specs", "examples/x", False),
    ("github.com/acme/ml//specs", "specs", True), ("github.com/acme/ml//specs", "github.com/acme/ml//specs", True),
    ("github.com/acme/ml//specs", "github.com/acme/web//specs", False),
    ("github.com/acme/ml//specs", "github.com/acme/ml//other", False),
])
def test_same_folder(a: str, b: str, same: bool) -> None:
    assert same_folder(a, b) is same and same_folder(b, a) is same
