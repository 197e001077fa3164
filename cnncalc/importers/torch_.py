"""``torch:MODULE:FACTORY`` → a cnncalc network, when PyTorch is installed.

MODULE is imported (the current directory on sys.path; or a ``.py`` file by its path), FACTORY (a
callable attribute of it, called with no arguments) is called under ``torch.device("meta")`` — no
weights are allocated, so ResNet-152 costs nothing; a factory that reads its weights runs on the CPU
and the module is moved to meta — and the module is traced with ``torch.fx.symbolic_trace``. The
trace is run once on a meta tensor of the ``--input`` size (``ShapeProp``) so that every node
carries PyTorch's own output shape. Each node is then mapped to a cnncalc layer type; the shape
cnncalc infers for it must equal PyTorch's, or the import stops naming the node — a wrong mapping
can never give a wrong figure in silence. Nodes with no cnncalc layer type are named together in one
line.

Names: a module's node is named by the module's qualified name (``layer1.0.conv1``); a function
called in a module's ``forward`` by that module and the function (``layer1.0.add``), or by the
module alone when the function is all it does. A stretch in channels-last layout (ConvNeXt's
``permute(0, 2, 3, 1)`` … ``permute(0, 3, 1, 2)``) is cnncalc's own H×W×C: only ops on the last axis
or element by element are mapped inside it.

Transformers: a PyTorch N×L×C tensor is cnncalc's tokens L×C. The views on the way to tokens
(``flatten(2)`` / ``reshape(N, C, H·W)`` then ``transpose(1, 2)`` / ``permute(0, 2, 1)``) and to a
channel shuffle (``view(N, g, C/g, H, W)``, ``transpose(1, 2)``, ``view(N, C, H, W)``) are marked on
their nodes (``cnncalc_state``) and nothing else may read them. A parameter read in forward
(get_attr), or a value computed from parameters alone (an ``expand`` of ViT's class token, Swin's
bias-table lookup, Swin V2's cpb_mlp on its coordinate buffer), is no layer of its own: the layer
that reads it checks what it is made of and claims it, and one left unclaimed is refused — so a
parameter is counted once, by the layer cnncalc says it belongs to. torchvision's Swin attention
is one ``torch.fx.wrap``'d call, read from its arguments. The modules ``cnncalc export --to
pytorch`` writes (HELPERS there) are traced whole, as leaves, when their structure is the
exporter's (``_helper``). MaxViT (torch_partition): other views of a map are pushed on the ids of
its elements until they give the map back or cut it into blocks or a grid of positions (a
partitioned map, ``cnncalc_part``, read only by ops per position); torchvision's
RelativePositionalMultiHeadAttention, a leaf when its structure and its forward (traced alone)
are that attention, is a ``partition_attention`` on it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import math
import re
import sys
import warnings
from typing import Any, NamedTuple, Optional

from ..core.errors import InputError
from .common import ModelError, Net, channels_last_after, file_loc, unsupported
from .torch_partition import FN_PER_TOKEN, MOD_PER_TOKEN, VIEWS


def _activation_modules() -> dict:
    """torch.nn class name → cnncalc activation type: the layer types' own PyTorch data
    (cnncalc.layers.activations.TORCH) read backwards; the ones with settings are mapped below."""
    from ..layers.activations import TORCH

    with_settings = {"LeakyReLU", "ELU", "GELU", "Softmax", "Identity"}
    return {cls: kind for kind, cls in TORCH.items() if cls not in with_settings}


ACTIVATIONS = _activation_modules()
# functions and tensor methods that are activations
FN_ACTIVATIONS = {"relu": "relu", "relu_": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "tanh": "tanh",
                  "silu": "silu", "hardswish": "hardswish", "hardsigmoid": "hardsigmoid", "mish": "mish",
                  "selu": "selu", "softplus": "softplus", "gelu": "gelu", "sigmoid_": "sigmoid", "tanh_": "tanh"}
PASS_THROUGH = {"Identity"}  # modules that are their input
# torchvision's Swin functions (torch.fx.wrap'd: one node each), read from their arguments
FN_SWIN = {"shifted_window_attention", "shifted_window_attention_v2"}
PARAM = "\x00parameter"  # what a get_attr node stands for (never a layer name: names are printable)
# what may run on a channels-last tensor (cnncalc's H×W×C): element-wise ops, the last axis
FN_LAST_AXIS = set(FN_ACTIVATIONS) | {"leaky_relu", "leaky_relu_", "add", "iadd", "add_", "mul", "imul", "mul_",
                                      "dropout", "stochastic_depth", "layer_norm", "permute", "contiguous", "clone",
                                      "_patch_merging_pad"} | FN_SWIN
MOD_LAST_AXIS = {"GELU", "LeakyReLU", "ELU", "Dropout", "Identity", "Linear", "LayerNorm"}


def parse_source(source: str) -> tuple:
    """``torch:pkg.mod:factory`` → ("pkg.mod", "factory")."""
    body = source[len("torch:"):]
    module, sep, factory = body.rpartition(":")
    if not sep or not module or not factory:
        raise InputError(f"{source}: write a PyTorch model as torch:MODULE:FACTORY (e.g. torch:torchvision.models:"
                         "resnet50, or torch:path/to/net.py:Net), FACTORY a function or class of MODULE called with "
                         "no arguments")
    return module, factory


def build_module(source: str):
    """Import MODULE, call FACTORY() on the meta device; the nn.Module (one-line errors). What the
    module prints goes to stderr: stdout is the spec's (``cnncalc import torch:… > net.yaml``)."""
    with contextlib.redirect_stdout(sys.stderr):
        return _build_module(source)


