"""``analyze(graph, conventions) -> Report``: one walk over the graph in topological order.

No I/O and no printing here: renderers and the CLI do that.
"""

from __future__ import annotations

from typing import Optional

from . import formulas as fm
from .. import layers as registry
from . import receptive as rfm
from .errors import CnnCalcError, GraphError, LimitError, ShapeError
from .elementwise import ORDER as EW_KINDS, added
from .figures import activation_bytes, param_bytes
from .limits import MAX_INT_DIGITS
from ..layers.base import ParamError, show
from .model import Conventions, Graph, LayerResult, Report, Totals, split_part
from .warns import CHANNEL_FIRST, JUMP, RF_BOUND, LayerWarning


# Python refuses to print an integer of more than 4,300 digits; refuse such figures up front,
# with room for the totals and byte counts (2^13,000 has 3,914 digits).
MAX_FIGURE_BITS = 13_000


def _too_big(*xs) -> bool:
    for x in xs:
        if isinstance(x, int):
            if x.bit_length() > MAX_FIGURE_BITS:
                return True
        elif x.numerator.bit_length() > MAX_FIGURE_BITS or x.denominator.bit_length() > MAX_FIGURE_BITS:
            return True
    return False


TOO_BIG = "a figure of this layer has more than 3,900 digits: too large to print"


def _digits(shape) -> str:
    """224×224×3; a size too long to print as ~10^N."""
    return "×".join(str(v) if v < 10**12 else f"~10^{int(v.bit_length() * 0.30103)}" for v in shape)


def _check_batch(batch: int) -> None:
    """A batch of at most 100 digits (the limit of a spec's integers): with every figure of a
    layer under MAX_FIGURE_BITS, the totals in bytes then stay printable (a 4,000-digit --batch
    times a 3,900-digit activation count could not be printed)."""
    if isinstance(batch, int) and batch.bit_length() > 333 and len(str(batch)) > MAX_INT_DIGITS:
        raise LimitError(f"the batch has {len(str(batch)):,} digits, over the limit of {MAX_INT_DIGITS} "
                         "(MAX_INT_DIGITS)", received=f"{str(batch)[:20]}…")


def channel_first(shape) -> Optional[LayerWarning]:
    """A warning (kind ``channel_first``) when an H×W×C input looks like PyTorch's C×H×W
    order, else None.

    The rule: the first size is 1 or 3 (a grey or RGB channel count), the other two are both at
    least 16, and they are within a factor of 4 of each other (an image's height and width).
    No real H×W×C input reads this way: one or three rows of an image-sized width with as many
    channels. A 1×T×C sequence whose T and C are alike is the exception: the warning says what
    to write either way.

    >>> str(channel_first((3, 224, 224)))
    "3×224×224 looks channel-first (PyTorch's C×H×W); cnncalc reads H×W×C: a 224×224 image with 3 channels is 224×224×3"
    >>> channel_first((224, 224, 3)), channel_first((1, 1, 512)), channel_first((3, 8, 8)), channel_first((1, 100, 10))
    (None, None, None, None)
    """
    if len(shape) != 3:
        return None
    c, h, w = shape
    if c not in (1, 3) or min(h, w) < 16 or max(h, w) > 4 * min(h, w):
        return None
    return LayerWarning(CHANNEL_FIRST, {"shape": (c, h, w)})


def _no_part(spec, shapes) -> GraphError:
    """An input named ``layer.N`` that is no output of that layer (only a split has parts)."""
    for src in spec.inputs:
        if src not in shapes:
            base, part = split_part(src)
            have = [k for k in shapes if k.rpartition(".")[0] == base and k.rpartition(".")[2].isdigit()]
            what = (f"'{base}' has {len(have)} outputs, {base}.0 to {base}.{len(have) - 1}" if have
                    else f"'{base}' has one output (only a split has named outputs {base}.0, {base}.1, …)")
            return GraphError(f"'from' names no output {src}: {what}", loc=spec.inputs_loc or spec.loc,
                              layer=spec.name, chain=spec.chain)
    return GraphError("an input is missing", loc=spec.loc, layer=spec.name)  # pragma: no cover


def broadcast_jumps(states) -> list:
    """Receptive-field states (axis H, axis W, grid H, grid W) of inputs that merge. An input on
    a 1×1 grid broadcast over a larger map (the squeeze-and-excitation gate multiplying a
    feature map) brings its field but not its jump: the output's positions step as the map's
    do. Its axes get the largest jump of the others (an upper bound in the regular state)."""
    aligned = [s for s in states if (s[2], s[3]) != (1, 1)]
    if not aligned or len(aligned) == len(states):
        return states
    jh, jw = max(s[0][1] for s in aligned), max(s[1][1] for s in aligned)
    out = []
    for s in states:
        if (s[2], s[3]) == (1, 1):
            (rh, _, loh, _), (rw, _, low, _) = rfm.collapse(s[0]), rfm.collapse(s[1])
            s = ((rh, jh, loh, None), (rw, jw, low, None), aligned[0][2], aligned[0][3])
        out.append(s)
    return out


