"""``--explain`` combined with ``--depth`` and ``--format json``.

With ``--depth N`` the explanation follows the collapsed table: a layer outside the collapsed
blocks gets its worked formulas as usual; a collapsed row (a block instance) gets its figures
as the sums of its layers', term by term. With ``--format json`` the JSON report (the same
document as without ``--explain``, collapsed with ``--depth``) gains ``"explain": [line, …]``
in every layer and ``"explain_totals"`` for the totals. The formulas themselves are
cnncalc/render/explain.py's.
"""

from __future__ import annotations

import json

from .explain import WIDTH, _shape, _sum_text, _wrap, explain_report, layer_lines, total_lines


def _rows(report, depth):
    """[(row name, title, [lines])] in table order."""
    if depth is None:
        return [_layer_row(report, r) for r in report.layers]
    from ..core.collapse import group_of

    rows: list = []
    groups: dict = {}
    for r in report.layers:
        g = group_of(r, depth)
        if g is None:
            rows.append(("layer", r))
        elif g in groups:
            groups[g].append(r)
        else:
            groups[g] = [r]
            rows.append(("group", g))
    out = []
    for kind, item in rows:
        if kind == "layer":
            out.append(_layer_row(report, item))
            continue
        members = groups[item]
        last = members[-1]
        block = last.spec.chain[-1][0] if last.spec is not None and last.spec.chain else "block"
        n = len(members)
        lines = [f"{n} layer{'s' if n != 1 else ''}: {members[0].name} … {last.name}" if n > 1
                 else f"1 layer: {last.name}"]
        for attr, what in (("params", "params"), ("macs", "MACs"), ("activations", "activations")):
            values = [getattr(m, attr) for m in members]
            lines.append(_sum_text(values, sum(values), what))
        rf, jump = last.receptive_field, last.jump
        lines.append(f"output {_shape(last.output_shape)}, receptive field {rf[0]}×{rf[1]} and jump "
                     f"{jump[0]}×{jump[1]}: its last layer's ({last.name})")
        lines += [f"warning: {m.name}: {w}" for m in members for w in m.warnings]
        out.append((item, f"{item} — {block} ({n} layer{'s' if n != 1 else ''}): {_shape(last.output_shape)}",
                    lines))
    return out


def _layer_row(report, r):
    from .common import describe

    return (r.name, f"{r.name} — {describe(r) if r.spec is not None and r.type != 'input' else r.type}: "
                    f"{_shape(r.output_shape)}",
            [text for _, text in layer_lines(report, r)] + [f"warning: {w}" for w in r.warnings])


def explain_text(report, depth=None, width: int = WIDTH) -> str:
    """Every row (layer, or collapsed block at ``depth``) with its worked formulas, then the totals."""
    if depth is None:
        return explain_report(report, width)
    out = []
    for _, title, lines in _rows(report, depth):
        out.append(title)
        for text in lines:
            out += _wrap(text, "  ", width)
    out.append("")
    out.append(f"Totals — {report.name}")
    for _, text in total_lines(report):
        out += _wrap(text, "  ", width)
    return "\n".join(out) + "\n"


def explain_json(report, depth=None) -> str:
    """The JSON report with an ``"explain"`` list of lines in every layer (row), laid out as
    ``--format json`` is: indented, one layer a line."""
    from .json_ import laid_out, layer_dict, report_dict

    shown = report
    if depth is not None:
        from ..core.collapse import collapse

        shown = collapse(report, depth)
    rows = _rows(report, depth)
    d = report_dict(shown, layers=False)
    d["explain_totals"] = [text for _, text in total_lines(report)]
    layers = [json.dumps({**layer_dict(r), "explain": lines}, ensure_ascii=False)
              for r, (_, _, lines) in zip(shown.layers, rows)]
    return laid_out(d, layers, listed=("warnings", "explain_totals"))
