"""What an ONNX exporter spread over many ops, made one node again before the op-by-op reader
(onnx_.py) maps it: attention (below), the views of pixel (un)shuffle, Swin's patch merging and
flattens (``_view_chains``: element ids pushed through them), LayerNorm before opset 17 and
GELU before opset 20 (``_layernorms``, ``_gelus``).

Attention: each attention subgraph becomes one node, which the reader maps to cnncalc's
``multihead_attention`` (ViT), ``window_attention`` (Swin, V1 and V2) or ``partition_attention``
(MaxViT).

An exporter spreads attention over dozens of ops: a QKV projection, reshapes and transposes
that split the heads, ``MatMul`` Q·Kᵀ, a scale, biases, ``Softmax``, ``MatMul`` ·V, an output
projection; Swin and MaxViT add the reshapes, transposes, pad and roll (``Slice`` + ``Concat``)
that cut the map into windows and put it back. Every tensor's shape is worked out first
(``propagate``: constants folded, ``onnx.shape_inference.infer_node_outputs`` for each op on
an activation). Nothing is recognised by a name. A subgraph becomes one layer only when three
facts read from it agree with that layer type:

- **who attends to whom**: every element's position is pushed, as an integer, through the view
  ops before the QKV projection (pad, roll, reshape, transpose) and after the output projection;
  the groups of tokens at the projection must be the whole sequence (ViT), Swin's windows for one
  shift, or MaxViT's blocks or grid, and the ops after it must put every position back;
- **the parameters**: the float initializers the subgraph reads (through constant side graphs)
  hold as many numbers as cnncalc counts for the layer (non-trainable buffers included). An
  exporter's constant folding may have turned the relative-position table into a heads×n×n bias:
  that is accepted only when its values have the table's structure (equal for equal offsets),
  and the table is counted;
- **the products**: the MACs of its ``MatMul``/``Gemm`` ops (those on constants included, as
  Swin V2's position-bias network) equal cnncalc's.

What fails a check is refused with the reason, never counted in silence.
"""

from __future__ import annotations

import json
import math
from typing import Optional

from ..core.errors import CnnCalcError

DOMAIN = "ai.cnncalc"  # the fused node: op_type "Attention" in this domain

VIEW = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Pad", "Slice", "Concat", "Split",
        "Gather"}
CORE = VIEW | {"MatMul", "Einsum", "Gemm", "Add", "Sub", "Mul", "Div", "Softmax", "Dropout", "Cast", "ReduceL2",
               "Clip", "Expand", "Max", "Sqrt", "Pow", "ReduceSum", "Where"}
FLOATS = (1, 10, 11, 16)  # TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16


def wanted(graph) -> bool:
    """Whether the graph may hold what this pass reads (cheap; no shapes needed): attention (a
    Softmax and a MatMul), a LayerNorm of opset < 17 (ReduceMean and Sqrt), a GELU of opset < 20
    (Erf), a pixel (un)shuffle spread over views (Reshape and Transpose, 6-D)."""
    ops = {n.op_type for n in graph.node}
    return "Softmax" in ops and "MatMul" in ops or {"ReduceMean", "Sqrt"} <= ops or "Erf" in ops or \
        {"Reshape", "Transpose", "Squeeze"} <= ops


class Facts:
    """Every tensor's constant value (folded) or static shape."""

    def __init__(self, graph, inits: dict, consts: dict, base=None):
        self.inits = inits
        self.base = base  # the model's folder (small external tensors are read from there)
        self.consts = consts
        self.shapes: dict = {}  # activation → tuple
        self.producer: dict = {}
        self.consumers: dict = {}
        for i, node in enumerate(graph.node):
            for o in node.output:
                if o:
                    self.producer[o] = i
            for t in node.input:
                if t:
                    self.consumers.setdefault(t, []).append(i)
        self.outputs = {o.name for o in graph.output}

    def is_const(self, t: str) -> bool:
        return t == "" or t in self.consts or t in self.inits

    def value(self, t: str):
        if t not in self.consts:
            from .onnx_ import _array

            self.consts[t] = _array(self.inits[t], self.base)
        return self.consts[t]

    def shape(self, t: str) -> Optional[tuple]:
        if t in self.shapes:
            return self.shapes[t]
        if t in self.inits and t not in self.consts:
            return tuple(int(d) for d in self.inits[t].dims)
        if t in self.consts:
            return tuple(self.consts[t].shape)
        return None


