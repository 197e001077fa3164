"""``--format html``: one self-contained page (no network request of any kind; the script, the
styles and the graph layout library are inlined) with the totals, a sortable per-layer table
with share bars and collapsible blocks, bar charts, the graph as SVG linked both ways with the
table, the spec's expect:/budget: results and every warning.

Everything shown is data from the Report (its ``to_dict()``, the collapse of cnncalc.collapse
for block rows, cnncalc.check's outcomes), written as text here with the number formatting of
render/common.py; the page's script only lays it out. The graph is laid out in the browser by
dagre (cnncalc/render/assets/dagre.min.js, MIT licence kept in the file), not by code of ours.

Each layer's row is ``<tr data-layer="NAME">`` and its graph node an SVG ``<g data-layer="NAME">``;
a block's row and node carry ``data-block="PATH"``.
"""

from __future__ import annotations

import json
from pathlib import Path

from .common import conventions_line, describe, elementwise_text, exact, human, human_bytes, macs_text, shape_text
from .graph import block_path, repeat_counts, sources
from .json_ import report_dict

ASSETS = Path(__file__).with_name("assets")
FIGURES = ("params", "macs", "activations")


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _fig(n: int) -> list:
    """[exact integer, short text, exact text]: the page sorts and draws by the first."""
    return [n, human(n), exact(n)]


def _rf(r) -> str:
    a, b = r.receptive_field
    return str(a) if a == b else f"{a}×{b}"


def _warnings(r) -> list:
    return [str(w) for w in r.warnings]  # str(w): render/warnings.py's words for structured warnings


def _checks(report) -> dict:
    """The spec's expect:/budget: outcomes (cnncalc.check), or the error that stops reading them."""
    graph = report.graph
    meta = graph.meta if graph is not None else {}
    if "expect" not in meta and "budget" not in meta:
        return {"items": [], "error": None}
    from ..verify.check import check_report
    from ..core.errors import CnnCalcError

    try:
        outcomes = check_report(report)
    except CnnCalcError as e:
        return {"items": [], "error": e.format()}
    return {"items": [{"ok": o.ok, "text": o.message} for o in outcomes], "error": None}


def _totals(report) -> list:
    """The totals card: (label, value, detail) lines."""
    t = report.totals
    c = report.conventions
    d = report_dict(report, layers=False)["totals"]  # the JSON totals (depth, when the analysis gives it)
    card = [
        ("params", human(t.params), f"{exact(t.params)} trainable"
         + (f" (weights {exact(t.weights)} + biases {exact(t.biases)})" if c.count_biases else " (weights only)")),
        ("non-trainable", human(t.non_trainable_params),
         f"{exact(t.non_trainable_params)} not learned (e.g. batch-norm statistics)"),
        ("MACs", human(t.macs), f"{exact(t.macs)}: {macs_text(report).removeprefix('MACs = ')}; "
                                f"element-wise operations by kind: {elementwise_text(report)}"),
        ("FLOPs", human(t.flops), f"{exact(t.flops)} = {c.flops_per_mac} × MACs"),
        ("activation memory", human_bytes(t.activation_bytes),
         f"{exact(t.activations)} values at {c.dtype}, batch {c.batch}; "
         f"{human_bytes(t.activation_bytes_fwd_bwd)} with activation gradients"),
        ("param memory", human_bytes(t.param_bytes), f"at {c.dtype}"),
    ]
    m = t.training
    if m is not None:
        card.append(("training memory", human_bytes(m.total),
                     f"{m.optimizer}: params {human_bytes(m.param_bytes)} + gradients {human_bytes(m.gradient_bytes)}"
                     f" + optimizer state {human_bytes(m.optimizer_state_bytes)}"
                     f" + stored activations {human_bytes(m.activation_bytes)}"))
    if "depth" in d:
        card.append(("depth", str(d["depth"]), "weight layers on the longest path"))
    card.append(("layers", exact(len(report.layers) - 1),
                 f"input {shape_text(report.input_shape)} → output {shape_text(report.output_shape)}"))
    return card


def page_data(report, depth=None) -> dict:
    """Everything the page shows, as plain data (numbers as [int, short text, exact text])."""
    from ..core.collapse import collapse

    index = {r.name: i for i, r in enumerate(report.layers)}
    src = sources(report)
    layers = []
    paths = []
    for r in report.layers:
        path = block_path(r)
        paths.append(path)
        ins = [src[x] for x in r.inputs if x in src]
        layers.append({"n": r.name, "t": describe(r), "s": shape_text(r.output_shape), "rf": _rf(r),
                       "in": [index[a] for a, _ in ins], "is": [shape for _, shape in ins], "b": path,
                       "f": [_fig(getattr(r, f)) for f in FIGURES], "w": _warnings(r)})
    # every block instance: each prefix of each path, in order of its first layer
    blocks = {}
    for p in paths:
        if p:
            parts = p.split(".")
            for k in range(1, len(parts) + 1):
                blocks.setdefault(".".join(parts[:k]), k)
    rows_at = {}
    for k in sorted(set(blocks.values())):
        for row in collapse(report, k).layers:
            if blocks.get(row.name) == k:
                rows_at[row.name] = row
    block_list = []
    counts = repeat_counts(report)
    for name, k in blocks.items():
        row = rows_at[name]
        n = counts.get(name, 0)
        block_list.append({"n": name, "k": k, "t": f"{row.type} ×{n}" if n > 1 else row.type,
                           "s": shape_text(row.output_shape), "rf": _rf(row),
                           "f": [_fig(getattr(row, f)) for f in FIGURES], "w": _warnings(row)})
    t = report.totals
    return {
        "name": report.name,
        "depth": depth,
        "layers": layers,
        "blocks": block_list,
        "totals": [_fig(getattr(t, f)) for f in FIGURES],
        "figures": ["params", "MACs", "activations"],
        "card": _totals(report),
        "checks": _checks(report),
        "warnings": [f"{r.name}: {w}" for r in report.layers for w in _warnings(r)],
        "conventions": conventions_line(report).replace("\n", " "),
    }


