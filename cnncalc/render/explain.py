"""Worked formulas: every figure of a report written out the way a student writes it.

``W_out = (224 − 3 + 2·1)/1 + 1 = 224``, ``params = (3·3·64)·128 + 128 = 73,856``,
``MACs = 224·224·128·(3·3·64) = 924,844,032``, ``activations = 224·224·64 = 3,211,264``.

The numbers on the right-hand side are the report's own (computed once, in the layers). Each
layer type writes its own formulas (``Layer.explain``, from the ``Out`` its ``infer`` returned
for the report); this module adds what every layer has alike (FLOPs, activations, memory, the
receptive-field step and the merge of several inputs) and the totals. No printing.
"""

from __future__ import annotations

from typing import Optional

from .. import layers as registry
from ..core import receptive as rfm
from dataclasses import replace

from ..core.elementwise import added, include_text
from ..core.figures import activation_bytes, mb
from ..layers.worked import Work, n, prod, shape
from ..core.model import LayerResult, Report
from .common import describe
from ..core.warns import RF_BOUND, misfits

WIDTH = 96  # explanations are wrapped to fit an 80–100 column terminal

_n, _prod, _shape = n, prod, shape  # the names this module used before cnncalc.layers.worked


def _inputs(report: Report, r: LayerResult, index: Optional[dict] = None) -> tuple:
    if index is not None:  # a split's named output (split1.0) is found by report.layer
        return tuple(index[x] if x in index else report.layer(x) for x in r.inputs)
    return tuple(report.layer(x) for x in r.inputs)


def _rf_lines(w: Work, layer) -> list:
    """The receptive-field step: the merge of several inputs (cnncalc.core.receptive.merge, the rule
    the figures use), then the layer's step as its infer gave it (cnncalc.core.receptive's 6 values:
    F_eff, S and P_before per axis, or 'global', 'adaptive'). Where the analysis worked the
    field out from the actual windows (an uneven adaptive pool upstream) the formula does not
    hold and the line says so; an upper bound is said when the analysis warned of one."""
    r, ins = w.r, w.ins
    if not ins:
        return []
    whole = "; it covers the whole input" if r.covers_input else ""
    states = [(i.receptive_field[0], i.receptive_field[1], i.jump[0], i.jump[1]) for i in ins]
    grids = [tuple(i.output_shape[:2]) if len(i.output_shape) == 3 else (1, 1) for i in ins]
    if (1, 1) in grids and any(g != (1, 1) for g in grids):  # a broadcast gate (analysis.broadcast_jumps)
        jh_ = max(s[2] for s, g in zip(states, grids) if g != (1, 1))
        jw_ = max(s[3] for s, g in zip(states, grids) if g != (1, 1))
        states = [s if g != (1, 1) else (s[0], s[1], jh_, jw_) for s, g in zip(states, grids)]
    lines = []
    if len(states) > 1:  # on regular axes receptive.merge keeps the largest field and jump per axis
        rh, jh = rfm.merge([(s[0], s[2], 0, None) for s in states], 0)[:2]
        rw, jw = rfm.merge([(s[1], s[3], 0, None) for s in states], 0)[:2]
        if len(set(states)) > 1:
            lines.append(("receptive_field", "receptive field of the inputs, per axis the largest: "
                          + ", ".join(f"{n(s[0])}×{n(s[1])}" for s in states)
                          + f" → {n(rh)}×{n(rw)}, jump {n(jh)}×{n(jw)}"))
    else:
        rh, rw, jh, jw = states[0]
    if tuple(r.receptive_field) == (rh, rw) and tuple(r.jump) == (jh, jw):
        if whole and not all(i.covers_input for i in ins):
            lines.append(("receptive_field", f"receptive field unchanged{whole}"))
        return lines
    rf_jump = f"{n(r.receptive_field[0])}×{n(r.receptive_field[1])}, jump {n(r.jump[0])}×{n(r.jump[1])}"
    bound = any(x.kind == RF_BOUND for x in r.warnings)
    step = w.out.rf if w.out is not None else None
    if step is None:  # a merge of uneven fields, position by position
        return lines + [("receptive_field", f"receptive field = {rf_jump}, from the fields of the actual "
                                            f"positions{whole}")]
    if step[0] == "global":  # global pools, dense after a spatial input
        return lines + [("receptive_field", f"receptive field = {rf_jump} (a window over all of the previous "
                                            f"grid){whole}")]
    if step[0] == "adaptive":
        how = "an upper bound" if bound else "the widest field, the largest step"
        return lines + [("receptive_field", f"receptive field = {rf_jump}, from the actual windows "
                                            f"[⌊i·W/O⌋, ⌈(i + 1)·W/O⌉) ({how}){whole}")]
    fh, fw, sh, sw = step[:4]
    if bound:
        return lines + [("receptive_field", f"receptive field = {rf_jump} (an upper bound after an irregular "
                                            f"adaptive pool){whole}")]
    for r_in, j_in, f, s, r_out, j_out in ((rh, jh, fh, sh, r.receptive_field[0], r.jump[0]),
                                           (rw, jw, fw, sw, r.receptive_field[1], r.jump[1])):
        if r_out != r_in + (f - 1) * j_in or j_out != j_in * s:
            return lines + [("receptive_field", f"receptive field = {rf_jump}, from the fields of the actual "
                                                f"positions (an adaptive pool upstream has uneven windows){whole}")]
    texts = [layer.rf_formula(rh, jh, fh, sh, r.receptive_field[0], r.jump[0]),
             layer.rf_formula(rw, jw, fw, sw, r.receptive_field[1], r.jump[1])]
    if texts[0] == texts[1]:
        return lines + [("receptive_field", "receptive field " + texts[0] + whole)]
    return lines + [("receptive_field", "receptive field (H) " + texts[0]),
                    ("receptive_field", "receptive field (W) " + texts[1] + whole)]