def _build_module(source: str):
    try:
        import torch
    except ImportError:
        raise InputError(f"{source}: reading a PyTorch model needs torch (pip install torch)") from None
    module_name, factory_name = parse_source(source)
    try:
        mod = _import(module_name, source)
    except ModuleNotFoundError as e:
        raise InputError(f"{source}: no module named '{e.name or module_name}'") from None
    except InputError:
        raise
    except Exception as e:  # anything the module raises while it is imported
        raise InputError(f"{source}: importing {module_name} failed: {type(e).__name__}: {_first_line(e)}") from None
    obj: Any = mod
    for part in factory_name.split("."):
        if not hasattr(obj, part):
            raise InputError(f"{source}: module {module_name} has no '{factory_name}'")
        obj = getattr(obj, part)
    if not callable(obj):
        raise InputError(f"{source}: {module_name}.{factory_name} is not callable (a {type(obj).__name__})")
    try:
        with torch.device("meta"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = obj()
    except Exception:  # an initialiser that reads its weights (torchvision's RegNet): on the CPU, then meta
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = obj()
        except Exception as e:
            raise InputError(f"{source}: {module_name}.{factory_name}() failed: {type(e).__name__}: "
                             f"{_first_line(e)}") from None
        if isinstance(model, torch.nn.Module):
            model = model.to("meta")
    if not isinstance(model, torch.nn.Module):
        raise InputError(f"{source}: {module_name}.{factory_name}() returned a {type(model).__name__}, "
                         "not a torch.nn.Module")
    return model.eval()


def _import(module_name: str, source: str):
    """A module by its dotted name, with the current directory on sys.path (as ``python -m``
    has it; a console script does not), or a ``.py`` file by its path."""
    import os

    if module_name.endswith(".py"):
        path = os.path.abspath(module_name)
        if not os.path.isfile(path):
            raise InputError(f"{source}: {module_name}: no such file")
        name = "cnncalc_torch_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise InputError(f"{source}: {module_name}: not a Python module")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        try:
            spec.loader.exec_module(mod)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return mod
    cwd = os.getcwd()
    added = cwd not in sys.path and "" not in sys.path
    if added:
        sys.path.append(cwd)
    try:
        return importlib.import_module(module_name)
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def read_torch(source: str, display: str, size: Optional[tuple]) -> Net:
    model = build_module(source)  # first: without torch, the one line saying it is needed
    import torch
    from torch.fx.passes.shape_prop import ShapeProp

    loc = file_loc(display)
    if size is None:
        raise ModelError("a PyTorch module has no input size: give --input HxWxC (or N for a vector)", loc=loc)
    try:
        with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gm = _trace(torch, model)
    except Exception as e:
        raise ModelError(f"torch.fx cannot trace the model ({type(e).__name__}: {_first_line(e)}); cnncalc reads "
                         "models whose forward has no data-dependent control flow", loc=loc) from None
    shape = (1, size[2], size[0], size[1]) if len(size) == 3 else (1, size[0])
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(sys.stderr), \
                warnings.catch_warnings():  # ShapeProp prints the traceback it re-raises
            warnings.simplefilter("ignore")
            ShapeProp(gm).propagate(torch.empty(*shape, device="meta"))
    except Exception as e:
        cause = e.__cause__ or e
        m = re.search(r"node=%(\w+)", str(e))
        node = next((n for n in gm.graph.nodes if m and n.name == m.group(1)), None)
        raise ModelError(f"the model does not run on a {'×'.join(map(str, size))} input ({type(cause).__name__}: "
                         f"{_first_line(cause)})", loc=loc, layer=None if node is None else _label(node)) from None

    net = Net(display, "PyTorch, torch.fx", type(model).__name__)
    net.notes.append(f"{type(model).__name__} from {parse_source(source)[0]}; traced with torch.fx on a "
                     f"{'×'.join(map(str, size))} input")
    names: dict = {}  # fx node → cnncalc layer name (or the layer it passes through)
    poisoned: set = set()
    missing: list = []
    claimed: dict = {}  # parameter-derived node → the layer that reads it
    modules = dict(gm.named_modules())
    derived = _parameter_nodes(gm)
    scopes: dict = {}  # module path → the tensor nodes its own forward makes
    for node in gm.graph.nodes:
        if node.op in ("call_function", "call_method") and _is_tensor(node) and node not in derived and \
                _fn_name(node) not in ("permute", "contiguous", "clone"):  # views: no layer of their own
            scopes.setdefault(_scope(node), []).append(node)
    inner = {(str(n.target) if n.op == "call_module" else _scope(n)) for n in gm.graph.nodes if n not in derived}
    own_modules = dict(model.named_modules())  # the traced module keeps only the leaves
    alone = frozenset(p for p, ns in scopes.items() if p in own_modules and len(ns) == 1
                      and not any(q.startswith(p + ".") for q in inner))
    for node in gm.graph.nodes:
        node.meta["cnncalc_name"] = _node_name(node, alone)
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            if net.input_shape is not None:
                missing.append((node.name, "a second input (cnncalc networks have one input)"))
                poisoned.add(node)
                continue
            names[node] = net.set_input(size)
            continue
        if node.op == "output":
            continue
        if not _is_value(node):
            continue  # x.size(0) and the like: read by the op that uses them
        if not node.users and node.op == "call_function" and _fn_name(node) == "getitem":
            continue  # an unused part of a tuple (`x, _ = attention(x, x, x)`)
        if node in derived:  # a parameter read in forward, or computed from parameters alone: the layer
            names[node] = PARAM  # that reads it claims it (and checks what it is)
            continue
        ins = [a for a in node.all_input_nodes if _is_value(a)]
        if any(a in poisoned for a in ins):
            poisoned.add(node)
            continue
        # channels-last (after permute(0, 2, 3, 1)): what reads it stays so, unless it permutes back
        node.meta["cnncalc_nhwc"] = any(a.meta.get("cnncalc_nhwc") for a in ins)
        try:
            mapped = _map(net, node, Ctx(modules, names, loc, claimed, gm))
        except _Unmappable as u:
            missing.append((_label(node), u.kind))
            poisoned.add(node)
            continue
        names[node] = mapped
        want = _hwc(node) if _is_tensor(node) else None
        if want is not None and mapped in net.shapes and net.shapes[mapped] != want:
            raise ModelError(f"cnncalc gives {_shape_text(net.shapes[mapped])} where PyTorch gives "
                             f"{_shape_text(want)}: this node is not mapped right", loc=loc, layer=_label(node))
    if missing:
        raise unsupported(missing, "PyTorch node", loc)
    unread = [n for n in derived if n not in claimed and any(u not in derived for u in n.users)]
    if unread:
        raise unsupported([(_label(n), "a parameter read in forward (get_attr) that no cnncalc layer reads this way")
                           for n in unread], "PyTorch node", loc)
    outputs = [n for n in gm.graph.nodes if n.op == "output"]
    if outputs:
        result = outputs[0].args[0]
        if not hasattr(result, "op"):
            raise ModelError("the model's forward returns several tensors; cnncalc networks have one output",
                             loc=loc)
        if result.meta.get("cnncalc_part") is not None:
            raise ModelError(f"the model's output '{_label(result)}' is a map cut into groups of positions "
                             "(N×G×P×C); cnncalc networks end with the map, tokens or a vector", loc=loc)
        if net.layers and names.get(result) != net.layers[-1]["name"]:
            raise ModelError(f"the model's output is '{_label(result)}', not its last layer; cnncalc networks "
                             "end with their output", loc=loc)
    used: set = set()  # the parameters forward reads: those of the modules it calls, and get_attr's
    for node in gm.graph.nodes:
        if node.op == "call_module":
            used.update(f"{node.target}.{n}" for n, _ in modules[node.target].named_parameters())
        elif node.op == "get_attr":
            used.add(str(node.target))
    unused = sum(p.numel() for n, p in model.named_parameters() if n not in used)
    if unused:
        net.notes.append(f"not counted: {unused:,} parameters of modules forward never calls")
    return net


class _Unmappable(Exception):
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def _first_line(e) -> str:
    text = str(e).strip().splitlines()
    return text[0][:200] if text else ""


def _is_tensor(node) -> bool:
    tm = node.meta.get("tensor_meta")
    return tm is not None and hasattr(tm, "shape")


def _torch_shape(node) -> tuple:
    return tuple(int(x) for x in node.meta["tensor_meta"].shape)


def _hwc(node) -> Optional[tuple]:
    """PyTorch's shape of the node as cnncalc writes it: H×W×C, tokens L×C, a vector N; None for
    the views on the way to tokens or a channel shuffle (the layer is the one before them)."""
    s = _torch_shape(node)
    if node.meta.get("cnncalc_state"):
        return None
    part = node.meta.get("cnncalc_part")
    if part is not None:  # N×G×P×C: the H×W map, its positions in groups
        return (*part[2], s[-1])
    if len(s) == 4:
        return (s[1], s[2], s[3]) if node.meta.get("cnncalc_nhwc") else (s[2], s[3], s[1])
    if len(s) in (2, 3):
        return tuple(s[1:])
    return None


def _shape_text(s) -> str:
    return "×".join(str(x) for x in s)


def _scope(node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    return list(stack.values())[-1][0] if stack else ""


def _label(node) -> str:
    """The node's layer name (worked out once per trace, see read_torch)."""
    return node.meta.get("cnncalc_name") or _node_name(node)


def _node_name(node, alone: frozenset = frozenset()) -> str:
    """The module's name for a module call; for a function, the module whose forward calls it and
    the function (``layer1.0.add``), or the module alone when the function is all it does
    (``features.2.1.stochastic_depth``, torchvision's StochasticDepth)."""
    if node.op == "call_module":
        return str(node.target)
    base = node.name.rstrip("0123456789").rstrip("_") or node.name
    path = _scope(node)
    if path and path in alone:
        return path
    return f"{path}.{base}" if path else base


def _pair(v) -> list:
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


def _one(v):
    """(3, 3) → 3, (3, 5) → [3, 5]."""
    a, b = _pair(v)
    return a if a == b else [a, b]


def _fn_name(node) -> str:
    t = node.target
    if node.op == "call_method":
        return str(t)
    return getattr(t, "__name__", str(t))


def _arg(node, i: int, key: str, default=None):
    if len(node.args) > i:
        return node.args[i]
    return node.kwargs.get(key, default)


def _add(net: Net, type_: str, name: str, params: dict, inputs: list, loc) -> str:
    """``net.add`` without the parameters equal to the layer type's defaults (the spec is for people)."""
    from .. import layers as registry

    spec = registry.get(type_).params
    kept = {k: v for k, v in params.items() if not (k in spec and spec[k].default == v and type(spec[k].default)
                                                    is type(v))}
    return net.add(type_, name, kept, inputs, loc)


# the nodes of an intermediate layout: a view on the way to tokens or to a channel shuffle
_STATES = {"ncl": "N×C×(H·W) tensor (after flatten(2); only transpose(1, 2) to tokens reads it)",
           "grouped": "N×g×(C/g)×H×W view (only transpose(1, 2) of a channel shuffle reads it)",
           "shuffled": "transposed N×(C/g)×g×H×W view (only the view back to N×C×H×W of a channel shuffle "
                       "reads it)",
           "ids": "view of a map that is neither the map nor its partition into blocks or a grid of positions "
                  "(only further views read it)"}
# the zero-MAC operations that turn a relative-position bias table into the bias (torchvision's
# _get_relative_position_bias, its indexing, views; Swin V2's 16·sigmoid)
_BIAS_OPS = {"_get_relative_position_bias", "getitem", "view", "reshape", "permute", "contiguous", "unsqueeze",
             "flatten"}
SWIN_ARGS = ("input", "qkv_weight", "proj_weight", "relative_position_bias", "window_size", "num_heads",
             "shift_size", "attention_dropout", "dropout", "qkv_bias", "proj_bias", "logit_scale", "training")


class Ctx(NamedTuple):
    modules: dict  # the traced module's submodules
    names: dict  # fx node → cnncalc layer name (PARAM for a parameter-derived node)
    loc: Any
    claimed: dict  # parameter-derived node → the layer that reads it
    gm: Any  # the GraphModule (get_attr targets)


def _trace(torch, model):
    """torch.fx.symbolic_trace, with the exporter's helper modules (cnncalc.export.pytorch.HELPERS)
    kept whole as leaves when their structure is the exporter's (see _helper), and MaxViT's
    attention when its structure is (torch_partition.rel_structure) and, checked after the trace,
    its forward too (a module whose forward is not is traced through on a second trace)."""

    from .torch_partition import rel_forward_ok, rel_structure

    found: dict = {}  # id(module) → MaxViT's relative-position attention settings, or None
    refused: set = set()  # ids of modules of its structure whose forward is not that attention

    class Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m, qualname):
            if _helper(m) is not None or super().is_leaf_module(m, qualname):
                return True
            if id(m) not in found:
                found[id(m)] = rel_structure(m)
            return found[id(m)] is not None and id(m) not in refused

    while True:
        tracer = Tracer()
        graph = tracer.trace(model)
        rel = {name: (m, found[id(m)]) for name, m in model.named_modules()
               if found.get(id(m)) and id(m) not in refused}
        seen: dict = {}
        wrong = {id(m) for m, info in rel.values() if not rel_forward_ok(m, info, seen)}
        if not wrong:  # each forward checked outside the trace (torch.fx patches torch while it traces)
            break
        refused |= wrong  # traced through again: its nodes are read (and refused) one by one
    gm = torch.fx.GraphModule(tracer.root, graph, type(model).__name__)
    gm.cnncalc_rel = {name: info for name, (m, info) in rel.items()}
    return gm


def _is_value(node) -> bool:
    """A tensor, or a tuple holding tensors (chunk, split, nn.MultiheadAttention's (output, weights))."""
    tm = node.meta.get("tensor_meta")
    return hasattr(tm, "shape") or (isinstance(tm, (tuple, list)) and any(hasattr(t, "shape") for t in tm))


def _parameter_nodes(gm) -> set:
    """The nodes that are parameters or buffers read in forward (get_attr), or computed from them
    alone (an expand of a class token, Swin's bias-table lookup, Swin V2's cpb_mlp on its
    coordinate table): none is a layer of its own; the layer that reads one claims it."""
    derived: set = set()
    for node in gm.graph.nodes:
        if node.op == "get_attr":
            derived.add(node)
        elif node.op in ("call_function", "call_method", "call_module") and _is_value(node):
            ins = [a for a in node.all_input_nodes if _is_value(a)]
            if ins and all(a in derived for a in ins):
                derived.add(node)
    return derived


def _upstream(ctx: "Ctx", node) -> set:
    """``node`` and the parameter-derived nodes it is computed from."""
    seen, todo = set(), [node]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(a for a in n.all_input_nodes if ctx.names.get(a) == PARAM)
    return seen


def _attr(ctx: "Ctx", node):
    obj = ctx.gm
    for part in str(node.target).split("."):
        obj = getattr(obj, part)
    return obj


def _is_parameter(ctx: "Ctx", node) -> bool:
    import torch

    return node.op == "get_attr" and isinstance(_attr(ctx, node), torch.nn.Parameter)


def _param_leaf(ctx: "Ctx", node, also=()):
    """The get_attr of a parameter that ``node`` is, directly or through the given methods
    (``expand``); None otherwise."""
    while node.op != "get_attr":
        if node.op != "call_method" or _fn_name(node) not in also:
            return None
        node = node.args[0]
    return node if _is_parameter(ctx, node) else None


def _claim(ctx: "Ctx", nodes, layer: str) -> str:
    """Mark the parameter-derived nodes a layer reads (and what they are made of) as the layer's;
    a parameter claimed twice would be counted twice."""
    for node in nodes:
        for n in _upstream(ctx, node):
            if n in ctx.claimed and ctx.claimed[n] != layer and _is_parameter(ctx, n):
                raise _Unmappable(f"parameter {n.target} read by two layers ({ctx.claimed[n]}, {layer})")
            ctx.claimed[n] = layer
    return layer


def _fn_layer(node, what: str) -> str:
    """A layer made of a function call, named by the module whose forward calls it and ``what``."""
    scope = _scope(node)
    return f"{scope}.{what}" if scope else what


def _index_text(index) -> str:
    items = index if isinstance(index, tuple) else (index,)

    def one(i):
        if isinstance(i, slice):
            return ":".join("" if v is None else str(v) for v in (i.start, i.stop)) + \
                ("" if i.step is None else f":{i.step}")
        return "..." if i is Ellipsis else "None" if i is None else str(i)

    return ", ".join(one(i) for i in items)


def _channel_axis(node) -> int:
    """PyTorch's axis of cnncalc's channels: C of N×C×H×W (1), of channels-last N×H×W×C (3), the
    features of tokens N×L×C (2), the features of a vector N×D (1)."""
    rank = len(_torch_shape(node))
    if node.meta.get("cnncalc_nhwc") or rank == 3:
        return rank - 1
    return 1


def _map_state(net: Net, node, fn: str, state: tuple, tensor, ctx: "Ctx") -> str:
    """The views on the way to tokens (flatten(2), transpose(1, 2)) and to a channel shuffle
    (view(N, g, C/g, H, W), transpose(1, 2), view(N, C, H, W)); nothing else reads them."""
    src = ctx.names[tensor]
    kind = state[0]
    if kind == "ids":
        if fn not in VIEWS:
            raise _Unmappable(f"{fn} of a {_STATES[kind]}")
        return _map_view(node, fn, tensor, state[1], state[2], ctx)
    if fn in ("contiguous", "clone"):
        node.meta["cnncalc_state"] = state
        return src
    swap = False
    if fn in ("transpose", "swapaxes"):
        dims = [_arg(node, 1, "dim0"), _arg(node, 2, "dim1")]
        rank = len(_torch_shape(tensor))
        swap = all(isinstance(d, int) for d in dims) and sorted(d % rank for d in dims) == [1, 2]
    elif fn == "permute":
        dims = node.args[1] if len(node.args) == 2 and isinstance(node.args[1], (list, tuple)) else \
            node.args[1:] or node.kwargs.get("dims")
        dims = tuple(dims or ())
        swap = dims in ((0, 2, 1), (0, 2, 1, 3, 4))
    if kind == "ncl" and swap:
        return _add(net, "to_tokens", _fn_layer(node, "tokens"), {}, [src], ctx.loc)
    if kind == "grouped" and swap and len(_torch_shape(tensor)) == 5:
        node.meta["cnncalc_state"] = ("shuffled", state[1])
        return src
    if kind == "shuffled" and fn in ("view", "reshape", "flatten"):
        n_, a, b, h, w = _torch_shape(tensor)
        out = _torch_shape(node)
        flat = fn != "flatten" or (_arg(node, 1, "start_dim", 0) == 1 and _arg(node, 2, "end_dim", -1) == 2)
        if out == (n_, a * b, h, w) and flat:
            return _add(net, "channel_shuffle", _fn_layer(node, "channel_shuffle"), {"groups": state[1]}, [src],
                        ctx.loc)
    raise _Unmappable(f"{fn} of a {_STATES[kind]}")


def _view_args(node, fn: str) -> tuple:
    if fn == "permute":
        dims = node.args[1] if len(node.args) == 2 and isinstance(node.args[1], (list, tuple)) else \
            node.args[1:] or node.kwargs.get("dims")
        return tuple(dims or ())
    if fn in ("transpose", "swapaxes"):
        return (_arg(node, 1, "dim0"), _arg(node, 2, "dim1"))
    return ()


def _map_view(node, fn: str, tensor, ids, hwc: tuple, ctx: "Ctx") -> str:
    """A view (reshape, permute, transpose…) of an H×W×C map, evaluated on the ids of its elements
    (see torch_partition): the map again, channels first or last; a partition of it into groups
    of positions (MaxViT's blocks or grid, for partition_attention); or an intermediate view that
    only further views may read. No layer of its own."""
    import torch

    from .torch_partition import layout, push

    if node.meta.get("cnncalc_view") is not None:  # pushed already (_views_end_well)
        out, found = node.meta["cnncalc_view"]
    else:
        out = push(ids, fn, _view_args(node, fn), _torch_shape(node))
        if out is None or tuple(out.shape) != _torch_shape(node):
            raise _Unmappable(f"{fn} of a map with dimensions computed in forward")
        found = layout(torch, out, *hwc)
    node.meta["cnncalc_part"] = None
    node.meta["cnncalc_state"] = None
    if found is None:  # neither channels first nor last: only views read it (see _views_end_well)
        node.meta["cnncalc_state"] = ("ids", out, hwc)
        node.meta["cnncalc_nhwc"] = False
    elif found[0] == "map":
        node.meta["cnncalc_nhwc"] = found[1]
    else:  # N×G×P×C, channels last: cnncalc's H×W×C map, its positions grouped
        node.meta["cnncalc_nhwc"] = True
        node.meta["cnncalc_part"] = (found[1], found[2], hwc[:2], found[3])
    return ctx.names[tensor]


def _start_view(net: Net, node, fn: str, tensor, ctx: "Ctx") -> Optional[str]:
    """A view of a map (N×C×H×W, channels-last, or partitioned) not otherwise read: pushed
    (_map_view) when every chain of views from it ends in the map or a partition of it, before
    anything else reads it (_views_end_well); None otherwise (the caller refuses it)."""
    import torch

    from .torch_partition import MAX_IDS, one_thread

    if len(net.shapes.get(ctx.names[tensor], ())) != 3 or len(_torch_shape(tensor)) != 4 or \
            math.prod(_torch_shape(tensor)) > MAX_IDS:
        return None
    with one_thread(torch):
        return _start_view_ids(node, fn, tensor, net.shapes[ctx.names[tensor]], ctx)


def _start_view_ids(node, fn: str, tensor, hwc: tuple, ctx: "Ctx") -> Optional[str]:
    import torch

    from .torch_partition import map_ids, part_ids, push

    h, w, c = hwc
    part = tensor.meta.get("cnncalc_part")
    ids = part_ids(torch, part[3], c) if part is not None else \
        map_ids(torch, h, w, c, bool(tensor.meta.get("cnncalc_nhwc")))
    if tuple(ids.shape) != _torch_shape(tensor):
        return None
    out = push(ids, fn, _view_args(node, fn), _torch_shape(node))
    if out is None or tuple(out.shape) != _torch_shape(node) or not _views_end_well(node, out, hwc, ctx):
        return None
    return _map_view(node, fn, tensor, ids, hwc, ctx)


def _views_end_well(node, ids, hwc: tuple, ctx: "Ctx") -> bool:
    """Whether the view ``node`` (its element ids) is the map or a partition of it, or only views
    read it and each of them ends well in turn."""
    import torch

    from .torch_partition import layout, push

    found = layout(torch, ids, *hwc)
    node.meta["cnncalc_view"] = (ids, found)  # what _map_view reads (the ids of a view depend on its input's)
    if found is not None:
        return True
    readers = [u for u in node.users if _is_value(u)]
    if not readers:
        return False
    for u in readers:
        if u.op == "call_module" and type(ctx.modules[u.target]).__name__ in PASS_THROUGH and u.args == (node,):
            out = ids
        elif u.op in ("call_function", "call_method") and _fn_name(u) in VIEWS and u.args and u.args[0] is node \
                and _is_tensor(u) and node not in u.args[1:] and node not in u.kwargs.values():
            out = push(ids, _fn_name(u), _view_args(u, _fn_name(u)), _torch_shape(u))
        else:
            return False
        if out is None or tuple(out.shape) != _torch_shape(u) or not _views_end_well(u, out, hwc, ctx):
            return False
    return True


def _set_part(node, tensors: list) -> None:
    """A node reading a partitioned tensor is partitioned alike (an element-wise op, or one on the
    channels, acts the same on a map and on its positions in groups); two layouts mixed: refused."""
    from .torch_partition import same_part

    parts = [a.meta.get("cnncalc_part") for a in tensors]
    first = next((p for p in parts if p is not None), None)
    node.meta["cnncalc_part"] = first
    if first is not None and not all(p is not None and same_part(p, first) for p in parts):
        raise _Unmappable("an operation on tensors in different layouts (a partition of a map into groups of "
                          "positions, and another)")


def _map_split(net: Net, node, fn: str, name: str, tensor, ctx: "Ctx") -> str:
    """x.chunk(n, dim), torch.split(x, sizes, dim) along the channels → split (parts NAME.0, …)."""
    dim = _arg(node, 2, "dim", 0)
    rank = len(_torch_shape(tensor))
    axis = _channel_axis(tensor)
    tm = node.meta["tensor_meta"]
    if not isinstance(dim, int) or dim % rank != axis or node.meta.get("cnncalc_nhwc") and axis != rank - 1:
        raise _Unmappable(f"{fn} not along the channels (dim={dim})")
    sizes = [int(t.shape[axis]) for t in tm]
    p = {"parts": len(sizes)} if len(set(sizes)) == 1 else {"sizes": sizes}
    return _add(net, "split", name, p, [ctx.names[tensor]], ctx.loc)


def _tuple_part(node, whole, ctx: "Ctx") -> str:
    """``parts[i]`` of a split (its named output NAME.i) or ``attention(x, x, x)[0]``."""
    layer = ctx.names[whole]
    i = node.args[1] if len(node.args) > 1 else None
    if whole.op == "call_module":  # nn.MultiheadAttention: (output, weights)
        if i == 0:
            return layer
        raise _Unmappable("the attention weights of nn.MultiheadAttention (cnncalc's layer gives its output)")
    n = len(whole.meta["tensor_meta"])
    if isinstance(i, int) and -n <= i < n:
        return f"{layer}.{i % n}"
    raise _Unmappable(f"part {i!r} of a split")


def _map_attention(net: Net, node, m, name: str, src: str, rank: int) -> str:
    """nn.MultiheadAttention as self-attention on tokens, batch first: attention(x, x, x, …)[0]."""
    q, k, v = [_arg(node, i, key) for i, key in enumerate(("query", "key", "value"))]
    extra = {key for key, val in node.kwargs.items() if key not in ("query", "key", "value", "need_weights",
                                                                     "average_attn_weights") and val is not None}
    extra |= {key for key in ("key_padding_mask", "attn_mask") if len(node.args) > 3}
    if not (q is k is v) or extra or rank != 2:
        raise _Unmappable("nn.MultiheadAttention other than self-attention on tokens (query = key = value, no mask)")
    if not m.batch_first or not m._qkv_same_embed_dim or m.bias_k is not None or m.add_zero_attn:
        raise _Unmappable("nn.MultiheadAttention with batch_first=False, kdim/vdim, add_bias_kv or add_zero_attn")
    return _add(net, "multihead_attention", name, {"heads": m.num_heads, "bias": m.in_proj_bias is not None},
                [src], None)


def _map_swin(net: Net, node, name: str, tensors: list, ctx: "Ctx") -> str:
    """torchvision's shifted_window_attention (V1: a bias table; V2: logit_scale given and the bias
    made by cpb_mlp from the coordinate table, 16·sigmoid) → window_attention, when every argument
    is what cnncalc's layer counts."""
    a = dict(zip(SWIN_ARGS, node.args))
    a.update(node.kwargs)
    x = a.get("input")
    if len(tensors) != 1 or x is not tensors[0] or not node.meta.get("cnncalc_nhwc"):
        raise _Unmappable("shifted_window_attention not on the channels-last map")
    _, h, w, c = _torch_shape(x)
    win, shift, heads = a.get("window_size"), a.get("shift_size"), a.get("num_heads")
    if not (isinstance(win, (list, tuple)) and len(set(win)) == 1 and isinstance(shift, (list, tuple))
            and len(set(shift)) == 1 and isinstance(heads, int) and heads > 0 and c % heads == 0):
        raise _Unmappable("shifted_window_attention with a window or shift that is not square (cnncalc's: w×w)")
    win, shift = int(win[0]), int(shift[0])

    def param(key, shape):
        v = a.get(key)
        return v is not None and hasattr(v, "op") and _param_leaf(ctx, v) is not None and _torch_shape(v) == shape

    ok = param("qkv_weight", (3 * c, c)) and param("proj_weight", (c, c))
    qkv_bias, proj_bias = a.get("qkv_bias") is not None, a.get("proj_bias") is not None
    ok = ok and (not qkv_bias or param("qkv_bias", (3 * c,))) and (not proj_bias or param("proj_bias", (c,)))
    v2 = a.get("logit_scale") is not None
    ok = ok and (not v2 or param("logit_scale", (heads, 1, 1)))
    rpb = a.get("relative_position_bias")
    hidden = _bias_source(ctx, rpb, win, heads, v2) if ok and hasattr(rpb, "op") else None
    if hidden is None or (node.target.__name__.endswith("_v2") and not v2):
        raise _Unmappable("shifted_window_attention whose weights, bias table or logit scale are not those of "
                          "Swin (V1) or Swin V2 with a w×w window")
    p = {"heads": heads, "window": win, "shift": shift, "qkv_bias": qkv_bias, "proj_bias": proj_bias}
    if v2:
        p.update(version=2, cpb_hidden=hidden)
    reads = [a[k] for k in ("qkv_weight", "proj_weight", "qkv_bias", "proj_bias", "logit_scale",
                            "relative_position_bias") if a.get(k) is not None]
    return _claim(ctx, reads, _add(net, "window_attention", name, p, [ctx.names[x]], ctx.loc))


def _bias_source(ctx: "Ctx", rpb, win: int, heads: int, v2: bool):
    """What the relative-position bias of a Swin window attention is made of, checked: V1, a
    (2w − 1)²×heads parameter table looked up by an index buffer (returns 0); V2, a float buffer
    of 1×(2w − 1)×(2w − 1)×2 coordinates through cpb_mlp (Linear(2, hidden) with bias, ReLU,
    Linear(hidden, heads) without) and 16·sigmoid (returns hidden). None when it is anything else."""
    if ctx.names.get(rpb) != PARAM or _torch_shape(rpb) != (1, heads, win * win, win * win):
        return None
    nodes = _upstream(ctx, rpb)
    attrs = [n for n in nodes if n.op == "get_attr"]
    mods = [n for n in nodes if n.op == "call_module"]
    fns = {_fn_name(n) for n in nodes if n.op in ("call_function", "call_method")}
    rel = 2 * win - 1
    params = [n for n in attrs if _is_parameter(ctx, n)]
    buffers = [n for n in attrs if not _is_parameter(ctx, n)]
    index = [n for n in buffers if _torch_shape(n) == (win ** 4,) and not _attr(ctx, n).is_floating_point()]
    if len(index) != 1:
        return None
    if not v2:
        if mods or not fns <= _BIAS_OPS or len(buffers) != 1 or len(params) != 1 or \
                _torch_shape(params[0]) != (rel * rel, heads):
            return None
        return 0
    coords = [n for n in buffers if n not in index]
    if params or len(coords) != 1 or _torch_shape(coords[0]) != (1, rel, rel, 2) or \
            not _attr(ctx, coords[0]).is_floating_point() or not fns <= _BIAS_OPS | {"mul", "sigmoid"}:
        return None
    kinds = sorted(type(ctx.modules[n.target]).__name__ for n in mods)
    if kinds != ["Linear", "Linear", "ReLU"]:
        return None
    first = next((n for n in mods if n.args and n.args[0] is coords[0]), None)
    if first is None:
        return None
    lin1 = ctx.modules[first.target]
    if type(lin1).__name__ != "Linear" or lin1.in_features != 2 or lin1.bias is None:
        return None
    relu = next((n for n in mods if n.args and n.args[0] is first), None)
    second = relu and next((n for n in mods if n.args and n.args[0] is relu), None)
    if second is None or type(ctx.modules[relu.target]).__name__ != "ReLU":
        return None
    lin2 = ctx.modules[second.target]
    if type(lin2).__name__ != "Linear" or lin2.in_features != lin1.out_features or lin2.out_features != heads or \
            lin2.bias is not None:
        return None
    return lin1.out_features


# -- the exporter's helper modules (cnncalc.export.pytorch.HELPERS), read back as one layer each

def _shapes(items) -> dict:
    return {n: tuple(int(x) for x in t.shape) for n, t in items}


def _is_linear(m, cin: int, cout: int) -> bool:
    return type(m).__name__ == "Linear" and m.in_features == cin and m.out_features == cout


def _pos_int(*vs) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in vs)


