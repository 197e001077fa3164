"""Dense, normalisation, views, padding, merges and AlphaGo's position bias."""

from __future__ import annotations

from operator import mul

from ..core import formulas as fm
from ..core.errors import ShapeError
from ..core.model import Counts
from .activations import FUSABLE, keras_activation, torch_activation
from .base import (BOOL, NUMBER, NUMBERS, PADDING, POS_INT, RATE, SHAPE, Keras, Layer, NoForward, Out, Param,  # noqa: F401
                   ParamError, Torch, Warn, biased, choice, ew, flat, need_spatial, need_vector, nested_shape,
                   normalised, shape_text)
from .numeric import need, scaled


class Dense(Layer):
    type = "dense"
    weight_layers = 1
    aliases = ("fc", "linear", "fully_connected")
    doc = ("fully connected layer on a vector (PyTorch Linear, Keras Dense); on H×W×C or tokens L×C it "
           "acts on the last axis at every position")
    imports = {"onnx": ("Gemm", "MatMul"), "keras": ("Dense",), "caffe": ("InnerProduct",)}
    primary = "units"
    params = {
        "units": Param(POS_INT, doc="number of outputs N_out"),
        "bias": Param(BOOL, True, "learnable bias per output"),
        "activation": Param(choice(*FUSABLE), None, "activation fused into this layer (adds no row)"),
        "weights": Param(NUMBERS, None, "values only: N_out rows of N_in numbers; changes no figure"),
        "biases": Param(NUMBERS, None, "values only: N_out numbers, where bias is true"),
    }

    def configure(self, p):
        from .spatial import check_numbers

        check_numbers(p, p["units"])
        return p

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        n_in, n_out = shape[-1], p["units"]
        positions = fm.elements(shape[:-1])  # 1 for a vector
        if p.get("weights") is not None and nested_shape(p["weights"]) != (n_out, n_in):
            got = nested_shape(p["weights"])
            raise ShapeError(f"weights must be {n_out} rows of {n_in} numbers (N_out × N_in)",
                             received="ragged lists" if got is None else shape_text(got))
        counts = Counts(weights=fm.dense_weights(n_in, n_out), biases=n_out if p["bias"] else 0,
                        macs=positions * fm.dense_macs(n_in, n_out))
        # on a vector every output sees every input; on the last axis of a map, one position
        return Out(shape[:-1] + (n_out,), counts, [], ("global",) if len(shape) == 1 else None)

    def elementwise(self, ins, p, out) -> dict:
        return biased(p, out.shape)

    def forward(self, p, ins, out_shape):  # on H×W×C or tokens L×C: the same map at every position
        from .spatial import bias_values, fused, sums_to_values

        shape, x = ins[0]
        n_in = shape[-1]
        n_out = out_shape[-1]
        ws, dw = scaled(flat(need(self, p, "weights", f"{n_out} rows of {n_in} numbers")))
        bias = bias_values(self, p, n_out)
        xs, dx = scaled(x)
        rows = [ws[i * n_in:(i + 1) * n_in] for i in range(n_out)]
        out = []
        for pos in range(0, len(xs), n_in):
            v = xs[pos:pos + n_in]
            out.extend(sum(map(mul, row, v)) for row in rows)
        return fused(p, sums_to_values(out, bias, n_out, dx, dw), out_shape)

    def explain(self, w) -> list:
        from .worked import n, shape  # noqa: F401  (explanations only)

        n_in, n_out, r = w.in_shape[-1], w.p["units"], w.r
        if r.biases and w.conventions.count_biases:
            params = ("params", f"params = {n_in}·{n_out} + {n_out} = {n(r.params)}")
        else:
            params = ("params", f"params = {n_in}·{n_out} = {n(r.params)}")
        if len(w.in_shape) == 1:
            return [params, ("macs", f"MACs = {n_in}·{n_out} = {n(r.macs)}")]
        at = "·".join(str(x) for x in w.in_shape[:-1])
        return [params, ("macs", f"MACs = {at} positions · {n_in}·{n_out} = {n(r.macs)} (on the last axis)")]

    def torch(self, p, ins) -> tuple:
        from .norm import last_axis

        return (last_axis(ins[0], Torch("Linear", (ins[0][-1], p["units"]), {"bias": p["bias"]}))
                + torch_activation(p.get("activation"), len(ins[0])))

    def keras(self, p, ins) -> tuple:
        act, after = keras_activation(p.get("activation"))  # Keras's Dense acts on the last axis too
        return (Keras("Dense", (p["units"],), {"use_bias": p["bias"], **act}),) + after


