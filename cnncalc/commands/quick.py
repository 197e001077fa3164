"""Quick single-layer questions: `cnncalc conv | pool | dense | tconv SIZE …`.

Each builds a one-layer spec and sends it down the same path as a spec file (build_graph →
analyze → render), so `--format json` is the JSON contract of a one-layer network.
"""

import re
from fractions import Fraction
from typing import Optional

import typer

SOURCE = "<command line>"


def graph_layer_name(layer_type: str) -> str:
    """The name the graph builder gives the one layer (conv → conv1)."""
    from ..layers import canonical

    return f"{canonical(layer_type) or layer_type}1"


def _ints(text: str, what: str, allow: tuple = (1, 2)) -> object:
    """``3`` → 3, ``3x5`` / ``3,5`` → [3, 5] (and 4 numbers where allowed)."""
    from ..errors import InputError

    parts = [p for p in re.split(r"\s*[x×X,]\s*", str(text).strip().strip("()[]")) if p != ""]
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
    from ..errors import InputError
    from ..layers.base import ParamError
    from ..sizes import parse_size

    try:
        size = parse_size(text)
    except ParamError as e:
        raise InputError(f"the input size {e.message}", received=repr(text)) from None
    if vector and len(size) != 1:
        raise InputError("dense takes a vector size N (flatten first: H·W·C)", received=repr(text))
    return list(size) if len(size) > 1 else size[0]


def _print_summary(report) -> None:
    from ..render.common import describe

    r = report.layers[-1]
    inp = report.layers[0]
    shape = "×".join(str(x) for x in r.output_shape)
    lines = [f"{describe(r)} on {'×'.join(str(x) for x in inp.output_shape)}",
             f"  output       {shape}"]
    if report.conventions.count_biases:
        lines.append(f"  params       {r.params:,}  ({r.weights:,} weights + {r.biases:,} biases)")
    else:
        lines.append(f"  params       {r.params:,}  (weights only; {r.biases:,} biases not counted)")
    lines.append(f"  MACs         {r.macs:,}  (FLOPs {r.flops:,})")
    lines.append(f"  activations  {r.activations:,}  (output elements; "
                 f"{r.activations * report.conventions.bytes_per_value:,} B at {report.conventions.dtype})")
    from ..layers.base import frac_text

    rf, j = [frac_text(Fraction(x)) for x in r.receptive_field], [frac_text(Fraction(x)) for x in r.jump]
    lines.append(f"  receptive field {rf[0]}×{rf[1]}, jump {j[0]}×{j[1]}")
    for w in r.warnings:
        lines.append(f"  warning: {w}")
    typer.echo("\n".join(lines))


def run_quick(layer_type: str, size, params: dict, *, fmt, exact_numbers: bool, explain: bool, strict: bool,
              dtype, batch: int, weights_only: bool) -> None:
    """Build, analyse and print a one-layer network; errors become one line and exit 2."""
    from ..analysis import analyze
    from ..cli import Format, conventions, emit, fail
    from ..errors import CnnCalcError

    try:
        from ..spec.build import build_graph

        doc = {"name": layer_type, "input": size,
               "layers": [{layer_type: {k: v for k, v in params.items() if v is not None}}]}
        graph = build_graph(doc, SOURCE, layer_type)
        report = analyze(graph, conventions(dtype, batch, weights_only), strict=strict)
    except CnnCalcError as err:
        # a file:line:col and a generated layer name mean nothing on a command line
        if err.loc is not None and err.loc.file == SOURCE:
            err.loc = None
        if err.layer == graph_layer_name(layer_type):
            err.layer = layer_type
        fail(err)
    if explain:
        from ..explain import layer_lines

        r = report.layers[-1]
        if fmt is not Format.table:
            emit(report, fmt, exact_numbers)
            return
        _print_summary(report)
        typer.echo("")
        typer.echo("Worked:")
        for _, text in layer_lines(report, r):
            typer.echo(f"  {text}")
        return
    if fmt is Format.table:
        _print_summary(report)
    else:
        emit(report, fmt, exact_numbers)


