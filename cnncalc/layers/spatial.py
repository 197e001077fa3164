"""Layers that slide a window over H×W: convolution and pooling."""

from __future__ import annotations

from operator import mul
from typing import Any, Mapping

from ..core import formulas as fm
from ..core.errors import ShapeError
from ..core.model import Counts
from ..core.warns import MISFIT, UNEVEN_WINDOWS, LayerWarning
from ..core.warns import PADDING as PADDING_WARNING
from .activations import FUSABLE, keras_activation, torch_activation
from .base import (BOOL, NUMBERS, PADDING, PAIR, POS_INT, Keras, Layer, NoForward, Out, Param, ParamError, Torch,
                   Windowed, biased, choice, ew, flat, need_spatial, nested_shape, shape_text)
from .numeric import need, scaled, unscale


def _axis_pads(padding, h: int, w: int, kernel, stride, dilation):
    """Resolve a normalised padding (4-tuple, 'same', 'valid') to (top, bottom, left, right)."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        _, t, b = fm.same_padding(h, kernel[0], stride[0], dilation[0])
        _, left, right = fm.same_padding(w, kernel[1], stride[1], dilation[1])
        return (t, b, left, right)
    return padding


def window(layer: Layer, shape, kernel, stride, padding, dilation=(1, 1), ceil_mode=False, work=None):
    """Output H, W of a sliding window, the pads used, and warnings for sizes that do not fit.

    ``work``: a dict to record, under "window", what the worked formulas show (the pads and,
    per axis, W, F, d, F_eff, the pads, S and the exact size)."""
    need_spatial(layer, shape)
    h, w, _ = shape
    pads = _axis_pads(padding, h, w, kernel, stride, dilation)
    out, misfits, axes = [], [], []
    for axis, size, f, s, d, pb, pa in (
        ("H", h, kernel[0], stride[0], dilation[0], pads[0], pads[1]),
        ("W", w, kernel[1], stride[1], dilation[1], pads[2], pads[3]),
    ):
        f_eff = fm.effective_kernel(f, d)
        if ceil_mode:
            r = fm.pool_output(size, f, s, pb, d, ceil_mode=True, p_after=pa)
        else:
            r = fm.conv_output(size, f, s, pb, pa, d)
        if r.size < 1:
            what = f"kernel {f_eff}" + (f" (dilated from {f})" if d != 1 else "")
            raise ShapeError(
                f"{what} is larger than the padded input {size + pb + pa} along {axis}",
                received=f"input {shape_text(shape)}, padding {pb}+{pa}",
            )
        out.append(r.size)
        if work is not None:
            axes.append({"label": axis, "size": size, "kernel": f, "dilation": d, "kernel_eff": f_eff,
                         "pad_before": pb, "pad_after": pa, "stride": s, "result": r})
        # 'same' is defined as ⌈W/S⌉ (Keras, TensorFlow): its padding leaves no remainder to report
        if not r.fits and not ceil_mode and padding != "same":
            misfits.append((axis, (size, f_eff, pb, pa, s, r)))
    if len(misfits) == 2 and misfits[0][1] == misfits[1][1]:
        misfits = [("H and W", misfits[0][1])]
    if work is not None:
        work["window"] = {"axes": axes, "pads": pads, "same": padding == "same", "ceil_mode": ceil_mode}
    warns = [LayerWarning(MISFIT, {"axis": axis, "size": size, "kernel": f_eff, "pad_before": pb, "pad_after": pa,
                                   "stride": s, "exact": r.exact, "floored": r.size})
             for axis, (size, f_eff, pb, pa, s, r) in misfits]
    return out[0], out[1], pads, warns


def torch_pad(padding, kernel, stride, dilation=(1, 1)) -> tuple:
    """The PyTorch construct of a padding before a window: none, ZeroPad2d or TF SAME."""
    if padding == "valid":
        return ()
    if padding == "same":
        return (Torch("TFSamePad2d", kwargs={"kernel": tuple(kernel), "stride": tuple(stride),
                                             "dilation": tuple(dilation)}),)
    t, b, left, right = padding
    return (Torch("ZeroPad2d", ((left, right, t, b),)),) if any(padding) else ()


def conv_pad(padding, kernel, stride, dilation) -> tuple:
    """A conv's padding in PyTorch: (constructs before it, Conv2d's ``padding=``): symmetric
    padding is Conv2d's own (as torchvision writes it), any other a construct before."""
    if isinstance(padding, tuple) and padding[0] == padding[1] and padding[2] == padding[3]:
        return (), (padding[0], padding[2])
    return torch_pad(padding, kernel, stride, dilation), 0


