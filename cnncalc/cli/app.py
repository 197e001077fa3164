"""The typer application, generated from the command and option tables of cnncalc/cli/options.py:
every command, its help and its usage errors.

``cnncalc SPEC`` is the default command (``show``); other commands are named. The entry point
(cnncalc.cli.entry.main) runs plain ``show`` and ``check`` command lines without building this app;
both call the same functions (``Command.run``), which return the exit code.
"""

from __future__ import annotations

import importlib
import inspect
from enum import Enum
from typing import List, Optional

import typer
from typer.core import TyperGroup

from .options import COMMANDS, Command, default_of, options_of

ROOT_OPTIONS = ("--help", "-h", "--version", "--install-completion", "--show-completion")


class _DefaultGroup(TyperGroup):
    """Route ``cnncalc SPEC …`` to the ``show`` command when SPEC names no command."""

    default_command = "show"

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0].partition("=")[0] not in ROOT_OPTIONS:
            args = [self.default_command] + list(args)
        return super().parse_args(ctx, args)

    def list_commands(self, ctx):  # keep the order commands were added in
        return list(self.commands)


app = typer.Typer(
    cls=_DefaultGroup,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="CNN shape, parameter, memory and FLOP calculator. `cnncalc SPEC` shows a network: "
         "SPEC is a YAML file, a built-in name (`cnncalc list`) or - for standard input.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _runner(cmd: Command):
    module, _, name = cmd.run.partition(":")
    return getattr(importlib.import_module(f".{module}", __package__), name)


def _typed(kind, default):
    base = kind if kind in (bool, int, str) or (isinstance(kind, type) and issubclass(kind, Enum)) else str
    return Optional[base] if default is None else base


def typer_command(cmd: Command):
    """A function typer reads as ``cmd``: its signature is generated from the tables."""
    params = []
    a = cmd.arg
    if a is not None:
        if a.most is None:
            ann, default = List[str], typer.Argument(..., help=a.help)
        elif a.least == 0:
            ann, default = Optional[str], typer.Argument(None, help=a.help)
        else:
            ann, default = str, typer.Argument(..., help=a.help)
        params.append(inspect.Parameter(a.key, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default,
                                        annotation=ann))
    for o in options_of(cmd.name):
        d = default_of(cmd.name, o)
        extra: dict = {"help": o.help_for(cmd.name)}
        if isinstance(o.kind, type) and issubclass(o.kind, Enum):
            extra["case_sensitive"] = False
        if o.kind is int:
            extra["min"] = 1
        params.append(inspect.Parameter(o.key, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                        default=typer.Option(d, *o.flags, **extra), annotation=_typed(o.kind, d)))

    def command(**kw) -> None:
        rc = _runner(cmd)(**kw)
        if rc:
            raise typer.Exit(rc)

    command.__signature__ = inspect.Signature(params)
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__annotations__["return"] = None
    command.__name__ = cmd.name.replace("-", "_")
    command.__doc__ = cmd.help
    return command


for _cmd in COMMANDS:
    app.command(_cmd.name, help=_cmd.help)(typer_command(_cmd))


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"cnncalc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                           help="print the version and exit"),
) -> None:
    pass
