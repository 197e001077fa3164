"""Worked formulas: every figure of a report written out the way a student writes it.

``W_out = (224 − 3 + 2·1)/1 + 1 = 224``, ``params = (3·3·64)·128 + 128 = 73,856``,
``MACs = 224·224·128·(3·3·64) = 924,844,032``, ``activations = 224·224·64 = 3,211,264``.

The numbers on the right-hand side are the report's own (computed once, in the layers); this
module only writes the hyperparameters into the textbook formulas next to them. No printing.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional

from . import formulas as fm
from .layers.base import frac_text, size_expr
from .model import LayerResult, Report
from .render.common import describe

WIDTH = 96  # explanations are wrapped to fit an 80–100 column terminal


def _n(x) -> str:
    if isinstance(x, Fraction):
        return frac_text(x)
    return f"{x:,}"


def _prod(*xs) -> str:
    return "·".join(str(x) for x in xs)


def _shape(shape) -> str:
    return "×".join(str(x) for x in shape)


def _inputs(report: Report, r: LayerResult) -> list:
    return [report.layer(n) for n in r.inputs]


def _size_lines(axes, result_hw) -> list:
    """``H_out = W_out = (224 − 3 + 2·1)/1 + 1 = 224`` (or one line per axis when they differ)."""
    texts = []
    for (label, expr, exact, note), got in zip(axes, result_hw):
        if note.startswith(" (rounded up"):  # ceil mode: exact is the quotient before ⌈⌉
            tail = f" = ⌈{frac_text(exact)}⌉ + 1 = {got}"
            if got != -(-exact.numerator // exact.denominator) + 1:
                tail += " (PyTorch drops a last window that would start in the padding)"
        else:
            value = frac_text(exact)
            tail = f" = {value}" if exact == got else f" = {value} → {got}{note}"
        texts.append((label, expr + tail))
    if len(texts) == 2 and texts[0][1] == texts[1][1]:
        return [("output_shape", f"H_out = W_out = {texts[0][1]}")]
    return [("output_shape", f"{label}_out = {text}") for label, text in texts]


def _window_lines(report: Report, r: LayerResult, p: dict, ceil_mode: bool = False) -> list:
    from .layers.spatial import _axis_pads

    h, w, _ = _inputs(report, r)[0].output_shape
    kernel, stride = p["kernel"], p["stride"]
    dil = p.get("dilation", (1, 1))
    pads = _axis_pads(p["padding"], h, w, kernel, stride, dil)
    lines = []
    if p["padding"] == "same":  # defined as ⌈W/S⌉ (Keras, TensorFlow): no floor formula to show
        oh, ow = r.output_shape[:2]
        eff = list(dict.fromkeys(f"F_eff = d·(F − 1) + 1 = {d}·({f} − 1) + 1 = {fm.effective_kernel(f, d)}"
                                 for f, d in zip(kernel, dil) if d != 1))
        return [("output_shape", text) for text in eff] + [("output_shape", f"padding 'same' (Keras, TensorFlow): H_out = ⌈{h}/{stride[0]}⌉ = {oh}, W_out = "
                                 f"⌈{w}/{stride[1]}⌉ = {ow}; padding {pads[0]}+{pads[1]} (H), {pads[2]}+{pads[3]} (W)")]
    axes = []
    for label, size, f, s, d, pb, pa in (("H", h, kernel[0], stride[0], dil[0], pads[0], pads[1]),
                                          ("W", w, kernel[1], stride[1], dil[1], pads[2], pads[3])):
        f_eff = fm.effective_kernel(f, d)
        if d != 1:
            text = f"F_eff = d·(F − 1) + 1 = {d}·({f} − 1) + 1 = {f_eff}"
            if ("output_shape", text) not in lines:
                lines.append(("output_shape", text))
        exact = Fraction(size - f_eff + pb + pa, s) + 1
        expr = size_expr(size, f_eff, pb, pa, s)
        if ceil_mode:
            expr = "⌈" + expr[: expr.rindex(" + 1")] + "⌉ + 1"
            exact -= 1
            note = " (rounded up: ceil_mode)"
        else:
            note = " (floored, as PyTorch does: these hyperparameters do not fit)"
        axes.append((label, expr, exact, note))
    lines += _size_lines(axes, r.output_shape[:2])
    return lines


def _conv_counts(report: Report, r: LayerResult, p: dict, transposed: bool = False) -> list:
    ih, iw, c_in = _inputs(report, r)[0].output_shape
    fh, fw = p["kernel"]
    k, g = p["filters"], p["groups"]
    oh, ow, _ = r.output_shape
    per = f"{fh}·{fw}·{c_in}" + (f"/{g}" if g != 1 else "")
    lines = []
    if r.biases:
        weights = f"({per})·{k} + {k}"
    else:
        weights = f"({per})·{k}"
    if report.conventions.count_biases or not r.biases:
        lines.append(("params", f"params = {weights} = {_n(r.params)}"))
    else:
        lines.append(("params", f"params = ({per})·{k} = {_n(r.params)}  (biases, {k}, not counted)"))
    if transposed:
        kk = f"{fh}·{fw}·{k}" + (f"/{g}" if g != 1 else "")
        lines.append(("macs", f"MACs = {_prod(ih, iw, c_in)}·({kk}) = {_n(r.macs)}  (every input value meets "
                              "F·F·K weights)"))
    else:
        lines.append(("macs", f"MACs = {_prod(oh, ow, k)}·({per}) = {_n(r.macs)}"))
    return lines


def _tconv_size(report: Report, r: LayerResult, p: dict) -> list:
    h, w, _ = _inputs(report, r)[0].output_shape
    pad, op_given = p["padding"], p["output_padding"]
    axes = []
    for label, size, f, s, d, i in (("H", h, p["kernel"][0], p["stride"][0], p["dilation"][0], 0),
                                     ("W", w, p["kernel"][1], p["stride"][1], p["dilation"][1], 1)):
        op = 0 if op_given is None else op_given[i]
        f_eff = fm.effective_kernel(f, d)
        if pad == "same" and op_given is None:
            expr = f"{size}·{s}"
        elif pad == "same":
            expr = f"({size} − 1)·{s} + ({f_eff} mod 2) + {op}"
        elif pad == "valid" and op_given is None:
            expr = f"{size}·{s} + max({f_eff} − {s}, 0)"
        elif pad == "valid":
            expr = f"({size} − 1)·{s} + {f_eff} + {op}"
        else:
            expr = f"({size} − 1)·{s} − 2·{pad[2 * i]} + {d}·({f} − 1) + {op} + 1"
        axes.append((label, expr, Fraction(r.output_shape[i]), ""))
    lines = []
    if pad in ("same", "valid"):
        lines.append(("output_shape", f"padding '{pad}' (Keras Conv2DTranspose"
                                      + (", no output_padding)" if op_given is None else ", with output_padding)")))
    return lines + _size_lines(axes, r.output_shape[:2])


def _rf_lines(report: Report, r: LayerResult, p: dict) -> list:
    ins = _inputs(report, r)
    if not ins:
        return []
    src = max(ins, key=lambda x: (x.receptive_field[0], x.receptive_field[1]))
    (rh, rw), (jh, jw) = src.receptive_field, src.jump
    whole = "; it covers the whole input" if r.covers_input else ""
    if r.receptive_field == src.receptive_field and r.jump == src.jump:
        return [("receptive_field", f"receptive field unchanged{whole}")] if whole and not src.covers_input else []
    rf_jump = (f"{_n(r.receptive_field[0])}×{_n(r.receptive_field[1])}, "
               f"jump {_n(r.jump[0])}×{_n(r.jump[1])}")
    if r.type in ("adaptive_avgpool", "adaptive_maxpool"):
        return [("receptive_field", f"receptive field = {rf_jump}, from the actual windows "
                                    f"[⌊i·W/O⌋, ⌈(i + 1)·W/O⌉) (the widest field, the largest step){whole}")]
    if "kernel" not in p:  # global pools, dense after a spatial input
        return [("receptive_field", f"receptive field = {rf_jump} (a window over all of the previous grid){whole}")]
    out = []
    for _label, r_in, j_in, f, d, s, r_out, j_out in (
            ("", rh, jh, p["kernel"][0], p.get("dilation", (1, 1))[0], p["stride"][0],
             r.receptive_field[0], r.jump[0]),
            ("W", rw, jw, p["kernel"][1], p.get("dilation", (1, 1))[1], p["stride"][1],
             r.receptive_field[1], r.jump[1])):
        f_eff = fm.effective_kernel(f, d)
        if r.type == "conv_transpose":
            if r_out != r_in + ((f_eff - 1) // s) * j_in or j_out != Fraction(j_in) / s:
                return [("receptive_field", f"receptive field = {rf_jump} (an upper bound after an irregular "
                                            f"adaptive pool){whole}")]
            text = (f"r = r_in + ⌊(F_eff − 1)/S⌋·j_in = {_n(r_in)} + ⌊{f_eff - 1}/{s}⌋·{_n(j_in)} = {_n(r_out)}; "
                    f"jump = j_in/S = {_n(j_in)}/{s} = {_n(j_out)}")
        else:
            if r_out != r_in + (f_eff - 1) * j_in or j_out != j_in * s:
                return [("receptive_field", f"receptive field = {rf_jump}, from the fields of the actual "
                                            f"positions (an adaptive pool upstream has uneven windows){whole}")]
            text = (f"r = r_in + (F_eff − 1)·j_in = {_n(r_in)} + ({f_eff} − 1)·{_n(j_in)} = {_n(r_out)}; "
                    f"jump = j_in·S = {_n(j_in)}·{s} = {_n(j_out)}")
        out.append(text)
    if out[0] == out[1]:
        return [("receptive_field", "receptive field " + out[0] + whole)]
    return [("receptive_field", "receptive field (H) " + out[0]),
            ("receptive_field", "receptive field (W) " + out[1] + whole)]


def layer_lines(report: Report, r: LayerResult) -> list:
    """[(figure, text)] for one layer: output size, params, MACs, activations, receptive field."""
    p = dict(r.spec.params) if r.spec is not None else {}
    lines: list = []
    if r.type == "input":
        return [("activations", f"activations = {_prod(*r.output_shape)} = {_n(r.activations)}  (the input)")]
    if r.type == "conv":
        lines += _window_lines(report, r, p)
        lines += _conv_counts(report, r, p)
    elif r.type == "locally_connected":  # a conv without weight sharing: one filter bank per position
        lines += _window_lines(report, r, p)
        c_in = _inputs(report, r)[0].output_shape[2]
        (fh, fw), k = p["kernel"], p["filters"]
        oh, ow, _ = r.output_shape
        w = f"{oh}·{ow}·({fh}·{fw}·{c_in})·{k}"
        if r.biases and report.conventions.count_biases:
            lines.append(("params", f"params = {w} + {oh}·{ow}·{k} = {_n(r.params)}  (no weight sharing)"))
        else:
            lines.append(("params", f"params = {w} = {_n(r.params)}  (no weight sharing)"))
        lines.append(("macs", f"MACs = {_prod(oh, ow, k)}·({fh}·{fw}·{c_in}) = {_n(r.macs)}"))
    elif r.type == "conv_transpose":
        lines += _tconv_size(report, r, p)
        lines += _conv_counts(report, r, p, transposed=True)
    elif r.type in ("maxpool", "avgpool"):
        lines += _window_lines(report, r, p, ceil_mode=p.get("ceil_mode", False))
        lines.append(("params", "params = 0 (pooling learns nothing)"))
    elif r.type == "dense":
        n_in = _inputs(report, r)[0].output_shape[0]
        n_out = p["units"]
        if r.biases and report.conventions.count_biases:
            lines.append(("params", f"params = {n_in}·{n_out} + {n_out} = {_n(r.params)}"))
        else:
            lines.append(("params", f"params = {n_in}·{n_out} = {_n(r.params)}"))
        lines.append(("macs", f"MACs = {n_in}·{n_out} = {_n(r.macs)}"))
    else:
        ins = _inputs(report, r)
        if r.type == "concat":
            lines.append(("output_shape", "channels = " + " + ".join(str(x.output_shape[-1]) for x in ins)
                          + f" = {r.output_shape[-1]}; output {_shape(r.output_shape)}"))
        elif len(ins) == 1 and ins[0].output_shape != r.output_shape:
            lines.append(("output_shape", f"output = {_shape(r.output_shape)} "
                                          f"(from {_shape(ins[0].output_shape)})"))
        if r.weights or r.biases:
            from .render.warnings import plural

            lines.append(("params", f"params = {plural(r.weights, 'weight')} + {plural(r.biases, 'bias', 'biases')}"
                                    f" = {_n(r.params)}"
                          + ("" if report.conventions.count_biases else " (biases not counted)")))
        if r.non_trainable_params:
            lines.append(("params", f"non-trainable = {_n(r.non_trainable_params)} (running statistics)"))
        if r.macs:
            lines.append(("macs", f"MACs = {_n(r.macs)}"))
    if r.macs:
        lines.append(("flops", f"FLOPs = {report.conventions.flops_per_mac}·MACs = {_n(r.flops)}"))
    if r.activations:
        if len(r.output_shape) > 1:
            lines.append(("activations", f"activations = {_prod(*r.output_shape)} = {_n(r.activations)}"))
        else:
            lines.append(("activations", f"activations = {_n(r.activations)}"))
    elif r.spec is not None:
        lines.append(("activations", "activations: none of its own (a view of its input, or fused)"))
    lines += _rf_lines(report, r, p)
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


def _mb(mb: Fraction) -> str:
    """MB to two decimals; exactly (no float rounding or overflow) for counts beyond a float's precision."""
    if mb < 10**13:
        return f"{float(mb):.2f}"
    cents = round(mb * 100)
    return f"{cents // 100}.{cents % 100:02d}"


