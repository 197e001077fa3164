"""`cnncalc SPEC` (show), `cnncalc list` and `cnncalc show-spec`."""

from __future__ import annotations

import sys
from typing import Optional

from ..options import EXIT_ERROR, EXIT_OK, Dtype, Format, ListFormat
from . import conventions, emit, keep_until_exit, report_error

STDIN = "-"
STDIN_NAME = "<stdin>"


def read_stdin() -> str:
    """Standard input as spec text, under the same size limit as a file."""
    from ...core.errors import InputError, LimitError
    from ...core.limits import MAX_SPEC_BYTES

    try:
        buf = getattr(sys.stdin, "buffer", None)
        if buf is not None:
            data = buf.read(MAX_SPEC_BYTES + 1)
            text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        elif sys.stdin is None:
            raise InputError(f"{STDIN_NAME}: there is no standard input")
        else:  # a text stream (tests)
            text = sys.stdin.read(MAX_SPEC_BYTES + 1)
    except UnicodeDecodeError:
        raise InputError(f"{STDIN_NAME}: the input is not UTF-8 text") from None
    except OSError as e:
        raise InputError(f"{STDIN_NAME}: cannot read standard input ({e.strerror or e})") from None
    if len(text) > MAX_SPEC_BYTES:
        raise LimitError(f"standard input is over the {MAX_SPEC_BYTES:,}-byte limit (MAX_SPEC_BYTES; set "
                         "CNNCALC_MAX_SPEC_BYTES to raise it)")
    return text


def load_graph(spec: Optional[str], expr: Optional[str] = None, input_size: Optional[str] = None):
    """SPEC (a path, a built-in name, or - for standard input) or -e EXPR, with --input applied."""
    from ...load.dsl import load_spec_or_expr

    if spec == STDIN and expr is None:
        from ...load import parse_spec

        graph = parse_spec(read_stdin(), STDIN_NAME, "stdin")
    elif expr is None and spec is not None and input_size is not None and model_file(spec):
        graph = load_model_graph(spec, input_size)  # the size may be what the file leaves open
    else:
        graph = load_spec_or_expr(spec, expr)
    if input_size is not None:
        graph = with_input(graph, input_size)
    return graph


def model_file(spec: str) -> bool:
    from pathlib import Path

    from ...importers import model_format

    fmt = model_format(spec)
    return fmt == "torch" or fmt is not None and Path(spec).is_file()


def load_model_graph(spec: str, input_size: str):
    """A model file of another framework read with ``--input`` as its input size."""
    from ...importers import NotAModel, load_model
    from ...load import load_spec, parse_spec

    try:
        return parse_spec(load_model(spec, input_size), spec)
    except NotAModel:  # a spec written in JSON
        return load_spec(spec)


def with_input(graph, text: str):
    """``--input``: the graph with another input size (its home: cnncalc.load.with_input; imported
    when used, to keep the start fast)."""
    from ...load import with_input as replace_input

    return replace_input(graph, text)


def show(spec: Optional[str] = None, expr: Optional[str] = None, input_size: Optional[str] = None,
         depth: Optional[int] = None, fmt: Format = Format.table, exact_numbers: bool = False,
         explain: bool = False, warnings: bool = False, dtype: Dtype = Dtype.float32, batch: int = 1,
         weights_only: bool = False, strict: bool = False, train=None, output: Optional[str] = None,
         macs_include: Optional[str] = None, debug: bool = False) -> int:
    """``cnncalc show``: read, analyse and print one network; returns the exit code."""
    from ...core.analysis import analyze
    from ...core.errors import CnnCalcError

    try:
        refuse_explain_format(explain, fmt)
        graph = load_graph(spec, expr, input_size)
        report = analyze(graph, conventions(dtype, batch, weights_only, train, macs_include))
        if strict:
            from ...verify.check import strict_error

            err = strict_error(report)
            if err is not None:
                raise err
    except CnnCalcError as err:
        return report_error(err)
    keep_until_exit(report)
    if explain:
        from ...render.explained import explain_json, explain_text

        if fmt is Format.json:
            sys.stdout.write(explain_json(report, depth))
        else:
            sys.stdout.write(explain_text(report, depth))
        return EXIT_OK
    if fmt in PICTURES:  # they draw every layer, blocks collapsed at depth
        from ...render import render

        return write_out(render(report, fmt.value, depth=depth), output)
    if depth is not None:
        from ...core.collapse import collapse

        report = collapse(report, depth)
    if output is not None:
        from ...render import render

        text = render(report, fmt.value, exact_numbers=exact_numbers)
        return write_out(text if text.endswith("\n") else text + "\n", output)
    emit(report, fmt, exact_numbers, all_warnings=warnings)
    return EXIT_OK


PICTURES = (Format.html, Format.dot, Format.mermaid)


def write_out(text: str, output: Optional[str]) -> int:
    """``text`` to the file named by -o (one error line when it cannot be written), or to stdout."""
    if output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        from ...core.errors import InputError

        return report_error(InputError(f"{output}: cannot write ({e.strerror or e})"))
    return EXIT_OK


def refuse_explain_format(explain: bool, fmt: Format) -> None:
    """--explain writes text (the table format) or JSON; csv and markdown have no place for it."""
    if explain and fmt not in (Format.table, Format.json):
        from ...core.errors import InputError

        raise InputError(f"--explain prints text or JSON (--format json), not {fmt.value}")


def list_specs(fmt: ListFormat = ListFormat.text, debug: bool = False) -> int:
    """``cnncalc list``: the built-in networks, by name or (json) with their figures."""
    from ...load import builtin_names

    names = builtin_names()
    if fmt is ListFormat.text:
        sys.stdout.write("".join(f"{n}\n" for n in names))
        return EXIT_OK
    import json

    from ...core.analysis import analyze
    from ...core.errors import CnnCalcError
    from ...load import builtin_dir, load_spec

    out = []
    try:
        for n in names:
            report = analyze(load_spec(n))
            t = report.totals
            out.append({"name": n, "network": report.name, "file": str(builtin_dir() / f"{n}.yaml"),
                        "input": list(report.input_shape), "output_shape": list(report.output_shape),
                        "layers": len(report.layers) - 1, "params": t.params, "macs": t.macs})
    except CnnCalcError as err:  # pragma: no cover - the shipped specs build (tested)
        return report_error(err)
    sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK


def show_spec(spec: str, debug: bool = False) -> int:
    """``cnncalc show-spec NAME``: the spec's YAML text as written (built-in names and files)."""
    from ...core.errors import CnnCalcError
    from ...load import resolve

    from ...core.errors import InputError
    from ...load.yamlio import load_yaml

    try:
        text, display = (read_stdin(), "<stdin>") if spec == STDIN else resolve(spec)
        doc = load_yaml(text, display)  # a spec, not any file: a mapping with its layers
        if not isinstance(doc, dict) or "layers" not in doc:
            raise InputError(f"{display}: not a spec (a YAML mapping with 'layers:')")
    except CnnCalcError as err:
        return report_error(err)
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    return EXIT_OK if text else EXIT_ERROR
