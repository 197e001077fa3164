"""The forward walk of ``cnncalc values``: every layer's output from the spec's input values."""

from __future__ import annotations

from dataclasses import dataclass

from ..core import formulas as fm
from .. import layers as registry
from ..core.errors import LimitError, SpecError
from ..layers.base import NoForward
from ..core.limits import MAX_VALUE_ELEMENTS, MAX_VALUE_MACS, raise_hint


@dataclass(frozen=True)
class LayerValues:
    name: str
    type: str
    shape: tuple  # (H, W, C) or (N,)
    data: list  # flat, H, W, C row-major: ints, Fractions, floats
    result: object = None  # the LayerResult of the shape analysis (None for the input)
    parts: tuple = ()  # a split's named outputs NAME.0, NAME.1, … (LayerValues each)


def run(report) -> list:
    """[LayerValues] for the input and every layer, in the report's order. Refuses a spec without
    ``values:`` and work beyond the documented limits, before doing it."""
    graph = report.graph
    vals = graph.meta.get("values") if graph is not None else None
    locs = graph.meta.get("_locs", {}) if graph is not None else {}
    if not vals:
        first = graph.layers[0].loc if graph is not None else None
        raise SpecError("the spec has no 'values:' — give the input's numbers as values: {input: nested lists}",
                        loc=first)
    work = sum(r.macs for r in report.layers) + sum(fm.elements(r.output_shape) for r in report.layers)
    if work > MAX_VALUE_MACS:
        raise LimitError(f"values: this network needs {work:,} multiply-accumulates, over the {MAX_VALUE_MACS:,} "
                         f"limit of cnncalc values (MAX_VALUE_MACS; {raise_hint('CNNCALC_MAX_VALUE_MACS')}): "
                         "it is a calculator, not a framework", loc=locs.get("values"))
    for r in report.layers:
        n = fm.elements(r.output_shape)
        if n > MAX_VALUE_ELEMENTS:
            raise LimitError(f"values: the output has {n:,} numbers, over the {MAX_VALUE_ELEMENTS:,} limit "
                             f"(MAX_VALUE_ELEMENTS; {raise_hint('CNNCALC_MAX_VALUE_ELEMENTS')})",
                             loc=r.spec.loc if r.spec else None, layer=r.name)
    first = report.layers[0]
    out = [LayerValues(first.name, "input", tuple(first.output_shape), list(vals["input"]), first)]
    by_name = {first.name: out[0]}
    for r in report.layers[1:]:
        spec = r.spec
        layer = registry.REGISTRY[r.type]
        ins = [(by_name[n].shape, by_name[n].data) for n in r.inputs]
        try:
            data = layer.forward(spec.params, ins, tuple(r.output_shape))
        except NoForward as e:
            loc = spec.param_locs.get(e.param, spec.loc) if e.param else spec.loc
            raise SpecError(e.message, loc=loc, layer=r.name, chain=spec.chain) from None
        parts = tuple(LayerValues(f"{r.name}.{i}", r.type, tuple(shape), part, r)  # a split's outputs
                      for i, (shape, part) in enumerate(zip(r.parts, layer.forward_parts(spec.params, ins, r.parts)
                                                            if r.parts else ())))
        lv = LayerValues(r.name, r.type, tuple(r.output_shape), data, r, parts)
        by_name[r.name] = lv
        by_name.update((part.name, part) for part in parts)
        out.append(lv)
    return out
