"""What each command does: plain functions that take the options as keywords and return the
exit code (the option table is cnncalc/cli/options.py; both parsers call these functions).

Modules must stay cheap to import (the CLI's start-up time matters): import heavy things
inside the functions, and never typer.
"""

from __future__ import annotations

import sys

from ..options import EXIT_ERROR, EXIT_FAILED, EXIT_OK  # noqa: F401  (re-exported)


# Under cli.run() (the console script), what a command built is kept here until os._exit, so
# that it is not freed object by object when the command returns (0.5 s for 100,000 layers).
LEFT_TO_EXIT: list = []
KEEP_UNTIL_EXIT = False


def keep_until_exit(obj) -> None:
    if KEEP_UNTIL_EXIT:
        LEFT_TO_EXIT.append(obj)


def error_line(err) -> str:
    return f"cnncalc: error: {err.format()}"


def report_error(err) -> int:
    """Print a CnnCalcError as one line on stderr; its exit code."""
    sys.stderr.write(error_line(err) + "\n")
    return err.exit_code


def conventions(dtype, batch: int, weights_only: bool, train=None, macs_include=None):
    """The counting conventions the options ask for; ``--macs-include`` is read here (a
    MacsIncludeError, exit 2, for a kind that does not exist)."""
    from ...core.elementwise import parse_include
    from ...core.model import Conventions

    return Conventions(count_biases=not weights_only, dtype=dtype.value, batch=batch,
                       optimizer=train.value if train else None, macs_include=parse_include(macs_include))


def emit(report, fmt, exact_numbers: bool, all_warnings: bool = True) -> None:
    """Write a report to stdout in the chosen format."""
    from ..options import Format

    if fmt is Format.table:
        from ...render.table import print_table

        print_table(report, sys.stdout, exact_numbers, all_warnings=all_warnings)
        return
    from ...render import render

    sys.stdout.write(render(report, fmt.value, exact_numbers=exact_numbers))
