"""`cnncalc values SPEC`: every layer's output computed from the spec's ``values:`` (cnncalc/values)."""

from __future__ import annotations

import sys
from typing import Optional

from ..options import EXIT_ERROR, EXIT_OK, ValuesFormat


def values(spec: str, fmt: ValuesFormat = ValuesFormat.text, explain: bool = False, cell: Optional[str] = None,
           digits: Optional[int] = None, truncate: Optional[int] = None, debug: bool = False) -> int:
    """Grids per channel (or JSON, or worked cells); the exit code."""
    from ...core.analysis import analyze
    from ...core.errors import CnnCalcError
    from ...values import show as out
    from ...values.run import run
    from . import report_error
    from .show import load_graph

    if digits is not None and truncate is not None:
        sys.stderr.write("cnncalc: error: --digits and --truncate exclude each other\n")
        return EXIT_ERROR
    display = out.Display(digits=digits, truncate=truncate)
    try:
        report = analyze(load_graph(spec))
        vals = run(report)
        if fmt is ValuesFormat.json:
            text = out.render_json(report.name, vals)
        elif explain or cell is not None:
            text = out.explain_text(vals, display, cell)
        else:
            text = out.render_grids(vals, display)
    except CnnCalcError as err:
        return report_error(err)
    sys.stdout.write(text)
    return EXIT_OK
