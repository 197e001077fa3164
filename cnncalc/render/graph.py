"""The network as a graph of drawable units, shared by the HTML, DOT and Mermaid renderers.

A unit is a layer, or a block instance collapsed at ``--depth`` (cnncalc.collapse's rows: its
figures are the collapse's sums, never worked out here). Edges join units and carry the
output shape of the unit they leave, as text.
"""

from __future__ import annotations

from ..core.collapse import collapse, group_of
from .common import describe, shape_text

MERGES = ("add", "concat", "multiply", "mul", "sum", "average", "maximum", "subtract")


def block_path(r) -> str:
    spec = r.spec
    return (getattr(spec, "block", None) or "") if spec is not None else ""


def repeat_counts(report) -> dict:
    """For each block instance path, how many block instances sit directly under it (layer1 →
    layer1.0, layer1.1, layer1.2: 3); a block that holds its layers directly is absent. One
    pass over the layers."""
    kids: dict = {}
    for r in report.layers:
        p = block_path(r)
        if not p:
            continue
        parts = p.split(".")
        for k in range(1, len(parts)):
            kids.setdefault(".".join(parts[:k]), set()).add(".".join(parts[:k + 1]))
    return {path: len(v) for path, v in kids.items()}


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


def label(row, collapsed: bool, counts: dict) -> str:
    """The second line of a node: the layer's description, or the block type ×N
    (``counts``: :func:`repeat_counts`)."""
    if not collapsed:
        return describe(row)
    n = counts.get(row.name, 0)
    return f"{row.type} ×{n}" if n > 1 else row.type


def sources(report) -> dict:
    """input name → (the layer it comes from, the shape it carries, as text): a layer's name, or a
    split's named output NAME.k (its part k)."""
    out = {}
    for r in report.layers:
        out[r.name] = (r.name, shape_text(r.output_shape))
        for k, part in enumerate(getattr(r, "parts", ()) or ()):
            out[f"{r.name}.{k}"] = (r.name, shape_text(part))
    return out


def edges(report, rows, unit_of) -> list:
    """(source, target, shape text) between drawn units, once each, in layer order."""
    src = sources(report)
    seen = set()
    out = []
    for r in report.layers:
        t = unit_of[r.name]
        for i in r.inputs:
            layer, shape = src.get(i, (i, ""))
            s = unit_of.get(layer, layer)
            if s == t or (s, t) in seen:
                continue
            seen.add((s, t))
            out.append((s, t, shape))
    return out
