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
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import re
import sys
import warnings
from typing import Any, Optional

from ..core.errors import InputError
from .common import ModelError, Net, channels_last_after, file_loc, unsupported


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
PARAM = "\x00parameter"  # what a get_attr node stands for (never a layer name: names are printable)
# what may run on a channels-last tensor (cnncalc's H×W×C): element-wise ops, the last axis
FN_LAST_AXIS = set(FN_ACTIVATIONS) | {"leaky_relu", "leaky_relu_", "add", "iadd", "add_", "mul", "imul", "mul_",
                                      "dropout", "stochastic_depth", "layer_norm", "permute", "contiguous", "clone"}
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
            gm = torch.fx.symbolic_trace(model)
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
    modules = dict(gm.named_modules())
    scopes: dict = {}  # module path → the tensor nodes its own forward makes
    for node in gm.graph.nodes:
        if node.op in ("call_function", "call_method") and _is_tensor(node) and \
                _fn_name(node) not in ("permute", "contiguous", "clone"):  # views: no layer of their own
            scopes.setdefault(_scope(node), []).append(node)
    inner = {(str(n.target) if n.op == "call_module" else _scope(n)) for n in gm.graph.nodes}
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
        if not _is_tensor(node):
            continue  # x.size(0) and the like: read by the op that uses them
        if node.op == "get_attr":  # a parameter read in forward: only a layer scale reads one
            names[node] = PARAM
            continue
        ins = [a for a in node.all_input_nodes if _is_tensor(a)]
        if any(a in poisoned for a in ins):
            poisoned.add(node)
            continue
        # channels-last (after permute(0, 2, 3, 1)): what reads it stays so, unless it permutes back
        node.meta["cnncalc_nhwc"] = any(a.meta.get("cnncalc_nhwc") for a in ins)
        try:
            mapped = _map(net, node, modules, names, loc)
        except _Unmappable as u:
            missing.append((_label(node), u.kind))
            poisoned.add(node)
            continue
        names[node] = mapped
        want = _hwc(node)
        if want is not None and mapped in net.shapes and net.shapes[mapped] != want:
            raise ModelError(f"cnncalc gives {_shape_text(net.shapes[mapped])} where PyTorch gives "
                             f"{_shape_text(want)}: this node is not mapped right", loc=loc, layer=_label(node))
    if missing:
        raise unsupported(missing, "PyTorch node", loc)
    outputs = [n for n in gm.graph.nodes if n.op == "output"]
    if outputs:
        result = outputs[0].args[0]
        if not hasattr(result, "op"):
            raise ModelError("the model's forward returns several tensors; cnncalc networks have one output",
                             loc=loc)
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
    s = _torch_shape(node)
    if len(s) == 4:
        return (s[1], s[2], s[3]) if node.meta.get("cnncalc_nhwc") else (s[2], s[3], s[1])
    if len(s) == 2:
        return (s[1],)
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


