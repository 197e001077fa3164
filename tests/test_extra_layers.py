"""depthwise, separable_conv, upsample, multiply (broadcasting), channel_shuffle: hand-computed
figures, and the same network measured by PyTorch (skipped without torch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnncalc import analyze, parse_spec
from cnncalc.core.errors import CnnCalcError

SPEC = Path(__file__).with_name("extra_layers.yaml")


def report():
    return analyze(parse_spec(SPEC.read_text(), str(SPEC)))


def test_hand_computed():
    r = report()
    dw = r.layer("dw")  # 3×3 depthwise, 8 channels, multiplier 2: 3·3·8·2 weights + 16 biases
    assert (dw.output_shape, dw.weights, dw.biases, dw.macs) == ((16, 16, 16), 144, 16, 16 * 16 * 16 * 9)
    sep = r.layer("sep")  # depthwise 3·3·16 (no bias) + pointwise 16·12 + 12 biases, stride 2 same → 8×8
    assert (sep.output_shape, sep.weights, sep.biases) == ((8, 8, 12), 144 + 192, 12)
    assert sep.macs == 8 * 8 * 16 * 9 + 8 * 8 * 12 * 16
    assert r.layer("se").output_shape == (8, 8, 12)  # 8×8×12 × vector 12
    assert r.layer("multiply1").output_shape == (8, 8, 12)  # 8×8×12 × 1×1×12
    assert r.layer("upsample1").output_shape == (16, 16, 12)
    assert r.layer("upsample2").output_shape == (40, 24, 12)


@pytest.mark.parametrize("text,msg", [
    ("input: [4, 4, 6]\nlayers:\n  - channel_shuffle: 4\n", "groups=4 does not divide the 6 channels"),
    ("input: [4, 4, 6]\nlayers:\n  - upsample: {mode: nearest}\n", "either scale or size"),
    ("input: [4, 4, 6]\nlayers:\n  - upsample: {scale: 2, size: 3}\n", "either scale or size"),
    ("input: [4, 4, 6]\nlayers:\n  - conv: {filters: 5, kernel: 1, name: a}\n  - multiply: {from: [input, a]}\n",
     "multiply needs shapes that broadcast"),
])
def test_errors(text, msg):
    with pytest.raises(CnnCalcError) as e:
        analyze(parse_spec(text, "t.yaml"))
    assert msg in e.value.format()


def test_matches_pytorch():
    pytest.importorskip("torch")
    from .test_torch_diff import compare

    compare(parse_spec(SPEC.read_text(), str(SPEC)))
