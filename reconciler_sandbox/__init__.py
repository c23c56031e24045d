"""The sandbox: a local OpenAI-compatible fine-tuning, files and checkpoint-permission API.

    with run_sandbox(speed=1.0) as sb:
        client = openai.OpenAI(base_url=sb.base_url, api_key="sk-anything")
        ...
        sb.advance(600)          # move the simulated clock on; jobs progress at once

See docs/SANDBOX.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler_sandbox.faults import FaultConfig
from reconciler_sandbox.server import Sandbox
from reconciler_sandbox.world import DEFAULT_PROJECT, ORGANIZATION_ID, World

__all__ = ["Sandbox", "SandboxHandle", "run_sandbox"]


@dataclass
class SandboxHandle:
    """What a test or the CLI's --sandbox mode holds while the sandbox runs."""

    sandbox: Sandbox

    @property
    def url(self) -> str:
        return self.sandbox.url

    @property
    def base_url(self) -> str:
        """OpenAI's base URL (`/v1`), or with the azure flavour the version-less `/openai/v1`."""
        return self.sandbox.url + ("/openai/v1" if self.sandbox.flavor == "azure" else "/v1")

    @property
    def azure_endpoint(self) -> str:
        """The endpoint `openai.AzureOpenAI(azure_endpoint=…)` takes (the azure flavour)."""
        return self.sandbox.url

    @property
    def world(self) -> World:
        return self.sandbox.world

    def now(self) -> float:
        return self.sandbox.clock.now()

    def advance(self, seconds: float) -> float:
        """Move the simulated clock forward by `seconds`; returns the new simulated time."""
        return self.sandbox.clock.advance(seconds)

    def set_faults(self, **cfg: Any) -> None:
        """Replace the fault configuration (keys as for POST /_sandbox/faults)."""
        self.sandbox.faults.set(FaultConfig.from_dict(cfg))

    def clear_faults(self) -> None:
        self.sandbox.faults.set(FaultConfig())

    def stats(self) -> dict[str, int]:
        """Request counts keyed by "METHOD /v1/path/{template}"."""
        return self.sandbox.stats()

    def reset_stats(self) -> None:
        self.sandbox.reset_stats()

    def flush(self) -> None:
        """Write --data now (normally debounced)."""
        if self.sandbox.persister is not None:
            self.sandbox.persister.flush()


@contextlib.contextmanager
def run_sandbox(*, data: Path | str | None = None, speed: float = 1.0, faults: dict[str, Any] | None = None,
                host: str = "127.0.0.1", port: int = 0, seed: int = 0, organization: str = ORGANIZATION_ID,
                project: str = DEFAULT_PROJECT,
                project_keys: Mapping[str, str] | None = None, max_connections: int | None = None,
                max_uploads: int | None = None, now: float | None = None, flavor: str = "openai",
                azure_key: str | None = None, azure_metadata: bool = True) -> Iterator[SandboxHandle]:
    """Start the sandbox in this process (port 0: a free port); stop it, flushing `data`, on exit.
    `organization=` / `project=` choose the account its answers name (default org-sandbox,
    proj_sandbox). `project_keys` maps keys to projects: the sandbox is then scoped as the real API
    (sandbox/projects.py). `max_connections` / `max_uploads`: the caps (server.py's defaults). `now`
    (a POSIX time) starts the clock at that moment instead of the wall clock's (the sandbox then
    answers, dates and refuses as on that day). `flavor="azure"` answers as Azure OpenAI's data
    plane under /openai/... (azure.py), its one valid api-key `azure_key` when given, and as
    Resource Manager's account deployments under /subscriptions/... (arm.py);
    `azure_metadata=False` drops a job create's `metadata`, as the api-version contract has none."""
    caps = {k: v for k, v in (("max_connections", max_connections), ("max_uploads", max_uploads)) if v is not None}
    sandbox = Sandbox(data=Path(data) if data is not None else None, speed=speed, faults=faults, host=host,
                      port=port, seed=seed, organization=organization, project=project,
                      project_keys=project_keys, now=now, flavor=flavor, azure_key=azure_key,
                      azure_metadata=azure_metadata, **caps)
    sandbox.start()
    try:
        yield SandboxHandle(sandbox)
    finally:
        sandbox.stop()
