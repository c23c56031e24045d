"""The report's data: small frozen values, everything the HTML page shows and nothing else.

`reconciler.report.gather` fills them from a refresh, the drift report and a few reads per job;
`reconciler.report.html.render_html` turns them into a page without any I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Checkpoint",
    "Comparison",
    "Cost",
    "CostTotal",
    "FindingRow",
    "Grant",
    "Hyperparameter",
    "JobReport",
    "LifecycleRow",
    "Report",
    "Series",
    "Sweep",
    "SweepRun",
    "WorstPrompt",
]

# Series names as the API's metrics events carry them, in the order the legend shows them.
LOSS_SERIES = ("train_loss", "valid_loss", "full_valid_loss")
ACCURACY_SERIES = ("train_mean_token_accuracy", "valid_mean_token_accuracy", "full_valid_mean_token_accuracy")
KNOWN_SERIES = LOSS_SERIES + ACCURACY_SERIES


@dataclass(frozen=True)
class Series:
    """One metric by step, steps ascending."""

    name: str                                  # train_loss, valid_loss, train_mean_token_accuracy, ...
    points: tuple[tuple[float, float], ...]    # (step, value)


@dataclass(frozen=True)
class Grant:
    project_id: str
    permission_id: str = ""
    managed_by: str = ""                       # the CheckpointPermission address that lists it, if any


@dataclass(frozen=True)
class Checkpoint:
    name: str                                  # fine_tuned_model_checkpoint (or the final model)
    id: str = ""
    step: int | None = None
    metrics: tuple[tuple[str, float], ...] = ()
    selected_by: tuple[str, ...] = ()          # data source addresses whose `select` picked it
    grants: tuple[Grant, ...] = ()
    final: bool = False                        # the job's fine_tuned_model, not a listed checkpoint


@dataclass(frozen=True)
class Cost:
    """What one job cost: `spent` (trained_tokens × price), `estimate` (the plan's counting of its
    training file) or `unknown` (usd None, `detail` says why)."""

    kind: str
    usd: float | None
    detail: str = ""                           # how the figure was reached, or why it is unknown


@dataclass(frozen=True)
class CostTotal:
    usd: float                                 # the known figures added up
    spent: int = 0
    estimated: int = 0
    unknown: int = 0


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter as the API reports it: the number `auto` resolved to once the job runs,
    `auto` before that."""

    name: str                                  # n_epochs, batch_size, learning_rate_multiplier, beta, ...
    value: str
    auto: bool = False                         # the spec left it to the API (absent or "auto")


@dataclass(frozen=True)
class JobReport:
    address: str
    id: str | None
    status: str
    model: str = ""
    method: str = ""
    created_at: float | None = None
    finished_at: float | None = None
    trained_tokens: int | None = None
    cost: Cost | None = None                   # None: no price table was given
    fine_tuned_model: str | None = None
    error: str | None = None
    curves_source: str = ""                    # "events", "result file", "" (none)
    series: tuple[Series, ...] = ()
    checkpoints: tuple[Checkpoint, ...] = ()
    notes: tuple[str, ...] = ()                # what could not be read, and why
    hyperparameters: tuple[Hyperparameter, ...] = ()
    seed: int | None = None
    sweep: str = ""                            # the document of a for_each / matrix instance
    run: str = ""                              # its instance key (lr=0.5,epochs=1)

    @property
    def duration(self) -> float | None:
        """Seconds from created to finished (queue included), None while it runs."""
        if self.created_at is None or self.finished_at is None:
            return None
        return max(0.0, self.finished_at - self.created_at)


@dataclass(frozen=True)
class FindingRow:
    axis: str                                  # drift | health
    category: str
    address: str
    message: str
    ignored: bool = False
    ignore_reason: str | None = None


@dataclass(frozen=True)
class LifecycleRow:
    """A managed fine-tuned model and the day it stops answering (the drift report's `models`)."""

    address: str
    model: str
    platform: str
    serving_end: str | None                    # YYYY-MM-DD, None: no end known
    days_left: int | None
    source: str | None


@dataclass(frozen=True)
class SweepRun:
    address: str
    run: str
    value: float | None                        # the run's best value of the sweep's metric, None: none yet
    selected: bool = False                     # a data source picked one of its checkpoints


@dataclass(frozen=True)
class Sweep:
    """The instances of one for_each / matrix job document, ranked by `metric` (the one a
    checkpoint data source selects by, else valid_loss, else train_loss), best first."""

    address: str                               # the document: FineTuningJob.sweep
    metric: str
    lowest: bool                               # lower is better
    runs: tuple[SweepRun, ...]
    selected_by: tuple[str, ...] = ()          # the data sources whose pick is among these runs


@dataclass(frozen=True)
class WorstPrompt:
    index: int
    prompt: str                                # the prompt's last user turn
    recorded: str                              # the recorded model's answer
    answer: str                                # the candidate's answer
    score: float


@dataclass(frozen=True)
class Comparison:
    """One `reconciler compare` result (its report.json): a candidate model's answers scored
    against a recording."""

    address: str
    recorded: str                              # the recorded model
    candidate: str
    grader: str                                # text_similarity:fuzzy_match, string_check:eq, ...
    threshold: float
    passed: bool
    count: int                                 # prompts scored
    unscored: int
    mean: float | None
    low: float | None                          # min, p10, median, max of the scores
    p10: float | None
    median: float | None
    high: float | None
    histogram: tuple[int, ...]                 # ten buckets: [0, 0.1), ..., [0.9, 1.0]
    worst: tuple[WorstPrompt, ...]
    folder: str                                # where report.json is
    grader_errors: int = 0                     # pairs a model grader failed on (never scored)
    grader_tokens: int | None = None           # a model grader's billed tokens (prompt + completion)
    grader_usd: float | None = None            # ... at its model's price; None when unknown


@dataclass(frozen=True)
class Report:
    generated_at: float                        # this machine's clock when the report was made
    now: float                                 # the API's clock: the page's times and ages are on it
    spec_dir: str
    state_file: str
    summary: str                               # the drift report's summary line
    in_sync: bool
    healthy: bool
    jobs: tuple[JobReport, ...] = ()
    findings: tuple[FindingRow, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    cost_total: CostTotal | None = None        # None: no job has a cost
    lifecycle: tuple[LifecycleRow, ...] = ()   # soonest end first
    warn_days: int = 30                        # Settings.spec.lifecycle.warn_days
    sweeps: tuple[Sweep, ...] = ()
    recordings: str = ""                       # the recordings folder read (--recordings), "" when none
    comparisons: tuple[Comparison, ...] = ()
