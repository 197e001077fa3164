"""Caffe ``.prototxt`` → a cnncalc network, without protobuf.

Both syntaxes: V2 ``layer { type: "Convolution" }`` and V1 ``layers { type: CONVOLUTION }``;
the input from ``input:`` + ``input_dim``/``input_shape``, an ``Input`` layer, a
``DummyData``/``MemoryData`` layer, or ``--input`` (``Data`` layers carry no size). Blobs are
followed by name, so in-place layers (top == bottom) work; an in-place ReLU / Sigmoid / TanH
right after the convolution or InnerProduct that wrote the blob is that layer's
``activation:`` (Caffe keeps no blob of its own for it, and cnncalc then counts the same
activations). Caffe's pooling rounds up: ``ceil_mode: true`` where it changes the size.
An InnerProduct on an H×W×C blob flattens it first (Caffe's axis 1), written as a ``flatten``
layer. ``BatchNorm`` (running mean and variance, non-trainable) followed by ``Scale`` with
``bias_term: true`` (γ and β) is one ``batchnorm``. Layers that only train (losses, accuracy,
``Silence``; those in ``include { phase: TRAIN }``) are left out and listed in a comment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..core.errors import SpecError
from .common import ModelError, Net, unsupported
from .prototext import Msg, parse

V1_TYPES = {
    "CONVOLUTION": "Convolution", "DECONVOLUTION": "Deconvolution", "POOLING": "Pooling", "RELU": "ReLU",
    "LRN": "LRN", "INNER_PRODUCT": "InnerProduct", "DROPOUT": "Dropout", "SOFTMAX": "Softmax",
    "SOFTMAX_LOSS": "SoftmaxWithLoss", "CONCAT": "Concat", "ELTWISE": "Eltwise", "SPLIT": "Split",
    "FLATTEN": "Flatten", "SIGMOID": "Sigmoid", "TANH": "TanH", "DATA": "Data", "IMAGE_DATA": "ImageData",
    "MEMORY_DATA": "MemoryData", "DUMMY_DATA": "DummyData", "HDF5_DATA": "HDF5Data", "WINDOW_DATA": "WindowData",
    "ACCURACY": "Accuracy", "EUCLIDEAN_LOSS": "EuclideanLoss", "INFOGAIN_LOSS": "InfogainLoss",
    "MULTINOMIAL_LOGISTIC_LOSS": "MultinomialLogisticLoss", "SIGMOID_CROSS_ENTROPY_LOSS": "SigmoidCrossEntropyLoss",
    "HINGE_LOSS": "HingeLoss", "CONTRASTIVE_LOSS": "ContrastiveLoss", "SILENCE": "Silence", "POWER": "Power",
    "ABSVAL": "AbsVal", "BNLL": "BNLL", "THRESHOLD": "Threshold", "ARGMAX": "ArgMax", "MVN": "MVN",
    "SLICE": "Slice", "IM2COL": "Im2col", "EXP": "Exp", "HDF5_OUTPUT": "HDF5Output",
}
DATA_TYPES = {"Data", "ImageData", "HDF5Data", "WindowData", "Input", "DummyData", "MemoryData", "Python"}
TRAINING_ONLY = {"SoftmaxWithLoss", "EuclideanLoss", "InfogainLoss", "MultinomialLogisticLoss",
                 "SigmoidCrossEntropyLoss", "HingeLoss", "ContrastiveLoss", "Accuracy", "Silence",
                 "HDF5Output"}
ACTIVATIONS = {"ReLU": "relu", "Sigmoid": "sigmoid", "TanH": "tanh", "ELU": "elu", "Softmax": "softmax"}
FUSE_INTO = ("conv", "dense", "conv_transpose")


def _pair(p: Msg, single: str, h: str, w: str, default):
    """Caffe's ``kernel_size`` (repeated) or ``kernel_h``/``kernel_w`` → an int or [h, w]."""
    if p.first(h) is not None or p.first(w) is not None:
        hv, wv = p.first(h, default), p.first(w, default)
        return hv if hv == wv else [hv, wv]
    vals = p.all(single)
    if not vals:
        return default
    if len(vals) == 1:
        return vals[0]
    if len(vals) == 2:
        return vals if vals[0] != vals[1] else vals[0]
    raise SpecError(f"{single}: a 2-D layer takes one or two values", received=str(vals))


