"""`cnncalc import FILE [-o OUT.yaml] [--input HxWxC]`: a model file of another framework
(Caffe .prototxt, ONNX .onnx, Keras .keras / .h5 / .json) or a PyTorch module (torch:MODULE:FACTORY) → an
equivalent spec (cnncalc.importers)."""

from __future__ import annotations

from typing import Optional

from . import report_error


def import_model(file: str, output: Optional[str] = None, input_size: Optional[str] = None,
                 compact: bool = False, debug: bool = False) -> int:
    """Write the spec of ``file`` to ``output`` (stdout when None); the exit code."""
    from pathlib import Path

    from ...core.errors import CnnCalcError, InputError
    from ...importers import TORCH_PREFIX, NotAModel, load_net
    from ...load import parse_spec
    from .show import write_out

    try:
        if file.startswith(TORCH_PREFIX):
            pass  # a PyTorch module: torch:MODULE:FACTORY
        elif not Path(file).exists():
            raise InputError(f"{file}: no such file")
        if Path(file).is_dir():
            raise InputError(f"{file}: is a directory, not a model file")
        try:
            net = load_net(file, input_size)
        except NotAModel:
            raise InputError(f"{file}: a cnncalc spec written in JSON, not a Keras model: nothing to import") \
                from None
        if compact:  # blocks and repeat where the names number repetitions; the same figures, or plain
            from ...importers.compact import compact as fold

            text, _ = fold(net)
        else:
            text = net.to_yaml()
        parse_spec(text, file)  # the spec written must build: the same checks as any spec
    except CnnCalcError as err:
        return report_error(err)
    return write_out(text, output)
