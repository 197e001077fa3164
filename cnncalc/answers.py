"""Figures written the way people write them, and whether they are right.

Shared by the exam grader (``cnncalc grade``) and spec expectations / budgets
(``cnncalc check``), so that ``138M`` means the same thing everywhere.

The rule for numbers:

- An exact integer (``34944``, ``34,944``, ``34 944``) must equal the true value.
- A rounded figure (``138M``, ``15.5G``, ``93MB``, ``1.2e9``, ``3.5萬``) is right when the true
  value rounds to it at the precision written: its last written digit. ``138M`` is right for
  138,357,544 (which is 138.357…M, and rounds to 138M); ``140M`` is not; ``138.4M`` is right,
  ``138.3M`` is not. A true value exactly half-way rounds either way.
- A product of whole numbers (``224*224*64``, ``28×28×96×5×5×64``, ``(3*3*3)*64``) is exact: the
  way slides write a figure before working it out.
- Units: K/k = 10³, M = 10⁶, G/B(illion) = 10⁹, T = 10¹², P = 10¹⁵, E = 10¹⁸, Z = 10²¹, Y = 10²⁴
  (every unit the table prints); bytes: B, kB/KB, MB, GB, TB, PB, EB, ZB, YB are powers of 1000
  (as torchinfo and REFERENCE.md), KiB/MiB/GiB/TiB/PiB/EiB powers of 1024; 萬/万 = 10⁴, 億/亿 = 10⁸.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Optional

from .errors import CnnCalcError
from .limits import MAX_INT_DIGITS


class AnswerError(CnnCalcError):
    """A figure that cannot be read (the sheet or spec itself is broken: exit 2)."""


_SCALE = {
    "": 1, "k": 10**3, "K": 10**3, "thousand": 10**3, "M": 10**6, "million": 10**6, "m": 10**6,
    "G": 10**9, "billion": 10**9, "bn": 10**9, "T": 10**12, "trillion": 10**12,
    # every unit the renderers print (render.common.human): a figure copied from a table reads back
    "P": 10**15, "E": 10**18, "Z": 10**21, "Y": 10**24,
    "萬": 10**4, "万": 10**4, "億": 10**8, "亿": 10**8,
}
_BYTES = {
    "B": 1, "bytes": 1, "byte": 1, "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "PB": 10**15, "EB": 10**18, "ZB": 10**21, "YB": 10**24,  # as render.common.human_bytes prints them
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50, "EiB": 2**60,
}
_NUM = re.compile(r"^\s*(?P<num>[0-9][0-9,_ ]*(?:\.[0-9]+)?|\.[0-9]+)\s*(?:[eE](?P<exp>[+-]?[0-9]+))?\s*"
                  r"(?P<unit>[A-Za-z萬万億亿]*)\s*$")


@dataclass(frozen=True)
class Number:
    """A written number: its value and, when rounded, the precision it was given to."""

    value: Fraction
    precision: Optional[Fraction]  # None: an exact integer
    text: str
    bytes: bool = False  # written with a byte unit

    def matches(self, true: int) -> bool:
        if self.precision is None:
            return Fraction(true) == self.value
        return abs(Fraction(true) - self.value) * 2 <= self.precision


_FACTOR = r"\(?\s*[0-9][0-9,_]*\s*\)?"
_PRODUCT = re.compile(rf"^\s*\(?\s*{_FACTOR}(?:\s*[*×xX·]\s*\(?\s*{_FACTOR}\s*\)?)+\s*\)?\s*$")


def _product(text: str) -> Optional[int]:
    """``224*224*64`` → 3211264, ``(3*3*64)*128 + 128`` → 73856; None when the text is not a sum
    of products of whole numbers (at least one operator).

    >>> _product("(3*3*3)*64"), _product("28×28×96×5×5×64"), _product("(3·3·64)·128 + 128"), _product("1.2e9")
    (1728, 120422400, 73856, None)
    """
    terms = text.split("+")
    if len(terms) == 1 and not _PRODUCT.match(text):
        return None
    _check_digits(max(re.split(r"[^0-9,_]+", text), key=len).replace(",", "").replace("_", ""), text)
    total = 0
    for term in terms:
        if term.count("(") != term.count(")"):
            return None
        if _PRODUCT.match(term):
            value = 1
            for part in re.split(r"[*×xX·]", term.replace("(", "").replace(")", "")):
                value *= int(part.strip().replace(",", "").replace("_", ""))
        elif re.fullmatch(r"\s*\(?\s*[0-9][0-9,_]*\s*\)?\s*", term) and term.count("(") == term.count(")"):
            value = int(term.strip().strip("()").strip().replace(",", "").replace("_", ""))
        else:
            return None
        total += value
    return total


def _check_digits(digits: str, raw) -> None:
    """Refuse a number written with more digits than any figure needs (the limit of a spec's
    integers), before Python's own 4,300-digit limit turns it into an internal error."""
    count = sum(ch.isdigit() for ch in digits)
    if count > MAX_INT_DIGITS:
        raise AnswerError(f"a number of {count:,} digits is over the limit of {MAX_INT_DIGITS} digits "
                          "(MAX_INT_DIGITS)", received=repr(raw))


