"""The terminal table (rich): one row per layer, the totals, warnings and the conventions."""

from __future__ import annotations

import io

from ..model import Report
from .common import conventions_line, describe, exact, human, human_bytes, number, shape_text


def _rf(r) -> str:
    a, b = r.receptive_field
    return str(a) if a == b else f"{a}×{b}"


def build(report: Report, exact_numbers: bool = False, all_warnings: bool = True):
    """The rich renderables for a report (a table, then text lines); ``all_warnings=False``
    sums the warnings up in one line (the command line's default, render/warnings.py)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{report.name}", box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False,
                  show_footer=True, footer_style="bold")
    t = report.totals
    rows = [(r.name, describe(r), shape_text(r.output_shape), number(r.params, exact_numbers),
             number(r.macs, exact_numbers), number(r.activations, exact_numbers), _rf(r), r.warnings)
            for r in report.layers]
    totals = ("total", "", "", number(t.params, exact_numbers), number(t.macs, exact_numbers),
              number(t.activations, exact_numbers), "")

    def widest(i):  # numbers are never squeezed or cut: names fold instead
        return max(len(totals[i]), *(len(row[i]) for row in rows))

    table.add_column("layer", "total", overflow="fold", max_width=28)
    table.add_column("type", overflow="fold", max_width=24)
    table.add_column("output", no_wrap=True, min_width=widest(2))
    for i, head in ((3, "params"), (4, "MACs"), (5, "activations")):
        table.add_column(head, totals[i], justify="right", no_wrap=True, min_width=max(widest(i), len(head)))
    table.add_column("RF", justify="right", no_wrap=True, min_width=max(widest(6), 2))
    for *cells, warnings in rows:
        table.add_row(*cells, style="yellow" if warnings else None)

    lines = [
        f"params       {exact(t.params)}  (weights {exact(t.weights)} + biases {exact(t.biases)})"
        + (f"   non-trainable {exact(t.non_trainable_params)}" if t.non_trainable_params else ""),
        f"MACs         {exact(t.macs)}  ({human(t.macs)})   FLOPs {exact(t.flops)}",
        f"activations  {exact(t.activations)}  → {human_bytes(t.activation_bytes)} forward, "
        f"{human_bytes(t.activation_bytes_fwd_bwd)} with activation gradients",
        f"param memory {human_bytes(t.param_bytes)}   output {shape_text(report.output_shape)}",
    ]
    m = t.training
    if m is not None:
        lines.append(
            f"training     {human_bytes(m.total)} with {m.optimizer} = params {human_bytes(m.param_bytes)} + gradients "
            f"{human_bytes(m.gradient_bytes)}\n             + optimizer state {human_bytes(m.optimizer_state_bytes)} "
            f"+ stored activations {human_bytes(m.activation_bytes)}")
    out = [table, Text("\n".join(lines))]
    from .warnings import warning_lines

    warns = warning_lines(report, all_warnings)
    if warns:
        out.append(Text("\n".join(warns), style="yellow"))
    out.append(Text(conventions_line(report), style="dim"))
    return out


def print_table(report: Report, console, exact_numbers: bool = False, all_warnings: bool = True) -> None:
    for item in build(report, exact_numbers, all_warnings):
        console.print(item)


def render_table_text(report: Report, exact_numbers: bool = False, width: int = 100) -> str:
    """Plain text (no colour), as printed to a file or pipe; used by golden tests."""
    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, force_terminal=False, legacy_windows=False)
    print_table(report, console, exact_numbers)
    return buf.getvalue()
