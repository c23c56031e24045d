"""An organisation's history: many finished jobs nobody manages, made in one go.

A real organisation holds years of experiments; a refresh that lists every job pays a list call per
100 of them. `add_history(world, n)` adds `n` jobs that were made by hand (metadata without any
reconciler mark), all on one small training file, copied from one job the world creates the
ordinary way — so 50,000 of them take a second, not 50,000 POSTs. Served as
`POST /_sandbox/history {"jobs": N}`.
"""

from __future__ import annotations

import gc
import json
from typing import Any

from reconciler_sandbox import lifecycle
from reconciler_sandbox.world import DEFAULT_PROJECT, World

__all__ = ["MAX_HISTORY", "add_history"]

MAX_HISTORY = 1_000_000
_EXAMPLE = {"messages": [{"role": "user", "content": "old question"}, {"role": "assistant", "content": "old answer"}]}


def add_history(world: World, count: int, *, project: str = DEFAULT_PROJECT) -> dict[str, Any]:
    """Add `count` unmanaged jobs; answers how many jobs the world holds now."""
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_HISTORY:
        raise ValueError(f"'jobs' must be an integer from 0 to {MAX_HISTORY}")
    if count:
        content = ("\n".join(json.dumps(_EXAMPLE) for _ in range(10)) + "\n").encode()
        file = world.upload_file(filename="history.jsonl", purpose="fine-tune", content=content)
        template = world.create_job({"model": "gpt-4o-mini-2024-07-18", "training_file": file["id"],
                                     "metadata": {"team": "history", "index": "0"}}, project=project)
        with world.lock:
            base = {**world.jobs.items[template["id"]], "created_at": world.now() - 30 * 86400}  # finished long ago
            world.jobs.items[template["id"]] = base
            for i in range(1, count):
                job_id = world._new_id("ftjob-", "job")
                job = {**base, "id": job_id, "metadata": {"team": "history", "index": str(i)},
                       "short": lifecycle.stable_token(job_id, "model", length=8)}
                world.jobs.add(job_id, job)
                world.models[lifecycle.fine_tuned_model_name(job)] = job_id
            world.changed()
        # 50,000 job records never change again: keep the collector from walking them on every
        # request (otherwise a crowded sandbox answers slower, and a benchmark measures that)
        gc.collect()
        gc.freeze()
    with world.lock:
        return {"jobs": len(world.jobs.items)}