def propagate(model, inits: dict, consts: dict, input_name: str, input_shape: tuple, fold, base=None) -> Facts:
    """Shapes of every activation and values of every constant, in node order. ``fold`` is the
    reader's constant folder; an op on an activation gets its shape from ONNX's own shape rules."""
    import numpy as np
    from onnx import defs, helper, numpy_helper, shape_inference

    g = model.graph
    facts = Facts(g, inits, consts, base)
    opsets = {o.domain or "": o.version for o in model.opset_import}
    elem = {i.name: i.type.tensor_type.elem_type for i in g.input}
    facts.shapes[input_name] = tuple(input_shape)
    types_of: dict = {input_name: elem.get(input_name, 1)}
    for node in g.node:
        ins, op = list(node.input), node.op_type
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if op in ("Shape", "Size") and ins[0] in inits and ins[0] not in consts:
            from .onnx_ import _dims_folded

            consts[node.output[0]] = _dims_folded(op, attrs, inits[ins[0]])
            continue
        if op == "Shape" and ins[0] in facts.shapes:
            s = np.array(facts.shapes[ins[0]], dtype=np.int64)
            consts[node.output[0]] = s[attrs.get("start", 0):attrs.get("end", None)]
            continue
        if op == "Size" and ins[0] in facts.shapes:
            consts[node.output[0]] = np.array(math.prod(facts.shapes[ins[0]]), dtype=np.int64)
            continue
        if op == "CastLike" and len(ins) > 1 and facts.is_const(ins[0]) and not facts.is_const(ins[1]):
            consts[node.output[0]] = facts.value(ins[0]).astype(np.float32)  # as the reader
            continue
        if op == "Identity" and ins and ins[0] in inits:
            inits[node.output[0]] = inits[ins[0]]  # exporters share one weight under two names (as the reader)
            continue
        if all(facts.is_const(t) for t in ins) and (ins or op == "Constant"):
            from .onnx_ import _external, _shaped_like

            if any(_external(inits[t], base) for t in ins if t in inits and t not in consts):
                try:
                    inits.update(_shaped_like(node, ins, inits, consts, opsets))
                except CnnCalcError:
                    pass  # left to the reader, which says so
                continue
            try:
                got = fold(op, attrs, [None if t == "" else facts.value(t) for t in ins], node)
            except (ArithmeticError, IndexError, KeyError, TypeError, ValueError):
                continue  # left to the reader, which names the node it cannot read
            for o, v in zip(node.output, got):
                consts[o] = np.asarray(v)
            continue
        if any(t and facts.shape(t) is None for t in ins) or node.domain not in ("", "ai.onnx"):
            continue  # after an op of unknown shape: the reader says what it cannot map
        types, data = {}, {}
        for t in ins:
            if not t:
                continue
            if t in inits and t not in consts:  # a weight: its dims and type (values only for a small int)
                init = inits[t]
                if init.data_type in (6, 7) and math.prod(init.dims) <= 64 and init.data_location != 1:
                    data[t] = init
                types[t] = helper.make_tensor_type_proto(init.data_type, list(init.dims))
            elif t in consts:
                v = consts[t]
                if v.dtype.kind in "iub" and v.size <= 64:
                    data[t] = numpy_helper.from_array(v, t)
                types[t] = helper.make_tensor_type_proto(helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
            else:
                types[t] = helper.make_tensor_type_proto(types_of.get(t, 1), facts.shapes[t])
        try:
            schema = defs.get_schema(op, opsets.get("", 17), "")
            out = shape_inference.infer_node_outputs(schema, node, types, data)
        except Exception:  # noqa: BLE001 - an op ONNX cannot infer: its outputs stay unknown
            continue
        for o in node.output:
            tp = out.get(o)
            if tp is None or not tp.tensor_type.HasField("shape"):
                continue
            dims = tp.tensor_type.shape.dim
            if all(d.HasField("dim_value") for d in dims):
                facts.shapes[o] = tuple(int(d.dim_value) for d in dims)
                types_of[o] = tp.tensor_type.elem_type
    return facts


# ------------------------------------------------------------------------------------------
# finding the subgraphs

def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _projection(facts: Facts, node) -> Optional[tuple]:
    """(input tensor, in features, out features) of a MatMul / Gemm by a constant 2-D weight."""
    ins = list(node.input)
    if node.op_type not in ("MatMul", "Gemm") or len(ins) < 2 or facts.is_const(ins[0]) or \
            not facts.is_const(ins[1]):
        return None
    w = facts.shape(ins[1])
    if w is None or len(w) != 2:
        return None
    if node.op_type == "Gemm":
        a = _attrs(node)
        if a.get("transA", 0):
            return None
        return ins[0], (w[1] if a.get("transB", 0) else w[0]), (w[0] if a.get("transB", 0) else w[1])
    return ins[0], w[0], w[1]


def _product(facts: Facts, node) -> bool:
    """A product of two activations (Q·Kᵀ, softmax·V): a MatMul, or an Einsum contracting the last
    axis of one with an axis of the other (torchvision's MaxViT writes both as einsum)."""
    if node.op_type not in ("MatMul", "Einsum") or len(_acts(facts, node)) != 2:
        return False
    return node.op_type == "MatMul" or _einsum(node) is not None


def _einsum(node) -> Optional[tuple]:
    """(letters of the first input, of the second, of the output) of a two-input Einsum, or None."""
    eq = _attrs(node).get("equation", b"")
    eq = (eq.decode() if isinstance(eq, bytes) else str(eq)).replace(" ", "")
    if "->" not in eq or "..." in eq:
        return None
    ins, out = eq.split("->")
    parts = ins.split(",")
    if len(parts) != 2 or not all(p.isalpha() for p in parts + [out]):
        return None
    return parts[0], parts[1], out


def _product_macs(facts: Facts, node) -> int:
    """Multiply-accumulates of a MatMul / Gemm / two-input Einsum: every output value sums over the
    contracted axis (an Einsum: the product of every letter's size)."""
    if node.op_type == "Einsum":
        a, b, _ = _einsum(node)
        sizes = dict(zip(a, facts.shape(node.input[0])))
        sizes.update(zip(b, facts.shape(node.input[1])))
        return math.prod(sizes.values())
    a, o = facts.shape(node.input[0]), facts.shape(node.output[0])
    if node.op_type == "Gemm" and _attrs(node).get("transA", 0):
        return math.prod(o) * a[0]
    return math.prod(o) * a[-1]


def _acts(facts: Facts, node) -> list:
    return [t for t in node.input if t and not facts.is_const(t)]


def find(model, facts: Facts) -> list:
    """Each attention subgraph found, as a dict (see ``_region``), or a reason it is refused."""
    nodes = list(model.graph.node)
    found, taken = [], set()
    for i, node in enumerate(nodes):
        if node.op_type != "Softmax" or i in taken or not _acts(facts, node):
            continue
        region = _region(nodes, facts, i)
        if region is None:
            continue
        if isinstance(region, dict):
            taken |= region["nodes"]
        found.append(region)
    return found


def _back_to_projections(nodes, facts: Facts, stack: list, core: set, proj_in: set) -> Optional[int]:
    """Walk back from the tensors of ``stack`` through attention's ops (added to ``core``) to
    projections by a constant weight (added to ``proj_in``): the number of products of two
    activations passed, or None when another op or the graph's input is reached."""
    products = 0
    while stack:
        t = stack.pop()
        p = facts.producer.get(t)
        if p is None:
            return None
        if p in core or p in proj_in:
            continue
        node = nodes[p]
        if _projection(facts, node):
            proj_in.add(p)
            continue
        if node.op_type not in CORE:
            return None
        if _product(facts, node):
            products += 1
        core.add(p)
        stack += _acts(facts, node)
    return products


def _region(nodes, facts: Facts, s: int):
    """The nodes of the attention around Softmax ``s``: None when it is not attention at all
    (a classifier's softmax), a dict when it is, a (node index, reason) pair when it looks like
    attention but a check fails."""
    # backward from the softmax to the QKV projection; forward through ·V to the output projection
    core: set = {s}
    proj_in: set = set()
    if _back_to_projections(nodes, facts, _acts(facts, nodes[s]), core, proj_in) != 1:
        return None  # no Q·Kᵀ before the softmax: not attention
    # forward: the softmax's consumers to ·V, then to the output projection
    proj_out: set = set()
    front = [o for o in nodes[s].output if o]
    seen: set = set()
    av = None
    while front:
        t = front.pop()
        if t in seen:
            continue
        seen.add(t)
        for c in facts.consumers.get(t, []):
            node = nodes[c]
            if all(facts.is_const(o) for o in node.output if o):
                continue  # a Shape of it: folded
            if c in core:
                continue
            if _projection(facts, node):
                proj_out.add(c)
                continue
            if node.op_type not in CORE:
                return None
            if _product(facts, node):
                if av is not None and av != c:
                    return None
                av = c
            core.add(c)
            front += [o for o in node.output if o]
    if av is None or len(proj_out) != 1:
        return None
    # V: backward from ·V's other input to the same projection
    if _back_to_projections(nodes, facts, [t for t in _acts(facts, nodes[av]) if facts.producer.get(t) not in core],
                            core, proj_in) != 0:
        return None
    (po,) = proj_out
    if len(proj_in) != 1:
        return (s, f"{len(proj_in)} projections feed Q, K and V (cnncalc reads one packed Q, K, V projection)")
    (pi,) = proj_in
    x, c_in, c3 = _projection(facts, nodes[pi])
    _, c_mid, c_out = _projection(facts, nodes[po])
    core |= {pi, po}
    # the projections' biases: a Gemm's third input, or an Add of a constant right after the MatMul
    bias_in = nodes[pi].op_type == "Gemm" and len(nodes[pi].input) > 2 and bool(nodes[pi].input[2])
    bias_out = nodes[po].op_type == "Gemm" and len(nodes[po].input) > 2 and bool(nodes[po].input[2])
    for c in facts.consumers.get(nodes[pi].output[0], []):
        if nodes[c].op_type == "Add" and c in core and any(facts.is_const(t) for t in nodes[c].input):
            bias_in = True
    end = nodes[po].output[0]
    users = [c for c in facts.consumers.get(end, []) if not _folded(nodes[c], facts)]
    if nodes[po].op_type == "MatMul" and len(users) == 1 and nodes[users[0]].op_type == "Add" and \
            any(facts.is_const(t) and facts.shape(t) in ((c_out,), (1, c_out)) for t in nodes[users[0]].input):
        core.add(users[0])
        bias_out = True
        end = nodes[users[0]].output[0]
    if not (c3 == 3 * c_in and c_mid == c_in and c_out == c_in):
        return (s, f"projections {c_in}→{c3} and {c_mid}→{c_out}, not C→3·C and C→C")
    qk = [c for c in core if c < s and _product(facts, nodes[c])]
    if len(qk) != 1:
        return (s, "not one Q·Kᵀ product before the softmax")
    return {"softmax": s, "nodes": core, "qkv": pi, "proj": po, "x": x, "end": end, "channels": c_in,
            "qkv_bias": bias_in, "proj_bias": bias_out, "qk": qk[0], "av": av}


def _folded(node, facts: Facts) -> bool:
    """A node whose outputs are all constants (a Shape of an activation, folded)."""
    return all(facts.is_const(o) for o in node.output if o)


def _closed(nodes, facts: Facts, region: set, end: str) -> Optional[str]:
    """None when every tensor made inside the region is read only inside it (``end`` aside)."""
    for c in region:
        for o in nodes[c].output:
            if not o or o == end:
                continue
            if o in facts.outputs:
                return f"its {nodes[c].op_type} output is a graph output"
            for u in facts.consumers.get(o, []):
                if u not in region and not _folded(nodes[u], facts):
                    return f"its {nodes[c].op_type} output is read outside the attention"
    return None


# ------------------------------------------------------------------------------------------
# positions pushed through the view ops

def _push(node, facts: Facts, vals: dict) -> list:
    """A view op evaluated on integer arrays (element ids); padding is −1."""
    import numpy as np

    op, a = node.op_type, _attrs(node)
    ins = list(node.input)
    if ins[0] not in vals:  # a constant first (a class token concatenated in front)
        raise ValueError(f"a {op} of a constant moves no positions cnncalc follows")
    x = vals[ins[0]]

    def const(i):
        return facts.value(ins[i]) if len(ins) > i and ins[i] else None

    if op in ("Identity", "Dropout"):
        return [x]
    if op == "Reshape":
        target = [int(v) for v in const(1)]
        if not a.get("allowzero", 0):
            target = [x.shape[i] if v == 0 else v for i, v in enumerate(target)]
        return [x.reshape(target)]
    if op == "Flatten":
        ax = a.get("axis", 1) % max(x.ndim, 1)
        return [x.reshape(int(np.prod(x.shape[:ax])), -1)]
    if op == "Transpose":
        return [np.transpose(x, a.get("perm"))]
    if op in ("Squeeze", "Unsqueeze"):
        axes = a.get("axes") if const(1) is None else [int(v) for v in const(1)]
        if op == "Squeeze":
            return [np.squeeze(x, axis=tuple(v % x.ndim for v in axes)) if axes is not None else np.squeeze(x)]
        for ax in sorted(v % (x.ndim + len(axes)) for v in axes):
            x = np.expand_dims(x, ax)
        return [x]
    if op == "Slice":
        starts, ends = [int(v) for v in const(1)], [int(v) for v in const(2)]
        axes = [int(v) for v in const(3)] if const(3) is not None else list(range(len(starts)))
        steps = [int(v) for v in const(4)] if const(4) is not None else [1] * len(starts)
        index = [slice(None)] * x.ndim
        for st, en, ax, sp in zip(starts, ends, axes, steps):
            index[ax % x.ndim] = slice(st, en, sp)
        return [x[tuple(index)]]
    if op == "Concat":
        if not all(t in vals for t in ins):
            raise ValueError("a Concat with a constant (a class token?) moves no positions cnncalc follows")
        return [np.concatenate([vals[t] for t in ins], axis=a.get("axis", 0))]
    if op == "Gather":
        return [np.take(x, const(1), axis=a.get("axis", 0))]
    if op == "Split":
        ax = a.get("axis", 0) % x.ndim
        sizes = [int(v) for v in const(1)] if const(1) is not None else a.get("split")
        n = len([o for o in node.output])
        if not sizes:
            k = -(-x.shape[ax] // n)
            sizes = [k] * (n - 1) + [x.shape[ax] - k * (n - 1)]
        return list(np.split(x, np.cumsum(sizes)[:-1], axis=ax))
    if op == "Pad":
        mode = a.get("mode", b"constant")
        if (mode.decode() if isinstance(mode, bytes) else str(mode)) != "constant":
            raise ValueError("a Pad that is not constant")
        pads = [int(v) for v in const(1)] if const(1) is not None else list(a.get("pads", []))
        value = const(2)
        if value is not None and np.any(np.asarray(value) != 0):
            raise ValueError("a Pad by a value other than 0")
        if len(ins) > 3 and ins[3]:
            raise ValueError("a Pad on chosen axes")
        r = x.ndim
        if any(v < 0 for v in pads):
            raise ValueError("a Pad that crops")
        return [np.pad(x, [(pads[i], pads[i + r]) for i in range(r)], constant_values=-1)]
    raise ValueError(f"{op} moves positions in a way cnncalc does not follow")


def _ids(layout: str, dims: tuple):
    """Each element's id, (position · C + channel), in a tensor of cnncalc shape ``dims``."""
    import numpy as np

    base = np.arange(math.prod(dims), dtype=np.int64).reshape(dims)  # already position · C + channel
    if layout == "nchw":
        return np.transpose(base, (2, 0, 1))[None]
    return base[None]


def _layouts(shape: tuple, c: int) -> list:
    """The readings of a tensor's shape as cnncalc's: (layout, cnncalc dims)."""
    out = []
    if len(shape) == 3 and shape[0] == 1 and shape[2] == c:
        out.append(("tokens", (shape[1], c)))
    if len(shape) == 4 and shape[0] == 1:
        if shape[3] == c:
            out.append(("nhwc", (shape[1], shape[2], c)))
        if shape[1] == c:
            out.append(("nchw", (shape[2], shape[3], c)))
    return out


# ------------------------------------------------------------------------------------------
# the rewrite

def rewrite(model, inits: dict, consts: dict, input_name: str, input_shape: tuple, fold, base=None) -> list:
    """The graph's nodes with each attention subgraph replaced by one ``Attention`` node of
    domain ``ai.cnncalc`` (attributes: the layer type, its parameters as JSON, the layouts, the
    figures read from the subgraph), or by a node carrying the reason it is refused."""
    from onnx import helper

    facts = propagate(model, inits, consts, input_name, input_shape, fold, base)
    nodes = list(model.graph.node)
    drop: set = set()
    put: dict = {}  # node index → the node that takes its place
    for region in find(model, facts):
        if isinstance(region, tuple):
            s, why = region
            put[s] = _refusal(nodes[s], why)
            continue
        try:
            done = _read(nodes, facts, region)
        except (ValueError, KeyError, IndexError, TypeError) as e:
            done = str(e)
        if isinstance(done, str):
            put[region["softmax"]] = _refusal(nodes[region["softmax"]], done)
            continue
        members, entry, end, attrs = done
        drop |= members
        at = max(members)
        name = nodes[region["softmax"]].name
        name = (name.rsplit("/", 1)[0] + "/Attention") if "/" in name else (name or "attention")
        put[at] = helper.make_node("Attention", [entry], [end], name=name, domain=DOMAIN, **attrs)
    _view_chains(nodes, facts, drop, put)
    _layernorms(nodes, facts, drop, put)
    _gelus(nodes, facts, drop, put)
    if not put:
        return nodes
    out = []
    for i, node in enumerate(nodes):
        if i in put:
            out.append(put[i])
        elif i not in drop:
            out.append(node)
    return out


def _refusal(node, why: str):
    from onnx import helper

    name = node.name.rsplit("/", 1)[0] + "/Attention" if "/" in node.name else (node.name or "attention")
    return helper.make_node("Attention", list(node.input), list(node.output), name=name, domain=DOMAIN,
                            refused=why)


def _read(nodes, facts: Facts, region: dict):
    """(region's nodes, entry tensor, exit tensor, attributes) or the reason it is refused."""
    import numpy as np

    core = set(region["nodes"])
    c = region["channels"]
    # the view ops before the QKV projection: as far back as they are read only by the attention
    entry: set = set()
    front = {region["x"]}
    changed = True
    while changed:
        changed = False
        for t in list(front):
            p = facts.producer.get(t)
            if p is None or nodes[p].op_type not in VIEW or \
                    nodes[p].op_type == "Gather" and not facts.is_const(nodes[p].input[1]):
                continue
            if any(u not in core | entry | {p} and not _folded(nodes[u], facts)
                   for o in nodes[p].output if o for u in facts.consumers.get(o, [])):
                continue
            entry.add(p)
            front.discard(t)
            front |= set(_acts(facts, nodes[p]))
            changed = True
    if len(front) != 1:
        return "it reads several tensors before its projection"
    (e,) = front
    readings = _layouts(facts.shape(e) or (), c)
    if not readings:
        return f"its input, {'×'.join(map(str, facts.shape(e) or ()))}, is neither N×L×C tokens nor a C-channel map"
    order = sorted(entry)
    pos_x, reading, why = None, None, "its window cut is not one cnncalc follows"
    for layout, dims in readings:
        vals = {e: _ids(layout, dims)}
        try:
            for i in order:
                for o, v in zip(nodes[i].output, _push(nodes[i], facts, vals)):
                    vals[o] = v
        except ValueError as err:
            why = str(err)
            continue
        got = vals.get(region["x"])
        if got is None or got.shape[-1] != c:
            continue
        rows = got.reshape(-1, c)
        first = rows[:, :1]
        pad = first[:, 0] < 0
        if np.all(rows[pad] == -1) and np.all(rows[~pad] == first[~pad] + np.arange(c)) and \
                np.all(first[~pad] % c == 0):
            pos_x = np.where(pad, -1, first[:, 0] // c)
            reading = (layout, dims)
            break
    if pos_x is None:
        return why
    layout, dims = reading
    # the view ops after the output projection, up to the last tensor where every position is back
    shape_end = facts.shape(region["end"])
    if shape_end is None or math.prod(shape_end[:-1]) != pos_x.size:
        return "its output projection does not keep a token per row"
    vals = {region["end"]: np.where(pos_x[:, None] < 0, -1, pos_x[:, None] * c + np.arange(c)).reshape(shape_end)}
    exit_nodes: list = []
    last, out_layout = None, None

    def back(t: str, v) -> Optional[str]:  # the layout in which every position of t is in its place
        for lay, dm in _layouts(v.shape, c):
            if dm == dims and (lay == "tokens") == (layout == "tokens") and np.array_equal(v, _ids(lay, dm)):
                return lay
        return None

    if back(region["end"], vals[region["end"]]):
        last, out_layout = region["end"], back(region["end"], vals[region["end"]])
    # the last such tensor along the view ops that follow (a crop that keeps all, a transpose back)
    for i in range(region["proj"] + 1, min(len(nodes), region["proj"] + 400)):
        if i in core:
            continue
        node = nodes[i]
        acts = _acts(facts, node)
        if node.op_type not in VIEW or not acts or not all(t in vals for t in acts):
            continue
        try:
            outs = _push(node, facts, vals)
        except ValueError:
            break
        exit_nodes.append(i)
        for o, v in zip(node.output, outs):
            vals[o] = v
            lay = back(o, v)
            if lay:
                last, out_layout = o, lay
    if last is None:
        return "the positions do not come back to their places after its output projection"
    keep, need = set(), {last}
    for i in reversed(exit_nodes):  # only the exit ops that lead to that tensor
        if any(o in need for o in nodes[i].output):
            keep.add(i)
            need |= set(_acts(facts, nodes[i]))
    members = core | entry | keep
    why = _closed(nodes, facts, members, last)
    if why:
        return why
    # who attends to whom
    qk_out = facts.shape(nodes[region["qk"]].output[0])
    q_in = facts.shape(_acts(facts, nodes[region["qk"]])[0])
    n, d = qk_out[-1], q_in[-1]
    if c % d or pos_x.size % n:
        return f"a head of {d} features does not divide {c} channels"
    heads = c // d
    groups = pos_x.reshape(-1, n)
    ops = {nodes[i].op_type for i in core}
    found = _kind(groups, layout, dims, n, heads, ops, nodes, facts, core, c)
    if isinstance(found, str):
        return found
    type_, params = found
    if type_ == "multihead_attention":
        if region["qkv_bias"] != region["proj_bias"]:
            return "a bias on one projection only (cnncalc's multihead_attention has both or neither)"
        if not region["qkv_bias"]:
            params["bias"] = False
    else:
        if not region["qkv_bias"]:
            params["qkv_bias"] = False
        if not region["proj_bias"]:
            params["proj_bias"] = False
    numbers, macs, folded = _weights(nodes, facts, members, heads, n, layout)
    if isinstance(numbers, str):
        return numbers
    attrs = {"type": type_, "params": json.dumps(params), "layout_in": layout, "layout_out": out_layout,
             "dims": list(dims), "numbers": int(numbers), "macs": int(macs), "folded_table": int(folded)}
    return members, e, last, attrs


def _kind(groups, layout, dims, n, heads, ops, nodes, facts, core, c):
    """(layer type, parameters) from the groups of tokens that attend to each other."""
    import numpy as np

    if layout == "tokens":
        if groups.shape[0] == 1 and np.array_equal(groups[0], np.arange(dims[0])):
            return "multihead_attention", {"heads": heads}
        return "its tokens attend in groups, not as one sequence"
    h, w, _ = dims
    side = math.isqrt(n)
    if side * side != n:
        return f"groups of {n} positions, not a square window"
    as_set = {tuple(r) for r in groups.tolist()}
    if len(as_set) != len(groups):
        return "two groups of the same positions"
    ids = np.arange(h * w).reshape(h, w)

    def blocks(m):
        a, b = m.shape
        return {tuple(r) for r in m.reshape(a // side, side, b // side, side).transpose(0, 2, 1, 3)
                .reshape(-1, n).tolist()}

    cosine = "ReduceL2" in ops
    hp, wp = -(-h // side) * side, -(-w // side) * side
    padded = np.full((hp, wp), -1)
    padded[:h, :w] = ids
    shifts = [s for s in range(side)
              if blocks(np.roll(padded, (-(0 if side >= hp else s), -(0 if side >= wp else s)), (0, 1))) == as_set]
    partition = None
    if h % side == 0 and w % side == 0:
        if blocks(ids) == as_set:
            partition = "block"
        grid = ids.reshape(side, h // side, side, w // side).transpose(1, 3, 0, 2).reshape(-1, n)
        if {tuple(r) for r in grid.tolist()} == as_set:
            partition = partition or "grid"
    if cosine:
        if not shifts:
            return "cosine attention (Swin V2) over groups that are not Swin's windows"
        hidden = _cpb_hidden(nodes, facts, core, heads)
        if hidden is None:
            return "cosine attention without Swin V2's position-bias network (2 → hidden → heads)"
        return "window_attention", {"heads": heads, "window": side, "shift": shifts[0], "version": 2,
                                    "cpb_hidden": hidden}
    # MaxViT scales by 1/√C, Swin by 1/√d (d = C/heads): where both read the same groups, the scale decides
    maxvit_scale = _scales(nodes, facts, core, 1 / math.sqrt(c))
    if partition and (partition == "grid" or not shifts or maxvit_scale):
        return "partition_attention", {"heads": heads, "size": side, "partition": partition}
    if shifts:
        return "window_attention", {"heads": heads, "window": side, "shift": shifts[0]}
    return "its groups of tokens are neither Swin's windows nor MaxViT's blocks or grid"


def _scales(nodes, facts, core, want: float) -> bool:
    import numpy as np

    for i in core:
        node = nodes[i]
        if node.op_type not in ("Mul", "Div"):
            continue
        for t in node.input:
            if t and facts.is_const(t) and facts.value(t).size == 1:
                v = float(np.asarray(facts.value(t)).reshape(-1)[0])
                v = 1 / v if node.op_type == "Div" and v else v
                if math.isclose(v, want, rel_tol=1e-5):
                    return True
    return False


def _sources(nodes, facts, members, tensors=None) -> tuple:
    """(float weights read, MACs of the MatMul/Gemm ops on constants that feed the region, the
    constants an Add puts on the scores straight from a weight) — walked back through constant
    side graphs."""
    seen, srcs, macs = set(), {}, 0
    stack = list(tensors) if tensors is not None else \
        [t for i in members for t in nodes[i].input if t and facts.is_const(t)]
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        p = facts.producer.get(t)
        if t in facts.inits or (p is not None and nodes[p].op_type == "Identity" and nodes[p].input[0] in facts.inits):
            init = facts.inits.get(t) or facts.inits[nodes[p].input[0]]
            if init.data_type in FLOATS and _weight_role(nodes, facts, t):
                srcs[t] = init
            continue
        if p is None:
            continue
        node = nodes[p]
        if node.op_type in ("MatMul", "Gemm"):
            macs += _product_macs(facts, node)
        stack += [x for x in node.input if x and facts.is_const(x)]  # not through a Shape to its activation
    return srcs, macs


PASS = {"Identity", "Cast", "CastLike", "Reshape", "Transpose", "Unsqueeze", "Squeeze", "Expand"}


def _weight_role(nodes, facts: Facts, t: str) -> bool:
    """Whether a float constant is read as a weight: by a MatMul / Gemm (either side: a weight, or
    Swin V2's coordinate table), as the table of a Gather, as a logit scale (Clip, Exp), as the bias
    added to a product, or as a bias being edited (ScatterND: Swin V2 zeroes the K third) — through
    reshapes and casts. Anything else an exporter folded into a constant (a scale, the shifted
    windows' mask or the image of region numbers it is made from) is no weight."""
    if t in facts.inits and not facts.inits[t].dims:
        return False  # a 0-D float is a literal
    seen, front = set(), [t]
    while front:
        x = front.pop()
        if x in seen:
            continue
        seen.add(x)
        for u in facts.consumers.get(x, []):
            node = nodes[u]
            op = node.op_type
            if op in PASS and node.input[0] == x:
                front += [o for o in node.output if o]
            elif op in ("MatMul", "Gemm", "Clip", "Exp") or op in ("Gather", "GatherND", "ScatterND") and \
                    node.input[0] == x:
                return True
            elif op == "Add":
                other = _other(node, x)
                p = facts.producer.get(other or "")
                if p is not None and nodes[p].op_type in ("MatMul", "Gemm", "Einsum"):
                    return True
    return False


def _cpb_hidden(nodes, facts, core, heads) -> Optional[int]:
    srcs, _ = _sources(nodes, facts, core)
    shapes = [tuple(int(d) for d in init.dims) for init in srcs.values()]
    for s in shapes:
        if len(s) == 2 and 2 in s and s[0] * s[1] != 4:
            hidden = s[1] if s[0] == 2 else s[0]
            if (hidden, heads) in shapes or (heads, hidden) in shapes:
                return hidden
    return None


def _weights(nodes, facts, members, heads, n, layout):
    """(numbers of the weights read, MACs, the table size counted for a folded bias)."""
    srcs, const_macs = _sources(nodes, facts, members)
    side = math.isqrt(n)
    folded = 0
    if layout != "tokens":
        # the exporter's constant folding may have turned the (2w − 1)²·heads table and its lookup into
        # one constant of heads·n·n values (heads×n×n, n²×heads, …) that reaches the scores through views
        for i in members:
            if nodes[i].op_type != "Add":
                continue
            for b in nodes[i].input:
                if not b or not facts.is_const(b):
                    continue
                dims = tuple(d for d in (facts.shape(b) or ()) if d != 1)
                if dims != (heads, n, n) and not (heads == 1 and dims == (n, n)):
                    continue
                made, _ = _sources(nodes, facts, (), [b])
                whole = [t for t, init in made.items() if math.prod(init.dims) == heads * n * n]
                if not whole:
                    continue
                try:
                    values = facts.value(b)
                except CnnCalcError:
                    return "a folded bias table whose external data file is absent or over 16 MiB", 0, 0
                if not _table_like(values, side, heads):
                    return "a heads×n×n bias on the scores that is not a relative-position table's", 0, 0
                for t in whole:
                    srcs.pop(t, None)
                folded += (2 * side - 1) ** 2 * heads
    numbers = sum(math.prod(int(d) for d in init.dims) for init in srcs.values())
    macs = const_macs
    for i in members:
        node = nodes[i]
        if node.op_type in ("MatMul", "Gemm") and _acts(facts, node) or node.op_type == "Einsum" and \
                _product(facts, node):
            macs += _product_macs(facts, node)
    return numbers + folded, macs, folded


def _table_like(values, side: int, heads: int) -> bool:
    """Whether a heads×n×n bias holds one value per head and relative offset (a table's)."""
    import numpy as np

    from ..layers.attention import relative_index

    v = np.asarray(values, dtype=np.float64).reshape(heads, side * side, side * side)
    index = np.array(relative_index(side))
    table = np.full((heads, (2 * side - 1) ** 2), np.nan)
    table[:, index.reshape(-1)] = v.reshape(heads, -1)
    return bool(np.array_equal(table[:, index.reshape(-1)], v.reshape(heads, -1)))


def map_fused(net, node, src: str, src_layout_ok, lname: str, loc):
    """The layer for a fused node (or the reason it cannot be one, a string)."""
    from onnx import helper

    a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
    if "refused" in a:
        why = a["refused"]
        return (why.decode() if isinstance(why, bytes) else str(why))
    text = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in a.items()}
    dims = tuple(int(v) for v in a["dims"])
    if tuple(net.shapes[src]) != dims or not src_layout_ok(text["layout_in"]):
        return "attention on a tensor cnncalc reads in another layout"
    type_ = text["type"]
    layer = net.add(type_, lname, json.loads(text["params"]), [src], loc)
    counts = net.counts[layer]
    if counts.weights + counts.biases + counts.non_trainable != int(a["numbers"]):
        net.drop(layer)
        return (f"attention read as {type_} with {counts.weights + counts.biases + counts.non_trainable:,} "
                f"parameters, but the graph holds {int(a['numbers']):,} weights for it")
    if counts.macs != int(a["macs"]):
        net.drop(layer)
        return f"attention read as {type_} with {counts.macs:,} MACs, but the graph multiplies {int(a['macs']):,}"
    if int(a["folded_table"]):
        net.note_once("relative-position biases folded by the exporter into heads×n×n constants are "
                      "counted as the (2w − 1)²×heads tables whose values they hold")
    return layer, text["layout_out"]


# ------------------------------------------------------------------------------------------
# views between two maps: PyTorch's PixelUnshuffle / PixelShuffle spread over Unsqueeze, Reshape,
# Transpose and Squeeze by the exporter, torchvision's Swin patch merging (a pad, four strided
# slices, a concat on the channels), a flatten written as Reshape and Gather

VIEW_OPS = {"Reshape", "Transpose", "Unsqueeze", "Squeeze", "Gather", "Pad", "Slice", "Concat", "Flatten"}


def _view_chains(nodes, facts: Facts, drop: set, put: dict) -> None:
    """Fuse the view ops that leave an N×C×H×W (or N×H×W×C) map and come back to one — or to N×D —
    when the places they move every element to are those of space_to_depth (PyTorch's
    PixelUnshuffle order, or Swin's patch merging: the four offsets in turn), pixel_shuffle or a
    flatten; the element ids are pushed through them (``_push``)."""
    from onnx import helper

    roots = set()
    for i, node in enumerate(nodes):
        if i in drop or i in put or node.op_type not in VIEW_OPS:
            continue
        a = _acts(facts, node)
        s0 = facts.shape(a[0]) if len(a) == 1 else None
        p = facts.producer.get(a[0]) if a else None
        if s0 is None or len(s0) != 4 or s0[0] != 1 or a[0] in roots or \
                p is not None and nodes[p].op_type in VIEW_OPS and p not in drop:
            continue
        roots.add(a[0])
        found = _view_region(nodes, facts, i, a[0], s0, drop, put)
        if found is None:
            continue
        members, end, kind, params, lay_in, lay_out = found
        drop.update(m for m in members if m != max(members))
        put[max(members)] = helper.make_node("View", [a[0]], [end], name=nodes[max(members)].name, domain=DOMAIN,
                                             type=kind, params=json.dumps(params), layout_in=lay_in,
                                             layout_out=lay_out)


def _view_region(nodes, facts: Facts, start: int, t0: str, s0: tuple, drop: set, put: dict):
    """(members, end tensor, layer type, params, layout in, layout out) of the views from ``t0``, or None."""
    import numpy as np

    for lay_in in ("nchw", "nhwc"):
        h, w, c = (s0[2], s0[3], s0[1]) if lay_in == "nchw" else (s0[1], s0[2], s0[3])
        x = _ids(lay_in, (h, w, c))  # in the tensor's own layout
        hwc = x if lay_in == "nhwc" else np.transpose(x, (0, 2, 3, 1))  # the same ids as 1×H×W×C
        vals, pushed = {t0: x}, []
        for j in range(start, min(len(nodes), start + 200)):
            node = nodes[j]
            acts = _acts(facts, node)
            if j in drop or j in put or node.op_type not in VIEW_OPS or not acts or not all(t in vals for t in acts):
                continue
            if node.op_type == "Gather" and not facts.is_const(node.input[1]):
                continue
            try:
                outs = _push(node, facts, vals)
            except (ValueError, IndexError):
                break
            pushed.append(j)
            for o, v in zip(node.output, outs):
                vals[o] = v
                found = _view_kind(v, hwc, h, w, c)
                if found is None:
                    continue
                kind, params, lay_out = found
                members, need = set(), {o}
                for k in reversed(pushed):
                    if any(out in need for out in nodes[k].output):
                        members.add(k)
                        need |= set(_acts(facts, nodes[k]))
                if _closed(nodes, facts, members, o) is None:
                    return members, o, kind, params, lay_in, lay_out
    return None


def _view_kind(v, hwc, h: int, w: int, c: int):
    """(layer type, params, layout) when the ids ``v`` are the 1×H×W×C ids ``hwc`` moved as a layer
    moves them (read in N×C×H×W or N×H×W×C), else None."""
    import numpy as np

    if v.ndim == 2 and v.shape == (1, h * w * c):  # flattened as N×C×H×W (PyTorch's order) or N×H×W×C
        flat = np.array_equal(v, np.transpose(hwc, (0, 3, 1, 2)).reshape(1, -1)) or \
            np.array_equal(v, hwc.reshape(1, -1))
        return ("flatten", {}, "vector") if flat else None
    if v.ndim != 4 or v.shape[0] != 1 or v.size != hwc.size:
        return None
    for lay in ("nchw", "nhwc"):
        got = np.transpose(v, (0, 2, 3, 1)) if lay == "nchw" else v  # as 1×H'×W'×C'
        oh, ow, oc = got.shape[1:]
        if (oh, ow, oc) == (h, w, c):
            continue  # the same map: not a view cnncalc needs
        if oh and h % oh == 0 and w % ow == 0 and h // oh == w // ow > 1 and oc == c * (h // oh) ** 2:
            b = h // oh
            blocks = hwc.reshape(1, oh, b, ow, b, c)  # (y, i, x, j, c)
            torch_order = blocks.transpose(0, 1, 3, 5, 2, 4).reshape(1, oh, ow, oc)  # c·b² + i·b + j
            swin_order = blocks.transpose(0, 1, 3, 4, 2, 5).reshape(1, oh, ow, oc)  # (j·b + i)·C + c
            if np.array_equal(got, torch_order) or np.array_equal(got, swin_order):
                return "space_to_depth", {"block": b}, lay
        if h and oh % h == 0 and ow % w == 0 and oh // h == ow // w > 1 and c == oc * (oh // h) ** 2:
            b = oh // h
            want = hwc.reshape(1, h, w, oc, b, b).transpose(0, 1, 4, 2, 5, 3).reshape(1, oh, ow, oc)
            if np.array_equal(got, want):
                return "pixel_shuffle", {"block": b}, lay
    return None


# ------------------------------------------------------------------------------------------
# ops of older opsets spread over several nodes, made one again: LayerNormalization before
# opset 17 (ReduceMean, Sub, Pow, ReduceMean, Add ε, Sqrt, Div, then Mul γ and Add β) and
# GELU before opset 20 (x · 0.5 · (1 + erf(x / √2)))

def _scalar(facts: Facts, t: str) -> Optional[float]:
    import numpy as np

    if not t or not facts.is_const(t) or facts.value(t).size != 1:
        return None
    return float(np.asarray(facts.value(t)).reshape(-1)[0])


def _only_user(nodes, facts: Facts, t: str, op: str) -> Optional[int]:
    real = [u for u in facts.consumers.get(t, []) if not _folded(nodes[u], facts)]
    if len(real) == 1 and nodes[real[0]].op_type == op and t not in facts.outputs:
        return real[0]
    return None


def _other(node, t: str) -> Optional[str]:
    ins = list(node.input)
    if len(ins) != 2 or t not in ins:
        return None
    return ins[1] if ins[0] == t else ins[0]


def _reduce_last(node, facts: Facts, rank: int) -> bool:
    a = _attrs(node)
    axes = a.get("axes")
    if len(node.input) > 1 and node.input[1]:
        axes = [int(v) for v in facts.value(node.input[1])] if facts.is_const(node.input[1]) else None
    return axes is not None and [int(v) % rank for v in axes] == [rank - 1] and a.get("keepdims", 1) == 1


def _layernorms(nodes, facts: Facts, drop: set, put: dict) -> None:
    from onnx import helper

    for i, node in enumerate(nodes):
        if node.op_type != "ReduceMean" or i in drop or i in put:
            continue
        x = node.input[0]
        shape = facts.shape(x)
        if not shape or facts.is_const(x) or not _reduce_last(node, facts, len(shape)):
            continue
        c = shape[-1]
        sub = _only_user(nodes, facts, node.output[0], "Sub")
        if sub is None or list(nodes[sub].input) != [x, node.output[0]]:
            continue
        d = nodes[sub].output[0]
        users = sorted(u for u in facts.consumers.get(d, []) if not _folded(nodes[u], facts))
        if len(users) != 2:
            continue
        sq = next((u for u in users if nodes[u].op_type == "Pow" and _scalar(facts, nodes[u].input[1]) == 2.0 or
                   nodes[u].op_type == "Mul" and list(nodes[u].input) == [d, d]), None)
        div = next((u for u in users if nodes[u].op_type == "Div" and nodes[u].input[0] == d), None)
        if sq is None or div is None:
            continue
        m2 = _only_user(nodes, facts, nodes[sq].output[0], "ReduceMean")
        if m2 is None or not _reduce_last(nodes[m2], facts, len(shape)):
            continue
        add = _only_user(nodes, facts, nodes[m2].output[0], "Add")
        eps = _scalar(facts, _other(nodes[add], nodes[m2].output[0]) or "") if add is not None else None
        sqrt = _only_user(nodes, facts, nodes[add].output[0], "Sqrt") if eps is not None else None
        if sqrt is None or _only_user(nodes, facts, nodes[sqrt].output[0], "Div") != div or \
                list(nodes[div].input) != [d, nodes[sqrt].output[0]]:
            continue
        members, end, gamma, beta = [i, sub, sq, m2, add, sqrt, div], nodes[div].output[0], "", ""
        mul = _only_user(nodes, facts, end, "Mul")
        if mul is not None:
            g = _other(nodes[mul], end)
            if g and facts.is_const(g) and facts.shape(g) in ((c,), (1, c)):
                members.append(mul)
                end, gamma = nodes[mul].output[0], g
                badd = _only_user(nodes, facts, end, "Add")
                b = _other(nodes[badd], end) if badd is not None else None
                if b and facts.is_const(b) and facts.shape(b) in ((c,), (1, c)):
                    members.append(badd)
                    end, beta = nodes[badd].output[0], b
        drop.update(members[:-1])
        put[members[-1]] = helper.make_node("LayerNormalization", [x, gamma, beta], [end],
                                            name=node.name.rsplit("/", 1)[0] + "/LayerNormalization",
                                            axis=-1, epsilon=eps)


def _gelus(nodes, facts: Facts, drop: set, put: dict) -> None:
    from onnx import helper

    for i, node in enumerate(nodes):
        if node.op_type != "Erf" or i in drop or i in put:
            continue
        p = facts.producer.get(node.input[0])
        if p is None or nodes[p].op_type not in ("Div", "Mul"):
            continue
        x = nodes[p].input[0]
        k = _scalar(facts, nodes[p].input[1])
        if facts.is_const(x) or k is None or not math.isclose(k if nodes[p].op_type == "Div" else 1 / k if k else 0,
                                                               math.sqrt(2), rel_tol=1e-6):
            continue
        if _only_user(nodes, facts, nodes[p].output[0], "Erf") != i:
            continue
        add = _only_user(nodes, facts, node.output[0], "Add")
        if add is None or _scalar(facts, _other(nodes[add], node.output[0]) or "") != 1.0:
            continue
        m1 = _only_user(nodes, facts, nodes[add].output[0], "Mul")
        if m1 is None:
            continue
        a = _other(nodes[m1], nodes[add].output[0])
        members = [p, i, add, m1]
        if a == x or _scalar(facts, a or "") == 0.5:  # x · (1 + erf) · 0.5, or (1 + erf) · 0.5 · x
            m2 = _only_user(nodes, facts, nodes[m1].output[0], "Mul")
            want = 0.5 if a == x else None
            rest = _other(nodes[m2], nodes[m1].output[0]) if m2 is not None else None
            if rest is None or (want is not None and _scalar(facts, rest) != want) or (want is None and rest != x):
                continue
            members.append(m2)
            end = nodes[m2].output[0]
        else:  # (x · 0.5) · (1 + erf)
            h = facts.producer.get(a or "")
            if h is None or nodes[h].op_type != "Mul" or _other(nodes[h], x) is None or \
                    _scalar(facts, _other(nodes[h], x)) != 0.5 or _only_user(nodes, facts, a, "Mul") != m1:
                continue
            members.append(h)
            end = nodes[m1].output[0]
        last = max(members)
        drop.update(m for m in members if m != last)
        put[last] = helper.make_node("Gelu", [x], [end], name=node.name.rsplit("/", 1)[0] + "/Gelu")
