"""Layers of modern mobile networks: depthwise and depthwise-separable conv shorthands,
upsampling, broadcasting multiply (squeeze-and-excitation) and channel shuffle."""

from __future__ import annotations

from fractions import Fraction

from ..core import formulas as fm
from ..core.errors import ShapeError
from ..core.model import Counts
from .activations import FUSABLE, keras_activation, torch_activation
from .base import (BOOL, NUMBERS, PADDING, PAIR, POS_INT, Keras, Layer, NoForward, Out, Param, ParamError, Torch,
                   Windowed, biased, choice, ew, need_spatial, shape_text)
from .spatial import conv_pad, keras_pad, keras_strided_dilated, window


def _depth_multiplier(p: dict) -> dict:
    """Keras writes the multiplier as depth_multiplier: either name, not both."""
    if p.get("depth_multiplier") is not None:
        if p["multiplier"] != 1:
            raise ParamError("multiplier and depth_multiplier are the same parameter: write one",
                             p["depth_multiplier"])
        p["multiplier"] = p["depth_multiplier"]
    p["depth_multiplier"] = None
    return p


def keras_separable(op: str, args: tuple, p) -> tuple:
    """Keras's DepthwiseConv2D and SeparableConv2D: the same keywords (the bias is the last conv's)."""
    if keras_strided_dilated(p):
        return None
    act, after = keras_activation(p.get("activation"))
    pre, padding = keras_pad(p["padding"])
    kw = {"strides": tuple(p["stride"]), "padding": padding, "depth_multiplier": p["multiplier"],
          "dilation_rate": tuple(p["dilation"]), "use_bias": p["bias"], **act}
    return pre + (Keras(op, args, kw),) + after


