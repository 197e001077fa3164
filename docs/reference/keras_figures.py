"""Reference figures for cnncalc's Keras specs, from Keras 3 itself (not run in CI).

    python3 -m venv k && k/bin/pip install torch==2.13.0 keras
    KERAS_BACKEND=torch k/bin/python docs/reference/keras_figures.py > docs/reference/keras_figures.json

Each application is built without weights (``weights=None``) at its default input size; the
figures are Keras's own: ``count_params()`` split into trainable and non-trainable weights, the
output shape, and per layer its output shape and weight counts, in the model's layer order.
MACs are not Keras's to count; the PyTorch oracle and torchvision_figures.json give those.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402

MODELS = {
    "keras_efficientnet_b0": ("EfficientNetB0", 224),
    "keras_convnext_tiny": ("ConvNeXtTiny", 224),
}


def _count(weights) -> int:
    total = 0
    for w in weights:
        n = 1
        for d in w.shape:
            n *= int(d)
        total += n
    return total


def figures(builder: str, size: int) -> dict:
    model = getattr(keras.applications, builder)(weights=None, input_shape=(size, size, 3))
    layers = []
    for layer in model.layers:
        out = layer.output.shape if hasattr(layer, "output") else None
        layers.append({"layer": layer.name, "type": type(layer).__name__,
                       "output": [d for d in out[1:]] if out is not None else None,
                       "trainable": _count(layer.trainable_weights),
                       "non_trainable": _count(layer.non_trainable_weights)})
    return {"keras": keras.__version__, "backend": keras.backend.backend(), "builder": builder,
            "input": [size, size, 3], "output": list(model.output.shape[1:]),
            "params": model.count_params(), "trainable": _count(model.trainable_weights),
            "non_trainable": _count(model.non_trainable_weights), "layers": layers}


def main(argv) -> int:
    names = argv[1:] or list(MODELS)
    out = sys.stdout
    out.write("{\n")
    for i, n in enumerate(names):
        fig = figures(*MODELS[n])
        layers = fig.pop("layers")
        out.write(f" {json.dumps(n)}: {{\n")
        for k, v in fig.items():
            out.write(f"  {json.dumps(k)}: {json.dumps(v)},\n")
        out.write('  "layers": [\n' + ",\n".join("   " + json.dumps(x) for x in layers) + "\n  ]\n")
        out.write(" }" + ("," if i < len(names) - 1 else "") + "\n")
    out.write("}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
