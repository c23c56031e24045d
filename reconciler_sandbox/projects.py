"""Projects in the sandbox, as the real API scopes them.

With keys mapped to projects (`sandbox serve --project-key sk-a=proj_a`, `run_sandbox(project_keys=…)`)
the sandbox is scoped: a project key sees and changes only its project's jobs and files (another
project's object answers 404, as the real API does), an `OpenAI-Project` header naming another
project than the key's is refused, and a key that is neither mapped nor an admin key is refused as
an incorrect key. Admin keys (`sk-admin-…`) manage checkpoint permissions across the organisation.
The `openai-project` response header names the key's project.

Without a mapping nothing is scoped: every key sees everything (the sandbox as it always was).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reconciler_sandbox.errors import ApiError, not_found

if TYPE_CHECKING:
    from reconciler_sandbox.routes import Request
    from reconciler_sandbox.world import World

__all__ = ["FILE_PROJECT", "ProjectKeys", "parse_project_key"]

FILE_PROJECT = "_project"  # where a file's project is kept in the world (never shown in answers)


def parse_project_key(text: str) -> tuple[str, str]:
    """`sk-a=proj_a` -> ("sk-a", "proj_a"); ValueError naming the expected form."""
    key, sep, project = text.partition("=")
    key, project = key.strip(), project.strip()
    if not sep or not key or not project.startswith("proj_"):
        raise ValueError(f"{text.split('=', 1)[0][:6]}…: expected KEY=proj_ID (a key, '=', a project id)")
    return key, project


class ProjectKeys:
    """Which project each key belongs to (empty: the sandbox is not scoped)."""

    def __init__(self, keys: Mapping[str, str] | None = None) -> None:
        self.keys = dict(keys or {})

    @property
    def scoped(self) -> bool:
        return bool(self.keys)

    def project_for(self, key: str, asked: str | None) -> str:
        """The project a (non-admin) key acts in; 401 for an unknown key or another project asked."""
        project = self.keys.get(key)
        if project is None:
            raise ApiError(401, f"Incorrect API key provided: {key[:3]}…{key[-4:]}. You can find your API key "
                           "at https://platform.openai.com/account/api-keys.", code="invalid_api_key")
        if asked and asked != project:
            raise ApiError(401, f"OpenAI-Project header should match project for API key (the key belongs to "
                           f"{project}, the header names {asked}).", code="mismatched_project")
        return project


def _scoped(req: Request) -> str | None:
    """The project a request is confined to, or None (not scoped, or an admin key)."""
    return req.project if req.extra.get("scoped") else None


def job_filter(req: Request) -> str | None:
    return _scoped(req)


def listing_filter(req: Request) -> str | None:
    """The project whose objects a listing shows: a scoped key's, or, unscoped, the project a user
    key names in `OpenAI-Project` (the real API lists that project's objects only); None: all."""
    return _scoped(req) or req.extra.get("listing_project")


def check_job(world: World, req: Request, job_id: str) -> None:
    """404 for a job of another project (as if it did not exist)."""
    project = _scoped(req)
    if project is None:
        return
    with world.lock:
        job = world.jobs.items.get(job_id)
        owner = job.get("project") if job is not None else None
    if job is not None and owner != project:
        raise not_found(f"Could not find fine-tune: {job_id}", param="fine_tune_id", code="fine_tune_not_found")


def file_owner(world: World, file_id: str) -> str | None:
    with world.lock:
        meta = world.files.items.get(file_id)
        if meta is not None:
            return str(meta.get(FILE_PROJECT)) if meta.get(FILE_PROJECT) else None
        job_id = world.result_files.get(file_id)
        job = world.jobs.items.get(job_id) if job_id is not None else None
        return str(job.get("project")) if job is not None else None


def check_file(world: World, req: Request, file_id: str) -> None:
    """404 for a file of another project (a file uploaded unscoped belongs to no project: 404 too)."""
    project = _scoped(req)
    if project is None:
        return
    exists = file_id in world.files.items or file_id in world.result_files
    if exists and file_owner(world, file_id) != project:
        raise not_found(f"No such File object: {file_id}", param="id")


def check_job_files(world: World, req: Request, body: Any) -> None:
    """A job may train only on its own project's files (another project's: 400, as not found)."""
    if _scoped(req) is None or not isinstance(body, dict):
        return
    for param in ("training_file", "validation_file"):
        file_id = body.get(param)
        if isinstance(file_id, str) and file_id:
            try:
                check_file(world, req, file_id)
            except ApiError:
                raise ApiError(400, f"invalid file id: {file_id} (no such file in this project)", param=param,
                               code="invalid_request_error") from None