class Depthwise(Windowed):
    type = "depthwise"
    weight_layers = 1
    imports = {"onnx": ("Conv",), "keras": ("DepthwiseConv2D",), "caffe": ("Convolution",)}
    aliases = ("depthwise_conv", "dwconv")
    doc = "depthwise conv: one F×F filter per input channel (× multiplier); a conv with groups = C_in"
    primary = "kernel"
    params = {
        "kernel": Param(PAIR, doc="F, or [F_h, F_w]"),
        "stride": Param(PAIR, 1, "S, or [S_h, S_w]"),
        "padding": Param(PADDING, 0, "P, [P_h, P_w], [top, bottom, left, right], same or valid"),
        "dilation": Param(PAIR, 1, "d (1 is a dense kernel)"),
        "multiplier": Param(POS_INT, 1, "depth multiplier m: output channels C_in·m"),
        "depth_multiplier": Param(POS_INT, None, "Keras's name for multiplier"),
        "bias": Param(BOOL, True, "learnable bias per output channel"),
        "activation": Param(choice(*FUSABLE), None, "activation fused into this layer (adds no row)"),
        "weights": Param(NUMBERS, None, "values only: C·m filters of F_h×F_w, PyTorch's order (filter i reads "
                                        "input channel i // m); changes no figure"),
        "biases": Param(NUMBERS, None, "values only: C·m numbers, where bias is true"),
    }

    def configure(self, p):
        if p.get("biases") is not None and not p["bias"]:
            raise ParamError("biases given but bias is false", "biases")
        return _depth_multiplier(p)

    def infer(self, ins, p) -> Out:
        shape = ins[0]
        need_spatial(self, shape)
        c, m = shape[2], p["multiplier"]
        from .numeric import check_values

        kh, kw = p["kernel"]
        check_values(p, "weights", (c * m, kh, kw), f"{c * m} filters of {kh}×{kw} numbers (C·m)")
        check_values(p, "biases", (c * m,), f"{c * m} numbers (one per output channel)")
        work: dict = {}
        oh, ow, pads, warns = window(self, shape, p["kernel"], p["stride"], p["padding"], p["dilation"], work=work)
        fh, fw = p["kernel"]
        counts = Counts(weights=fm.conv_weights(fh, fw, c, c * m, c), biases=c * m if p["bias"] else 0,
                        macs=fm.conv_macs(oh, ow, c * m, fh, fw, c, c))
        rf = (fm.effective_kernel(fh, p["dilation"][0]), fm.effective_kernel(fw, p["dilation"][1]),
              p["stride"][0], p["stride"][1], pads[0], pads[2])
        return Out((oh, ow, c * m), counts, warns, rf, work)

    def elementwise(self, ins, p, out) -> dict:
        return biased(p, out.shape)

    def explain(self, w) -> list:
        from .worked import n, params_line, prod, window_lines  # noqa: F401  (explanations only)

        # one F_h×F_w filter per input channel and multiplier: C·m filters of one channel each
        (oh, ow, cm), c = w.r.output_shape, w.in_shape[2]
        fh, fw = w.p["kernel"]
        filters = f"{c}·{w.p['multiplier']}" if w.p["multiplier"] != 1 else f"{c}"
        return window_lines(w) + [
            params_line(w, f"({fh}·{fw})·{filters}", biases_of=str(cm)),
            ("macs", f"MACs = {prod(oh, ow, cm)}·({fh}·{fw}) = {n(w.r.macs)}  (each output channel reads one "
                     "input channel)")]

    def torch(self, p, ins) -> tuple:
        c = ins[0][2]
        pre, pad = conv_pad(p["padding"], p["kernel"], p["stride"], p["dilation"])
        return pre + (
            Torch("Conv2d", (c, c * p["multiplier"], tuple(p["kernel"])),
                  {"stride": tuple(p["stride"]), "padding": pad, "dilation": tuple(p["dilation"]), "groups": c,
                   "bias": p["bias"]}),) + torch_activation(p.get("activation"))

    def keras(self, p, ins):
        return keras_separable("DepthwiseConv2D", (tuple(p["kernel"]),), p)

    def forward(self, p, ins, out_shape):  # the conv with groups = C_in it is (one home: Conv.forward)
        from . import REGISTRY
        from .numeric import need
        from .spatial import bias_values

        c, m = ins[0][0][2], p["multiplier"]
        kh, kw = p["kernel"]
        need(self, p, "weights", f"{c * m} filters of {kh}×{kw}")
        bias_values(self, p, c * m)
        conv = dict(p, filters=c * m, groups=c, reduce="sum")
        return REGISTRY["conv"].forward(conv, ins, out_shape)


