"""Quick single-layer questions: `cnncalc conv | pool | dense | tconv SIZE …`.

Each builds a one-layer spec and sends it down the same path as a spec file (build_graph →
analyze → render), so `--format json` is the JSON contract of a one-layer network.
"""

from __future__ import annotations

import sys
from fractions import Fraction

SOURCE = "<command line>"


def graph_layer_name(layer_type: str) -> str:
    """The name the graph builder gives the one layer (conv → conv1)."""
    from ...layers import auto_name, canonical

    return auto_name(canonical(layer_type) or layer_type, 1)


def _ints(text: str, what: str, allow: tuple = (1, 2)) -> object:
    """``3`` → 3, ``3x5`` / ``3,5`` → [3, 5] (and 4 numbers where allowed)."""
    from ...core.errors import InputError
    from ...core.figures import SIZE_SEP

    parts = [p for p in SIZE_SEP.split(str(text).strip().strip("()[]")) if p != ""]
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise InputError(f"--{what} must be a whole number or H,W", received=repr(text)) from None
    if len(nums) not in allow:
        raise InputError(f"--{what} takes {' or '.join(str(n) for n in allow)} numbers", received=repr(text))
    return nums[0] if len(nums) == 1 else nums


def _padding(text: str):
    t = str(text).strip().lower()
    if t in ("same", "valid"):
        return t
    return _ints(t, "padding", (1, 2, 4))


def _size(text: str, vector: bool = False):
    from ...core.errors import InputError
    from ...layers.base import ParamError
    from ...core.sizes import parse_size

    try:
        size = parse_size(text)
    except ParamError as e:
        raise InputError(f"the input size {e.message}", received=repr(text)) from None
    if vector and len(size) != 1:
        raise InputError("dense takes a vector size N (flatten first: H·W·C)", received=repr(text))
    return list(size) if len(size) > 1 else size[0]


def _print_summary(report) -> None:
    from ...core.figures import activation_bytes
    from ...render.common import describe
    from ...render.warnings import plural

    r = report.layers[-1]
    inp = report.layers[0]
    shape = "×".join(str(x) for x in r.output_shape)
    lines = [f"{describe(r)} on {'×'.join(str(x) for x in inp.output_shape)}",
             f"  output       {shape}"]
    if report.conventions.count_biases:
        lines.append(f"  params       {r.params:,}  "
                     f"({plural(r.weights, 'weight')} + {plural(r.biases, 'bias', 'biases')})")
    else:
        lines.append(f"  params       {r.params:,}  (weights only; {plural(r.biases, 'bias', 'biases')} not counted)")
    lines.append(f"  MACs         {r.macs:,}  (FLOPs {r.flops:,})")
    if r.elementwise:  # beside the MACs, by kind (README: Counting conventions)
        lines.append("  element-wise " + " · ".join(f"{k} {v:,}" for k, v in r.elementwise.items()))
    c = report.conventions
    lines.append(f"  activations  {r.activations:,}  (output elements; "
                 f"{activation_bytes(r.activations, c):,} B at {c.dtype}"
                 + (f", batch {c.batch})" if c.batch != 1 else ")"))
    from ...layers.base import frac_text

    rf, j = [frac_text(Fraction(x)) for x in r.receptive_field], [frac_text(Fraction(x)) for x in r.jump]
    lines.append(f"  receptive field {rf[0]}×{rf[1]}, jump {j[0]}×{j[1]}"
                 + ("  (covers the whole input)" if r.covers_input else ""))
    for w in r.warnings:
        lines.append(f"  warning: {w}")
    sys.stdout.write("\n".join(lines) + "\n")


