"""Keras 3 as an oracle for the Keras conventions cnncalc follows: a transposed conv with
``padding: same`` or ``valid`` (Conv2DTranspose) and a conv with ``padding: same`` (Conv2D).

Skipped cleanly where Keras is not installed. Keras runs on its torch backend
(``KERAS_BACKEND=torch``; torch 2.13 CPU). To run it::

    python3 -m venv kvenv && kvenv/bin/pip install torch==2.13.0 keras pytest pyyaml typer rich
    PYTHONPATH=. KERAS_BACKEND=torch kvenv/bin/python -m pytest -q -p no:randomly tests/test_keras_oracle.py
"""

from __future__ import annotations

import os
import random

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

from cnncalc import analyze  # noqa: E402
from cnncalc.core.errors import ShapeError  # noqa: E402
from cnncalc.load import parse_spec  # noqa: E402


def _cnncalc(layer: str, h: int, w: int, c: int):
    return analyze(parse_spec(f"input: [{h}, {w}, {c}]\nlayers:\n  - {layer}\n", "<keras>")).layers[-1]


def _keras_run(layer, h: int, w: int, c: int):
    """Output shape (H, W, C) both as Keras infers it and as the layer computes it, and count_params()."""
    inferred = tuple(layer.compute_output_shape((1, h, w, c)))[1:]
    x = np.random.default_rng(0).standard_normal((1, h, w, c)).astype("float32")
    computed = tuple(layer(x).shape)[1:]
    return inferred, computed, layer.count_params()


def _yaml_pair(v):
    return f"[{v[0]}, {v[1]}]"


def test_issue_examples_against_keras():
    # the two cases from issue 10, also worked by hand in test_transposed.py
    layer = keras.layers.Conv2DTranspose(1, (5, 6), strides=4, padding="same", output_padding=(3, 2))
    assert _keras_run(layer, 11, 17, 1)[:2] == ((44, 66, 1), (44, 66, 1))
    layer = keras.layers.Conv2DTranspose(1, 1, strides=3, padding="valid")
    assert _keras_run(layer, 35, 32, 1)[:2] == ((105, 96, 1), (105, 96, 1))


@pytest.mark.parametrize("seed", range(150))
def test_random_conv_transpose_matches_keras(seed):
    rng = random.Random(7000 + seed)
    h, w, c = rng.randint(1, 12), rng.randint(1, 12), rng.randint(1, 4)
    k = rng.randint(1, 4)
    kernel = (rng.randint(1, 6), rng.randint(1, 6))
    stride = (rng.randint(1, 4), rng.randint(1, 4))
    dilation = (1, 1) if rng.random() < 0.7 else (rng.randint(1, 3), rng.randint(1, 3))
    padding = rng.choice(["same", "valid"])
    op = None if rng.random() < 0.4 else (rng.randint(0, stride[0] - 1), rng.randint(0, stride[1] - 1))
    if rng.random() < 0.1:  # now and then an output_padding Keras refuses (not smaller than the stride)
        op = (stride[0], 0)
    bias = rng.random() < 0.5
    text = (f"tconv: {{filters: {k}, kernel: {_yaml_pair(kernel)}, stride: {_yaml_pair(stride)}, "
            f"padding: {padding}, dilation: {_yaml_pair(dilation)}, bias: {str(bias).lower()}"
            + (f", output_padding: {_yaml_pair(op)}" if op is not None else "") + "}")
    try:
        layer = keras.layers.Conv2DTranspose(k, kernel, strides=stride, padding=padding, output_padding=op,
                                             dilation_rate=dilation, use_bias=bias)
    except ValueError:  # Keras refuses the configuration: so must cnncalc
        with pytest.raises(ShapeError):
            _cnncalc(text, h, w, c)
        return
    inferred, computed, n_params = _keras_run(layer, h, w, c)
    assert inferred == computed, "Keras's own shape inference and its torch backend disagree"
    if 0 in inferred:  # Keras returns an empty tensor; cnncalc refuses an output size below 1
        with pytest.raises(ShapeError, match="output size along"):
            _cnncalc(text, h, w, c)
        return
    r = _cnncalc(text, h, w, c)
    assert r.output_shape == inferred, text
    assert r.weights + r.biases == n_params


@pytest.mark.parametrize("seed", range(60))
def test_random_same_conv_matches_keras(seed):
    # Keras defines a 'same' conv's output as ⌈W/S⌉: cnncalc gives it, with no "does not fit" warning
    rng = random.Random(9000 + seed)
    h, w, c = rng.randint(1, 20), rng.randint(1, 20), rng.randint(1, 4)
    k = rng.randint(1, 4)
    kernel = (rng.randint(1, 5), rng.randint(1, 5))
    stride = (rng.randint(1, 4), rng.randint(1, 4))
    layer = keras.layers.Conv2D(k, kernel, strides=stride, padding="same")
    inferred, computed, n_params = _keras_run(layer, h, w, c)
    assert inferred == computed
    r = _cnncalc(f"conv: {{filters: {k}, kernel: {_yaml_pair(kernel)}, stride: {_yaml_pair(stride)}, "
                 "padding: same}", h, w, c)
    assert r.output_shape == inferred == (-(-h // stride[0]), -(-w // stride[1]), k)
    assert r.weights + r.biases == n_params
    assert not [x for x in r.warnings if "do not fit" in x]
