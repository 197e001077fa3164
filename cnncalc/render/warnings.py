"""Warnings as text: the words of every kind (cnncalc.core.warns holds the kinds and their data),
and the lines printed under the table: one summary line by default, every warning in full
with ``--warnings`` (``-W``). The warnings themselves are in every format's data (JSON
``warnings``, ``--explain``); the summary is only how many lines a terminal gets."""

from __future__ import annotations

from ..core.figures import plural  # noqa: F401  (re-exported: the renderers' plural)
from ..layers.base import frac_text, size_expr


def _misfit(d, error: bool) -> str:
    pb, pa = d["pad_before"], d["pad_after"]
    pad = pb if pb == pa else f"{pb}+{pa}"
    text = (f"{d['axis']}: {size_expr(d['size'], d['kernel'], pb, pa, d['stride'])} = {frac_text(d['exact'])}: "
            f"these hyperparameters do not fit (W={d['size']}, F={d['kernel']}, P={pad}, S={d['stride']})")
    return text if error else text + f"; floored to {d['floored']} as PyTorch does"


def _padding(d, error: bool) -> str:
    return f"padding {d['padding']} is more than half the kernel; PyTorch refuses this"


def _uneven(d, error: bool) -> str:
    (h, w), (oh, ow) = d["size"], d["output"]
    return f"{h}×{w} does not divide into {oh}×{ow}: windows overlap or differ in size"


def _jump(d, error: bool) -> str:
    return ("inputs arrive with different jumps (" + ", ".join(f"{n}: {jh}×{jw}" for n, jh, jw in d["inputs"])
            + "): their receptive fields are not aligned")


def _channel_first(d, error: bool) -> str:
    c, h, w = d["shape"]
    return (f"{c}×{h}×{w} looks channel-first (PyTorch's C×H×W); cnncalc reads H×W×C: "
            f"a {h}×{w} image with {c} channel{'s' if c != 1 else ''} is {h}×{w}×{c}")


def _rf_bound(d, error: bool) -> str:
    return ("the receptive field after this irregular adaptive pool is an upper bound "
            f"(more than {d['max_cells']:,} positions, or a fractional stride)")


TEXT = {"misfit": _misfit, "padding": _padding, "uneven_windows": _uneven, "jump": _jump,
        "channel_first": _channel_first, "rf_bound": _rf_bound, "note": lambda d, error: d["text"]}


def warning_text(w, error: bool = False) -> str:
    """One warning as a line; ``error``: the words of the error it becomes under --strict."""
    text = TEXT[w.kind](w.data, error)
    return f"{w.layer}: {text}" if w.named and w.layer else text


def warning_lines(report, full: bool, width: int = 0) -> list:
    """``⚠ layer: warning`` lines (``full``), or one line saying how many and where.

    ``width`` (the table's; 0: any): full warnings are wrapped at spaces to it, and the summary
    names fewer layers (down to none) so that it fits."""
    from .table import clean, cell_width, wrap

    warns = [(clean(r.name), clean(str(w))) for r in report.layers for w in r.warnings]
    if full or not warns:
        lines = [f"⚠ {name}: {w}" for name, w in warns]
        return [x for line in lines for x in wrap(line, width, "  ")] if width else lines
    names = list(dict.fromkeys(name for name, _ in warns))
    for k in range(min(3, len(names)), -1, -1):
        shown = ", ".join(names[:k])
        if len(names) > k:
            rest = plural(len(names) - k, "more layer") if k else plural(len(names), "layer")
            shown += f" and {rest}" if k else rest
        line = f"⚠ {plural(len(warns), 'warning')} ({shown}): run with --warnings (-W) to print them"
        if not width or cell_width(line) <= width:
            return [line]
    return wrap(line, width, "  ")
