"""The network as a graph of drawable units, shared by the HTML, DOT and Mermaid renderers.

A unit is a layer, or a block instance collapsed at ``--depth`` (cnncalc.collapse's rows: its
figures are the collapse's sums, never worked out here). Edges join units and carry the
output shape of the unit they leave, as text.
"""

from __future__ import annotations

from ..collapse import collapse, group_of
from .common import describe, shape_text

MERGES = ("add", "concat", "multiply", "mul", "sum", "average", "maximum", "subtract")


def block_path(r) -> str:
    spec = r.spec
    return (getattr(spec, "block", None) or "") if spec is not None else ""


def repeats(report, path: str) -> int:
    """How many block instances sit directly under ``path`` (layer1 → layer1.0, layer1.1, layer1.2: 3);
    0 when the block holds its layers directly."""
    depth = path.count(".") + 1
    kids = set()
    for r in report.layers:
        p = block_path(r)
        if p.startswith(path + ".") and p.count(".") + 1 > depth:
            kids.add(".".join(p.split(".")[:depth + 1]))
    return len(kids)


def units(report, depth=None):
    """(rows, unit_of): the rows drawn (the collapsed report's layers at ``depth``, or every
    layer) and, for each layer name, the name of the row that holds it."""
    if depth is None:
        return list(report.layers), {r.name: r.name for r in report.layers}
    rows = list(collapse(report, depth).layers)
    unit_of = {}
    for r in report.layers:
        g = group_of(r, depth)
        unit_of[r.name] = r.name if g is None else g
    return rows, unit_of


def label(report, row, collapsed: bool) -> str:
    """The second line of a node: the layer's description, or the block type ×N."""
    if not collapsed:
        return describe(row)
    n = repeats(report, row.name)
    return f"{row.type} ×{n}" if n > 1 else row.type


def edges(report, rows, unit_of) -> list:
    """(source, target, shape text) between drawn units, once each, in layer order."""
    shapes = {r.name: shape_text(r.output_shape) for r in report.layers}
    seen = set()
    out = []
    for r in report.layers:
        t = unit_of[r.name]
        for i in r.inputs:
            s = unit_of.get(i, i)
            if s == t or (s, t) in seen:
                continue
            seen.add((s, t))
            out.append((s, t, shapes.get(i, "")))
    return out
