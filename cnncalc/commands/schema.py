"""`cnncalc schema`: print the JSON Schema of the spec format (for editors and CI)."""

from __future__ import annotations

import sys
from typing import Optional


def schema(output: Optional[str] = None, debug: bool = False) -> int:
    from pathlib import Path

    from ..schema import render_schema

    text = render_schema()
    if output is None:
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")
    return 0
