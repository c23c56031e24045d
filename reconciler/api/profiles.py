"""Several API identities (provider profiles, config/providers.py) behind the one `Client` interface.

One plan spans several projects, each reached with its own key. `ProfileClients` holds one client
per profile and routes every call:

- a listing (jobs, files) made outside any change — refresh — reads every profile once, each with
  its own client, and remembers which profile each object came from;
- inside a change (`acting_for(address)`, set by the executor around a kind's apply), creates,
  uploads and listings go to that address's profile;
- a call about one object (read, cancel, pause, download, delete) goes to the profile the object
  was listed in or created by (or the state recorded); an object no profile has listed is looked
  up in the acting profile inside a change, otherwise in each profile in turn (a 404 from one is
  not an answer for the others);
- permission calls use the acting profile's admin key, else the first profile that has one (an
  admin key manages permissions across the organisation).

Nothing here reads the environment: the CLI builds the clients (cli/providers.py).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from reconciler.errors import ConfigError, NotFoundError

__all__ = ["ProfileClients"]

Obj = dict[str, Any]
T = TypeVar("T")


class ProfileClients:
    """A `Client` over one client per profile (see the module docstring)."""

    def __init__(self, clients: Mapping[str, Any], profile_of: Mapping[str, str], *, default: str = "default",
                 owners: Mapping[str, str] | None = None, admins: Iterable[str] = (),
                 arm: Mapping[str, Any] | None = None):
        if not clients:
            raise ValueError("ProfileClients needs at least one client")
        self.clients = dict(clients)
        self.default = default if default in self.clients else sorted(self.clients)[0]
        self.profile_of = dict(profile_of)          # address -> profile
        self._owner: dict[str, str] = dict(owners or {})  # object id -> profile
        self.admins = set(admins)                   # profiles that have an admin key
        self.arm = dict(arm or {})                  # profile -> api.arm.ArmClient (Deployments)
        self._lock = threading.Lock()
        self._local = threading.local()

    # -- which client ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def acting_for(self, address: str) -> Iterator[None]:
        """Calls made in this thread inside the block act for `address`'s profile."""
        previous = getattr(self._local, "profile", None)
        self._local.profile = self.profile_of.get(address, self.default)
        try:
            yield
        finally:
            self._local.profile = previous

    def profile_for(self, address: str) -> str:
        return self.profile_of.get(address, self.default)

    def owner(self, object_id: str) -> str | None:
        with self._lock:
            return self._owner.get(object_id)

    def _acting(self) -> str | None:
        profile: str | None = getattr(self._local, "profile", None)
        return profile

    def _note(self, profile: str, obj: Any) -> Any:
        if isinstance(obj, dict) and isinstance(obj.get("id"), str):
            with self._lock:
                self._owner[obj["id"]] = profile
        return obj

    def _ordered(self) -> list[str]:
        return [self.default, *sorted(p for p in self.clients if p != self.default)]

    def _by_id(self, object_id: str, call: Callable[[Any], T]) -> T:
        known = self.owner(object_id)
        if known is not None and known in self.clients:
            return call(self.clients[known])
        acting = self._acting()
        # inside a change: its own project only (as the real key would see it); else each in turn
        order = [acting] if acting is not None else self._ordered()
        error: NotFoundError | None = None
        for profile in order:
            try:
                result = call(self.clients[profile])
            except NotFoundError as exc:
                error = error or exc
                continue
            with self._lock:
                self._owner[object_id] = profile
            return result
        assert error is not None
        raise error

    def _admin(self) -> Any:
        acting = self._acting()
        if acting is not None and acting in self.admins:
            return self.clients[acting]
        for profile in self._ordered():
            if profile in self.admins:
                return self.clients[profile]
        return self.clients[acting or self.default]

    def _listing(self, call: Callable[[Any], Iterable[Obj]]) -> Iterator[Obj]:
        acting = self._acting()
        for profile in [acting] if acting is not None else self._ordered():
            for obj in call(self.clients[profile]):
                yield self._note(profile, obj)

    # -- Reader ---------------------------------------------------------------------------------
    def list_jobs(self, *, metadata: dict[str, str] | None = None, page_size: int = 100) -> Iterable[Obj]:
        return self._listing(lambda c: c.list_jobs(metadata=metadata, page_size=page_size))

    def get_job(self, job_id: str) -> Obj:
        return self._by_id(job_id, lambda c: c.get_job(job_id))

    def list_files(self, purpose: str | None = None) -> Iterable[Obj]:
        return self._listing(lambda c: c.list_files(purpose=purpose))

    def get_file(self, file_id: str) -> Obj:
        return self._by_id(file_id, lambda c: c.get_file(file_id))

    def download_file(self, file_id: str, *, size: int | None = None) -> bytes:
        return self._by_id(file_id, lambda c: c.download_file(file_id, size=size))  # type: ignore[no-any-return]

    def download_file_to(self, file_id: str, sink: BinaryIO, *, size: int | None = None) -> int:
        return self._by_id(file_id, lambda c: c.download_file_to(file_id, sink, size=size))  # type: ignore[no-any-return]

    def list_permissions(self, checkpoint: str, *, project_id: str | None = None, order: str | None = None,
                         page_size: int = 100) -> Iterable[Obj]:
        return self._admin().list_permissions(checkpoint, project_id=project_id, order=order,  # type: ignore[no-any-return]
                                              page_size=page_size)

    def list_checkpoints(self, job_id: str, page_size: int = 100) -> Iterable[Obj]:
        return self._by_id(job_id, lambda c: list(c.list_checkpoints(job_id, page_size=page_size)))

    def list_events(self, job_id: str, page_size: int = 100) -> Iterable[Obj]:
        return self._by_id(job_id, lambda c: list(c.list_events(job_id, page_size=page_size)))

    # -- Client ---------------------------------------------------------------------------------
    def _here(self) -> tuple[str, Any]:
        profile = self._acting() or self.default
        return profile, self.clients[profile]

    def upload_file(self, path: Path, *, purpose: str = "fine-tune", filename: str | None = None,
                    idempotency_key: str | None = None) -> Obj:
        profile, client = self._here()
        return self._note(profile, client.upload_file(path, purpose=purpose, filename=filename,  # type: ignore[no-any-return]
                                                      idempotency_key=idempotency_key))

    def delete_file(self, file_id: str) -> Obj:
        return self._by_id(file_id, lambda c: c.delete_file(file_id))

    def delete_model(self, model: str) -> Obj:
        return self._by_id(model, lambda c: c.delete_model(model))

    def create_job(self, body: Obj, *, idempotency_key: str) -> Obj:
        profile, client = self._here()
        return self._note(profile, client.create_job(body, idempotency_key=idempotency_key))  # type: ignore[no-any-return]

    def cancel_job(self, job_id: str) -> Obj:
        return self._by_id(job_id, lambda c: c.cancel_job(job_id))

    def pause_job(self, job_id: str) -> Obj:
        return self._by_id(job_id, lambda c: c.pause_job(job_id))

    def resume_job(self, job_id: str) -> Obj:
        return self._by_id(job_id, lambda c: c.resume_job(job_id))

    def create_permissions(self, checkpoint: str, project_ids: list[str], *,
                           idempotency_key: str | None = None) -> list[Obj]:
        return self._admin().create_permissions(checkpoint, project_ids,  # type: ignore[no-any-return]
                                                idempotency_key=idempotency_key)

    def delete_permission(self, checkpoint: str, permission_id: str) -> Obj:
        return self._admin().delete_permission(checkpoint, permission_id)  # type: ignore[no-any-return]

    def chat_completion(self, body: Obj, deployment: str | None = None) -> Obj:
        return self._here()[1].chat_completion(body, deployment)  # type: ignore[no-any-return]

    # -- Azure Resource Manager deployments (api/arm.py) ------------------------------------------
    def arm_for(self, profile: str | None = None) -> Any:
        """The ARM client of `profile` (default: the acting one); ConfigError when it has none."""
        name = profile or self._acting() or self.default
        found = self.arm.get(name)
        if found is None:
            raise ConfigError(f"provider {name!r} has no Azure Resource Manager account (subscription_id, "
                              "resource_group, account): a Deployment needs one")
        return found

    def list_deployments_of(self, profile: str) -> list[Obj]:
        return list(self.arm_for(profile).list_deployments())

    @property
    def keeps_metadata(self) -> bool:
        """The acting profile's client's (api/client.py)."""
        return bool(getattr(self._here()[1], "keeps_metadata", True))

    # -- what the CLI asks of a client ----------------------------------------------------------
    @property
    def last_server_date(self) -> Any:
        return getattr(self.clients[self.default], "last_server_date", None)

    def probe_identity(self) -> Any:
        """Ask every profile which account answers (each checked by its own on_identity)."""
        first = None
        for profile in self._ordered():
            reported = self.clients[profile].probe_identity()
            first = first if first is not None else reported
        return first

    def close(self) -> None:
        for client in (*self.clients.values(), *self.arm.values()):
            client.close()

    def __getattr__(self, name: str) -> Any:
        # anything else a command asks of "the client" (stats, sources, …): the default profile's
        if name.startswith("_") or name in ("clients", "default", "profile_of", "admins", "arm"):
            raise AttributeError(name)
        return getattr(self.clients[self.default], name)


def acting_for(client: Any, address: str) -> contextlib.AbstractContextManager[None]:
    """The executor's hook: calls made while applying `address` use its profile (a plain client:
    nothing to choose)."""
    if isinstance(client, ProfileClients):
        return client.acting_for(address)
    return contextlib.nullcontext()


def mark_profile(client: Any, address: str, resource: Any) -> Any:
    """The resource as the state records it: `meta.provider` names its profile when that is not the
    default (states written before profiles, and single-profile states, stay as they were)."""
    if resource is None or not isinstance(client, ProfileClients):
        return resource
    profile = client.profile_for(address)
    if (resource.meta or {}).get("provider", "default") == profile:
        return resource
    import copy

    marked = copy.copy(resource)
    marked.meta = {k: v for k, v in (resource.meta or {}).items() if k != "provider"}
    if profile != "default":
        marked.meta["provider"] = profile
    return marked