def total_lines(report: Report) -> list:
    """[(figure, text)] for the whole network: sums, bytes, the output."""
    t, c = report.totals, report.conventions
    last = report.layers[-1]
    rs = report.layers
    mb = Fraction(t.activation_bytes, 10**6)
    return [
        ("output_shape", f"output = {_shape(last.output_shape)} ({last.name})"),
        ("params", _sum_text([r.params for r in rs], t.params, "params")),
        ("weights", _sum_text([r.weights for r in rs], t.weights, "weights")),
        ("biases", _sum_text([r.biases for r in rs], t.biases, "biases")),
        ("macs", _sum_text([r.macs for r in rs], t.macs, "MACs")),
        ("flops", f"FLOPs = {c.flops_per_mac}·MACs = {c.flops_per_mac}·{_n(t.macs)} = {_n(t.flops)}"),
        ("activations", _sum_text([r.activations for r in rs], t.activations, "activations")),
        ("memory", f"memory = {_n(t.activations)} activations · {c.bytes_per_value} B ({c.dtype})"
                   + (f" · batch {c.batch}" if c.batch != 1 else "")
                   + f" = {_n(t.activation_bytes)} B ≈ {_mb(mb)} MB"),
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
            bad = [r for r in report.layers if any("do not fit" in w for w in r.warnings)]
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
        c = report.conventions
        return (f"memory = {_prod(*r.output_shape)} · {c.bytes_per_value} B = "
                f"{_n(r.activations * c.bytes_per_value * c.batch)} B")
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
    for r in report.layers:
        out.append(f"{r.name} — {describe(r) if r.spec is not None and r.type != 'input' else r.type}: "
                   f"{_shape(r.output_shape)}")
        for _, text in layer_lines(report, r):
            out += _wrap(text, "  ", width)
        for w in r.warnings:
            out += _wrap("warning: " + w, "  ", width)
    out.append("")
    out.append(f"Totals — {report.name}")
    for _, text in total_lines(report):
        out += _wrap(text, "  ", width)
    return "\n".join(out) + "\n"