class BatchNorm(Layer):
    type = "batchnorm"
    aliases = ("bn", "batchnorm2d", "batchnorm1d", "batch_norm")
    doc = "batch normalisation over the channel (last) axis"
    imports = {"onnx": ("BatchNormalization",), "keras": ("BatchNormalization",), "caffe": ("BatchNorm",)}
    params = {
        "affine": Param(BOOL, True, "learnable γ (counted as weights) and β (as biases)"),
        "track_running_stats": Param(BOOL, True, "running mean and variance (non-trainable)"),
        "eps": Param(NUMBER, 1e-5, "ε"),
        "momentum": Param(NUMBER, 0.1, "running-average momentum"),
        "center": Param(BOOL, True, "Keras: learnable β (false: γ only)"),
        "scale": Param(BOOL, True, "Keras: learnable γ (false: β only)"),
        "mean": Param(NUMBERS, None, "values only: the running mean, C numbers; changes no figure"),
        "variance": Param(NUMBERS, None, "values only: the running variance, C numbers; changes no figure"),
        "weights": Param(NUMBERS, None, "values only: γ, C numbers (where learnable); changes no figure"),
        "biases": Param(NUMBERS, None, "values only: β, C numbers (where learnable); changes no figure"),
    }

    def configure(self, p):
        from .norm import _refuse_unused

        from .numeric import refuse_negative

        _refuse_unused(p, p["affine"] and p["scale"], p["affine"] and p["center"])
        refuse_negative(p, "variance")
        for key in ("mean", "variance"):
            if p.get(key) is not None and not p["track_running_stats"]:
                raise ParamError(f"{key} given but track_running_stats is false (no running statistics)", key)
        return p

    def infer(self, ins, p) -> Out:
        from .norm import _check_affine
        from .numeric import check_values

        shape = tuple(ins[0])
        c = shape[-1]
        gamma = p["affine"] and p.get("scale", True)
        beta = p["affine"] and p.get("center", True)
        _check_affine(p, c)
        for key in ("mean", "variance"):
            check_values(p, key, (c,), f"{c} numbers (one per channel)")
        return Out(shape, Counts(weights=c if gamma else 0, biases=c if beta else 0,
                                 non_trainable=2 * c if p["track_running_stats"] else 0))

    def elementwise(self, ins, p, out) -> dict:
        return normalised(out)

    def forward(self, p, ins, out_shape):
        # inference: (x − running mean)/√(running variance + ε)·γ + β per channel, exact while the
        # root is rational (cnncalc.layers.numeric)
        from fractions import Fraction

        from .norm import _affine, _scale_shift
        from .numeric import div, eps_exact, root_of

        if not p["track_running_stats"]:
            raise NoForward("batchnorm without running statistics normalises by the batch's own statistics: "
                            "cnncalc values computes it at inference, with track_running_stats: true",
                            "track_running_stats")
        shape, x = ins[0]
        c = shape[-1]
        mean = _given_stats(self, p, "mean", c)
        var = _given_stats(self, p, "variance", c)
        g, b = _affine(self, p, c, p["affine"] and p["scale"], p["affine"] and p["center"],
                       "affine: false (or Keras's scale/center: false)")
        sd = [root_of(v + eps_exact(p["eps"])) for v in var]  # the spec's numbers are exact
        out = [div(float(v) - float(mean[i % c]) if type(v) is float else Fraction(v) - mean[i % c], sd[i % c])
               for i, v in enumerate(x)]
        return _scale_shift(out, c, g, b)

    def torch(self, p, ins) -> tuple:
        if not (p.get("scale", True) and p.get("center", True)) and p["affine"]:
            return (Torch("batchnorm_parts", (ins[0][-1], len(ins[0])),
                          {"gamma": p.get("scale", True), "beta": p.get("center", True),
                           "running": p["track_running_stats"]}),)
        return (Torch("BatchNorm2d" if len(ins[0]) == 3 else "BatchNorm1d", (ins[0][-1],),
                      {"affine": p["affine"], "track_running_stats": p["track_running_stats"]}),)

    def keras(self, p, ins):
        if not p["track_running_stats"]:
            return None  # Keras's BatchNormalization always keeps its moving mean and variance
        return (Keras("BatchNormalization", kwargs={
            "epsilon": p["eps"], "momentum": round(1 - p["momentum"], 12),  # Keras: the weight of the old value
            "center": p["affine"] and p.get("center", True), "scale": p["affine"] and p.get("scale", True)}),)


