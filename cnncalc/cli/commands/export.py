"""`cnncalc export SPEC --to pytorch|keras [-o FILE.py] [--input HxWxC]`: the spec as a Python
module that builds the network (cnncalc.export)."""

from __future__ import annotations

from typing import Optional

from . import report_error


def export_model(spec: str, target, output: Optional[str] = None, input_size: Optional[str] = None,
                 debug: bool = False) -> int:
    """Write the module for ``spec`` to ``output`` (stdout when None); the exit code."""
    from ...core.analysis import analyze
    from ...core.errors import CnnCalcError
    from ...export import export
    from .show import load_graph, write_out

    try:
        graph = load_graph(spec, None, input_size)
        text = export(graph, analyze(graph), target.value, "standard input" if spec == "-" else spec)
    except CnnCalcError as err:
        return report_error(err)
    return write_out(text, output)