def memory_line(report: Report, r: LayerResult) -> tuple:
    """``memory = 32·32·10 · 4 B · batch 8 = 327,680 B``: the bytes of one layer's output
    (cnncalc.core.figures.activation_bytes, as the figure itself)."""
    c = report.conventions
    if not r.activations:
        return ("memory", "memory = 0 B (a view of its input, or fused: adds no activations)")
    return ("memory", f"memory = {prod(*r.output_shape)} · {c.bytes_per_value} B"
                      + (f" · batch {c.batch}" if c.batch != 1 else "")
                      + f" = {n(activation_bytes(r.activations, c))} B")


def layer_lines(report: Report, r: LayerResult, index: Optional[dict] = None) -> list:
    """[(figure, text)] for one layer: its type's worked formulas (output size, params, MACs),
    then FLOPs, activations and the receptive field."""
    p = dict(r.spec.params) if r.spec is not None else {}
    if r.type == "input":
        return [("activations", f"activations = {prod(*r.output_shape)} = {n(r.activations)}  (the input)")]
    layer = registry.REGISTRY.get(r.type)
    ins = _inputs(report, r, index)
    out = r.inferred
    if out is None and layer is not None and r.spec is not None:  # a report made without analyze()
        out = layer.infer([i.output_shape for i in ins], r.spec.params)
    lines: list = []
    extra = added(r.elementwise, report.conventions.macs_include)
    own = r if not extra else replace(r, macs=r.macs - extra, flops=(r.macs - extra) * report.conventions.flops_per_mac)
    w = Work(report, own, ins, out, p)  # a type's formulas work out its own MACs
    if layer is not None and out is not None:
        lines += layer.explain(w)
    if r.elementwise:
        lines.append(("elementwise", "element-wise: " + " · ".join(f"{k} {n(v)}" for k, v in r.elementwise.items())
))
    if extra:
        terms = " + ".join(f"{k} " + (f"{f}·" if f != 1 else "") + n(r.elementwise[k])
                           for k, f in report.conventions.macs_include if r.elementwise.get(k))
        lines.append(("macs", f"MACs with --macs-include = {n(own.macs)} + {terms} = {n(r.macs)}"))
    if r.macs:
        lines.append(("flops", f"FLOPs = {report.conventions.flops_per_mac}·MACs = {n(r.flops)}"))
    if r.activations:
        if len(r.output_shape) > 1:
            lines.append(("activations", f"activations = {prod(*r.output_shape)} = {n(r.activations)}"))
        else:
            lines.append(("activations", f"activations = {n(r.activations)}"))
    elif r.spec is not None:
        lines.append(("activations", "activations: none of its own (a view of its input, or fused)"))
    if layer is not None:
        lines += _rf_lines(w, layer)
    return lines


def _wrap(text: str, indent: str, width: int = WIDTH) -> list:
    """Wrap one formula at its operators (never inside a number)."""
    if len(indent) + len(text) <= width:
        return [indent + text]
    out, cur = [], indent
    for tok in text.split(" "):
        if len(cur) + len(tok) + 1 > width and cur.strip():
            out.append(cur.rstrip())
            cur = indent + "    "
        cur += tok + " "
    out.append(cur.rstrip())
    return out


def _sum_text(values: list, total: int, what: str) -> str:
    terms = [v for v in values if v]
    if not terms:
        return f"{what} = 0"
    if len(terms) == 1:
        return f"{what} = {_n(terms[0])}"
    if len(terms) <= 6:
        return f"{what} = " + " + ".join(_n(v) for v in terms) + f" = {_n(total)}"
    return (f"{what} = " + " + ".join(_n(v) for v in terms[:3]) + " + … + " + " + ".join(_n(v) for v in terms[-2:])
            + f"  ({len(terms)} layers) = {_n(total)}")