def run_quick(layer_type: str, size, params: dict, *, fmt, exact_numbers: bool, explain: bool, strict: bool,
              dtype, batch: int, weights_only: bool, macs_include=None) -> int:
    """Build, analyse and print a one-layer network; errors become one line and exit 2."""
    from ...core.analysis import analyze
    from ...core.errors import CnnCalcError
    from ..options import EXIT_OK, Format
    from . import conventions, emit, report_error
    from .show import refuse_explain_format

    try:
        from ...load.build import build_graph

        refuse_explain_format(explain, fmt)
        doc = {"name": layer_type, "input": size,
               "layers": [{layer_type: {k: v for k, v in params.items() if v is not None}}]}
        graph = build_graph(doc, SOURCE, layer_type)
        report = analyze(graph, conventions(dtype, batch, weights_only, macs_include=macs_include), strict=strict)
    except CnnCalcError as err:
        # a file:line:col and a generated layer name mean nothing on a command line
        if err.loc is not None and err.loc.file == SOURCE:
            err.loc = None
        if err.layer == graph_layer_name(layer_type):
            err.layer = layer_type
        return report_error(err)
    if explain and fmt is Format.json:
        from ...render.explained import explain_json

        sys.stdout.write(explain_json(report))
    elif explain:
        from ...render.explain import layer_lines

        _print_summary(report)
        sys.stdout.write("\nWorked:\n" + "".join(f"  {text}\n" for _, text in layer_lines(report, report.layers[-1])))
    elif fmt is Format.table:
        _print_summary(report)
    else:
        emit(report, fmt, exact_numbers)
    return EXIT_OK


def _quick(layer_type: str, build, size: str, vector: bool, kw: dict) -> int:
    """Read the layer's options (``build`` → its parameters) and the size, then run it."""
    from ...core.errors import CnnCalcError
    from . import report_error

    try:
        params = build()
        inp = _size(size, vector=vector)
    except CnnCalcError as err:
        return report_error(err)
    return run_quick(layer_type, inp, params, fmt=kw["fmt"], exact_numbers=kw["exact_numbers"],
                     explain=kw["explain"], strict=kw["strict"], dtype=kw["dtype"], batch=kw["batch"],
                     weights_only=kw["weights_only"], macs_include=kw.get("macs_include"))


def conv(size: str, filters: int, kernel: str, stride: str = "1", padding: str = "0", dilation: str = "1",
         groups: int = 1, no_bias: bool = False, **kw) -> int:
    """``cnncalc conv``: one convolution."""
    return _quick("conv", lambda: {
        "filters": filters, "kernel": _ints(kernel, "kernel"), "stride": _ints(stride, "stride"),
        "padding": _padding(padding), "dilation": _ints(dilation, "dilation"), "groups": groups,
        "bias": not no_bias}, size, False, kw)


def tconv(size: str, filters: int, kernel: str, stride: str = "1", padding: str = "0", output_padding=None,
          dilation: str = "1", groups: int = 1, no_bias: bool = False, **kw) -> int:
    """``cnncalc tconv``: one transposed convolution."""
    return _quick("conv_transpose", lambda: {
        "filters": filters, "kernel": _ints(kernel, "kernel"), "stride": _ints(stride, "stride"),
        "padding": _padding(padding),
        "output_padding": None if output_padding is None else _ints(output_padding, "output-padding"),
        "dilation": _ints(dilation, "dilation"), "groups": groups, "bias": not no_bias}, size, False, kw)


def pool(size: str, kernel: str, stride=None, padding: str = "0", avg: bool = False, ceil_mode: bool = False,
         **kw) -> int:
    """``cnncalc pool``: one pooling layer (max, or --avg)."""
    return _quick("avgpool" if avg else "maxpool", lambda: {
        "kernel": _ints(kernel, "kernel"), "stride": None if stride is None else _ints(stride, "stride"),
        "padding": _padding(padding), "ceil_mode": ceil_mode}, size, False, kw)


def dense(size: str, units: int, no_bias: bool = False, **kw) -> int:
    """``cnncalc dense``: one fully connected layer."""
    return _quick("dense", lambda: {"units": units, "bias": not no_bias}, size, True, kw)