def _phase_excluded(layer: Msg) -> bool:
    for inc in layer.all("include"):
        if isinstance(inc, Msg) and str(inc.first("phase", "")).upper() in ("TRAIN", "0"):
            return True
    for exc in layer.all("exclude"):
        if isinstance(exc, Msg) and str(exc.first("phase", "")).upper() in ("TEST", "1"):
            return True
    return False


def _nchw(dims: list, loc) -> tuple:
    """Caffe's N×C×H×W (or N×C) → cnncalc's H×W×C (or C)."""
    dims = [int(d) for d in dims]
    if len(dims) == 4:
        return (dims[2], dims[3], dims[1])
    if len(dims) == 2:
        return (dims[1],)
    raise ModelError("an input must be N×C×H×W or N×C", loc=loc, received="×".join(map(str, dims)))


def _caffe_pool_size(w: int, k: int, s: int, p: int) -> int:
    """Caffe's pooling output length (pooling_layer.cpp): ceil, then drop a last window that
    starts in the padding — only when there is padding."""
    out = -(-(w + 2 * p - k) // s) + 1
    if p > 0 and (out - 1) * s >= w + p:
        out -= 1
    return out


def read_caffe(path: Path, display: str, size: Optional[tuple]) -> Net:
    from ..load import read_text

    text = read_text(path, display)
    root = parse(text, display)
    try:
        return _read(root, path, display, size)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, ArithmeticError) as e:
        raise ModelError(f"the network cannot be read ({type(e).__name__}: {e})", loc=root.loc) from None


