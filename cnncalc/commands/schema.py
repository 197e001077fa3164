"""`cnncalc schema`: print the JSON Schema of the spec format (for editors and CI)."""

# no `from __future__ import annotations`: typer reads the option types from the annotations
from typing import Optional

import typer


def register(app) -> None:
    @app.command("schema")
    def schema_cmd(
        output: Optional[str] = typer.Option(None, "--output", "-o", help="write to this file instead of stdout"),
    ) -> None:
        """Print the JSON Schema of spec files (layer types, parameters, expect, budget), generated from the
        layer registry. Point yaml-language-server at it: `# yaml-language-server: $schema=cnncalc.schema.json`."""
        import sys
        from pathlib import Path

        from ..schema import render_schema

        text = render_schema()
        if output is None:
            sys.stdout.write(text)
        else:
            Path(output).write_text(text, encoding="utf-8")
