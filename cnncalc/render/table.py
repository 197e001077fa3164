"""The terminal table: one row per layer, the totals, a warnings line and the conventions.

Laid out here with precomputed column widths — no rich: rich's table cost about 1 ms a row
(most of the run for a big network) and its import about 60 ms of a cold start. Colours are
plain ANSI codes, written only on a terminal (see :func:`use_colour`).

Fitting a width (COLUMNS, the terminal's, or 200 when piped) never splits a name. When the
table is too wide, these steps are taken in order until it fits: the ``activations`` heading
becomes ``acts``; the gap between columns narrows from two spaces to one; then columns are
dropped: ``RF``, then ``type``, then ``activations``, ``MACs``, ``params`` and ``output``
(``layer`` always stays). The lines under the table are wrapped at spaces.
"""

from __future__ import annotations

import os
import sys

from ..core.model import Report
from .common import (RF_NOTE, conventions_line, describe, elementwise_text, exact, human, human_bytes, rf_text,
                     shape_text)

# styles of the lines written with colour on a terminal (ANSI SGR codes)
TITLE, HEADER, TOTAL, WARN, DIM = "3", "1", "1", "33", "2"
# (heading, narrow heading, right-aligned); "layer" is column 0
COLUMNS = (("layer", None, False), ("type", None, False), ("output", None, False), ("params", None, True),
           ("MACs", None, True), ("activations", "acts", True), ("RF", None, True))
# columns dropped, in this order, when the table does not fit even narrowed
DROP_ORDER = (6, 1, 5, 4, 3, 2)
PIPE_WIDTH = 200  # the width of a table written to a file or pipe when COLUMNS is not set


def cell_width(text: str) -> int:
    """Terminal cells taken by ``text``: wide (CJK) characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    from unicodedata import combining, east_asian_width

    return sum(0 if combining(ch) else 2 if east_asian_width(ch) in "WF" else 1 for ch in text)


def clean(text: str) -> str:
    """Control characters (tab, ESC, NEL, …) written as escapes, so that a name cannot move the cursor."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def wrap(text: str, width: int, indent: str = "") -> list:
    """``text`` in lines of at most ``width`` cells, broken only at spaces (a word longer than
    the width keeps a line of its own); continuation lines start with ``indent``."""
    if cell_width(text) <= width:
        return [text]
    out: list = []
    body = text.lstrip(" ")
    line = text[:len(text) - len(body)]  # a line's own indent is kept
    line_w = len(line)
    gap = ""
    for word in _words(body):
        if word.startswith(" "):
            gap = word
            continue
        w = cell_width(word)
        if line.strip() and line_w + len(gap) + w > width:
            out.append(line)
            line, line_w = indent + word, len(indent) + w
        else:
            sep = gap if line.strip() else ""
            line, line_w = line + sep + word, line_w + len(sep) + w
        gap = ""
    out.append(line)
    return out


def _words(text: str) -> list:
    """'a  b c' → ['a', '  ', 'b', ' ', 'c'] (runs of spaces kept, to keep a line's spacing)."""
    out, start, i, n = [], 0, 0, len(text)
    while i < n:
        j = i
        while j < n and text[j] == " ":
            j += 1
        if j > i:
            if i > start:
                out.append(text[start:i])
            out.append(text[i:j])
            start = i = j
        else:
            i = text.find(" ", i)
            if i < 0:
                i = n
    if start < n:
        out.append(text[start:])
    return out


def _rf(r) -> str:
    return rf_text(r)  # 7, or 7×5; marked * where every position's field covers the whole input


def _from(report: Report) -> list:
    """For each row, the names it reads from when that is not simply the row above (else None).
    In a collapsed report (--depth) an input inside a collapsed block is named by its row."""
    rows = report.layers
    names = {r.name for r in rows}
    out = []
    prev = None
    for r in rows:
        ins = r.inputs
        if ins and not (len(ins) == 1 and ins[0] == prev):
            shown = []
            for n in ins:
                while n not in names and "." in n:
                    n = n.rsplit(".", 1)[0]
                shown.append(n)
            out.append(None if shown == [prev] else shown)
        else:
            out.append(None)
        prev = r.name
    return out


