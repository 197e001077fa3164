"""Make the small model files checked in beside this script, and record each framework's own
figures for them in ``fixtures.json`` (the tests hold cnncalc's import to those figures).

Run from the repository root, in an environment with torch 2.13, onnx, keras 3 and h5py:

    python3 -m venv /tmp/kv && /tmp/kv/bin/pip install torch==2.13.0 keras h5py onnx
    KERAS_BACKEND=torch /tmp/kv/bin/python tests/models/make_fixtures.py

ONNX files come from ``torch.onnx.export`` (the TorchScript exporter, ``dynamo=False``: the
default dynamo exporter needs the onnxscript package), with BatchNormalization kept
(``TrainingMode.PRESERVE``) and a dynamic batch axis (so the export carries the
Shape → Gather → Unsqueeze → Concat → Reshape side graph). Keras files are saved by Keras 3.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent


def torch_figures(model, x):
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = model(x)
    shape = tuple(y.shape[1:])
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "non_trainable": sum(b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked")),
        "macs": counter.get_total_flops() // 2,
        "output_shape": [shape[1], shape[2], shape[0]] if len(shape) == 3 else list(shape),
    }


def make_onnx(figures: dict) -> None:
    import torch
    from torch import nn

    torch.manual_seed(0)

    class SmallCNN(nn.Module):
        """Pad + conv, BN, ReLU, a ceil-mode pool, an SE-style gate, a residual add and
        x.view(x.size(0), -1) — the shapes side graph with a dynamic batch."""

        def __init__(self):
            super().__init__()
            self.pad = nn.ZeroPad2d(1)
            self.conv1 = nn.Conv2d(3, 16, 3, stride=1)
            self.bn1 = nn.BatchNorm2d(16)
            self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)
            self.bn2 = nn.BatchNorm2d(16)
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.se = nn.Conv2d(16, 16, 1)
            self.fc = nn.Linear(16 * 7 * 7, 10)

        def forward(self, x):
            x = self.pool(torch.relu(self.bn1(self.conv1(self.pad(x)))))
            y = nn.functional.relu6(self.bn2(self.dw(x)))
            y = y * torch.sigmoid(self.se(self.gap(y)))
            x = x + y
            x = x.view(x.size(0), -1)
            return self.fc(x)

    model = SmallCNN().eval()
    x = torch.zeros(1, 3, 15, 15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, str(HERE / "small_cnn.onnx"), dynamo=False, input_names=["image"],
                          dynamic_axes={"image": {0: "batch"}}, training=torch.onnx.TrainingMode.PRESERVE,
                          do_constant_folding=False)
    figures["small_cnn.onnx"] = {**torch_figures(model, x), "input": [15, 15, 3], "source": "torch 2.13"}


def make_keras(figures: dict) -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    from keras import layers

    def keras_figures(m):
        non_trainable = sum(int(w.numpy().size) for w in m.non_trainable_weights)
        return {"params": m.count_params() - non_trainable, "non_trainable": non_trainable,
                "output_shape": list(m.output_shape[1:]), "source": f"keras {keras.__version__}"}

    inp = keras.Input((32, 32, 3), name="image")
    x = layers.ZeroPadding2D(((0, 1), (0, 1)), name="pad")(inp)
    x = layers.Conv2D(16, 3, strides=2, use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(max_value=6.0, name="stem_relu")(x)
    a = layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    a = layers.BatchNormalization(name="dw_bn")(a)
    a = layers.Activation("relu", name="dw_relu")(a)
    b = layers.SeparableConv2D(16, 3, padding="same", name="sep")(x)
    x = layers.Add(name="add")([a, b])
    x = layers.Concatenate(name="cat")([x, a])
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.2, name="drop")(x)
    out = layers.Dense(10, activation="softmax", name="head")(x)
    func = keras.Model(inp, out, name="small_functional")
    func.save(HERE / "small_functional.keras")
    figures["small_functional.keras"] = keras_figures(func)

    seq = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(8, 3, activation="relu"),
                            layers.AveragePooling2D(2), layers.Flatten(), layers.Dense(10)], name="small_sequential")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seq.save(HERE / "small_sequential.h5")
    figures["small_sequential.h5"] = keras_figures(seq)


def main() -> None:
    figures: dict = {}
    make_onnx(figures)
    make_keras(figures)
    (HERE / "fixtures.json").write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
