"""``cnncalc export SPEC --to pytorch|keras``: a spec written as a self-contained Python module
that builds the network (imports torch, or keras; never cnncalc).

What each layer type is in PyTorch or Keras is the layer type's own knowledge (``Layer.torch``,
``Layer.keras`` in cnncalc.layers: data, no framework import); the generators here
(``pytorch.py``, ``keras.py``) only write that data as code, with the graph's connections. A
layer whose type has no construct for the target is refused in one line naming the file, the
layer and its type (exit 2): nothing is dropped in silence.
"""

from __future__ import annotations

import keyword
import re

from ..core.errors import SpecError

TARGETS = ("pytorch", "keras")
TARGET_NAMES = {"pytorch": "PyTorch", "keras": "Keras"}


def export(graph, report, target: str, source: str) -> str:
    """The Python module for ``graph`` (analysed as ``report``) in ``target``; ``source`` is
    the spec as the user named it (for the module's first line)."""
    if target == "pytorch":
        from .pytorch import generate
    else:
        from .keras import generate
    return generate(graph, report, source)


def constructs(graph, report, target: str):
    """[(LayerSpec, its input shapes, its constructs)] for every layer after the input; a
    SpecError naming the first layer whose type has no construct for ``target``."""
    from ..layers import REGISTRY, Layer

    shapes = {}
    for r in report.layers:
        shapes[r.name] = r.output_shape
        for i, part in enumerate(r.parts):
            shapes[f"{r.name}.{i}"] = part
    out = []
    for spec in graph.layers[1:]:
        ins = [shapes[n] for n in spec.inputs]
        layer = REGISTRY[spec.type]
        made = getattr(layer, "torch" if target == "pytorch" else "keras")(dict(spec.params), list(ins))
        if made is None:
            hook = "torch" if target == "pytorch" else "keras"
            some = getattr(type(layer), hook) is not getattr(Layer, hook)  # the type has one for other parameters
            raise SpecError(f"{TARGET_NAMES[target]} has no construct for layer type '{spec.type}'"
                            + (" with these parameters" if some else "")
                            + f": cnncalc export --to {target} cannot write it", loc=spec.loc, layer=spec.name)
        out.append((spec, ins, tuple(made)))
    return out


_START = re.compile(r"^[^A-Za-z_]")
_BAD = re.compile(r"[^0-9A-Za-z_]")


def identifiers(names, reserved=()) -> dict:
    """A Python identifier for each name, unique and not in ``reserved``: ``layer1.0.conv1`` →
    ``layer1_0_conv1``, ``7x7`` → ``l_7x7``, ``class`` → ``class_``."""
    taken = set(reserved)
    out = {}
    for name in names:
        ident = _BAD.sub("_", str(name))  # ASCII only: a module anyone can read and type
        if not ident or _START.match(ident):
            ident = "l_" + ident
        if keyword.iskeyword(ident) or keyword.issoftkeyword(ident):
            ident += "_"
        base, n = ident, 1
        while ident in taken:
            n += 1
            ident = f"{base}_{n}"
        taken.add(ident)
        out[name] = ident
    return out


def class_name(name: str) -> str:
    """``resnet50`` → ``Resnet50``, ``keras_efficientnet_b0`` → ``KerasEfficientnetB0``."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", str(name)) if p]
    text = "".join(p[:1].upper() + p[1:] for p in parts) or "Net"
    return "Net" + text if text[0].isdigit() else text


def uses(graph) -> dict:
    """name (or NAME.i of a split) → indices of the layers that read it."""
    used: dict = {}
    for i, spec in enumerate(graph.layers):
        for n in spec.inputs:
            used.setdefault(n, []).append(i)
    return used


def shape_text(shape) -> str:
    return "×".join(str(x) for x in shape)


def figures(report) -> str:
    t = report.totals
    text = f"{t.params:,} params"
    if t.non_trainable_params:
        text += f" + {t.non_trainable_params:,} non-trainable"
    return text + f", {t.macs:,} MACs"