def analyze(graph: Graph, conventions: Conventions = Conventions(), strict: bool = False) -> Report:
    """Shapes, counts and receptive fields of every layer, and their totals.

    ``strict`` turns hyperparameters that do not divide (a non-integer output size) into a
    ShapeError instead of a warning.
    """
    _check_batch(conventions.batch)
    shapes: dict = {}
    depth: dict = {}  # name -> weight layers on the longest path to its output
    rf: dict = {}  # name -> (axis H, axis W, grid H, grid W): see receptive.py
    results = []
    graph_warnings = []
    count_biases = conventions.count_biases
    flops_per_mac = conventions.flops_per_mac
    include = conventions.macs_include

    inp = graph.layers[0]
    in_shape = tuple(graph.input_shape)
    shapes[inp.name] = in_shape
    if _too_big(fm.elements(in_shape)):
        raise LimitError(TOO_BIG, loc=inp.loc, layer=inp.name, received=f"input {_digits(in_shape)}")
    grid = (in_shape[0], in_shape[1]) if len(in_shape) == 3 else (1, 1)
    spatial_input = len(in_shape) == 3
    rf[inp.name] = (rfm.start(), rfm.start()) + grid  # (axis H, axis W, grid H, grid W): see receptive.py
    depth[inp.name] = 0
    results.append(LayerResult(
        name=inp.name, type="input", inputs=(), output_shape=in_shape, weights=0, biases=0,
        non_trainable_params=0, macs=0, flops=0, activations=fm.elements(in_shape), params=0,
        receptive_field=(1, 1), jump=(1, 1), spec=inp,
        warnings=tuple(w.replace(layer=inp.name) for w in (channel_first(in_shape),) if w is not None)))

    # infer() is a pure function of the layer type, input shapes and parameters: layers that
    # repeat one configuration (repeat:, ResNet stages, generated chains) are worked out once.
    memo: dict = {}
    checked: set = set()  # ids of memoised results whose counts passed _too_big
    for spec in graph.layers[1:]:
        layer = registry.REGISTRY[spec.type]
        try:
            ins = [shapes[n] for n in spec.inputs]
        except KeyError:
            raise _no_part(spec, shapes) from None
        try:
            key = (spec.type, tuple(ins), *[(k, v.__class__, v) for k, v in spec.params.items()])
            out = memo.get(key)
        except TypeError:  # an unhashable parameter value: no memo
            key, out = None, None
        try:
            if out is None:
                out = layer.infer(ins, spec.params)
                out.ew = layer.elementwise(ins, spec.params, out)
                if key is not None:
                    memo[key] = out
        except CnnCalcError as e:
            e.chain = e.chain or spec.chain
            raise e.located(spec.loc, spec.name) from None
        except ParamError as e:
            raise ShapeError(e.message, loc=spec.loc, layer=spec.name, received=show(e.received),
                             chain=spec.chain) from None
        warnings = []
        for w in out.warnings or ():
            if w.fit and strict:
                raise ShapeError(w.text(error=True), loc=spec.loc, layer=spec.name, chain=spec.chain)
            warnings.append(w.replace(layer=spec.name))
        shape = tuple(out.shape)
        shapes[spec.name] = shape
        inputs = spec.inputs
        d = (depth[inputs[0]] if len(inputs) == 1 else max([depth[n] for n in inputs])) + layer.weight_layers
        depth[spec.name] = d
        parts = out.parts
        if parts:
            for i, part in enumerate(parts):  # a split's named outputs NAME.0, NAME.1, …
                shapes[f"{spec.name}.{i}"] = tuple(part)
                depth[f"{spec.name}.{i}"] = d
            parts = tuple(tuple(x) for x in parts)

        # receptive field (Araujo et al.), one axis at a time (receptive.py); merges keep the largest
        if len(inputs) == 1:
            axh, axw, gh, gw = states = rf[inputs[0]]
            states = (states,)
        else:
            states = broadcast_jumps([rf[n] for n in inputs])
            gh, gw = states[0][2], states[0][3]
            axh = rfm.merge([s[0] for s in states], gh)
            axw = rfm.merge([s[1] for s in states], gw)
        if len(states) > 1 and len({(s[0][1], s[1][1]) for s in states}) > 1:
            w = LayerWarning(JUMP, {"inputs": tuple((n, s[0][1], s[1][1]) for n, s in zip(spec.inputs, states))},
                             layer=spec.name)
            warnings.append(w)
            graph_warnings.append(w.replace(named=True))
        step = out.rf
        # a vector keeps the grid it was flattened from (a dense layer then sees all of it)
        oh, ow = (shape[0], shape[1]) if len(shape) == 3 else ((gh, gw) if step is None else (1, 1))
        approx_h = approx_w = False
        if step is None:
            if (oh, ow) != (gh, gw):  # a reshape: positions no longer line up
                axh, axw = rfm.regrid(axh), rfm.regrid(axw)
        elif step[0] == "global":
            axh, axw = rfm.whole(axh, gh), rfm.whole(axw, gw)
        elif step[0] == "adaptive":
            axh, approx_h = rfm.adaptive(axh, gh, oh)
            axw, approx_w = rfm.adaptive(axw, gw, ow)
        else:
            fh, fw, sh, sw = step[:4]
            ph, pw = step[4:6] if len(step) > 4 else (0, 0)
            if axh[3] is None and axw[3] is None:  # regular axes (nearly every layer): inline, for speed
                r, j, lo, _ = axh
                axh = (r + (fh - 1) * j, j * sh, lo - ph * j, None)
                r, j, lo, _ = axw
                axw = (r + (fw - 1) * j, j * sw, lo - pw * j, None)
            else:
                axh, approx_h = rfm.window(axh, fh, sh, ph, oh)
                axw, approx_w = rfm.window(axw, fw, sw, pw, ow)
        if approx_h or approx_w:
            warnings.append(LayerWarning(RF_BOUND, {"max_cells": rfm.MAX_CELLS}, layer=spec.name))
        gh, gw = oh, ow
        rf[spec.name] = (axh, axw, gh, gw)
        if parts:
            for i in range(len(parts)):
                rf[f"{spec.name}.{i}"] = rf[spec.name]
        rh, jh, rw, jw = axh[0], axh[1], axw[0], axw[1]
        covers = (spatial_input and rh >= in_shape[0] and rw >= in_shape[1]  # cheap test first
                  and rfm.covers(axh, gh, in_shape[0]) and rfm.covers(axw, gw, in_shape[1]))

        c = out.counts
        # the layer's own figures are checked once per distinct result (memo keeps it alive);
        # its receptive field on every layer, by one OR when they are integers
        try:
            big = (rh | rw | jh | jw).bit_length() > MAX_FIGURE_BITS
        except TypeError:  # a fractional jump (upsampling)
            big = _too_big(rh, rw, jh, jw)
        if not big and (key is None or id(out) not in checked):
            big = _too_big(fm.elements(shape), c.weights, c.biases, c.non_trainable, c.macs)
            if key is not None:
                checked.add(id(out))
        if big:
            raise LimitError(TOO_BIG, loc=spec.loc, layer=spec.name, received=f"output {_digits(shape)}",
                             chain=spec.chain)
        macs = c.macs + added(out.ew, include) if include else c.macs
        results.append(LayerResult(
            name=spec.name, type=spec.type, inputs=spec.inputs, output_shape=shape,
            weights=c.weights, biases=c.biases, non_trainable_params=c.non_trainable,
            macs=macs, flops=macs * flops_per_mac, elementwise=out.ew,
            activations=0 if layer.view else fm.elements(shape),
            params=c.weights + (c.biases if count_biases else 0),
            receptive_field=(rh, rw), jump=(jh, jw), warnings=tuple(warnings), spec=spec,
            covers_input=covers, depth=d, inferred=out, parts=parts or ()))

    return Report(name=graph.name, input_shape=in_shape, layers=tuple(results),
                  totals=totals_of(results, conventions), conventions=conventions, graph=graph,
                  warnings=tuple(graph_warnings))


