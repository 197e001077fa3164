"""A Markdown table to paste into docs, with the totals and conventions under it."""

from __future__ import annotations

from ..core.model import Report
from .common import (RF_NOTE, conventions_line, describe, elementwise_text, exact, human_bytes, number, rf_text,
                     shape_text)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def render_markdown(report: Report, exact_numbers: bool = False) -> str:
    rows = ["| layer | type | output | params | MACs | element-wise | activations | RF |",
            "|---|---|---|--:|--:|---|--:|--:|"]

    def kinds(ew) -> str:  # the layer's element-wise operations by kind (README: Counting conventions)
        return " · ".join(f"{k} {number(v, exact_numbers)}" for k, v in ew.items() if v)

    for r in report.layers:
        rows.append("| " + " | ".join(_cell(x) for x in (
            r.name, describe(r), shape_text(r.output_shape), number(r.params, exact_numbers),
            number(r.macs, exact_numbers), kinds(r.elementwise), number(r.activations, exact_numbers),
            rf_text(r).replace("*", "\\*"))) + " |")
    t = report.totals
    rows.append(f"| **total** | | | **{number(t.params, exact_numbers)}** | **{number(t.macs, exact_numbers)}** "
                f"| {kinds(t.elementwise)} | **{number(t.activations, exact_numbers)}** | |")
    lines = [f"### {_cell(report.name)}", "", *rows, "",
             f"Params {exact(t.params)}, non-trainable {exact(t.non_trainable_params)}; MACs {exact(t.macs)}; "
             f"FLOPs {exact(t.flops)}; activations {exact(t.activations)} "
             f"({human_bytes(t.activation_bytes)} forward, "
             f"{human_bytes(t.activation_bytes_fwd_bwd)} with activation gradients); "
             f"parameter memory {human_bytes(t.param_bytes)}; depth {t.depth} weight "
             f"layer{'s' if t.depth != 1 else ''}.", "",
             f"Element-wise operations: {elementwise_text(report, '; ')}.", "",
             *([_cell(RF_NOTE.replace(chr(10), " ")).replace("*", "\\*"), ""]
               if any(r.covers_input for r in report.layers) else []),
             f"_{conventions_line(report)}_", ""]
    return "\n".join(lines)
