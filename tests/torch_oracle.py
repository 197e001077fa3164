"""PyTorch as an oracle: build the same network from a parsed Graph and measure it.

Only the graph's *structure* (layer types, hyperparameters, connections) is taken from
cnncalc; shapes, parameter counts, buffers and FLOPs are measured by PyTorch itself
(`parameters()`, `buffers()`, a forward pass, `torch.utils.flop_counter.FlopCounterMode`).
Tensors live on the `meta` device where PyTorch supports it, so even ResNet-152 costs no
arithmetic. Shapes are converted from PyTorch's N×C×H×W to cnncalc's H×W×C.

Extend ``BUILDERS`` when a new layer type is added: the differential tests fail for a type
the oracle cannot build, so nothing is silently skipped.
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


def _pads(padding, in_hw, kernel, stride, dilation):
    """(left, right, top, bottom) for nn.ZeroPad2d, from a cnncalc-normalised padding."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        t, b = _tf_same(in_hw[0], kernel[0], stride[0], dilation[0])
        left, right = _tf_same(in_hw[1], kernel[1], stride[1], dilation[1])
        return (left, right, t, b)
    t, b, left, right = padding
    return (left, right, t, b)


_ACT = {
    "relu": nn.ReLU, "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU,
    "silu": nn.SiLU, "elu": nn.ELU, "selu": nn.SELU, "mish": nn.Mish, "hardswish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid, "softplus": nn.Softplus, "identity": nn.Identity, "linear": nn.Identity,
}


def activation(name):
    if name is None:
        return None
    if name == "softmax":
        return nn.Softmax(dim=1)
    if name == "leaky_relu":
        return nn.LeakyReLU()
    return _ACT[name]()


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


def _conv(p, in_shape):
    h, w, c = in_shape
    k, s, d = _pair(p["kernel"]), _pair(p["stride"]), _pair(p["dilation"])
    pads = _pads(p["padding"], (h, w), k, s, d)
    pad = nn.ZeroPad2d(pads) if any(pads) else None
    conv = nn.Conv2d(c, p["filters"], k, stride=s, padding=0, dilation=d, groups=p["groups"], bias=p["bias"])
    return Seq(pad, conv, activation(p.get("activation")))


def _pool(cls, p, in_shape, **extra):
    h, w, _ = in_shape
    k, s = _pair(p["kernel"]), _pair(p["stride"])
    d = _pair(p.get("dilation", 1))
    padding = p["padding"]
    if padding == "same":
        pads = _pads(padding, (h, w), k, s, d)
        return Seq(nn.ZeroPad2d(pads), cls(k, s, ceil_mode=p["ceil_mode"], **extra))
    if padding == "valid":
        padding = (0, 0, 0, 0)
    t, b, left, right = padding
    if t == b and left == right:
        return cls(k, s, padding=(t, left), ceil_mode=p["ceil_mode"], **extra)
    return Seq(nn.ZeroPad2d((left, right, t, b)), cls(k, s, ceil_mode=p["ceil_mode"], **extra))


def _maxpool(p, in_shape):
    return _pool(nn.MaxPool2d, p, in_shape, dilation=_pair(p.get("dilation", 1)))


def _avgpool(p, in_shape):
    return _pool(nn.AvgPool2d, p, in_shape)


def _dense(p, in_shape):
    return Seq(nn.Linear(in_shape[0], p["units"], bias=p["bias"]), activation(p.get("activation")))


def _batchnorm(p, in_shape):
    cls = nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d
    return cls(in_shape[-1], affine=p["affine"], track_running_stats=p["track_running_stats"])


def _reshape(p, in_shape):
    new = tuple(p["shape"])
    torch_shape = (new[2], new[0], new[1]) if len(new) == 3 else new
    return Lambda(lambda x: x.reshape((x.shape[0],) + torch_shape))


def _prelu(p, in_shape):
    return nn.PReLU(num_parameters=1 if p["shared"] else in_shape[-1])


def _concat(p, in_shape):
    return Lambda(lambda *xs: torch.cat(xs, dim=1))


def _add(p, in_shape):
    def add(*xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out

    return Lambda(add)


def _position_bias(p, in_shape):
    return PositionBias((in_shape[2], in_shape[0], in_shape[1]) if len(in_shape) == 3 else in_shape)


def _depthwise(p, in_shape):
    c = in_shape[2]
    q = dict(p, filters=c * p["multiplier"], groups=c)
    return _conv(q, in_shape)


def _separable(p, in_shape):
    c = in_shape[2]
    dw = _conv(dict(p, filters=c * p["multiplier"], groups=c, bias=False, activation=None), in_shape)
    pw = nn.Conv2d(c * p["multiplier"], p["filters"], 1, bias=p["bias"])
    return Seq(dw, pw, activation(p.get("activation")))


def _upsample(p, in_shape):
    kw = {"align_corners": p["align_corners"]} if p["mode"] == "bilinear" else {}
    if p["scale"] is not None:
        return nn.Upsample(scale_factor=tuple(float(x) for x in _pair(p["scale"])), mode=p["mode"], **kw)
    return nn.Upsample(size=tuple(_pair(p["size"])), mode=p["mode"], **kw)


def _multiply(p, in_shape):
    def mul(*xs):
        out = xs[0] if xs[0].dim() != 2 else xs[0][:, :, None, None]
        for x in xs[1:]:
            out = out * (x[:, :, None, None] if x.dim() == 2 and out.dim() == 4 else x)
        return out

    return Lambda(mul)


BUILDERS = {
    "depthwise": _depthwise,
    "separable_conv": _separable,
    "upsample": _upsample,
    "multiply": _multiply,
    "channel_shuffle": lambda p, s: nn.ChannelShuffle(p["groups"]),
    "conv": _conv,
    "maxpool": _maxpool,
    "avgpool": _avgpool,
    "global_avgpool": lambda p, s: Seq(nn.AdaptiveAvgPool2d(1), nn.Flatten()),
    "global_maxpool": lambda p, s: Seq(nn.AdaptiveMaxPool2d(1), nn.Flatten()),
    "adaptive_avgpool": lambda p, s: nn.AdaptiveAvgPool2d(_pair(p["size"])),
    "adaptive_maxpool": lambda p, s: nn.AdaptiveMaxPool2d(_pair(p["size"])),
    "dense": _dense,
    "flatten": lambda p, s: nn.Flatten(),
    "reshape": _reshape,
    "dropout": lambda p, s: nn.Dropout(p["rate"]),
    "batchnorm": _batchnorm,
    "lrn": lambda p, s: nn.LocalResponseNorm(p["size"], p["alpha"], p["beta"], p["k"]),
    "zeropad": lambda p, s: nn.ZeroPad2d(_pads(p["padding"], s[:2], (1, 1), (1, 1), (1, 1))),
    "add": _add,
    "concat": _concat,
    "position_bias": _position_bias,
    "prelu": _prelu,
    "softmax": lambda p, s: nn.Softmax(dim=1),
    "leaky_relu": lambda p, s: nn.LeakyReLU(p["negative_slope"]),
    "gelu": lambda p, s: nn.GELU(approximate=p["approximate"]),
    "elu": lambda p, s: nn.ELU(p["alpha"]),
}
for _name, _cls in _ACT.items():
    BUILDERS.setdefault(_name, lambda p, s, _cls=_cls: _cls())


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
            in_shape = to_hwc(values[spec.inputs[0]])
            builder = BUILDERS.get(spec.type)
            if builder is None:
                raise NotImplementedError(f"torch oracle has no builder for layer type {spec.type!r}")
            module = builder(dict(spec.params), in_shape).to(device).eval()
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