def _helper(m) -> Optional[str]:
    """The class name of a module written by ``cnncalc export --to pytorch`` when its parameters,
    buffers, submodules and settings are exactly those the exporter writes (never by the name
    alone); None for any other module (it is traced like every module)."""
    cls = type(m).__name__
    check = _HELPER_CHECKS.get(cls)
    if check is None:
        return None
    try:
        return cls if check(m, _shapes(m.named_parameters()), _shapes(m.named_buffers())) else None
    except (AttributeError, TypeError, ValueError):
        return None


def _check_window(m, params: dict, buffers: dict, v2: bool) -> bool:
    heads, win, shift = m.heads, m.window, m.shift
    if not (_pos_int(heads, win) and isinstance(shift, int) and shift >= 0):
        return False
    c = m.proj.in_features
    want = {"qkv.weight": (3 * c, c), "proj.weight": (c, c)}
    if m.qkv.bias is not None:
        want["qkv.bias"] = (3 * c,)
    if m.proj.bias is not None:
        want["proj.bias"] = (c,)
    rel = 2 * win - 1
    bufs = {"relative_position_index": (win ** 4,)}
    children = {"qkv", "proj"}
    if v2:
        hid = m.cpb_mlp[0].out_features
        want.update({"logit_scale": (heads, 1, 1), "cpb_mlp.0.weight": (hid, 2), "cpb_mlp.0.bias": (hid,),
                     "cpb_mlp.2.weight": (heads, hid)})
        bufs["relative_coords_table"] = (1, rel, rel, 2)
        children.add("cpb_mlp")
        if [type(x).__name__ for x in m.cpb_mlp] != ["Linear", "ReLU", "Linear"]:
            return False
    else:
        want["relative_position_bias_table"] = (rel * rel, heads)
    return (params == want and buffers == bufs and set(dict(m.named_children())) == children and
            _is_linear(m.qkv, c, 3 * c) and _is_linear(m.proj, c, c))


