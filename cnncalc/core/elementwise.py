"""Element-wise operations beside the MACs, by kind (README, "Counting conventions").

Each layer type declares its own counts (``Layer.elementwise`` in cnncalc/layers/); this module
holds the kinds, their one-line definitions, and the ``--macs-include`` rule that adds chosen
kinds (each with an integer factor) to the MAC total.
"""

from __future__ import annotations

from typing import Mapping

from .errors import CnnCalcError, did_you_mean

# kind -> what one counted operation is (README's table says the same, with the peers' names)
KINDS = {
    "bias": "one addition per output value of a layer with a bias (conv: H·W·K, dense: units per position)",
    "norm": "per output element of a normalisation layer: 2 when it has a learnable γ or β, else 1",
    "affine": "one per learnable γ and β of a normalisation layer (2·C for BatchNorm), once per layer",
    "act": "one per output element of an activation (a layer, or fused into a conv/dense)",
    "avgpool": "one per element of an average pooling layer's input",
    "maxpool": "one per element of a max pooling layer's input",
    "merge": "(inputs − 1) per output element of add and multiply; one per element of layer_scale",
    "softmax": "one per element softmax normalises (a softmax's output; heads·L² scores in attention)",
}
ORDER = tuple(KINDS)
GROUPS = {"all": ORDER, "pool": ("avgpool", "maxpool")}

EMPTY: Mapping[str, int] = {}


class MacsIncludeError(CnnCalcError):
    """A --macs-include value that names no kind (exit 2, one line)."""


def parse_include(text) -> tuple:
    """``--macs-include`` text → ((kind, factor), ...), each kind once, in ORDER.

    A kind may carry an integer factor, ``act*2`` (ptflops' default backend meets every ReLU
    twice); ``pool`` is avgpool and maxpool, ``all`` every kind once.

    >>> parse_include("norm,avgpool")
    (('norm', 1), ('avgpool', 1))
    >>> parse_include("bias, act*2, pool*2")
    (('bias', 1), ('act', 2), ('avgpool', 2), ('maxpool', 2))
    >>> parse_include("")
    ()
    """
    if text is None:
        return ()
    if isinstance(text, (tuple, list)):
        return tuple(text)
    factors: dict = {}
    for raw in str(text).split(","):
        item = raw.strip().lower()
        if not item:
            continue
        name, star, fac = item.replace("×", "*").partition("*")
        name = name.strip()
        factor = 1
        if star:
            fac = fac.strip()
            if not fac.isdigit() or len(fac) > 6 or int(fac) < 1:
                raise MacsIncludeError(f"--macs-include: the factor of {name!r} must be a whole number ≥ 1",
                                       received=raw.strip())
            factor = int(fac)
        if name in GROUPS:
            kinds = GROUPS[name]
        elif name in KINDS:
            kinds = (name,)
        else:
            known = list(KINDS) + list(GROUPS)
            raise MacsIncludeError(f"--macs-include: unknown kind {name!r}; the kinds are "
                                   + ", ".join(known) + did_you_mean(name, known), received=raw.strip())
        for k in kinds:
            if k in factors:
                raise MacsIncludeError(f"--macs-include: kind {k!r} given twice", received=str(text))
            factors[k] = factor
    return tuple((k, factors[k]) for k in ORDER if k in factors)


def added(ew: Mapping[str, int], include: tuple) -> int:
    """What the included kinds add to one layer's (or the totals') MACs."""
    if not include or not ew:
        return 0
    return sum(ew.get(k, 0) * f for k, f in include)


def include_text(include: tuple) -> str:
    """'bias + act×2' — the included kinds as the table footer and JSON name them."""
    return " + ".join(k if f == 1 else f"{k}×{f}" for k, f in include)
