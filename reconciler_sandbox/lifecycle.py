"""A job's life as a pure function of its record and the simulated time.

Nothing ticks: status, checkpoints, events, `trained_tokens` and the rest are computed on read
from `created_at`, the phase durations, the validation outcome, the pause intervals and the
cancel time. The simulated clock only moves forward, and pause/cancel are recorded at "now",
so reading the same job at the same time always gives the same answer.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from reconciler_sandbox.epochs import auto_epochs

if TYPE_CHECKING:
    from reconciler_sandbox.world import World

INF = math.inf
ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
ACTIVE = ("validating_files", "queued", "running", "paused")
FINISHED = ("succeeded", "failed", "cancelled")
KEPT_CHECKPOINTS = 3
NO_ERROR: dict[str, Any] = {"code": None, "message": None, "param": None}


def stable_token(*parts: object, length: int = 24) -> str:
    """A deterministic alphanumeric token from the given parts (ids derived from a job's id)."""
    digest = int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest(), "big")
    out = []
    for _ in range(length):
        digest, rem = divmod(digest, 62)
        out.append(ALNUM[rem])
    return "".join(out)


def stable_fraction(*parts: object) -> float:
    """A deterministic number in [0, 1) from the given parts."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


# ---- timeline --------------------------------------------------------------------------------

def validation_end(job: dict[str, Any]) -> float:
    return float(job["created_at"] + job["durations"][0])


def queue_end(job: dict[str, Any]) -> float:
    return validation_end(job) + float(job["durations"][1])


def time_at_progress(job: dict[str, Any], progress: float) -> float:
    """Absolute time at which the job has been running for `progress` seconds (pauses excluded)."""
    t = queue_end(job)
    remaining = progress
    for start, end in job.get("pauses", []):
        if start - t >= remaining:
            break
        remaining -= max(0.0, start - t)
        if end is None:
            return INF
        t = end
    return t + remaining


def run_end(job: dict[str, Any]) -> float:
    return time_at_progress(job, job["durations"][2])


def natural_end(job: dict[str, Any]) -> float:
    """When the job finishes on its own (fails validation or completes training)."""
    return validation_end(job) if job.get("error") else run_end(job)


def status_at(job: dict[str, Any], now: float) -> str:
    cancelled = job.get("cancelled_at")
    if cancelled is not None and now >= cancelled:
        return "cancelled"
    if now < validation_end(job):
        return "validating_files"
    if job.get("error"):
        return "failed"
    if now < queue_end(job):
        return "queued"
    for start, end in job.get("pauses", []):
        if start <= now and (end is None or now < end):
            return "paused"
    if now < run_end(job):
        return "running"
    return "succeeded"


def finished_at(job: dict[str, Any], now: float) -> float | None:
    status = status_at(job, now)
    if status == "cancelled":
        return float(job["cancelled_at"])
    if status in ("failed", "succeeded"):
        return natural_end(job)
    return None


def reached_running(job: dict[str, Any], now: float) -> bool:
    cutoff = now if job.get("cancelled_at") is None else min(now, job["cancelled_at"])
    return not job.get("error") and cutoff >= queue_end(job)


# ---- derived values --------------------------------------------------------------------------

def resolved_hyperparameters(job: dict[str, Any]) -> dict[str, Any]:
    """The numbers `"auto"` turns into once the job runs."""
    examples = max(1, int(job.get("examples") or 1))
    hp = dict(job["hyperparameters"])
    auto = {
        # As the real API resolves it (the cookbook's rule, shared with the plan's cost estimate).
        "n_epochs": auto_epochs(examples),
        "batch_size": max(1, min(32, examples // 100)),
        "learning_rate_multiplier": 1.8 if job["method_type"] == "supervised" else 1.0,
        "beta": 0.1,
        "compute_multiplier": 1.0,
        "eval_interval": 10,
        "eval_samples": 10,
    }
    for key, value in hp.items():
        if value == "auto" and key in auto:
            hp[key] = auto[key]
    return hp


def total_steps(job: dict[str, Any]) -> int:
    hp = resolved_hyperparameters(job)
    examples = max(1, int(job.get("examples") or 1))
    per_epoch = math.ceil(examples / int(hp.get("batch_size", 1)))
    return per_epoch * int(hp.get("n_epochs", 3))


def fine_tuned_name(job: Mapping[str, Any]) -> str:
    """Azure's name for a job's fine-tuned model: `<base>.ft-<32 hex>`."""
    return f"{job['model']}.ft-{hashlib.sha256(str(job['id']).encode()).hexdigest()[:32]}"


def fine_tuned_model_name(job: dict[str, Any]) -> str:
    if job.get("naming") == "azure":
        return fine_tuned_name(job)
    return f"ft:{job['model']}:{job['org_slug']}:{job.get('suffix') or ''}:{job['short']}"


def checkpoint_plan(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Every checkpoint the job will make if it runs to the end: one per epoch, the last three."""
    hp = resolved_hyperparameters(job)
    epochs = int(hp.get("n_epochs", 3))
    steps = total_steps(job)
    per_epoch = steps // epochs
    running = job["durations"][2]
    plan = []
    for epoch in range(max(1, epochs - KEPT_CHECKPOINTS + 1), epochs + 1):
        step = per_epoch * epoch
        metrics = step_metrics(job, step, steps)
        if job.get("validation_file"):
            metrics.update({"full_valid_loss": round(metrics["train_loss"] * 1.1, 4),
                            "full_valid_mean_token_accuracy": round(metrics["train_mean_token_accuracy"] * 0.96, 4)})
        plan.append({
            "id": "ftckpt_" + stable_token(job["id"], "ckpt", step),
            "step_number": step,
            "progress": running * step / steps,
            "fine_tuned_model_checkpoint": checkpoint_name(job, step, final=step == steps),
            "metrics": metrics,
        })
    return plan