def _fit(widths: list, cells: list, width: int, heads: list) -> tuple:
    """(columns kept, gap) so that the table fits ``width``, following the steps in the module doc."""
    keep = list(range(len(widths)))
    gap = 2

    def total():
        return 1 + sum(widths[i] for i in keep) + gap * (len(keep) - 1)

    if total() <= width:
        return keep, gap
    for i, (head, narrow, _) in enumerate(COLUMNS):
        if narrow is not None and widths[i] == len(head):
            heads[i] = narrow
            widths[i] = max(len(narrow), cells[i])
    if total() <= width:
        return keep, gap
    gap = 1
    for i in DROP_ORDER:
        if total() <= width:
            break
        keep.remove(i)
    return keep, gap


def table_lines(report: Report, exact_numbers: bool = False, width: int = 100,
                all_warnings: bool = True) -> list:
    """The table and the lines under it, as (text, style) pairs; style is an ANSI SGR code or None."""
    t = report.totals
    fmt = exact if exact_numbers else human
    layers = report.layers
    rows = [(clean(r.name), describe(r), shape_text(r.output_shape), fmt(r.params), fmt(r.macs),
             fmt(r.activations), _rf(r)) for r in layers]
    totals = ("total", "", "", fmt(t.params), fmt(t.macs), fmt(t.activations), "")
    heads = [c[0] for c in COLUMNS]
    ncols = len(heads)
    ascii_only = all(row[0].isascii() for row in rows)
    cells = [max(cell_width(row[0]) for row in rows)] if not ascii_only else [max(len(row[0]) for row in rows)]
    cells += [max(len(row[i]) for row in rows) for i in range(1, ncols)]
    cells = [max(c, len(f)) for c, f in zip(cells, totals)]
    widths = [max(c, len(h)) for c, h in zip(cells, heads)]
    keep, gap = _fit(widths, cells, width, heads)
    marks_left_out = False
    if 6 not in keep and any(r.covers_input for r in layers):
        # the RF column would go for want of the one cell its * mark takes: keep it, unmarked
        plain = [row[:6] + (row[6].rstrip("*"),) for row in rows]
        p_cells = cells[:6] + [max(max(len(row[6]) for row in plain), len(totals[6]))]
        p_widths, p_heads = widths[:6] + [max(p_cells[6], len(heads[6]))], list(heads)  # as narrowed
        p_keep, p_gap = _fit(p_widths, p_cells, width, p_heads)
        if 6 in p_keep:
            rows, cells, widths, heads, keep, gap = plain, p_cells, p_widths, p_heads, p_keep, p_gap
            marks_left_out = True
    sep = " " * gap
    right = [COLUMNS[i][2] for i in range(ncols)]

    def line(cells_):
        parts = []
        for i in keep:
            c = cells_[i]
            w = widths[i]
            if right[i]:
                parts.append(c.rjust(w))
            elif i == 0 and not ascii_only:
                parts.append(c + " " * (w - cell_width(c)))
            else:
                parts.append(c.ljust(w))
        return (" " + sep.join(parts)).rstrip()

    table_width = 1 + sum(widths[i] for i in keep) + gap * (len(keep) - 1)
    out = [(clean(report.name), TITLE), ("", None), (line(heads), HEADER), (" " + "─" * (table_width - 1), None)]
    sources = _from(report)
    for r, row, src in zip(layers, rows, sources):
        style = WARN if r.warnings else None
        out.append((line(row), style))
        if src is not None:
            for text in wrap("← " + ", ".join(clean(n) for n in src), width - 3, "  "):
                out.append(("   " + text, style))
    out += [("", None), (line(totals), TOTAL), ("", None)]

    lines = [
        (f"params       {exact(t.params)}  (weights {exact(t.weights)} + biases {exact(t.biases)})"
         if report.conventions.count_biases else
         f"params       {exact(t.params)}  (weights only; biases {exact(t.biases)} not counted)")
        + (f"   non-trainable {exact(t.non_trainable_params)}" if t.non_trainable_params else ""),
        f"MACs         {exact(t.macs)}  ({human(t.macs)})   FLOPs {exact(t.flops)}",
        f"element-wise {elementwise_text(report)}",
        f"activations  {exact(t.activations)}  → {human_bytes(t.activation_bytes)} forward, "
        f"{human_bytes(t.activation_bytes_fwd_bwd)} with activation gradients",
        f"param memory {human_bytes(t.param_bytes)}   output {shape_text(report.output_shape)}   "
        f"depth {t.depth} weight layer{'s' if t.depth != 1 else ''}",
    ]
    m = t.training
    if m is not None:
        lines.append(f"training     {human_bytes(m.total)} with {m.optimizer} = params {human_bytes(m.param_bytes)} "
                     f"+ gradients {human_bytes(m.gradient_bytes)}")
        lines.append(f"             + optimizer state {human_bytes(m.optimizer_state_bytes)} "
                     f"+ stored activations {human_bytes(m.activation_bytes)}")
    for text in lines:
        out += [(x, None) for x in wrap(text, width, " " * 13)]
    from .warnings import warning_lines

    out += [(x, WARN) for x in warning_lines(report, all_warnings, width)]
    if any(r.covers_input for r in report.layers):
        note = RF_NOTE.split("\n")
        if marks_left_out:
            note = ["RF: the * marks (every position's field spans the whole input) are left out at this "
                    "width; JSON has covers_input."]
        if max(len(x) for x in note) > width:
            note = wrap(" ".join(note), width)
        out += [(x, DIM) for x in note]
    conv = conventions_line(report).split("\n")
    if max(len(x) for x in conv) > width:
        conv = wrap(" ".join(conv), width)
    out += [(x, DIM) for x in conv]
    return out


