"""The command line's entry point, kept light.

``cnncalc SPEC [options]`` and ``cnncalc check FILES [options]`` — the runs CI loops and
students make most — are parsed here by hand and go straight to :func:`show` / :func:`check`,
without importing typer or building its command tree (that alone took longer than analysing
ResNet-152). Anything else — another command, ``--help``, an
option this parser does not know, a value it is unsure of — goes to the typer application in
:mod:`cnncalc.app`, which defines every command, its help and its usage errors. Both paths call
the same functions; tests/test_cli_fastpath.py runs a matrix of command lines through both
and requires identical output, and checks that the option table below matches the typer command.

Library errors (CnnCalcError) become one line on stderr and exit code 2; failed expectations or
answers exit 1.
"""

from __future__ import annotations

import gc
import os
import sys
from enum import Enum
from typing import List, Optional

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


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


class Train(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"


class CheckFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"


def error_line(err) -> str:
    return f"cnncalc: error: {err.format()}"


def fail(err) -> None:
    """In a typer command: print a CnnCalcError as one line and exit with its code."""
    import typer

    sys.stderr.write(error_line(err) + "\n")
    raise typer.Exit(err.exit_code)


def conventions(dtype: Dtype, batch: int, weights_only: bool, train: Optional[Train] = None):
    from .model import Conventions

    return Conventions(count_biases=not weights_only, dtype=dtype.value, batch=batch,
                       optimizer=train.value if train else None)


def emit(report, fmt: Format, exact_numbers: bool) -> None:
    """Write a report to stdout in the chosen format."""
    if fmt is Format.table:
        from rich.console import Console

        from .render.table import print_table

        tty = sys.stdout.isatty()
        console = Console(width=None if tty else 200, highlight=False, soft_wrap=False)
        try:
            print_table(report, console, exact_numbers)
        except SystemExit:  # rich's answer to a closed pipe (`cnncalc vgg16 | head`): exit 2, like the rest
            raise BrokenPipeError from None
        return
    from .render import render

    sys.stdout.write(render(report, fmt.value, exact_numbers=exact_numbers))


def show(spec: Optional[str] = None, expr: Optional[str] = None, depth: Optional[int] = None,
         fmt: Format = Format.table, exact_numbers: bool = False, dtype: Dtype = Dtype.float32, batch: int = 1,
         weights_only: bool = False, strict: bool = False, train: Optional[Train] = None,
         explain: bool = False) -> int:
    """``cnncalc show``: read, analyse and print one network; returns the exit code."""
    from .analysis import analyze
    from .errors import CnnCalcError
    from .spec.dsl import load_spec_or_expr

    try:
        report = analyze(load_spec_or_expr(spec, expr), conventions(dtype, batch, weights_only, train),
                         strict=strict)
    except CnnCalcError as err:
        sys.stderr.write(error_line(err) + "\n")
        return err.exit_code
    if explain:
        from .explain import explain_report

        sys.stdout.write(explain_report(report))
        return EXIT_OK
    if depth is not None:
        from .collapse import collapse

        report = collapse(report, depth)
    emit(report, fmt, exact_numbers)
    return EXIT_OK


def check_format(fmt: Optional[CheckFormat]) -> CheckFormat:
    """The format asked for; GitHub annotations by default inside GitHub Actions."""
    if fmt is not None:
        return fmt
    return CheckFormat.github if os.environ.get("GITHUB_ACTIONS") == "true" else CheckFormat.text


def check(files: List[str], fmt: Optional[CheckFormat] = None, strict: bool = False, dtype: Dtype = Dtype.float32,
          batch: int = 1, train: Optional[Train] = None, verbose: bool = False) -> int:
    """``cnncalc check``: check every spec's validity, expectations and budgets; the exit code."""
    from .check import check_sources
    from .model import Conventions
    from .render import check as out

    conv = Conventions(dtype=dtype.value, batch=batch, optimizer=train.value if train else None)
    run = check_sources(files, conv, strict=strict)
    chosen = check_format(fmt)
    if chosen is CheckFormat.json:
        text = out.render_json(run)
    elif chosen is CheckFormat.github:
        text = out.render_github(run)
    else:
        text = out.render_text(run, verbose=verbose)
    sys.stdout.write(text)
    return run.exit_code


# The command names of cnncalc.app (a test keeps this in step): a first word that is one of
# them is a command, anything else is a SPEC for `show`.
COMMANDS = ("show", "list", "conv", "pool", "dense", "tconv", "grade", "check", "schema", "compare")

# The options of the commands the fast path runs, as it reads them: option → (keyword, kind).
# Kinds: bool (a flag), int (a positive integer), str, or an Enum whose values are matched
# case-insensitively (as typer does). tests/test_cli_fastpath.py holds these to the typer app.
SHOW_OPTIONS = {
    "--expr": ("expr", str), "-e": ("expr", str),
    "--depth": ("depth", int),
    "--format": ("fmt", Format), "-f": ("fmt", Format),
    "--exact": ("exact_numbers", bool),
    "--dtype": ("dtype", Dtype),
    "--batch": ("batch", int),
    "--weights-only": ("weights_only", bool),
    "--strict": ("strict", bool),
    "--train": ("train", Train),
    "--explain": ("explain", bool),
    "--debug": ("debug", bool),
}
CHECK_OPTIONS = {
    "--format": ("fmt", CheckFormat), "-f": ("fmt", CheckFormat),
    "--strict": ("strict", bool),
    "--dtype": ("dtype", Dtype),
    "--batch": ("batch", int),
    "--train": ("train", Train),
    "--verbose": ("verbose", bool), "-v": ("verbose", bool),
}
# command → (options, keyword of the positional arguments, least, most (None: any), function)
FAST = {
    "show": (SHOW_OPTIONS, "spec", 0, 1, show),
    "check": (CHECK_OPTIONS, "files", 1, None, check),
}


def parse_fast(args: List[str]) -> Optional[tuple]:
    """``(function, keyword arguments)`` for a plain ``show`` or ``check`` command line, or None
    to let typer parse it.

    >>> parse_fast(["vgg16", "--format=JSON", "--batch", "8"])[1]
    {'fmt': <Format.json: 'json'>, 'batch': 8, 'spec': 'vgg16'}
    >>> parse_fast(["check", "specs", "-f", "github"])[1]
    {'fmt': <CheckFormat.github: 'github'>, 'files': ['specs']}
    >>> parse_fast(["grade", "x.yaml"]), parse_fast(["vgg16", "--help"]), parse_fast(["vgg16", "--batch", "0"])
    (None, None, None)
    """
    if args and args[0] in FAST:
        command, args = args[0], args[1:]
    elif not args or args[0] in COMMANDS:
        return None
    else:
        command = "show"
    options, positional_key, least, most, function = FAST[command]
    kw: dict = {}
    positional: list = []
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if not a.startswith("-") or a == "-":
            positional.append(a)
            continue
        name, eq, value = a.partition("=")
        opt = options.get(name)
        if opt is None:
            return None  # --help, --, -fjson, an unknown option: typer decides
        key, kind = opt
        if kind is bool:
            if eq:
                return None
            kw[key] = True
            continue
        if not eq:
            if i >= len(args):
                return None
            value = args[i]
            i += 1
        if kind is int:
            if not (value.isascii() and value.isdigit()) or int(value) < 1:
                return None
            kw[key] = int(value)
        elif kind is str:
            kw[key] = value
        else:
            try:
                kw[key] = kind(value.lower())
            except ValueError:
                return None
    if len(positional) < least or (most is not None and len(positional) > most):
        return None
    if most == 1:
        if positional:
            kw[positional_key] = positional[0]
    else:
        kw[positional_key] = positional
    kw.pop("debug", None)
    return function, kw


def _run_typer(args: List[str]) -> int:
    from .app import app

    try:  # typer ≥ 0.2x vendors click as typer._click
        from typer._click import exceptions as click_exc
    except ImportError:  # pragma: no cover - older typer on plain click
        from click import exceptions as click_exc
    import typer

    try:
        rc = app(args=args, prog_name="cnncalc", standalone_mode=False)
        return rc if isinstance(rc, int) else EXIT_OK
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        sys.stderr.write("cnncalc: aborted\n")
        return EXIT_ERROR
    except click_exc.NoArgsIsHelpError as e:
        sys.stderr.write(e.format_message() + "\n")
        return EXIT_ERROR
    except click_exc.UsageError as e:
        hint = f" (see 'cnncalc {e.ctx.info_name} --help')" if e.ctx and e.ctx.info_name != "cnncalc" else \
            " (see 'cnncalc --help')"
        sys.stderr.write(f"cnncalc: error: {e.format_message()}{hint}\n")
        return EXIT_ERROR
    except click_exc.ClickException as e:
        sys.stderr.write(f"cnncalc: error: {e.format_message()}\n")
        return EXIT_ERROR


def main(argv: Optional[List[str]] = None, fast: bool = True) -> int:
    """Console entry point: one line for any error, never a traceback unless --debug."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("CNNCALC_DEBUG") == "1"
    # One short-lived run builds no reference cycles worth collecting; the cyclic GC's passes
    # over millions of young objects were most of the time on 100,000-layer specs.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        plan = parse_fast(args) if fast else None
        if plan is not None:
            function, kw = plan
            return function(**kw)
        return _run_typer(args)
    except (BrokenPipeError, KeyboardInterrupt):
        return EXIT_ERROR
    except RecursionError:
        if debug:
            raise
        sys.stderr.write("cnncalc: error: input nested too deeply\n")
        return EXIT_ERROR
    except MemoryError:
        sys.stderr.write("cnncalc: error: out of memory: the input is too large\n")
        return EXIT_ERROR
    except Exception as e:  # an internal bug: one line, and a way to see more
        if debug:
            raise
        from .errors import clip

        sys.stderr.write(f"cnncalc: internal error: {type(e).__name__}: {clip(str(e), 200)}. This is a bug in "
                         "cnncalc; please "
                         "report it with the input that caused it (run with --debug for the traceback)\n")
        return EXIT_ERROR
    finally:
        if gc_was_enabled:
            gc.enable()


def run() -> None:  # pragma: no cover - the console script
    """``cnncalc``: run, flush, and leave without tearing down the heap (freeing a
    100,000-layer analysis object by object took seconds and served nobody)."""
    rc = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        rc = rc or EXIT_ERROR
    os._exit(rc)


def __getattr__(name):  # `from cnncalc.cli import app` still works
    if name == "app":
        from .app import app

        return app
    raise AttributeError(name)