def parse_number(raw: Any, *, want_bytes: bool = False) -> Number:
    """Read ``34,944`` / ``138M`` / ``15.5G`` / ``93MB`` / ``1.2e9`` / ``34944``.

    >>> parse_number("138M").matches(138_357_544), parse_number("140M").matches(138_357_544)
    (True, False)
    >>> parse_number("15.5G").matches(15_470_264_320), parse_number("34,944").matches(34_944)
    (True, True)
    >>> parse_number("93MB", want_bytes=True).value
    Fraction(93000000, 1)
    """
    if isinstance(raw, bool):
        raise AnswerError("a number was expected", received=str(raw).lower())
    if isinstance(raw, int):
        return Number(Fraction(raw), None, str(raw))
    if isinstance(raw, float):
        raw = repr(raw)
    if not isinstance(raw, str):
        raise AnswerError("a number was expected", received=repr(raw))
    text = raw.strip()
    product = _product(text)
    if product is not None:
        return Number(Fraction(product), None, text)
    m = _NUM.match(text)
    if not m:
        raise AnswerError("not a number like 34944, 34,944, 138M, 15.5G or 93MB", received=repr(raw))
    digits = m.group("num").replace(",", "").replace("_", "").replace(" ", "")
    _check_digits(digits, raw)
    unit = m.group("unit")
    exp_text = (m.group("exp") or "0").lstrip("+-").lstrip("0")
    if len(exp_text) > 3:  # int() of thousands of digits is refused by Python itself
        raise AnswerError("exponent out of range", received=repr(raw))
    exp = int(m.group("exp") or 0)
    is_bytes = False
    if unit in _BYTES:
        scale, is_bytes = _BYTES[unit], True
    elif unit in _SCALE:
        scale = _SCALE[unit]
    elif unit.lower() in _SCALE:
        scale = _SCALE[unit.lower()]
    else:
        raise AnswerError(f"unknown unit '{unit}' (K, M, G, T, P, E, Z, Y; B, kB, MB, GB, TB, PB, EB, ZB, YB; "
                          "KiB, MiB, GiB, TiB, PiB, EiB)", received=repr(raw))
    if want_bytes and not is_bytes and unit:
        raise AnswerError("a size in bytes needs a byte unit, like 93MB", received=repr(raw))
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    mantissa = Fraction(digits)
    if abs(exp) > 100:
        raise AnswerError("exponent out of range", received=repr(raw))
    value = mantissa * Fraction(10) ** exp * scale
    rounded = decimals > 0 or scale != 1 or exp != 0
    precision = Fraction(1, 10**decimals) * Fraction(10) ** exp * scale if rounded else None
    if not rounded and mantissa.denominator != 1:  # pragma: no cover - decimals > 0 covers it
        rounded = True
    return Number(value, precision, text, is_bytes)


_SHAPE_SEP = re.compile(r"\s*[x×X*,]\s*")


class BatchShape(tuple):
    """A shape written with a batch dimension first, ``(None, 64, 32, 32)``: Keras's notation,
    channels first or last; it equals the H×W×C shape in either order.

    >>> BatchShape((64, 32, 32)) == (32, 32, 64), BatchShape((32, 32, 64)) == (32, 32, 64)
    (True, True)
    """

    def __eq__(self, other):
        t = tuple(self)
        return t == tuple(other) or (len(t) == 3 and (t[1], t[2], t[0]) == tuple(other))

    def __ne__(self, other):
        return not self == other

    __hash__ = tuple.__hash__


