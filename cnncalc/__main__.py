"""`python -m cnncalc` runs the command line."""

from .cli import run

run()
