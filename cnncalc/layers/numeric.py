"""Exact arithmetic helpers for the layers' numeric forwards (``cnncalc values``).

Values are ints, Fractions, or floats (only after a transcendental activation such as sigmoid).
Kernels work on integers: a tensor is scaled by the least common multiple of its denominators,
summed with integer products, and divided once at the end — exact, and fast enough for
64×64×16 maps in pure Python.
"""

from __future__ import annotations

from fractions import Fraction
from math import lcm

from .base import NoForward


def scaled(xs) -> tuple:
    """``(ints, den)`` with ``xs[i] == ints[i]/den``; ``(list(xs), None)`` when a float is among them.

    >>> scaled([1, Fraction(1, 2), Fraction(-1, 3)])
    ([6, 3, -2], 6)
    """
    den = 1
    for x in xs:
        t = type(x)
        if t is int:
            continue
        if t is float:
            return list(xs), None
        d = x.denominator
        if den % d:
            den = lcm(den, d)
    if den == 1:
        return [int(x) for x in xs], 1
    return [x * den if type(x) is int else x.numerator * (den // x.denominator) for x in xs], den


def unscale(n, den):
    """``n/den`` exactly: an int when it divides, else a Fraction; floats pass through (den None)."""
    if den is None:
        return n / 1 if isinstance(n, int) else n
    if den == 1:
        return n
    q, r = divmod(n, den)
    return q if r == 0 else Fraction(n, den)


def exact(x):
    """A Fraction with denominator 1 as an int."""
    return x.numerator if type(x) is Fraction and x.denominator == 1 else x


def need(layer, p, key: str, what: str):
    """The numbers a layer needs for its forward, or a one-line error naming the parameter."""
    v = p.get(key)
    if v is None:
        raise NoForward(f"{layer.type} needs '{key}:' ({what}) to compute values", key)
    return v


def exact_sqrt(x):
    """√x exactly (an int or a Fraction) when x is the square of a rational, else a float — the
    convention of the numeric forwards: exact until an irrational value, floats after it.

    >>> exact_sqrt(Fraction(9, 4)), exact_sqrt(16), exact_sqrt(2)
    (Fraction(3, 2), 4, 1.4142135623730951)
    """
    from math import isqrt, sqrt

    if type(x) is float:
        return sqrt(x)
    x = Fraction(x)
    if x >= 0:
        a, b = isqrt(x.numerator), isqrt(x.denominator)
        if a * a == x.numerator and b * b == x.denominator:
            return exact(Fraction(a, b))
    return sqrt(x)


def mean_var(xs) -> tuple:
    """The mean and the biased variance (divided by n, as LayerNorm, GroupNorm and
    InstanceNorm use), exactly for exact values.

    >>> mean_var([1, 2, 3, 6])
    (3, Fraction(7, 2))
    """
    ints, den = scaled(xs)
    n = len(xs)
    if den is None:
        m = sum(float(x) for x in xs) / n
        return m, sum((float(x) - m) ** 2 for x in xs) / n
    s = sum(ints)
    # Σ(x − m)² / n over x = i/den: (n·Σi² − (Σi)²) / (n²·den²)
    var = Fraction(n * sum(i * i for i in ints) - s * s, n * n * den * den)
    return exact(Fraction(s, n * den)), exact(var)


def normalise(xs, eps, gamma=None, beta=None) -> list:
    """(x − mean)/√(var + ε)·γ + β over one group of values: exact while √(var + ε) is
    rational, floats otherwise (ε is the exact decimal written in the spec)."""
    m, var = mean_var(xs)
    d = root_of(var + (float(eps) if type(m) is float else eps_exact(eps)))
    out = [div(x - m if type(m) is not float else float(x) - m, d) for x in xs]
    if gamma is not None:
        out = [mul_exact(v, g) for v, g in zip(out, gamma)]
    if beta is not None:
        out = [add_exact(v, b) for v, b in zip(out, beta)]
    return out


def eps_exact(eps):
    """A spec's ε (a float read from YAML such as 1e-05) as the exact decimal it was written as."""
    if type(eps) is float:
        return Fraction(repr(eps))
    return eps


def mul_exact(a, b):
    if type(a) is float or type(b) is float:
        return float(a) * float(b)
    return exact(Fraction(a) * b) if type(a) is Fraction or type(b) is Fraction else a * b


def add_exact(a, b):
    if type(a) is float or type(b) is float:
        return float(a) + float(b)
    return exact(Fraction(a) + b) if type(a) is Fraction or type(b) is Fraction else a + b


def check_values(p, key: str, shape: tuple, what: str) -> None:
    """Numbers given under ``key`` (values only) must have the shape the layer needs; a
    ShapeError naming it otherwise. A single number is a list of one."""
    from ..core.errors import ShapeError
    from .base import nested_shape, shape_text

    v = p.get(key)
    if v is None:
        return
    got = nested_shape(v)
    if got != tuple(shape):
        raise ShapeError(f"{key} must be {what}", received="ragged lists" if got is None else
                         shape_text(got) + (" numbers" if got else ""))


def given(layer, p, key: str, on: bool, what: str, switch: str):
    """The flat numbers of ``key`` when the layer has them (``on``), None when it has none; a
    one-line error naming the parameter when they are needed but not given."""
    from .base import flat

    if not on:
        return None
    if p.get(key) is None:
        raise NoForward(f"{layer.type} needs '{key}:' ({what}) to compute values"
                        + (f", or {switch}" if switch else ""), key)
    return flat(p[key])


def refuse_negative(p, key: str) -> None:
    """A variance given under ``key`` must not be negative (its square root is taken)."""
    from .base import ParamError, flat

    if p.get(key) is not None and any(v < 0 for v in flat(p[key])):
        raise ParamError(f"{key} must not be negative (a variance)", next(v for v in flat(p[key]) if v < 0))


def root_of(v):
    """√(variance + ε), the divisor of a normalisation, when it is a positive number; a one-line
    error otherwise (PyTorch would print inf or nan, which no grid or answer sheet can hold)."""
    if not v > 0:
        raise NoForward(f"variance + ε = {float(v):g} in a normalised group: the normalisation would divide by "
                        f"{'zero' if v == 0 else 'the square root of a negative number'} (PyTorch: inf or nan); "
                        "cnncalc values computes it with variance + ε > 0", "eps")
    return exact_sqrt(v)


def div(a, d):
    """a/d: exact for exact values, floats otherwise (d ≠ 0); an exact 0 stays exact."""
    if type(a) is not float and a == 0:
        return 0
    if type(a) is float or type(d) is float:
        return float(a) / float(d)
    return exact(Fraction(a) / d)


def linear_rows(rows, ws, bs, n_out: int, n_in: int) -> list:
    """Each row (n_in values) times the n_out × n_in weights ``ws`` (flat), plus ``bs`` when given:
    exact for exact values (a Linear applied to tokens)."""
    out = []
    for r in rows:
        vals = []
        for o in range(n_out):
            acc = 0
            for a, b in zip(ws[o * n_in:(o + 1) * n_in], r):
                acc = add_exact(acc, mul_exact(a, b))
            vals.append(add_exact(acc, bs[o]) if bs else acc)
        out.append(vals)
    return out


def attend(qkv: list, c: int, heads: int, scale, bias=None, cosine: bool = False) -> list:
    """Multi-head self-attention over one group of tokens, in floats: ``qkv`` holds each token's
    Q, K, V (3·C values); softmax(Q·Kᵀ·scale + bias[h][i][j])·V per head; the heads' outputs
    side by side (C values per token). ``cosine`` (Swin V2): Q and K rows scaled to length 1
    first (PyTorch's F.normalize, ε 1e-12) and ``scale`` one factor per head."""
    import math

    n = len(qkv)
    d = c // heads
    out = [[0.0] * c for _ in range(n)]

    def unit(rows):
        return [[a / max(math.sqrt(sum(b * b for b in r)), 1e-12) for a in r] for r in rows]

    for h in range(heads):
        lo = h * d
        q = [[float(t[lo + k]) for k in range(d)] for t in qkv]
        kk = [[float(t[c + lo + k]) for k in range(d)] for t in qkv]
        v = [[float(t[2 * c + lo + k]) for k in range(d)] for t in qkv]
        f = scale[h] if cosine else scale
        if cosine:
            q, kk = unit(q), unit(kk)
        for i in range(n):
            scores = [sum(a * b for a, b in zip(q[i], kk[j])) * f + (bias[h][i][j] if bias else 0.0)
                      for j in range(n)]
            m = max(scores)
            e = [math.exp(s - m) for s in scores]
            total = sum(e)
            for k in range(d):
                out[i][lo + k] = sum(e[j] * v[j][k] for j in range(n)) / total
    return out