def _json(data) -> str:
    """JSON safe inside a <script> element."""
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _escape(text: str) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;"))


def page(title: str, body: str, data: dict, scripts: tuple) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"
            f"<title>{_escape(title)}</title>\n<style>\n{_asset('report.css')}</style>\n</head>\n<body>\n{body}\n"
            f"<script type=\"application/json\" id=\"cnncalc-data\">{_json(data)}</script>\n"
            + "".join(f"<script>\n{s}\n</script>\n" for s in scripts)
            + "</body>\n</html>\n")


def render_html(report, depth=None) -> str:
    """The page for one network; ``depth``: blocks deeper than this start collapsed (as --depth)."""
    from .. import __version__

    body = (f"<header><h1>{_escape(report.name)}</h1><p class=\"sub\">cnncalc {_escape(__version__)}</p></header>\n"
            "<main id=\"app\"><noscript>This report needs JavaScript to draw its table and graph.</noscript></main>")
    return page(f"{report.name} — cnncalc", body, page_data(report, depth),
                (_asset("dagre.min.js"), _asset("report.js")))


def render_compare_html(data: dict, ratio) -> str:
    """``cnncalc compare A B --format html``: cnncalc.commands.compare's comparison, side by side
    (``ratio`` writes a ratio as the table does)."""
    from .. import __version__

    specs, ratios = data["specs"], data["ratios_to_first"]
    labels = {"params": "params", "non_trainable_params": "non-trainable", "macs": "MACs", "flops": "FLOPs",
              "activations": "activations", "param_bytes": "param memory",
              "activation_bytes": f"activation memory (batch {data['batch']})"}
    byte_figs = ("param_bytes", "activation_bytes")
    cols = "".join(f"<th class=\"num\">{_escape(s['name'])}"
                   + (f"<div class=\"src\">{_escape(s['source'])}</div>" if s["source"] != s["name"] else "") + "</th>"
                   for s in specs)
    rows = []
    for f, label in labels.items():
        top = max(s[f] for s in specs) or 1
        cells = []
        for i, (s, r) in enumerate(zip(specs, ratios)):
            text = human_bytes(s[f]) if f in byte_figs else human(s[f])
            share = 100 * s[f] / top
            rat = "" if i == 0 else f" <span class=\"ratio\">({_escape(ratio(r[f]))})</span>"
            cells.append(f"<td class=\"num fig\" title=\"{exact(s[f])}\">"
                         f"<div class=\"bar\" style=\"width:{share:.2f}%\"></div>"
                         f"<span>{_escape(text)}</span>{rat}</td>")
        rows.append(f"<tr data-figure=\"{f}\"><th>{_escape(label)}</th>{''.join(cells)}</tr>")
    rows.append("<tr><th>output</th>" + "".join(f"<td class=\"num\">{shape_text(tuple(s['output_shape']))}</td>"
                                                 for s in specs) + "</tr>")
    rows.append("<tr><th>layers</th>" + "".join(f"<td class=\"num\">{exact(s['layers'])}</td>" for s in specs)
                + "</tr>")
    body = [f"<header><h1>{' vs '.join(_escape(s['name']) for s in specs)}</h1>"
            f"<p class=\"sub\">cnncalc {_escape(__version__)} · ratios to the first · memory at {data['dtype']}, "
            f"batch {data['batch']}, forward activations</p></header>",
            "<main><section><h2>Totals</h2><table class=\"cmp\"><thead><tr><th></th>" + cols + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></section>"]
    if data["blocks"]:
        brow = []
        for g in data["blocks"]:
            cells = []
            for v in g["values"]:
                cells.append("<td class=\"num\">—</td>" if v is None else
                             f"<td class=\"num\" title=\"params {exact(v['params'])}, MACs {exact(v['macs'])}\">"
                             f"{human(v['params'])} / {human(v['macs'])}</td>")
            brow.append(f"<tr data-block=\"{_escape(g['name'])}\"><th>{_escape(g['name'])}</th>{''.join(cells)}</tr>")
        body.append("<section><h2>Shared structure: params / MACs per block</h2><table class=\"cmp\"><thead><tr>"
                    "<th>block</th>" + cols + "</tr></thead><tbody>" + "".join(brow) + "</tbody></table></section>")
    else:
        body.append("<section><p>No shared structure: the specs have no layer or block names in common.</p></section>")
    body.append("</main>")
    return page(" vs ".join(s["name"] for s in specs) + " — cnncalc", "\n".join(body), data, ())
