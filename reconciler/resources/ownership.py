"""Ownership: which workspace made an object. Every object reconciler makes carries the mark of
the state's lineage — a job in its metadata (`reconciler_lineage`), a file, which has no
metadata, in its uploaded filename (`train.reconciler-<lineage>.jsonl`). Adoption, prune and
unmanaged-object reports only ever treat as *ours* what carries our mark.

A job also carries the workspace's name and the spec folder's identity
(`reconciler_workspace: "prod:github.com/acme/ml//specs"`), so that another lineage's job can be
told apart: the same workspace of the same folder (a lost or replaced state: creating again pays
twice), a sibling workspace of the folder (`-w staging` beside `-w prod`), or another folder that
reuses the address. docs/adr/0401-workspace-and-folder-identity.md says how a folder is named.

An object reconciler made before marks existed carries none: `owner` answers None for it, and each
caller decides what is safe (see RELIABILITY.md, "Workspaces and folders are isolated").
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.state.model import Owner

__all__ = ["FILE_MARK", "TAG_ADDRESS", "TAG_DIGEST", "TAG_LINEAGE", "TAG_WORKSPACE", "file_owner", "folder_identity", "folder_name",
           "job_owner", "job_workspace", "legacy_adoptable", "mark", "marked_filename", "normalise_remote",
           "owner_note", "owner_tag", "same_folder"]

TAG_ADDRESS = "reconciler_address"  # the address a job was created for (adopted after a crash)
TAG_DIGEST = "reconciler_digest"    # the sha256 of the job's canonical inputs
TAG_LINEAGE = "reconciler_lineage"
TAG_WORKSPACE = "reconciler_workspace"
_MAX_VALUE = 512    # the API's limit on a metadata value
_REPO_SEP = "//"   # `REPO//PATH`, as Terraform names a module's subfolder in a repository
# What a mark read back may hold: a workspace name as `workspace new` allows, a folder of path
# characters. Anything else (markup, control characters) is not one of ours and is never shown.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_FOLDER = re.compile(r"[\w .~@/+:,=-]{1,500}")
FILE_MARK = ".reconciler-"
_SAFE = re.compile(r"[A-Za-z0-9-]{1,64}")
_MARKED = re.compile(r"^(?P<stem>.+)\.reconciler-(?P<mark>[A-Za-z0-9-]{1,64})(?P<ext>\.[A-Za-z0-9]{1,16})?$")


def mark(lineage: str) -> str:
    """The mark of a lineage as objects carry it: the lineage itself (a uuid4), or, for a lineage
    with other characters (a hand-made state), a digest of it that fits a filename."""
    return lineage if _SAFE.fullmatch(lineage) else hashlib.sha256(lineage.encode()).hexdigest()[:32]


def marked_filename(filename: str, lineage: str) -> str:
    """`train.jsonl` uploaded by lineage L is named `train.reconciler-L.jsonl` (the extension stays
    last: the API checks it)."""
    stem, dot, ext = filename.rpartition(".")
    if not dot or not stem:
        return f"{filename}{FILE_MARK}{mark(lineage)}"
    return f"{stem}{FILE_MARK}{mark(lineage)}.{ext}"


def file_owner(file: Mapping[str, Any]) -> str | None:
    """The mark in a listed file's name, or None (uploaded by hand or by an older reconciler)."""
    name = file.get("filename")
    found = _MARKED.match(name) if isinstance(name, str) else None
    return found.group("mark") if found else None


def job_owner(job: Mapping[str, Any]) -> str | None:
    """The mark in a listed job's metadata, or None (made by hand or by an older reconciler)."""
    metadata = job.get("metadata")
    value = metadata.get(TAG_LINEAGE) if isinstance(metadata, Mapping) else None
    return value if isinstance(value, str) and value else None


def legacy_adoptable(serial: int) -> bool:
    """Whether an object without a mark may be adopted as made by an interrupted run of this
    state: only when the state was written before (an older reconciler may have made it, then
    died). A state never written runs only with marks, so nothing unmarked can be its own."""
    return serial > 0


def owner_note(owner: str | None) -> str:
    """How a plan names an object that is not ours."""
    return "of another workspace" if owner else "that this workspace does not manage"


def owner_tag(owner: Owner) -> str:
    """The `reconciler_workspace` value a job is created with: `WORKSPACE:FOLDER` (a workspace name
    holds no colon). A folder too long for a metadata value is named by a digest of it."""
    value = f"{owner.workspace}:{owner.folder}"
    if len(value) <= _MAX_VALUE:
        return value
    return f"{owner.workspace}:sha256-{hashlib.sha256(owner.folder.encode()).hexdigest()[:32]}"


