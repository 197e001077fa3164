"""Showing values: grids (one per channel, aligned, the lectures' layout), JSON, and the worked
arithmetic of any output cell — the dot product as the slides write it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

from ..core.errors import SpecError
from ..layers.spatial import _axis_pads, _windows


@dataclass(frozen=True)
class Display:
    """How values are written: exactly where short, else rounded (``digits``) or truncated."""

    digits: Optional[int] = None  # --digits N: every value to N decimals, rounded
    truncate: Optional[int] = None  # --truncate N: every value to N decimals, cut (the X/O slides)

    DEFAULT_DIGITS = 2  # a value with no short exact decimal, by default

    def text(self, v) -> str:
        if self.truncate is not None:
            return fixed(cut(v, self.truncate), self.truncate)
        if self.digits is not None:
            return fixed(round_half_up(v, self.digits), self.digits)
        if isinstance(v, int):
            return str(v)
        short = short_decimal(v)
        if short is not None:
            return short
        return fixed(round_half_up(v, self.DEFAULT_DIGITS), self.DEFAULT_DIGITS)

    def approximate(self, v) -> bool:
        """Whether ``text(v)`` is not the exact value."""
        if self.truncate is not None or self.digits is not None:
            n = self.truncate if self.truncate is not None else self.digits
            return isinstance(v, float) or Fraction(v) * 10**n != int(Fraction(v) * 10**n)
        return not isinstance(v, int) and short_decimal(v) is None

    @property
    def note(self) -> str:
        if self.truncate is not None:
            return f"values truncated to {self.truncate} decimals, as the slides do"
        if self.digits is not None:
            return f"values rounded to {self.digits} decimals"
        return f"values without a short exact decimal rounded to {self.DEFAULT_DIGITS} decimals"


def _frac(v) -> Fraction:
    return Fraction(v) if not isinstance(v, float) else Fraction(repr(v))


def cut(v, n: int) -> Fraction:
    """``v`` truncated toward zero to ``n`` decimals: 7/9 → 0.77, −1/9 → −0.11."""
    q = _frac(v) * 10**n
    t = int(q)  # int() truncates toward zero
    return Fraction(t, 10**n)


def round_half_up(v, n: int) -> Fraction:
    """``v`` rounded to ``n`` decimals, halves away from zero: 5/9 → 0.56, 0.125 → 0.13."""
    q = _frac(v) * 10**n
    t = int(abs(q) + Fraction(1, 2))
    return Fraction(t if q >= 0 else -t, 10**n)


def fixed(x: Fraction, n: int) -> str:
    """A Fraction with a terminating decimal written with exactly ``n`` decimals."""
    neg = x < 0
    units = abs(x.numerator * 10**n // x.denominator) if x.denominator != 1 else abs(x.numerator) * 10**n
    whole, frac = divmod(units, 10**n)
    s = str(whole) + (f".{frac:0{n}d}" if n else "")
    return ("-" + s) if neg and units else s


def short_decimal(v, most: int = 4) -> Optional[str]:
    """The exact decimal of ``v`` when it has at most ``most`` decimals: 1/2 → 0.5, 1/3 → None."""
    if isinstance(v, float):
        return None
    x = Fraction(v)
    for n in range(most + 1):
        if (x * 10**n).denominator == 1:
            return fixed(x, n)
    return None


def exact_text(v) -> str:
    """A value exactly, the way a student writes it: 3, −1, 5/9, 0.5; floats to 6 digits."""
    if isinstance(v, float):
        return f"{v:.6g}".replace("-", "−")
    if isinstance(v, int):
        return str(v).replace("-", "−")
    short = short_decimal(v)
    return (short if short is not None else f"{v.numerator}/{v.denominator}").replace("-", "−")


def result_text(v, display: Display) -> str:
    """``5/9 ≈ 0.56`` (or ``≈ 0.55`` when truncating); ``3`` when exact."""
    text = exact_text(v)
    if display.approximate(v) or isinstance(v, float) or not isinstance(v, int) and short_decimal(v) is None:
        shown = display.text(v) if (display.digits or display.truncate is not None) else \
            fixed(round_half_up(v, Display.DEFAULT_DIGITS), Display.DEFAULT_DIGITS)
        return f"{text} ≈ {shown.replace('-', '−')}"
    return text


# ---------------------------------------------------------------------------------------------
# grids


def channels(lv) -> list:
    """The H×W grids of a spatial tensor, one per channel; a vector is one row."""
    if len(lv.shape) == 2:  # tokens L×C: one grid, a token a row
        n, c = lv.shape
        return [[list(lv.data[i * c:(i + 1) * c]) for i in range(n)]]
    if len(lv.shape) != 3:
        return [[list(lv.data)]]
    h, w, c = lv.shape
    return [[[lv.data[(r * w + q) * c + ch] for q in range(w)] for r in range(h)] for ch in range(c)]


def grid_lines(grid: list, display: Display, indent: str = "  ") -> list:
    cells = [[display.text(v) for v in row] for row in grid]
    width = max(len(t) for row in cells for t in row)
    return [indent + " ".join(t.rjust(width) for t in row) for row in cells]


def heading(lv) -> str:
    from ..render.common import describe, shape_text

    what = "input" if lv.result is None or lv.type == "input" else describe(lv.result)
    return f"{lv.name}  {what}  → {shape_text(lv.shape)}"


def render_grids(values: list, display: Display) -> str:
    lines = []
    approx = False
    for lv in values:
        lines.append(heading(lv))
        grids = channels(lv)
        for ch, g in enumerate(grids):
            if len(lv.shape) == 3 and len(grids) > 1:
                lines.append(f"  channel {ch}")
            lines.extend(grid_lines(g, display, "    " if len(grids) > 1 else "  "))
        approx = approx or any(display.approximate(v) for v in lv.data)
        lines.append("")
    if approx:
        lines.append(f"({display.note}; --format json or --explain for exact values)")
    else:
        lines.pop()
    return "\n".join(lines) + "\n"


def to_json_number(v):
    if isinstance(v, int):
        return v
    if not isinstance(v, float) and v.denominator == 1:
        return v.numerator
    return float(v)


def nested(lv) -> list:
    """Values nested in the output shape's order (H, W, C) or a flat list for a vector."""
    data = [to_json_number(v) for v in lv.data]
    if len(lv.shape) == 2:
        c = lv.shape[1]
        return [data[i * c:(i + 1) * c] for i in range(lv.shape[0])]
    if len(lv.shape) != 3:
        return data
    h, w, c = lv.shape
    return [[data[(r * w + q) * c:(r * w + q + 1) * c] for q in range(w)] for r in range(h)]


