"""The command line: a thin typer shell over the library.

``cnncalc SPEC`` is the default command (``show``); other commands are named. Library
errors (CnnCalcError) become one line on stderr and exit code 2; failed expectations or
answers exit 1. Heavy modules are imported inside the commands that need them.
"""

from __future__ import annotations

import gc
import os
import sys
from enum import Enum
from typing import List, Optional

import typer
from typer.core import TyperGroup

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


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


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class Dtype(str, Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"
    int8 = "int8"
    float64 = "float64"


def fail(err) -> None:
    """Print a CnnCalcError as one line and exit with its code."""
    typer.echo(f"cnncalc: error: {err.format()}", err=True)
    raise typer.Exit(err.exit_code)


class Train(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"


def conventions(dtype: "Dtype", batch: int, weights_only: bool, train: "Optional[Train]" = None):
    from .model import Conventions

    return Conventions(count_biases=not weights_only, dtype=dtype.value, batch=batch,
                       optimizer=train.value if train else None)


def emit(report, fmt: "Format", exact_numbers: bool) -> None:
    """Write a report to stdout in the chosen format."""
    if fmt is Format.table:
        from rich.console import Console

        from .render.table import print_table

        tty = sys.stdout.isatty()
        console = Console(width=None if tty else 200, highlight=False, soft_wrap=False)
        print_table(report, console, exact_numbers)
        return
    from .render import render

    sys.stdout.write(render(report, fmt.value, exact_numbers=exact_numbers))


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
    from .analysis import analyze
    from .errors import CnnCalcError

    from .spec.dsl import load_spec_or_expr

    try:
        report = analyze(load_spec_or_expr(spec, expr), conventions(dtype, batch, weights_only, train),
                         strict=strict)
    except CnnCalcError as err:
        fail(err)
    if explain:
        from .explain import explain_report

        sys.stdout.write(explain_report(report))
        return
    if depth is not None:
        from .collapse import collapse

        report = collapse(report, depth)
    emit(report, fmt, exact_numbers)


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


def main(argv: Optional[List[str]] = None) -> int:
    """Console entry point: one line for any error, never a traceback unless --debug."""
    try:  # typer ≥ 0.2x vendors click as typer._click
        from typer._click import exceptions as click_exc
    except ImportError:  # pragma: no cover - older typer on plain click
        from click import exceptions as click_exc

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("CNNCALC_DEBUG") == "1"
    # One short-lived run builds no reference cycles worth collecting; the cyclic GC's passes
    # over millions of young objects were most of the time on 100,000-layer specs.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        rc = app(args=args, prog_name="cnncalc", standalone_mode=False)
        return rc if isinstance(rc, int) else EXIT_OK
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        typer.echo("cnncalc: aborted", err=True)
        return EXIT_ERROR
    except click_exc.NoArgsIsHelpError as e:
        typer.echo(e.format_message(), err=True)
        return EXIT_ERROR
    except click_exc.UsageError as e:
        hint = f" (see 'cnncalc {e.ctx.info_name} --help')" if e.ctx and e.ctx.info_name != "cnncalc" else \
            " (see 'cnncalc --help')"
        typer.echo(f"cnncalc: error: {e.format_message()}{hint}", err=True)
        return EXIT_ERROR
    except click_exc.ClickException as e:
        typer.echo(f"cnncalc: error: {e.format_message()}", err=True)
        return EXIT_ERROR
    except (BrokenPipeError, KeyboardInterrupt):
        return EXIT_ERROR
    except RecursionError:
        if debug:
            raise
        typer.echo("cnncalc: error: input nested too deeply", err=True)
        return EXIT_ERROR
    except MemoryError:
        typer.echo("cnncalc: error: out of memory: the input is too large", err=True)
        return EXIT_ERROR
    except Exception as e:  # an internal bug: one line, and a way to see more
        if debug:
            raise
        typer.echo(f"cnncalc: internal error: {type(e).__name__}: {e}. This is a bug in cnncalc; please "
                   "report it with the input that caused it (run with --debug for the traceback)", err=True)
        return EXIT_ERROR
    finally:
        if gc_was_enabled:
            gc.enable()


def run() -> None:  # pragma: no cover - console script wrapper
    sys.exit(main())
