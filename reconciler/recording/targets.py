"""Which fine-tuned models a recording covers, and the prompts each is asked.

Targets come from the state's records (a kind that produced a fine-tuned model, `Kind.produced_model`);
prompts from `--prompts FILE`, else the job's validation file, else its training file: the local
copy when a record holds the same bytes (`Kind.local_content`), else downloaded (bounded)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import ConfigError
from reconciler.kinds import registry
from reconciler.recording.prompts import Prompt, prompts_from_lines, read_prompts

__all__ = ["MAX_DOWNLOAD", "Target", "load_prompts", "select_targets"]

MAX_DOWNLOAD = 256 * 1024 * 1024   # a prompt file fetched from the API is held in memory: at most this


@dataclass(frozen=True)
class Target:
    address: str
    job_id: str
    model: str                  # the fine-tuned model
    base: str
    seed: int | None
    files: tuple[str, ...]      # file ids to take prompts from, in order of preference


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
        if address in found:
            chosen.append(found[address])
        elif address in waiting:
            raise ConfigError(f"--target {address}: has no fine-tuned model yet (status {waiting[address]})")
        else:
            raise ConfigError(f"--target {address}: not a managed job in this state")
    return chosen


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