class SeparableConv(Windowed):
    type = "separable_conv"
    weight_layers = 2  # depthwise, then pointwise (MobileNet counts them as two layers)
    imports = {"keras": ("SeparableConv2D",)}
    aliases = ("sepconv", "separable", "separableconv2d", "dwsconv")
    doc = ("depthwise-separable conv (Keras SeparableConv2D): an F×F depthwise conv without bias, "
           "then a 1×1 pointwise conv to K filters with bias; one row, the intermediate "
           "tensor not counted as an activation")
    primary = "filters"
    params = {
        "filters": Param(POS_INT, doc="output channels K of the pointwise conv"),
        "kernel": Param(PAIR, doc="F of the depthwise conv, or [F_h, F_w]"),
        "stride": Param(PAIR, 1, "S of the depthwise conv"),
        "padding": Param(PADDING, 0, "P of the depthwise conv, or same / valid"),
        "dilation": Param(PAIR, 1, "d of the depthwise conv"),
        "multiplier": Param(POS_INT, 1, "depth multiplier m of the depthwise conv"),
        "depth_multiplier": Param(POS_INT, None, "Keras's name for multiplier"),
        "bias": Param(BOOL, True, "bias of the pointwise conv (the depthwise conv has none, as in Keras)"),
        "activation": Param(choice(*FUSABLE), None, "activation fused into this layer (adds no row)"),
        "depthwise_weights": Param(NUMBERS, None, "values only: C·m filters of F_h×F_w (filter i reads input "
                                                  "channel i // m); changes no figure"),
        "pointwise_weights": Param(NUMBERS, None, "values only: K rows of C·m numbers"),
        "biases": Param(NUMBERS, None, "values only: K numbers, where bias is true"),
    }

    def configure(self, p):
        if p.get("biases") is not None and not p["bias"]:
            raise ParamError("biases given but bias is false", "biases")
        return _depth_multiplier(p)

    def infer(self, ins, p) -> Out:
        shape = ins[0]
        need_spatial(self, shape)
        c, m, k = shape[2], p["multiplier"], p["filters"]
        from .numeric import check_values

        kh, kw = p["kernel"]
        check_values(p, "depthwise_weights", (c * m, kh, kw), f"{c * m} filters of {kh}×{kw} numbers (C·m)")
        check_values(p, "pointwise_weights", (k, c * m), f"{k} rows of {c * m} numbers (K × C·m)")
        check_values(p, "biases", (k,), f"{k} numbers (one per filter)")
        work: dict = {}
        oh, ow, pads, warns = window(self, shape, p["kernel"], p["stride"], p["padding"], p["dilation"], work=work)
        fh, fw = p["kernel"]
        dw_w = fm.conv_weights(fh, fw, c, c * m, c)
        pw_w = fm.conv_weights(1, 1, c * m, k, 1)
        macs = fm.conv_macs(oh, ow, c * m, fh, fw, c, c) + fm.conv_macs(oh, ow, k, 1, 1, c * m, 1)
        rf = (fm.effective_kernel(fh, p["dilation"][0]), fm.effective_kernel(fw, p["dilation"][1]),
              p["stride"][0], p["stride"][1], pads[0], pads[2])
        return Out((oh, ow, k), Counts(weights=dw_w + pw_w, biases=k if p["bias"] else 0, macs=macs), warns, rf,
                   work)

    def elementwise(self, ins, p, out) -> dict:
        return biased(p, out.shape)

    def explain(self, w) -> list:
        from .worked import n, params_line, prod, window_lines  # noqa: F401  (explanations only)

        # depthwise F_h×F_w on each of C·m channels (no bias), then a 1×1 conv from C·m to K
        (oh, ow, k), c, m = w.r.output_shape, w.in_shape[2], w.p["multiplier"]
        fh, fw = w.p["kernel"]
        cm = f"{c}·{m}" if m != 1 else f"{c}"
        return window_lines(w) + [
            params_line(w, f"{fh}·{fw}·{cm} + {cm}·{k}", biases_of=str(k)),
            ("macs", f"MACs = {prod(oh, ow, cm)}·({fh}·{fw}) + {prod(oh, ow, k)}·{cm} = {n(w.r.macs)}  "
                     "(depthwise + pointwise)")]

    def torch(self, p, ins) -> tuple:
        c, m = ins[0][2], p["multiplier"]
        pre, pad = conv_pad(p["padding"], p["kernel"], p["stride"], p["dilation"])
        return pre + (
            Torch("Conv2d", (c, c * m, tuple(p["kernel"])),
                  {"stride": tuple(p["stride"]), "padding": pad, "dilation": tuple(p["dilation"]), "groups": c,
                   "bias": False}),
            Torch("Conv2d", (c * m, p["filters"], 1), {"bias": p["bias"]})) + torch_activation(p.get("activation"))

    def keras(self, p, ins):
        return keras_separable("SeparableConv2D", (p["filters"], tuple(p["kernel"])), p)

    def forward(self, p, ins, out_shape):  # the depthwise conv, then the 1×1 conv (one home: Conv.forward)
        from . import REGISTRY
        from .numeric import need
        from .spatial import bias_values

        (h, w, c), _ = ins[0]
        m, k = p["multiplier"], p["filters"]
        kh, kw = p["kernel"]
        oh, ow, _ = out_shape
        dw = need(self, p, "depthwise_weights", f"{c * m} filters of {kh}×{kw}")
        pw = need(self, p, "pointwise_weights", f"{k} rows of {c * m} numbers")
        bias_values(self, p, k)
        conv = REGISTRY["conv"]
        mid = conv.forward(dict(p, filters=c * m, groups=c, reduce="sum", weights=dw, bias=False, biases=None,
                                activation=None), ins, (oh, ow, c * m))
        return conv.forward({"kernel": (1, 1), "stride": (1, 1), "dilation": (1, 1), "padding": (0, 0, 0, 0),
                             "groups": 1, "filters": k, "reduce": "sum", "weights": pw, "bias": p["bias"],
                             "biases": p.get("biases"), "activation": p.get("activation")},
                            [((oh, ow, c * m), mid)], out_shape)


