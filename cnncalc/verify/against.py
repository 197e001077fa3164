"""``cnncalc check SPEC --against MODEL``: a spec held to the model it describes, layer by layer.

The model (a model file cnncalc imports, ``torch:MODULE:FACTORY``, or another spec) is built
into a report with the same conventions as the spec; then the layers are paired:

1. by name — a layer of the same name on both sides;
2. by order among the weight-bearing layers (those with parameters) still unpaired — the
   spec's first unpaired conv/dense/batchnorm… with the model's first, and so on;
3. the other layers still unpaired (pools, adds, flattens…): by type and order between the
   same two paired layers on both sides.

Each pair is compared on four figures — output shape, params, non-trainable params, MACs — and
so are the whole networks' input, output shape and totals. A layer left unpaired is a
difference ("in the spec only" / "in the model only") unless it is neutral: no parameters, no
MACs, and the shape of its input (an activation, a dropout), which changes no figure and is
written fused into a conv by some formats and as its own layer by others; or unless layers on
both sides between the same two paired layers, none with parameters or MACs, end in the same
shape (a ``global_avgpool`` against ``adaptive_avgpool`` + ``flatten``).

Every difference is an :class:`Outcome` of kind ``"against"`` located at the spec's line of
the layer (a layer in the model only: the spec's line of the layer paired before it), so the
text, JSON and GitHub formats of ``cnncalc check`` show it like a failed expectation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..core.model import SourceLoc
from .check import Outcome, show_value

FIGURES = ("output_shape", "params", "non_trainable_params", "macs")
TOTALS = (("params", "params"), ("non_trainable_params", "non_trainable_params"), ("macs", "macs"))


@dataclass(frozen=True)
class Difference(Outcome):
    """One figure compared between the spec and the model (``written`` is the model's value,
    ``actual`` the spec's), or a layer present on one side only (figure ``"layer"``)."""

    model_layer: Optional[str] = None
    match: Optional[str] = None  # "name" | "order" | None (the network, or one side only)
    side: Optional[str] = None  # for a layer on one side only: "spec" | "model"

    @property
    def what(self) -> str:
        if self.layer is None and self.model_layer is None:
            return "input" if self.figure == "input" else f"network {self.figure}"
        name = self.layer if self.layer is not None else self.model_layer
        if self.match == "order" and self.model_layer != self.layer:
            name += f" (model layer {self.model_layer}, matched by order)"
        return name if self.figure == "layer" else f"{name} {self.figure}"

    @property
    def message(self) -> str:
        if self.figure == "layer":
            where = "the spec" if self.side == "spec" else "the model"
            other = "the model" if self.side == "spec" else "the spec"
            return f"{self.what} ({self.written}): in {where} only, not in {other}"
        spec, model = show_value(self.actual), show_value(self.written)
        if self.ok:
            return f"{self.what}: {spec} in the spec and the model"
        return f"{self.what}: the spec gives {spec}, the model {model}"


def _value(row, figure):
    if figure == "output_shape":
        return tuple(row.output_shape)
    return getattr(row, figure)


def _weighted(row) -> bool:
    return (row.weights + row.biases + row.non_trainable_params) > 0


def _neutral(row, shapes: dict) -> bool:
    """No parameters, no MACs, and its input's shape: changes no figure."""
    if _weighted(row) or row.macs or len(row.inputs) != 1:
        return False
    return shapes.get(row.inputs[0]) == tuple(row.output_shape)


def pair_layers(spec_rows, model_rows) -> list:
    """[(spec row or None, model row or None, how)] in the spec's order, model-only layers after
    the spec layer paired just before them; ``how`` is "name", "order" or None."""
    spec_shapes = {r.name: tuple(r.output_shape) for r in spec_rows}
    spec_rows = [r for r in spec_rows if r.type != "input"]
    model_rows = [r for r in model_rows if r.type != "input"]
    by_name = {r.name: r for r in model_rows}
    pair: dict = {}  # spec name → (model row, how)
    taken: set = set()
    for r in spec_rows:
        m = by_name.get(r.name)
        if m is not None:
            pair[r.name] = (m, "name")
            taken.add(m.name)

    # a layer that changes no figure (an activation) keeps a pair made by name only when it reads
    # the layer paired with what its namesake reads: a module called several times in forward
    # (torchvision's Bottleneck calls self.relu three times) gives names that do not say which call
    for r in spec_rows:
        if r.name in pair and _neutral(r, spec_shapes):
            m = pair[r.name][0]
            src = r.inputs[0]
            partner = pair[src][0].name if src in pair else ("input" if src == "input" else None)
            if partner is None or list(m.inputs) != [partner]:
                del pair[r.name]
                taken.discard(m.name)

    def unpaired(rows, used, test):
        return [r for r in rows if r.name not in used and test(r)]

    left_model = unpaired(model_rows, taken, _weighted)
    for r, m in zip(unpaired(spec_rows, pair, _weighted), left_model):
        pair[r.name] = (m, "order")
        taken.add(m.name)

    # the other layers: by type and order, between the same two paired layers on both sides
    model_pos = {m.name: j for j, m in enumerate(model_rows)}
    at = [model_pos[pair[r.name][0].name] if r.name in pair else None for r in spec_rows]
    before, after_ = [-1] * len(at), [len(model_rows)] * len(at)  # nearest paired model position each side
    for i in range(1, len(at)):
        before[i] = max(before[i - 1], -1 if at[i - 1] is None else at[i - 1])
    for i in range(len(at) - 2, -1, -1):
        after_[i] = min(after_[i + 1], len(model_rows) if at[i + 1] is None else at[i + 1])
    free: dict = {}  # type → positions of the model's unpaired layers, in order
    for j, m in enumerate(model_rows):
        if m.name not in taken:
            free.setdefault(m.type, []).append(j)
    cursor = dict.fromkeys(free, 0)  # ``before`` never decreases: each list is walked once
    for i, r in enumerate(spec_rows):
        if r.name in pair or r.type not in free:
            continue
        positions, k = free[r.type], cursor[r.type]
        while k < len(positions) and positions[k] <= before[i]:
            k += 1
        cursor[r.type] = k
        if k < len(positions) and positions[k] < after_[i]:
            m = model_rows[positions[k]]
            pair[r.name] = (m, "order")
            taken.add(m.name)
            cursor[r.type] = k + 1

    out: list = []
    after: dict = {}  # spec index → model-only rows placed after it
    last = -1
    spec_at_model: dict = {}
    for i, r in enumerate(spec_rows):
        if r.name in pair:
            spec_at_model[model_pos[pair[r.name][0].name]] = i
    for j, m in enumerate(model_rows):
        if j in spec_at_model:
            last = spec_at_model[j]
        elif m.name not in taken:
            after.setdefault(last, []).append(m)
    for m in after.get(-1, []):
        out.append((None, m, None))
    for i, r in enumerate(spec_rows):
        m, how = pair.get(r.name, (None, None))
        out.append((r, m, how))
        for m2 in after.get(i, []):
            out.append((None, m2, None))
    return out


def _figure_free(row) -> bool:
    return not _weighted(row) and not row.macs


def _same_gaps(pairs: list, spec_shapes: dict, model_shapes: dict) -> set:
    """Indexes of one-sided layers that are the same computation written two ways: between two
    paired layers, layers on both sides with no parameters and no MACs that end in the same
    shape (a global_avgpool in the spec, adaptive_avgpool + flatten in the model)."""
    same: set = set()
    k = 0
    while k < len(pairs):
        if pairs[k][0] is not None and pairs[k][1] is not None:
            k += 1
            continue
        end = k
        while end < len(pairs) and (pairs[end][0] is None or pairs[end][1] is None):
            end += 1
        run = range(k, end)
        spec_side = [pairs[i][0] for i in run if pairs[i][0] is not None and not _neutral(pairs[i][0], spec_shapes)]
        model_side = [pairs[i][1] for i in run if pairs[i][1] is not None and not _neutral(pairs[i][1], model_shapes)]
        if spec_side and model_side and all(_figure_free(x) for x in spec_side + model_side) and \
                tuple(spec_side[-1].output_shape) == tuple(model_side[-1].output_shape):
            same.update(run)
        k = end
    return same


def compare_reports(spec_report, model_report) -> list:
    """The outcomes (``Difference``s, holding or not) of a spec against its model."""
    graph = spec_report.graph
    source = graph.source if graph is not None else "<spec>"
    locs = graph.meta.get("_locs", {}) if graph is not None else {}
    top = locs.get("layers") or SourceLoc(source, 1, 1)
    in_loc = locs.get("input") or top
    out: list = []

    def diff(figure, layer, model_layer, spec_v, model_v, loc, match=None):
        out.append(Difference("against", figure, layer, model_v, spec_v, spec_v == model_v, loc,
                              model_layer=model_layer, match=match))

    diff("input", None, None, tuple(spec_report.input_shape), tuple(model_report.input_shape), in_loc)
    spec_shapes = {r.name: tuple(r.output_shape) for r in spec_report.layers}
    model_shapes = {r.name: tuple(r.output_shape) for r in model_report.layers}
    prev_loc = top
    pairs = pair_layers(spec_report.layers, model_report.layers)
    same = _same_gaps(pairs, spec_shapes, model_shapes)
    for k, (r, m, how) in enumerate(pairs):
        if k in same:
            continue
        loc = (r.spec.loc if r is not None and r.spec is not None and r.spec.loc is not None else prev_loc)
        if r is not None:
            prev_loc = loc
        if r is not None and m is not None:
            for fig in FIGURES:
                diff(fig, r.name, m.name, _value(r, fig), _value(m, fig), loc, how)
        elif r is not None:
            if not _neutral(r, spec_shapes):
                out.append(Difference("against", "layer", r.name, r.type, None, False, loc, side="spec"))
        elif not _neutral(m, model_shapes):
            out.append(Difference("against", "layer", None, m.type, None, False, loc, model_layer=m.name,
                                  side="model"))
    last = spec_report.layers[-1] if spec_report.layers else None
    if model_report.layers and last is not None:
        diff("output_shape", None, None, tuple(last.output_shape), tuple(model_report.layers[-1].output_shape), top)
    for fig, attr in TOTALS:
        diff(fig, None, None, getattr(spec_report.totals, attr), getattr(model_report.totals, attr), top)
    return out


def load_against(model: str, input_shape: tuple, display: Optional[str] = None, replace: bool = False):
    """The Graph of MODEL: a model file (read with its own input size, or ``input_shape`` when the
    file leaves it open or ``replace`` — ``check --input`` — is set), ``torch:MODULE:FACTORY``
    (built at ``input_shape``: the spec's, or ``check --input``), or a spec (its own input size,
    or ``input_shape`` with ``replace``)."""
    from pathlib import Path

    from ..core.errors import CnnCalcError, InputError
    from ..importers import NotAModel, load_model, model_format
    from ..load import load_spec, parse_spec

    from ..load import with_input

    size = "x".join(str(x) for x in input_shape)
    fmt = model_format(model)
    if fmt is None:
        return with_input(load_spec(model), size) if replace else load_spec(model)
    if fmt == "torch":
        return parse_spec(load_model(model, size), model)
    try:
        if not Path(model).exists():
            raise InputError(f"{model}: no such file")
        if Path(model).is_dir():
            raise InputError(f"{model}: is a directory, not a model file")
    except (OSError, ValueError):
        raise InputError(f"{model}: cannot read") from None
    try:
        try:
            text = load_model(model, size if replace else None)
        except CnnCalcError as err:
            if "--input" not in err.message:  # the file leaves its input size open: the spec's
                raise
            text = load_model(model, size)
    except NotAModel:  # a spec written in JSON
        return with_input(load_spec(model), size) if replace else load_spec(model)
    return parse_spec(text, model)


__all__ = ["compare_reports", "pair_layers", "load_against", "Difference", "FIGURES"]