def checkpoint_name(job: dict[str, Any], step: int, *, final: bool) -> str:
    """The real API's naming: the last checkpoint *is* the fine-tuned model; each earlier one is
    `ft:<base>:<org>:<suffix>:<its own id>:ckpt-step-<N>`."""
    if final:
        return fine_tuned_model_name(job)
    short = stable_token(job["id"], "ckpt-model", step, length=8)
    return f"ft:{job['model']}:{job['org_slug']}:{job.get('suffix') or ''}:{short}:ckpt-step-{step}"


def checkpoint_names(job: dict[str, Any]) -> list[str]:
    """Every checkpoint name the job can ever have (to find a checkpoint's job)."""
    return [item["fine_tuned_model_checkpoint"] for item in checkpoint_plan(job)]


def step_metrics(job: dict[str, Any], step: int, steps: int) -> dict[str, Any]:
    """Plausible, deterministic metrics at one step (the result file's row, a checkpoint's metrics)."""
    frac = step / steps
    loss = round(1.2 * (1 - frac) + 0.05 + lr_penalty(job) + 0.1 * stable_fraction(job["id"], step, "loss"), 4)
    acc = round(min(0.99, 0.55 + 0.4 * frac + 0.03 * stable_fraction(job["id"], step, "acc")), 4)
    metrics: dict[str, Any] = {"step": float(step), "train_loss": loss, "train_mean_token_accuracy": acc}
    if job.get("validation_file"):
        metrics.update({"valid_loss": round(loss * 1.08, 4), "valid_mean_token_accuracy": round(acc * 0.97, 4)})
    return metrics


def lr_penalty(job: dict[str, Any]) -> float:
    """Extra loss for a learning-rate multiplier away from the method's default (none for "auto"), so
    that a sweep has a deterministic winner: 0.3 per e-fold, larger than the 0.1 of per-job noise
    once the multipliers differ by more than ~40 %."""
    lr = (job.get("hyperparameters") or {}).get("learning_rate_multiplier")
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or lr <= 0:
        return 0.0
    default = 1.8 if job.get("method_type") == "supervised" else 1.0
    return round(0.3 * abs(math.log(lr / default)), 4)


