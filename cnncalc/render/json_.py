"""The JSON contract (documented in README): shapes in H, W, C order, exact integers."""

from __future__ import annotations

import json
from fractions import Fraction

from ..core.model import LayerResult, Report
from .common import macs_text

_quote = json.encoder.encode_basestring  # the C function json.dumps(str, ensure_ascii=False) uses


def _num(x):
    """Receptive-field figures are integers except after upsampling (fractional jumps)."""
    if isinstance(x, Fraction):
        if x.denominator == 1:
            return x.numerator
        # beyond 10^300: the nearest integer (a float could not hold it). Bit lengths decide
        # without a Fraction comparison, which was most of a 100,000-layer report's time.
        size = x.numerator.bit_length() - x.denominator.bit_length()  # log2|x| within 1
        if size < 990 or (size <= 1000 and abs(x) < 10**300):
            return float(x)
        return round(x)
    return x


def layer_dict(r: LayerResult) -> dict:
    return {
        "name": r.name,
        "type": r.type,
        "inputs": list(r.inputs),
        "output_shape": list(r.output_shape),
        "params": r.params,
        "weights": r.weights,
        "biases": r.biases,
        "non_trainable_params": r.non_trainable_params,
        "macs": r.macs,
        "flops": r.flops,
        "elementwise": dict(r.elementwise),  # kinds absent are 0 (cnncalc/core/elementwise.py)
        "activations": r.activations,
        "receptive_field": [_num(x) for x in r.receptive_field],
        "jump": [_num(x) for x in r.jump],
        "covers_input": r.covers_input,
        "depth": r.depth,  # weight layers on the longest path from the input to this layer's output
        "warnings": [str(w) for w in r.warnings],
        **({"parts": [list(x) for x in r.parts]} if r.parts else {}),  # a split's named outputs NAME.i
    }


def _training(t) -> dict:
    """``training_bytes`` and its parts, present with ``--train``."""
    m = t.training
    if m is None:
        return {}
    return {"training_bytes": m.total,
            "training": {"optimizer": m.optimizer, "param_bytes": m.param_bytes, "gradient_bytes": m.gradient_bytes,
                         "optimizer_state_bytes": m.optimizer_state_bytes, "activation_bytes": m.activation_bytes}}


def report_dict(report: Report, layers: bool = True) -> dict:
    t = report.totals
    c = report.conventions
    return {
        "name": report.name,
        "input": list(report.input_shape),
        "output_shape": list(report.output_shape),
        "layers": [layer_dict(r) for r in report.layers] if layers else None,
        "totals": {
            "params": t.params,
            "weights": t.weights,
            "biases": t.biases,
            "non_trainable_params": t.non_trainable_params,
            "macs": t.macs,
            "flops": t.flops,
            "activations": t.activations,
            "param_bytes": t.param_bytes,
            "activation_bytes": t.activation_bytes,
            "activation_bytes_fwd_bwd": t.activation_bytes_fwd_bwd,
            "depth": t.depth,
            "elementwise": dict(t.elementwise),
            **_training(t),
        },
        "conventions": {
            "count_biases": c.count_biases,
            "flops_per_mac": c.flops_per_mac,
            "dtype": c.dtype,
            "bytes_per_value": c.bytes_per_value,
            "batch": c.batch,
            "macs_include": {k: f for k, f in c.macs_include},
            "macs_contain": macs_text(report),
        },
        "warnings": [f"{r.name}: {w}" for r in report.layers for w in r.warnings],
    }


def _kinds(ew) -> str:
    return "{" + ", ".join([f'"{k}": {v}' for k, v in ew.items()]) + "}"


def _ints(xs) -> str:
    return "[" + ", ".join([str(x) for x in xs]) + "]"


def _nums(xs) -> str:
    return "[" + ", ".join([repr(_num(x)) for x in xs]) + "]"


def layer_line(r: LayerResult) -> str:
    """``json.dumps(layer_dict(r), ensure_ascii=False)``, written out directly: ~4× faster,
    and a 100,000-layer report has 100,000 of them (tests hold the two equal)."""
    q = _quote
    warnings = "[" + ", ".join([q(str(w)) for w in r.warnings]) + "]"
    return (f'{{"name": {q(r.name)}, "type": {q(r.type)}, "inputs": [{", ".join([q(x) for x in r.inputs])}], '
            f'"output_shape": {_ints(r.output_shape)}, "params": {r.params}, "weights": {r.weights}, '
            f'"biases": {r.biases}, "non_trainable_params": {r.non_trainable_params}, "macs": {r.macs}, '
            f'"flops": {r.flops}, "elementwise": {_kinds(r.elementwise)}, "activations": {r.activations}, '
            f'"receptive_field": {_nums(r.receptive_field)}, '
            f'"jump": {_nums(r.jump)}, "covers_input": {"true" if r.covers_input else "false"}, '
            f'"depth": {r.depth}, "warnings": {warnings}'
            + (f', "parts": [{", ".join([_ints(x) for x in r.parts])}]' if r.parts else "") + "}")


def render_json(report: Report) -> str:
    """Indented, with each layer on one line: the same JSON, written by the C encoder (an
    indented dump goes through the pure-Python encoder, seconds for 100,000 layers)."""
    return laid_out(report_dict(report, layers=False), [layer_line(r) for r in report.layers])


def laid_out(d: dict, layers: list, listed=("warnings",)) -> str:
    """The report document ``d`` as the JSON formats write it: indented, ``layers`` (already
    written, one string a layer) one a line, and each non-empty list named in ``listed`` one
    item a line."""
    parts = []
    for key, value in d.items():
        if key == "layers":
            inner = ",\n".join(["    " + line for line in layers])
            text = f"[\n{inner}\n  ]"
        elif key in listed and value:
            inner = ",\n".join("    " + json.dumps(v, ensure_ascii=False) for v in value)
            text = f"[\n{inner}\n  ]"
        elif isinstance(value, list):
            text = json.dumps(value, ensure_ascii=False)
        else:
            text = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"
