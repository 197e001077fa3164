"""PyTorch as an oracle: build the same network from a parsed Graph and measure it.

Only the graph's *structure* (layer types, hyperparameters, connections) is taken from
cnncalc; shapes, parameter counts, buffers and FLOPs are measured by PyTorch itself
(`parameters()`, `buffers()`, a forward pass, `torch.utils.flop_counter.FlopCounterMode`).
Tensors live on the `meta` device where PyTorch supports it, so even ResNet-152 costs no
arithmetic. Shapes are converted from PyTorch's N×C×H×W to cnncalc's H×W×C.

What each layer type is in PyTorch is the layer type's own knowledge (``Layer.torch`` in
cnncalc.layers: data, no torch import); this module only turns those constructs into modules.
A layer type without a construct makes the differential tests fail, so nothing is silently
skipped. ``BUILDERS`` holds overrides by layer type (tests may add one).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _tf_same(size: int, k: int, s: int, d: int) -> tuple:
    """TensorFlow's SAME padding, written from its documentation (not from cnncalc)."""
    out = (size + s - 1) // s
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


class Seq(nn.Module):
    """Modules applied in order, skipping None."""

    def __init__(self, *mods):
        super().__init__()
        self.mods = nn.ModuleList([m for m in mods if m is not None])

    def forward(self, x):
        for m in self.mods:
            x = m(x)
        return x


class Lambda(nn.Module):
    def __init__(self, fn, n_inputs=1):
        super().__init__()
        self.fn = fn
        self.n_inputs = n_inputs

    def forward(self, *xs):
        return self.fn(*xs)


class PositionBias(nn.Module):
    def __init__(self, shape_chw):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(*shape_chw))

    def forward(self, x):
        return x + self.bias


def _tf_same_pad(kernel, stride, dilation):
    """TensorFlow's SAME padding, worked out from the input's size when it arrives."""
    k, s, d = _pair(kernel), _pair(stride), _pair(dilation)

    def pad(x):
        t, b = _tf_same(x.shape[2], k[0], s[0], d[0])
        left, right = _tf_same(x.shape[3], k[1], s[1], d[1])
        return nn.functional.pad(x, (left, right, t, b))

    return Lambda(pad)


def _add(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


def _mul(*xs):
    """Broadcasting product; a vector of C (N×C) is a per-channel factor of N×C×H×W."""
    out = xs[0] if xs[0].dim() != 2 else xs[0][:, :, None, None]
    for x in xs[1:]:
        out = out * (x[:, :, None, None] if x.dim() == 2 and out.dim() == 4 else x)
    return out


# the functional forms a layer type's Torch construct may name (cnncalc.layers.base.Torch)
FUNCTIONAL = {
    "TFSamePad2d": lambda kernel, stride, dilation: _tf_same_pad(kernel, stride, dilation),
    "cat": lambda dim: Lambda(lambda *xs: torch.cat(xs, dim=dim)),
    "add": lambda: Lambda(_add),
    "mul": lambda: Lambda(_mul),
    "reshape": lambda shape: Lambda(lambda x: x.reshape((x.shape[0],) + tuple(shape))),
    "bias": lambda shape: PositionBias(shape),
}


def build(constructs):
    """The module for a tuple of Torch constructs (applied in order)."""
    mods = []
    for c in constructs:
        if c.op in FUNCTIONAL:
            mods.append(FUNCTIONAL[c.op](*c.args, **dict(c.kwargs)))
        else:
            mods.append(getattr(nn, c.op)(*c.args, **dict(c.kwargs)))
    return mods[0] if len(mods) == 1 else Seq(*mods)


def builder_of(layer_type: str):
    """How the oracle builds a layer type: an override in BUILDERS, else the layer type's own
    ``torch`` construct (cnncalc.layers), else None."""
    if layer_type in BUILDERS:
        return BUILDERS[layer_type]
    from cnncalc.layers import REGISTRY

    layer = REGISTRY.get(layer_type)
    if layer is None:
        return None

    def from_layer(p, in_shape, in_shapes=None):
        constructs = layer.torch(p, list(in_shapes or [in_shape]))
        if constructs is None:
            raise NotImplementedError(f"layer type {layer_type!r} has no PyTorch construct for {p}")
        return build(constructs)

    return from_layer


# Overrides by layer type (a test may add one); every other layer type is built from its own
# ``torch`` construct, so a new layer type needs nothing here.
BUILDERS: dict = {}


def to_hwc(t) -> tuple:
    shape = tuple(t.shape[1:])
    return (shape[1], shape[2], shape[0]) if len(shape) == 3 else shape


@dataclass
class Measured:
    shape: tuple
    params: int  # sum of parameters().numel()
    weights: int  # parameters not named "bias" (BN's γ included, as cnncalc counts)
    biases: int
    buffers: int  # running statistics (num_batches_tracked excluded)
    flops: int


def _is_bias(name: str, module) -> bool:
    return name.split(".")[-1] == "bias"


def measure(graph, device: str = "meta") -> dict:
    """Build every layer of ``graph`` in PyTorch, run a forward pass, measure each layer."""
    torch.manual_seed(0)
    shape = graph.input_shape
    x0 = torch.zeros((1, shape[2], shape[0], shape[1]) if len(shape) == 3 else (1,) + tuple(shape), device=device)
    values = {"input": x0}
    out = {"input": Measured(to_hwc(x0), 0, 0, 0, 0, 0)}
    with torch.no_grad():
        for spec in graph.layers[1:]:
            in_shapes = [to_hwc(values[n]) for n in spec.inputs]
            builder = builder_of(spec.type)
            if builder is None:
                raise NotImplementedError(f"torch oracle has no builder for layer type {spec.type!r}")
            if spec.type in BUILDERS:
                module = builder(dict(spec.params), in_shapes[0])
            else:
                module = builder(dict(spec.params), in_shapes[0], in_shapes)
            module = module.to(device).eval()
            args = [values[n] for n in spec.inputs]
            with FlopCounterMode(display=False) as counter:
                y = module(*args)
            values[spec.name] = y
            named = list(module.named_parameters())
            biases = sum(p.numel() for n, p in named if _is_bias(n, module))
            params = sum(p.numel() for _, p in named)
            buffers = sum(b.numel() for n, b in module.named_buffers() if not n.endswith("num_batches_tracked"))
            out[spec.name] = Measured(to_hwc(y), params, params - biases, biases, buffers,
                                      int(counter.get_total_flops()))
    return out
