"""`cnncalc compare A B [C…]`: totals side by side with ratios to the first, and a per-block
breakdown over the top-level names (blocks, branches, stages) that the specs share."""

from __future__ import annotations

import sys
from typing import List, Optional

from ..options import CompareFormat as Format, Dtype

FIGURES = ("params", "non_trainable_params", "macs", "flops", "activations", "param_bytes", "activation_bytes")
BYTE_FIGURES = ("param_bytes", "activation_bytes")


def _group(name: str) -> str:
    return name.split(".")[0]


def comparison(reports: list, sources: list) -> dict:
    """The comparison as plain data (what --format json prints)."""
    specs = []
    for rep, src in zip(reports, sources):
        t = rep.totals
        specs.append({"name": rep.name, "source": src, "output_shape": list(rep.output_shape),
                      "layers": len(rep.layers), **{f: getattr(t, f) for f in FIGURES}})
    base = specs[0]
    ratios = [{f: (_divide(s[f], base[f]) if base[f] else None) for f in FIGURES} for s in specs]
    groups: dict = {}
    order: list = []
    for i, rep in enumerate(reports):
        for r in rep.layers[1:]:
            g = _group(r.name)
            if g not in groups:
                groups[g] = [None] * len(reports)
                order.append(g)
            cell = groups[g][i] or {"params": 0, "macs": 0, "activations": 0, "layers": 0, "output_shape": None}
            cell["params"] += r.params
            cell["macs"] += r.macs
            cell["activations"] += r.activations
            cell["layers"] += 1
            cell["output_shape"] = list(r.output_shape)
            groups[g][i] = cell
    shared = [{"name": g, "values": groups[g]} for g in order if sum(v is not None for v in groups[g]) >= 2]
    conv = reports[0].conventions
    return {"specs": specs, "ratios_to_first": ratios, "blocks": shared, "dtype": conv.dtype, "batch": conv.batch}


def _divide(a: int, b: int):
    """a / b as a float, or the nearest integer when the ratio is beyond a float's range
    (a network of 10³⁰⁰ parameters against one of 1)."""
    try:
        return a / b
    except OverflowError:
        return (2 * a + b) // (2 * b)


def _ratio(x) -> str:
    if x is None:
        return "—"
    if isinstance(x, int) or x >= 1e15:  # beyond a float's range (_divide) or its exact digits: 1.00e148×
        from ...render.common import human

        return human(int(x)) + "×"
    return f"{x:.3g}×" if x < 100 else f"{x:,.0f}×"


def print_comparison(data: dict, exact_numbers: bool) -> None:
    """The comparison as two tables, fitted to the width (render.table.output_width): a label or
    a name is never cut; when the totals do not fit, each ratio moves to a line under its figure."""
    import sys

    from ...render.common import human_bytes, number, shape_text
    from ...render.table import (DIM, HEADER, TITLE, cell_width, clean, format_lines, grid, output_width, use_colour,
                                 wrap)

    width = output_width(sys.stdout)
    specs = data["specs"]
    names = [clean(s["name"]) for s in specs]
    labels = {"params": "params", "non_trainable_params": "non-trainable", "macs": "MACs", "flops": "FLOPs",
              "activations": "activations", "param_bytes": "param memory",
              "activation_bytes": f"activation memory (batch {data['batch']})"}
    figures, ratios = [], []
    for f in FIGURES:
        row, under = [labels[f]], [""]
        for s, r in zip(specs, data["ratios_to_first"]):
            row.append(human_bytes(s[f]) if f in BYTE_FIGURES and not exact_numbers else number(s[f], exact_numbers))
            under.append("" if s is specs[0] else f"({_ratio(r[f])})")
        figures.append(row)
        ratios.append(under)
    tail = [["output", *[shape_text(tuple(s["output_shape"])) for s in specs]],
            ["layers", *[str(s["layers"]) for s in specs]]]
    right = [False] + [True] * len(specs)
    heads = [""] + names
    lines = None
    for gap in (2, 1):  # the ratio beside its figure, two spaces between columns, then one
        rows = [[a if not b else f"{a} {b}" for a, b in zip(row, under)] for row, under in zip(figures, ratios)]
        lines = grid(heads, rows + tail, right, gap)
        if max(cell_width(x) for x in lines) <= width:
            break
    else:  # each ratio on a line of its own under its figure
        rows = []
        for row, under in zip(figures, ratios):
            rows += [row, under] if any(under) else [row]
        lines = grid(heads, rows + tail, right, 1)
    out = [("totals (ratio to the first)", TITLE), ("", None), (lines[0], HEADER)] + [(x, None) for x in lines[1:]]
    out += [("", None)] + [(x, DIM) for x in wrap(f"memory at {data['dtype']}, batch {data['batch']}, "
                                                   "forward activations", width)]
    if data["blocks"]:
        rows = []
        for g in data["blocks"]:
            rows.append([clean(g["name"])] + ["—" if v is None else
                                       f"{number(v['params'], exact_numbers)} / {number(v['macs'], exact_numbers)}"
                                       for v in g["values"]])
        lines = grid(["block"] + names, rows, right, 2)
        if max(cell_width(x) for x in lines) > width:
            lines = grid(["block"] + names, rows, right, 1)
        out += [("shared structure: params / MACs per block", TITLE), ("", None), (lines[0], HEADER)]
        out += [(x, None) for x in lines[1:]]
    else:
        out += [(x, None) for x in wrap("no shared structure: the specs have no layer or block names in common",
                                        width)]
    sys.stdout.write(format_lines(out, use_colour(sys.stdout)))


