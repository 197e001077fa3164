"""Keras models → a cnncalc network, from the model's configuration alone (no TensorFlow, no
Keras): a ``.keras`` zip (its ``config.json``), a model JSON config (``model.to_json()``), or an
``.h5`` file's ``model_config`` attribute (read with ``h5py``, an optional extra).

Both layouts: Keras 3 (``batch_shape``, ``inbound_nodes: [{"args": [keras tensors]}]``) and
Keras 2 (``batch_input_shape``, ``inbound_nodes: [[["layer", 0, 0, {}]]]``); Sequential and
Functional models. Layers without a cnncalc type are named in one error: nothing is counted as
zero in silence.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Optional

from ..core.errors import CnnCalcError, InputError
from .common import ModelError, Net, file_loc, unsupported

MAX_CONFIG_BYTES = 64 << 20

ACTIVATIONS = {"relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax",
               "elu": "elu", "selu": "selu", "softplus": "softplus", "swish": "silu", "silu": "silu",
               "gelu": "gelu", "hard_sigmoid": "hardsigmoid", "hard_silu": "hardswish", "hard_swish": "hardswish",
               "mish": "mish", "leaky_relu": "leaky_relu", "linear": None}


def _read_config(path: Path, display: str) -> Any:
    suffix = path.suffix.lower()
    try:
        if suffix == ".keras":
            try:
                with zipfile.ZipFile(path) as z:
                    names = z.namelist()
                    if "config.json" not in names:
                        raise ModelError("not a Keras model: the .keras zip holds no config.json",
                                         loc=file_loc(display))
                    info = z.getinfo("config.json")
                    if info.file_size > MAX_CONFIG_BYTES:
                        raise ModelError(f"config.json is {info.file_size:,} bytes, over the "
                                         f"{MAX_CONFIG_BYTES:,}-byte limit", loc=file_loc(display))
                    raw = z.read("config.json")
            except (zipfile.BadZipFile, EOFError) as e:
                raise ModelError(f"not a Keras .keras file (a zip archive): {e}", loc=file_loc(display)) from None
            text = raw.decode("utf-8", "replace")
        elif suffix in (".h5", ".hdf5"):
            try:
                import h5py
            except ImportError:
                raise InputError(f"{display}: reading .h5 files needs h5py (pip install h5py); or save the model "
                                 "as .keras") from None
            try:
                with h5py.File(path, "r") as f:
                    attr = f.attrs.get("model_config")
            except OSError as e:
                raise ModelError(f"not an HDF5 file h5py can open ({e})", loc=file_loc(display)) from None
            if attr is None:
                raise ModelError("the .h5 file holds no model_config (weights only? save the whole model)",
                                 loc=file_loc(display))
            text = attr.decode("utf-8", "replace") if isinstance(attr, bytes) else str(attr)
        else:
            from ..load import read_text

            text = read_text(path, display)
    except CnnCalcError:
        raise
    except OSError as e:
        raise InputError(f"{display}: cannot read ({e.strerror or e})") from None
    from ..core.limits import MAX_INT_DIGITS

    def whole(digits: str) -> int:  # an integer of a model's config: at most MAX_INT_DIGITS digits
        if len(digits.lstrip("-")) > MAX_INT_DIGITS:
            raise ValueError(f"an integer of {len(digits.lstrip('-')):,} digits is over the limit of "
                             f"{MAX_INT_DIGITS} digits (MAX_INT_DIGITS)")
        return int(digits)

    try:
        return json.loads(text, parse_int=whole)
    except (ValueError, RecursionError) as e:
        line, col = getattr(e, "lineno", 1), getattr(e, "colno", 1)
        if str(e).startswith("an integer of"):  # where the long integer is
            import re

            at = re.search(r"\d{%d}" % (MAX_INT_DIGITS + 1), text)
            if at:
                line = text.count("\n", 0, at.start()) + 1
                col = at.start() - text.rfind("\n", 0, at.start())
            from ..core.model import SourceLoc

            raise ModelError(str(e), loc=SourceLoc(display, line, col) if suffix == ".json" else file_loc(display)) \
                from None
        from ..core.model import SourceLoc

        raise ModelError(f"not JSON: {getattr(e, 'msg', str(e))}",
                         loc=SourceLoc(display, line, col) if suffix == ".json" else file_loc(display)) from None


def _model_parts(doc: Any, display: str):
    """(class name, model name, layer list, model config) from the top of a config."""
    if not isinstance(doc, dict) or "class_name" not in doc:
        raise ModelError("not a Keras model config (no 'class_name' at the top)", loc=file_loc(display))
    cls = doc["class_name"]
    cfg = doc.get("config")
    if cls not in ("Sequential", "Functional", "Model"):
        raise ModelError(f"not a Keras model: the top is a {cls!r}, not a Sequential or Functional model",
                         loc=file_loc(display))
    if isinstance(cfg, list):  # Keras 2.0 Sequential: the layer list itself
        return cls, None, cfg, {}
    if not isinstance(cfg, dict) or not isinstance(cfg.get("layers"), list):
        raise ModelError("the model config has no 'layers' list", loc=file_loc(display))
    return cls, cfg.get("name"), cfg["layers"], cfg


def _shape_of(batch_shape, display, lname) -> Optional[tuple]:
    if not isinstance(batch_shape, (list, tuple)) or len(batch_shape) < 2:
        return None
    dims = list(batch_shape[1:])
    if any(d is None for d in dims):
        return None
    if len(dims) not in (1, 3):
        raise ModelError(f"an input of rank {len(dims)} (cnncalc reads H×W×C images or vectors)",
                         loc=file_loc(display), layer=lname, received=str(batch_shape))
    return tuple(int(d) for d in dims)


def _input_shape_of(layer_cfg: dict) -> Any:
    for key in ("batch_shape", "batch_input_shape"):
        if layer_cfg.get(key) is not None:
            return layer_cfg[key]
    if layer_cfg.get("input_shape") is not None:
        return [None] + list(layer_cfg["input_shape"])
    return None


def _inbound(layer: dict) -> list:
    """The names of the layers a Functional layer reads (its first call), in order, and how many
    times the layer is called."""
    nodes = layer.get("inbound_nodes") or []
    if not nodes:
        return [], 0
    node = nodes[0]
    names: list = []

    def walk(x):
        if isinstance(x, dict):
            if x.get("class_name") == "__keras_tensor__":
                names.append(x["config"]["keras_history"][0])
            elif "keras_history" in x:
                names.append(x["keras_history"][0])
            else:
                for v in x.values():
                    walk(v)
        elif isinstance(x, (list, tuple)):
            if len(x) >= 3 and isinstance(x[0], str) and isinstance(x[1], int) and isinstance(x[2], int):
                names.append(x[0])  # Keras 2: [layer, node index, tensor index, kwargs]
            else:
                for v in x:
                    walk(v)

    if isinstance(node, dict):  # Keras 3
        walk(node.get("args", []))
    else:
        walk(node)
    return names, len(nodes)


def _act(value) -> Any:
    """An activation as configured (a name, or Keras 3's serialized function) → its name."""
    if isinstance(value, dict):
        inner = value.get("config")
        value = inner if isinstance(inner, str) else value.get("class_name")
    return value


def _pair(v):
    if isinstance(v, (list, tuple)):
        v = list(v)
        return v[0] if len(v) == 2 and v[0] == v[1] else v
    return v


class NotKeras(Exception):
    """A ``.json`` file that is a cnncalc spec written in JSON (YAML reads JSON), not a Keras model."""


def read_keras(path: Path, display: str, size: Optional[tuple]) -> Net:
    doc = _read_config(path, display)
    try:
        return _read(doc, path, display, size)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, ArithmeticError) as e:
        raise ModelError(f"the Keras config cannot be read ({type(e).__name__}: {e})", loc=file_loc(display)) \
            from None


