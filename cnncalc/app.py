"""The typer application: every command, its options, help and usage errors.

``cnncalc SPEC`` is the default command (``show``); other commands are named. The entry point
(cnncalc.cli.main) runs plain ``show`` command lines without building this app. Heavy modules
are imported inside the commands that need them.
"""

from __future__ import annotations

from typing import Optional

import typer
from typer.core import TyperGroup

from .cli import Dtype, Format, Train, show


class _DefaultGroup(TyperGroup):
    """Route ``cnncalc SPEC …`` to the ``show`` command when SPEC names no command."""

    default_command = "show"

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = [self.default_command] + list(args)
        return super().parse_args(ctx, args)

    def list_commands(self, ctx):  # keep the order commands were added in
        return list(self.commands)


app = typer.Typer(
    cls=_DefaultGroup,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="CNN shape, parameter, memory and FLOP calculator. `cnncalc SPEC` shows a network: "
         "SPEC is a YAML file or a built-in name (`cnncalc list`).",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.command("show")
def show_cmd(
    spec: Optional[str] = typer.Argument(None, help="a spec file (YAML) or a built-in network name"),
    expr: Optional[str] = typer.Option(None, "--expr", "-e",
                                       help='a network in the one-line DSL: "input 32x32x3 | conv 10 k5 p2 | relu"'),
    depth: Optional[int] = typer.Option(None, "--depth", min=1,
                                        help="one row per block instance at name depth N (layer3 = 1, layer3.4 = 2)"),
    fmt: Format = typer.Option(Format.table, "--format", "-f", case_sensitive=False, help="output format"),
    exact_numbers: bool = typer.Option(False, "--exact", help="full integers instead of K/M/G"),
    dtype: Dtype = typer.Option(Dtype.float32, "--dtype", case_sensitive=False, help="bytes per value"),
    batch: int = typer.Option(1, "--batch", min=1, help="batch size for activation memory"),
    weights_only: bool = typer.Option(False, "--weights-only",
                                      help="count params without biases (the CS231n table's way)"),
    strict: bool = typer.Option(False, "--strict", help="sizes that do not divide are errors, not warnings"),
    train: Optional[Train] = typer.Option(None, "--train", case_sensitive=False,
                                          help="add training memory: params + grads + optimizer state + activations"),
    debug: bool = typer.Option(False, "--debug", help="show a traceback on internal errors"),
    explain: bool = typer.Option(False, "--explain", help="every figure of every layer with its worked formula"),
) -> None:
    """Show a network: per-layer table and totals (default command)."""
    rc = show(spec, expr, depth, fmt, exact_numbers, dtype, batch, weights_only, strict, train, explain)
    if rc:
        raise typer.Exit(rc)


@app.command("list")
def list_cmd() -> None:
    """List the built-in networks."""
    from .spec import builtin_names

    for name in builtin_names():
        typer.echo(name)


def _register_commands() -> None:
    from .commands import register_all

    register_all(app)


_register_commands()


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"cnncalc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                           help="print the version and exit"),
) -> None:
    pass