def totals_of(results, conventions: Conventions) -> Totals:
    """Column sums, and bytes under the dtype and batch of the conventions."""
    weights = sum(r.weights for r in results)
    biases = sum(r.biases for r in results)
    non_trainable = sum(r.non_trainable_params for r in results)
    macs = sum(r.macs for r in results)
    activations = sum(r.activations for r in results)
    ew = dict.fromkeys(EW_KINDS, 0)
    mac_types: dict = {}
    include = conventions.macs_include
    for r in results:
        for k, v in r.elementwise.items():
            ew[k] += v
        if r.macs and r.type not in mac_types and r.macs > added(r.elementwise, include):
            mac_types[r.type] = None
    act_bytes = activation_bytes(activations, conventions)
    totals = Totals(
        params=weights + (biases if conventions.count_biases else 0),
        weights=weights, biases=biases, non_trainable_params=non_trainable,
        macs=macs, flops=macs * conventions.flops_per_mac, activations=activations,
        # storage of every parameter value, biases and running statistics included
        param_bytes=param_bytes(weights + biases + non_trainable, conventions),
        activation_bytes=act_bytes, activation_bytes_fwd_bwd=2 * act_bytes,
        depth=max([r.depth for r in results], default=0), elementwise=ew, mac_types=tuple(mac_types))
    if conventions.optimizer:
        from dataclasses import replace

        from .training import training_memory

        totals = replace(totals, training=training_memory(totals, conventions, conventions.optimizer))
    return totals