def _map(net: Net, node, modules: dict, names: dict, loc) -> str:
    """Add the layer for one node; its cnncalc name (a pass-through node: its input's)."""
    name = _label(node)
    if node.op == "call_module":
        return _map_module(net, node, modules[node.target], name, names, loc)
    if node.op not in ("call_function", "call_method"):
        raise _Unmappable(node.op)
    fn = _fn_name(node)
    tensors = [a for a in node.all_input_nodes if _is_tensor(a)]
    nhwc = node.meta.get("cnncalc_nhwc", False)
    if nhwc and fn not in FN_LAST_AXIS:
        raise _Unmappable(f"{fn} on a channels-last tensor (after permute)")
    params = [a for a in tensors if names.get(a) == PARAM]
    tensors = [a for a in tensors if names.get(a) != PARAM]
    if params and fn not in ("mul", "imul", "mul_", "layer_norm"):
        raise _Unmappable(f"{fn} of a parameter read in forward (get_attr)")
    src = names[tensors[0]] if tensors else None
    in_shape = _torch_shape(tensors[0]) if tensors else ()
    if fn == "permute":
        dims = node.args[1] if len(node.args) == 2 and isinstance(node.args[1], (list, tuple)) else \
            node.args[1:] or node.kwargs.get("dims")
        dims = tuple(dims or ())
        flipped = channels_last_after(dims, len(in_shape), nhwc)
        if flipped is not None:
            node.meta["cnncalc_nhwc"] = flipped  # the same H×W×C tensor for cnncalc
            return src
        raise _Unmappable(f"permute{list(dims)} (other than to channels-last and back)")
    if fn in ("mul", "imul", "mul_") and params:  # γ · x, one scale per channel: ConvNeXt's layer scale
        c = in_shape[-1] if nhwc else in_shape[1] if len(in_shape) > 1 else 0
        pshape = _torch_shape(params[0])
        if len(params) == 1 and len(tensors) == 1 and pshape in ((c,), (c, 1, 1), (1, c, 1, 1)):
            return _add(net, "layer_scale", name, {}, [src], loc)
        raise _Unmappable("a product with a parameter that is not one scale per channel")
    if fn == "layer_norm":
        shape_arg = tuple(_arg(node, 1, "normalized_shape") or ())
        weight, bias = _arg(node, 2, "weight"), _arg(node, 3, "bias")
        if (nhwc or len(in_shape) == 2) and shape_arg == (in_shape[-1],) and not (weight is None and bias is not None):
            return _add(net, "layernorm", name, {"eps": float(_arg(node, 4, "eps", 1e-5)), "affine": weight is not None,
                                                 "bias": bias is not None}, [src], loc)
        raise _Unmappable("layer_norm not over the channels")

    if fn in ("add", "iadd", "add_", "mul", "imul", "mul_"):
        a, b = node.args[0], node.args[1] if len(node.args) > 1 else node.kwargs.get("other")
        if not (hasattr(a, "op") and hasattr(b, "op") and _is_tensor(a) and _is_tensor(b)) or \
                node.kwargs.get("alpha", 1) != 1:
            raise _Unmappable(f"{fn} with a constant")
        kind = "add" if fn.startswith(("add", "iadd")) else "multiply"
        return _add(net, kind, name, {}, [names[a], names[b]], loc)
    if fn in ("cat", "concat", "concatenate"):
        parts = node.args[0] if node.args else node.kwargs.get("tensors")
        dim = _arg(node, 1, "dim", 0)
        if dim % len(in_shape) != 1:
            raise _Unmappable(f"{fn} not along the channels (dim={dim})")
        return _add(net, "concat", name, {}, [names[p] for p in parts], loc)
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
        if dim is None or dim % len(in_shape) != 1:
            raise _Unmappable("softmax not over the channels")
        return _add(net, "softmax", name, {}, [src], loc)
    if fn in ("flatten", "view", "reshape"):
        out = _torch_shape(node)
        start = _arg(node, 1, "start_dim", 0)
        flat_from_1 = fn != "flatten" or start in (1, -len(in_shape) + 1) or len(in_shape) == 2
        if len(out) == 2 and out[0] == 1 and flat_from_1:
            return src if len(in_shape) == 2 else _add(net, "flatten", name, {}, [src], loc)
        raise _Unmappable(f"{fn} to a shape other than N×D")
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
    raise _Unmappable(f"{node.op} {fn}")


def _map_module(net: Net, node, m, name: str, names: dict, loc) -> str:
    cls = type(m).__name__
    nhwc = node.meta.get("cnncalc_nhwc", False)
    if nhwc and cls not in MOD_LAST_AXIS and cls not in ACTIVATIONS:
        raise _Unmappable(f"{cls} on a channels-last tensor (after permute)")
    srcs = [names[a] for a in node.all_input_nodes if _is_tensor(a)]
    if PARAM in srcs:
        raise _Unmappable(f"{cls} of a parameter read in forward (get_attr)")
    if len(srcs) != 1:
        raise _Unmappable(f"{cls} called with {len(srcs)} tensors")
    src = srcs[0]
    if cls in PASS_THROUGH:
        return src
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
        if len(net.shapes[src]) != 1 and not nhwc:
            raise _Unmappable("Linear on a feature map (not a vector, not channels-last)")
        return _add(net, "dense", name, {"units": m.out_features, "bias": m.bias is not None}, [src], loc)
    if cls in ("BatchNorm2d", "BatchNorm1d"):
        return _add(net, "batchnorm", name, {"affine": m.affine, "track_running_stats": m.track_running_stats,
                                           "eps": float(m.eps)}, [src], loc)
    if cls in ACTIVATIONS:
        return _add(net, ACTIVATIONS[cls], name, {}, [src], loc)
    if cls == "LayerNorm":
        c = net.shapes[src][-1]
        if (nhwc or len(net.shapes[src]) == 1) and tuple(m.normalized_shape) == (c,):
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
        if m.dim is None or m.dim % len(_torch_shape(node)) != 1:
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
