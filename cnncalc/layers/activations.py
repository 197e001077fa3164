"""Elementwise activations: output shape = input shape, no MACs (fvcore convention)."""

from __future__ import annotations

from ..core.model import Counts
from .base import BOOL, NUMBER, NUMBERS, Keras, Layer, NoForward, Out, Param, Torch, activation_ops, choice

# Activations that may be fused into a conv or dense layer with ``activation:``.
FUSABLE = ("relu", "relu6", "leaky_relu", "sigmoid", "tanh", "softmax", "gelu", "silu", "elu",
           "selu", "mish", "hardswish", "hardsigmoid", "softplus", "identity", "linear")


# the torch.nn module of each activation, and which of its parameters it takes (by position)
TORCH = {
    "relu": "ReLU", "relu6": "ReLU6", "leaky_relu": "LeakyReLU", "sigmoid": "Sigmoid", "tanh": "Tanh",
    "softmax": "Softmax", "gelu": "GELU", "silu": "SiLU", "elu": "ELU", "selu": "SELU", "mish": "Mish",
    "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid", "softplus": "Softplus", "identity": "Identity",
    "linear": "Identity",
}


# the Keras activation of each (keras.activations, by name; Keras's leaky_relu string means a
# slope of 0.2, so a leaky ReLU is a LeakyReLU layer with its own slope)
KERAS = {
    "relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax",
    "gelu": "gelu", "silu": "silu", "elu": "elu", "selu": "selu", "mish": "mish", "hardswish": "hard_swish",
    "hardsigmoid": "hard_sigmoid", "softplus": "softplus", "identity": "linear", "linear": "linear",
}


def keras_activation(name) -> tuple:
    """A fused activation in Keras: (keywords for the layer's ``activation=``, constructs after it)."""
    if name is None:
        return {}, ()
    if name == "leaky_relu":  # PyTorch's default slope, as torch_activation
        return {}, (Keras("LeakyReLU", kwargs={"negative_slope": 0.01}, suffix="_act"),)
    return {"activation": KERAS[name]}, ()


def softmax_dim(rank: int) -> int:
    """The axis PyTorch's softmax takes for cnncalc's (the channels): 1 of N×C×H×W, the last of N×D
    and of tokens N×L×C. ``rank`` is cnncalc's (3 for H×W×C)."""
    return 1 if rank == 3 else -1


def torch_activation(name, rank: int = 3) -> tuple:
    """The PyTorch construct of an activation fused into a conv or dense layer (its defaults);
    ``rank``: cnncalc's rank of the layer's output."""
    if name is None:
        return ()
    return (Torch(TORCH[name], kwargs={"dim": softmax_dim(rank)} if name == "softmax" else {}),)


class _Activation(Layer):
    params = {}
    torch_kwargs: dict = {}  # parameter name → torch keyword

    def infer(self, ins, p) -> Out:
        return Out(tuple(ins[0]))

    def elementwise(self, ins, p, out) -> dict:
        return activation_ops(self.type, out.shape)  # act, or softmax; identity counts nothing

    def forward(self, p, ins, out_shape):
        return elementwise(self.type, p, list(ins[0][1]), out_shape)

    def torch(self, p, ins) -> tuple:
        kwargs = {kw: p[name] for name, kw in self.torch_kwargs.items()}
        if self.type == "softmax":
            kwargs["dim"] = softmax_dim(len(ins[0]))  # the channels: 1 of N×C×H×W, the last of tokens
        return (Torch(TORCH[self.type], kwargs=kwargs),)

    def keras(self, p, ins) -> tuple:
        if self.type == "leaky_relu":
            return (Keras("LeakyReLU", kwargs={"negative_slope": p["negative_slope"]}),)
        if self.type == "elu":
            return (Keras("ELU", kwargs={"alpha": p["alpha"]}),)
        if self.type == "gelu" and p["approximate"] != "none":
            return None  # Keras's Activation("gelu") is the exact form; its tanh form has no name
        return (Keras("Activation", (KERAS[self.type],)),)


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



