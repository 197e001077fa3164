"""Elementwise activations: output shape = input shape, no MACs (fvcore convention)."""

from __future__ import annotations

from ..model import Counts
from .base import BOOL, NUMBER, Layer, NoForward, Out, Param, choice

# Activations that may be fused into a conv or dense layer with ``activation:``.
FUSABLE = ("relu", "relu6", "leaky_relu", "sigmoid", "tanh", "softmax", "gelu", "silu", "elu",
           "selu", "mish", "hardswish", "hardsigmoid", "softplus", "identity", "linear")


class _Activation(Layer):
    params = {}

    def infer(self, ins, p) -> Out:
        return Out(tuple(ins[0]))

    def forward(self, p, ins, out_shape):
        return elementwise(self.type, p, list(ins[0][1]), out_shape)


def _f(x) -> float:
    return float(x)


def _softmax(xs: list, out_shape) -> list:
    import math

    c = out_shape[-1]
    out = []
    for i in range(0, len(xs), c):
        v = [float(a) for a in xs[i:i + c]]
        m = max(v)
        e = [math.exp(a - m) for a in v]
        s = sum(e)
        out.extend(a / s for a in e)
    return out


def elementwise(name: str, p, xs: list, out_shape) -> list:
    """An activation applied to values: exact (ints and Fractions) for the piecewise-linear ones
    (relu, relu6, leaky_relu, hardsigmoid, hardswish, identity), floats for the others."""
    import math
    from fractions import Fraction

    from .base import exact_number

    def ex(v):  # an exact result as an int where integral
        return v.numerator if type(v) is Fraction and v.denominator == 1 else v

    if name in ("identity", "linear"):
        return xs
    if name == "relu":
        return [x if x > 0 else 0 for x in xs]
    if name == "relu6":
        return [0 if x < 0 else 6 if x > 6 else x for x in xs]
    if name == "leaky_relu":
        a = exact_number(p.get("negative_slope", 0.01) if p else 0.01)
        return [x if x > 0 else ex(a * x) for x in xs]
    if name == "hardsigmoid":
        return [0 if x <= -3 else 1 if x >= 3 else ex(Fraction(x) / 6 + Fraction(1, 2)) for x in xs]
    if name == "hardswish":
        return [0 if x <= -3 else x if x >= 3 else ex(Fraction(x) * (x + 3) / 6) for x in xs]
    if name == "softmax":
        return _softmax(xs, out_shape)
    f = {
        "sigmoid": lambda x: 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x)),
        "tanh": math.tanh,
        "gelu": (lambda x: 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))))
        if p and p.get("approximate") == "tanh" else (lambda x: 0.5 * x * (1 + math.erf(x / math.sqrt(2)))),
        "silu": lambda x: x / (1 + math.exp(-x)) if x >= -700 else 0.0,
        "elu": lambda x: x if x > 0 else float(p.get("alpha", 1.0) if p else 1.0) * math.expm1(x),
        "selu": lambda x: 1.0507009873554804934193349852946 * (
            x if x > 0 else 1.6732632423543772848170429916717 * math.expm1(x)),
        "softplus": lambda x: math.log1p(math.exp(x)) if x < 20 else x,
        "mish": lambda x: x * math.tanh(math.log1p(math.exp(x)) if x < 20 else x),
    }.get(name)
    if f is None:
        raise NoForward(f"{name} has no numeric forward: cnncalc values cannot compute it")
    return [f(_f(x)) for x in xs]


def _make(name: str, doc: str, params=None, aliases=()):
    return type(name.title().replace("_", ""), (_Activation,),
                {"type": name, "doc": doc, "params": params or {}, "aliases": aliases})


class PReLU(_Activation):
    type = "prelu"
    doc = "parametric ReLU: one learnable slope, or one per channel"
    params = {"shared": Param(BOOL, True, "one slope for all channels (PyTorch default) or one per channel")}

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        return Out(shape, Counts(weights=1 if p["shared"] else shape[-1]))

    def forward(self, p, ins, out_shape):
        raise NoForward("prelu needs its learned slopes, which a spec cannot give: cnncalc values cannot "
                        "compute it", "weights")


LAYERS = (
    _make("relu", "max(0, x)"),
    _make("relu6", "min(max(0, x), 6)"),
    _make("leaky_relu", "x if x > 0 else a·x", {"negative_slope": Param(NUMBER, 0.01, "slope a for x < 0")}),
    _make("sigmoid", "1/(1 + e^−x)"),
    _make("tanh", "hyperbolic tangent"),
    _make("softmax", "normalised exponentials over the last axis"),
    _make("gelu", "Gaussian error linear unit",
          {"approximate": Param(choice("none", "tanh"), "none", "PyTorch's approximation")}),
    _make("silu", "x·sigmoid(x)", aliases=("swish",)),
    _make("elu", "exponential linear unit", {"alpha": Param(NUMBER, 1.0, "α")}),
    _make("selu", "scaled ELU"),
    _make("mish", "x·tanh(softplus(x))"),
    _make("hardswish", "x·relu6(x + 3)/6 (MobileNetV3)", aliases=("hard_swish",)),
    _make("hardsigmoid", "relu6(x + 3)/6", aliases=("hard_sigmoid",)),
    _make("softplus", "log(1 + e^x)"),
    _make("identity", "f(x) = x"),
    PReLU,
)
