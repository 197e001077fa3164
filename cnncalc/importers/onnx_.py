"""ONNX ``.onnx`` → a cnncalc network, through the ``onnx`` package (an optional extra:
``pip install 'cnncalc[onnx]'``; no onnxruntime).

Tensors are N×C×H×W in ONNX and H×W×C in cnncalc (batch 1). Side graphs that only compute
shapes or constants (``Shape → Gather → Unsqueeze → Concat → Reshape``, ``Constant`` nodes,
``Identity`` of a weight) are evaluated here on exact integers and folded away; a ``Pad`` read
only by a ``Conv`` becomes the conv's padding; ``MatMul`` + ``Add`` of a bias is one dense layer.
Parameter counts come from the structure (weight shapes), never from reading weights, so the
weights themselves (or their external data files) are not needed. Every op that cannot be
mapped is named in one error.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, Optional

from ..core.errors import CnnCalcError, InputError
from . import onnx_fuse as fuse
from .common import TO_CHANNELS_LAST, ModelError, Net, channels_last_after, file_loc, unsupported

MAX_ONNX_BYTES = int(os.environ.get("CNNCALC_MAX_MODEL_BYTES", 2 << 30))

ACTS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Selu": "selu", "Softplus": "softplus",
        "HardSigmoid": "hardsigmoid", "HardSwish": "hardswish", "Mish": "mish", "Softmax": "softmax"}
MAPPED = set(ACTS) | {"Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization", "LeakyRelu", "Elu", "Gelu",
                      "PRelu", "Clip", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "ReduceMean",
                      "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Add", "Mul", "Concat", "Dropout", "Identity",
                      "Pad", "Resize", "Upsample", "LRN", "LayerNormalization", "Transpose",
                      "Split", "Slice", "Attention", "View", "Gather"}
REFUSED = {  # why a mapped op can still be refused
    "Add": "an activation plus a constant that is neither a dense layer's bias nor a weight of its whole shape",
    "Reshape": "to a shape other than N×C×H×W, N×D, tokens N×L×C or a map's N×C×(H·W)",
    "Squeeze": "to a shape other than N×C×H×W or N×D", "Unsqueeze": "to a shape other than N×C×H×W or N×D",
    "Concat": "not along the channels", "Gemm": "a transposed input, or not on a vector",
    "Gather": "not of one token (axis 1) of tokens N×L×C",
    "Mul": "an activation times a constant that is not a weight per channel",
    "MatMul": "not a vector, tokens or a channels-last map times a weight matrix",
    "Clip": "bounds other than [0, 6] or [0, ∞)",
    "Pad": "not zeros on H and W", "Resize": "not an integer scale or a size on H and W",
    "Upsample": "not an integer scale", "PRelu": "slopes neither shared nor per channel",
    "Softmax": "not over the channels", "Flatten": "axis other than 1", "ReduceMean": "not over H and W",
    "Conv": "weights that are not a constant 4-D tensor", "ConvTranspose": "an output_shape, or non-constant weights",
    "MaxPool": "not on H×W×C, or its indices are used", "AveragePool": "not on H×W×C, or dilated",
    "Transpose": "other than N×C×H×W to N×H×W×C and back, N×C×L to tokens N×L×C, or a channel shuffle's",
    "Split": "not along the channels", "Slice": "not a step-1 slice of the channels or one token",
}
SHUFFLE = ("a 5-D view that is not a channel shuffle (Reshape to N×g×C/g×H×W, Transpose(0, 2, 1, 3, 4), Reshape "
           "back to N×C×H×W, each read once)")
CHANNELS_LAST = "on a channels-last tensor (after Transpose to N×H×W×C): only ops on the last axis or element by " \
    "element are mapped there"
TOKENS_VIEW = ("N×C×(H·W) of a feature map not read once by Transpose(0, 2, 1) to tokens N×L×C (to_tokens)")
ONE_TOKEN = "one token N×1×C not read once by a Squeeze, Reshape or Flatten to N×C (select_token)"
CLASS_TOKEN = "a constant joined to an activation, other than a class token: a (1, 1, C) weight before tokens " \
    "N×L×C along axis 1"
VIEWS = {"tokens": f"Reshape ({TOKENS_VIEW})", "select": f"Slice ({ONE_TOKEN})"}
# what may act on a channels-last tensor (after Transpose to N×H×W×C): the last axis, element by element
LAST_AXIS = (set(ACTS) - {"Softmax"}) | {"Gelu", "LeakyRelu", "Elu", "Clip", "Dropout", "Identity", "MatMul", "Add",
                                         "Mul", "LayerNormalization", "Transpose"}
# what may act on tokens N×L×C (cnncalc's L×C): the last axis, element by element, one token, a class token
TOKEN_OPS = LAST_AXIS | {"Softmax", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Gather", "Slice", "Split",
                         "Concat"}
FOLDED = {"Shape", "Size", "Constant", "Identity", "Cast", "CastLike", "Gather", "Unsqueeze", "Squeeze", "Concat",
          "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Equal", "Greater", "Less", "Mod", "Floor", "Ceil", "Sqrt",
          "Neg", "Abs",
          "Not", "Reciprocal", "Slice", "Reshape", "Transpose", "ConstantOfShape", "Range", "ReduceProd", "Expand",
          "Where"}  # side-graph ops: folded when their inputs are constant


def _name(node, fallback: str) -> str:
    """A readable layer name: the module of a layer's weight (``layer1.0.conv1.weight``), the
    module scope PyTorch's dynamo exporter records (``pkg.torch.onnx.name_scopes``), or the node
    name of the TorchScript exporter (``/layer1/layer1.0/conv1/Conv``: ``layer1.0.conv1``)."""
    ins = list(node.input)
    if node.op_type in ("Conv", "ConvTranspose", "Gemm", "MatMul", "PRelu") and len(ins) > 1:
        w = _text(ins[1])
        if w.endswith(".weight") and len(w) > 7 and not w.startswith("onnx::"):
            return w[:-7]
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes" and len(prop.value) < 4000:
            try:
                import ast

                scopes = [str(x) for x in ast.literal_eval(prop.value) if x]
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                break
            if len(scopes) > 1:
                scopes = scopes[:-1]  # the last scope is the function called
            if scopes:
                return ".".join(scopes)
    return _scope_name(node, fallback)[0]


def _weight_named(node) -> bool:
    ins = list(node.input)
    return node.op_type in ("Conv", "ConvTranspose", "Gemm", "MatMul", "PRelu") and len(ins) > 1 and \
        _text(ins[1]).endswith(".weight")


def _scope_name(node, fallback: str) -> tuple:
    """(name, True when the name is the scope of a function called in a module's forward: the
    TorchScript exporter's ``/layer1/layer1.0/Add``). A scope is the module's name relative to
    its parent (``downsample.1`` inside ``layer1.0``) or already whole (``layer1.0`` in ``layer1``)."""
    raw = _text(node.name)
    parts = [p for p in raw.split("/") if p]
    if raw.startswith("/") and parts:
        op_scoped = parts[-1].split("_")[0] == node.op_type
        if op_scoped:
            parts = parts[:-1]
        pieces: list = []
        for p in parts:
            if pieces and p.startswith(pieces[-1] + "."):
                pieces[-1] = p  # downsample, downsample.1 → downsample.1
            elif pieces and p.startswith(".".join(pieces) + "."):
                pieces = [p]  # layer1, layer1.0 → layer1.0
            else:
                pieces.append(p)
        return (".".join(pieces) or fallback), op_scoped and bool(pieces)
    return raw or fallback, False


def _text(v) -> str:
    """A protobuf string field (bytes when the file holds invalid UTF-8)."""
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v or "")


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _f32(v) -> float:
    """An ONNX float attribute (stored as float32) as the decimal it was written as: 0.2, not
    0.20000000298023224."""
    import numpy as np

    return float(str(np.float32(v)))


def _as_list(v) -> list:
    return [int(x) for x in (v.tolist() if hasattr(v, "tolist") else v)]


def read_onnx(path: Path, display: str, size: Optional[tuple]) -> Net:
    try:
        import numpy as np
        import onnx
    except ImportError:
        raise InputError(f"{display}: reading .onnx files needs the onnx package: pip install 'cnncalc[onnx]' "
                         "(or pip install onnx)") from None
    try:
        st = os.stat(path)
    except OSError as e:
        raise InputError(f"{display}: cannot read ({e.strerror or e})") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{display}: not a regular file")
    if st.st_size > MAX_ONNX_BYTES:
        raise ModelError(f"the file is {st.st_size:,} bytes, over the {MAX_ONNX_BYTES:,}-byte limit "
                         "(set CNNCALC_MAX_MODEL_BYTES to raise it)", loc=file_loc(display))
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf's DecodeError and friends: the bytes are not a model
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelError(f"not an ONNX model (the protobuf does not decode: {first})", loc=file_loc(display)) \
            from None
    g = model.graph
    if not g.node or not model.opset_import:
        raise ModelError("not an ONNX model: no graph nodes or opset (truncated, or another kind of file?)",
                         loc=file_loc(display))
    name = g.name if g.name and g.name not in ("main_graph", "torch_jit", "torch-jit-export") else path.stem
    producer = f"{model.producer_name} {model.producer_version}".strip()
    net = Net(display, "ONNX" + (f", from {producer}" if producer else ""), name)
    loc = file_loc(display)

    inits = {t.name: t for t in g.initializer}
    opsets = {o.domain or "": o.version for o in model.opset_import}
    consts: dict = {}  # tensor → numpy value (folded)
    acts: dict = {}  # tensor → cnncalc layer name
    poisoned: set = set()
    last: set = set()  # activation tensors in channels-last layout (N×H×W×C): cnncalc's H×W×C as it is
    # a view under way: tensor → (source layer, groups, the step reached, name): a channel shuffle (steps 1, 2),
    # a feature map's N×C×(H·W) before Transpose(0, 2, 1) to tokens ("tokens"), one token N×1×C ("select")
    shuffle: dict = {}
    missing: list = []
    consumers: dict = {}
    for node in g.node:
        for t in node.input:
            if t:
                consumers[t] = consumers.get(t, 0) + 1
    for o in g.output:
        consumers[o.name] = consumers.get(o.name, 0) + 1

    def is_const(t: str) -> bool:
        return t == "" or t in consts or t in inits

    def value(t: str):
        if t not in consts:
            consts[t] = _array(inits[t], path.parent)
        return consts[t]

    def shape_of_const(t: str) -> tuple:
        if t in inits and t not in consts:
            return tuple(int(d) for d in inits[t].dims)
        return tuple(np.shape(consts[t]))

    def nchw(layer: str) -> list:
        s = net.shapes[layer]
        return [1, s[2], s[0], s[1]] if len(s) == 3 else [1, *s]  # a vector N×D, tokens N×L×C

    # ---- the input
    real_inputs = [i for i in g.input if i.name not in inits]
    used = [i for i in real_inputs if consumers.get(i.name)]
    if not used:
        raise ModelError("the graph has no input", loc=loc)
    if len(used) > 1:
        raise ModelError("the graph has several inputs (" + ", ".join(i.name for i in used) + "); cnncalc networks "
                         "have one", loc=loc)
    inp = used[0]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
    if size is not None:
        shape = size
    else:
        if len(dims) == 4 and None not in dims[1:]:
            shape = (dims[2], dims[3], dims[1])
        elif len(dims) == 2 and dims[1] is not None:
            shape = (dims[1],)
        elif len(dims) in (2, 4):
            raise ModelError(f"the input '{inp.name}' has a dynamic size (" + "×".join(
                str(d) if d is not None else "?" for d in dims) + "): give --input HxWxC", loc=loc)
        else:
            raise ModelError(f"the input '{inp.name}' has rank {len(dims)}; cnncalc reads N×C×H×W images or "
                             "N×D vectors", loc=loc)
    acts[inp.name] = net.set_input(shape)
    nodes = list(g.node)
    if fuse.wanted(g):  # attention subgraphs become one node each (onnx_fuse.py)
        onnx_in = (1, shape[2], shape[0], shape[1]) if len(shape) == 3 else (1, shape[0])
        try:
            nodes = fuse.rewrite(model, inits, consts, inp.name, onnx_in, _fold, path.parent)
        except CnnCalcError as err:
            raise err.located(loc=loc) from None
        consumers = {}
        for node in nodes:
            for t in node.input:
                if t:
                    consumers[t] = consumers.get(t, 0) + 1
        for o in g.output:
            consumers[o.name] = consumers.get(o.name, 0) + 1

    pending_pad: dict = {}  # Pad output tensor → (source layer, [t, b, l, r], name)
    dense_nobias: dict = {}  # dense layer made from MatMul → its tensor (a later Add may be its bias)

    def act_in(t: str) -> str:
        """The layer holding activation tensor t (a deferred Pad is written out here)."""
        if t in pending_pad:
            src, pads, pname = pending_pad.pop(t)
            acts[t] = net.add("zeropad", pname, {"padding": pads}, [src], loc)
        return acts[t]

    # a function called in a module's forward is named after the module and the op (layer1.0.add,
    # as torch.fx names it), when the module has other layers inside it (it is not a leaf module)
    node_names = [_name(node, _text(node.op_type).lower() or f"node{i}") for i, node in enumerate(nodes)]
    parents = {n.rsplit(".", k)[0] for n in node_names for k in range(1, n.count(".") + 1)}
    for i, node in enumerate(nodes):
        if node_names[i] in parents and _scope_name(node, "")[1] and not _weight_named(node):
            node_names[i] = f"{node_names[i]}.{_text(node.op_type).lower()}"

    for i, node in enumerate(nodes):
        op = _text(node.op_type)
        lname = node_names[i]
        try:
            a = _attrs(node)
        except Exception as e:  # noqa: BLE001 - a damaged attribute
            raise ModelError(f"the attributes of this {op} node cannot be read ({type(e).__name__})", loc=loc,
                             layer=lname) from None
        ins = list(node.input)
        outs = [o for o in node.output]
        if any(t in poisoned for t in ins if t):
            poisoned.update(outs)
            if op not in MAPPED and op not in FOLDED:
                missing.append((lname, op))
            elif op == "Attention" and "refused" in a:  # the pre-pass's reason (onnx_fuse.py)
                why = fuse.map_fused(net, node, "", None, lname, loc)
                missing.append((lname, f"{op} ({why})"))
            continue
        try:
            # ---- constant side graphs
            if op in ("Shape", "Size") and ins[0] in inits and ins[0] not in consts:  # a weight's: its dims
                consts[outs[0]] = _dims_folded(op, a, inits[ins[0]])
                continue
            if op == "Shape" and ins[0] in acts or op == "Shape" and ins[0] in pending_pad:
                src = act_in(ins[0])
                s = nchw(src)
                s = np.array([s[i] for i in TO_CHANNELS_LAST] if ins[0] in last else s, dtype=np.int64)
                start, end = a.get("start", 0), a.get("end", None)
                consts[outs[0]] = s[start:end]
                continue
            if op == "Size" and ins[0] in acts:
                consts[outs[0]] = np.array(int(np.prod(nchw(act_in(ins[0])))), dtype=np.int64)
                continue
            if op == "Identity" and ins[0] in inits:  # exporters share one weight under two names
                inits[outs[0]] = inits[ins[0]]
                continue
            if op == "Expand" and ins[0] in inits and is_const(ins[1]) and np.broadcast_shapes(
                    shape_of_const(ins[0]), tuple(_as_list(value(ins[1])))) == shape_of_const(ins[0]):
                inits[outs[0]] = inits[ins[0]]  # a weight expanded to batch 1 (ViT's class token): the weight
                continue
            if outs and all(o in consts for o in outs if o):
                continue  # folded already (by the attention pre-pass)
            if op == "CastLike" and is_const(ins[0]) and len(ins) > 1 and not is_const(ins[1]):
                consts[outs[0]] = value(ins[0]).astype(np.float32)  # a constant cast to an activation's type
                continue
            if all(is_const(t) for t in ins) and (op not in ("Dropout", "Identity") or ins[0] not in acts):
                if any(_external(inits[t], path.parent) for t in ins if t in inits and t not in consts):
                    # a Transpose of a weight stored outside the file (PyTorch's dynamo exporter): the
                    # result's shape only, as a weight of that shape
                    inits.update(_shaped_like(node, ins, inits, consts, opsets))
                    continue
                vals = [None if t == "" else value(t) for t in ins]
                got = _fold(op, a, vals, node)
                for o, v in zip(outs, got):
                    consts[o] = v
                continue
            # ---- layers
            made = _map(net, op, a, node, lname, ins, outs, acts, act_in, is_const, value, shape_of_const, consts,
                        pending_pad, dense_nobias, consumers, nchw, loc, inits, last, shuffle)
        except CnnCalcError as err:
            raise err.located(loc=loc, layer=lname) from None
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, ArithmeticError, StopIteration) as e:
            raise ModelError(f"this {op} node cannot be read ({type(e).__name__}: {e})", loc=loc,
                             layer=lname) from None
        if isinstance(made, str):  # a reason of its own
            missing.append((lname, f"{op} ({made})"))
            poisoned.update(outs)
            continue
        if made is None or made is False:
            missing.append((lname, f"{op} ({REFUSED.get(op, 'this configuration')})" if op in MAPPED else op))
            poisoned.update(outs)
            continue
        if op not in ("Transpose", "Flatten", "Reshape", "Squeeze", "Attention", "View") and \
                any(t in last for t in ins if t):
            last.update(o for o in outs[:1] if o)
    missing += [(lname, VIEWS.get(step, f"Reshape ({SHUFFLE})")) for t, (_, _, step, lname) in shuffle.items()
                if consumers.get(t)]  # a view left under way (read by the graph's output)
    if missing:  # an attention's reason first: the ops after it are refused because it was
        missing.sort(key=lambda item: not item[1].startswith("Attention ("))
        raise unsupported(missing, "ONNX op", loc, hint="shapes and weights only flow through mapped ops")
    for t, (src, pads, pname) in list(pending_pad.items()):
        acts[t] = net.add("zeropad", pname, {"padding": pads}, [src], loc)
    return net


def _fold(op: str, a: dict, vals: list, node) -> list:
    """Evaluate a node whose inputs are all constant (shape arithmetic, Constant nodes)."""
    import numpy as np

    if op == "Constant":
        for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
            if key in a:
                v = a[key]
                if key == "value":
                    from onnx import numpy_helper

                    v = numpy_helper.to_array(v)
                return [np.array(v)]
        raise ModelError("a Constant node with no value this reader knows", received=", ".join(a))
    if op in ("Identity", "Dropout"):
        return [vals[0]]
    if op == "Cast":
        from onnx import helper

        return [vals[0].astype(helper.tensor_dtype_to_np_dtype(a["to"]))]
    if op == "Gather":
        return [np.take(vals[0], vals[1], axis=a.get("axis", 0))]
    if op == "Unsqueeze":
        axes = a.get("axes", None) if len(vals) < 2 or vals[1] is None else _as_list(vals[1])
        v = vals[0]
        for ax in sorted(x % (v.ndim + len(axes)) for x in axes):
            v = np.expand_dims(v, ax)
        return [v]
    if op == "Squeeze":
        axes = a.get("axes", None) if len(vals) < 2 or vals[1] is None else _as_list(vals[1])
        return [np.squeeze(vals[0], axis=tuple(axes) if axes is not None else None)]
    if op == "Concat":
        return [np.concatenate([np.atleast_1d(v) for v in vals], axis=a.get("axis", 0))]
    if op in ("Max", "Min", "Sum", "Mean") and len(vals) != 2:  # variadic: one input or several
        fn = {"Max": np.maximum, "Min": np.minimum, "Sum": np.add, "Mean": np.add}[op]
        out = vals[0]
        for v in vals[1:]:
            out = fn(out, v)
        return [out / len(vals) if op == "Mean" else out]
    if op in ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Equal", "Greater", "Less", "Mod"):
        x, y = vals[0], vals[1]
        if op == "Div" and np.issubdtype(x.dtype, np.integer):
            return [np.trunc(x / y).astype(x.dtype)]
        fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "Pow": np.power,
              "Max": np.maximum, "Min": np.minimum, "Equal": np.equal, "Greater": np.greater, "Less": np.less,
              "Mod": np.mod}[op]
        return [fn(x, y)]
    if op in ("Floor", "Ceil", "Sqrt", "Neg", "Abs", "Not", "Reciprocal"):
        fn = {"Floor": np.floor, "Ceil": np.ceil, "Sqrt": np.sqrt, "Neg": np.negative, "Abs": np.abs,
              "Not": np.logical_not, "Reciprocal": np.reciprocal}[op]
        return [fn(vals[0])]
    if op == "Slice":
        data = vals[0]
        if len(vals) > 1:
            starts, ends = _as_list(vals[1]), _as_list(vals[2])
            axes = _as_list(vals[3]) if len(vals) > 3 and vals[3] is not None else list(range(len(starts)))
            steps = _as_list(vals[4]) if len(vals) > 4 and vals[4] is not None else [1] * len(starts)
        else:
            starts, ends = a["starts"], a["ends"]
            axes, steps = a.get("axes", list(range(len(starts)))), [1] * len(starts)
        index = [slice(None)] * data.ndim
        for s, e, ax, st in zip(starts, ends, axes, steps):
            index[ax] = slice(s, e, st)
        return [data[tuple(index)]]
    if op == "Reshape":
        return [np.reshape(vals[0], _as_list(vals[1]))]
    if op == "Transpose":
        return [np.transpose(vals[0], a.get("perm"))]
    if op == "ConstantOfShape":
        from onnx import numpy_helper

        fill = numpy_helper.to_array(a["value"]) if "value" in a else np.array([0.0], dtype=np.float32)
        return [np.full(_as_list(vals[0]), fill.reshape(-1)[0], dtype=fill.dtype)]
    if op == "Range":
        return [np.arange(vals[0], vals[1], vals[2])]
    if op == "ReduceProd":
        return [np.prod(vals[0], keepdims=bool(a.get("keepdims", 1)))]
    if op == "Expand":
        return [vals[0] * np.ones(_as_list(vals[1]), dtype=vals[0].dtype)]
    if op == "Where":
        return [np.where(vals[0], vals[1], vals[2])]
    if op in ("Shape", "Size"):  # of a computed constant
        dims = np.array(np.shape(vals[0]), dtype=np.int64)
        return [dims[a.get("start", 0):a.get("end", None)] if op == "Shape" else np.array(np.prod(dims), np.int64)]
    if op == "MatMul":
        return [np.matmul(vals[0], vals[1])]
    if op in ("Exp", "Relu", "Sigmoid"):
        x = vals[0]
        return [np.exp(x) if op == "Exp" else np.maximum(x, 0).astype(x.dtype) if op == "Relu" else
                (1 / (1 + np.exp(-x))).astype(x.dtype)]
    if op == "Clip" and len(vals) >= 1:
        lo = vals[1] if len(vals) > 1 and vals[1] is not None else a.get("min", None)
        hi = vals[2] if len(vals) > 2 and vals[2] is not None else a.get("max", None)
        return [np.clip(vals[0], lo, hi).astype(vals[0].dtype)]
    if op == "ScatterND" and a.get("reduction", b"none") in (b"none", "none"):
        out = np.array(vals[0], copy=True)
        idx, upd = vals[1], vals[2]
        for i in np.ndindex(idx.shape[:-1]):
            out[tuple(idx[i])] = upd[i]
        return [out]
    # anything else: the reference implementation that ships with onnx
    try:
        from onnx.reference import ReferenceEvaluator

        ev = ReferenceEvaluator(node)
        feeds = {n: v for n, v in zip(node.input, vals) if n}
        return list(ev.run(None, feeds))
    except Exception as e:  # noqa: BLE001 - any failure is "cannot fold this constant"
        raise ModelError(f"cannot evaluate the constant {node.op_type} node ({type(e).__name__})") from None


def _shaped_like(node, ins: list, inits: dict, consts: dict, opsets: dict) -> dict:
    """Stand-ins for the outputs of a constant op whose inputs' values are not in the file: tensors
    with the output's dims and type and no values (marked external), from ONNX's shape rules."""
    from onnx import TensorProto, defs, helper, numpy_helper, shape_inference

    types, data = {}, {}
    for t in ins:
        if not t:
            continue
        if t in consts:
            v = consts[t]
            types[t] = helper.make_tensor_type_proto(helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
            if v.dtype.kind in "iub" and v.size <= 64:
                data[t] = numpy_helper.from_array(v, t)
        else:
            init = inits[t]
            if init.data_type in (6, 7) and len(init.dims) <= 1 and init.data_location != 1:  # a small int
                data[t] = init
            types[t] = helper.make_tensor_type_proto(init.data_type, list(init.dims))
    try:
        out = shape_inference.infer_node_outputs(defs.get_schema(node.op_type, opsets.get("", 17), ""), node,
                                                 types, data)
    except Exception as e:  # noqa: BLE001 - no shape rule applies: the weight's values would be needed
        raise ModelError(f"this {node.op_type} of a weight stored in an external data file cannot be worked out "
                         f"from shapes alone ({type(e).__name__})") from None
    made = {}
    for o in node.output:
        tp = out.get(o)
        dims = tp.tensor_type.shape.dim if tp is not None else ()
        if not o or tp is None or not all(d.HasField("dim_value") for d in dims):
            raise ModelError(f"the shape of this {node.op_type} of a weight stored in an external data file is "
                             "unknown")
        stub = TensorProto(name=o, data_type=tp.tensor_type.elem_type, dims=[d.dim_value for d in dims])
        stub.data_location = TensorProto.EXTERNAL
        made[o] = stub
    return made


MAX_EXTERNAL_READ = 16 << 20  # bytes of one external tensor read for a constant side graph


def _external_file(init, base: Optional[Path]) -> Optional[Path]:
    """The file holding a small external tensor's values, inside the model's folder; None when
    it is big, absent, or outside."""
    if base is None or init.data_location != 1:
        return None
    entries = {e.key: e.value for e in init.external_data}
    try:
        length = int(entries.get("length", -1))
    except ValueError:
        return None
    where = entries.get("location", "")
    if not where or not 0 <= length <= MAX_EXTERNAL_READ:
        return None
    target = (base / where).resolve()
    return target if target.is_file() and base.resolve() in target.parents else None


def _external(init, base: Optional[Path] = None) -> bool:
    """Whether a tensor's values are out of reach: in an external file too big to read for a side
    graph, absent, or a stand-in made by _shaped_like."""
    return init.data_location == 1 and _external_file(init, base) is None


def _array(init, base: Optional[Path] = None):
    """An initializer's values (a weight's are read only where a constant side graph needs them;
    an external one only when small and beside the model)."""
    from onnx import numpy_helper

    if init.data_location == 1:  # EXTERNAL
        if _external_file(init, base) is None:
            raise ModelError(f"the values of '{_text(init.name)}' are in an external data file that cnncalc does "
                             "not read (over 16 MiB, absent or outside the model's folder), and a constant side "
                             "graph needs them")
        return numpy_helper.to_array(init, str(base))
    return numpy_helper.to_array(init)


def _dims_folded(op: str, a: dict, init):
    """Shape / Size of a weight, from its dims (no values read)."""
    import numpy as np

    dims = np.array([int(d) for d in init.dims], dtype=np.int64)
    if op == "Size":
        return np.array(int(np.prod(dims)), dtype=np.int64)
    return dims[a.get("start", 0):a.get("end", None)]


def _has_bias(ins: list, inits: dict, consts: dict) -> bool:
    """Whether a Conv / Gemm has a bias: a weight (initializer), or a computed constant that is
    not all zeros (PyTorch's dynamo exporter writes a bias-free conv's as zeros expanded to C)."""
    import numpy as np

    if not (len(ins) > 2 and ins[2]):
        return False
    return ins[2] in inits or ins[2] not in consts or bool(np.any(consts[ins[2]] != 0))


def _pads_tblr(pads, rank_spatial: int = 2) -> list:
    """ONNX pads [H_begin, W_begin, H_end, W_end] → cnncalc [top, bottom, left, right]."""
    if not pads:
        return [0, 0, 0, 0]
    t, left, b, r = (int(x) for x in pads)
    return [t, b, left, r]


def _padding_value(tblr: list) -> Any:
    t, b, left, r = tblr
    if t == b == left == r:
        return t
    if t == b and left == r:
        return [t, left]
    return tblr


def _window_params(a: dict, tblr: list, kernel, stride_default=1) -> dict:
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    p: dict = {"kernel": kernel}
    strides = a.get("strides")
    s = [int(x) for x in strides] if strides else [stride_default, stride_default]
    p["stride"] = s[0] if s[0] == s[1] else s
    if auto == "SAME_UPPER":
        p["padding"] = "same"
    elif auto == "VALID":
        p["padding"] = 0
    elif auto == "SAME_LOWER":
        raise ModelError("auto_pad SAME_LOWER (the odd pixel before) has no cnncalc padding; export with explicit "
                         "pads")
    else:
        p["padding"] = _padding_value(tblr)
    dil = a.get("dilations")
    if dil and any(int(d) != 1 for d in dil):
        d = [int(x) for x in dil]
        p["dilation"] = d[0] if d[0] == d[1] else d
    return p


def _map(net, op, a, node, lname, ins, outs, acts, act_in, is_const, value, shape_of_const, consts,
         pending_pad, dense_nobias, consumers, nchw, loc, inits, last, shuffle):
    """Add the layer(s) for one op whose first input is an activation; None (or the reason, a
    string) when unmappable."""
    import numpy as np

    if ins and ins[0] in shuffle:  # ShuffleNet's view (N, g, C/g, H, W) → transpose(1, 2) → view (N, C, H, W)
        src, g, step, first = shuffle.pop(ins[0])
        if step == "tokens":  # ViT's x.reshape(n, c, h·w).permute(0, 2, 1), torch's x.flatten(2).transpose(1, 2)
            if op == "Transpose" and list(a.get("perm") or ()) == [0, 2, 1]:
                acts[outs[0]] = net.add("to_tokens", first, {}, [src], loc)
                return True
            return TOKENS_VIEW
        if step == "select":  # x[:, i:i + 1] squeezed: token i
            c = net.shapes[src][-1]
            if op == "Reshape" and is_const(ins[1]):
                new = [(1, 1, c)[i] if d == 0 and i < 3 else d for i, d in enumerate(_as_list(value(ins[1])))]
                if new.count(-1) == 1:
                    new[new.index(-1)] = c // max(1, -int(np.prod(new)))
                fits = new == [1, c]
            elif op == "Squeeze":
                axes = a.get("axes") if not (len(ins) > 1 and ins[1]) else _as_list(value(ins[1]))
                fits = axes is None and c > 1 or axes is not None and sorted(x % 3 for x in axes) == [1]
            else:
                fits = op == "Flatten" and int(a.get("axis", 1)) == 1
            if fits:
                acts[outs[0]] = net.add("select_token", first, {"index": g}, [src], loc)
                return True
            return ONE_TOKEN
        if step == 1 and op == "Transpose" and list(a.get("perm") or ()) == [0, 2, 1, 3, 4] and \
                consumers.get(outs[0]) == 1:
            shuffle[outs[0]] = (src, g, 2, lname)
            return True
        if step == 2 and op == "Reshape" and is_const(ins[1]):
            old = nchw(src)
            target = _as_list(value(ins[1]))
            new = [d if d else old[i] for i, d in enumerate(target)] if len(target) == 4 else []
            if -1 in new:
                new[new.index(-1)] = int(np.prod(old)) // max(1, -int(np.prod(new)))
            if new == old:
                acts[outs[0]] = net.add("channel_shuffle", lname, {"groups": g}, [src], loc)
                return True
        return SHUFFLE
    if op == "View" and node.domain == fuse.DOMAIN:  # views fused by the pre-pass (onnx_fuse.py)
        a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in a.items()}
        if not ins or ins[0] not in acts or (a["layout_in"] == "nhwc") != (ins[0] in last):
            return "views of a map read in another layout than cnncalc's"
        acts[outs[0]] = net.add(a["type"], lname, json.loads(a["params"]), [act_in(ins[0])], loc)
        if a["layout_out"] == "nhwc":
            last.add(outs[0])
        return True
    if op == "Attention" and node.domain == fuse.DOMAIN:
        if "refused" in a or not ins or ins[0] not in acts and ins[0] not in pending_pad:
            return fuse.map_fused(net, node, "", None, lname, loc)
        src = act_in(ins[0])
        made = fuse.map_fused(net, node, src, lambda layout: (layout == "nhwc") == (ins[0] in last) or
                                   layout == "tokens", lname, loc)
        if isinstance(made, str):
            return made
        acts[outs[0]], layout = made
        if layout == "nhwc":
            last.add(outs[0])
        return True
    if not ins or ins[0] not in acts and ins[0] not in pending_pad:
        if op in ("Add", "Mul") and len(ins) == 2 and (ins[1] in acts or ins[1] in pending_pad):
            ins = [ins[1], ins[0]]
        elif op == "Concat" and any(t in acts for t in ins):
            # ViT's torch.cat([class_token.expand(n, -1, -1), x], dim=1): a (1, 1, C) weight before the tokens
            s = net.shapes[acts[ins[-1]]] if ins[-1] in acts else ()
            if len(ins) != 2 or len(s) != 2 or int(a.get("axis", 0)) % 3 != 1 or ins[0] not in inits or \
                    shape_of_const(ins[0]) != (1, 1, s[1]):
                return CLASS_TOKEN
            acts[outs[0]] = net.add("class_token", lname, {}, [acts[ins[1]]], loc)
            return True
        else:
            return None
    x = ins[0]
    on_last = x in last
    tokens = x in acts and len(net.shapes[acts[x]]) == 2  # N×L×C: cnncalc's L×C as it is
    if tokens and op not in TOKEN_OPS:
        return "on tokens N×L×C: only ops on the last axis or element by element, one token (Gather, Slice) and " \
               "a class token (Concat) are mapped there"
    if on_last and op in ("Flatten", "Reshape", "Squeeze") and net.shapes[acts[x]][:2] == (1, 1):
        on_last = False  # 1×1×C: flattened in the same order either way
    elif on_last and op == "ReduceMean" and [x % 4 for x in (a.get("axes") or ())] == [3]:
        return "over the channels of a channels-last tensor, not as part of a LayerNorm (ReduceMean, Sub, Pow, " \
               "ReduceMean, Add ε, Sqrt, Div)"
    elif on_last and op not in LAST_AXIS and op != "Reshape":  # a Reshape to tokens N×(H·W)×C is read
        return CHANNELS_LAST
    if op in ("Add", "Mul") and len(ins) == 2 and (ins[1] in acts or ins[1] in pending_pad) and \
            (ins[1] in last) != on_last:
        return "of a channels-last and a channels-first tensor"

    def done(layer: str) -> bool:
        acts[outs[0]] = layer
        return True

    if op == "Pad":
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        pads = _as_list(value(ins[1])) if len(ins) > 1 and ins[1] else list(a.get("pads", []))
        cval = value(ins[2]) if len(ins) > 2 and ins[2] else np.array(a.get("value", 0.0))
        if len(ins) > 3 and ins[3]:
            return None  # pads on chosen axes (opset 18): not mapped
        if mode != "constant" or np.any(np.asarray(cval) != 0) or len(pads) != 8 or any(
                pads[i] for i in (0, 1, 4, 5)):
            return None
        if any(p < 0 for p in pads):
            return None
        src = act_in(x)
        pending_pad[outs[0]] = (src, [pads[2], pads[6], pads[3], pads[7]], lname)
        return True
    if op in ("Conv", "ConvTranspose"):
        wshape = shape_of_const(ins[1]) if is_const(ins[1]) else None
        if wshape is None or len(wshape) != 4:
            return None
        extra = [0, 0, 0, 0]
        if x in pending_pad and consumers.get(x) == 1 and op == "Conv" and a.get("auto_pad", b"NOTSET") in (
                b"NOTSET", "NOTSET"):
            src, extra, _ = pending_pad.pop(x)
        else:
            src = act_in(x)
        group = int(a.get("group", 1))
        kh, kw = wshape[2], wshape[3]
        own = _pads_tblr(a.get("pads"))
        tblr = [o + e for o, e in zip(own, extra)]
        p = {"filters": wshape[0] if op == "Conv" else wshape[1] * group}
        p.update(_window_params(a, tblr, kh if kh == kw else [kh, kw]))
        if op == "ConvTranspose":
            if a.get("output_shape"):
                return None
            op_pad = a.get("output_padding")
            if op_pad and any(op_pad):
                p["output_padding"] = [int(v) for v in op_pad] if op_pad[0] != op_pad[1] else int(op_pad[0])
        if group != 1:
            p["groups"] = group
        if not _has_bias(ins, inits, consts):
            p["bias"] = False
        if p.get("padding") == 0:
            del p["padding"]
        if p.get("stride") == 1:
            del p["stride"]
        return done(net.add("conv" if op == "Conv" else "conv_transpose", lname, p, [src], loc))
    src = act_in(x)
    shape = net.shapes[src]
    if op == "Transpose":
        perm = a.get("perm") or list(range(len(nchw(src))))[::-1]
        flipped = channels_last_after(perm, len(nchw(src)), on_last)
        if flipped is None:
            return None
        if flipped:
            last.add(outs[0])
        return done(src)  # the same H×W×C tensor for cnncalc
    if op == "LayerNormalization":
        rank = len(shape) + 1
        if not (on_last or len(shape) < 3) or int(a.get("axis", -1)) % rank != rank - 1:
            return "not over the channels: the last axis of a channels-last tensor, of tokens or of a vector"
        if any(o and consumers.get(o) for o in outs[1:]):
            return "its mean or inverse standard deviation is used"
        # γ and β are weights (initializers); PyTorch writes a Constant node where it has none
        gamma, beta = (len(ins) > i and ins[i] in inits for i in (1, 2))
        if beta and not gamma:
            return "a learnable bias without a learnable scale"
        c = shape[-1]
        if any(not is_const(t) or shape_of_const(t) not in ((c,), (1, c)) for t in ins[1:3] if t):
            return "a scale or bias of other than one value per channel"
        p = {"eps": _f32(a.get("epsilon", 1e-5))}
        if not gamma:
            p["affine"] = False
        elif not beta:
            p["bias"] = False
        return done(net.add("layernorm", lname, p, [src], loc))
    if op == "Gemm":
        if a.get("transA", 0) or len(shape) != 1 or not is_const(ins[1]):
            return None
        b = shape_of_const(ins[1])
        units = b[0] if a.get("transB", 0) else b[1]
        p = {"units": int(units)}
        if not _has_bias(ins, inits, consts):
            p["bias"] = False
        return done(net.add("dense", lname, p, [src], loc))
    if op == "MatMul":
        if len(shape) == 3 and not on_last or not is_const(ins[1]) or len(shape_of_const(ins[1])) != 2:
            return None
        layer = net.add("dense", lname, {"units": int(shape_of_const(ins[1])[1]), "bias": False}, [src], loc)
        dense_nobias[outs[0]] = layer
        return done(layer)
    if op == "Add" and is_const(ins[1]):
        layer = dense_nobias.get(x)
        if layer is not None and consumers.get(x) == 1 and shape_of_const(ins[1]) in (
                (net.shapes[layer][-1],), (1, net.shapes[layer][-1])):
            spec = next(s for s in reversed(net.layers) if s["name"] == layer)
            spec["params"].pop("bias", None)
            return done(layer)
        full = tuple(nchw(src))
        if ins[1] in inits and shape_of_const(ins[1]) in (full, full[1:]) and (len(full) == 4 and not on_last or
                                                                                tokens):
            # a weight of the activation's whole shape added to it: a bias for every position
            # (AlphaGo's policy output, ViT's position embedding of L×C or 1×L×C); a constant that
            # broadcasts is not a parameter cnncalc has
            return done(net.add("position_bias", lname, {}, [src], loc))
        return None
    if op == "Mul" and is_const(ins[1]):
        c = shape[-1]
        per_channel = [(c,), (1, c)] if len(shape) < 3 or on_last else [(c, 1, 1), (1, c, 1, 1)]
        if on_last or tokens:
            per_channel.append((1,) * len(nchw(src)[1:]) + (c,))
        if ins[1] in inits and shape_of_const(ins[1]) in per_channel:
            return done(net.add("layer_scale", lname, {}, [src], loc))  # γ · x, a weight per channel
        return None
    if op in ("Add", "Mul"):
        if len(ins) != 2 or not all(t in acts or t in pending_pad for t in ins):
            return None
        other = act_in(ins[1])
        return done(net.add("add" if op == "Add" else "multiply", lname, {}, [src, other], loc))
    if op in ACTS:
        if op == "Softmax" and a.get("axis", -1) % len(nchw(src)) != (len(nchw(src)) - 1 if len(shape) < 3 else 1):
            return None  # cnncalc's softmax is over the channels: axis 1 of N×C×H×W, the last of tokens, a vector
        return done(net.add(ACTS[op], lname, {}, [src], loc))
    if op == "LeakyRelu":
        return done(net.add("leaky_relu", lname, {"negative_slope": _f32(a.get("alpha", 0.01))}, [src], loc))
    if op == "Elu":
        return done(net.add("elu", lname, {"alpha": _f32(a.get("alpha", 1.0))}, [src], loc))
    if op == "Gelu":
        approx = a.get("approximate", b"none")
        approx = approx.decode() if isinstance(approx, bytes) else str(approx)
        return done(net.add("gelu", lname, {} if approx == "none" else {"approximate": approx}, [src], loc))
    if op == "PRelu":
        n = int(np.prod(shape_of_const(ins[1]))) if is_const(ins[1]) else -1
        if n == 1:
            return done(net.add("prelu", lname, {}, [src], loc))
        if n == shape[-1]:
            return done(net.add("prelu", lname, {"shared": False}, [src], loc))
        return None
    if op == "Clip":
        lo = value(ins[1]) if len(ins) > 1 and ins[1] else a.get("min", None)
        hi = value(ins[2]) if len(ins) > 2 and ins[2] else a.get("max", None)
        lo = None if lo is None else float(np.asarray(lo))
        hi = None if hi is None else float(np.asarray(hi))
        if lo == 0 and hi == 6:
            return done(net.add("relu6", lname, {}, [src], loc))
        if lo == 0 and (hi is None or hi == float("inf")):
            return done(net.add("relu", lname, {}, [src], loc))
        return None
    if op == "BatchNormalization":
        return done(net.add("batchnorm", lname, {}, [src], loc))
    if op == "LRN":
        return done(net.add("lrn", lname, {"size": int(a["size"]), "alpha": _f32(a.get("alpha", 1e-4)),
                                           "beta": _f32(a.get("beta", 0.75)), "k": _f32(a.get("bias", 1.0))},
                            [src], loc))
    if op in ("MaxPool", "AveragePool"):
        if len(shape) != 3:
            return None
        if len(outs) > 1 and outs[1] and consumers.get(outs[1]):
            return None  # the indices of a max pool
        k = [int(v) for v in a["kernel_shape"]]
        p = _window_params(a, _pads_tblr(a.get("pads")), k[0] if k[0] == k[1] else k)
        if op == "AveragePool" and "dilation" in p:
            return None
        if a.get("ceil_mode", 0):
            p["ceil_mode"] = True
        if p.get("padding") == 0:
            del p["padding"]
        if op == "AveragePool" and p.get("padding") and not a.get("count_include_pad", 0):
            p["count_include_pad"] = False
        return done(net.add("maxpool" if op == "MaxPool" else "avgpool", lname, p, [src], loc))
    if op in ("GlobalAveragePool", "GlobalMaxPool"):
        if len(shape) != 3:
            return None
        kind = "avg" if op == "GlobalAveragePool" else "max"
        return done(net.add(f"adaptive_{kind}pool", lname, {"size": 1}, [src], loc))
    if op == "ReduceMean":
        axes = a.get("axes") if not (len(ins) > 1 and ins[1]) else _as_list(value(ins[1]))
        if len(shape) != 3 or axes is None or sorted(x % 4 for x in axes) != [2, 3]:
            return None
        if a.get("keepdims", 1):
            return done(net.add("adaptive_avgpool", lname, {"size": 1}, [src], loc))
        return done(net.add("global_avgpool", lname, {}, [src], loc))
    if op == "Flatten":
        if a.get("axis", 1) != 1:
            return None
        return done(src if len(shape) == 1 else net.add("flatten", lname, {}, [src], loc))
    if op in ("Reshape", "Squeeze", "Unsqueeze"):
        old = [nchw(src)[i] for i in TO_CHANNELS_LAST] if on_last else nchw(src)  # the ONNX tensor's shape
        if op == "Reshape":
            if not is_const(ins[1]):
                return None
            target = _as_list(value(ins[1]))
            new = [old[i] if d == 0 and i < len(old) else d for i, d in enumerate(target)]
            if new.count(-1) == 1:
                known = int(np.prod([d for d in new if d != -1]))
                new[new.index(-1)] = int(np.prod(old)) // known if known else 0
        elif op == "Squeeze":
            axes = a.get("axes") if not (len(ins) > 1 and ins[1]) else _as_list(value(ins[1]))
            axes = [x % len(old) for x in axes] if axes is not None else [i for i, d in enumerate(old) if d == 1
                                                                           and i > 0]
            new = [d for i, d in enumerate(old) if i not in axes]
        else:
            axes = a.get("axes") if not (len(ins) > 1 and ins[1]) else _as_list(value(ins[1]))
            new = list(old)
            for ax in sorted(x % (len(old) + len(axes)) for x in axes):
                new.insert(ax, 1)
        if not new or new[0] != 1 or int(np.prod(new)) != int(np.prod(old)):
            return None
        if on_last:  # N×H×W×C → N×(H·W)×C: tokens (Swin, SegFormer); nothing else is read there
            if new == [1, old[1] * old[2], old[3]]:
                return done(net.add("to_tokens", lname, {}, [src], loc))
            return CHANNELS_LAST
        if len(new) == 2:
            return done(src if len(shape) == 1 else net.add("flatten", lname, {}, [src], loc))
        if len(new) == 4 and tokens and new[3] == shape[1] and new[1] * new[2] == shape[0]:
            # tokens → N×H×W×C: cnncalc's H×W×C, channels-last (SegFormer, PVT: permute(0, 3, 1, 2) next)
            last.add(outs[0])
            return done(net.add("reshape", lname, {"shape": new[1:]}, [src], loc))
        if len(new) == 3 and op == "Reshape":
            if tokens and new[1:] == old[1:]:
                return done(src)  # tokens viewed as they are
            if len(old) == 4 and not on_last and new[1] == old[1] and new[2] == old[2] * old[3]:
                if consumers.get(outs[0]) != 1:
                    return TOKENS_VIEW
                shuffle[outs[0]] = (src, 0, "tokens", lname)  # N×C×(H·W): tokens after Transpose(0, 2, 1)
                return True
        if len(new) == 4:
            target = (new[2], new[3], new[1])
            if target == tuple(shape):
                return done(src)
            return done(net.add("reshape", lname, {"shape": list(target)}, [src], loc))
        if op == "Reshape" and len(new) == 5 and len(old) == 4 and not on_last and new[1] * new[2] == old[1] and \
                new[3:] == old[2:] and new[1] > 1 and new[2] > 1:
            if consumers.get(outs[0]) != 1:
                return SHUFFLE
            shuffle[outs[0]] = (src, new[1], 1, lname)  # the first step of a channel shuffle
            return True
        return f"{REFUSED[op]}, here {'×'.join(map(str, new))}"  # e.g. LRN's N×1×C×H×W
    if op == "Split":
        rank = len(nchw(src))
        axis = int(a.get("axis", 0)) % rank
        if axis != (rank - 1 if on_last or len(shape) < 3 else 1):
            return None
        c = shape[-1]
        n = len(outs)
        if len(ins) > 1 and ins[1]:
            sizes = _as_list(value(ins[1]))
        elif a.get("split"):
            sizes = [int(v) for v in a["split"]]
        else:  # equal parts (the last one smaller when they do not divide: opset 18's num_outputs)
            k = -(-c // n)
            sizes = [k] * (n - 1) + [c - k * (n - 1)]
        if len(sizes) != n or sum(sizes) != c or min(sizes) < 1:
            return None
        p = {"parts": n} if len(set(sizes)) == 1 else {"sizes": sizes}
        layer = net.add("split", lname, p, [src], loc)
        for i, o in enumerate(outs):
            acts[o] = f"{layer}.{i}"
        return True
    if op == "Slice":
        rank = len(nchw(src))
        if not all(is_const(t) for t in ins[1:]) or len(ins) < 3:
            return None
        starts, ends = _as_list(value(ins[1])), _as_list(value(ins[2]))
        axes = _as_list(value(ins[3])) if len(ins) > 3 and ins[3] else list(range(len(starts)))
        steps = _as_list(value(ins[4])) if len(ins) > 4 and ins[4] else [1] * len(starts)
        c = shape[-1]
        if tokens and len(starts) == 1 and steps == [1] and axes[0] % rank == 1:
            lo, hi = slice(starts[0], ends[0]).indices(shape[0])[:2]
            if hi - lo != 1 or consumers.get(outs[0]) != 1:
                return None
            shuffle[outs[0]] = (src, lo, "select", lname)  # one token, N×1×C: a select_token when squeezed
            return True
        if len(starts) != 1 or steps != [1] or axes[0] % rank != (rank - 1 if on_last or len(shape) < 3 else 1):
            return None
        lo, hi = slice(starts[0], ends[0]).indices(c)[:2]
        if hi <= lo:
            return None
        if (lo, hi) == (0, c):
            return done(src)
        sizes = [s for s in (lo, hi - lo, c - hi) if s]
        p = {"parts": len(sizes)} if len(set(sizes)) == 1 else {"sizes": sizes}
        layer = net.add("split", lname, p, [src], loc)  # the slice is one of its parts
        return done(f"{layer}.{1 if lo else 0}")
    if op == "Concat":
        axis = a.get("axis", 1)
        rank = len(nchw(src))
        if not all(t in acts or t in pending_pad for t in ins):
            return CLASS_TOKEN
        if axis % rank != (rank - 1 if on_last or len(shape) < 3 else 1):
            return None
        srcs = [src] + [act_in(t) for t in ins[1:]]
        return done(srcs[0] if len(srcs) == 1 else net.add("concat", lname, {}, srcs, loc))
    if op == "Gather":  # x[:, i] of tokens: token i (ViT's head reads the class token, 0)
        index = value(ins[1]) if is_const(ins[1]) else None
        if not tokens or int(a.get("axis", 0)) % 3 != 1 or index is None or np.ndim(index) != 0 or \
                not -shape[0] <= int(index) < shape[0]:
            return None
        return done(net.add("select_token", lname, {"index": int(index) % shape[0]}, [src], loc))
    if op == "Dropout":
        ratio = value(ins[1]) if len(ins) > 1 and ins[1] else a.get("ratio", 0.5)
        return done(net.add("dropout", lname, {"rate": _f32(np.asarray(ratio))}, [src], loc))
    if op == "Identity":
        return done(src)
    if op in ("Resize", "Upsample"):
        mode = a.get("mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        mode = {"nearest": "nearest", "linear": "bilinear", "bilinear": "bilinear"}.get(mode)
        if mode is None or len(shape) != 3:
            return None
        scales_t = ins[1] if op == "Upsample" else (ins[2] if len(ins) > 2 else "")
        sizes_t = ins[3] if op == "Resize" and len(ins) > 3 else ""
        p: dict = {}
        if sizes_t:
            sizes = _as_list(value(sizes_t))
            if len(sizes) != 4 or sizes[:2] != nchw(src)[:2]:
                return None
            p["size"] = [sizes[2], sizes[3]]
        elif scales_t:
            scales = [float(v) for v in np.asarray(value(scales_t)).reshape(-1)]
            if len(scales) != 4 or scales[:2] != [1.0, 1.0] or any(s != int(s) or s < 1 for s in scales[2:]):
                return None
            sh, sw = int(scales[2]), int(scales[3])
            p["scale"] = sh if sh == sw else [sh, sw]
        else:
            return None
        if mode != "nearest":
            p["mode"] = mode
        return done(net.add("upsample", lname, p, [src], loc))
    return None