def _read(root: Msg, path: Path, display: str, size: Optional[tuple]) -> Net:
    name = root.first("name") or path.stem
    net = Net(display, "Caffe prototxt", str(name))
    if root.fields.get("layer") and root.fields.get("layers"):
        raise ModelError("the file mixes 'layer' (V2) and 'layers' (V1) entries", loc=root.loc_of("layers"))
    entries = root.fields.get("layer") or root.fields.get("layers") or []
    if not entries:
        raise ModelError("not a Caffe network: no 'layer { … }' or 'layers { … }' entries", loc=root.loc)
    version = "V1 'layers'" if root.fields.get("layers") else "V2 'layer'"
    net.kind = f"Caffe prototxt, {version} syntax"

    blobs: dict = {}  # blob name → cnncalc layer name now holding it
    read: set = set()  # cnncalc layers whose output some layer has read
    poisoned: set = set()  # blobs behind an unsupported layer
    missing: list = []
    dropped: list = []

    # ---- the input
    inputs = root.all("input")
    if inputs:
        dims = root.all("input_dim")
        shapes = [s.all("dim") for s in root.all("input_shape") if isinstance(s, Msg)]
        if dims:
            shapes = [dims[i:i + 4] for i in range(0, len(dims), 4)]
        shape = size or (_nchw(shapes[0], root.loc_of("input_dim") if dims else root.loc_of("input_shape"))
                         if shapes else None)
        if shape is None:
            raise ModelError(f"the input '{inputs[0]}' has no size: give input_dim or input_shape, "
                             "or --input HxWxC", loc=root.loc_of("input"))
        net.set_input(shape)
        blobs[str(inputs[0])] = "input"
        for extra in inputs[1:]:
            poisoned.add(str(extra))

    for layer, loc in entries:
        if not isinstance(layer, Msg):
            raise ModelError("a layer must be a message { … }", loc=loc)
        ltype = layer.first("type")
        ltype = V1_TYPES.get(str(ltype), str(ltype)) if ltype is not None else None
        lname = str(layer.first("name", ltype or "layer"))
        if ltype is None:
            raise ModelError("a layer without 'type'", loc=loc, layer=lname)
        if _phase_excluded(layer):
            continue
        bottoms = [str(b) for b in layer.all("bottom")]
        tops = [str(t) for t in layer.all("top")]
        if ltype in DATA_TYPES:
            shape = size
            if shape is None and ltype == "Input":
                shapes = [s.all("dim") for s in layer.msg("input_param").all("shape") if isinstance(s, Msg)]
                shape = _nchw(shapes[0], loc) if shapes else None
            elif shape is None and ltype == "DummyData":
                shapes = [s.all("dim") for s in layer.msg("dummy_data_param").all("shape") if isinstance(s, Msg)]
                shape = _nchw(shapes[0], loc) if shapes else None
            elif shape is None and ltype == "MemoryData":
                m = layer.msg("memory_data_param")
                if m.first("height") and m.first("width") and m.first("channels"):
                    shape = (m.first("height"), m.first("width"), m.first("channels"))
            if net.input_shape is not None:
                for t in tops:
                    poisoned.add(t)
                continue
            if shape is None:
                raise ModelError(f"the {ltype} layer gives no input size: give --input HxWxC", loc=loc,
                                 layer=lname)
            net.set_input(shape)
            if tops:
                blobs[tops[0]] = "input"
                for t in tops[1:]:  # labels: only losses read them
                    poisoned.add(t)
            continue
        if ltype in TRAINING_ONLY:
            dropped.append(lname)
            continue
        if ltype == "Split":
            for t in tops:
                if bottoms and bottoms[0] in poisoned:
                    poisoned.add(t)
                elif bottoms and bottoms[0] in blobs:
                    blobs[t] = blobs[bottoms[0]]
            continue
        if net.input_shape is None:
            raise ModelError("the network has no input before its first layer: give input/input_dim, an Input "
                             "layer, or --input HxWxC", loc=loc, layer=lname)
        for b in bottoms:
            if b not in blobs and b not in poisoned:
                raise ModelError(f"bottom '{b}' is no blob written before this layer", loc=loc, layer=lname)
        if any(b in poisoned for b in bottoms):
            for t in tops:
                poisoned.add(t)
            if _mapping(ltype, layer) is None:
                missing.append((lname, _label(ltype, layer), loc))
            continue
        mapped = _mapping(ltype, layer)
        if mapped is None:
            missing.append((lname, _label(ltype, layer), loc))
            for t in tops:
                poisoned.add(t)
            continue
        if missing:  # keep looking for every unsupported layer, but stop building
            for t in tops:
                poisoned.add(t)
            continue
        try:
            made = _build(net, layer, ltype, lname, bottoms, tops, blobs, read, loc)
        except SpecError as err:
            raise err.located(loc=loc, layer=lname) from None
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, ArithmeticError) as e:
            raise ModelError(f"this {ltype} layer cannot be read ({type(e).__name__}: {e})", loc=loc,
                             layer=lname) from None
        if made is None:
            missing.append((lname, f"{ltype} ({_why(ltype, layer)})", loc))
            for t in tops:
                poisoned.add(t)
            continue
        for b in bottoms:
            read.add(blobs[b])
        for t in tops:
            blobs[t] = made
    if missing:
        raise unsupported([m[:2] for m in missing], "Caffe layer", missing[0][2])
    if net.input_shape is None:
        raise ModelError("the network has no input: give input/input_dim, an Input layer, or --input HxWxC",
                         loc=root.loc)
    if dropped:
        net.notes.append("left out (training only): " + ", ".join(dropped))
    return net


def _mapping(ltype: str, layer: Msg) -> Optional[str]:
    """The cnncalc type a Caffe layer maps to (None: no cnncalc type matches it, or this
    configuration of it)."""
    if ltype == "Eltwise" and str(layer.msg("eltwise_param").first("operation", "SUM")).upper() not in (
            "SUM", "1", "PROD", "0"):
        return None
    if ltype == "Concat" and layer.msg("concat_param").first("axis",
                                                             layer.msg("concat_param").first("concat_dim", 1)) != 1:
        return None
    if ltype == "InnerProduct" and (layer.msg("inner_product_param").first("axis", 1) != 1
                                    or layer.msg("inner_product_param").first("transpose", False)):
        return None
    if ltype in ("Flatten",) and (layer.msg("flatten_param").first("axis", 1) != 1
                                  or layer.msg("flatten_param").first("end_axis", -1) != -1):
        return None
    if ltype == "Scale" and not layer.msg("scale_param").first("bias_term", False):
        return None
    table = {"Convolution": "conv", "Deconvolution": "conv_transpose", "Pooling": "pool", "InnerProduct": "dense",
             "LRN": "lrn", "Dropout": "dropout", "Concat": "concat", "Eltwise": "eltwise", "Flatten": "flatten",
             "BatchNorm": "batchnorm", "Scale": "scale", "PReLU": "prelu", "Reshape": "reshape"}
    if ltype in ACTIVATIONS:
        return ACTIVATIONS[ltype]
    return table.get(ltype)


