"""``--format dot``: the graph alone, for Graphviz (``cnncalc resnet50 -f dot | dot -Tsvg > net.svg``).

A node per layer (or per block collapsed at ``--depth``, "×N" for repeats) labelled with its
name and description; every edge labelled with the output shape it carries; merges (add,
concat, …) drawn as ellipses."""

from __future__ import annotations

from .graph import MERGES, edges, label, repeat_counts, units


def quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, line breaks as \\n."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\r", "").replace("\n", "\\n") + '"'


def render_dot(report, depth=None) -> str:
    rows, unit_of = units(report, depth)
    names = {r.name for r in report.layers}
    counts = repeat_counts(report) if depth is not None else {}
    ids = {r.name: f"n{i}" for i, r in enumerate(rows)}
    out = [f"digraph {quote(report.name)} {{",
           "  rankdir=TB;",
           '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", fontsize=10];',
           '  edge [fontname="Helvetica", fontsize=9, color="#667085"];']
    for r in rows:
        collapsed = r.name not in names
        attrs = [f"label={quote(r.name + chr(10) + label(r, collapsed, counts))}", f"tooltip={quote(r.name)}"]
        if collapsed:
            attrs.append('fillcolor="#fdf2d0", penwidth=2')
        elif r.type in MERGES:
            attrs.append('shape=ellipse, fillcolor="#e3f4e6"')
        out.append(f"  {ids[r.name]} [{', '.join(attrs)}];")
    for s, t, shape in edges(report, rows, unit_of):
        if s in ids and t in ids:
            out.append(f"  {ids[s]} -> {ids[t]} [label={quote(shape)}];")
    out.append("}")
    return "\n".join(out) + "\n"