def _read(doc, path: Path, display: str, size: Optional[tuple]) -> Net:
    if (path.suffix.lower() == ".json" and isinstance(doc, dict) and "class_name" not in doc
            and "model_config" not in doc):
        raise NotKeras(display)
    if isinstance(doc, dict) and "model_config" in doc and "class_name" not in doc:
        doc = doc["model_config"]  # a training config saved beside the model
    cls, mname, layers, cfg = _model_parts(doc, display)
    net = Net(display, f"Keras {cls} model config", str(mname or path.stem))
    dict_layers = [lay for lay in layers if isinstance(lay, dict)]
    nodes = [n for lay in dict_layers for n in (lay.get("inbound_nodes") or [])]
    cfgs = [lay.get("config") if isinstance(lay.get("config"), dict) else {} for lay in dict_layers]
    if any(isinstance(n, dict) for n in nodes) or any("batch_shape" in c for c in cfgs):
        version = "Keras 3"
    elif nodes or any("batch_input_shape" in c for c in cfgs):
        version = "Keras 2"
    else:
        version = None
    net.kind = f"Keras {cls}" + (f", {version} layout" if version else "")
    missing: list = []
    out = _walk(net, cls, layers, cfg, display, size, missing, "", None, 0)
    if missing:
        raise unsupported(missing, "Keras layer", file_loc(display))
    if net.input_shape is None:
        raise ModelError("the model has no InputLayer", loc=file_loc(display))
    if out is not None and net.layers and out != net.layers[-1]["name"]:
        net.notes.append(f"the model's output is layer {out}")
    return net


