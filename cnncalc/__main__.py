"""`python -m cnncalc` runs the command line."""

from .cli.entry import run

run()