def checkpoints_at(job: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """The checkpoints that exist at `now`, oldest first, as API objects."""
    if not reached_running(job, now):
        return []
    cutoff = now if job.get("cancelled_at") is None else min(now, job["cancelled_at"])
    out = []
    for item in checkpoint_plan(job):
        created = time_at_progress(job, item["progress"])
        if created <= cutoff:
            out.append({
                "object": "fine_tuning.job.checkpoint",
                "id": item["id"],
                "created_at": int(created),
                "fine_tuned_model_checkpoint": item["fine_tuned_model_checkpoint"],
                "step_number": item["step_number"],
                "metrics": item["metrics"],
                "fine_tuning_job_id": job["id"],
            })
    return out


_EMPTY_DATA_EVENTS = ("created", "validating", "validating-v", "validated")


def events_at(job: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """The job's events up to `now`, oldest first."""
    raw: list[tuple[float, str, str, str, dict[str, Any] | None]] = []
    created = float(job["created_at"])
    raw.append((created, "created", "info", f"Created fine-tuning job: {job['id']}", None))
    raw.append((created, "validating", "info", f"Validating training file: {job['training_file']}", None))
    if job.get("validation_file"):
        raw.append((created, "validating-v", "info",
                    f"Validating validation file: {job['validation_file']}", None))
    vend = validation_end(job)
    if job.get("error"):
        raw.append((vend, "failed", "error", job["error"]["message"], None))
    else:
        raw.append((vend, "validated", "info", "Files validated, moving job to queued state", None))
        qend = queue_end(job)
        raw.append((qend, "started", "info", "Fine-tuning job started", None))
        for i, (start, end) in enumerate(job.get("pauses", [])):
            raw.append((start, f"pause-{i}", "info", "Fine-tuning job paused", None))
            if end is not None:
                raw.append((end, f"resume-{i}", "info", "Fine-tuning job resumed", None))
        steps = total_steps(job)
        for item in checkpoint_plan(job):
            t = time_at_progress(job, item["progress"])
            m = item["metrics"]
            raw.append((t, f"metrics-{item['step_number']}", "info",
                        f"Step {item['step_number']}/{steps}: training loss={m['train_loss']:.4f}",
                        {"step": item["step_number"], "total_steps": steps, "train_loss": m["train_loss"],
                         "train_mean_token_accuracy": m["train_mean_token_accuracy"]}))
            raw.append((t, f"ckpt-{item['step_number']}", "info",
                        f"Checkpoint created at step {item['step_number']}", None))
        end = run_end(job)
        raw.append((end, "model", "info", f"New fine-tuned model created: {fine_tuned_model_name(job)}", None))
        raw.append((end, "succeeded", "info", "The job has successfully completed", None))
    cancelled = job.get("cancelled_at")
    cutoff = now if cancelled is None else min(now, cancelled)
    events = []
    for t, key, level, message, data in raw:
        if t <= cutoff and t != INF:
            events.append((t, key, level, message, data))
    if cancelled is not None and cancelled <= now:
        events.append((cancelled, "cancelled", "info", "Fine-tuning job cancelled", None))
    out = []
    for t, key, level, message, data in events:
        out.append({
            "object": "fine_tuning.job.event",
            "id": "ftevent-" + stable_token(job["id"], "event", key),
            "created_at": int(t),
            "level": level,
            "message": message,
            # Real answers: `data: {}` on the creation and validation events, null on other messages.
            "data": data if data else ({} if key in _EMPTY_DATA_EVENTS else None),
            "type": "metrics" if data else "message",
        })
    return out


def render_job(job: dict[str, Any], now: float) -> dict[str, Any]:
    """The job as the API answers with it at `now`."""
    status = status_at(job, now)
    running = reached_running(job, now)
    hp = resolved_hyperparameters(job) if running else dict(job["hyperparameters"])
    method_type = job["method_type"]
    method_body: dict[str, Any] = {"hyperparameters": hp}
    if method_type == "reinforcement":
        method_body["grader"] = job.get("grader")
        method_body["response_format"] = job.get("response_format")
    # The deprecated top-level copy exists for supervised jobs only; DPO and reinforcement: null.
    legacy = ({k: hp[k] for k in ("batch_size", "learning_rate_multiplier", "n_epochs") if k in hp}
              if method_type == "supervised" else None)
    # A failed job keeps `finished_at: null` on the real API; cancelled and succeeded have a time.
    done = finished_at(job, now) if status != "failed" else None
    succeeded = status == "succeeded"
    estimated = None
    if status in ("queued", "running"):
        end = run_end(job)
        estimated = int(end) if end != INF else None
    return {
        "object": "fine_tuning.job",
        "id": job["id"],
        "created_at": int(job["created_at"]),
        # Not failed: an error object whose fields are null, never `null` itself.
        "error": dict(job["error"]) if status == "failed" else dict(NO_ERROR),
        "fine_tuned_model": fine_tuned_model_name(job) if succeeded else None,
        "finished_at": int(done) if done is not None else None,
        "hyperparameters": legacy,
        "model": job["model"],
        "organization_id": job["organization_id"],
        "result_files": [result_file_id(job)] if succeeded else [],
        "status": status,
        "trained_tokens": int(job["tokens"]) * int(hp.get("n_epochs", 3)) if succeeded else None,
        "training_file": job["training_file"],
        "validation_file": job.get("validation_file"),
        "integrations": job.get("integrations") or [],
        "seed": job["seed"],
        "estimated_finish": estimated,
        "method": {"type": method_type, method_type: method_body},
        "metadata": job.get("metadata"),
        "user_provided_suffix": job.get("suffix"),
        "usage_metrics": None,
        "shared_with_openai": False,
    }


def result_file_id(job: dict[str, Any]) -> str:
    return "file-" + stable_token(job["id"], "result", length=22)


def result_file_content(job: dict[str, Any]) -> bytes:
    """What `GET /files/{id}/content` answers for a result file: base64 of the step-metrics CSV,
    one row per step (valid columns empty without a validation file), as the real API does."""
    steps = total_steps(job)
    lines = ["step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"]
    for step in range(1, steps + 1):
        m = step_metrics(job, step, steps)
        lines.append(f"{step},{m['train_loss']},{m['train_mean_token_accuracy']},"
                     f"{m.get('valid_loss', '')},{m.get('valid_mean_token_accuracy', '')}")
    return base64.b64encode(("\n".join(lines) + "\n").encode())


def succeeded_jobs(world: World, project: str | None, now: float) -> Iterator[tuple[dict[str, Any], float]]:
    """Each job (of `project`, when given) that has succeeded by `now`, with when it finished: the
    ones whose fine-tuned models the models list shows."""
    with world.lock.read():
        jobs = list(world.jobs.items.values())
    for job in jobs:
        if (project is None or job.get("project") == project) and status_at(job, now) == "succeeded":
            yield job, float(finished_at(job, now) or job["created_at"])