class LRN(Layer):
    type = "lrn"
    aliases = ("local_response_norm",)
    doc = "local response normalisation across channels (AlexNet); no parameters"
    imports = {"onnx": ("LRN",), "caffe": ("LRN",)}
    primary = "size"
    params = {
        "size": Param(POS_INT, 5, "neighbouring channels n"),
        "alpha": Param(NUMBER, 1e-4, "α"),
        "beta": Param(NUMBER, 0.75, "β"),
        "k": Param(NUMBER, 1.0, "k (AlexNet paper: 2; PyTorch default: 1)"),
    }

    def infer(self, ins, p) -> Out:
        need_spatial(self, ins[0])
        return Out(tuple(ins[0]))

    def elementwise(self, ins, p, out) -> dict:
        return normalised(out)

    def forward(self, p, ins, out_shape):  # b = a/(k + α/n·Σa²)^β over n neighbouring channels (PyTorch)
        (h, w, c), x = ins[0]
        n, alpha, beta, k = p["size"], float(p["alpha"]), float(p["beta"]), float(p["k"])
        out = []
        for pos in range(h * w):
            v = [float(a) for a in x[pos * c:(pos + 1) * c]]
            for ch in range(c):
                lo, hi = ch - n // 2, ch + (n - 1) // 2
                sq = sum(v[i] ** 2 for i in range(max(lo, 0), min(hi, c - 1) + 1))
                out.append(v[ch] / (k + alpha / n * sq) ** beta)
        return out

    def torch(self, p, ins) -> tuple:
        return (Torch("LocalResponseNorm", (p["size"], p["alpha"], p["beta"], p["k"])),)

    def keras(self, p, ins) -> tuple:
        # Keras has none: the exporter's own layer, PyTorch's formula (no parameters)
        return (Keras("LocalResponseNorm", (p["size"], p["alpha"], p["beta"], p["k"])),)


class Dropout(Layer):
    type = "dropout"
    doc = "dropout: a view at inference, adds no activations"
    imports = {"onnx": ("Dropout",), "keras": ("Dropout",), "caffe": ("Dropout",)}
    primary = "rate"
    view = True
    params = {"rate": Param(RATE, 0.5, "probability of zeroing, 0 ≤ rate < 1")}

    def infer(self, ins, p) -> Out:
        return Out(tuple(ins[0]))

    def forward(self, p, ins, out_shape):
        return list(ins[0][1])  # inference: the identity

    def torch(self, p, ins) -> tuple:
        return (Torch("Dropout", (p["rate"],)),)

    def keras(self, p, ins) -> tuple:
        return (Keras("Dropout", (p["rate"],)),)


