"""The ``values:`` key of a spec: ``{input: nested lists}`` → the input's flat data (H, W, C order)."""

from __future__ import annotations

from ..core.errors import LimitError, SpecError
from ..layers.base import ParamError, exact_number, show
from ..core.limits import MAX_VALUE_ELEMENTS, raise_hint

VALUES_KEYS = ("input",)


def _sizes(v) -> tuple:
    if not isinstance(v, list):
        return ()
    if not v:
        return None
    subs = [_sizes(x) for x in v]
    if None in subs or len(set(subs)) != 1:
        return None
    return (len(v),) + subs[0]


def _flatten(v, out: list) -> None:
    if isinstance(v, list):
        for x in v:
            _flatten(x, out)
    else:
        out.append(v)


def parse_values(doc_values, input_shape, loc, key_loc=None) -> dict:
    """Validate ``values:`` against the input shape; ``{"input": flat data}``."""
    if not isinstance(doc_values, dict):
        raise SpecError("'values' is a mapping: values: {input: nested lists of numbers}", loc=loc,
                        received=show(doc_values))
    for k in doc_values:
        if k not in VALUES_KEYS:
            where = doc_values.key_loc(k) if hasattr(doc_values, "key_loc") else loc
            raise SpecError(f"unknown key '{k}' in values (known: {', '.join(VALUES_KEYS)})", loc=where)
    if "input" not in doc_values:
        raise SpecError("'values' needs 'input:', the input tensor as nested lists", loc=loc)
    v = doc_values["input"]
    vloc = doc_values.val_loc("input") if hasattr(doc_values, "val_loc") else loc
    shape = tuple(input_shape)
    n = 1
    for s in shape:
        n *= s
    if n > MAX_VALUE_ELEMENTS:
        raise LimitError(f"values: the input has {n:,} numbers, over the {MAX_VALUE_ELEMENTS:,} limit of cnncalc "
                         f"values (MAX_VALUE_ELEMENTS; {raise_hint('CNNCALC_MAX_VALUE_ELEMENTS')})", loc=vloc)
    got = _sizes(v)
    ok = [shape] + ([shape[:2]] if len(shape) == 3 and shape[2] == 1 else [])
    if got not in ok:
        want = ("H×W×C" if len(shape) == 3 else "a list of N") + f" = {'×'.join(map(str, shape))}"
        if len(shape) == 3 and shape[2] == 1:
            want += f" (or {shape[0]}×{shape[1]} lists for one channel)"
        raise SpecError(f"values: input must be nested lists of {want} numbers, in H, W, C order", loc=vloc,
                        received="ragged lists" if got is None else "a number" if got == () else
                        "×".join(map(str, got)))
    flat: list = []
    _flatten(v, flat)
    out = []
    for i, x in enumerate(flat):
        try:
            out.append(exact_number(x))
        except ParamError as e:
            raise SpecError(f"values: input number {i + 1} {e.message}", loc=vloc, received=show(e.received)) from None
    return {"input": out}
