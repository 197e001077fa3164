"""Reading and writing tensor sizes the way people type them: 32x32x3, 32×32×3, 32,32,3."""

from __future__ import annotations

from .figures import SIZE_SEP as _SEP
from ..layers.base import ParamError, _is_int


def parse_size(value) -> tuple:
    """An input size as (H, W, C) or (N,).

    >>> parse_size("32x32x3"), parse_size("32×32×3"), parse_size("32, 32, 3")
    ((32, 32, 3), (32, 32, 3), (32, 32, 3))
    >>> parse_size([19, 19, 48]), parse_size(784), parse_size("(55, 55, 96)")
    ((19, 19, 48), (784,), (55, 55, 96))
    """
    if _is_int(value):
        parts = [value]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    elif isinstance(value, str):
        text = value.strip().strip("()[]").strip()
        try:
            parts = [int(x) for x in _SEP.split(text)] if text else []
        except ValueError:
            raise ParamError("must be a size like 224x224x3, [224, 224, 3] or 784", value) from None
    else:
        raise ParamError("must be a size like [224, 224, 3] or 784", value)
    if len(parts) not in (1, 3) or not all(_is_int(x) and x >= 1 for x in parts):
        raise ParamError("must be [H, W, C] or one number N, all positive integers", value)
    return tuple(parts)
