"""The `reconciler` command line: parse flags, call the core, render, choose the exit code.

Subcommands live one per module under reconciler/cli/ and are imported lazily, so that
`reconciler --help` and `reconciler validate` do not pay for httpx or the sandbox.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from reconciler import __version__
from reconciler.cli.context import common_options, run_guarded

# name -> (module, attribute, one-line help shown in `reconciler --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": ("reconciler.cli.validate", "validate", "Check every spec file; report all errors at once."),
    "schema": ("reconciler.cli.validate", "schema", "Print or write the JSON Schema of the spec language."),
    "plan": ("reconciler.cli.plan", "plan", "Show what apply would change."),
    "apply": ("reconciler.cli.apply", "apply", "Make the world match the specs."),
    "destroy": ("reconciler.cli.apply", "destroy", "Cancel active managed jobs, revoke managed grants, delete uploaded files; forget finished jobs."),
    "show": ("reconciler.cli.show", "show", "Show a saved plan or the current state."),
    "output": ("reconciler.cli.show", "output", "Print attributes of managed objects."),
    "state": ("reconciler.cli.state", "state", "Inspect and edit the state (list, show, rm, mv, ...)."),
    "force-unlock": ("reconciler.cli.state", "force_unlock", "Remove a stale state lock."),
    "workspace": ("reconciler.cli.workspace", "workspace", "Workspaces: one state each (list, new, select, delete, show)."),
    "import": ("reconciler.cli.importing", "import_", "Adopt an existing job, file or permission set."),
    "drift": ("reconciler.cli.drift", "drift", "Report drift between specs, state and the live API."),
    "sync": ("reconciler.cli.drift", "sync", "Scheduled sync: refresh, report drift, apply."),
    "report": ("reconciler.cli.report", "report", "Write an HTML report: jobs, curves, checkpoints, drift."),
    "cost": ("reconciler.cli.cost", "cost", "Report the training spend of managed jobs (--by KEY)."),
    "archive": ("reconciler.cli.archive", "archive", "Archive each managed job's recipe, data, metrics, events."),

    "inventory": ("reconciler.cli.inventory", "inventory", "List fine-tuned models with the day each stops answering."),
    "record": ("reconciler.cli.record", "record", "Record how each managed fine-tuned model answers its prompts."),
    "compare": ("reconciler.cli.record", "compare", "Score another model's answers against a recording."),
    "policy": ("reconciler.cli.policy", "policy", "Test policies against fixtures (policy test FILE --fixtures DIR)."),
    "convert": ("reconciler.cli.convert", "convert", "Convert Terraform configuration to specs."),
    "sandbox": ("reconciler.cli.sandbox", "sandbox", "Run the local OpenAI-compatible sandbox."),
}


class LazyGroup(click.Group):
    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        # Always our own error mapping (also under click's CliRunner): exit 1 with one line for
        # user errors, 2 only for "changes present", 3 for a bug.
        def invoke() -> Any:
            return super(LazyGroup, self).main(args=args, prog_name=prog_name or "reconciler",
                                               complete_var=complete_var, standalone_mode=False, **extra)

        run_guarded(invoke)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        spec = COMMANDS.get(name)
        if spec is None:
            return None
        module = importlib.import_module(spec[0])
        command: click.Command = getattr(module, spec[1])
        from reconciler.cli.examples import attach

        return attach(command, name)  # the examples at the end of its --help

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help text straight from the table: no import of the command modules.
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@common_options
def cli(**_: Any) -> None:
    """GitOps for OpenAI fine-tuning: specs in git, a Terraform-style plan, a safe apply."""


def main() -> None:
    cli.main()