def register(app) -> None:
    """Add `conv`, `pool`, `dense` and `tconv` to the typer app."""
    from ..cli import Dtype, Format

    fmt_opt = typer.Option(Format.table, "--format", "-f", case_sensitive=False, help="output format")
    exact_opt = typer.Option(False, "--exact", help="full integers instead of K/M/G (tables)")
    explain_opt = typer.Option(False, "--explain", help="show every figure with its worked formula")
    strict_opt = typer.Option(False, "--strict", help="a size that does not divide is an error (exit 2)")
    dtype_opt = typer.Option(Dtype.float32, "--dtype", case_sensitive=False, help="bytes per value")
    batch_opt = typer.Option(1, "--batch", min=1, help="batch size for memory")
    wo_opt = typer.Option(False, "--weights-only", help="count params without biases (CS231n)")
    debug_opt = typer.Option(False, "--debug", help="show a traceback on internal errors")

    @app.command("conv")
    def conv_cmd(
        size: str = typer.Argument(..., help="input H×W×C: 32x32x3, 32×32×3 or 32,32,3"),
        filters: int = typer.Option(..., "--filters", "-k", help="number of filters K"),
        kernel: str = typer.Option(..., "--kernel", help="F, or FhxFw"),
        stride: str = typer.Option("1", "--stride", "-s", help="S, or ShxSw"),
        padding: str = typer.Option("0", "--padding", "-p", help="P, Ph,Pw, top,bottom,left,right, same or valid"),
        dilation: str = typer.Option("1", "--dilation", "-d", help="d (1 = dense kernel)"),
        groups: int = typer.Option(1, "--groups", "-g", help="channel groups"),
        no_bias: bool = typer.Option(False, "--no-bias", help="no bias per filter"),
        fmt: Format = fmt_opt, exact_numbers: bool = exact_opt, explain: bool = explain_opt,
        strict: bool = strict_opt, dtype: Dtype = dtype_opt, batch: int = batch_opt,
        weights_only: bool = wo_opt, debug: bool = debug_opt,
    ) -> None:
        """One convolution: output size, params, MACs, activations."""
        from ..cli import fail
        from ..errors import CnnCalcError

        try:
            params = {"filters": filters, "kernel": _ints(kernel, "kernel"), "stride": _ints(stride, "stride"),
                      "padding": _padding(padding), "dilation": _ints(dilation, "dilation"), "groups": groups,
                      "bias": not no_bias}
            inp = _size(size)
        except CnnCalcError as err:
            fail(err)
        run_quick("conv", inp, params, fmt=fmt, exact_numbers=exact_numbers, explain=explain, strict=strict,
                  dtype=dtype, batch=batch, weights_only=weights_only)

    @app.command("tconv")
    def tconv_cmd(
        size: str = typer.Argument(..., help="input H×W×C: 7x7x64"),
        filters: int = typer.Option(..., "--filters", "-k", help="number of filters K"),
        kernel: str = typer.Option(..., "--kernel", help="F, or FhxFw"),
        stride: str = typer.Option("1", "--stride", "-s", help="S, or ShxSw"),
        padding: str = typer.Option("0", "--padding", "-p", help="P, Ph,Pw, same (O = W·S) or valid"),
        output_padding: str = typer.Option("0", "--output-padding", help="extra size on one side (< stride)"),
        dilation: str = typer.Option("1", "--dilation", "-d", help="d (1 = dense kernel)"),
        groups: int = typer.Option(1, "--groups", "-g", help="channel groups"),
        no_bias: bool = typer.Option(False, "--no-bias", help="no bias per filter"),
        fmt: Format = fmt_opt, exact_numbers: bool = exact_opt, explain: bool = explain_opt,
        strict: bool = strict_opt, dtype: Dtype = dtype_opt, batch: int = batch_opt,
        weights_only: bool = wo_opt, debug: bool = debug_opt,
    ) -> None:
        """One transposed convolution: O = (W − 1)·S − 2P + d·(F − 1) + output_padding + 1."""
        from ..cli import fail
        from ..errors import CnnCalcError

        try:
            params = {"filters": filters, "kernel": _ints(kernel, "kernel"), "stride": _ints(stride, "stride"),
                      "padding": _padding(padding), "output_padding": _ints(output_padding, "output-padding"),
                      "dilation": _ints(dilation, "dilation"), "groups": groups, "bias": not no_bias}
            inp = _size(size)
        except CnnCalcError as err:
            fail(err)
        run_quick("conv_transpose", inp, params, fmt=fmt, exact_numbers=exact_numbers, explain=explain,
                  strict=strict, dtype=dtype, batch=batch, weights_only=weights_only)

    @app.command("pool")
    def pool_cmd(
        size: str = typer.Argument(..., help="input H×W×C: 224x224x64"),
        kernel: str = typer.Option(..., "--kernel", help="F, or FhxFw"),
        stride: Optional[str] = typer.Option(None, "--stride", "-s", help="S (default: the kernel)"),
        padding: str = typer.Option("0", "--padding", "-p", help="P, Ph,Pw, same or valid"),
        avg: bool = typer.Option(False, "--avg", help="average pooling (default: max)"),
        ceil_mode: bool = typer.Option(False, "--ceil-mode", help="round the size up (Caffe)"),
        fmt: Format = fmt_opt, exact_numbers: bool = exact_opt, explain: bool = explain_opt,
        strict: bool = strict_opt, dtype: Dtype = dtype_opt, batch: int = batch_opt,
        weights_only: bool = wo_opt, debug: bool = debug_opt,
    ) -> None:
        """One pooling layer (max, or --avg)."""
        from ..cli import fail
        from ..errors import CnnCalcError

        try:
            params = {"kernel": _ints(kernel, "kernel"), "stride": None if stride is None else _ints(stride, "stride"),
                      "padding": _padding(padding), "ceil_mode": ceil_mode}
            inp = _size(size)
        except CnnCalcError as err:
            fail(err)
        run_quick("avgpool" if avg else "maxpool", inp, params, fmt=fmt, exact_numbers=exact_numbers,
                  explain=explain, strict=strict, dtype=dtype, batch=batch, weights_only=weights_only)

    @app.command("dense")
    def dense_cmd(
        size: str = typer.Argument(..., help="input vector length N"),
        units: int = typer.Option(..., "--units", "-u", help="number of outputs"),
        no_bias: bool = typer.Option(False, "--no-bias", help="no bias per output"),
        fmt: Format = fmt_opt, exact_numbers: bool = exact_opt, explain: bool = explain_opt,
        strict: bool = strict_opt, dtype: Dtype = dtype_opt, batch: int = batch_opt,
        weights_only: bool = wo_opt, debug: bool = debug_opt,
    ) -> None:
        """One fully connected layer."""
        from ..cli import fail
        from ..errors import CnnCalcError

        try:
            inp = _size(size, vector=True)
        except CnnCalcError as err:
            fail(err)
        run_quick("dense", inp, {"units": units, "bias": not no_bias}, fmt=fmt, exact_numbers=exact_numbers,
                  explain=explain, strict=strict, dtype=dtype, batch=batch, weights_only=weights_only)
