"""Reading model files of other frameworks into cnncalc specs, one module per format.

- Caffe ``.prototxt`` (text; read by a small parser of protobuf's text format, no protobuf),
- Keras ``.keras`` (a zip holding ``config.json``), a model ``.json`` config, ``.h5`` (needs
  ``h5py``; only the ``model_config`` attribute is read — no TensorFlow, no Keras),
- ONNX ``.onnx`` (needs the ``onnx`` package: ``pip install 'cnncalc[onnx]'``),
- a PyTorch module, ``torch:MODULE:FACTORY`` (needs ``torch``; traced with ``torch.fx``).

:func:`load_model` returns the spec as YAML text — what ``cnncalc import`` writes and what
``cnncalc FILE.onnx`` analyses — so an imported model goes through the same pipeline (and the
same checks) as a spec written by hand. Nothing here is imported on the YAML path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

SUFFIXES = {".prototxt": "caffe", ".keras": "keras", ".h5": "keras", ".hdf5": "keras", ".json": "keras",
            ".onnx": "onnx"}


class NotAModel(Exception):
    """The file is a cnncalc spec after all (a ``.json`` spec: JSON is YAML), not a model file."""


TORCH_PREFIX = "torch:"


def model_format(path: str) -> Optional[str]:
    """The importer for a file name by its extension (``"torch"`` for ``torch:MODULE:FACTORY``),
    or None for a spec (YAML) or a name."""
    if path.startswith(TORCH_PREFIX):
        return "torch"
    return SUFFIXES.get(Path(path).suffix.lower())


def load_model(path: str, input_size: Optional[str] = None, display: Optional[str] = None) -> str:
    """A model file → the text of an equivalent spec (YAML). ``input_size`` (``224x224x3``)
    sets or overrides the input size; errors are one-line ``CnnCalcError``s."""
    return load_net(path, input_size, display).to_yaml()


def load_net(path: str, input_size: Optional[str] = None, display: Optional[str] = None):
    """A model file → the imported network (cnncalc.importers.common.Net)."""
    from ..core.errors import InputError
    from .common import parse_input_size

    display = display or path
    fmt = model_format(path)
    if fmt is None:
        raise InputError(f"{display}: not a model file cnncalc reads (.prototxt, .onnx, .keras, .h5, .json)")
    size = parse_input_size(input_size)
    if fmt == "torch":
        from .torch_ import read_torch

        return read_torch(path, display, size)
    if fmt == "caffe":
        from .caffe import read_caffe as reader
    elif fmt == "keras":
        from .keras import read_keras as reader
    else:
        from .onnx_ import read_onnx as reader
    from .keras import NotKeras

    try:
        return reader(Path(path), display, size)
    except NotKeras:
        raise NotAModel(display) from None


__all__ = ["load_model", "model_format", "SUFFIXES", "NotAModel", "TORCH_PREFIX", "load_net"]
