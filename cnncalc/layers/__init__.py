"""The layer registry: one instance per layer type, looked up by name or alias."""

from __future__ import annotations

from ..core.errors import SpecError, clip, did_you_mean
from . import activations, attention, extra, norm, other, reshape, spatial, tokens, transposed
from .base import REQUIRED, Layer, Out, Param, ParamError, Warn

REGISTRY: dict = {}
ALIASES: dict = {}


def register(cls) -> type:
    """Add a layer type (a ``Layer`` subclass) to the registry; usable as a decorator."""
    layer = cls()
    if layer.type in REGISTRY or layer.type in ALIASES:
        raise ValueError(f"layer type {layer.type!r} registered twice")
    REGISTRY[layer.type] = layer
    for alias in layer.aliases:
        ALIASES[alias] = layer.type
    return cls


for _module in (spatial, activations, other, transposed, extra, norm, tokens, reshape, attention):
    for _cls in _module.LAYERS:
        register(_cls)


def unregister(layer_type: str) -> None:
    """Remove a layer type and its aliases (tests that register one of their own)."""
    layer = REGISTRY.pop(layer_type)
    for alias in layer.aliases:
        ALIASES.pop(alias, None)


def auto_name(kind: str, n: int) -> str:
    """The name of the n-th unnamed layer (or block instance) of a kind: ``conv3``."""
    return f"{kind}{n}"


def next_free_name(kind: str, counters: dict, taken) -> str:
    """The next ``auto_name`` of a kind not in ``taken`` (counting on from ``counters``)."""
    n = counters.get(kind, 0)
    while True:
        n += 1
        name = auto_name(kind, n)
        if name not in taken:
            counters[kind] = n
            return name


def canonical(name: str) -> str | None:
    key = str(name).strip().lower()
    if key in REGISTRY:
        return key
    return ALIASES.get(key)


def get(name: str, loc=None) -> Layer:
    """The layer type called ``name`` (or an alias of it); a SpecError with did-you-mean if none."""
    key = canonical(name)
    if key is None:
        known = list(REGISTRY) + list(ALIASES)
        raise SpecError(f"unknown layer type '{clip(str(name), 60)}'" + did_you_mean(str(name).lower(), known),
                        loc=loc)
    return REGISTRY[key]


__all__ = ["REGISTRY", "ALIASES", "register", "unregister", "canonical", "get", "auto_name", "next_free_name",
           "Layer", "Out", "Param", "ParamError", "Warn", "REQUIRED"]
