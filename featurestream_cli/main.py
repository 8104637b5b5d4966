"""The `featurestream` command line: one entry point that wraps every Makefile target.

Each subcommand lives in its own module under ``featurestream_cli/commands/`` and exposes a
click command named ``command``; the module name is the subcommand name (underscores become
dashes). Modules are imported only when their command runs or help is shown, and keep heavy
imports (pandas, scikit-learn, devstack) inside their functions, so ``featurestream --help``
stays instant.
"""

import importlib
import pkgutil
from pathlib import Path

import click

_COMMANDS_DIR = Path(__file__).parent / "commands"


def _module_names() -> dict[str, str]:
    return {
        module.name.replace("_", "-"): module.name
        for module in pkgutil.iter_modules([str(_COMMANDS_DIR)])
        if not module.name.startswith("_")
    }


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_module_names())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = _module_names().get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(f"featurestream_cli.commands.{module_name}")
        command: click.Command = module.command
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Streaming feature ingestion for Amazon SageMaker Feature Store."""
