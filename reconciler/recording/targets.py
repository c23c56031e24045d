"""Which fine-tuned models a recording covers, and the prompts each is asked.

Targets come from the state's records (a kind that produced a fine-tuned model, `Kind.produced_model`,
or, named with --target, one that deploys a model, `Kind.deployed_model`: asked through that
deployment). On Azure a model answers only through a deployment (`through_deployments`).
prompts from `--prompts FILE`, else the job's validation file, else its training file: the local
copy when a record holds the same bytes (`Kind.local_content`), else downloaded (bounded)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reconciler.errors import ConfigError
from reconciler.kinds import registry
from reconciler.lifecycle.dates import base_model
from reconciler.recording.prompts import Prompt, prompts_from_lines, read_prompts

__all__ = ["MAX_DOWNLOAD", "Target", "deployed_by", "load_prompts", "select_targets", "through_deployments"]

MAX_DOWNLOAD = 256 * 1024 * 1024   # a prompt file fetched from the API is held in memory: at most this


@dataclass(frozen=True)
class Target:
    address: str
    job_id: str
    model: str                  # the fine-tuned model
    base: str
    seed: int | None
    files: tuple[str, ...]      # file ids to take prompts from, in order of preference
    deployment: str | None = None   # Azure: the deployment the model is asked through
    via: str | None = None          # the address whose provider profile asks (default: `address`)


def select_targets(records: Mapping[str, Any], wanted: Sequence[str],
                   live: Mapping[str, Mapping[str, Any]] | None = None) -> list[Target]:
    """Every record that produced a fine-tuned model, or the `wanted` addresses (each must have one).
    `live`: jobs by id as the API lists them now (a job may have finished since the state was written)."""
    found: dict[str, Target] = {}
    waiting: dict[str, str] = {}
    for address, record in sorted(records.items()):
        job = registry.by_type(record.kind).produced_model(record)
        if job is None:
            continue
        job = {**job, **{k: v for k, v in (live or {}).get(str(record.id), {}).items() if k in job}}
        model = job.get("fine_tuned_model")
        if not isinstance(model, str) or not model:
            waiting[address] = str(job.get("status") or "not trained")
            continue
        seed = job.get("seed")
        found[address] = Target(address=address, job_id=str(job.get("id") or ""), model=model,
                                base=str(job.get("model") or ""),
                                seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
                                files=tuple(str(f) for f in (job.get("validation_file"), job.get("training_file"))
                                            if isinstance(f, str) and f))
    if not wanted:
        return list(found.values())
    chosen = []
    for address in wanted:
        deployed = deployed_by(records.get(address))
        if deployed is not None:
            chosen.append(_through(address, deployed, found))
        elif address in found:
            chosen.append(found[address])
        elif address in waiting:
            raise ConfigError(f"--target {address}: has no fine-tuned model yet (status {waiting[address]})")
        else:
            raise ConfigError(f"--target {address}: not a managed job or deployment in this state")
    return chosen


def deployed_by(record: Any) -> tuple[str, str] | None:
    """(model, deployment name) of a record that deploys a model (a Deployment), else None."""
    if record is None:
        return None
    deployed = registry.by_type(record.kind).deployed_model(record)
    return (deployed[0], deployed[1]) if deployed is not None else None


def _through(address: str, deployed: tuple[str, str], jobs: Mapping[str, Target]) -> Target:
    """A deployment as a target: its model, asked through it; the prompts and seed of the managed job
    that trained the model, when one did (else --prompts is needed)."""
    model, name = deployed
    job = next((t for t in jobs.values() if t.model == model), None)
    if job is None:
        return Target(address=address, job_id="", model=model, base=base_model(model), seed=None, files=(),
                      deployment=name)
    return replace(job, address=address, deployment=name)


def through_deployments(targets: Sequence[Target], records: Mapping[str, Any],
                        platform_of: Callable[[str], str], profile_of: Callable[[str], str]) -> list[Target]:
    """Each target on Azure asked through a deployment of its model in the same provider (a managed
    Deployment the state records); ConfigError, one line, for one that has none: on Azure a model
    answers only once deployed."""
    routed = []
    for target in targets:
        if target.deployment is not None or platform_of(target.address) != "azure":
            routed.append(target)
            continue
        serving = sorted((address, found[1]) for address, record in records.items()
                         if (found := deployed_by(record)) is not None and found[0] == target.model
                         and profile_of(address) == profile_of(target.address))
        if not serving:
            raise ConfigError(f"{target.address}: {target.model} is not deployed: on Azure a model answers only "
                              "through a deployment; add a kind: Deployment of it and apply it first (then record "
                              "it, or --target the Deployment); nothing was sent")
        routed.append(replace(target, deployment=serving[0][1], via=serving[0][0]))
    return routed


def load_prompts(target: Target, *, records: Mapping[str, Any], documents: Mapping[str, Any], reader: Any,
                 override: Path | None, limit: int | None) -> tuple[list[Prompt], str]:
    """(prompts, where they came from)."""
    if override is not None:
        return read_prompts(override, limit), str(override)
    if not target.files:
        raise ConfigError(f"{target.address}: the job names no training or validation file; give --prompts FILE")
    file_id = target.files[0]
    which = "validation" if len(target.files) > 1 else "training"
    for address, record in records.items():
        if record.id != file_id:
            continue
        local = registry.by_type(record.kind).local_content(record, documents.get(address))
        if local is not None:
            return read_prompts(local, limit), f"{which} file {file_id} ({local})"
    size = reader.get_file(file_id).get("bytes")
    if isinstance(size, int) and size > MAX_DOWNLOAD:
        raise ConfigError(f"{target.address}: the {which} file {file_id} is {size:,} bytes, more than a prompt set "
                          f"is read from the API ({MAX_DOWNLOAD:,}); give --prompts FILE with a sample of it")
    content = reader.download_file(file_id)
    prompts = list(prompts_from_lines(content.splitlines(keepends=True), f"{which} file {file_id}", limit))
    if not prompts:
        raise ConfigError(f"{target.address}: the {which} file {file_id} has no chat example with a user turn; "
                          "give --prompts FILE")
    return prompts, f"{which} file {file_id} (downloaded)"