MODELS = ("Sequential", "Functional", "Model")


def _walk(net: Net, cls: str, layers: list, cfg: dict, display: str, size: Optional[tuple], missing: list,
          prefix: str, entry: Optional[str], depth: int) -> Optional[str]:
    """Add the layers of a (sub)model; ``entry`` is the cnncalc layer feeding a nested model
    (None at the top, where the input comes from the model). Nested models are flattened, their
    layers named ``model.layer``. Returns the layer holding the model's output."""
    if depth > 32:
        raise ModelError("models nested more than 32 deep", loc=file_loc(display))
    where: dict = {}  # Keras layer name → cnncalc layer name holding its output
    sequential = cls == "Sequential"
    prev = entry
    if sequential and entry is None:
        shape = size
        first = layers[0] if layers and isinstance(layers[0], dict) else {}
        if shape is None:
            raw = _input_shape_of(first.get("config") or {}) if first else None
            if raw is None and cfg.get("build_input_shape") is not None:
                raw = cfg["build_input_shape"]
            shape = _shape_of(raw, display, "input")
        if shape is None:
            raise ModelError("the model's input size is not fixed (None in its shape, or not built): give "
                             "--input HxWxC", loc=file_loc(display))
        prev = net.set_input(shape)
    done_names: set = set()
    for layer in layers:
        if not isinstance(layer, dict) or not isinstance(layer.get("config"), dict):
            raise ModelError("a layer entry is not a mapping with a 'config'", loc=file_loc(display))
        kcls = layer.get("class_name")
        lcfg = layer["config"]
        lname = str(layer.get("name") or lcfg.get("name") or kcls)
        if kcls == "InputLayer":
            done_names.add(lname)
            if sequential:
                continue
            if entry is not None:
                if where:
                    missing.append((prefix + lname, "a second input of a nested model"))
                where[lname] = entry
                continue
            if net.input_shape is not None:
                missing.append((lname, "a second InputLayer (cnncalc networks have one input)"))
                continue
            shape = size or _shape_of(_input_shape_of(lcfg), display, lname)
            if shape is None:
                raise ModelError("the input size is not fixed (None in its shape): give --input HxWxC",
                                 loc=file_loc(display), layer=lname)
            where[lname] = net.set_input(shape)
            continue
        nested = kcls in MODELS and isinstance(lcfg.get("layers"), list)
        if sequential:
            ins = [prev]
        else:
            names, calls = _inbound(layer)
            if calls > 1:
                missing.append((prefix + lname, f"{kcls} applied {calls} times (shared layer)"))
                continue
            if any(n not in where for n in names):
                if any(n not in done_names for n in names):
                    raise ModelError("the layer reads a layer defined after it, or none: "
                                     + ", ".join(n for n in names if n not in done_names),
                                     loc=file_loc(display), layer=prefix + lname)
                done_names.add(lname)  # behind an unsupported layer
                if not nested and _supported(kcls, lcfg) is not True:
                    missing.append((prefix + lname, _label(kcls, lcfg)))
                continue
            ins = [where[n] for n in names]
            if not ins:
                raise ModelError("the layer reads no input", loc=file_loc(display), layer=prefix + lname)
        done_names.add(lname)
        if nested:
            if len(ins) != 1:
                missing.append((prefix + lname, f"a nested {kcls} model with {len(ins)} inputs"))
                continue
            sub_in = ins[0] if ins[0] is not None and not missing else None
            if sub_in is None:  # still look for unsupported layers inside, without building
                _check_only(lcfg["layers"], prefix + lname + ".", missing)
                prev = None
                continue
            out = _walk(net, kcls, lcfg["layers"], lcfg, display, None, missing, prefix + lname + ".", sub_in,
                        depth + 1)
            where[lname] = out
            prev = out
            continue
        ok = _supported(kcls, lcfg)
        if ok is not True or missing:
            if ok is not True:
                missing.append((prefix + lname, _label(kcls, lcfg)))
            prev = None  # later layers cannot be built; keep checking that they are supported
            continue
        if sequential and prev is None:
            continue
        try:
            out = _build(net, kcls, lcfg, prefix + lname, ins)
        except CnnCalcError as err:
            raise err.located(loc=file_loc(display), layer=prefix + lname) from None
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, ArithmeticError) as e:
            raise ModelError(f"this {kcls} layer's config cannot be read ({type(e).__name__}: {e})",
                             loc=file_loc(display), layer=prefix + lname) from None
        if out is None:
            missing.append((prefix + lname, f"{kcls} ({REFUSED.get(kcls, 'this configuration')})"))
            prev = None
            continue
        where[lname] = out
        prev = out
    if sequential:
        return prev
    outs = cfg.get("output_layers")
    if isinstance(outs, list) and outs:
        first = outs[0] if isinstance(outs[0], list) else outs
        if isinstance(outs[0], list) and len(outs) > 1 and entry is None:
            net.notes.append(f"the model has {len(outs)} outputs; the spec's output is the last layer")
        out_name = first[0] if first and isinstance(first[0], str) else None
        if out_name in where:
            return where[out_name]
    return net.layers[-1]["name"] if net.layers else None