class Flatten(Layer):
    type = "flatten"
    doc = "H×W×C → a vector of H·W·C (a view: adds no activations)"
    imports = {"onnx": ("Flatten",), "keras": ("Flatten",), "caffe": ("Flatten",)}
    view = True
    params = {}

    def infer(self, ins, p) -> Out:
        return Out((fm.elements(ins[0]),))

    def forward(self, p, ins, out_shape):
        return list(ins[0][1])  # H, W, C row-major, as Keras Flatten on channels-last

    def torch(self, p, ins) -> tuple:
        return (Torch("Flatten"),)

    def keras(self, p, ins) -> tuple:
        return (Keras("Flatten"),)


class Reshape(Layer):
    type = "reshape"
    aliases = ("view",)
    doc = "re-view the values in a new shape with the same number of elements"
    imports = {"onnx": ("Reshape",), "keras": ("Reshape",), "caffe": ("Reshape",)}
    primary = "shape"
    view = True
    params = {"shape": Param(SHAPE, doc="new shape: [H, W, C], tokens [L, C], or [N]")}

    def infer(self, ins, p) -> Out:
        new = p["shape"]
        if fm.elements(new) != fm.elements(ins[0]):
            raise ShapeError(f"cannot reshape {fm.elements(ins[0])} values into {shape_text(new)} "
                             f"({fm.elements(new)} values)", received=shape_text(ins[0]))
        return Out(tuple(new))  # H×W×C, tokens L×C (README: Tokens) or a vector N

    def forward(self, p, ins, out_shape):
        return list(ins[0][1])

    def torch(self, p, ins) -> tuple:
        new = tuple(p["shape"])
        return (Torch("reshape", ((new[2], new[0], new[1]) if len(new) == 3 else new,)),)  # to C×H×W

    def keras(self, p, ins) -> tuple:
        return (Keras("Reshape", (tuple(p["shape"]),)),)


class ZeroPad(Layer):
    type = "zeropad"
    aliases = ("zeropad2d", "zeropadding2d", "pad")
    doc = "pad H and W with zeros"
    imports = {"onnx": ("Pad",), "keras": ("ZeroPadding2D",)}
    primary = "padding"
    params = {"padding": Param(PADDING, doc="P, [P_h, P_w] or [top, bottom, left, right]")}

    def configure(self, p):
        if isinstance(p["padding"], str):
            raise ParamError("must be an integer ≥ 0, [h, w] or [top, bottom, left, right]", p["padding"])
        return p

    def infer(self, ins, p) -> Out:
        need_spatial(self, ins[0])
        h, w, c = ins[0]
        t, b, left, right = p["padding"]
        # receptive field: a 1×1 window, stride 1, that starts t rows and left columns early
        return Out((h + t + b, w + left + right, c), rf=(1, 1, 1, 1, t, left))

    def forward(self, p, ins, out_shape):
        (h, w, c), x = ins[0]
        oh, ow, _ = out_shape
        t, _b, left, _r = p["padding"]
        out = [0] * (oh * ow * c)
        for r in range(h):
            s0 = ((r + t) * ow + left) * c
            out[s0:s0 + w * c] = x[r * w * c:(r + 1) * w * c]
        return out

    def torch(self, p, ins) -> tuple:
        t, b, left, right = p["padding"]
        return (Torch("ZeroPad2d", ((left, right, t, b),)),)

    def keras(self, p, ins) -> tuple:
        t, b, left, right = p["padding"]
        return (Keras("ZeroPadding2D", (((t, b), (left, right)),)),)


