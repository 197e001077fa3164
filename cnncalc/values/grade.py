"""Matrix answers on answer sheets: a layer's output (all channels, or one) graded cell by cell.

On a sheet::

    rounding: truncate            # optional, sheet or question: round (default) or truncate
    questions:
      - network: {…, values: {input: …}, layers: […]}
        answers:
          layers:
            conv1: {values: [[[3, -1], …], …]}   # every channel: C matrices of H×W (one when C = 1)
            pool: {"values[2]": [[0.33, 0.55], …]}  # one channel (from 0)

A cell written ``0.77`` is right when the true value rounds to it at the precision written (the
rule of the rest of ``grade``), or, under ``rounding: truncate``, when the true value cut to
that many decimals is 0.77 (7/9 is right either way under truncate, −1/9 written 0.11 is not).
A whole number or a fraction (``7/9``) must be exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

from ..verify.answers import AnswerError, parse_number
from ..layers.base import show

ROUNDING = ("round", "truncate")
VALUES_FIGURE = re.compile(r"^values(?:\[(\d+)\])?$")


@dataclass(frozen=True)
class Cell:
    index: tuple  # the layer output's index: (row, column, channel) or (i,)
    given: str
    correct: object  # the exact value (int or Fraction or float)
    ok: bool
    work: Optional[str] = None  # the cell's dot product, when wrong


def is_values_figure(name) -> bool:
    return isinstance(name, str) and VALUES_FIGURE.match(name) is not None


def _cell_number(raw) -> tuple:
    """A written cell → (value, decimals or None for exact)."""
    if isinstance(raw, bool) or raw is None or isinstance(raw, (list, dict)):
        raise AnswerError("a matrix cell is a number like 3, -0.11 or 7/9", received=show(raw))
    if isinstance(raw, int):
        return Fraction(raw), None
    text = repr(raw) if isinstance(raw, float) else str(raw).strip()
    sign = 1
    if text[:1] in ("-", "−", "+"):
        sign = -1 if text[0] != "+" else 1
        text = text[1:].strip()
    if re.fullmatch(r"[0-9]+\s*/\s*[0-9]+", text):
        a, b = (int(x) for x in text.split("/"))
        if b == 0:
            raise AnswerError("a fraction with denominator 0", received=show(raw))
        return sign * Fraction(a, b), None
    try:
        num = parse_number(text)
    except AnswerError as e:
        raise AnswerError("a matrix cell is a number like 3, -0.11 or 7/9", received=e.received) from None
    if num.precision is None:
        return sign * num.value, None
    decimals = 0
    p = num.precision
    while p < 1:
        p *= 10
        decimals += 1
    if p != 1:
        raise AnswerError("a matrix cell is a plain decimal like 0.77 (no units)", received=show(raw))
    return sign * num.value, decimals


def cell_right(true, value: Fraction, decimals: Optional[int], rounding: str) -> bool:
    from .show import cut

    t = Fraction(repr(true)) if isinstance(true, float) else Fraction(true)
    if decimals is None:
        return t == value
    if rounding == "truncate":
        return cut(t, decimals) == value
    return abs(t - value) * 2 <= Fraction(1, 10**decimals)


def _grids(raw, loc) -> list:
    """Nested lists → (rows of written cells) with their sizes checked later."""
    if not isinstance(raw, list) or not raw:
        raise AnswerError("a matrix answer is a list of rows (or of matrices, one per channel)", loc=loc,
                          received=show(raw))
    return raw


def grade_matrix(values_run, report, layer: str, figure: str, raw, loc, rounding: str):
    """One Answer for a matrix, with a Cell per value."""
    from ..verify.grade import Answer
    from .show import Display, cell_work, channels

    by_name = {lv.name: lv for lv in values_run}
    lv = by_name[layer]
    m = VALUES_FIGURE.match(figure)
    chosen = None if m.group(1) is None else int(m.group(1))
    shape = lv.shape
    grids = channels(lv)
    raw = _grids(raw, loc)
    if len(shape) == 2:  # tokens L×C: one matrix, a token a row
        if chosen is not None:
            raise AnswerError(f"{layer} is a token sequence of {shape[0]}×{shape[1]}: write 'values', not "
                              f"'{figure}'", loc=loc)
        expected, given_grids, chans = grids, [raw], [0]
    elif len(shape) != 3:
        if chosen is not None:
            raise AnswerError(f"{layer} is a vector of {shape[0]}: write 'values', not '{figure}'", loc=loc)
        flat_raw = raw[0] if len(raw) == 1 and isinstance(raw[0], list) else raw
        expected = [[list(lv.data)]]
        given_grids = [[flat_raw]]
        chans = [0]
    elif chosen is not None:
        if chosen >= shape[2]:
            raise AnswerError(f"{layer} has {shape[2]} channels (0 to {shape[2] - 1})", loc=loc,
                              received=figure)
        expected = [grids[chosen]]
        given_grids = [raw]
        chans = [chosen]
    elif shape[2] == 1 and not (len(raw) == 1 and isinstance(raw[0], list) and raw[0]
                                and isinstance(raw[0][0], list)):
        expected, given_grids, chans = grids, [raw], [0]
    else:
        expected, given_grids, chans = grids, raw, list(range(shape[2]))
    h, w = (shape[0], shape[1]) if len(shape) in (2, 3) else (1, shape[0])
    if len(given_grids) != len(expected) or any(
            not isinstance(g, list) or len(g) != h or any(not isinstance(r, list) or len(r) != w for r in g)
            for g in given_grids):
        want = (f"{len(expected)} matri{'ces' if len(expected) > 1 else 'x'} of {h}×{w}" if len(shape) in (2, 3)
                else f"a list of {shape[0]} numbers")
        raise AnswerError(f"{layer}.{figure} must be {want} (the layer's output is "
                          f"{'×'.join(map(str, shape))})", loc=loc)
    display = None
    cells = []
    for ch, exp, giv in zip(chans, expected, given_grids):
        for r in range(h):
            for q in range(w):
                try:
                    value, decimals = _cell_number(giv[r][q])
                except AnswerError as e:
                    raise e.located(loc, f"{layer}.{figure}") from None
                true = exp[r][q]
                ok = cell_right(true, value, decimals, rounding)
                idx = (r, q, ch) if len(shape) == 3 else (r, q) if len(shape) == 2 else (q,)
                work = None
                if not ok:
                    n = decimals if decimals is not None else 2
                    display = Display(truncate=n) if rounding == "truncate" else Display(digits=n)
                    work = cell_work(lv, by_name, idx, display)
                text = giv[r][q]
                cells.append(Cell(idx, text if isinstance(text, str) else repr(text) if isinstance(text, float)
                                  else str(text), true, ok, work))
    given = (f"{len(chans)}×{h}×{w} matrix" if len(shape) == 3 else f"{h}×{w} matrix" if len(shape) == 2
             else f"{shape[0]} values")
    correct = ([[[_json(v) for v in row] for row in g] for g in expected] if len(shape) == 3 else
               [[_json(v) for v in row] for row in expected[0]] if len(shape) == 2 else
               [_json(v) for v in expected[0][0]])
    return Answer(figure, layer, given, correct, all(c.ok for c in cells), None, None, loc, tuple(cells))


def _json(v):
    if isinstance(v, int):
        return v
    if isinstance(v, Fraction) and v.denominator == 1:
        return v.numerator
    return float(v)


def cell_lines(a) -> list:
    """Text lines for a graded matrix: a grid of ✓/✗ for every channel with a wrong cell, then every
    ✗ with the true value and its dot product (an all-right matrix is one line above)."""
    from .show import exact_text

    lines = []
    by_ch: dict = {}
    for c in a.cells:
        by_ch.setdefault(c.index[2] if len(c.index) == 3 else 0, []).append(c)
    for ch, cells in by_ch.items():
        if all(c.ok for c in cells):
            continue
        if len(cells[0].index) == 3:
            lines.append(f"      channel {ch}:")
            w = max(c.index[1] for c in cells) + 1
            for i in range(0, len(cells), w):
                lines.append("        " + " ".join("✓" if c.ok else "✗" for c in cells[i:i + w]))
        else:
            lines.append("        " + " ".join("✓" if c.ok else "✗" for c in cells))
    for c in a.cells:
        if not c.ok:
            where = "[" + ",".join(map(str, c.index)) + "]"
            lines.append(f"      ✗ {where} given {c.given}, true {exact_text(c.correct)}: {c.work}")
    return lines


def cells_dict(a) -> list:
    return [{"index": list(c.index), "given": c.given, "correct": _json(c.correct), "ok": c.ok}
            for c in a.cells]
