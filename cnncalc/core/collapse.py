"""``--depth N``: one row per block instance below nesting depth N (like torchinfo's depth).

Depth counts the dotted components of names: ``--depth 1`` collapses every top-level block
instance (``layer3``) into one row, ``--depth 2`` shows its repetitions (``layer3.4``) as rows,
and so on; a depth at least as deep as the names shows every layer. Layers outside blocks
are never collapsed. Totals are unchanged: a collapsed row's
figures are the sums of its layers; its output shape and receptive field are its last layer's.
"""

from __future__ import annotations

from dataclasses import replace

from .elementwise import ORDER as KINDS
from .model import LayerResult, Report


def group_of(r: LayerResult, depth: int):
    """The row a layer collapses into at ``depth`` (the first ``depth`` dotted components of
    its block-instance path), or None to keep it as it is."""
    spec = r.spec
    path = getattr(spec, "block", None) if spec is not None else None
    if not path:
        return None
    parts = path.split(".")
    if depth > len(parts):
        return None
    return ".".join(parts[:depth])


def collapse(report: Report, depth: int) -> Report:
    rows: list = []
    index: dict = {}
    for r in report.layers:
        g = group_of(r, depth)
        if g is None:
            rows.append(r)
            continue
        if g in index:
            i = index[g]
            a = rows[i]
            rows[i] = replace(a, output_shape=r.output_shape, weights=a.weights + r.weights,
                              biases=a.biases + r.biases,
                              non_trainable_params=a.non_trainable_params + r.non_trainable_params,
                              macs=a.macs + r.macs, flops=a.flops + r.flops,
                              elementwise={k: a.elementwise.get(k, 0) + r.elementwise.get(k, 0)
                                           for k in KINDS if k in a.elementwise or k in r.elementwise},
                              activations=a.activations + r.activations, params=a.params + r.params,
                              receptive_field=r.receptive_field, jump=r.jump, depth=max(a.depth, r.depth),
                              covers_input=r.covers_input,
                              warnings=a.warnings + tuple(w.replace(named=True) for w in r.warnings))
        else:
            block_type = r.spec.chain[-1][0] if r.spec is not None and r.spec.chain else "block"
            index[g] = len(rows)
            rows.append(replace(r, name=g, type=block_type, inputs=r.inputs,
                                warnings=tuple(w.replace(named=True) for w in r.warnings), spec=None))
    return replace(report, layers=tuple(rows))