def _make(name: str, doc: str, params=None, aliases=(), onnx=(), keras=(), caffe=(), torch_kwargs=None):
    imports = {k: v for k, v in (("onnx", onnx), ("keras", keras), ("caffe", caffe)) if v}
    return type(name.title().replace("_", ""), (_Activation,),
                {"type": name, "doc": doc, "params": params or {}, "aliases": aliases, "imports": imports,
                 "torch_kwargs": torch_kwargs or {}})


class PReLU(_Activation):
    type = "prelu"
    doc = "parametric ReLU: one learnable slope, or one per channel"
    params = {"shared": Param(BOOL, True, "one slope for all channels (PyTorch default) or one per channel"),
              "weights": Param(NUMBERS, None, "values only: the slopes, 1 number (shared) or C; changes no figure")}

    imports = {"onnx": ("PRelu",), "keras": ("PReLU",), "caffe": ("PReLU",)}

    def infer(self, ins, p) -> Out:
        from .numeric import check_values

        shape = tuple(ins[0])
        k = 1 if p["shared"] else shape[-1]
        check_values(p, "weights", (k,), f"{k} number{'s' if k > 1 else ''} (the slope"
                     + (")" if k == 1 else "s, one per channel)"))
        return Out(shape, Counts(weights=k))

    def forward(self, p, ins, out_shape):  # x if x > 0 else a·x, a per channel (exact)
        from .numeric import given, mul_exact

        shape, x = ins[0]
        c = shape[-1]
        a = given(self, p, "weights", True, "the slope, 1 number" if p["shared"] else f"the slopes, {c} numbers", "")
        if len(a) == 1:
            return [v if v > 0 else mul_exact(v, a[0]) for v in x]
        return [v if v > 0 else mul_exact(v, a[i % c]) for i, v in enumerate(x)]

    def torch(self, p, ins) -> tuple:
        return (Torch("PReLU", kwargs={"num_parameters": 1 if p["shared"] else ins[0][-1]}),)

    def keras(self, p, ins) -> tuple:
        # Keras's α has the input's shape but along the shared axes: all (one slope) or all but C
        rank = len(ins[0])
        shared = list(range(1, rank + 1)) if p["shared"] else list(range(1, rank))
        return (Keras("PReLU", kwargs={"shared_axes": shared} if shared else {}),)


LAYERS = (
    _make("relu", "max(0, x)", onnx=("Relu",), keras=("ReLU",), caffe=("ReLU",)),
    _make("relu6", "min(max(0, x), 6)", onnx=("Clip",), keras=("ReLU",), caffe=("ReLU6",)),
    _make("leaky_relu", "x if x > 0 else a·x", {"negative_slope": Param(NUMBER, 0.01, "slope a for x < 0")},
          onnx=("LeakyRelu",), keras=("LeakyReLU",), caffe=("ReLU",),
          torch_kwargs={"negative_slope": "negative_slope"}),
    _make("sigmoid", "1/(1 + e^−x)", onnx=("Sigmoid",), caffe=("Sigmoid",)),
    _make("tanh", "hyperbolic tangent", onnx=("Tanh",), caffe=("TanH",)),
    _make("softmax", "normalised exponentials over the last axis", onnx=("Softmax",), keras=("Softmax",),
          caffe=("Softmax",)),
    _make("gelu", "Gaussian error linear unit",
          {"approximate": Param(choice("none", "tanh"), "none", "PyTorch's approximation")},
          onnx=("Gelu",), torch_kwargs={"approximate": "approximate"}),
    _make("silu", "x·sigmoid(x)", aliases=("swish",), onnx=("Swish",)),
    _make("elu", "exponential linear unit", {"alpha": Param(NUMBER, 1.0, "α")}, onnx=("Elu",), keras=("ELU",),
          caffe=("ELU",), torch_kwargs={"alpha": "alpha"}),
    _make("selu", "scaled ELU", onnx=("Selu",)),
    _make("mish", "x·tanh(softplus(x))", onnx=("Mish",)),
    _make("hardswish", "x·relu6(x + 3)/6 (MobileNetV3)", aliases=("hard_swish",), onnx=("HardSwish",)),
    _make("hardsigmoid", "relu6(x + 3)/6", aliases=("hard_sigmoid",), onnx=("HardSigmoid",)),
    _make("softplus", "log(1 + e^x)", onnx=("Softplus",)),
    _make("identity", "f(x) = x", onnx=("Identity",)),
    PReLU,
)
