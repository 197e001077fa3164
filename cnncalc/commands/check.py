"""`cnncalc check FILES…`: build every spec and check its expectations and budgets."""

# no `from __future__ import annotations`: typer reads the option types from the annotations

import os
import sys
from enum import Enum
from typing import List, Optional

import typer


class CheckFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"


def output_format(fmt: Optional[CheckFormat]) -> CheckFormat:
    """The format asked for; GitHub annotations by default inside GitHub Actions."""
    if fmt is not None:
        return fmt
    return CheckFormat.github if os.environ.get("GITHUB_ACTIONS") == "true" else CheckFormat.text


def register(app) -> None:
    from ..cli import Dtype, Train

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
        from ..check import check_sources
        from ..model import Conventions
        from ..render import check as out

        conv = Conventions(dtype=dtype.value, batch=batch, optimizer=train.value if train else None)
        run = check_sources(files, conv, strict=strict)
        chosen = output_format(fmt)
        if chosen is CheckFormat.json:
            text = out.render_json(run)
        elif chosen is CheckFormat.github:
            text = out.render_github(run)
        else:
            text = out.render_text(run, verbose=verbose)
        sys.stdout.write(text)
        raise typer.Exit(run.exit_code)