def keras_pad(padding) -> tuple:
    """A padding before a window in Keras: (constructs before the layer, the layer's padding=).
    Keras's same is cnncalc's same; numeric padding is a ZeroPadding2D, then valid."""
    if isinstance(padding, str):
        return (), padding
    t, b, left, right = padding
    if not any(padding):
        return (), "valid"
    return (Keras("ZeroPadding2D", (((t, b), (left, right)),), suffix="_pad"),), "valid"


def keras_strided_dilated(p) -> bool:
    """Keras's conv layers refuse a stride and a dilation both above 1."""
    return max(p["stride"]) > 1 and max(p.get("dilation", (1, 1))) > 1


def conv_counts_lines(w, transposed: bool = False) -> list:
    """params = (F_h·F_w·C_in/g)·K + K and MACs = H_out·W_out·K·(F_h·F_w·C_in/g) (a transposed
    conv: H_in·W_in·C_in·(F_h·F_w·K/g))."""
    from .worked import n, params_line, prod, window_lines  # noqa: F401  (explanations only)

    ih, iw, c_in = w.in_shape
    fh, fw = w.p["kernel"]
    k, g = w.p["filters"], w.p["groups"]
    oh, ow, _ = w.r.output_shape
    per = f"{fh}·{fw}·{c_in}" + (f"/{g}" if g != 1 else "")
    lines = [params_line(w, f"({per})·{k}", biases_of=str(k))]
    if transposed:
        kk = f"{fh}·{fw}·{k}" + (f"/{g}" if g != 1 else "")
        lines.append(("macs", f"MACs = {prod(ih, iw, c_in)}·({kk}) = {n(w.r.macs)}  (every input value meets "
                              "F·F·K weights)"))
    else:
        lines.append(("macs", f"MACs = {prod(oh, ow, k)}·({per}) = {n(w.r.macs)}"))
    return lines