def render_json(name: str, values: list) -> str:
    doc = {"name": name, "layers": [{"name": lv.name, "type": lv.type, "output_shape": list(lv.shape),
                                     "values": nested(lv)} for lv in values]}
    return json.dumps(doc, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------
# cells: the worked arithmetic of one output value


def _term(v) -> str:
    t = exact_text(v)
    return f"({t})" if t.startswith("−") or "/" in t else t


def _sum_text(parts: list) -> str:
    """``a + b − c``: a sum of already-written numbers, minus signs pulled out."""
    out = ""
    for i, t in enumerate(parts):
        if i == 0:
            out = t
        elif t.startswith("−"):
            out += " − " + t[1:]
        else:
            out += " + " + t
    return out


MAX_TERMS = 27  # a dot product longer than this is written with "…" in the middle


def _elide(parts: list) -> list:
    if len(parts) <= MAX_TERMS:
        return parts
    return parts[:12] + ["…"] + parts[-3:]


def _index_text(idx) -> str:
    return "[" + ",".join(map(str, idx)) + "]"


def cell_work(lv, by_name: dict, idx: tuple, display: Display) -> str:
    """``conv1[0,0,1] = 1·(−1) + 0·1 + … = −1`` and, for pools, the window that won."""
    r = lv.result
    v = lv.data[_flat_index(lv.shape, idx)]
    head = f"{lv.name}{_index_text(idx)}"
    p = r.spec.params if r is not None and r.spec is not None else {}
    ins = [by_name[n] for n in r.inputs] if r is not None else []
    t = lv.type
    if t == "conv" and p.get("weights") is not None:
        return head + " = " + _conv_work(p, ins[0], idx, v, display)
    if t == "depthwise" and p.get("weights") is not None:  # the conv with groups = C_in it is
        return head + " = " + _conv_work(dict(p, groups=ins[0].shape[2], reduce="sum"), ins[0], idx, v, display)
    if t == "dense" and p.get("weights") is not None:
        return head + " = " + _dense_work(p, ins[0], idx, v, display)
    if t in ("maxpool", "avgpool"):
        return head + " = " + _pool_work(t, p, ins[0], lv.shape, idx, v, display)
    if t in ("global_maxpool", "global_avgpool"):
        src = ins[0]
        h, w, c = src.shape
        vals = [src.data[(a * w + b) * c + idx[0]] for a in range(h) for b in range(w)]
        if t == "global_maxpool":
            return head + f" = max over channel {idx[0]} of {src.name} ({h}×{w} values) = {result_text(v, display)}"
        return head + f" = ({_sum_text(_elide([exact_text(x) for x in vals]))})/{h * w} = {result_text(v, display)}"
    if t in ("layernorm", "groupnorm", "instancenorm", "batchnorm"):
        return head + " = " + _norm_work(t, p, ins[0], idx, v, display)
    if t == "relu":
        x = ins[0].data[_flat_index(lv.shape, idx)]
        return head + f" = max(0, {exact_text(x)}) = {result_text(v, display)}"
    if t == "input":
        return head + f" = {result_text(v, display)} (given)"
    return head + f" = {result_text(v, display)}  ({t})"


def _flat_index(shape, idx) -> int:
    k = 0
    for i, n in zip(idx, shape):
        k = k * n + i
    return k


def _fused(p, text: str, v, display) -> str:
    act = p.get("activation")
    return f"{act}({text}) = {result_text(v, display)}" if act else f"{text} = {result_text(v, display)}"


def _conv_work(p, src, idx, v, display) -> str:
    from ..layers.base import flat

    h, w, c = src.shape
    oy, ox, k = idx
    fh, fw = p["kernel"]
    (sh, sw), (dh, dw), g = p["stride"], p["dilation"], p["groups"]
    cg = c // g
    kg = (len(p["weights"])) // g
    gi = k // kg
    t, _b, left, _r = _axis_pads(p["padding"], h, w, p["kernel"], p["stride"], p["dilation"])
    wts = flat(p["weights"][k])
    parts, products = [], []
    n = 0
    for i in range(fh):
        for j in range(fw):
            for ci in range(cg):
                r, q = oy * sh + i * dh - t, ox * sw + j * dw - left
                x = src.data[(r * w + q) * c + gi * cg + ci] if 0 <= r < h and 0 <= q < w else 0
                wt = wts[n]
                n += 1
                parts.append(f"{_term(x)}·{_term(wt)}")
                products.append(exact_text(x * wt))
    bias = p["biases"][k] if p.get("bias") and p.get("biases") is not None else None
    if p.get("reduce") == "mean":
        text = f"({_sum_text(_elide(products))})/{n}"
    else:
        text = _sum_text(_elide(parts))
    if bias is not None:
        text = _sum_text([text, exact_text(bias)])
    return _fused(p, text, v, display)


def _dense_work(p, src, idx, v, display) -> str:
    from ..layers.base import flat

    i = idx[-1]  # the unit; on H×W×C or tokens, the position is idx[:-1]
    row = flat(p["weights"][i])
    n_in = src.shape[-1]
    pos = _flat_index(src.shape[:-1], idx[:-1]) if len(idx) > 1 else 0
    parts = [f"{_term(wt)}·{_term(x)}" for wt, x in zip(row, src.data[pos * n_in:(pos + 1) * n_in])]
    text = _sum_text(_elide(parts))
    if p.get("bias") and p.get("biases") is not None:
        text = _sum_text([text, exact_text(p["biases"][i])])
    return _fused(p, text, v, display)


def _norm_work(t, p, src, idx, v, display) -> str:
    """``(3 − 2)/√(1 + 0.00001)·2 + 1/2 = …`` with where the mean and the variance come from."""
    from ..layers.base import flat
    from ..layers.numeric import eps_exact, mean_var

    shape, data = src.shape, src.data
    c = shape[-1]
    k = _flat_index(shape, idx)
    x, ch = data[k], idx[-1]
    if t == "batchnorm":
        m, var = flat(p["mean"])[ch], flat(p["variance"])[ch]
        where = f"running statistics of channel {ch}"
    else:
        if t == "layernorm":
            group = list(range(k - ch, k - ch + c))
            where = "over the " + (f"{c} values at this position" if len(shape) > 1 else f"{c} values")
        elif t == "instancenorm":
            group = list(range(ch, len(data), c))
            where = f"over the {len(group)} values of channel {ch}"
        else:
            per = c // p["groups"]
            g = ch // per
            group = [i for i in range(len(data)) if (i % c) // per == g]
            where = f"over the {len(group)} values of group {g} (channels {g * per}–{g * per + per - 1})"
        m, var = mean_var([data[i] for i in group])
    eps = p["eps"] if isinstance(p["eps"], float) and eps_exact(p["eps"]).denominator > 10**4 else eps_exact(p["eps"])
    text = f"({exact_text(x)} − {_term(m)})/√({exact_text(var)} + {exact_text(eps)})"  # ε as written: 1e-05
    weights = p.get("weights") if t != "batchnorm" or p["affine"] and p["scale"] else None
    biases = p.get("biases") if t != "batchnorm" or p["affine"] and p["center"] else None
    if weights is not None:
        text += f"·{_term(flat(weights)[ch])}"
    if biases is not None:
        text = _sum_text([text, exact_text(flat(biases)[ch])])
    return f"{text} = {result_text(v, display)}  (mean {exact_text(m)}, variance {exact_text(var)}, {where})"


def _pool_work(t, p, src, out_shape, idx, v, display) -> str:
    h, w, c = src.shape
    oy, ox, ch = idx
    dil = p.get("dilation", (1, 1))
    top, _b, left, _r = _axis_pads(p["padding"], h, w, p["kernel"], p["stride"], dil)
    if t == "maxpool":
        rows = _windows(h, out_shape[0], p["kernel"][0], p["stride"][0], dil[0], top)[oy]
        cols = _windows(w, out_shape[1], p["kernel"][1], p["stride"][1], dil[1], left)[ox]
        cells = [(a, b, src.data[(a * w + b) * c + ch]) for a in rows for b in cols]
        best = next((a, b) for a, b, x in cells if x == v)
        return (f"max({', '.join(exact_text(x) for _, _, x in cells)}) = {result_text(v, display)}"
                f"  (window rows {rows[0]}–{rows[-1]}, columns {cols[0]}–{cols[-1]} of {src.name}; "
                f"the maximum at {src.name}[{best[0]},{best[1]},{ch}])")
    (kh, kw), (sh, sw) = p["kernel"], p["stride"]
    t0, _b2, l0, _r2 = _axis_pads(p["padding"], h, w, p["kernel"], p["stride"], (1, 1))
    h0, w0 = oy * sh - t0, ox * sw - l0
    h1, w1 = min(h0 + kh, h + _b2), min(w0 + kw, w + _r2)
    size = (h1 - h0) * (w1 - w0)
    r0, r1, q0, q1 = max(h0, 0), min(h1, h), max(w0, 0), min(w1, w)
    div = size if p["count_include_pad"] else (r1 - r0) * (q1 - q0)
    vals = [exact_text(src.data[(a * w + b) * c + ch]) for a in range(r0, r1) for b in range(q0, q1)]
    return f"({_sum_text(vals)})/{div} = {result_text(v, display)}"


def parse_cell(text: str, values: list) -> tuple:
    """``conv1[0,0,1]`` → (LayerValues, index); a one-line error naming what is wrong."""
    import re

    m = re.fullmatch(r"\s*([^\[\]\s]+)\s*\[\s*([0-9]+(?:\s*,\s*[0-9]+)*)\s*\]\s*", text)
    if not m:
        raise SpecError("--cell is a layer and an index, like conv1[0,0,1] (row, column, channel)",
                        received=repr(text))
    name = m.group(1)
    idx = tuple(int(x) for x in m.group(2).split(","))
    by = {lv.name: lv for lv in values}
    if name not in by:
        from ..core.errors import did_you_mean

        raise SpecError(f"--cell: the network has no layer '{name}'" + did_you_mean(name, by), received=text)
    lv = by[name]
    if len(idx) != len(lv.shape) or any(i >= n for i, n in zip(idx, lv.shape)):
        from ..render.common import shape_text

        raise SpecError(f"--cell: {name} is {shape_text(lv.shape)}; an index is "
                        + ("[row, column, channel]" if len(lv.shape) == 3 else "[token, feature]"
                           if len(lv.shape) == 2 else "[i]")
                        + " counted from 0 within it", received=text)
    return lv, idx


def explain_text(values: list, display: Display, cell: Optional[str] = None) -> str:
    by_name = {lv.name: lv for lv in values}
    by_name.update((part.name, part) for lv in values for part in lv.parts)  # a split's NAME.i
    if cell is not None:
        lv, idx = parse_cell(cell, values)
        return cell_work(lv, by_name, idx, display) + "\n"
    lines = []
    for lv in values[1:]:
        lines.append(heading(lv))
        if len(lv.shape) == 3:
            h, w, c = lv.shape
            order = [(r, q, ch) for ch in range(c) for r in range(h) for q in range(w)]
        elif len(lv.shape) == 2:
            order = [(i, j) for i in range(lv.shape[0]) for j in range(lv.shape[1])]
        else:
            order = [(i,) for i in range(lv.shape[0])]
        for idx in order:
            lines.append("  " + cell_work(lv, by_name, idx, display))
        lines.append("")
    return "\n".join(lines)
