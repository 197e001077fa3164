"""CSV: one row per layer, exact integers, shapes written 224x224x64."""

from __future__ import annotations

import csv
import io

from ..core.model import Report
from .common import shape_text

from ..core.elementwise import ORDER as KINDS

# the element-wise kinds (cnncalc/core/elementwise.py) follow the MACs and FLOPs
COLUMNS = ("name", "type", "inputs", "output_shape", "params", "weights", "biases", "non_trainable_params",
           "macs", "flops", *KINDS, "activations", "receptive_field", "jump", "covers_input", "depth",
           "warnings")


def render_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in report.layers:
        w.writerow((r.name, r.type, " ".join(r.inputs), shape_text(r.output_shape, "x"), r.params, r.weights,
                    r.biases, r.non_trainable_params, r.macs, r.flops, *[r.elementwise.get(k, 0) for k in KINDS],
                    r.activations,
                    shape_text(r.receptive_field, "x"), shape_text(r.jump, "x"), str(r.covers_input).lower(),
                    r.depth, " | ".join(map(str, r.warnings))))
    return buf.getvalue()