def _label(ltype: str, layer: Msg) -> str:
    known = ("Eltwise", "Concat", "InnerProduct", "Flatten", "Scale")
    return f"{ltype} ({_why(ltype, layer)})" if ltype in known else ltype


def _why(ltype: str, layer: Msg) -> str:
    return {"Scale": "a Scale not after a BatchNorm, or without bias_term: γ alone has no cnncalc type",
            "Eltwise": "only SUM and PROD map: add, multiply",
            "Concat": "only the channel axis", "InnerProduct": "only axis 1", "Flatten": "only axis 1 to the end",
            "Pooling": "Caffe's rounding differs from ceil_mode here",
            "Reshape": "only to N×C×H×W or N×D"}.get(ltype, "not mapped")


def _build(net: Net, layer: Msg, ltype: str, lname: str, bottoms: list, tops: list, blobs: dict, read: set,
           loc) -> Optional[str]:
    """Add the cnncalc layer(s) for one Caffe layer; the name now holding its top, or None when
    this configuration has no cnncalc equivalent."""
    ins = [blobs[b] for b in bottoms]
    if not ins:
        raise ModelError(f"a {ltype} layer needs a bottom", loc=loc, layer=lname)
    src = ins[0]
    in_shape = net.shapes[src]
    inplace = bool(tops) and tops[0] in bottoms
    if ltype in ("Convolution", "Deconvolution"):
        p = layer.msg("convolution_param")
        params = {"filters": p.first("num_output"),
                  "kernel": _pair(p, "kernel_size", "kernel_h", "kernel_w", None),
                  "stride": _pair(p, "stride", "stride_h", "stride_w", 1),
                  "padding": _pair(p, "pad", "pad_h", "pad_w", 0),
                  "dilation": _pair(p, "dilation", "dilation_h", "dilation_w", 1),
                  "groups": p.first("group", 1),
                  "bias": bool(p.first("bias_term", True))}
        params = {k: v for k, v in params.items() if v not in (None,) and not (k in ("stride", "dilation",
                                                                                    "groups") and v == 1)
                  and not (k == "padding" and v == 0) and not (k == "bias" and v)}
        return net.add("conv" if ltype == "Convolution" else "conv_transpose", lname, params, [src], loc)
    if ltype == "Pooling":
        p = layer.msg("pooling_param")
        method = str(p.first("pool", "MAX")).upper()
        kind = {"MAX": "maxpool", "0": "maxpool", "AVE": "avgpool", "1": "avgpool", "STOCHASTIC": "maxpool",
                "2": "maxpool"}.get(method)
        if kind is None:
            raise ModelError(f"unknown pooling method {method}", loc=p.loc_of("pool"), layer=lname)
        if p.first("global_pooling", False):
            return net.add("global_" + kind, lname, {}, [src], loc)
        k = _pair(p, "kernel_size", "kernel_h", "kernel_w", None)
        s = _pair(p, "stride", "stride_h", "stride_w", 1)
        pad = _pair(p, "pad", "pad_h", "pad_w", 0)
        if k is None:
            raise ModelError("pooling needs kernel_size (or global_pooling: true)", loc=p.loc, layer=lname)
        params = {"kernel": k, "stride": s}
        if pad != 0:
            params["padding"] = pad
        if len(in_shape) == 3:
            kh, kw = (k, k) if isinstance(k, int) else k
            sh, sw = (s, s) if isinstance(s, int) else s
            ph, pw = (pad, pad) if isinstance(pad, int) else pad
            from ..core import formulas as fm

            ceil_changes = False
            for w, kk, ss, pp in ((in_shape[0], kh, sh, ph), (in_shape[1], kw, sw, pw)):
                caffe = _caffe_pool_size(w, kk, ss, pp)
                if fm.pool_output(w, kk, ss, pp, ceil_mode=True).size != caffe:
                    return None
                if fm.pool_output(w, kk, ss, pp).size != caffe:
                    ceil_changes = True
            if ceil_changes:
                params["ceil_mode"] = True
        return net.add(kind, lname, params, [src], loc)
    if ltype == "InnerProduct":
        p = layer.msg("inner_product_param")
        if p.first("axis", 1) != 1 or p.first("transpose", False) not in (False,):
            return None
        if len(in_shape) != 1:
            src = net.add("flatten", f"{lname}_flatten", {}, [src], loc)
        params = {"units": p.first("num_output")}
        if not p.first("bias_term", True):
            params["bias"] = False
        return net.add("dense", lname, params, [src], loc)
    if ltype in ACTIVATIONS or ltype in ("ReLU", "PReLU"):
        act = ACTIVATIONS.get(ltype, "prelu")
        params: dict = {}
        if ltype == "ReLU":
            slope = layer.msg("relu_param").first("negative_slope", 0)
            if slope:
                act, params = "leaky_relu", {"negative_slope": float(slope)}
        elif ltype == "ELU":
            params = {"alpha": float(layer.msg("elu_param").first("alpha", 1.0))}
        elif ltype == "PReLU":
            params = {"shared": bool(layer.msg("prelu_param").first("channel_shared", False))}
        elif ltype == "Softmax" and layer.msg("softmax_param").first("axis", 1) != 1:
            return None
        producer = next((x for x in net.layers[::-1] if x["name"] == src), None)
        if (inplace and act in ("relu", "sigmoid", "tanh") and not params and producer is not None
                and producer["type"] in FUSE_INTO and "activation" not in producer["params"] and src not in read):
            producer["params"]["activation"] = act
            return src
        return net.add(act, lname, params, [src], loc)
    if ltype == "LRN":
        p = layer.msg("lrn_param")
        params = {"size": p.first("local_size", 5), "alpha": p.first("alpha", 1.0),
                  "beta": p.first("beta", 0.75), "k": p.first("k", 1.0)}
        return net.add("lrn", lname, params, [src], loc)
    if ltype == "Dropout":
        return net.add("dropout", lname, {"rate": float(layer.msg("dropout_param").first("dropout_ratio", 0.5))},
                       [src], loc)
    if ltype == "Concat":
        p = layer.msg("concat_param")
        axis = p.first("axis", p.first("concat_dim", 1))
        if axis != 1:
            return None
        if len(ins) == 1:
            return src
        return net.add("concat", lname, {}, ins, loc)
    if ltype == "Eltwise":
        op = str(layer.msg("eltwise_param").first("operation", "SUM")).upper()
        kind = {"SUM": "add", "1": "add", "PROD": "multiply", "0": "multiply"}.get(op)
        if kind is None:
            return None
        return net.add(kind, lname, {}, ins, loc)
    if ltype == "Flatten":
        p = layer.msg("flatten_param")
        if p.first("axis", 1) != 1 or p.first("end_axis", -1) != -1:
            return None
        return net.add("flatten", lname, {}, [src], loc)
    if ltype == "Reshape":
        dims = [int(d) for d in layer.msg("reshape_param").msg("shape").all("dim")]
        old = (1,) + ((in_shape[2], in_shape[0], in_shape[1]) if len(in_shape) == 3 else tuple(in_shape))
        new = [old[i] if d == 0 else d for i, d in enumerate(dims)]
        if new.count(-1) == 1:
            known = 1
            for d in new:
                known *= d if d != -1 else 1
            total = 1
            for d in old:
                total *= d
            new[new.index(-1)] = total // known if known else 0
        if len(new) == 4:
            return net.add("reshape", lname, {"shape": [new[2], new[3], new[1]]}, [src], loc)
        if len(new) == 2:
            return net.add("reshape", lname, {"shape": [new[1]]}, [src], loc)
        return None
    if ltype == "BatchNorm":
        return net.add("batchnorm", lname, {"affine": False}, [src], loc)
    if ltype == "Scale":
        producer = next((x for x in net.layers[::-1] if x["name"] == src), None)
        has_bias = bool(layer.msg("scale_param").first("bias_term", False))
        if (len(ins) == 1 and producer is not None and producer["type"] == "batchnorm"
                and producer["params"].get("affine") is False and has_bias and src not in read):
            del producer["params"]["affine"]  # γ and β: the default, affine batch norm
            return src
        return None
    return None  # pragma: no cover - _mapping keeps this unreachable
