"""`cnncalc check FILES…`: build every spec and check its expectations and budgets."""

# no `from __future__ import annotations`: typer reads the option types from the annotations

from typing import List, Optional

import typer

from ..cli import CheckFormat, Dtype, Train, check


def register(app) -> None:
    @app.command("check")
    def check_cmd(
        files: List[str] = typer.Argument(..., help="spec files, directories (every *.yaml/*.yml below), "
                                                    "globs or built-in names"),
        fmt: Optional[CheckFormat] = typer.Option(None, "--format", "-f", case_sensitive=False,
                                                  help="text (default), json, or github (the default when "
                                                       "GITHUB_ACTIONS=true)"),
        strict: bool = typer.Option(False, "--strict", help="a size that does not divide is an error unless the "
                                                            "spec expects it (valid: false)"),
        dtype: Dtype = typer.Option(Dtype.float32, "--dtype", case_sensitive=False,
                                    help="bytes per value for memory figures"),
        batch: int = typer.Option(1, "--batch", min=1, help="batch size for activation memory"),
        train: Optional[Train] = typer.Option(None, "--train", case_sensitive=False,
                                              help="optimizer for training_bytes budgets"),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="also list the checks that hold"),
    ) -> None:
        """Check specs: shapes valid, every expect: and budget: holds. Exit 0 all hold, 1 a check fails,
        2 a spec is invalid or unreadable."""
        rc = check(files, fmt, strict, dtype, batch, train, verbose)
        raise typer.Exit(rc)