class Conv(Windowed):
    type = "conv"
    weight_layers = 1
    aliases = ("conv2d",)
    doc = "2-D convolution (cross-correlation); groups=C_in with filters=C_in·m is depthwise"
    imports = {"onnx": ("Conv",), "keras": ("Conv2D",), "caffe": ("Convolution",)}
    primary = "filters"
    params = {
        "filters": Param(POS_INT, doc="number of output channels K"),
        "kernel": Param(PAIR, doc="F, or [F_h, F_w]"),
        "stride": Param(PAIR, 1, "S, or [S_h, S_w]"),
        "padding": Param(PADDING, 0, "P, [P_h, P_w], [top, bottom, left, right], same or valid"),
        "dilation": Param(PAIR, 1, "d (1 is a dense kernel, as in PyTorch)"),
        "groups": Param(POS_INT, 1, "channel groups (C_in for depthwise)"),
        "bias": Param(BOOL, True, "learnable bias per filter"),
        "activation": Param(choice(*FUSABLE), None, "activation fused into this layer (adds no row)"),
        "weights": Param(NUMBERS, None, "values only: one F_h×F_w list per filter (F_h×F_w×C_in/groups when "
                                        "C_in/groups > 1); changes no figure"),
        "biases": Param(NUMBERS, None, "values only: K numbers, where bias is true"),
        "reduce": Param(choice("sum", "mean"), "sum", "values only: mean divides each dot product by "
                                                      "F_h·F_w·C_in/groups (the X/O deck's filtering)"),
    }

    def configure(self, p: dict) -> dict:
        check_numbers(p, p["filters"], p["kernel"])
        return p

    def infer(self, ins, p: Mapping[str, Any]) -> Out:
        shape = ins[0]
        need_spatial(self, shape)
        c_in, k, g = shape[2], p["filters"], p["groups"]
        if c_in % g or k % g:
            bad = f"{c_in} input channels" if c_in % g else f"{k} filters"
            raise ShapeError(f"groups={g} does not divide the {bad}", received=f"input {shape_text(shape)}")
        if p.get("weights") is not None:
            fh, fw = p["kernel"]
            want = (k, fh, fw, c_in // g)
            got = nested_shape(p["weights"])
            if got != want and not (c_in // g == 1 and got == want[:3]):
                raise ShapeError(f"weights must be {k} filters of {fh}×{fw}"
                                 + (f"×{c_in // g} (C_in/groups)" if c_in // g > 1 else "")
                                 + f" numbers for a {shape_text(shape)} input",
                                 received="ragged lists" if got is None else shape_text(got))
        work: dict = {}
        oh, ow, pads, warns = window(self, shape, p["kernel"], p["stride"], p["padding"], p["dilation"], work=work)
        fh, fw = p["kernel"]
        counts = Counts(
            weights=fm.conv_weights(fh, fw, c_in, k, g),
            biases=k if p["bias"] else 0,
            macs=fm.conv_macs(oh, ow, k, fh, fw, c_in, g),
        )
        rf = (fm.effective_kernel(fh, p["dilation"][0]), fm.effective_kernel(fw, p["dilation"][1]),
              p["stride"][0], p["stride"][1], pads[0], pads[2])
        return Out((oh, ow, k), counts, warns, rf, work)

    def elementwise(self, ins, p, out) -> dict:
        return biased(p, out.shape)

    def explain(self, w) -> list:
        from .worked import n, params_line, prod, window_lines  # noqa: F401  (explanations only)

        return window_lines(w) + conv_counts_lines(w)

    def torch(self, p, ins) -> tuple:
        c = ins[0][2]
        pre, pad = conv_pad(p["padding"], p["kernel"], p["stride"], p["dilation"])
        return pre + (
            Torch("Conv2d", (c, p["filters"], tuple(p["kernel"])),
                  {"stride": tuple(p["stride"]), "padding": pad, "dilation": tuple(p["dilation"]),
                   "groups": p["groups"], "bias": p["bias"]}),) + torch_activation(p.get("activation"))

    def keras(self, p, ins):
        if keras_strided_dilated(p):
            return None
        c, k, g = ins[0][2], p["filters"], p["groups"]
        act, after = keras_activation(p.get("activation"))
        pre, padding = keras_pad(p["padding"])
        kw = {"strides": tuple(p["stride"]), "padding": padding, "dilation_rate": tuple(p["dilation"]),
              "use_bias": p["bias"], **act}
        if g == c and g > 1:  # one filter bank per input channel: Keras's DepthwiseConv2D
            return pre + (Keras("DepthwiseConv2D", (tuple(p["kernel"]),), {"depth_multiplier": k // c, **kw}),) + after
        if g != 1:
            kw["groups"] = g
        return pre + (Keras("Conv2D", (k, tuple(p["kernel"])), kw),) + after

    def forward(self, p, ins, out_shape):
        (h, w, c), x = ins[0]
        oh, ow, k = out_shape
        fh, fw = p["kernel"]
        (sh, sw), (dh, dw), g = p["stride"], p["dilation"], p["groups"]
        cg, kg = c // g, k // g
        wts = flat(need(self, p, "weights", f"{k} filters of {fh}×{fw}" + (f"×{cg}" if cg > 1 else "")))
        bias = bias_values(self, p, k)
        t, b, left, right = _axis_pads(p["padding"], h, w, p["kernel"], p["stride"], p["dilation"])
        xs, dx = scaled(x)
        ws, dwt = scaled(wts)
        n = fh * fw * cg
        per = [ws[i * n:(i + 1) * n] for i in range(k)]  # filter i: (row, col, channel) order
        pw = w + left + right
        zero = 0 if dx is not None else 0.0
        xp = [zero] * ((h + t + b) * pw * c)  # the padded input, H×W×C rows
        for r in range(h):
            start = ((r + t) * pw + left) * c
            xp[start:start + w * c] = xs[r * w * c:(r + 1) * w * c]
        den = None if dx is None or dwt is None else dx * dwt * (n if p["reduce"] == "mean" else 1)
        out = [0] * (oh * ow * k)
        for oy in range(oh):
            for ox in range(ow):
                base = oy * ow * k + ox * k
                for gi in range(g):
                    patch = []
                    for i in range(fh):
                        row = ((oy * sh + i * dh) * pw + ox * sw) * c + gi * cg
                        for j in range(fw):
                            s0 = row + j * dw * c
                            patch.extend(xp[s0:s0 + cg])
                    for kk in range(gi * kg, (gi + 1) * kg):
                        out[base + kk] = sum(map(mul, per[kk], patch))
        if den is None:  # floats (the other side may still be scaled integers: undo that scale)
            div = (n if p["reduce"] == "mean" else 1) * (dwt or 1) * (dx or 1)
            out = [v / div for v in out]
            if bias:
                out = [v + float(bias[i % k]) for i, v in enumerate(out)]
        else:
            if bias:
                out = [v + bias[i % k] * den for i, v in enumerate(out)]
            out = [unscale(v, den) if type(v) is int else exact_div(v, den) for v in out]
        return fused(p, out, out_shape)


def exact_div(v, den):
    """``v/den`` for a Fraction ``v`` (a bias with a new denominator), an int when integral."""
    if type(v) is int:
        return unscale(v, den)
    q = v / den
    return q.numerator if q.denominator == 1 else q


def sums_to_values(out: list, bias: list, k: int, dx, dw) -> list:
    """Dot products of scaled inputs (denominator ``dx``) and scaled weights (``dw``) back to values,
    plus each output channel's bias (value ``i`` is channel ``i % k``): exact unless a float was
    among them (``dx`` or ``dw`` None: the other side may still be scaled integers, undone here)."""
    if dx is None or dw is None:
        return [v / ((dx or 1) * (dw or 1)) + (float(bias[i % k]) if bias else 0) for i, v in enumerate(out)]
    den = dx * dw
    return [exact_div(v + bias[i % k] * den, den) if bias else unscale(v, den) for i, v in enumerate(out)]


def bias_values(layer, p, k: int):
    """The biases to add (a list of K numbers), [] when the layer has none; an error when bias is
    true and none were given."""
    if not p.get("bias"):
        return []
    if p.get("biases") is None:
        raise NoForward(f"{layer.type} has bias: true: give 'biases:' ({k} numbers) or set bias: false "
                        "to compute values", "biases")
    return list(p["biases"])


def check_numbers(p: dict, k: int, kernel=None) -> None:
    """Checks of weights/biases that need no input shape: counts, kernel size, bias: false."""
    if p.get("biases") is not None:
        if not p.get("bias", True):
            raise ParamError("biases given but bias is false", "biases")
        got = nested_shape(p["biases"])
        if got != (k,):
            raise ParamError(f"biases must be a list of {k} numbers (one per output)",
                             "ragged lists" if got is None else shape_text(got) + " numbers")
    if p.get("weights") is not None:
        got = nested_shape(p["weights"])
        bad_kernel = kernel is not None and (len(got or ()) < 3 or got[1:3] != tuple(kernel))
        if got is None or not got or got[0] != k or bad_kernel:
            want = f"{k} filters of {kernel[0]}×{kernel[1]}" if kernel is not None else f"{k} rows"
            raise ParamError(f"weights must be {want} numbers",
                             "ragged lists" if got is None else shape_text(got) + " numbers")


def fused(p, out: list, out_shape) -> list:
    """Apply a fused ``activation:`` to a layer's output values."""
    if not p.get("activation"):
        return out
    from .activations import elementwise

    return elementwise(p["activation"], {}, out, out_shape)


def _windows(size: int, out: int, f: int, s: int, d: int, pb: int):
    """Per output index along one axis: the input positions a max-pool window covers (PyTorch:
    clipped to the input, padding never wins a max)."""
    spans = []
    for o in range(out):
        start = o * s - pb
        end = min(start + (f - 1) * d + 1, size)
        while start < 0:
            start += d
        spans.append(range(start, end, d))
    return spans


class _Pool(Windowed):
    primary = "kernel"
    params = {
        "kernel": Param(PAIR, doc="window F, or [F_h, F_w]"),
        "stride": Param(PAIR, None, "S; defaults to the kernel (PyTorch)"),
        "padding": Param(PADDING, 0, "P, [P_h, P_w], [top, bottom, left, right], same or valid"),
        "ceil_mode": Param(BOOL, False, "round the output size up (Caffe, PyTorch ceil_mode)"),
    }

    def configure(self, p: dict) -> dict:
        if p["stride"] is None:
            p["stride"] = p["kernel"]
        return p

    def infer(self, ins, p: Mapping[str, Any]) -> Out:
        shape = ins[0]
        dil = p.get("dilation", (1, 1))
        work: dict = {}
        oh, ow, pads, warns = window(self, shape, p["kernel"], p["stride"], p["padding"], dil, p["ceil_mode"], work)
        if isinstance(p["padding"], tuple):
            kh, kw = p["kernel"]
            if max(pads[0], pads[1]) * 2 > kh or max(pads[2], pads[3]) * 2 > kw:
                warns.append(LayerWarning(PADDING_WARNING, {"padding": max(pads)}))
        rf = (fm.effective_kernel(p["kernel"][0], dil[0]), fm.effective_kernel(p["kernel"][1], dil[1]),
              p["stride"][0], p["stride"][1], pads[0], pads[2])
        return Out((oh, ow, shape[2]), Counts(), warns, rf, work)

    def elementwise(self, ins, p, out) -> dict:
        return ew(**{self.pool_kind: fm.elements(ins[0])})  # every input element once (ptflops, fvcore)

    def explain(self, w) -> list:
        from .worked import n, params_line, prod, window_lines  # noqa: F401  (explanations only)

        return window_lines(w) + [("params", "params = 0 (pooling learns nothing)")]

    torch_op = ""

    def torch(self, p, ins) -> tuple:
        k, s = tuple(p["kernel"]), tuple(p["stride"])
        extra = {"dilation": tuple(p["dilation"])} if "dilation" in p else {}
        padding = p["padding"]
        if padding == "same":
            return torch_pad(padding, k, s, p.get("dilation", (1, 1))) + (
                Torch(self.torch_op, (k, s), {"ceil_mode": p["ceil_mode"], **extra}),)
        t, b, left, right = (0, 0, 0, 0) if padding == "valid" else padding
        if t == b and left == right:
            return (Torch(self.torch_op, (k, s), {"padding": (t, left), "ceil_mode": p["ceil_mode"], **extra}),)
        return torch_pad(padding, k, s) + (Torch(self.torch_op, (k, s), {"ceil_mode": p["ceil_mode"], **extra}),)

    keras_op = ""

    def keras(self, p, ins):
        if p.get("dilation", (1, 1)) != (1, 1):
            return None  # Keras's pools have no dilation
        k, s = tuple(p["kernel"]), tuple(p["stride"])
        padding = p["padding"]
        if p["ceil_mode"] and padding != "same":
            # Keras rounds down: pad the bottom and right as far as PyTorch's last window reaches
            h, w, _ = ins[0]
            t, b, left, right = _axis_pads(padding, h, w, k, s, (1, 1))
            oh, ow, _ = self.infer(ins, p).shape
            b += max(0, (oh - 1) * s[0] + k[0] - (h + t + b))
            right += max(0, (ow - 1) * s[1] + k[1] - (w + left + right))
            padding = (t, b, left, right)
        pre, padding = keras_pad(padding)
        return pre + (Keras(self.keras_op, (k,), {"strides": s, "padding": padding}),)


class MaxPool(_Pool):
    type = "maxpool"
    pool_kind = "maxpool"  # its element-wise kind (cnncalc/core/elementwise.py)
    aliases = ("maxpool2d", "max_pool")
    doc = "max pooling over F×F windows"
    imports = {"onnx": ("MaxPool",), "keras": ("MaxPooling2D",), "caffe": ("Pooling",)}
    torch_op = "MaxPool2d"
    keras_op = "MaxPooling2D"
    params = {**_Pool.params, "dilation": Param(PAIR, 1, "d (PyTorch MaxPool2d dilation)")}

    def forward(self, p, ins, out_shape):
        (h, w, c), x = ins[0]
        oh, ow, _ = out_shape
        t, _b, left, _r = _axis_pads(p["padding"], h, w, p["kernel"], p["stride"], p["dilation"])
        rows = _windows(h, oh, p["kernel"][0], p["stride"][0], p["dilation"][0], t)
        cols = _windows(w, ow, p["kernel"][1], p["stride"][1], p["dilation"][1], left)
        xs, den = scaled(x)
        out = []
        for rr in rows:
            for cc in cols:
                for ch in range(c):
                    out.append(max(xs[(r * w + q) * c + ch] for r in rr for q in cc))
        return [unscale(v, den) for v in out]


class AvgPool(_Pool):
    type = "avgpool"
    pool_kind = "avgpool"  # its element-wise kind (cnncalc/core/elementwise.py)
    aliases = ("avgpool2d", "avg_pool")
    doc = "average pooling over F×F windows"
    imports = {"onnx": ("AveragePool",), "keras": ("AveragePooling2D",), "caffe": ("Pooling",)}
    torch_op = "AvgPool2d"
    keras_op = "AveragePooling2D"
    params = {**_Pool.params, "count_include_pad": Param(BOOL, True, "average includes padding (no effect on shapes)")}

    def forward(self, p, ins, out_shape):
        (h, w, c), x = ins[0]
        oh, ow, _ = out_shape
        (kh, kw), (sh, sw) = p["kernel"], p["stride"]
        t, b, left, right = _axis_pads(p["padding"], h, w, p["kernel"], p["stride"], (1, 1))
        xs, den = scaled(x)
        out = []
        for oy in range(oh):  # PyTorch's avg_pool2d: the divisor counts padding, not what lies beyond it
            h0 = oy * sh - t
            h1 = min(h0 + kh, h + b)
            for ox in range(ow):
                w0 = ox * sw - left
                w1 = min(w0 + kw, w + right)
                size = (h1 - h0) * (w1 - w0)
                r0, r1, q0, q1 = max(h0, 0), min(h1, h), max(w0, 0), min(w1, w)
                div = size if p["count_include_pad"] else (r1 - r0) * (q1 - q0)
                for ch in range(c):
                    s_ = sum(xs[(r * w + q) * c + ch] for r in range(r0, r1) for q in range(q0, q1))
                    out.append(unscale(s_, None if den is None else den * div) if den is not None else s_ / div)
        return out


class _GlobalPool(Layer):
    params = {"keepdims": Param(BOOL, False, "keep H and W as 1×1×C (Keras keepdims=True) instead of a vector of C")}

    def infer(self, ins, p) -> Out:
        shape = ins[0]
        need_spatial(self, shape)
        return Out((1, 1, shape[2]) if p.get("keepdims") else (shape[2],), Counts(), [], ("global",))

    def elementwise(self, ins, p, out) -> dict:
        return ew(**{self.pool_kind: fm.elements(ins[0])})  # every input element once (ptflops, fvcore)

    def torch(self, p, ins) -> tuple:
        return (Torch(self.torch_op, (1,)),) + (() if p.get("keepdims") else (Torch("Flatten"),))

    def keras(self, p, ins) -> tuple:
        return (Keras(self.keras_op, kwargs={"keepdims": bool(p.get("keepdims"))}),)


class GlobalAvgPool(_GlobalPool):
    type = "global_avgpool"
    pool_kind = "avgpool"  # its element-wise kind (cnncalc/core/elementwise.py)
    aliases = ("gap", "globalaveragepooling2d")
    doc = "average over all of H×W; output is a vector of C (Keras GlobalAveragePooling2D)"
    imports = {"onnx": ("GlobalAveragePool",), "keras": ("GlobalAveragePooling2D",), "caffe": ("Pooling",)}
    torch_op = "AdaptiveAvgPool2d"
    keras_op = "GlobalAveragePooling2D"

    def forward(self, p, ins, out_shape):
        (h, w, c), x = ins[0]
        xs, den = scaled(x)
        sums = [sum(xs[ch::c]) for ch in range(c)]
        return [unscale(v, den * h * w) if den is not None else v / (h * w) for v in sums]


class GlobalMaxPool(_GlobalPool):
    type = "global_maxpool"
    pool_kind = "maxpool"  # its element-wise kind (cnncalc/core/elementwise.py)
    aliases = ("globalmaxpooling2d",)
    doc = "maximum over all of H×W; output is a vector of C"
    imports = {"onnx": ("GlobalMaxPool",), "keras": ("GlobalMaxPooling2D",), "caffe": ("Pooling",)}
    torch_op = "AdaptiveMaxPool2d"
    keras_op = "GlobalMaxPooling2D"

    def forward(self, p, ins, out_shape):
        (h, w, c), x = ins[0]
        xs, den = scaled(x)
        return [unscale(max(xs[ch::c]), den) for ch in range(c)]


class _AdaptivePool(Layer):
    primary = "size"
    params = {"size": Param(PAIR, doc="output H×W, or one number for a square")}

    def infer(self, ins, p) -> Out:
        shape = ins[0]
        need_spatial(self, shape)
        oh, ow = p["size"]
        h, w, c = shape
        if (oh, ow) == (1, 1):
            return Out((1, 1, c), Counts(), [], ("global",))
        warns = []
        if h % oh or w % ow:
            warns.append(LayerWarning(UNEVEN_WINDOWS, {"size": (h, w), "output": (oh, ow)}))
        # receptive field: from PyTorch's actual windows, [⌊i·H/O⌋, ⌈(i + 1)·H/O⌉) (receptive.adaptive)
        return Out((oh, ow, c), Counts(), warns, ("adaptive",))

    def elementwise(self, ins, p, out) -> dict:
        return ew(**{self.pool_kind: fm.elements(ins[0])})  # every input element once (ptflops, fvcore)

    def torch(self, p, ins) -> tuple:
        return (Torch(self.torch_op, (tuple(p["size"]),)),)

    def keras(self, p, ins):
        h, w, _ = ins[0]
        oh, ow = p["size"]
        if (oh, ow) == (1, 1):
            return (Keras(self.keras_global, kwargs={"keepdims": True}),)
        if h % oh or w % ow:
            return None  # uneven windows: Keras has no adaptive pooling
        return (Keras(self.keras_op, ((h // oh, w // ow),)),)


def _adaptive(p, ins, out_shape, reduce_):
    """PyTorch's adaptive windows: rows floor(i·H/O) to ceil((i+1)·H/O)."""
    (h, w, c), x = ins[0]
    oh, ow = out_shape[0], out_shape[1]
    xs, den = scaled(x)
    out = []
    for i in range(oh):
        r0, r1 = (i * h) // oh, -(-((i + 1) * h) // oh)
        for j in range(ow):
            q0, q1 = (j * w) // ow, -(-((j + 1) * w) // ow)
            for ch in range(c):
                vals = [xs[(r * w + q) * c + ch] for r in range(r0, r1) for q in range(q0, q1)]
                out.append(reduce_(vals, den))
    return out


class AdaptiveAvgPool(_AdaptivePool):
    type = "adaptive_avgpool"
    pool_kind = "avgpool"  # its element-wise kind (cnncalc/core/elementwise.py)
    aliases = ("adaptiveavgpool2d",)
    doc = "average pooling to a fixed output size (PyTorch AdaptiveAvgPool2d)"
    torch_op = "AdaptiveAvgPool2d"
    keras_op, keras_global = "AveragePooling2D", "GlobalAveragePooling2D"

    def forward(self, p, ins, out_shape):
        return _adaptive(p, ins, out_shape, lambda v, den: unscale(sum(v), den * len(v)) if den is not None
                         else sum(v) / len(v))


class AdaptiveMaxPool(_AdaptivePool):
    type = "adaptive_maxpool"
    pool_kind = "maxpool"  # its element-wise kind (cnncalc/core/elementwise.py)
    aliases = ("adaptivemaxpool2d",)
    doc = "max pooling to a fixed output size (PyTorch AdaptiveMaxPool2d)"
    torch_op = "AdaptiveMaxPool2d"
    keras_op, keras_global = "MaxPooling2D", "GlobalMaxPooling2D"

    def forward(self, p, ins, out_shape):
        return _adaptive(p, ins, out_shape, lambda v, den: unscale(max(v), den))


LAYERS = (Conv, MaxPool, AvgPool, GlobalAvgPool, GlobalMaxPool, AdaptiveAvgPool, AdaptiveMaxPool)
