"""Warnings as data: a kind, the figures it is about, and the layer that raised it.

Layers and the analysis create these; code that decides something (``--strict``, the
``valid`` figure of ``expect:`` and of exam sheets) asks for the kind, never for words. The
words are written in one place, cnncalc.render.warnings (``str(w)`` goes there).

Kinds and their data:

- ``misfit``: an output size that does not divide; an error under ``--strict``. ``axis`` ("H",
  "W" or "H and W"), ``size`` W, ``kernel`` F_eff, ``pad_before``, ``pad_after``, ``stride`` S,
  ``exact`` (the Fraction (W − F_eff + P)/S + 1) and ``floored`` (the size used).
- ``padding``: pooling padding over half the kernel (PyTorch refuses it): ``padding``.
- ``uneven_windows``: an adaptive pool whose windows overlap or differ: ``size`` (H, W) and
  ``output`` (H_out, W_out).
- ``jump``: the inputs of a merge arrive with different jumps: ``inputs``, a tuple of
  (name, jump_h, jump_w).
- ``channel_first``: the input looks like PyTorch's C×H×W order: ``shape`` (the three sizes as
  written).
- ``rf_bound``: the receptive field after an irregular adaptive pool is an upper bound (an axis
  of more than ``max_cells`` positions, or a fractional stride): ``max_cells``.
- ``note``: free text (``text``), for a warning that has no kind of its own yet.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

MISFIT = "misfit"
PADDING = "padding"
UNEVEN_WINDOWS = "uneven_windows"
JUMP = "jump"
CHANNEL_FIRST = "channel_first"
RF_BOUND = "rf_bound"
NOTE = "note"
KINDS = (MISFIT, PADDING, UNEVEN_WINDOWS, JUMP, CHANNEL_FIRST, RF_BOUND, NOTE)


class LayerWarning:
    """One warning: ``kind``, ``data`` (its figures), ``layer`` (set by the analysis) and
    ``named`` (the text starts with the layer's name: collapsed rows, report-level lists).
    Immutable; ``replace`` gives a changed copy. (A plain class, not a dataclass: creating a
    frozen dataclass costs a few ms of every start.)"""

    __slots__ = ("kind", "data", "layer", "named")
    __hash__ = None  # data is a mapping

    def __init__(self, kind: str, data: Optional[Mapping[str, Any]] = None, layer: Optional[str] = None,
                 named: bool = False):
        set_ = object.__setattr__
        set_(self, "kind", kind)
        set_(self, "data", {} if data is None else data)
        set_(self, "layer", layer)
        set_(self, "named", named)

    def __setattr__(self, name, value):
        raise AttributeError("a LayerWarning is immutable; use replace()")

    def replace(self, **changes) -> "LayerWarning":
        fields = {"kind": self.kind, "data": self.data, "layer": self.layer, "named": self.named}
        fields.update(changes)
        return LayerWarning(**fields)

    def __eq__(self, other):
        if not isinstance(other, LayerWarning):
            return NotImplemented
        return (self.kind, self.data, self.layer, self.named) == (other.kind, other.data, other.layer, other.named)

    def __repr__(self) -> str:
        return f"LayerWarning({self.kind!r}, {self.data!r}, layer={self.layer!r}, named={self.named!r})"

    @property
    def fit(self) -> bool:
        """Hyperparameters that do not divide: an error under --strict."""
        return self.kind == MISFIT

    def text(self, error: bool = False) -> str:
        from ..render.warnings import warning_text

        return warning_text(self, error=error)

    def __str__(self) -> str:
        return self.text()

    def __contains__(self, words: str) -> bool:  # reading a warning as its text
        return words in self.text()


def Warn(message: str, fit: bool = False) -> LayerWarning:  # noqa: N802 - the former class's name
    """A warning without a kind of its own (free text); give new warnings a kind instead."""
    if fit:
        raise ValueError("a misfit warning is made with kind MISFIT and its figures")
    return LayerWarning(NOTE, {"text": message})


def misfits(warnings) -> list:
    return [w for w in warnings if w.kind == MISFIT]
