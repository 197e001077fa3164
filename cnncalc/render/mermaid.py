"""``--format mermaid``: the graph alone as a Mermaid flowchart (renders inside GitHub Markdown
in a ```` ```mermaid ```` block). Node ids are n0, n1, … (names can be Mermaid keywords such as
``end``); labels are quoted with every character outside a plain set written as an entity
(``#35;``), so no name can break the syntax."""

from __future__ import annotations

import re

from .graph import MERGES, edges, label, repeat_counts, units

_PLAIN = re.compile(r"[^A-Za-z0-9 _.,:×/+\-=()\[\]]")


def text(s: str) -> str:
    return _PLAIN.sub(lambda m: f"#{ord(m.group())};", str(s))


def render_mermaid(report, depth=None) -> str:
    rows, unit_of = units(report, depth)
    names = {r.name for r in report.layers}
    counts = repeat_counts(report) if depth is not None else {}
    ids = {r.name: f"n{i}" for i, r in enumerate(rows)}
    out = ["flowchart TD"]
    for r in rows:
        collapsed = r.name not in names
        body = f'"{text(r.name)}<br/>{text(label(r, collapsed, counts))}"'
        if collapsed:
            out.append(f"  {ids[r.name]}[[{body}]]")
        elif r.type in MERGES:
            out.append(f"  {ids[r.name]}([{body}])")
        else:
            out.append(f"  {ids[r.name]}[{body}]")
    for s, t, shape in edges(report, rows, unit_of):
        if s in ids and t in ids:
            out.append(f'  {ids[s]} -->|"{text(shape)}"| {ids[t]}')
    return "\n".join(out) + "\n"