def grid(heads: list, rows: list, right: list, gap: int = 2) -> list:
    """A simple table as lines: heading, rule, rows; columns as wide as their widest cell
    (measured in terminal cells), no trailing spaces. Used by ``compare``."""
    widths = [max(cell_width(c) for c in col) for col in zip(heads, *rows)]
    sep = " " * gap

    def line(cells):
        parts = []
        for c, w, r in zip(cells, widths, right):
            pad = " " * (w - cell_width(c))
            parts.append(pad + c if r else c + pad)
        return (" " + sep.join(parts)).rstrip()

    return [line(heads), " " + "─" * (sum(widths) + gap * (len(widths) - 1))] + [line(r) for r in rows]


def use_colour(stream) -> bool:
    """Colours on a terminal, as rich decides: NO_COLOR turns them off, FORCE_COLOR on; TERM=dumb off."""
    env = os.environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and env.get("TERM", "").lower() not in ("dumb", "unknown")


def output_width(stream) -> int:
    """COLUMNS when set; else the terminal's width; else (a file or pipe) PIPE_WIDTH."""
    cols = os.environ.get("COLUMNS", "")
    if cols.isascii() and cols.isdigit() and int(cols) > 0:
        return int(cols)
    try:
        if stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        pass
    return PIPE_WIDTH


def format_lines(lines: list, colour: bool) -> str:
    if not colour:
        return "".join(text + "\n" for text, _ in lines)
    return "".join((f"\x1b[{style}m{text}\x1b[0m\n" if style and text else text + "\n") for text, style in lines)


def print_table(report: Report, stream=None, exact_numbers: bool = False, all_warnings: bool = True) -> None:
    """Write the table to ``stream`` (stdout): at its width, in colour on a terminal."""
    stream = sys.stdout if stream is None else stream
    text = format_lines(table_lines(report, exact_numbers, output_width(stream), all_warnings), use_colour(stream))
    stream.write(text)


def render_table_text(report: Report, exact_numbers: bool = False, width: int = 100,
                      all_warnings: bool = True) -> str:
    """Plain text (no colour), as printed to a file or pipe; used by golden tests."""
    return format_lines(table_lines(report, exact_numbers, width, all_warnings), False)
