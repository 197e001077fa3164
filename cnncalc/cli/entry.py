"""The command line's entry point, kept light.

``cnncalc SPEC [options]`` and ``cnncalc check FILES [options]`` — the runs CI loops and
students make most — are parsed here by hand and go straight to :func:`show` / :func:`check`,
without importing typer or building its command tree (that alone took longer than analysing
ResNet-152). Anything else — another command, ``--help``, an
option this parser does not know, a value it is unsure of — goes to the typer application in
:mod:`cnncalc.cli.app`, which owns every command's help and usage errors. Both parsers are
generated from the tables in :mod:`cnncalc.cli.options` (each option declared once) and call the
same functions (:mod:`cnncalc.cli.commands`); tests/test_cli_fastpath.py runs a matrix of command
lines through both and requires identical output. cnncalc.cli.app never imports this module.

Library errors (CnnCalcError) become one line on stderr and exit code 2; failed expectations or
answers exit 1.
"""

from __future__ import annotations

import errno
import gc
import os
import sys
from enum import Enum  # noqa: F401  (tests read cli.Enum)
from typing import List, Optional

from .commands import conventions, emit, error_line  # noqa: F401  (re-exported)
from .commands.check import check
from .commands.show import show
from .options import COMMANDS as _COMMANDS
from .options import EXIT_ERROR, EXIT_FAILED, EXIT_OK, CheckFormat, Dtype, Format, Train  # noqa: F401  (re-exported)
from .options import command, conflicting_option, flag_table

# The command names of cnncalc.cli.app (both come from cnncalc/cli/options.py): a first word that is
# one of them is a command, anything else is a SPEC for `show`.
COMMANDS = tuple(c.name for c in _COMMANDS)


def _fast(name: str, function) -> tuple:
    """(flag → (keyword, kind), keyword of the positional arguments, least, most, function)."""
    arg = command(name).arg
    return flag_table(name), arg.key, arg.least, arg.most, function


# The commands the fast path runs, with their option tables generated from cnncalc/cli/options.py.
FAST = {"show": _fast("show", show), "check": _fast("check", check)}
SHOW_OPTIONS, CHECK_OPTIONS = FAST["show"][0], FAST["check"][0]


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
        name, args = args[0], args[1:]
    elif not args or args[0] in COMMANDS:
        return None
    else:
        name = "show"
    options, positional_key, least, most, function = FAST[name]
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
            if not (value.isascii() and value.isdigit()) or len(value) > 100 or int(value) < 1:
                return None  # typer words the error (a huge number: before int() refuses 4,300 digits)
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


_WRITE_ERRNOS = {getattr(errno, n) for n in ("ENOSPC", "EIO", "EDQUOT", "EFBIG") if hasattr(errno, n)}


def main(argv: Optional[List[str]] = None, fast: bool = True) -> int:
    """Console entry point: one line for any error, never a traceback unless --debug."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("CNNCALC_DEBUG") == "1"
    # One short-lived run builds no reference cycles worth collecting; the cyclic GC's passes
    # over millions of young objects were most of the time on 100,000-layer specs.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        conflict = conflicting_option(args)
        if conflict is not None:
            sys.stderr.write(f"cnncalc: error: {conflict}\n")
            return EXIT_ERROR
        completing = any(k.startswith("_CNNCALC_COMPLETE") for k in os.environ)
        plan = parse_fast(args) if fast and not completing else None
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
        if isinstance(e, OSError) and e.errno in _WRITE_ERRNOS and not debug:  # stdout on a full disk
            sys.stderr.write(f"cnncalc: error: cannot write the output ({e.strerror})\n")
            return EXIT_ERROR
        if debug:
            raise
        from ..core.errors import clip

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
    from . import commands

    commands.KEEP_UNTIL_EXIT = True  # the report lives until os._exit: freeing it served nobody too
    rc = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        rc = rc or EXIT_ERROR
    except OSError as e:  # the last of standard output could not be written (a full disk)
        try:
            sys.stderr.write(f"cnncalc: error: cannot write the output ({e.strerror})\n")
            sys.stderr.flush()
        except OSError:
            pass
        rc = rc or EXIT_ERROR
    os._exit(rc)


def __getattr__(name):  # `from cnncalc.cli.entry import app` still works
    if name == "app":
        from .app import app

        return app
    raise AttributeError(name)
