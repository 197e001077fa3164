"""``analyze(graph, conventions) -> Report``: one walk over the graph in topological order.

No I/O and no printing here: renderers and the CLI do that.
"""

from __future__ import annotations

from . import formulas as fm
from . import layers as registry
from .errors import CnnCalcError, LimitError, ShapeError
from .limits import MAX_INT_DIGITS
from .layers.base import ParamError, show
from .model import Conventions, Graph, LayerResult, Report, Totals


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


def analyze(graph: Graph, conventions: Conventions = Conventions(), strict: bool = False) -> Report:
    """Shapes, counts and receptive fields of every layer, and their totals.

    ``strict`` turns hyperparameters that do not divide (a non-integer output size) into a
    ShapeError instead of a warning.
    """
    _check_batch(conventions.batch)
    shapes: dict = {}
    depth: dict = {}  # name -> weight layers on the longest path to its output
    rf: dict = {}  # name -> (rh, rw, jh, jw, grid_h, grid_w)
    results = []
    graph_warnings = []
    count_biases = conventions.count_biases
    flops_per_mac = conventions.flops_per_mac

    inp = graph.layers[0]
    in_shape = tuple(graph.input_shape)
    shapes[inp.name] = in_shape
    if _too_big(fm.elements(in_shape)):
        raise LimitError(TOO_BIG, loc=inp.loc, layer=inp.name, received=f"input {_digits(in_shape)}")
    grid = (in_shape[0], in_shape[1]) if len(in_shape) == 3 else (1, 1)
    rf[inp.name] = (1, 1, 1, 1) + grid
    depth[inp.name] = 0
    results.append(LayerResult(
        name=inp.name, type="input", inputs=(), output_shape=in_shape, weights=0, biases=0,
        non_trainable_params=0, macs=0, flops=0, activations=fm.elements(in_shape), params=0,
        receptive_field=(1, 1), jump=(1, 1), spec=inp))

    # infer() is a pure function of the layer type, input shapes and parameters: layers that
    # repeat one configuration (repeat:, ResNet stages, generated chains) are worked out once.
    memo: dict = {}
    checked: set = set()  # ids of memoised results whose counts passed _too_big
    for spec in graph.layers[1:]:
        layer = registry.REGISTRY[spec.type]
        ins = [shapes[n] for n in spec.inputs]
        try:
            key = (spec.type, tuple(ins), *[(k, v.__class__, v) for k, v in spec.params.items()])
            out = memo.get(key)
        except TypeError:  # an unhashable parameter value: no memo
            key, out = None, None
        try:
            if out is None:
                out = layer.infer(ins, spec.params)
                if key is not None:
                    memo[key] = out
        except CnnCalcError as e:
            e.chain = e.chain or spec.chain
            raise e.located(spec.loc, spec.name) from None
        except ParamError as e:
            raise ShapeError(e.message, loc=spec.loc, layer=spec.name, received=show(e.received),
                             chain=spec.chain) from None
        warnings = []
        for w in out.warnings:
            if w.fit and strict:
                raise ShapeError(w.message.split("; floored")[0], loc=spec.loc, layer=spec.name, chain=spec.chain)
            warnings.append(w.message)
        shape = tuple(out.shape)
        shapes[spec.name] = shape
        d = max([depth[n] for n in spec.inputs]) + layer.weight_layers
        depth[spec.name] = d

        # receptive field (Araujo et al.): the largest field over all inputs
        states = [rf[n] for n in spec.inputs]
        if len(states) == 1:
            rh, rw, jh, jw, gh, gw = states[0]
        else:
            rh = max(s[0] for s in states)
            rw = max(s[1] for s in states)
            jh = max(s[2] for s in states)
            jw = max(s[3] for s in states)
            gh, gw = states[0][4], states[0][5]
        if len(states) > 1 and len({(s[2], s[3]) for s in states}) > 1:
            msg = ("inputs arrive with different jumps ("
                   + ", ".join(f"{n}: {s[2]}×{s[3]}" for n, s in zip(spec.inputs, states))
                   + "): their receptive fields are not aligned")
            warnings.append(msg)
            graph_warnings.append(f"{spec.name}: {msg}")
        step = out.rf
        if step is not None:
            if step[0] == "global":
                fh, fw, sh, sw = gh, gw, gh, gw
            else:
                fh, fw, sh, sw = step
            rh, jh = fm.receptive_field(rh, jh, fh, sh)
            rw, jw = fm.receptive_field(rw, jw, fw, sw)
            gh, gw = (shape[0], shape[1]) if len(shape) == 3 else (1, 1)
        elif len(shape) == 3:
            gh, gw = shape[0], shape[1]
        rf[spec.name] = (rh, rw, jh, jw, gh, gw)

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
        results.append(LayerResult(
            name=spec.name, type=spec.type, inputs=spec.inputs, output_shape=shape,
            weights=c.weights, biases=c.biases, non_trainable_params=c.non_trainable,
            macs=c.macs, flops=c.macs * flops_per_mac,
            activations=0 if layer.view else fm.elements(shape),
            params=c.weights + (c.biases if count_biases else 0),
            receptive_field=(rh, rw), jump=(jh, jw), warnings=tuple(warnings), spec=spec, depth=d))

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
    bpv = conventions.bytes_per_value
    act_bytes = activations * bpv * conventions.batch
    totals = Totals(
        params=weights + (biases if conventions.count_biases else 0),
        weights=weights, biases=biases, non_trainable_params=non_trainable,
        macs=macs, flops=macs * conventions.flops_per_mac, activations=activations,
        # storage of every parameter value, biases and running statistics included
        param_bytes=(weights + biases + non_trainable) * bpv,
        activation_bytes=act_bytes, activation_bytes_fwd_bwd=2 * act_bytes,
        depth=max([r.depth for r in results], default=0))
    if conventions.optimizer:
        from dataclasses import replace

        from .training import training_memory

        totals = replace(totals, training=training_memory(totals, conventions, conventions.optimizer))
    return totals
