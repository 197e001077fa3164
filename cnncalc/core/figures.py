"""Figures as people write them, and as cnncalc writes them: the one home of both directions.

Reading (answers on an exam sheet, ``expect:`` and ``budget:`` in a spec, all alike):

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
- A number of more than MAX_INT_DIGITS digits, or an exponent of more than 3 digits, is refused
  (an AnswerError, exit 2) before Python's own 4,300-digit limit could turn it into an internal
  error.

Writing: ``at_precision`` writes a true value at the precision and in the unit of a person's
figure; ``human`` / ``human_bytes`` / ``mb`` are the short forms of the renderers. All of them
use integer (or Fraction) arithmetic only, so they are exact for a value of any size.

Bytes: ``activation_bytes`` and ``param_bytes`` are the one rule for how many bytes values
take under the conventions (dtype, batch), used by the analysis, explanations, grading and
the quick commands alike.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, NamedTuple, Optional

from .errors import CnnCalcError
from .limits import MAX_INT_DIGITS


class AnswerError(CnnCalcError):
    """A figure that cannot be read (the sheet or spec itself is broken: exit 2)."""


SCALE = {
    "": 1, "k": 10**3, "K": 10**3, "thousand": 10**3, "M": 10**6, "million": 10**6, "m": 10**6,
    "G": 10**9, "billion": 10**9, "bn": 10**9, "T": 10**12, "trillion": 10**12,
    # every unit the renderers print (human): a figure copied from a table reads back
    "P": 10**15, "E": 10**18, "Z": 10**21, "Y": 10**24,
    "萬": 10**4, "万": 10**4, "億": 10**8, "亿": 10**8,
}
BYTE_UNITS = {
    "B": 1, "bytes": 1, "byte": 1, "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "PB": 10**15, "EB": 10**18, "ZB": 10**21, "YB": 10**24,  # as human_bytes prints them
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50, "EiB": 2**60,
}
# the separator of a written size or shape: 55x55x96, 55×55×96, 55*55*96, 55,55,96
SIZE_SEP = re.compile(r"\s*[x×X*,]\s*")
_NUMBER = (r"^\s*(?P<num>[0-9][0-9,_ ]*(?:\.[0-9]+)?|\.[0-9]+)\s*(?:[eE](?P<exp>[+-]?[0-9]+))?\s*"
           r"(?P<unit>[A-Za-z萬万億亿]*)\s*$")
_FACTOR = r"\(?\s*[0-9][0-9,_]*\s*\)?"
_PRODUCT = rf"^\s*\(?\s*{_FACTOR}(?:\s*[*×xX·]\s*\(?\s*{_FACTOR}\s*\)?)+\s*\)?\s*$"


def __getattr__(name: str):
    if name == "NUMBER_RE":  # compiled when first asked for: reading figures is not on every path
        return re.compile(_NUMBER)
    raise AttributeError(name)


class Number(NamedTuple):
    """A written number: its value and, when rounded, the precision it was given to."""

    value: Fraction
    precision: Optional[Fraction]  # None: an exact integer
    text: str
    bytes: bool = False  # written with a byte unit

    def matches(self, true: int) -> bool:
        if self.precision is None:
            return Fraction(true) == self.value
        return abs(Fraction(true) - self.value) * 2 <= self.precision


def _product(text: str) -> Optional[int]:
    """``224*224*64`` → 3211264, ``(3*3*64)*128 + 128`` → 73856; None when the text is not a sum
    of products of whole numbers (at least one operator).

    >>> _product("(3*3*3)*64"), _product("28×28×96×5×5×64"), _product("(3·3·64)·128 + 128"), _product("1.2e9")
    (1728, 120422400, 73856, None)
    """
    terms = text.split("+")
    if len(terms) == 1 and not re.match(_PRODUCT, text):
        return None
    _check_digits(max(re.split(r"[^0-9,_]+", text), key=len).replace(",", "").replace("_", ""), text)
    total = 0
    for term in terms:
        if term.count("(") != term.count(")"):
            return None
        if re.match(_PRODUCT, term):
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


def _digits(m) -> str:
    return m.group("num").replace(",", "").replace("_", "").replace(" ", "")


def _unit_scale(unit: str) -> Optional[int]:
    return BYTE_UNITS.get(unit) or SCALE.get(unit) or SCALE.get(unit.lower())


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
    m = re.match(_NUMBER, text)
    if not m:
        raise AnswerError("not a number like 34944, 34,944, 138M, 15.5G or 93MB", received=repr(raw))
    digits = _digits(m)
    _check_digits(digits, raw)
    unit = m.group("unit")
    exp_text = (m.group("exp") or "0").lstrip("+-").lstrip("0")
    if len(exp_text) > 3:  # int() of thousands of digits is refused by Python itself
        raise AnswerError("exponent out of range", received=repr(raw))
    exp = int(m.group("exp") or 0)
    is_bytes = False
    if unit in BYTE_UNITS:
        scale, is_bytes = BYTE_UNITS[unit], True
    elif unit in SCALE:
        scale = SCALE[unit]
    elif unit.lower() in SCALE:
        scale = SCALE[unit.lower()]
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
    return Number(value, precision, text, is_bytes)


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


# compiled on first use (re's cache): reading figures is not on every command's path
_BATCH = r"^\s*[(\[]?\s*(None|null|N|batch|\?)\s*,"
_VECTOR_WORD = r"\s*(-?\s*d(imensional)?\s*)?(vector|向量)\s*$"


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
        m = re.match(_BATCH, raw, re.IGNORECASE)
        if m:
            rest = raw[m.end():].strip().rstrip(")]").strip()
            return BatchShape(parse_shape(rest))
        v = re.search(_VECTOR_WORD, raw, re.IGNORECASE)
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
            parts = [int(p.replace(",", "")) for p in SIZE_SEP.split(inner)] if inner else []
        except ValueError:
            raise AnswerError("a shape like 55x55x96 or (55, 55, 96) was expected", received=repr(raw)) from None
    else:
        raise AnswerError("a shape like 55x55x96 was expected", received=repr(raw))
    if not parts or not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in parts):
        raise AnswerError("a shape is a list of whole numbers, like 55x55x96", received=repr(raw))
    return tuple(parts)


# ---------------------------------------------------------------------------------------------
# writing


def at_precision(given: Number, true: int) -> str:
    """The true value written at the precision, in the exponent and the unit of a person's
    figure (half-way rounds up); exact for any size. An exact figure gives ``138,357,544``.

    >>> at_precision(parse_number("37M"), 37_748_736), at_precision(parse_number("15.47G"), 15_470_264_320)
    ('38M', '15.47G')
    >>> at_precision(parse_number("93MB"), 60_950_432), at_precision(parse_number("1.5e9"), 1_234_567_890)
    ('61MB', '1.2e9')
    >>> at_precision(parse_number("1.0K"), 10**20 + 678_249)
    '100000000000000678.2K'
    """
    m = re.match(_NUMBER, given.text)
    if given.precision is None or not m:
        return f"{true:,}"
    unit, exp = m.group("unit"), m.group("exp")
    digits = _digits(m)
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    scale = Fraction(_unit_scale(unit) or 1) * Fraction(10) ** int(exp or 0)
    units = (Fraction(true) * 10**decimals / scale + Fraction(1, 2)) // 1  # half up, exact
    sign, units = ("-", -units) if units < 0 else ("", units)
    text = str(units) if decimals == 0 else f"{units // 10**decimals}.{units % 10**decimals:0{decimals}d}"
    return sign + text + (f"e{exp}" if exp else "") + unit


def exact(n: int) -> str:
    """1728 → '1,728'."""
    return f"{n:,}"


def _round_sig(n: int, digits: int) -> tuple:
    """n rounded half-up to ``digits`` significant digits, as (mantissa int, exponent)."""
    length = len(str(n))
    if length <= digits:
        return n, 0
    scale = 10 ** (length - digits)
    q = (n + scale // 2) // scale
    exp = length - digits
    if len(str(q)) > digits:  # 9995 → 1000 (carried a digit)
        q //= 10
        exp += 1
    return q, exp


_UNITS = " KMGTPEZY"  # SI prefixes, powers of 1000 up to 10^24


def human(n: int, digits: int = 3) -> str:
    """Three significant digits with K/M/G/T/P/E/Z/Y (powers of 1000), exact below 1000,
    beyond Y written as 1.23e27; integer arithmetic throughout, so huge values round correctly.

    >>> [human(x) for x in (0, 999, 1728, 36928, 138357544, 15470264320, 999999, 10**18)]
    ['0', '999', '1.73K', '36.9K', '138M', '15.5G', '1.00M', '1.00E']
    >>> human(9 * 10**27 + 10**25), human(999_500 * 10**21)
    ('9.01e27', '1.00e27')
    """
    if n < 0:
        return "-" + human(-n, digits)
    if n < 1000:
        return str(n)
    q, exp = _round_sig(n, digits)
    value_digits = len(str(q)) + exp
    group = (value_digits - 1) // 3  # 1: K, 2: M, 3: G, 4: T, … 8: Y
    if group < len(_UNITS):
        return _place(q, exp - 3 * group) + _UNITS[group]
    return f"{_place(q, 1 - len(str(q)))}e{value_digits - 1}"


def _place(q: int, exp: int) -> str:
    """q·10^exp written in decimal."""
    if exp >= 0:
        return str(q * 10**exp)
    s = str(q).rjust(-exp + 1, "0")
    return s[:exp] + "." + s[exp:]


def plural(n: int, word: str, many: str = "") -> str:
    """'1 warning', '2 warnings', '1,000 layers' — the count and the right form of the noun.

    >>> plural(1, "bias", "biases"), plural(13416, "bias", "biases"), plural(0, "spec")
    ('1 bias', '13,416 biases', '0 specs')
    """
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def _hundredths(n: int, power: int) -> tuple:
    """n/power rounded half up to two decimals: (whole, cents)."""
    h = (n * 100 + power // 2) // power
    return h // 100, h % 100


def human_bytes(n: int) -> str:
    """Bytes in decimal units (MB = 10⁶ bytes), two decimals; beyond YB, 1.23e27 B.

    >>> human_bytes(60950432), human_bytes(553430176), human_bytes(512)
    ('60.95 MB', '553.43 MB', '512 B')
    >>> human_bytes(4 * 10**22 + 3600008), human_bytes(4 * 10**34)
    ('40.00 ZB', '4.00e34 B')
    """
    if n < 1000:
        return f"{n} B"
    if n >= 1000 * 10**24:
        return human(n) + " B"
    for power, unit in ((10**24, "YB"), (10**21, "ZB"), (10**18, "EB"), (10**15, "PB"), (10**12, "TB"),
                        (10**9, "GB"), (10**6, "MB"), (10**3, "kB")):
        if n >= power:
            whole, cents = _hundredths(n, power)
            return f"{whole}.{cents:02d} {unit}"
    return f"{n} B"  # pragma: no cover


def mb(n: int, grouped: bool = False) -> str:
    """Bytes as MB (10⁶ B) to two decimals, half up, exact for any size; ``grouped`` adds
    thousands separators.

    >>> mb(60_950_432), mb(5), mb(4 * 10**40 + 5_000), mb(1_234_567_890, grouped=True)
    ('60.95', '0.00', '40000000000000000000000000000000000.01', '1,234.57')
    """
    whole, cents = _hundredths(n, 10**6)
    return f"{whole:,}.{cents:02d}" if grouped else f"{whole}.{cents:02d}"


# ---------------------------------------------------------------------------------------------
# bytes under the conventions


def activation_bytes(activations: int, conventions) -> int:
    """Bytes of ``activations`` values at the conventions' dtype, for the whole batch.

    >>> from cnncalc.core.model import Conventions
    >>> activation_bytes(32 * 32 * 10, Conventions(batch=8))  # 10,240 values · 4 B · 8
    327680
    """
    return activations * conventions.bytes_per_value * conventions.batch


def param_bytes(values: int, conventions) -> int:
    """Bytes of ``values`` stored parameter values (weights, biases, running statistics): one
    copy, whatever the batch."""
    return values * conventions.bytes_per_value
