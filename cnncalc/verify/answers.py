"""Figures written the way people write them, and whether they are right.

Shared by the exam grader (``cnncalc grade``) and spec expectations / budgets
(``cnncalc check``), so that ``138M`` means the same thing everywhere.

How figures are read and written (``138M``, ``15.5G``, ``93MB``, ``1.2e9``, ``224*224*64``) is
cnncalc.core.figures; this module holds which figures there are, their true values in a report and
whether an answer is right.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Optional

from ..core.figures import (BYTE_UNITS, NUMBER_RE, SCALE, AnswerError, BatchShape, Number, VectorShape,  # noqa: F401
                            activation_bytes, at_precision, param_bytes, parse_number, parse_shape)
from ..core.figures import _product  # noqa: F401  (doctested there; kept importable here)
from ..core.warns import MISFIT


def parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "yes", "valid", "是", "對", "对"):
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("false", "no", "invalid", "否", "不"):
        return False
    raise AnswerError("true or false was expected", received=repr(raw))


# figure name → kind. "memory" is forward activation bytes (the slide's "memory ~= 96MB").
FIGURES = {
    "output_shape": "shape",
    "params": "number",
    "weights": "number",
    "biases": "number",
    "non_trainable_params": "number",
    "macs": "number",
    "flops": "number",
    "activations": "number",
    "memory": "bytes",
    "activation_bytes": "bytes",
    "param_bytes": "bytes",
    "receptive_field": "field",
    "valid": "bool",
    "depth": "number",  # weight layers on the longest path, as papers count a network's depth
}


def figure_value(report, figure: str, layer: Optional[str] = None):
    """The true value of a figure, for the whole network (``layer=None``) or one layer.

    Whole network: totals, and the last layer for output_shape / receptive_field.
    ``memory`` is forward activation bytes under the report's dtype and batch.
    ``valid`` is whether every size divides exactly (no misfit warning, cnncalc.core.warns).
    """
    if figure not in FIGURES:
        raise KeyError(figure)
    if layer is None:
        t = report.totals
        last = report.layers[-1]
        if figure == "output_shape":
            return tuple(last.output_shape)
        if figure == "receptive_field":
            return tuple(last.receptive_field)
        if figure == "memory":
            return t.activation_bytes
        if figure == "valid":
            return not any(_misfit(r) for r in report.layers)
        return getattr(t, figure)
    r = report.layer(layer)
    c = report.conventions
    if figure == "output_shape":
        return tuple(r.output_shape)
    if figure == "receptive_field":
        return tuple(r.receptive_field)
    if figure in ("memory", "activation_bytes"):
        return activation_bytes(r.activations, c)
    if figure == "param_bytes":
        return param_bytes(r.weights + r.biases + r.non_trainable_params, c)
    if figure == "valid":
        return not _misfit(r)
    return getattr(r, figure)


def _misfit(r) -> bool:
    return any(w.kind == MISFIT for w in r.warnings)


def parse_figure(figure: str, raw: Any):
    """A written answer for ``figure`` → Number | tuple | bool."""
    kind = FIGURES.get(figure)
    if kind is None:
        raise AnswerError(f"unknown figure '{figure}' (known: {', '.join(FIGURES)})")
    if kind == "shape":
        return parse_shape(raw)
    if kind == "field":
        shape = parse_shape(raw)
        if len(shape) == 1:
            return (shape[0], shape[0])
        if len(shape) != 2:
            raise AnswerError("a receptive field is 7x7 or 7", received=repr(raw))
        return shape
    if kind == "bool":
        return parse_bool(raw)
    return parse_number(raw, want_bytes=(kind == "bytes"))


def rounded_text(given: Number, true: int) -> str:
    """The true value written at the precision and in the unit of a rounded answer
    (cnncalc.core.figures.at_precision: exact for any size).

    >>> rounded_text(parse_number("37M"), 37_748_736), rounded_text(parse_number("15.5G"), 15_470_264_320)
    ('38M', '15.5G')
    """
    return at_precision(given, true)


def rounding_note(given, true) -> Optional[str]:
    """Why a rounded answer is wrong when it is the true value cut off rather than rounded.

    >>> rounding_note(parse_number("37M"), 37_748_736)
    'the true value truncates to 37M but rounds to 38M'
    >>> rounding_note(parse_number("140M"), 138_357_544)
    'right only to 2 significant digits: written 140M, every digit counts, and the true value rounds to 138M'
    >>> rounding_note(parse_number("353M"), 271_351_808) is None
    True
    """
    if not isinstance(given, Number) or given.precision is None or given.matches(true):
        return None
    if given.value <= true < given.value + given.precision:
        return f"the true value truncates to {given.text} but rounds to {rounded_text(given, true)}"
    m = NUMBER_RE.match(given.text)
    digits = m.group("num").replace(",", "").replace("_", "").replace(" ", "") if m else ""
    zeros = len(digits) - len(digits.rstrip("0")) if digits.isdigit() and digits.strip("0") else 0
    if zeros and abs(Fraction(true) - given.value) * 2 <= given.precision * 10**zeros:
        return (f"right only to {len(digits) - zeros} significant digit{'s' if len(digits) - zeros > 1 else ''}: "
                f"written {given.text}, every digit counts, and the true value rounds to {rounded_text(given, true)}")
    return None


def is_right(figure: str, given, true) -> bool:
    """Whether a parsed answer matches the true value."""
    if isinstance(given, Number):
        return given.matches(true)
    return given == true
