"""Elementwise activations: output shape = input shape, no MACs (fvcore convention)."""

from __future__ import annotations

from ..model import Counts
from .base import BOOL, NUMBER, Layer, Out, Param, choice

# Activations that may be fused into a conv or dense layer with ``activation:``.
FUSABLE = ("relu", "relu6", "leaky_relu", "sigmoid", "tanh", "softmax", "gelu", "silu", "elu",
           "selu", "mish", "hardswish", "hardsigmoid", "softplus", "identity", "linear")


class _Activation(Layer):
    params = {}

    def infer(self, ins, p) -> Out:
        return Out(tuple(ins[0]))


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
