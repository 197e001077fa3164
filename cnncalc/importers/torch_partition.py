"""MaxViT in a torch.fx trace: the views that cut a map into groups of positions, and the
relative-position attention that runs inside each group (torchvision's WindowPartition,
SwapAxes, WindowDepartition and RelativePositionalMultiHeadAttention), read by what they do.

Views (``reshape``/``view``/``flatten``, ``permute``, ``transpose``/``swapaxes``) are evaluated
on integer ids — the index of every element in cnncalc's H×W×C order — with PyTorch's own
shapes from ShapeProp (:func:`push`); :func:`layout` then says what the result is: the map
again (N×C×H×W, or channels-last N×H×W×C), a partition (N×G×P×C, the channels last, each of
the G groups P = S×S positions in row-major order of a ``block`` of neighbours or of a
``grid`` of stride H/S, W/S — cnncalc's ``partition_attention``), or neither (an intermediate
view, which only further views may read).

:func:`rel_attention` recognises the attention module by its structure — submodules
``to_qkv`` (C → 3C) and ``merge`` (C → C), a table of (2S − 1)²·heads parameters, an integer
index buffer of S⁴ values, nothing else — and by its forward, traced alone and checked op by
op (:func:`_forward_ok`); never by the class name. Only torch's own tensors are used (no numpy).
"""

from __future__ import annotations

import contextlib
import math
from typing import Optional

VIEWS = {"reshape", "view", "flatten", "permute", "transpose", "swapaxes", "contiguous", "clone"}
# what may run on a partitioned tensor: each acts on one position at a time (the last axis) or
# element by element, so the partition does not change it (views are pushed, see VIEWS)
FN_PER_TOKEN = {"add", "iadd", "add_", "mul", "imul", "mul_", "dropout", "stochastic_depth", "layer_norm",
                "relu", "relu_", "relu6", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid", "mish", "selu",
                "softplus", "gelu", "sigmoid_", "tanh_", "leaky_relu", "leaky_relu_"}
# the largest map whose element ids are pushed (int32: 4 bytes each); a larger one's views are refused
MAX_IDS = 1 << 25
MOD_PER_TOKEN = {"LayerNorm", "Linear", "GELU", "Dropout", "Identity", "ReLU", "SiLU", "Sigmoid", "Tanh",
                 "Hardswish", "LeakyReLU", "ELU", "Mish"}


@contextlib.contextmanager
def one_thread(torch):
    """torch on one thread while ids are pushed: small integer tensors, and on a shared machine
    two threads contend (measured: 15 ms against 0.4 ms for 200,000 ids)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def map_ids(torch, h: int, w: int, c: int, channels_last: bool):
    """The ids of a map's elements (h·W + w)·C + c, laid out N×C×H×W or N×H×W×C."""
    ids = torch.arange(h * w * c, dtype=torch.int32).reshape(1, h, w, c)
    return ids if channels_last else ids.permute(0, 3, 1, 2)


def part_ids(torch, pos, c: int):
    """The ids of a partitioned tensor N×G×P×C whose groups hold the positions ``pos`` (G×P)."""
    return pos.reshape(1, *pos.shape, 1) * c + torch.arange(c, dtype=torch.int32)


def push(ids, fn: str, args: tuple, out_shape: tuple):
    """A view op on the ids; None when its arguments are not plain integers."""
    if fn in ("contiguous", "clone"):
        return ids
    if fn in ("reshape", "view", "flatten"):
        return ids.reshape(out_shape)
    if fn == "permute":
        dims = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
        if not dims or not all(isinstance(d, int) for d in dims):
            return None
        return ids.permute(*dims)
    if fn in ("transpose", "swapaxes"):
        if len(args) != 2 or not all(isinstance(d, int) for d in args):
            return None
        return ids.transpose(*args)
    return None


def layout(torch, ids, h: int, w: int, c: int):
    """What a view of an H×W×C map is: ("map", channels_last) back to the map, ("part", kind,
    S, pos) a partition (pos: G×P, the positions h·W + w of each group), None otherwise."""
    shape = tuple(ids.shape)
    if shape == (1, h, w, c) and torch.equal(ids, map_ids(torch, h, w, c, True)):
        return ("map", True)
    if shape == (1, c, h, w) and torch.equal(ids, map_ids(torch, h, w, c, False)):
        return ("map", False)
    if len(shape) != 4 or shape[0] != 1 or shape[3] != c or not torch.equal(ids[0, 0, 0], ids[0, 0, 0, 0] +
                                                                             torch.arange(c, dtype=ids.dtype)):
        return None
    pos = ids[0, :, :, 0] // c
    if not torch.equal(ids, part_ids(torch, pos, c)):  # the channels of one position, in order, last
        return None
    found = partition_kind(torch, pos, h, w)
    return None if found is None else ("part", found[0], found[1], pos)