def _check_only(layers: list, prefix: str, missing: list) -> None:
    """Name the unsupported layers of a nested model that cannot be built."""
    for layer in layers:
        if isinstance(layer, dict) and isinstance(layer.get("config"), dict):
            kcls, lcfg = layer.get("class_name"), layer["config"]
            lname = prefix + str(layer.get("name") or lcfg.get("name") or kcls)
            if kcls in MODELS and isinstance(lcfg.get("layers"), list):
                _check_only(lcfg["layers"], lname + ".", missing)
            elif kcls != "InputLayer" and _supported(kcls, lcfg) is not True:
                missing.append((lname, _label(kcls, lcfg)))


REFUSED = {  # why a mapped layer can still be refused once shapes are known
    "LayerScale": "projection_dim other than the input's channels",
    "ReLU": "a max_value other than 6", "Reshape": "to a shape other than H×W×C or N",
    "UpSampling2D": "interpolation other than nearest or bilinear",
}
_SIMPLE = {"Flatten", "Dropout", "SpatialDropout2D", "Add", "Multiply", "Activation", "ReLU", "LeakyReLU", "ELU",
           "Softmax", "PReLU", "ZeroPadding2D", "Concatenate", "Reshape", "UpSampling2D", "Identity",
           "Conv2D", "Convolution2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D", "Dense",
           "BatchNormalization", "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D",
           "GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalMaxPooling2D", "GlobalMaxPool2D",
           "Rescaling", "Normalization", "LayerNormalization", "LayerScale"}


def _last_axis(axis) -> bool:
    """Keras's ``axis`` of a per-channel layer: -1 or 3 (channels last), alone or in a list."""
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    return axis in (-1, 3)


def _label(kcls: str, cfg: dict) -> str:
    why = _supported(kcls, cfg)
    return kcls if why in (True, False) else f"{kcls} ({why})"