class VectorShape(tuple):
    """A vector written as a product, ``19*19`` or ``19×19 vector``: it equals the vector of 361
    (and the 19×19 shape it spells).

    >>> VectorShape((19, 19)) == (361,), VectorShape((19, 19)) == (19, 19)
    (True, True)
    """

    def __eq__(self, other):
        other = tuple(other)
        if tuple(self) == other:
            return True
        n = 1
        for x in self:
            n *= x
        return len(other) == 1 and other[0] == n

    def __ne__(self, other):
        return not self == other

    __hash__ = tuple.__hash__


_BATCH = re.compile(r"^\s*[(\[]?\s*(None|null|N|batch|\?)\s*,", re.IGNORECASE)
_VECTOR_WORD = re.compile(r"\s*(-?\s*d(imensional)?\s*)?(vector|向量)\s*$", re.IGNORECASE)


def parse_shape(raw: Any) -> tuple:
    """``55x55x96``, ``55×55×96``, ``(55, 55, 96)``, ``[55, 55, 96]``, ``1000`` → a tuple;
    ``(None, 64, 32, 32)`` (a batch dimension first, Keras) and ``19*19`` / ``19×19 vector`` (a
    vector of 361) as the shapes they stand for.

    >>> parse_shape("(55, 55, 96)"), parse_shape("55×55×96"), parse_shape(1000)
    ((55, 55, 96), (55, 55, 96), (1000,))
    >>> parse_shape("(None, 64, 32, 32)") == (32, 32, 64), parse_shape("19×19 vector") == (361,)
    (True, True)
    """
    if isinstance(raw, str):
        m = _BATCH.match(raw)
        if m:
            rest = raw[m.end():].strip().rstrip(")]").strip()
            return BatchShape(parse_shape(rest))
        v = _VECTOR_WORD.search(raw)
        if v:
            return VectorShape(parse_shape(raw[:v.start()]))
        if "*" in raw:
            return VectorShape(parse_shape(raw.replace("*", "x")))
    if isinstance(raw, (list, tuple)) and len(raw) == 4 and raw[0] is None:
        return BatchShape(parse_shape(list(raw[1:])))
    if isinstance(raw, bool):
        raise AnswerError("a shape like 55x55x96 was expected", received=str(raw).lower())
    if isinstance(raw, int):
        parts = [raw]
    elif isinstance(raw, (list, tuple)):
        parts = list(raw)
    elif isinstance(raw, str):
        inner = raw.strip().strip("()[]").strip()
        try:
            parts = [int(p.replace(",", "")) for p in _SHAPE_SEP.split(inner)] if inner else []
        except ValueError:
            raise AnswerError("a shape like 55x55x96 or (55, 55, 96) was expected", received=repr(raw)) from None
    else:
        raise AnswerError("a shape like 55x55x96 was expected", received=repr(raw))
    if not parts or not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in parts):
        raise AnswerError("a shape is a list of whole numbers, like 55x55x96", received=repr(raw))
    return tuple(parts)


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
    ``valid`` is whether every size divides exactly (no "do not fit" warning).
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
        return r.activations * c.bytes_per_value * c.batch
    if figure == "param_bytes":
        return (r.weights + r.biases + r.non_trainable_params) * c.bytes_per_value
    if figure == "valid":
        return not _misfit(r)
    return getattr(r, figure)


def _misfit(r) -> bool:
    return any("do not fit" in w for w in r.warnings)


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
    """The true value written at the precision and in the unit of a rounded answer.

    >>> rounded_text(parse_number("37M"), 37_748_736), rounded_text(parse_number("15.5G"), 15_470_264_320)
    ('38M', '15.5G')
    """
    m = _NUM.match(given.text)
    if given.precision is None or not m:
        return f"{true:,}"
    unit = m.group("unit")
    exp = m.group("exp")
    q = Fraction(true) / given.precision
    n = int(q + Fraction(1, 2)) if q >= 0 else -int(-q + Fraction(1, 2))  # half-way: up
    digits = m.group("num").replace(",", "").replace("_", "").replace(" ", "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    mant = Fraction(n) * given.precision / (given.value / Fraction(digits) if Fraction(digits) else 1)
    if Fraction(digits) == 0:  # "0M": recover the scale from the precision
        mant = Fraction(n, 10**decimals)
    text = f"{float(mant):.{decimals}f}" if decimals else str(int(mant))
    return text + (f"e{exp}" if exp else "") + unit


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
    m = _NUM.match(given.text)
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