def partition_kind(torch, pos, h: int, w: int) -> Optional[tuple]:
    """("block" | "grid", S) when the rows of ``pos`` (G×P) are the S×S blocks or grid groups of
    an H×W map, each in row-major order (the order the relative-position index assumes), in
    any order of the groups; None otherwise."""
    g, p = pos.shape
    s = math.isqrt(p)
    if s * s != p or g * p != h * w or h % s or w % s:
        return None
    groups = {tuple(r) for r in pos.tolist()}
    if len(groups) != g:
        return None
    grid = torch.arange(h * w).reshape(h, w)
    block = grid.reshape(h // s, s, w // s, s).permute(0, 2, 1, 3).reshape(-1, p)
    if {tuple(r) for r in block.tolist()} == groups:
        return ("block", s)
    sparse = grid.reshape(s, h // s, s, w // s).permute(1, 3, 0, 2).reshape(-1, p)
    if {tuple(r) for r in sparse.tolist()} == groups:
        return ("grid", s)
    return None


def same_part(a, b) -> bool:
    import torch

    return a[:3] == b[:3] and torch.equal(a[3], b[3])


# -- the attention inside each group

def _shapes(items) -> dict:
    return {n: tuple(int(x) for x in t.shape) for n, t in items}


def rel_attention(m) -> Optional[dict]:
    """{heads, size, qkv_bias, proj_bias} when ``m`` is built as torchvision's
    RelativePositionalMultiHeadAttention (parameters, buffer, submodules: rel_structure) and its
    forward is that attention (traced alone: rel_forward_ok); None for any other module."""
    info = rel_structure(m)
    return info if info is not None and rel_forward_ok(m, info) else None


def rel_structure(m) -> Optional[dict]:
    """rel_attention's settings read from the parameters, buffer and submodules alone (cheap: run
    while a model is traced; the forward is checked after, rel_forward_ok)."""
    try:
        return _rel_structure(m)
    except Exception:  # anything unexpected in a module that merely looks alike: not it
        return None


def rel_forward_ok(m, info: dict, seen: Optional[dict] = None) -> bool:
    """Whether the forward of a module of rel_structure ``info`` is that attention (run it
    outside any other trace: torch.fx patches torch's functions while it traces). ``seen``: the
    answers for modules of the same class, settings and plain attributes (their forwards trace
    alike), so that MaxViT-T's 22 attentions are traced once."""
    import torch

    plain = tuple(sorted((k, v) for k, v in vars(m).items()
                         if isinstance(v, (int, float, str, bool, type(None))) and not k.startswith("_")))
    c = dict(m.named_parameters())["merge.weight"].shape[0]
    key = (type(m), tuple(sorted(info.items())), c, plain)
    if seen is not None and key in seen:
        return seen[key]
    try:
        ok = _forward_ok(torch, m, c, info["heads"], info["size"])
    except Exception:
        ok = False
    if seen is not None:
        seen[key] = ok
    return ok


def _rel_structure(m) -> Optional[dict]:
    """Read through named_children/named_parameters only: while torch.fx traces, reading a
    parameter as an attribute (``m.merge.bias``) would add a get_attr node to the trace."""
    from torch.nn import Linear

    children = dict(m.named_children())
    if set(children) != {"to_qkv", "merge"} or not all(type(x) is Linear for x in children.values()):
        return None
    params, buffers = _shapes(m.named_parameters()), _shapes(m.named_buffers())
    merge = params.get("merge.weight")
    table = params.get("relative_position_bias_table")
    if merge is None or table is None or len(table) != 2 or len(merge) != 2:
        return None
    c = merge[0]
    rows, heads = table
    side = math.isqrt(rows)
    size = (side + 1) // 2
    if side * side != rows or side % 2 == 0 or heads < 1 or c % heads:
        return None
    qkv_bias, proj_bias = "to_qkv.bias" in params, "merge.bias" in params
    want = {"to_qkv.weight": (3 * c, c), "merge.weight": (c, c), "relative_position_bias_table": table}
    if qkv_bias:
        want["to_qkv.bias"] = (3 * c,)
    if proj_bias:
        want["merge.bias"] = (c,)
    index = dict(m.named_buffers()).get("relative_position_index")
    if params != want or set(buffers) != {"relative_position_index"} or index.is_floating_point() or \
            index.numel() != size ** 4:
        return None
    return {"heads": heads, "size": size, "qkv_bias": qkv_bias, "proj_bias": proj_bias}


# the zero-MAC ops of the forward: views of the heads, the split of Q, K, V, the scale, the bias
_ATTENTION_OPS = {"chunk", "getitem", "reshape", "view", "permute", "transpose", "contiguous", "unsqueeze",
                  "mul", "truediv", "einsum", "matmul", "add", "softmax", "flatten", "getattr", "size"}


def _forward_ok(torch, m, c: int, heads: int, size: int) -> bool:
    """The module's forward on N×G×P×C (P = S²), traced alone and run on the meta device: Q, K,
    V from to_qkv of the input, split in three along the channels; exactly two products (einsum
    or matmul) — scores N×G×heads×P×P and the values N×G×heads×P×(C/heads); the softmax over
    the last axis of the scores plus the bias, a 1×heads×P×P (or heads×P×P) value made from the
    table and the index alone; a scale by a number; merge of the N×G×P×C result is the output.
    Nothing else."""
    from torch.fx.passes.shape_prop import ShapeProp

    import copy

    p, g, dh = size * size, 2, c // heads
    gm = torch.fx.symbolic_trace(copy.copy(m))  # a copy: tracing sets constants (the index) on its root
    ShapeProp(gm).propagate(torch.empty(1, g, p, c, device="meta"))

    def shape(n):
        tm = n.meta.get("tensor_meta")
        return tuple(int(x) for x in tm.shape) if hasattr(tm, "shape") else None

    def fn(n):
        return str(n.target) if n.op == "call_method" else getattr(n.target, "__name__", str(n.target))

    nodes = list(gm.graph.nodes)
    placeholders = [n for n in nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        return False
    x = placeholders[0]
    derived: set = set()  # made from the table and the index alone
    for n in nodes:
        if n.op == "get_attr" or (n.op in ("call_function", "call_method") and n.all_input_nodes
                                  and all(a in derived for a in n.all_input_nodes)):
            derived.add(n)
    attrs = [n for n in derived if n.op == "get_attr"]
    if sorted(str(n.target) == "relative_position_bias_table" for n in attrs) != [False, True]:
        return False
    index = next(n for n in attrs if str(n.target) != "relative_position_bias_table")
    idx = index.meta.get("tensor_meta")
    if not hasattr(idx, "shape") or idx.dtype.is_floating_point or math.prod(idx.shape) != size ** 4:
        return False
    mods = [n for n in nodes if n.op == "call_module"]
    if sorted(str(n.target) for n in mods) != ["merge", "to_qkv"]:
        return False
    qkv, merge = sorted(mods, key=lambda n: str(n.target) != "to_qkv")
    if qkv.args != (x,) or qkv.kwargs or merge.kwargs or len(merge.args) != 1 or shape(merge.args[0]) != (1, g, p, c):
        return False
    out = [n for n in nodes if n.op == "output"]
    if len(out) != 1 or out[0].args[0] is not merge:
        return False
    if any(u is not qkv and not (u.op == "call_function" and fn(u) == "getattr") for u in x.users):
        return False  # the input is read by to_qkv (and for its shape) alone
    ops = [n for n in nodes if n.op in ("call_function", "call_method") and n not in derived]
    if any(fn(n) not in _ATTENTION_OPS for n in ops) or any(fn(n) not in _ATTENTION_OPS for n in derived
                                                           if n.op != "get_attr"):
        return False
    splits = [n for n in ops if fn(n) == "chunk"]
    if len(splits) != 1 or splits[0].args[0] is not qkv or list(splits[0].args[1:2]) != [3] or \
            splits[0].kwargs.get("dim", splits[0].args[2] if len(splits[0].args) > 2 else 0) not in (-1, 3):
        return False
    products = [n for n in ops if fn(n) in ("einsum", "matmul")]
    if len(products) != 2 or sorted(shape(n) for n in products) != sorted([(1, g, heads, p, p), (1, g, heads, p, dh)]):
        return False
    scores, values = sorted(products, key=lambda n: shape(n) != (1, g, heads, p, p))
    soft = [n for n in ops if fn(n) == "softmax"]
    if len(soft) != 1 or soft[0] not in values.all_input_nodes:
        return False
    dim = soft[0].kwargs.get("dim", soft[0].args[1] if len(soft[0].args) > 1 else None)
    added = soft[0].args[0]
    if dim not in (-1, 4) or fn(added) != "add" or scores not in added.all_input_nodes:
        return False
    bias = [a for a in added.all_input_nodes if a is not scores]
    if len(bias) != 1 or bias[0] not in derived or shape(bias[0]) not in ((1, heads, p, p), (heads, p, p)):
        return False
    for n in ops:  # every other sum, product: a scale by a number
        if fn(n) in ("mul", "truediv") and sum(hasattr(a, "op") for a in n.args) != 1:
            return False
        if fn(n) == "add" and n is not added:
            return False
    return True
