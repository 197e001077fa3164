"""Writing worked formulas (``--explain``): the pieces layer types share.

A layer type's ``explain`` gets a ``Work``: its row of the report, its inputs' rows, its
parameters and the ``Out`` its ``infer`` returned when the report was made. Every number on
the right-hand side of a formula is the report's own; the left-hand side writes the
hyperparameters and the intermediate values ``infer`` recorded (``Out.work``). Nothing here
works a figure out a second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping

from ..core.figures import plural
from .base import frac_text, size_expr


def n(x) -> str:
    """28 → '28', 73856 → '73,856', Fraction(9, 2) → '4.5'."""
    if isinstance(x, Fraction):
        return frac_text(x)
    return f"{x:,}"


def prod(*xs) -> str:
    return "·".join(str(x) for x in xs)


def shape(s) -> str:
    return "×".join(str(x) for x in s)


@dataclass(frozen=True)
class Work:
    """What a layer type's ``explain`` writes from."""

    report: Any  # the Report
    r: Any  # this layer's LayerResult
    ins: tuple  # the LayerResults of its inputs
    out: Any  # the Out its infer returned (Out.work: intermediate values)
    p: Mapping[str, Any]  # its parameters, normalised

    @property
    def conventions(self):
        return self.report.conventions

    @property
    def in_shape(self) -> tuple:
        return self.ins[0].output_shape


def size_lines(axes, result_hw) -> list:
    """``H_out = W_out = (224 − 3 + 2·1)/1 + 1 = 224`` (or one line per axis when they differ).
    ``axes``: (label, formula, exact value, note) per axis; ``result_hw``: the sizes used."""
    texts = []
    for (label, expr, exact, note), got in zip(axes, result_hw):
        if note.startswith(" (rounded up"):  # ceil mode: exact is the quotient before ⌈⌉
            tail = f" = ⌈{frac_text(Fraction(exact))}⌉ + 1 = {got}"
            if got != -(-exact.numerator // exact.denominator) + 1:
                tail += " (PyTorch drops a last window that would start in the padding)"
        else:
            value = frac_text(Fraction(exact))
            tail = f" = {value}" if exact == got else f" = {value} → {got}{note}"
        texts.append((label, expr + tail))
    if len(texts) == 2 and texts[0][1] == texts[1][1]:
        return [("output_shape", f"H_out = W_out = {texts[0][1]}")]
    return [("output_shape", f"{label}_out = {text}") for label, text in texts]


def window_lines(w: Work) -> list:
    """The output size of a sliding window, from what ``layers.spatial.window`` recorded:
    padding 'same', the dilated kernel, and per axis (W − F_eff + P)/S + 1."""
    win = w.out.work["window"]
    if win["same"]:  # defined as ⌈W/S⌉ (Keras, TensorFlow): no floor formula to show
        t, b, left, right = win["pads"]
        sh, sw = win["axes"][0]["stride"], win["axes"][1]["stride"]
        h, wd = win["axes"][0]["size"], win["axes"][1]["size"]
        oh, ow = w.r.output_shape[:2]
        eff = list(dict.fromkeys(f"F_eff = d·(F − 1) + 1 = {a['dilation']}·({a['kernel']} − 1) + 1 = "
                                 f"{a['kernel_eff']}" for a in win["axes"] if a["dilation"] != 1))
        return [("output_shape", text) for text in eff] + [
            ("output_shape", f"padding 'same' (Keras, TensorFlow): H_out = ⌈{h}/{sh}⌉ = {oh}, W_out = "
                             f"⌈{wd}/{sw}⌉ = {ow}; padding {t}+{b} (H), {left}+{right} (W)")]
    lines = []
    axes = []
    for a in win["axes"]:
        f, d, f_eff = a["kernel"], a["dilation"], a["kernel_eff"]
        if d != 1:
            text = f"F_eff = d·(F − 1) + 1 = {d}·({f} − 1) + 1 = {f_eff}"
            if ("output_shape", text) not in lines:
                lines.append(("output_shape", text))
        expr = size_expr(a["size"], f_eff, a["pad_before"], a["pad_after"], a["stride"])
        exact = a["result"].exact
        if win["ceil_mode"]:
            expr = "⌈" + expr[: expr.rindex(" + 1")] + "⌉ + 1"
            exact = Fraction(exact) - 1
            note = " (rounded up: ceil_mode)"
        else:
            note = " (floored, as PyTorch does: these hyperparameters do not fit)"
        axes.append((a["label"], expr, exact, note))
    lines += size_lines(axes, w.r.output_shape[:2])
    return lines


def params_line(w: Work, formula: str, per: str = "", biases_of: str = "") -> tuple:
    """``params = (3·3·64)·128 + 128 = 73,856``; ``formula`` is the weights' product, the bias
    term is added when the layer has biases and the conventions count them."""
    r = w.r
    if r.biases and w.conventions.count_biases:
        return ("params", f"params = {formula} + {biases_of} = {n(r.params)}")
    if r.biases:
        return ("params", f"params = {formula} = {n(r.params)}  (biases, {biases_of}, not counted)")
    return ("params", f"params = {formula} = {n(r.params)}")


def generic_lines(w: Work) -> list:
    """The lines of a layer type without formulas of its own: the output shape when it
    changes, and its counts as sums."""
    r, ins = w.r, w.ins
    lines = []
    if len(ins) == 1 and ins[0].output_shape != r.output_shape:
        lines.append(("output_shape", f"output = {shape(r.output_shape)} (from {shape(ins[0].output_shape)})"))
    if r.weights or r.biases:
        lines.append(("params", f"params = {plural(r.weights, 'weight')} + {plural(r.biases, 'bias', 'biases')}"
                                f" = {n(r.params)}" + ("" if w.conventions.count_biases else " (biases not counted)")))
    if r.non_trainable_params:
        lines.append(("params", f"non-trainable = {n(r.non_trainable_params)} (running statistics)"))
    if r.macs:
        lines.append(("macs", f"MACs = {n(r.macs)}"))
    return lines
