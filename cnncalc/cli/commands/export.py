"""`cnncalc export SPEC --to pytorch|keras [-o FILE.py] [--input HxWxC]`: the spec as a Python
module that builds the network (cnncalc.export)."""

from __future__ import annotations

import sys
from typing import Optional

from . import report_error


def export_model(spec: str, target, output: Optional[str] = None, input_size: Optional[str] = None,
                 debug: bool = False) -> int:
    """Write the module for ``spec`` to ``output`` (stdout when None); the exit code."""
    from pathlib import Path

    from ...core.analysis import analyze
    from ...core.errors import CnnCalcError, InputError
    from ...export import export
    from .show import load_graph

    try:
        graph = load_graph(spec, None, input_size)
        text = export(graph, analyze(graph), target.value, "standard input" if spec == "-" else spec)
        if output is None:
            sys.stdout.write(text)
        else:
            try:
                Path(output).write_text(text, encoding="utf-8")
            except OSError as e:
                raise InputError(f"{output}: cannot write ({e.strerror or e})") from None
    except CnnCalcError as err:
        return report_error(err)
    return 0
