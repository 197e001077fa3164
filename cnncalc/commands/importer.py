"""`cnncalc import FILE [-o OUT.yaml] [--input HxWxC]`: a model file of another framework
(Caffe .prototxt, ONNX .onnx, Keras .keras / .h5 / .json) → an equivalent spec (cnncalc.importers)."""

# no `from __future__ import annotations`: typer reads the option types from the annotations
from typing import Optional

import typer


def import_model(file: str, output: Optional[str] = None, input_size: Optional[str] = None) -> int:
    """Write the spec of ``file`` to ``output`` (stdout when None); the exit code."""
    import sys
    from pathlib import Path

    from ..cli import error_line
    from ..errors import CnnCalcError, InputError
    from ..importers import NotAModel, load_model
    from ..spec import parse_spec

    try:
        if not Path(file).exists():
            raise InputError(f"{file}: no such file")
        if Path(file).is_dir():
            raise InputError(f"{file}: is a directory, not a model file")
        try:
            text = load_model(file, input_size)
        except NotAModel:
            raise InputError(f"{file}: a cnncalc spec written in JSON, not a Keras model: nothing to import") \
                from None
        parse_spec(text, file)  # the spec written must build: the same checks as any spec
        if output is None:
            sys.stdout.write(text)
        else:
            try:
                Path(output).write_text(text, encoding="utf-8")
            except OSError as e:
                raise InputError(f"{output}: cannot write ({e.strerror or e})") from None
    except CnnCalcError as err:
        sys.stderr.write(error_line(err) + "\n")
        return err.exit_code
    return 0


def register(app) -> None:
    @app.command("import")
    def import_cmd(
        file: str = typer.Argument(..., help="a model file: .prototxt (Caffe), .onnx, .keras, .h5 or .json (Keras)"),
        output: Optional[str] = typer.Option(None, "--output", "-o", help="write the spec to this file instead of "
                                                                          "stdout"),
        input_size: Optional[str] = typer.Option(None, "--input", help="the input size HxWxC (or N), needed when "
                                                                       "the file leaves it open"),
    ) -> None:
        """Convert a model file (Caffe, ONNX, Keras) into a cnncalc spec: the model's own layer names, sizes
        in H×W×C, from: where the graph branches."""
        rc = import_model(file, output, input_size)
        if rc:
            raise typer.Exit(rc)
