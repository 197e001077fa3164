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
