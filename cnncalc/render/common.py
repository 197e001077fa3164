"""Number formatting and row contents shared by the renderers.

The renderers are the only place numbers are rounded or given units (the number forms
themselves are defined once, in cnncalc.core.figures); the figures come from the Report untouched.
"""

from __future__ import annotations

from ..core.figures import exact, human, human_bytes  # noqa: F401  (the renderers' number forms)
from ..core.model import LayerResult, Report


def number(n: int, exact_numbers: bool) -> str:
    return exact(n) if exact_numbers else human(n)


def shape_text(shape, sep: str = "×") -> str:
    return sep.join(str(x) for x in shape)


def describe(r: LayerResult) -> str:
    """A short description of a layer, written by its layer type: 'conv 3×3/1 p1', 'maxpool
    2×2/2', 'dense'; a row without a layer type (the input, a collapsed block) is its type."""
    if r.spec is None:
        return r.type
    layer = _registry().get(r.type)
    return layer.describe(r.spec.params) if layer is not None else r.type


def _registry() -> dict:
    global _REGISTRY
    if _REGISTRY is None:
        from ..layers import REGISTRY

        _REGISTRY = REGISTRY
    return _REGISTRY


_REGISTRY = None


RF_MARK = "*"
RF_NOTE = ("RF *: every output position's field spans the whole input (fields are on the padded plane,\n"
           "Araujo et al., so they can be wider than the input).")


def rf_text(r: LayerResult) -> str:
    """The RF column: 7, or 7×5 when H and W differ; marked when it covers the whole input."""
    a, b = r.receptive_field
    return (str(a) if a == b else f"{a}×{b}") + (RF_MARK if r.covers_input else "")


def macs_text(report: Report) -> str:
    """What the MACs hold, exactly: the multiply-accumulates of the layer types that have them in
    this network, plus the element-wise kinds --macs-include added (README: Counting conventions)."""
    from ..core.elementwise import include_text

    t, c = report.totals, report.conventions
    own = (f"multiply-accumulates of {', '.join(t.mac_types)}" if t.mac_types
           else "no multiply-accumulates (no conv, dense or attention)")
    if c.macs_include:
        return f"MACs = {own} + element-wise {include_text(c.macs_include)} (--macs-include)"
    return f"MACs = {own}; element-wise operations excluded"


def elementwise_text(report: Report, sep: str = " · ") -> str:
    """The totals of the element-wise kinds: 'bias 1,000 · norm 45,108,224 · …' (zero kinds left out)."""
    parts = [f"{k} {exact(v)}" for k, v in report.totals.elementwise.items() if v]
    return sep.join(parts) if parts else "none"


def _fold(text: str, at: str, width: int = 99) -> str:
    """``text`` on two lines, before ``at``, when it is wider than ``width``."""
    return text.replace(at, "\n" + at.lstrip(), 1) if len(text) > width else text


def conventions_line(report: Report) -> str:
    """The counting conventions in force, in lines of at most 100 characters."""
    c = report.conventions
    params = "weights + biases" if c.count_biases else "weights only (biases not counted, as in CS231n)"
    return (f"Conventions: params = {params}, learnable only;\n"
            f"{_fold(macs_text(report), ' + element-wise')};\n"
            f"FLOPs = {c.flops_per_mac} × MACs; activations = the input + every layer's output\n"
            f"(fused activations and views add none); bytes at {c.dtype} ({c.bytes_per_value} B/value), "
            f"batch {c.batch}, MB = 10⁶ B.")