def total_lines(report: Report) -> list:
    """[(figure, text)] for the whole network: sums, bytes, the output."""
    t, c = report.totals, report.conventions
    last = report.layers[-1]
    rs = report.layers
    return [
        ("output_shape", f"output = {_shape(last.output_shape)} ({last.name})"),
        ("params", _sum_text([r.params for r in rs], t.params, "params")),
        ("weights", _sum_text([r.weights for r in rs], t.weights, "weights")),
        ("biases", _sum_text([r.biases for r in rs], t.biases, "biases")),
        ("macs", _sum_text([r.macs for r in rs], t.macs, "MACs")),
        ("flops", f"FLOPs = {c.flops_per_mac}·MACs = {c.flops_per_mac}·{_n(t.macs)} = {_n(t.flops)}"),
        ("elementwise", "element-wise: "
         + (" · ".join(f"{k} {_n(v)}" for k, v in t.elementwise.items() if v) or "none")
         + (f"; MACs include {include_text(c.macs_include)}" if c.macs_include else "")),
        ("activations", _sum_text([r.activations for r in rs], t.activations, "activations")),
        ("memory", f"memory = {_n(t.activations)} activations · {c.bytes_per_value} B ({c.dtype})"
                   + (f" · batch {c.batch}" if c.batch != 1 else "")
                   + f" = {_n(t.activation_bytes)} B ≈ {mb(t.activation_bytes)} MB"),
        ("receptive_field", f"receptive field = {_n(last.receptive_field[0])}×{_n(last.receptive_field[1])} "
                            f"at {last.name}, jump {_n(last.jump[0])}×{_n(last.jump[1])}"
                            + (" (covers the whole input)" if last.covers_input else "")),
    ]


def figure_work(report: Report, figure: str, layer: Optional[str] = None) -> Optional[str]:
    """One worked formula for a graded figure (``None`` when there is nothing to show)."""
    key = {"weights": "params", "biases": "params", "valid": "output_shape", "activation_bytes": "memory"}
    if figure == "depth":
        return depth_work(report, layer)
    if layer is None:
        if figure in ("valid",):
            bad = [r for r in report.layers if misfits(r.warnings)]
            r = bad[0] if bad else report.layers[-1]
            return figure_work(report, "output_shape", r.name)
        wanted = figure if figure in ("weights", "biases") else key.get(figure, figure)
        attr = {"params": "params", "weights": "weights", "biases": "biases", "macs": "macs", "flops": "flops"}
        if figure in attr:  # one layer carries it all: show that layer's formula
            carriers = [r for r in report.layers if getattr(r, attr[figure])]
            if len(carriers) == 1:
                return figure_work(report, figure, carriers[0].name)
        texts = [t for f, t in total_lines(report) if f == wanted]
        return "; ".join(texts) or None
    r = report.layer(layer)
    if figure in ("memory", "activation_bytes"):
        return memory_line(report, r)[1]
    wanted = key.get(figure, figure)
    texts = [t for f, t in layer_lines(report, r) if f == wanted]
    return "; ".join(texts) or None


def depth_work(report: Report, layer: Optional[str] = None) -> str:
    """``depth = 8: conv1 → conv2 → … → fc8`` — the weight layers on the longest path."""
    by = {r.name: r for r in report.layers}
    r = by[layer] if layer is not None else max(report.layers, key=lambda x: x.depth)
    path = []
    while r.inputs:
        if r.depth > max(by[n].depth for n in r.inputs):
            path.append(r.name)
        r = max((by[n] for n in r.inputs), key=lambda x: x.depth)
    path.reverse()
    names = path if len(path) <= 12 else path[:5] + ["…"] + path[-5:]
    return f"depth = {r_depth(report, layer)}: " + (" → ".join(names) if names else "no weight layer") + \
        " (weight layers on the longest path)"


def r_depth(report: Report, layer: Optional[str]) -> int:
    return report.layer(layer).depth if layer is not None else report.totals.depth


def explain_report(report: Report, width: int = WIDTH) -> str:
    """Every layer with its worked formulas, then the totals."""
    out = []
    index = {r.name: r for r in report.layers}
    for r in report.layers:
        out.append(f"{r.name} — {describe(r) if r.spec is not None and r.type != 'input' else r.type}: "
                   f"{_shape(r.output_shape)}")
        for _, text in layer_lines(report, r, index):
            out += _wrap(text, "  ", width)
        for w in r.warnings:
            out += _wrap(f"warning: {w}", "  ", width)
    out.append("")
    out.append(f"Totals — {report.name}")
    for _, text in total_lines(report):
        out += _wrap(text, "  ", width)
    return "\n".join(out) + "\n"