def _supported(kcls: str, cfg: dict) -> Any:
    """True, False (no cnncalc type) or a reason this configuration cannot be mapped."""
    if kcls not in _SIMPLE:
        return False
    if cfg.get("data_format") == "channels_first":
        return "channels_first"
    act = _act(cfg.get("activation"))
    if act is not None and act not in ACTIVATIONS:
        return f"activation {act!r}"
    if kcls == "BatchNormalization":
        axis = cfg.get("axis", -1)
        axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
        if axis not in (-1, 3):
            return f"axis {axis}"
    if kcls == "Rescaling" and not all(isinstance(cfg.get(k, 0.0), (int, float)) for k in ("scale", "offset")):
        return "a scale or offset per channel"
    if kcls in ("Normalization", "LayerNormalization") and not _last_axis(cfg.get("axis", -1)):
        return f"axis {cfg.get('axis')}"
    if kcls == "LayerNormalization" and cfg.get("rms_scaling"):
        return "rms_scaling"
    if kcls == "Concatenate" and cfg.get("axis", -1) not in (-1, 3):
        return f"axis {cfg.get('axis')}"
    if kcls == "PReLU" and sorted(cfg.get("shared_axes") or []) != [1, 2]:
        return "an α per position; cnncalc's prelu is shared or per channel (shared_axes [1, 2])"
    if kcls == "ReLU" and (cfg.get("threshold") or 0) != 0:
        return "threshold"
    if kcls == "ReLU" and cfg.get("max_value") not in (None, 6, 6.0):
        return f"max_value {cfg.get('max_value')}"
    if kcls == "Softmax" and cfg.get("axis", -1) not in (-1, [-1]):
        return f"axis {cfg.get('axis')}"
    if kcls in ("Conv2D", "Convolution2D") and cfg.get("padding") == "causal":
        return "causal padding"
    return True