def job_workspace(job: Mapping[str, Any]) -> Owner | None:
    """The workspace and folder a listed job's metadata names, or None (a job made by hand, or by a
    reconciler that marked the lineage only)."""
    metadata = job.get("metadata")
    value = metadata.get(TAG_WORKSPACE) if isinstance(metadata, Mapping) else None
    if not isinstance(value, str):
        return None
    workspace, colon, folder = value.partition(":")
    if not colon or not _NAME.fullmatch(workspace) or not _FOLDER.fullmatch(folder):
        return None  # not a mark we write: nothing of it reaches a message
    return Owner(workspace, folder)


def _split(folder: str) -> tuple[str, str]:
    repo, sep, path = folder.rpartition(_REPO_SEP)
    return (repo, path) if sep else ("", folder)


def same_folder(a: str, b: str) -> bool:
    """Whether two folder identities name one folder: the same path in the repository, and the
    same repository when both know theirs (a clone without a remote knows none)."""
    if a == b:
        return True
    (repo_a, path_a), (repo_b, path_b) = _split(a), _split(b)
    return path_a == path_b and (not repo_a or not repo_b or repo_a == repo_b)


def folder_name(folder: str) -> str:
    """A folder identity as a message names it: `examples/supervised` or `specs (github.com/acme/ml)`."""
    repo, path = _split(folder)
    return f"{path} ({repo})" if repo else path


def folder_identity(spec_dir: Path, cwd: Path) -> str:
    """The identity of a spec folder, the same on every clone of its repository: its path from
    the root of the git work tree that holds it (`examples/supervised`, `.` for the root),
    prefixed by the repository's `origin` remote when there is one (`github.com/acme/ml//specs`;
    scheme, credentials and `.git` dropped, so an SSH and an HTTPS clone agree). Outside a git work
    tree: the path from the working folder when inside it, else the absolute path."""
    folder = Path(os.path.realpath(spec_dir))
    for root in (folder, *folder.parents):
        if (root / ".git").exists():
            path = folder.relative_to(root).as_posix() or "."
            repo = _origin(root / ".git")
            return f"{repo}{_REPO_SEP}{path}" if repo else path
    try:
        return folder.relative_to(os.path.realpath(cwd)).as_posix() or "."
    except ValueError:
        return folder.as_posix()


_GITDIR = re.compile(r"^gitdir:\s*(.+?)\s*$", re.MULTILINE)
_SECTION = re.compile(r"^\s*\[(.+?)\]\s*$")
_URL = re.compile(r"^\s*url\s*=\s*(.+?)\s*$")


def _origin(dot_git: Path) -> str:
    """The `origin` remote's URL of the repository `dot_git` (a folder, or a worktree's or
    submodule's `gitdir:` file), normalised to `host/path`; "" when there is none."""
    try:
        if dot_git.is_file():
            found = _GITDIR.search(dot_git.read_text(encoding="utf-8", errors="replace")[:4096])
            if not found:
                return ""
            dot_git = (dot_git.parent / found.group(1)).resolve()
            common = dot_git / "commondir"
            if common.is_file():
                dot_git = (dot_git / common.read_text(encoding="utf-8").strip()).resolve()
        lines = (dot_git / "config").read_text(encoding="utf-8", errors="replace")[:1 << 20].splitlines()
    except OSError:
        return ""
    section = ""
    for line in lines:
        head = _SECTION.match(line)
        if head:
            section = head.group(1).replace(" ", "").replace("'", '"')
            continue
        url = _URL.match(line)
        if url and section == 'remote"origin"':
            return normalise_remote(url.group(1).strip('"'))
    return ""


def normalise_remote(url: str) -> str:
    """`git@github.com:acme/ml.git`, `https://user:TOKEN@github.com/acme/ml` and
    `ssh://git@github.com:22/acme/ml.git` -> `github.com/acme/ml` (never a credential)."""
    text = url.strip()
    scheme = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text)
    if scheme:
        text = text[scheme.end():]
        host, _, path = text.partition("/")
    elif re.match(r"^[^/]+:", text):  # scp-like: [user@]host:path
        host, _, path = text.partition(":")
    else:  # a local path: no host to name
        host, path = "", text
    host = host.rpartition("@")[2].split(":")[0].lower()
    path = re.split(r"[?#]", path, maxsplit=1)[0].strip("/")
    path = path[:-4] if path.endswith(".git") else path
    return f"{host}/{path}" if host else path
