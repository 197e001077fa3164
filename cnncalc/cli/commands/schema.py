"""`cnncalc schema`: print the JSON Schema of the spec format (for editors and CI)."""

from __future__ import annotations

import sys
from typing import Optional


def schema(output: Optional[str] = None, debug: bool = False) -> int:
    from pathlib import Path

    from ...load.schema import render_schema

    text = render_schema()
    if output is None:
        sys.stdout.write(text)
    else:
        try:  # written in full and closed (flushed) here, so /dev/full is caught too
            with open(Path(output), "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as e:  # a missing directory, a directory, a full disk, no permission
            from ...core.errors import InputError, clip
            from ..options import EXIT_ERROR
            from . import error_line

            sys.stderr.write(error_line(InputError(f"{clip(output, 120)}: cannot write the schema "
                                                   f"({e.strerror or e})")) + "\n")
            return EXIT_ERROR
    return 0
