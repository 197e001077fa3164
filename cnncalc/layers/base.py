"""The layer contract and the parameter kinds every layer type declares.

A layer type is one class that owns everything true of it (DESIGN.md, "A layer type owns its
whole story"):

- ``type``, ``aliases``, ``doc`` and the table of ``params`` (each a kind, a default and a line
  of documentation): validation, did-you-mean messages, the JSON Schema and the DSL's tokens
  are generated from them;
- ``infer``: input shapes → output shape, counts, warnings (cnncalc.core.warns), receptive-field
  step and ``work``, the intermediate values of its formulas;
- ``explain``: its worked formulas for ``--explain``, written from that same ``Out`` (never
  recomputed) and the report's figures;
- ``describe``: its one-line description in tables;
- ``torch``: the PyTorch construct it maps to, as data (``Torch``; no torch import), which the
  tests' PyTorch oracle builds and ``cnncalc export --to pytorch`` writes as code;
- ``keras``: the Keras construct it maps to, as data (``Keras``; no keras import), which
  ``cnncalc export --to keras`` writes as code;
- ``imports``: the ONNX, Keras and Caffe op names it is read from (data only);
- ``forward``: the numeric forward pass on given values (``cnncalc values``).

Registering the class (cnncalc.layers.register) is the only other step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Mapping, NamedTuple, Optional

from ..core.errors import ShapeError, did_you_mean
from ..core.formulas import elements
from ..core.model import Counts, Shape
from ..core.warns import LayerWarning, Warn  # noqa: F401  (layers make warnings)

REQUIRED = object()


class ParamError(Exception):
    """Raised by a kind's validator; the loader adds file, line and layer."""

    def __init__(self, message: str, received: Any = None):
        super().__init__(message)
        self.message = message
        self.received = received


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def show(v) -> str:
    """How a received value is quoted back in an error message."""
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(show(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {show(x)}" for k, x in v.items()) + "}"
    return str(v)


@dataclass(frozen=True)
class Kind:
    """A parameter's value type: validator, JSON Schema fragment, words for messages."""

    name: str
    check: Callable[[Any], Any]
    schema: Mapping[str, Any]
    words: str


def _int_min(lo: int, words: str):
    def check(v):
        if not _is_int(v):
            raise ParamError(f"must be {words}", v)
        if v < lo:
            raise ParamError(f"must be {words}", v)
        return v

    return check


def _pair(lo: int, words: str):
    one = _int_min(lo, words)

    def check(v):
        if isinstance(v, (list, tuple)):
            if len(v) != 2:
                raise ParamError(f"must be {words} or a list [h, w]", v)
            return (one(v[0]), one(v[1]))
        return (one(v), one(v))

    return check


def _padding(v):
    if isinstance(v, str):
        s = v.strip().lower()
        if s in ("same", "valid"):
            return s
        raise ParamError("must be an integer ≥ 0, [h, w], [top, bottom, left, right], 'same' or 'valid'"
                         + did_you_mean(s, ("same", "valid")), v)
    nn = _int_min(0, "an integer ≥ 0")
    if isinstance(v, (list, tuple)):
        if len(v) == 2:
            h, w = nn(v[0]), nn(v[1])
            return (h, h, w, w)
        if len(v) == 4:
            return tuple(nn(x) for x in v)
        raise ParamError("must be an integer ≥ 0, [h, w] or [top, bottom, left, right]", v)
    p = nn(v)
    return (p, p, p, p)


def _bool(v):
    if isinstance(v, bool):
        return v
    raise ParamError("must be true or false", v)


def _number(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ParamError("must be a number", v)
    if v != v or v in (float("inf"), float("-inf")):
        raise ParamError("must be a finite number", v)
    return v


def _rate(v):
    v = _number(v)
    if not 0 <= v < 1:
        raise ParamError("must be at least 0 and less than 1", v)
    return v


def _shape(v):
    one = _int_min(1, "a positive integer")
    if isinstance(v, (list, tuple)) and 1 <= len(v) <= 3:
        return tuple(one(x) for x in v)
    if _is_int(v):
        return (one(v),)
    raise ParamError("must be a list of 1 to 3 positive integers", v)


_int_schema = {"type": "integer"}
POS_INT = Kind("pos_int", _int_min(1, "a positive integer"), {"type": "integer", "minimum": 1}, "a positive integer")
NONNEG_INT = Kind("nonneg_int", _int_min(0, "an integer ≥ 0"), {"type": "integer", "minimum": 0}, "an integer ≥ 0")
PAIR = Kind(
    "pair",
    _pair(1, "a positive integer"),
    {"oneOf": [{"type": "integer", "minimum": 1},
               {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2, "maxItems": 2}]},
    "a positive integer or [h, w]",
)
NONNEG_PAIR = Kind(
    "nonneg_pair",
    _pair(0, "an integer ≥ 0"),
    {"oneOf": [{"type": "integer", "minimum": 0},
               {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2, "maxItems": 2}]},
    "an integer ≥ 0 or [h, w]",
)
PADDING = Kind(
    "padding",
    _padding,
    {"oneOf": [{"type": "integer", "minimum": 0},
               {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2, "maxItems": 2},
               {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 4, "maxItems": 4},
               {"enum": ["same", "valid"]}]},
    "an integer ≥ 0, [h, w], [top, bottom, left, right], 'same' or 'valid'",
)
BOOL = Kind("bool", _bool, {"type": "boolean"}, "true or false")
NUMBER = Kind("number", _number, {"type": "number"}, "a number")
RATE = Kind("rate", _rate, {"type": "number", "minimum": 0, "exclusiveMaximum": 1}, "a number ≥ 0 and < 1")
SHAPE = Kind("shape", _shape, {"oneOf": [{"type": "integer", "minimum": 1},
                                         {"type": "array", "items": {"type": "integer", "minimum": 1},
                                          "minItems": 1, "maxItems": 3}]},
             "a list of positive integers")


def exact_number(v):
    """A number written in a spec as an exact value: an int, a decimal (``0.5`` is 1/2, not the
    float nearest it) or a fraction string (``"1/9"``); integral values come back as ints."""
    if isinstance(v, bool):
        raise ParamError("must be a number", v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise ParamError("must be a finite number", v)
        x = Fraction(repr(v))
    elif isinstance(v, str):
        try:
            x = Fraction(v.strip().replace("−", "-"))
        except (ValueError, ZeroDivisionError):
            raise ParamError("must be a number like 1, -0.5 or '1/9'", v) from None
    else:
        raise ParamError("must be a number", v)
    return x.numerator if x.denominator == 1 else x


def _numbers(v, depth=0):
    if isinstance(v, (list, tuple)):
        if not v:
            raise ParamError("must not contain an empty list", v)
        if depth > 4:
            raise ParamError("nests lists too deeply", v)
        return tuple(_numbers(x, depth + 1) for x in v)
    return exact_number(v)


def _number_lists(v):
    if not isinstance(v, (list, tuple)):
        raise ParamError("must be a list (of numbers, or of lists of numbers)", v)
    return _numbers(v)


NUMBERS = Kind("numbers", _number_lists,
               {"type": "array", "minItems": 1,
                "items": {"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "array", "minItems": 1}]}},
               "nested lists of numbers")


def nested_shape(v) -> tuple:
    """The sizes of a rectangular nest of tuples, or None when it is ragged or mixes numbers and lists.

    >>> nested_shape(((1, 2), (3, 4), (5, 6))), nested_shape(((1, 2), (3,))), nested_shape(7)
    ((3, 2), None, ())
    """
    if not isinstance(v, tuple):
        return ()
    subs = {nested_shape(x) for x in v}
    if len(subs) != 1 or None in subs:
        return None
    return (len(v),) + subs.pop()


def flat(v) -> list:
    """The numbers of a nest of tuples in row-major order."""
    if not isinstance(v, tuple):
        return [v]
    if v and not isinstance(v[0], tuple):
        return list(v)
    out = []
    for x in v:
        out.extend(flat(x))
    return out


def choice(*values: str) -> Kind:
    def check(v):
        if isinstance(v, str) and v.strip().lower() in values:
            return v.strip().lower()
        hint = did_you_mean(v.strip().lower(), values) if isinstance(v, str) else ""
        raise ParamError("must be one of " + ", ".join(values) + hint, v)

    return Kind("choice", check, {"enum": list(values)}, "one of " + ", ".join(values))


@dataclass(frozen=True)
class Param:
    kind: Kind
    default: Any = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass
class Out:
    """What ``infer`` returns for one layer."""

    shape: Shape
    counts: Counts = field(default_factory=Counts)
    warnings: list = field(default_factory=list)  # list[cnncalc.core.warns.LayerWarning]
    # the receptive-field step (cnncalc.core.receptive): (F_eff_h, F_eff_w, S_h, S_w, P_before_h, P_before_w),
    # ('global',), ('adaptive',); None = identity (a view, an elementwise layer, a merge)
    rf: Optional[tuple] = None
    work: Optional[Mapping[str, Any]] = None  # intermediate values its worked formulas show
    parts: tuple = ()  # shapes of several named outputs (split): later layers read NAME.0, NAME.1, …
    ew: Mapping[str, int] = field(default_factory=dict)  # Layer.elementwise of this result (set by analysis)


class Torch(NamedTuple):
    """One PyTorch construct, as data: ``op`` is a ``torch.nn`` class name (``"Conv2d"``) or
    one of the oracle's functional forms (``"cat"``, ``"add"``, ``"mul"``, ``"reshape"``,
    ``"rescale"``, ``"bias"``, ``"TFSamePad2d"``: TensorFlow's SAME padding worked out from the input size).
    A layer maps to a tuple of them, applied in order (the first takes every input)."""

    op: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = {}


class Keras(NamedTuple):
    """One Keras construct, as data: ``op`` is a ``keras.layers`` class name (``"Conv2D"``) or one
    of the exporter's own small layers (``"LayerScale"``). A layer maps to a tuple of them,
    applied in order (the first takes every input); each is named after the spec's layer, plus
    ``suffix`` when it is not the layer itself (``conv1_pad``: the ZeroPadding2D of a conv)."""

    op: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = {}
    suffix: str = ""


class Layer:
    """Base class of every layer type. Subclasses set the class attributes and ``infer``."""

    type: str = ""
    doc: str = ""
    params: Mapping[str, Param] = {}
    primary: Optional[str] = None  # parameter set by the scalar shorthand, ``maxpool: 2``
    min_inputs: int = 1
    max_inputs: Optional[int] = 1
    view: bool = False  # re-views its input: adds no activations (flatten, dropout, reshape)
    weight_layers: int = 0  # layers of weights it adds to a path, as papers count depth (conv, dense: 1)
    aliases: tuple = ()

    def configure(self, p: dict) -> dict:
        """Cross-parameter checks and defaults that depend on other parameters."""
        return p

    # the ONNX / Keras / Caffe op names this layer type is read from (data for importers)
    imports: Mapping[str, tuple] = {}

    def infer(self, ins: list, p: Mapping[str, Any]) -> Out:  # pragma: no cover - abstract
        raise NotImplementedError

    def elementwise(self, ins: list, p: Mapping[str, Any], out: "Out") -> Mapping[str, int]:
        """Element-wise operations beside the MACs, by kind (cnncalc/core/elementwise.py defines
        each kind's unit): {kind: count}, zero kinds left out. The default counts an activation
        fused into the layer over its output (``activation: relu``)."""
        return fused(p, out.shape)

    def describe(self, p: Mapping[str, Any]) -> str:
        """A short description for tables: 'dense', 'conv 3×3/1 p1+relu'."""
        return self.type + (f"+{p['activation']}" if p.get("activation") else "")

    def explain(self, w) -> list:
        """[(figure, text)]: the worked formulas of its own figures (output size, params, MACs).
        ``w`` is a cnncalc.layers.worked.Work: the report's row, its inputs' rows and the ``Out``
        that ``infer`` returned for it. FLOPs, activations, memory and the receptive field are
        written by cnncalc.render.explain for every layer alike."""
        from .worked import generic_lines

        return generic_lines(w)

    def rf_formula(self, r_in, j_in, f, s, r_out, j_out) -> str:
        """One axis of the receptive-field step (Araujo et al.), from the step ``infer`` gave."""
        from .worked import n

        return (f"r = r_in + (F_eff − 1)·j_in = {n(r_in)} + ({n(f)} − 1)·{n(j_in)} = {n(r_out)}; "
                f"jump = j_in·S = {n(j_in)}·{n(s)} = {n(j_out)}")

    def torch(self, p: Mapping[str, Any], ins: list) -> Optional[tuple]:
        """The PyTorch construct (a tuple of Torch) for these parameters and input shapes (H×W×C);
        None when there is none (the oracle reports it, never skips it silently)."""
        return None

    def keras(self, p: Mapping[str, Any], ins: list) -> Optional[tuple]:
        """The Keras construct (a tuple of Keras) for these parameters and input shapes (H×W×C);
        None when Keras has none (``cnncalc export --to keras`` refuses the spec, naming the layer)."""
        return None

    def forward(self, p: Mapping[str, Any], ins: list, out_shape: tuple) -> list:
        """Numeric forward for ``cnncalc values``: ``ins`` is a list of ``(shape, data)`` with
        ``data`` the flat list of values in H, W, C row-major order (ints, Fractions, floats);
        returns the output's flat data. A type without one says so."""
        raise NoForward(f"{self.type} has no numeric forward: cnncalc values cannot compute it")


class Windowed(Layer):
    """A layer that slides a kernel over H×W: described as 'conv 3×3/2 p1 d2 g4 ceil'."""

    def describe(self, p: Mapping[str, Any]) -> str:
        kh, kw = p["kernel"]
        text = f"{self.type} {kh}×{kw}"
        stride = p.get("stride")
        if stride:
            text += f"/{_pair_text(stride)}"
        pad = p.get("padding")
        if isinstance(pad, str):
            text += f" {pad}"
        elif pad and any(pad):
            t_, b, left, right = pad
            text += f" p{t_}" if len(set(pad)) == 1 else f" p{t_},{b},{left},{right}"
        if p.get("dilation") not in (None, (1, 1)):
            text += f" d{_pair_text(p['dilation'])}"
        if p.get("groups", 1) != 1:
            text += f" g{p['groups']}"
        if p.get("ceil_mode"):
            text += " ceil"
        if p.get("activation"):
            text += f"+{p['activation']}"
        return text


def _pair_text(v) -> str:
    a, b = v
    return f"{a}" if a == b else f"{a}×{b}"


class NoForward(Exception):
    """A layer cannot compute values (no forward, or numbers it was not given); one line."""

    def __init__(self, message: str, param: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.param = param


# ---------------------------------------------------------------------------------------------
# helpers shared by layer implementations


def ew(**kinds) -> dict:
    """{kind: count} without the zero kinds: what ``Layer.elementwise`` returns."""
    return {k: v for k, v in kinds.items() if v}


def activation_ops(name, shape) -> dict:
    """An activation over a tensor of ``shape``: softmax is its own kind, identity counts nothing."""
    if not name or name in ("identity", "linear"):
        return {}
    return {"softmax" if name == "softmax" else "act": elements(shape)}


def normalised(out: "Out") -> dict:
    """A normalisation layer: every output element normalised, 2 operations each when it has a
    learnable γ or β (fvcore's and ptflops' BatchNorm), 1 without; and its γ and β parameters
    (``weights`` + ``biases``: torchinfo's count) as ``affine``."""
    gb = out.counts.weights + out.counts.biases
    return ew(norm=elements(out.shape) * (2 if gb else 1), affine=gb)


def biased(p: Mapping[str, Any], shape) -> dict:
    """A layer with a ``bias`` parameter: one bias addition per output value, and its fused activation."""
    return fused(p, shape, bias=elements(shape) if p.get("bias") else 0)


def fused(p: Mapping[str, Any], shape, **kinds) -> dict:
    """``kinds`` plus the activation fused into a layer (its ``activation`` parameter) over ``shape``."""
    out = ew(**kinds)
    out.update(activation_ops(p.get("activation"), shape))
    return out


def frac_text(x: Fraction) -> str:
    """4.5, 28, or 17/3 ≈ 5.667 — exact where the decimal is exact."""
    if x.denominator == 1:
        return str(x.numerator)
    d = x.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1:
        return format(float(x), "f").rstrip("0").rstrip(".") if abs(x) < 10**15 else str(x)
    if abs(x) < 10**15:
        return f"{x.numerator}/{x.denominator} ≈ {float(x):.3f}"
    milli = round(x * 1000)  # beyond a float's precision (or range): exact decimals
    return f"{x.numerator}/{x.denominator} ≈ {milli // 1000}.{milli % 1000:03d}"


def size_expr(w: int, f_eff: int, pb: int, pa: int, s: int) -> str:
    """The output-size formula with the numbers in, the way a student writes it:
    ``(224 − 3 + 2·1)/1 + 1``."""
    if pb == pa:
        pad = "0" if pb == 0 else f"2·{pb}"
    else:
        pad = f"{pb} + {pa}"
    return f"({w} − {f_eff} + {pad})/{s} + 1"


def need_spatial(layer: Layer, shape: Shape) -> None:
    if len(shape) != 3:
        raise ShapeError(f"{layer.type} needs an H×W×C input", received=shape_text(shape))


def need_vector(layer: Layer, shape: Shape) -> None:
    if len(shape) != 1:
        raise ShapeError(f"{layer.type} needs a vector input; add a flatten or a global pool before it",
                         received=shape_text(shape))


def shape_text(shape: Shape) -> str:
    return "×".join(str(x) for x in shape)