CSV_FIELDS = ("name", "source", "output_shape", "layers") + FIGURES


def render_rows(data: dict, fmt: Format, exact_numbers: bool) -> str:
    """``--format csv``: one row per spec, the totals as exact integers with each figure's
    ratio to the first spec; ``--format markdown``: the same as a Markdown table."""
    from ...render.common import human_bytes, number, shape_text

    specs, ratios = data["specs"], data["ratios_to_first"]
    if fmt is Format.csv:
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(list(CSV_FIELDS) + [f"{f}_ratio" for f in FIGURES] + ["dtype", "batch"])
        for s, r in zip(specs, ratios):
            w.writerow([s["name"], s["source"], "x".join(str(x) for x in s["output_shape"]), s["layers"]]
                       + [s[f] for f in FIGURES] + ["" if r[f] is None else repr(r[f]) for f in FIGURES]
                       + [data["dtype"], data["batch"]])
        return buf.getvalue()
    heads = ["spec", "output", "layers", "params", "non-trainable", "MACs", "FLOPs", "activations",
             "param memory", f"activation memory (batch {data['batch']})"]
    lines = ["| " + " | ".join(heads) + " |", "|---|---|" + "--:|" * (len(heads) - 2)]
    for i, (s, r) in enumerate(zip(specs, ratios)):
        cells = [s["name"].replace("|", "\\|"), shape_text(tuple(s["output_shape"])), str(s["layers"])]
        for f in FIGURES:
            cell = human_bytes(s[f]) if f in BYTE_FIGURES and not exact_numbers else number(s[f], exact_numbers)
            if i:
                cell += f" ({_ratio(r[f])})"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Memory at {data['dtype']}, batch {data['batch']}, forward activations; ratios to the first spec.")
    return "\n".join(lines) + "\n"


def compare(specs: List[str], fmt: Format = Format.table, exact_numbers: bool = False, weights_only: bool = False,
            dtype: Dtype = Dtype.float32, batch: int = 1, input_size: Optional[str] = None,
            output: Optional[str] = None, macs_include: Optional[str] = None, debug: bool = False) -> int:
    """``cnncalc compare A B [C…]``."""
    from ...core.analysis import analyze
    from ...core.errors import CnnCalcError, InputError
    from . import conventions, report_error
    from .show import load_graph

    try:
        if len(specs) < 2:
            raise InputError("compare needs at least two specs (cnncalc compare A B [C…])")
        conv = conventions(dtype, batch, weights_only, macs_include=macs_include)
        reports = [analyze(load_graph(s, input_size=input_size), conv) for s in specs]
    except CnnCalcError as err:
        return report_error(err)
    data = comparison(reports, specs)
    if output is not None or fmt is Format.html:
        from .show import write_out

        if fmt is Format.html:
            from ...render.html import render_compare_html

            return write_out(render_compare_html(data, _ratio), output)
        if fmt is Format.json:
            import json

            return write_out(json.dumps(data, indent=2, ensure_ascii=False) + "\n", output)
        if fmt is Format.table:  # the table as plain text, as it is printed to a pipe
            import contextlib
            import io

            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                print_comparison(data, exact_numbers)
            return write_out(buf.getvalue(), output)
        return write_out(render_rows(data, fmt, exact_numbers), output)
    if fmt is Format.json:
        import json

        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    elif fmt is Format.table:
        print_comparison(data, exact_numbers)
    else:
        sys.stdout.write(render_rows(data, fmt, exact_numbers))
    return 0