def _check_partition(m, params: dict, buffers: dict) -> bool:
    heads, size = m.heads, m.size
    if not _pos_int(heads, size) or m.partition not in ("block", "grid"):
        return False
    c = m.merge.in_features
    want = {"to_qkv.weight": (3 * c, c), "merge.weight": (c, c),
            "relative_position_bias_table": ((2 * size - 1) ** 2, heads)}
    if m.to_qkv.bias is not None:
        want["to_qkv.bias"] = (3 * c,)
    if m.merge.bias is not None:
        want["merge.bias"] = (c,)
    return (params == want and buffers == {"relative_position_index": (size ** 4,)} and
            set(dict(m.named_children())) == {"to_qkv", "merge"} and _is_linear(m.to_qkv, c, 3 * c)
            and _is_linear(m.merge, c, c))


def _check_attention(m, params: dict, buffers: dict) -> bool:
    attn = m.attn
    c = attn.embed_dim
    want = {"attn.in_proj_weight": (3 * c, c), "attn.out_proj.weight": (c, c)}
    if attn.in_proj_bias is not None:
        want.update({"attn.in_proj_bias": (3 * c,), "attn.out_proj.bias": (c,)})
    return (type(attn).__name__ == "MultiheadAttention" and attn.batch_first and attn._qkv_same_embed_dim and
            attn.bias_k is None and not attn.add_zero_attn and params == want and not buffers and
            set(dict(m.named_children())) == {"attn"})