def _build(net: Net, kcls: str, cfg: dict, lname: str, ins: list) -> Optional[str]:
    src = ins[0]
    act = ACTIVATIONS.get(_act(cfg.get("activation")))
    fused = {"activation": act} if act else {}
    if kcls in ("Conv2D", "Convolution2D", "Conv2DTranspose"):
        p = {"filters": cfg["filters"], "kernel": _pair(cfg["kernel_size"]), "stride": _pair(cfg.get("strides", 1)),
             "padding": cfg.get("padding", "valid"), "dilation": _pair(cfg.get("dilation_rate", 1))}
        if kcls == "Conv2DTranspose":
            if cfg.get("output_padding") is not None:
                p["output_padding"] = _pair(cfg["output_padding"])
        elif cfg.get("groups", 1) != 1:
            p["groups"] = cfg["groups"]
        if not cfg.get("use_bias", True):
            p["bias"] = False
        return net.add("conv" if kcls != "Conv2DTranspose" else "conv_transpose", lname, {**_tidy(p), **fused},
                       [src])
    if kcls in ("DepthwiseConv2D", "SeparableConv2D"):
        p = {"kernel": _pair(cfg["kernel_size"]), "stride": _pair(cfg.get("strides", 1)),
             "padding": cfg.get("padding", "valid"), "dilation": _pair(cfg.get("dilation_rate", 1)),
             "multiplier": cfg.get("depth_multiplier", 1)}
        if kcls == "SeparableConv2D":
            p = {"filters": cfg["filters"], **p}
        if not cfg.get("use_bias", True):
            p["bias"] = False
        return net.add("depthwise" if kcls == "DepthwiseConv2D" else "separable_conv", lname, {**_tidy(p), **fused},
                       [src])
    if kcls == "Dense":  # on H×W×C (or tokens) it acts on the last axis, as cnncalc's dense does
        p = {"units": cfg["units"]}
        if not cfg.get("use_bias", True):
            p["bias"] = False
        return net.add("dense", lname, {**p, **fused}, [src])
    if kcls == "BatchNormalization":  # center: learnable β, scale: learnable γ (InceptionV3: scale=False)
        center, scale = bool(cfg.get("center", True)), bool(cfg.get("scale", True))
        p = {"affine": False} if not (center or scale) else {k: False for k, on in
                                                            (("center", center), ("scale", scale)) if not on}
        return net.add("batchnorm", lname, p, [src])
    if kcls == "Rescaling":
        return net.add("rescaling", lname, {"scale": cfg.get("scale", 1.0), "offset": cfg.get("offset", 0.0)}, [src])
    if kcls == "Normalization":  # adapted: mean, variance and count stored; given as constants: nothing
        p = {"adapted": cfg.get("mean") is None}
        if cfg.get("invert"):
            p["invert"] = True
        return net.add("normalization", lname, p, [src])
    if kcls == "LayerNormalization":
        p = {"eps": cfg.get("epsilon", 1e-3)}
        for key in ("center", "scale"):
            if not cfg.get(key, True):
                p[key] = False
        return net.add("layernorm", lname, p, [src])
    if kcls == "LayerScale":  # keras.applications.convnext's: one learnable scale per channel
        if cfg.get("projection_dim") not in (None, net.shapes[src][-1]):
            return None
        return net.add("layer_scale", lname, {"init": cfg.get("init_values", 1e-6)}, [src])
    if kcls in ("MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D"):
        k = _pair(cfg.get("pool_size", 2))
        s = _pair(cfg.get("strides") if cfg.get("strides") is not None else cfg.get("pool_size", 2))
        p = {"kernel": k, "stride": s}
        if cfg.get("padding", "valid") != "valid":
            p["padding"] = cfg["padding"]
        return net.add("maxpool" if kcls.startswith("Max") else "avgpool", lname, p, [src])
    if kcls.startswith("Global"):
        kind = "avg" if "Av" in kcls else "max"
        if cfg.get("keepdims"):
            return net.add(f"adaptive_{kind}pool", lname, {"size": 1}, [src])
        return net.add(f"global_{kind}pool", lname, {}, [src])
    if kcls == "Flatten":
        return net.add("flatten", lname, {}, [src])
    if kcls in ("Dropout", "SpatialDropout2D"):
        return net.add("dropout", lname, {"rate": cfg.get("rate", 0.5)}, [src])
    if kcls == "Activation":
        return net.add(act or "identity", lname, {}, [src])
    if kcls == "ReLU":
        slope = cfg.get("negative_slope") or 0
        if cfg.get("max_value") in (6, 6.0) and not slope:
            return net.add("relu6", lname, {}, [src])
        if cfg.get("max_value") is not None:
            return None
        if slope:
            return net.add("leaky_relu", lname, {"negative_slope": slope}, [src])
        return net.add("relu", lname, {}, [src])
    if kcls == "LeakyReLU":
        slope = cfg.get("negative_slope", cfg.get("alpha", 0.3))
        return net.add("leaky_relu", lname, {"negative_slope": slope}, [src])
    if kcls == "ELU":
        return net.add("elu", lname, {"alpha": cfg.get("alpha", 1.0)}, [src])
    if kcls == "Softmax":
        return net.add("softmax", lname, {}, [src])
    if kcls == "PReLU":
        return net.add("prelu", lname, {"shared": False}, [src])
    if kcls == "ZeroPadding2D":
        pad = cfg.get("padding", 1)
        if isinstance(pad, int):
            pads = [pad] * 4
        elif all(isinstance(x, int) for x in pad):
            pads = [pad[0], pad[0], pad[1], pad[1]]
        else:
            pads = [pad[0][0], pad[0][1], pad[1][0], pad[1][1]]
        return net.add("zeropad", lname, {"padding": pads[0] if len(set(pads)) == 1 else pads}, [src])
    if kcls == "Add":
        return net.add("add", lname, {}, ins)
    if kcls == "Multiply":
        return net.add("multiply", lname, {}, ins)
    if kcls == "Concatenate":
        return net.add("concat", lname, {}, ins) if len(ins) > 1 else src
    if kcls == "Reshape":
        target = list(cfg.get("target_shape") or [])
        if len(target) not in (1, 3) or any(not isinstance(d, int) for d in target):
            return None
        if -1 in target:
            total = 1
            for d in net.shapes[src]:
                total *= d
            known = 1
            for d in target:
                known *= d if d != -1 else 1
            target[target.index(-1)] = total // known if known else 0
        return net.add("reshape", lname, {"shape": target if len(target) == 3 else target[0]}, [src])
    if kcls == "UpSampling2D":
        mode = cfg.get("interpolation", "nearest")
        if mode not in ("nearest", "bilinear"):
            return None
        p = {"scale": _pair(cfg.get("size", 2))}
        if mode != "nearest":
            p["mode"] = mode
        return net.add("upsample", lname, p, [src])
    if kcls == "Identity":
        return net.add("identity", lname, {}, [src])
    return None


def _tidy(p: dict) -> dict:
    """Leave out parameters at their defaults, so the spec reads like one written by hand."""
    defaults = {"stride": 1, "dilation": 1, "padding": "valid", "multiplier": 1}
    return {k: v for k, v in p.items() if defaults.get(k, object()) != v}
