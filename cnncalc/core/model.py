"""Frozen data that crosses module boundaries.

Shapes are plain tuples of ints in H, W, C order (``(224, 224, 3)``) or ``(N,)`` for vectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

Shape = tuple  # tuple[int, ...]: (H, W, C) or (N,)


@dataclass(frozen=True)
class SourceLoc:
    file: str
    line: int  # 1-based
    col: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class LayerSpec:
    """One layer as written in a spec, after parameter validation, before shapes."""

    name: str
    type: str
    params: Mapping[str, Any]  # normalised by the layer type
    inputs: tuple  # names of input layers
    loc: Optional[SourceLoc] = None
    param_locs: Mapping[str, SourceLoc] = field(default_factory=dict)
    inputs_loc: Optional[SourceLoc] = None
    block: Optional[str] = None  # dotted path of the block instance that made it, if any
    chain: tuple = ()  # ((block, SourceLoc), ...) instantiation chain, for errors


@dataclass(frozen=True)
class Graph:
    """A DAG of layers in topological order; ``layers[0]`` is the input."""

    name: str
    input_shape: Shape
    layers: tuple  # tuple[LayerSpec, ...]
    source: str = "<spec>"
    meta: Mapping[str, Any] = field(default_factory=dict)  # expect/budget/... passed through

    @property
    def output(self) -> LayerSpec:
        return self.layers[-1]


@dataclass(frozen=True)
class Counts:
    """What one layer costs. MACs exclude bias additions."""

    weights: int = 0
    biases: int = 0
    non_trainable: int = 0
    macs: int = 0


@dataclass(frozen=True)
class Conventions:
    """Counting conventions: every one of them visible and named (REFERENCE.md)."""

    count_biases: bool = True  # params = weights + biases (PyTorch); False: weights only (CS231n)
    flops_per_mac: int = 2  # torch.utils.flop_counter
    dtype: str = "float32"
    batch: int = 1
    optimizer: Optional[str] = None  # sgd | momentum | adam: add training memory (cnncalc.core.training)
    # element-wise kinds added to the MACs, ((kind, factor), ...) (cnncalc.core.elementwise; --macs-include)
    macs_include: tuple = ()

    @property
    def bytes_per_value(self) -> int:
        return DTYPE_BYTES[self.dtype]


DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "float64": 8}


@dataclass(frozen=True)
class LayerResult:
    name: str
    type: str
    inputs: tuple
    output_shape: Shape
    weights: int
    biases: int
    non_trainable_params: int
    macs: int
    flops: int
    activations: int  # elements this layer adds to the activation count (0 for views)
    params: int  # as counted under the conventions (weights [+ biases])
    receptive_field: tuple  # (rh, rw); (1, 1) for vectors after flatten is meaningless: None
    jump: tuple
    warnings: tuple = ()  # tuple[cnncalc.core.warns.LayerWarning]
    spec: Optional[LayerSpec] = None
    depth: int = 0  # weight layers (conv, dense, …) on the longest path from the input to this layer's output
    covers_input: bool = False  # the field of every output position spans the whole input (H and W)
    # what the layer type's infer returned (cnncalc.layers.base.Out): its worked formulas are
    # written from it, never worked out again
    inferred: Any = field(default=None, compare=False, repr=False)
    parts: tuple = ()  # shapes of its named outputs NAME.0, NAME.1, … (split); () for one output
    # element-wise operations by kind (cnncalc.core.elementwise), zero kinds left out; ``macs``
    # includes those of Conventions.macs_include
    elementwise: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class Totals:
    params: int
    weights: int
    biases: int
    non_trainable_params: int
    macs: int
    flops: int
    activations: int
    param_bytes: int
    activation_bytes: int
    activation_bytes_fwd_bwd: int
    training: Optional["TrainingMemory"] = None  # with Conventions.optimizer
    depth: int = 0  # weight layers on the longest path (AlexNet 8, VGG16 16, GoogLeNet 22, ResNet-152 152)
    elementwise: Mapping = field(default_factory=dict)  # every kind of cnncalc.core.elementwise, summed
    mac_types: tuple = ()  # the layer types whose own multiply-accumulates the MACs hold, in order of first use


@dataclass(frozen=True)
class TrainingMemory:
    """Memory to train one step (cnncalc.core.training): every part in bytes."""

    optimizer: str
    param_bytes: int  # weights, biases and running statistics
    gradient_bytes: int  # one gradient per learnable parameter
    optimizer_state_bytes: int  # momentum: 1 value per learnable parameter, adam: 2
    activation_bytes: int  # forward activations kept for the backward pass, × batch

    @property
    def total(self) -> int:
        return self.param_bytes + self.gradient_bytes + self.optimizer_state_bytes + self.activation_bytes


@dataclass(frozen=True)
class Report:
    name: str
    input_shape: Shape
    layers: tuple  # tuple[LayerResult, ...]
    totals: Totals
    conventions: Conventions
    graph: Optional[Graph] = None
    warnings: tuple = ()  # graph-level warnings (e.g. jumps differing at a merge)

    @property
    def output_shape(self) -> Shape:
        return self.layers[-1].output_shape

    def to_dict(self) -> dict:
        """The report as plain data: the document ``--format json`` prints (README, JSON output)."""
        from ..render.json_ import report_dict

        return report_dict(self)

    def layer(self, name: str) -> LayerResult:
        """The row called ``name``; ``split1.0`` is part 0 of a split (its row with that part's shape)."""
        by_name = self.__dict__.get("_by_name")
        if by_name is None:  # built once: a lookup per input of every layer stays linear overall
            by_name = {r.name: r for r in self.layers}
            object.__setattr__(self, "_by_name", by_name)
        r = by_name.get(name)
        if r is not None:
            return r
        base, part = split_part(name)
        r = by_name.get(base) if base is not None else None
        if r is not None and part < len(r.parts):
            from dataclasses import replace

            return replace(r, name=name, output_shape=r.parts[part])
        raise KeyError(name)


def split_part(name: str) -> tuple:
    """``split1.0`` → ('split1', 0): a named output of a layer with several (split);
    (None, None) when the name does not end in ``.N``.

    >>> split_part("stage2.0.split.1"), split_part("conv1")
    (('stage2.0.split', 1), (None, None))
    """
    base, dot, tail = str(name).rpartition(".")
    if dot and base and tail.isdigit() and len(tail) < 6:
        return base, int(tail)
    return None, None