def _no_state(m, params, buffers) -> bool:
    return not params and not buffers and not list(m.children())


_HELPER_CHECKS = {
    "ClassToken": lambda m, p, b: not b and not list(m.children()) and list(p) == ["class_token"]
    and len(p["class_token"]) == 3 and p["class_token"][:2] == (1, 1),
    "PositionBias": lambda m, p, b: not b and not list(m.children()) and list(p) == ["bias"],
    "LayerScale": lambda m, p, b: not b and not list(m.children()) and list(p) == ["gamma"]
    and len(p["gamma"]) in (1, 3) and p["gamma"][1:] in ((), (1, 1)),
    "SelfAttention": _check_attention,
    "ChannelShuffle": lambda m, p, b: _no_state(m, p, b) and _pos_int(m.groups),
    "TFSamePad2d": lambda m, p, b: _no_state(m, p, b) and all(
        isinstance(v, (tuple, list)) and len(v) == 2 and _pos_int(*v) for v in (m.kernel, m.stride, m.dilation)),
    "LocalResponseNorm": lambda m, p, b: _no_state(m, p, b) and _pos_int(m.size) and any(
        k.__name__ == "LocalResponseNorm" and k.__module__.startswith("torch.nn") for k in type(m).__mro__[1:]),
    "KerasNormalization": lambda m, p, b: not p and not list(m.children()) and (
        not b or (set(b) == {"mean", "variance", "count"} and b["mean"] == b["variance"]
                  and len(b["mean"]) in (1, 3) and b["mean"][1:] in ((), (1, 1)) and b["count"] == ())),
    "BatchNormParts": lambda m, p, b: not list(m.children()) and isinstance(m.eps, (int, float)) and set(p) <= {
        "weight", "bias"} and set(b) in (set(), {"running_mean", "running_var"}) and len(set(p.values()) | set(
            b.values())) <= 1 and all(len(s) in (1, 3) and s[1:] in ((), (1, 1)) for s in (*p.values(), *b.values())),
    "WindowAttention": lambda m, p, b: _check_window(m, p, b, False),
    "WindowAttentionV2": lambda m, p, b: _check_window(m, p, b, True),
    "PartitionAttention": _check_partition,
}


