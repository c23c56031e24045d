"""The examples at the end of every command's --help (click's epilog), in one table: the lazy
group attaches them as it loads a command (cli/__init__.py), so the command modules stay as they
are. tests/test_cli_help.py checks that every command has one."""

from __future__ import annotations

import click

__all__ = ["EXAMPLES", "attach"]

EXAMPLES: dict[str, tuple[str, ...]] = {
    "validate": ("reconciler -C specs validate", "reconciler -C specs validate --json"),
    "schema": ("reconciler schema FineTuningJob", "reconciler schema --out .schemas"),
    "plan": ("reconciler -C specs plan", "reconciler -C specs plan --out plan.json --detailed-exitcode",
             "reconciler -C specs plan --compact --target FineTuningJob.support_bot"),
    "apply": ("reconciler -C specs apply", "reconciler -C specs apply plan.json",
              "reconciler -C specs apply --auto-approve --wait=jobs --timeout 2h"),
    "destroy": ("reconciler -C specs destroy", "reconciler -C specs destroy --target FineTuningJob.old_bot"),
    "show": ("reconciler show", "reconciler show plan.json --json"),
    "output": ("reconciler output", "reconciler output FineTuningJob.support_bot.fine_tuned_model --raw"),
    "import": ("reconciler -C specs import FineTuningJob.support_bot ftjob-abc123",),
    "force-unlock": ("reconciler force-unlock 8c1d2e3f-…",),
    "drift": ("reconciler -C specs drift", "reconciler -C specs drift --output drift.md --fail-on any"),
    "sync": ("reconciler -C specs sync", "reconciler -C specs sync --prune --max-deletes 3"),
    "report": ("reconciler -C specs report --html report.html",
               "reconciler -C specs report --html report.html --recordings recordings/"),
    "cost": ("reconciler cost", "reconciler cost --by team --format csv"),
    "archive": ("reconciler archive archive/", "reconciler archive archive/ --target FineTuningJob.support_bot --json"),
    "inventory": ("reconciler inventory", "reconciler inventory --all --format csv > models.csv"),
    "record": ("reconciler record recordings/",
               "reconciler record recordings/ --target FineTuningJob.support_bot --prompts eval.jsonl --max-prompts 200"),
    "compare": ("reconciler compare recordings/ --model gpt-4.1-mini-2025-04-14 --threshold 0.9",
                "reconciler compare --evaluation Evaluation.switch --auto-approve",
                "reconciler compare recordings/ --against FineTuningJob.support_bot_v2 --target FineTuningJob.support_bot"),
    "state list": ("reconciler state list", "reconciler state list FineTuningJob --json"),
    "state show": ("reconciler state show FineTuningJob.support_bot", "reconciler state show --serial 6 --json"),
    "state rm": ("reconciler state rm FineTuningJob.old_bot --dry-run",),
    "state mv": ("reconciler state mv FineTuningJob.bot FineTuningJob.support_bot",),
    "state pull": ("reconciler state pull > backup.json",),
    "state push": ("reconciler state push backup.json",),
    "state history": ("reconciler state history", "reconciler state history --json"),
    "state migrate": ("RECONCILER_PG_CONN_STR=postgresql://… reconciler state migrate --to pg",),
    "state rebind": ("reconciler state rebind --yes", "reconciler state rebind --provider team_b --yes"),
    "state import-terraform": ("reconciler -C specs state import-terraform terraform.tfstate",),
    "workspace list": ("reconciler workspace list",),
    "workspace new": ("reconciler workspace new staging",),
    "workspace select": ("reconciler workspace select staging",),
    "workspace delete": ("reconciler workspace delete staging",),
    "workspace show": ("reconciler workspace show",),
    "convert terraform": ("reconciler convert terraform infra/ --out specs",),
    "sandbox advance": ("reconciler -C examples/policy -w example-policy sandbox advance 2h",),
    "sandbox speed": ("reconciler sandbox speed", "reconciler -C examples/policy -w example-policy sandbox speed 1"),
    "sandbox serve": ("reconciler sandbox serve --port 8080 --speed 60",
                      "OPENAI_BASE_URL=http://127.0.0.1:8080/v1 reconciler -C specs plan"),
}


def attach(command: click.Command, path: str) -> click.Command:
    """Give `command` (and, for a group, each of its subcommands) its examples as the epilog,
    unless it already has an epilog that shows one."""
    examples = EXAMPLES.get(path)
    if examples and "Example" not in (command.epilog or ""):
        lines = "\n".join(f"  {line}" for line in examples)
        # \b: click keeps the lines as written instead of re-wrapping them into one paragraph
        command.epilog = ((command.epilog + "\n\n") if command.epilog else "") + \
            f"\b\n{'Examples' if len(examples) > 1 else 'Example'}:\n{lines}"
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            attach(sub, f"{path} {name}")
    return command