class Add(Layer):
    type = "add"
    doc = "elementwise sum of two or more inputs of the same shape (residual connections)"
    imports = {"onnx": ("Add", "Sum"), "keras": ("Add",), "caffe": ("Eltwise",)}
    min_inputs, max_inputs = 2, None
    params = {}

    def infer(self, ins, p) -> Out:
        first = tuple(ins[0])
        for other in ins[1:]:
            if tuple(other) != first:
                raise ShapeError("add needs inputs of the same shape",
                                 received=", ".join(shape_text(s) for s in ins))
        return Out(first)

    def elementwise(self, ins, p, out) -> dict:
        return ew(merge=(len(ins) - 1) * fm.elements(out.shape))

    def forward(self, p, ins, out_shape):
        return [exact_sum(vs) for vs in zip(*(data for _, data in ins))]

    def torch(self, p, ins) -> tuple:
        return (Torch("add"),)

    def keras(self, p, ins) -> tuple:
        return (Keras("Add"),)


class Concat(Layer):
    type = "concat"
    aliases = ("concatenate",)
    doc = "join inputs along the channel (last) axis; H and W must match"
    imports = {"onnx": ("Concat",), "keras": ("Concatenate",), "caffe": ("Concat",)}
    min_inputs, max_inputs = 1, None  # a concat of one input is its identity (torch.cat([x]), DenseNet)
    params = {}

    def infer(self, ins, p) -> Out:
        ranks = {len(s) for s in ins}
        if len(ranks) != 1 or {tuple(s[:-1]) for s in ins}.__len__() != 1:
            raise ShapeError("concat needs inputs that agree on every axis but the channels",
                             received=", ".join(shape_text(s) for s in ins))
        first = tuple(ins[0])
        return Out(first[:-1] + (sum(s[-1] for s in ins),))

    def forward(self, p, ins, out_shape):
        out = []
        sizes = [shape[-1] for shape, _ in ins]
        for pos in range(len(ins[0][1]) // sizes[0]):
            for (_, data), c in zip(ins, sizes):
                out.extend(data[pos * c:(pos + 1) * c])
        return out

    def explain(self, w) -> list:
        from .worked import n, shape  # noqa: F401  (explanations only)

        return [("output_shape", "channels = " + " + ".join(str(x.output_shape[-1]) for x in w.ins)
                 + f" = {w.r.output_shape[-1]}; output {shape(w.r.output_shape)}")]

    def torch(self, p, ins) -> tuple:
        return (Torch("cat", kwargs={"dim": 1 if len(ins[0]) == 3 else -1}),)

    def keras(self, p, ins) -> tuple:
        return (Keras("Concatenate", kwargs={"axis": -1}),)


class PositionBias(Layer):
    type = "position_bias"
    doc = "a separate learnable bias for every output position (AlphaGo's policy network output)"
    params = {"biases": Param(NUMBERS, None, "values only: one bias per value, nested in the input's shape "
                                             "(H×W×C, tokens L×C or N); changes no figure")}

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        from .numeric import check_values

        check_values(p, "biases", shape, f"{shape_text(shape)} numbers (one per value)")
        return Out(shape, Counts(biases=fm.elements(shape)))

    def elementwise(self, ins, p, out) -> dict:
        return ew(bias=fm.elements(out.shape))

    def forward(self, p, ins, out_shape):
        from .numeric import add_exact, given

        bias = given(self, p, "biases", True, f"{shape_text(out_shape)} numbers, one per value", "")
        return [add_exact(v, b) for v, b in zip(ins[0][1], bias)]

    def torch(self, p, ins) -> tuple:
        s = tuple(ins[0])
        return (Torch("bias", ((s[2], s[0], s[1]) if len(s) == 3 else s,)),)

    def keras(self, p, ins) -> tuple:
        return (Keras("PositionBias"),)  # the exporter's own layer (Keras has none)


def _given_stats(layer, p, key, c):
    from .numeric import given

    return given(layer, p, key, True, f"the running {key}, {c} numbers", "")


def exact_sum(vs):
    """A sum of exact values as an int where integral."""
    s = sum(vs)
    return s.numerator if type(s) is not int and type(s) is not float and s.denominator == 1 else s


LAYERS = (Dense, BatchNorm, LRN, Dropout, Flatten, Reshape, ZeroPad, Add, Concat, PositionBias)

__all__ = ["LAYERS", "Warn"]
