"""What every importer shares: a network being built layer by layer (shapes inferred by the
layer registry as it grows, so a reader can decide on shapes — an implicit flatten, a reshape
that is a flatten), the one error for unmapped layers, and the YAML writer.

An importer turns a model file into a :class:`Net`; :meth:`Net.to_yaml` writes the spec a
person would write (the model's own layer names, ``from:`` only where the graph branches,
sizes in H×W×C, one comment line saying where it came from).
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional

from ..core.errors import CnnCalcError, InputError, SpecError
from ..core.model import SourceLoc


class FileLoc(SourceLoc):
    """A location in a binary or JSON model file: the file only (the layer name says where)."""

    def __str__(self) -> str:
        return self.file


def file_loc(display: str) -> SourceLoc:
    return FileLoc(display, 1, 1)


class ModelError(SpecError):
    """A model file that cannot be read or mapped onto cnncalc's layer types."""


def unsupported(items: list, what: str, loc: SourceLoc, hint: str = "") -> ModelError:
    """One error naming every layer / op that has no cnncalc layer type.

    ``items`` holds (name, kind) pairs: the layer's name and its type in the model."""
    seen: dict = {}
    for name, kind in items:
        seen.setdefault(kind, []).append(name)
    parts = []
    for kind, names in seen.items():
        shown = ", ".join(repr(n) for n in names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        parts.append(f"{kind} ({shown})")
    n = len(items)
    return ModelError(f"{n} {what}{'s' if n != 1 else ''} cnncalc cannot count: " + "; ".join(parts)
                      + " — nothing was counted (no cnncalc layer type matches" + (f"; {hint}" if hint else "")
                      + ")", loc=loc)


# A channels-last stretch (torchvision's ConvNeXt: ``permute(0, 2, 3, 1)`` … LayerNorm / Linear …
# ``permute(0, 3, 1, 2)``; in ONNX a ``Transpose`` with those perms) is cnncalc's own H×W×C: the
# tensor is the same cnncalc layer, and only ops on the last axis or element by element may act on it.
TO_CHANNELS_LAST = (0, 2, 3, 1)
FROM_CHANNELS_LAST = (0, 3, 1, 2)


def channels_last_after(perm, rank: int, channels_last: bool) -> Optional[bool]:
    """Whether a tensor is channels-last after permuting it by ``perm``: the flipped layout when
    ``perm`` moves N×C×H×W to N×H×W×C (or back, on a channels-last tensor); None for any other
    permutation (no cnncalc layer is that)."""
    if rank == 4 and tuple(perm) == (FROM_CHANNELS_LAST if channels_last else TO_CHANNELS_LAST):
        return not channels_last
    return None


_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./\-]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def yaml_scalar(v: Any) -> str:
    """One value in YAML flow style, read back by cnncalc's loader as the same value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        r = repr(v)
        if "e" in r and "." not in r.split("e")[0]:  # PyYAML reads 1e-05 as a string: write 1.0e-05
            m, e = r.split("e")
            r = f"{m}.0e{e}"
        return r
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(yaml_scalar(x) for x in v) + "]"
    if v is None:
        return "null"
    s = str(v)
    if _PLAIN.match(s) and s.lower() not in _YAML_WORDS:
        return s
    return json.dumps(s, ensure_ascii=False)


class Net:
    """A network being imported: the input, then layers in a topological order."""

    def __init__(self, display: str, kind: str, name: str):
        self.display = display  # the file as the user named it
        self.kind = kind  # "Caffe prototxt", "ONNX", …
        self.name = name
        self.input_shape: Optional[tuple] = None
        self.layers: list = []  # dicts: type, name, params, inputs
        self.shapes: dict = {}  # layer name → output shape (H, W, C) or (N,)
        self.notes: list = []  # comment lines under the header
        self.counts: dict = {}  # layer name → its Counts (as the layer type infers them)

    # -- names
    def unique(self, name: str, fallback: str) -> str:
        name = str(name).strip() or fallback
        name = "".join(ch if ch.isprintable() else "_" for ch in name)[:150]
        if name == "input" or name in self.shapes:
            base, n = name, 1
            while f"{base}_{n}" in self.shapes or f"{base}_{n}" == "input":
                n += 1
            name = f"{base}_{n}"
        return name

    # -- building
    def set_input(self, shape: tuple) -> str:
        self.input_shape = tuple(int(x) for x in shape)
        if not self.input_shape or any(x < 1 for x in self.input_shape) or len(self.input_shape) not in (1, 3):
            raise ModelError(f"the input size must be H×W×C or N, all positive (received {self.input_shape}); "
                             "give it with --input HxWxC", loc=file_loc(self.display))
        self.shapes["input"] = self.input_shape
        return "input"

    def add(self, type_: str, name: str, params: dict, inputs: list, loc: Optional[SourceLoc] = None) -> str:
        """Add a layer; its output shape is inferred at once by the layer type (errors name the
        layer and where it is in the model file). Returns the layer's (unique) name."""
        from .. import layers as registry
        from ..layers.base import ParamError

        name = self.unique(name, type_)
        layer = registry.get(type_)
        where = loc or file_loc(self.display)
        p = {}
        try:
            for key, spec in layer.params.items():
                if key in params and params[key] is not None:
                    p[key] = spec.kind.check(params[key])
                elif spec.required:
                    raise ParamError(f"needs '{key}'")
                else:
                    p[key] = None if spec.default is None else spec.kind.check(spec.default)
            extra = set(params) - set(layer.params)
            if extra:
                raise ParamError(f"internal: unknown parameters {sorted(extra)} for {layer.type}")
            p = layer.configure(p)
        except ParamError as e:
            raise ModelError(f"{layer.type}: {e.message}", loc=where, layer=name,
                             received=None if e.received is None else str(e.received)) from None
        try:
            out = layer.infer([self.shapes[i] for i in inputs], p)
        except CnnCalcError as err:
            err.loc, err.layer = where, name
            raise
        self.layers.append({"type": layer.type, "name": name, "params": dict(params), "inputs": list(inputs)})
        self.shapes[name] = tuple(out.shape)
        self.counts[name] = out.counts
        for i, part in enumerate(out.parts or ()):  # several named outputs (split): NAME.0, NAME.1, …
            self.shapes[f"{name}.{i}"] = tuple(part)
        return name

    def drop(self, name: str) -> None:
        """Take back the layer just added (a reader's check of it failed)."""
        assert self.layers and self.layers[-1]["name"] == name
        self.layers.pop()
        self.shapes = {k: v for k, v in self.shapes.items() if k != name and not k.startswith(name + ".")}
        self.counts.pop(name, None)

    def note_once(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    # -- writing
    def head(self, how: str = "") -> list:
        """A written spec's first lines: where it came from (and ``how``), the notes, name and input."""
        shape = self.input_shape
        return ([f"# imported by cnncalc from {self.display} ({self.kind}){how}"] + [f"# {n}" for n in self.notes]
                + [f"name: {yaml_scalar(self.name)}",
                   f"input: {yaml_scalar(list(shape) if len(shape) == 3 else shape[0])}"])

    def to_yaml(self) -> str:
        if self.input_shape is None:
            raise InputError(f"{self.display}: the model has no input")
        if not self.layers:
            raise ModelError("the model has no layer cnncalc can show", loc=file_loc(self.display))
        lines = self.head() + ["layers:"]
        prev = "input"
        for layer in self.layers:
            items = [("name", layer["name"])]
            items += [(k, v) for k, v in layer["params"].items() if v is not None]
            ins = layer["inputs"]
            if ins != [prev]:
                items.append(("from", ins[0] if len(ins) == 1 else ins))
            body = ", ".join(f"{k}: {yaml_scalar(v)}" for k, v in items)
            lines.append(f"  - {layer['type']}: {{{body}}}")
            prev = layer["name"]
        return "\n".join(lines) + "\n"


def parse_input_size(text: Optional[str]) -> Optional[tuple]:
    """``--input 224x224x3`` → (224, 224, 3); None stays None."""
    if text is None:
        return None
    from ..layers.base import ParamError
    from ..core.sizes import parse_size

    try:
        return parse_size(text)
    except ParamError as e:
        raise InputError(f"--input {e.message}", received=repr(text)) from None