class Upsample(Layer):
    type = "upsample"
    aliases = ("upsampling2d", "interpolate", "upsampling")
    doc = "nearest / bilinear upsampling by an integer scale or to a size (no parameters, no MACs)"
    imports = {"onnx": ("Resize", "Upsample"), "keras": ("UpSampling2D",)}
    primary = "scale"
    params = {
        "scale": Param(PAIR, None, "integer scale factor, or [s_h, s_w]"),
        "size": Param(PAIR, None, "output H×W instead of a scale"),
        "mode": Param(choice("nearest", "bilinear"), "nearest", "interpolation"),
        "align_corners": Param(BOOL, False, "bilinear only (no effect on shapes)"),
    }

    def configure(self, p):
        if (p["scale"] is None) == (p["size"] is None):
            raise ParamError("upsample takes either scale or size (exactly one)",
                             "neither" if p["scale"] is None else "both")
        return p

    def infer(self, ins, p) -> Out:
        shape = ins[0]
        need_spatial(self, shape)
        h, w, c = shape
        if p["scale"] is not None:
            oh, ow = h * p["scale"][0], w * p["scale"][1]
        else:
            oh, ow = p["size"]
        # receptive field: a 1-wide window, the jump shrinks by the scale (Fraction: exact)
        return Out((oh, ow, c), Counts(), [], (1, 1, Fraction(h, oh), Fraction(w, ow)))

    def forward(self, p, ins, out_shape):
        if p["mode"] == "bilinear":
            return _bilinear(p, ins[0], out_shape)
        (h, w, c), x = ins[0]
        oh, ow, _ = out_shape
        out = []
        for y in range(oh):  # PyTorch 'nearest': source index floor(dst·in/out)
            r = (y * h) // oh
            for q in range(ow):
                s0 = (r * w + (q * w) // ow) * c
                out.extend(x[s0:s0 + c])
        return out

    def torch(self, p, ins) -> tuple:
        kw = {"mode": p["mode"]}
        if p["mode"] == "bilinear":
            kw["align_corners"] = p["align_corners"]
        if p["scale"] is not None:
            return (Torch("Upsample", kwargs={"scale_factor": tuple(float(x) for x in p["scale"]), **kw}),)
        return (Torch("Upsample", kwargs={"size": tuple(p["size"]), **kw}),)

    def keras(self, p, ins) -> tuple:
        if p["scale"] is not None:
            return (Keras("UpSampling2D", kwargs={"size": tuple(p["scale"]), "interpolation": p["mode"]}),)
        return (Keras("Resizing", tuple(p["size"]), {"interpolation": p["mode"]}),)


def _taps(n: int, m: int, align: bool) -> list:
    """Per output index along an axis of n → m: (i0, i1, λ) with the value (1 − λ)·x[i0] + λ·x[i1],
    as PyTorch's bilinear interpolation maps it (align_corners: o·(n − 1)/(m − 1); else
    (o + ½)·n/m − ½, at least 0), in exact fractions."""
    taps = []
    for o in range(m):
        if align:
            src = Fraction(o * (n - 1), m - 1) if m > 1 else Fraction(0)
        else:
            src = max((o + Fraction(1, 2)) * n / m - Fraction(1, 2), Fraction(0))
        i0 = min(int(src), n - 1)
        taps.append((i0, min(i0 + 1, n - 1), src - i0))
    return taps


def _bilinear(p, src, out_shape) -> list:
    from .numeric import add_exact, mul_exact

    (h, w, c), x = src
    oh, ow, _ = out_shape
    ty, tx = _taps(h, oh, p["align_corners"]), _taps(w, ow, p["align_corners"])
    out = []
    for y0, y1, ly in ty:
        for x0, x1, lx in tx:
            corners = (((y0, x0), (1 - ly) * (1 - lx)), ((y0, x1), (1 - ly) * lx),
                       ((y1, x0), ly * (1 - lx)), ((y1, x1), ly * lx))
            for ch in range(c):
                v = 0
                for (r, q), f in corners:
                    if f:
                        v = add_exact(v, mul_exact(x[(r * w + q) * c + ch], f))
                out.append(v.numerator if type(v) is Fraction and v.denominator == 1 else v)
    return out


def broadcast(shapes) -> tuple:
    """NumPy broadcasting over H×W×C shapes, axes aligned from the channel end; a vector [C]
    is a per-channel vector. Returns the output shape or raises ShapeError.

    >>> broadcast([(7, 7, 64), (1, 1, 64)]), broadcast([(7, 7, 64), (64,)])
    ((7, 7, 64), (7, 7, 64))
    """
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(1, rank + 1):
        sizes = {s[-axis] for s in shapes if len(s) >= axis} - {1}
        if len(sizes) > 1:
            raise ShapeError("multiply needs shapes that broadcast (each axis equal or 1, from the channels back)",
                             received=", ".join(shape_text(s) for s in shapes))
        out.append(sizes.pop() if sizes else 1)
    return tuple(reversed(out))


class Multiply(Layer):
    type = "multiply"
    aliases = ("mul", "scale_channels")
    doc = ("elementwise product of two or more inputs, broadcasting (squeeze-and-excitation: "
           "H×W×C × 1×1×C or × a vector of C); no MACs under the conv/dense convention")
    imports = {"onnx": ("Mul",), "keras": ("Multiply",), "caffe": ("Eltwise",)}
    min_inputs, max_inputs = 2, None
    params = {}

    def infer(self, ins, p) -> Out:
        return Out(broadcast([tuple(s) for s in ins]))

    def elementwise(self, ins, p, out) -> dict:
        return ew(merge=(len(ins) - 1) * fm.elements(out.shape))

    def forward(self, p, ins, out_shape):
        from itertools import product

        rank = len(out_shape)
        out = []
        for idx in product(*(range(n) for n in out_shape)):
            v = 1
            for shape, data in ins:
                sub = idx[rank - len(shape):]
                k = 0
                for i, n in zip(sub, shape):
                    k = k * n + (i if n > 1 else 0)
                v = v * data[k]
            out.append(v.numerator if type(v) is Fraction and v.denominator == 1 else v)
        return out

    def torch(self, p, ins) -> tuple:
        return (Torch("mul"),)  # broadcasting; a vector of C is a per-channel factor

    def keras(self, p, ins):
        if len({len(s) for s in ins}) != 1:
            return None  # Keras's Multiply broadcasts within one rank only (reshape the vector to 1×1×C)
        return (Keras("Multiply"),)


class ChannelShuffle(Layer):
    type = "channel_shuffle"
    aliases = ("shuffle", "channelshuffle")
    doc = "ShuffleNet channel shuffle: C channels in g groups, transposed; no parameters"
    imports = {"onnx": ("Reshape", "Transpose"), "caffe": ("ShuffleChannel",)}  # ONNX: view, transpose, view
    primary = "groups"
    params = {"groups": Param(POS_INT, doc="groups g (must divide C)")}

    def infer(self, ins, p) -> Out:
        shape = ins[0]
        need_spatial(self, shape)
        if shape[2] % p["groups"]:
            raise ShapeError(f"groups={p['groups']} does not divide the {shape[2]} channels",
                             received=f"input {shape_text(shape)}")
        return Out(tuple(shape))

    def forward(self, p, ins, out_shape):  # PyTorch: view (g, C/g), transpose, flatten
        (h, w, c), x = ins[0]
        g = p["groups"]
        n = c // g
        order = [(j % g) * n + j // g for j in range(c)]
        out = []
        for pos in range(h * w):
            row = x[pos * c:(pos + 1) * c]
            out.extend(row[i] for i in order)
        return out

    def torch(self, p, ins) -> tuple:
        return (Torch("ChannelShuffle", (p["groups"],)),)

    def keras(self, p, ins) -> tuple:
        return (Keras("ChannelShuffle", (p["groups"],)),)  # the exporter's own layer (Keras has none)



class LocallyConnected(Windowed):
    type = "locally_connected"
    imports = {"keras": ("LocallyConnected2D",)}
    aliases = ("locallyconnected2d", "local", "unshared_conv")
    doc = ("convolution without weight sharing (Keras LocallyConnected2D): every output position has "
           "its own F_h×F_w×C_in×K weights and its own K biases")
    primary = "filters"
    weight_layers = 1
    params = {
        "filters": Param(POS_INT, doc="number of output channels K"),
        "kernel": Param(PAIR, doc="F, or [F_h, F_w]"),
        "stride": Param(PAIR, 1, "S, or [S_h, S_w]"),
        "padding": Param(PADDING, 0, "P, [P_h, P_w], [top, bottom, left, right] or valid (Keras: valid only)"),
        "bias": Param(BOOL, True, "a bias per output position and channel (Keras: H_out·W_out·K)"),
        "activation": Param(choice(*FUSABLE), None, "activation fused into this layer (adds no row)"),
    }

    def infer(self, ins, p) -> Out:
        shape = ins[0]
        need_spatial(self, shape)
        c, k = shape[2], p["filters"]
        work: dict = {}
        oh, ow, pads, warns = window(self, shape, p["kernel"], p["stride"], p["padding"], work=work)
        fh, fw = p["kernel"]
        per_position = fm.conv_weights(fh, fw, c, k)
        counts = Counts(weights=oh * ow * per_position, biases=oh * ow * k if p["bias"] else 0,
                        macs=fm.conv_macs(oh, ow, k, fh, fw, c))
        return Out((oh, ow, k), counts, warns, (fh, fw, p["stride"][0], p["stride"][1], pads[0], pads[2]), work)

    def elementwise(self, ins, p, out) -> dict:
        return biased(p, out.shape)

    def explain(self, w) -> list:
        # a conv without weight sharing: one filter bank per output position
        from .worked import n, prod, window_lines

        c_in = w.in_shape[2]
        (fh, fw), k = w.p["kernel"], w.p["filters"]
        oh, ow, _ = w.r.output_shape
        weights = f"{oh}·{ow}·({fh}·{fw}·{c_in})·{k}"
        if w.r.biases and w.conventions.count_biases:
            params = ("params", f"params = {weights} + {oh}·{ow}·{k} = {n(w.r.params)}  (no weight sharing)")
        else:
            params = ("params", f"params = {weights} = {n(w.r.params)}  (no weight sharing)")
        return window_lines(w) + [params, ("macs", f"MACs = {prod(oh, ow, k)}·({fh}·{fw}·{c_in}) = {n(w.r.macs)}")]

    def forward(self, p, ins, out_shape):
        raise NoForward("locally_connected takes no weights: cnncalc values cannot compute it", "weights")


LAYERS = (Depthwise, SeparableConv, Upsample, Multiply, ChannelShuffle, LocallyConnected)