def _map_helper(net: Net, node, m, kind: str, name: str, src: str, ctx: "Ctx") -> str:
    loc = ctx.loc
    shape = net.shapes[src]
    if kind == "ClassToken":
        if len(shape) != 2 or m.class_token.shape[2] != shape[1]:
            raise _Unmappable("ClassToken not on tokens of its width")
        return _add(net, "class_token", name, {}, [src], loc)
    if kind == "PositionBias":
        want = tuple(_torch_shape(node.args[0]))[1:] if node.args and hasattr(node.args[0], "op") else None
        if tuple(m.bias.shape) != want or node.meta.get("cnncalc_nhwc"):
            raise _Unmappable("PositionBias whose bias is not one value per position of its input")
        return _add(net, "position_bias", name, {}, [src], loc)
    if kind == "LayerScale":
        c = shape[-1]
        per = (c, 1, 1) if len(shape) == 3 and not node.meta.get("cnncalc_nhwc") else (c,)
        if tuple(m.gamma.shape) != per:
            raise _Unmappable("LayerScale whose γ is not one scale per channel")
        return _add(net, "layer_scale", name, {}, [src], loc)
    if kind in ("KerasNormalization", "BatchNormParts"):
        stats = [t for t in list(m.parameters()) + list(m.buffers()) if t.dim() > 0]
        per = (shape[-1], 1, 1) if len(shape) == 3 and not node.meta.get("cnncalc_nhwc") else (shape[-1],)
        if any(tuple(t.shape) != per for t in stats):
            raise _Unmappable(f"{kind} whose statistics are not one per channel of its input")
        if kind == "KerasNormalization":
            return _add(net, "normalization", name, {"adapted": bool(stats)}, [src], loc)
        gamma, beta = hasattr(m, "weight"), hasattr(m, "bias")
        p = {"affine": gamma or beta, "track_running_stats": hasattr(m, "running_mean"), "eps": float(m.eps)}
        if gamma or beta:
            p.update(scale=gamma, center=beta)
        return _add(net, "batchnorm", name, p, [src], loc)
    if kind == "SelfAttention":
        if len(shape) != 2:
            raise _Unmappable("SelfAttention not on tokens")
        return _add(net, "multihead_attention", name, {"heads": m.attn.num_heads,
                                                       "bias": m.attn.in_proj_bias is not None}, [src], loc)
    if node.meta.get("cnncalc_nhwc") or len(shape) != 3:
        raise _Unmappable(f"{kind} not on an N×C×H×W map")
    if kind == "ChannelShuffle":
        return _add(net, "channel_shuffle", name, {"groups": m.groups}, [src], loc)
    if kind == "LocalResponseNorm":
        return _add(net, "lrn", name, {"size": m.size, "alpha": float(m.alpha), "beta": float(m.beta),
                                       "k": float(m.k)}, [src], loc)
    if kind == "TFSamePad2d":  # the padding it works out for this input: a zero padding
        pads = []
        for size, k, s, d in zip(shape[:2], m.kernel, m.stride, m.dilation):
            out = (size + s - 1) // s
            total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
            pads += [total // 2, total - total // 2]
        return _add(net, "zeropad", name, {"padding": pads}, [src], loc)
    if kind in ("WindowAttention", "WindowAttentionV2"):
        p = {"heads": m.heads, "window": m.window, "shift": m.shift, "qkv_bias": m.qkv.bias is not None,
             "proj_bias": m.proj.bias is not None}
        if kind == "WindowAttentionV2":
            p.update(version=2, cpb_hidden=m.cpb_mlp[0].out_features)
        return _add(net, "window_attention", name, p, [src], loc)
    if kind == "PartitionAttention":
        return _add(net, "partition_attention", name, {"heads": m.heads, "size": m.size, "partition": m.partition,
                                                       "qkv_bias": m.to_qkv.bias is not None,
                                                       "proj_bias": m.merge.bias is not None}, [src], loc)
    raise _Unmappable(kind)


def _map_rel_attention(net: Net, node, rel: dict, name: str, ins: list, ctx: "Ctx") -> str:
    """torchvision's RelativePositionalMultiHeadAttention on a map partitioned into S×S blocks or
    a grid (S its own: the bias table is (2S − 1)²·heads) → partition_attention."""
    part = node.meta["cnncalc_part"]
    if len(ins) != 1 or node.kwargs or len(node.args) != 1 or part is None:
        raise _Unmappable("relative-position attention (MaxViT's) not on a map partitioned into blocks or a grid")
    if part[1] != rel["size"]:
        raise _Unmappable(f"relative-position attention over groups of {part[1]}×{part[1]} positions with a bias "
                          f"table for {rel['size']}×{rel['size']}")
    p = {"heads": rel["heads"], "size": part[1], "partition": part[0], "qkv_bias": rel["qkv_bias"],
         "proj_bias": rel["proj_bias"]}
    return _add(net, "partition_attention", name, p, [ctx.names[ins[0]]], ctx.loc)


def _map(net: Net, node, ctx: "Ctx") -> str:
    """Add the layer for one node; its cnncalc name (a pass-through node: its input's)."""
    name = _label(node)
    names, loc = ctx.names, ctx.loc
    if node.op == "call_module":
        return _map_module(net, node, ctx.modules[node.target], name, ctx)
    if node.op not in ("call_function", "call_method"):
        raise _Unmappable(node.op)
    fn = _fn_name(node)
    values = [a for a in node.all_input_nodes if _is_value(a)]
    if fn == "getitem" and values and not _is_tensor(values[0]):  # a part of a tuple: split, attention
        return _tuple_part(node, values[0], ctx)
    tensors = [a for a in values if _is_tensor(a)]
    _set_part(node, [a for a in tensors if names.get(a) != PARAM])
    if node.meta["cnncalc_part"] is not None:  # MaxViT's groups of positions: views, or ops per position
        if fn in VIEWS:
            mapped = _start_view(net, node, fn, node.args[0], ctx) if node.args and node.args[0] in tensors else None
            if mapped is None:
                raise _Unmappable(f"{fn} of a map partitioned into groups of positions that does not lead back to "
                                  "the map or a partition of it")
            return mapped
        if fn not in FN_PER_TOKEN:
            raise _Unmappable(f"{fn} on a map partitioned into groups of positions (MaxViT's blocks or grid)")
    nhwc = node.meta.get("cnncalc_nhwc", False)
    if nhwc and fn not in FN_LAST_AXIS:
        raise _Unmappable(f"{fn} on a channels-last tensor (after permute)")
    params = [a for a in tensors if names.get(a) == PARAM]
    tensors = [a for a in tensors if names.get(a) != PARAM]
    if fn in FN_SWIN:
        return _map_swin(net, node, name, tensors, ctx)
    state = next((a.meta["cnncalc_state"] for a in tensors if a.meta.get("cnncalc_state")), None)
    if state is not None:
        return _map_state(net, node, fn, state, tensors[0], ctx)
    if params and fn not in ("mul", "imul", "mul_", "layer_norm", "add", "iadd", "add_", "cat"):
        raise _Unmappable(f"{fn} of a parameter read in forward (get_attr)")
    src = names[tensors[0]] if tensors else None
    in_shape = _torch_shape(tensors[0]) if tensors else ()
    axis = _channel_axis(tensors[0]) if tensors else 1
    if fn == "permute":
        dims = node.args[1] if len(node.args) == 2 and isinstance(node.args[1], (list, tuple)) else \
            node.args[1:] or node.kwargs.get("dims")
        dims = tuple(dims or ())
        flipped = channels_last_after(dims, len(in_shape), nhwc)
        if flipped is not None:
            node.meta["cnncalc_nhwc"] = flipped  # the same H×W×C tensor for cnncalc
            return src
        mapped = _start_view(net, node, fn, tensors[0], ctx)  # MaxViT's partitions
        if mapped is not None:
            return mapped
        raise _Unmappable(f"permute{list(dims)} (other than to channels-last and back, or in views that cut the "
                          "map into MaxViT's blocks or grid)")
    if fn in ("mul", "imul", "mul_") and params:  # γ · x, one scale per channel: ConvNeXt's layer scale
        c = in_shape[axis] if len(in_shape) > 1 else 0
        pshape = _torch_shape(params[0])
        per_channel = ((c, 1, 1), (1, c, 1, 1)) if axis == 1 and len(in_shape) == 4 else \
            tuple((1,) * k + (c,) for k in range(len(in_shape)))
        if len(params) == 1 and len(tensors) == 1 and pshape in per_channel and _param_leaf(ctx, params[0]):
            return _claim(ctx, params, _add(net, "layer_scale", name, {}, [src], loc))
        raise _Unmappable("a product with a parameter that is not one scale per channel")
    if fn in ("add", "iadd", "add_") and params:  # x + P, P one value per position: ViT's position embedding
        pshape = _torch_shape(params[0])
        if len(params) == 1 and len(tensors) == 1 and not nhwc and pshape in (in_shape, in_shape[1:]) and \
                _param_leaf(ctx, params[0]) and node.kwargs.get("alpha", 1) == 1:
            pname = str(params[0].target)
            return _claim(ctx, params, _add(net, "position_bias", pname, {}, [src], loc))
        raise _Unmappable("a sum with a parameter that is not one value per position (a position embedding)")
    if fn in ("cat", "concat", "concatenate") and params:  # [class token, tokens]: ViT's class token
        parts = list(node.args[0] if node.args else node.kwargs.get("tensors"))
        dim = _arg(node, 1, "dim", 0)
        if len(parts) == 2 and parts[0] in params and parts[1] in tensors and len(in_shape) == 3 and \
                not nhwc and dim % 3 == 1:
            leaf = _param_leaf(ctx, parts[0], also=("expand",))
            if leaf is not None and _torch_shape(leaf) == (1, 1, in_shape[2]):
                pname = str(leaf.target)
                return _claim(ctx, params, _add(net, "class_token", pname, {}, [src], loc))
        raise _Unmappable(f"{fn} with a parameter other than a class token (1×1×C) in front of the tokens")
    if fn == "layer_norm":
        shape_arg = tuple(_arg(node, 1, "normalized_shape") or ())
        weight, bias = _arg(node, 2, "weight"), _arg(node, 3, "bias")
        c = in_shape[-1]
        ok = all(_param_leaf(ctx, a) is not None and _torch_shape(a) == (c,) for a in params)
        if axis == len(in_shape) - 1 and shape_arg == (c,) and not (weight is None and bias is not None) and ok and \
                len(params) == (weight is not None) + (bias is not None):
            return _claim(ctx, params, _add(net, "layernorm", name, {"eps": float(_arg(node, 4, "eps", 1e-5)),
                                                                     "affine": weight is not None,
                                                                     "bias": bias is not None}, [src], loc))
        raise _Unmappable("layer_norm not over the channels")

    if fn in ("add", "iadd", "add_", "mul", "imul", "mul_"):
        a, b = node.args[0], node.args[1] if len(node.args) > 1 else node.kwargs.get("other")
        number = [v for v in (a, b) if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(number) == 1 and len(tensors) == 1 and node.kwargs.get("alpha", 1) == 1:  # x·s, x + o: Keras's
            kind = "scale" if fn.startswith(("mul", "imul")) else "offset"  # Rescaling as the exporter writes it
            return _add(net, "rescaling", name, {kind: number[0]}, [src], loc)
        if not (hasattr(a, "op") and hasattr(b, "op") and _is_tensor(a) and _is_tensor(b)) or \
                node.kwargs.get("alpha", 1) != 1:
            raise _Unmappable(f"{fn} with a constant")
        kind = "add" if fn.startswith(("add", "iadd")) else "multiply"
        return _add(net, kind, name, {}, [names[a], names[b]], loc)
    if fn in ("cat", "concat", "concatenate"):
        parts = node.args[0] if node.args else node.kwargs.get("tensors")
        dim = _arg(node, 1, "dim", 0)
        if dim % len(in_shape) != axis or nhwc:
            raise _Unmappable(f"{fn} not along the channels (dim={dim})")
        return _add(net, "concat", name, {}, [names[p] for p in parts], loc)
    if fn in ("chunk", "split", "tensor_split"):
        return _map_split(net, node, fn, name, tensors[0], ctx)
    if fn == "getitem":  # x[:, i] of tokens: one token
        index = node.args[1] if len(node.args) > 1 else None
        if len(in_shape) == 3 and not nhwc and isinstance(index, tuple) and len(index) == 2 and \
                index[0] == slice(None) and isinstance(index[1], int) and -in_shape[1] <= index[1] < in_shape[1]:
            return _add(net, "select_token", _fn_layer(node, "select_token"), {"index": index[1] % in_shape[1]},
                        [src], loc)
        raise _Unmappable(f"indexing x[{_index_text(index)}] (other than x[:, i], one token)")
    if fn in ("transpose", "swapaxes"):
        mapped = _start_view(net, node, fn, tensors[0], ctx) if len(tensors) == 1 else None
        if mapped is not None:
            return mapped
        raise _Unmappable(f"{fn} (other than of C and L after flatten(2): tokens, a channel shuffle, or in views "
                          "that cut the map into MaxViT's blocks or grid)")
    if fn in FN_ACTIVATIONS:
        p = {}
        if fn == "gelu" and node.kwargs.get("approximate", "none") != "none":
            p["approximate"] = node.kwargs["approximate"]
        return _add(net, FN_ACTIVATIONS[fn], name, p, [src], loc)
    if fn in ("leaky_relu", "leaky_relu_"):
        return _add(net, "leaky_relu", name, {"negative_slope": float(_arg(node, 1, "negative_slope", 0.01))},
                       [src], loc)
    if fn == "softmax":
        dim = _arg(node, 1, "dim")
        if dim is None or dim % len(in_shape) != axis or nhwc:
            raise _Unmappable("softmax not over the channels")
        return _add(net, "softmax", name, {}, [src], loc)
    if fn in ("flatten", "view", "reshape"):
        out = _torch_shape(node)
        start = _arg(node, 1, "start_dim", 0)
        if len(in_shape) == 4 and not nhwc:
            n_, c, h, w = in_shape
            if out == (n_, c, h * w) and (fn != "flatten" or start in (2, -2)):  # tokens next, once transposed
                node.meta["cnncalc_state"] = ("ncl",)
                return src
            if len(out) == 5 and out[0] == n_ and out[1] * out[2] == c and out[3:] == (h, w) and fn != "flatten":
                node.meta["cnncalc_state"] = ("grouped", out[1])  # a channel shuffle, when transposed
                return src
        flat_from_1 = fn != "flatten" or start in (1, -len(in_shape) + 1) or len(in_shape) == 2
        if len(in_shape) == 2 and len(out) == 4 and out[2:] == (1, 1) and fn != "flatten":  # N×C → N×C×1×1
            return _add(net, "reshape", name, {"shape": [1, 1, out[1]]}, [src], loc)
        if len(out) == 2 and out[0] == 1 and flat_from_1:
            return src if len(in_shape) == 2 else _add(net, "flatten", name, {}, [src], loc)
        mapped = _start_view(net, node, fn, tensors[0], ctx) if len(in_shape) == 4 else None
        if mapped is not None:  # MaxViT's partitions: reshape(N, C, H/P, P, W/P, P) …
            return mapped
        raise _Unmappable(f"{fn} to a shape other than N×D (or in views that cut the map into MaxViT's blocks or "
                          "grid)")
    if fn == "mean":
        dims = _arg(node, 1, "dim")
        dims = list(dims) if isinstance(dims, (tuple, list)) else [dims]
        if len(in_shape) != 4 or sorted(d % 4 for d in dims if isinstance(d, int)) != [2, 3]:
            raise _Unmappable("mean not over H and W")
        if _arg(node, 2, "keepdim", False):
            return _add(net, "adaptive_avgpool", name, {"size": 1}, [src], loc)
        return _add(net, "global_avgpool", name, {}, [src], loc)
    if fn in ("adaptive_avg_pool2d", "adaptive_max_pool2d"):
        size = _arg(node, 1, "output_size")
        kind = "adaptive_avgpool" if "avg" in fn else "adaptive_maxpool"
        return _add(net, kind, name, {"size": _one(size)}, [src], loc)
    if fn in ("max_pool2d", "avg_pool2d"):
        k = _arg(node, 1, "kernel_size")
        s = _arg(node, 2, "stride") or k
        pad = _arg(node, 3, "padding", 0)
        p = {"kernel": _one(k), "stride": _one(s), "padding": _one(pad),
             "ceil_mode": bool(node.kwargs.get("ceil_mode", False))}
        if fn == "max_pool2d":
            p["dilation"] = _one(_arg(node, 4, "dilation", 1))
            return _add(net, "maxpool", name, p, [src], loc)
        p["count_include_pad"] = bool(node.kwargs.get("count_include_pad", True))
        return _add(net, "avgpool", name, p, [src], loc)
    if fn in ("interpolate", "upsample"):  # F.interpolate(x, size=None, scale_factor=None, mode, align_corners)
        size_arg, scale_arg = _arg(node, 1, "size"), _arg(node, 2, "scale_factor")
        mode = _arg(node, 3, "mode", "nearest")
        if mode not in ("nearest", "bilinear") or len(in_shape) != 4:
            raise _Unmappable(f"{fn} in mode {mode!r} (cnncalc's upsample: nearest, bilinear)")
        p: dict = {"mode": mode}
        if _arg(node, 4, "align_corners"):
            p["align_corners"] = True
        out = _torch_shape(node)
        if size_arg is not None and not hasattr(size_arg, "op") and all(isinstance(x, int) for x in _pair(size_arg)):
            p["size"] = _one(size_arg)
        elif scale_arg is not None and not hasattr(scale_arg, "op") and \
                all(isinstance(x, (int, float)) and float(x) == int(x) for x in _pair(scale_arg)):
            p["scale"] = _one([int(x) for x in _pair(scale_arg)])
        elif size_arg is not None and out[2] % in_shape[2] == 0 and out[3] % in_shape[3] == 0:
            p["scale"] = _one([out[2] // in_shape[2], out[3] // in_shape[3]])  # a size computed in forward
        else:
            raise _Unmappable(f"{fn} by a fractional scale, or to a computed size that is not a multiple")
        return _add(net, "upsample", name, p, [src], loc)
    if fn == "stochastic_depth":  # torchvision.ops.stochastic_depth(input, p, mode, training)
        return _add(net, "stochastic_depth", name, {"rate": float(_arg(node, 1, "p", 0.0))}, [src], loc)
    if fn == "dropout":
        return _add(net, "dropout", name, {"rate": float(_arg(node, 1, "p", 0.5))}, [src], loc)
    if fn in ("contiguous", "clone"):
        return src
    if fn == "_patch_merging_pad" and nhwc:  # torchvision's Swin: pad H, W to even, 2×2 neighbours to channels
        _, h, w, _ = in_shape
        if h % 2 or w % 2:
            src = _add(net, "zeropad", f"{name}.pad", {"padding": [0, h % 2, 0, w % 2]}, [src], loc)
        return _add(net, "space_to_depth", name, {"block": 2}, [src], loc)
    raise _Unmappable(f"{node.op} {fn}")


def _map_module(net: Net, node, m, name: str, ctx: "Ctx") -> str:
    cls = type(m).__name__
    names, loc = ctx.names, ctx.loc
    ins = [a for a in node.all_input_nodes if _is_tensor(a)]
    _set_part(node, [a for a in ins if names.get(a) != PARAM])
    rel = getattr(ctx.gm, "cnncalc_rel", {}).get(str(node.target))
    if rel is not None:  # MaxViT's attention (a leaf: its structure and forward checked)
        return _map_rel_attention(net, node, rel, name, ins, ctx)
    if node.meta["cnncalc_part"] is not None and cls not in MOD_PER_TOKEN:
        raise _Unmappable(f"{cls} on a map partitioned into groups of positions (MaxViT's blocks or grid)")
    nhwc = node.meta.get("cnncalc_nhwc", False)
    if nhwc and cls not in MOD_LAST_AXIS and cls not in ACTIVATIONS:
        raise _Unmappable(f"{cls} on a channels-last tensor (after permute)")
    srcs = [names[a] for a in ins]
    if PARAM in srcs:
        raise _Unmappable(f"{cls} of a parameter read in forward (get_attr)")
    if len(srcs) != 1:
        raise _Unmappable(f"{cls} called with {len(srcs)} tensors")
    if cls in PASS_THROUGH and ins[0].meta.get("cnncalc_state"):  # nn.Identity between views
        node.meta["cnncalc_state"] = ins[0].meta["cnncalc_state"]
        return srcs[0]
    if ins[0].meta.get("cnncalc_state"):
        raise _Unmappable(f"{cls} on a {_STATES[ins[0].meta['cnncalc_state'][0]]}")
    src = srcs[0]
    rank = len(net.shapes[src])  # cnncalc's: 3 a map H×W×C, 2 tokens L×C, 1 a vector
    if cls in PASS_THROUGH:
        return src
    helper = _helper(m)
    if helper is not None:
        return _map_helper(net, node, m, helper, name, src, ctx)
    if cls == "MultiheadAttention":
        return _map_attention(net, node, m, name, src, rank)
    if node.kwargs or len(node.args) != 1:
        raise _Unmappable(f"{cls} called with more than its input")
    if cls in ("Conv2d", "ConvTranspose2d"):
        if m.padding_mode != "zeros":
            raise _Unmappable(f"{cls} with padding_mode={m.padding_mode!r}")
        p: dict = {"filters": m.out_channels, "kernel": _one(m.kernel_size), "stride": _one(m.stride),
                   "dilation": _one(m.dilation), "groups": m.groups, "bias": m.bias is not None}
        p["padding"] = m.padding if isinstance(m.padding, str) else _one(m.padding)
        if cls == "ConvTranspose2d":
            op = _pair(m.output_padding)
            if any(op):
                p["output_padding"] = _one(m.output_padding)
            return _add(net, "conv_transpose", name, p, [src], loc)
        return _add(net, "conv", name, p, [src], loc)
    if cls == "Linear":
        if rank == 3 and not nhwc:
            raise _Unmappable("Linear on a feature map (not a vector, not channels-last)")
        return _add(net, "dense", name, {"units": m.out_features, "bias": m.bias is not None}, [src], loc)
    if cls in ("BatchNorm2d", "BatchNorm1d"):
        if rank == 2:
            raise _Unmappable(f"{cls} on tokens (it normalises PyTorch's dim 1, the sequence)")
        return _add(net, "batchnorm", name, {"affine": m.affine, "track_running_stats": m.track_running_stats,
                                           "eps": float(m.eps)}, [src], loc)
    if cls in ACTIVATIONS:
        return _add(net, ACTIVATIONS[cls], name, {}, [src], loc)
    if cls == "LayerNorm":
        c = net.shapes[src][-1]
        if (nhwc or rank < 3) and tuple(m.normalized_shape) == (c,):
            affine = bool(m.elementwise_affine)
            return _add(net, "layernorm", name, {"eps": float(m.eps), "affine": affine,
                                                 "bias": affine and m.bias is not None}, [src], loc)
        raise _Unmappable("LayerNorm not over the channels")
    if cls == "GELU":
        return _add(net, "gelu", name, {} if m.approximate == "none" else {"approximate": m.approximate}, [src], loc)
    if cls == "LeakyReLU":
        return _add(net, "leaky_relu", name, {"negative_slope": float(m.negative_slope)}, [src], loc)
    if cls == "ELU":
        return _add(net, "elu", name, {"alpha": float(m.alpha)}, [src], loc)
    if cls == "PReLU":
        return _add(net, "prelu", name, {"shared": m.num_parameters == 1}, [src], loc)
    if cls == "Softmax":
        if m.dim is None or m.dim % len(_torch_shape(node)) != _channel_axis(ins[0]) or nhwc:
            raise _Unmappable("Softmax not over the channels")
        return _add(net, "softmax", name, {}, [src], loc)
    if cls in ("MaxPool2d", "AvgPool2d"):
        p = {"kernel": _one(m.kernel_size), "stride": _one(m.stride or m.kernel_size), "padding": _one(m.padding),
             "ceil_mode": bool(m.ceil_mode)}
        if cls == "MaxPool2d":
            if m.return_indices:
                raise _Unmappable("MaxPool2d with return_indices")
            p["dilation"] = _one(m.dilation)
            return _add(net, "maxpool", name, p, [src], loc)
        if m.divisor_override is not None:
            raise _Unmappable("AvgPool2d with divisor_override")
        p["count_include_pad"] = bool(m.count_include_pad)
        return _add(net, "avgpool", name, p, [src], loc)
    if cls in ("AdaptiveAvgPool2d", "AdaptiveMaxPool2d"):
        size = _pair(m.output_size)
        if None in size:
            raise _Unmappable(f"{cls} keeping a size (None)")
        kind = "adaptive_avgpool" if "Avg" in cls else "adaptive_maxpool"
        return _add(net, kind, name, {"size": _one(m.output_size)}, [src], loc)
    if cls == "Flatten":
        if m.start_dim != 1 or m.end_dim != -1:
            raise _Unmappable("Flatten of dims other than 1…-1")
        return src if len(net.shapes[src]) == 1 else _add(net, "flatten", name, {}, [src], loc)
    if cls in ("Dropout", "Dropout2d", "AlphaDropout"):
        return _add(net, "dropout", name, {"rate": float(m.p)}, [src], loc)
    if cls == "LocalResponseNorm":
        return _add(net, "lrn", name, {"size": m.size, "alpha": float(m.alpha), "beta": float(m.beta),
                                     "k": float(m.k)}, [src], loc)
    if cls == "ZeroPad2d":
        left, right, top, bottom = m.padding
        return _add(net, "zeropad", name, {"padding": [top, bottom, left, right]}, [src], loc)
    if cls == "GroupNorm":
        return _add(net, "groupnorm", name, {"groups": m.num_groups, "eps": float(m.eps), "affine": m.affine},
                       [src], loc)
    if cls in ("PixelUnshuffle", "PixelShuffle"):
        block = m.downscale_factor if cls == "PixelUnshuffle" else m.upscale_factor
        return _add(net, "space_to_depth" if cls == "PixelUnshuffle" else "pixel_shuffle", name, {"block": block},
                    [src], loc)
    if cls == "ChannelShuffle" and isinstance(getattr(m, "groups", None), int):  # torch.nn's
        return _add(net, "channel_shuffle", name, {"groups": m.groups}, [src], loc)
    if cls == "Upsample":
        p = {"mode": m.mode}
        if m.align_corners:
            p["align_corners"] = True
        if m.size is not None:
            p["size"] = _one(m.size)
        elif m.scale_factor is not None:
            sf = _pair(m.scale_factor)
            if any(float(x) != int(x) for x in sf):
                raise _Unmappable("Upsample by a fractional scale")
            p["scale"] = _one([int(x) for x in sf])
        return _add(net, "upsample", name, p, [src], loc)
    raise _Unmappable(cls)




__all__ = ["read_torch", "build_module", "parse_source"]
