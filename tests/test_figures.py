"""Issue 10, section 3 ("wrong or misleading figures"): each case with figures worked by hand
here (Keras's formulas, the windows of adaptive pooling), or by PyTorch where it is installed."""

from __future__ import annotations

import pytest

from cnncalc import analyze
from cnncalc.errors import ShapeError
from cnncalc.spec import parse_spec

from .conftest import run_cli


def net(text: str, strict: bool = False, **conv):
    from cnncalc.model import Conventions

    return analyze(parse_spec(text, "<t>"), Conventions(**conv), strict=strict)


def one(layer: str, inp: str):
    return net(f"input: {inp}\nlayers:\n  - {layer}\n").layers[-1]


# ---------------------------------------------------------------------------------------------
# transposed convolution: Keras's same / valid (keras/src/backend/common/backend_utils.py)


def test_keras_same_with_output_padding():
    # (W − 1)·S + F − 2⌊F/2⌋ + output_padding: H (11 − 1)·4 + 5 − 4 + 3 = 44, W (17 − 1)·4 + 6 − 6 + 2 = 66
    r = one("tconv: {filters: 1, kernel: [5, 6], stride: 4, padding: same, output_padding: [3, 2]}", "[11, 17, 1]")
    assert r.output_shape == (44, 66, 1)


def test_keras_valid_kernel_smaller_than_stride():
    # W·S + max(F − S, 0): 35·3 + 0 = 105, 32·3 = 96 (PyTorch's padding 0 would give 103×94)
    r = one("tconv: {filters: 1, kernel: 1, stride: 3, padding: valid}", "[35, 32, 1]")
    assert r.output_shape == (105, 96, 1)
    # a kernel wider than the stride: 35·3 + (5 − 3) = 107
    assert one("tconv: {filters: 1, kernel: 5, stride: 3, padding: valid}", "[35, 35, 1]").output_shape[0] == 107


def test_keras_output_padding_written_as_zero_is_not_absent():
    # Keras: no output_padding → same is W·S = 14; output_padding 0 → (7 − 1)·2 + 3 mod 2 + 0 = 13
    assert one("tconv: {filters: 1, kernel: 3, stride: 2, padding: same}", "[7, 7, 1]").output_shape[0] == 14
    assert one("tconv: {filters: 1, kernel: 3, stride: 2, padding: same, output_padding: 0}",
               "[7, 7, 1]").output_shape[0] == 13
    # valid, output_padding 0: (35 − 1)·3 + 1 + 0 = 103 (as PyTorch with padding 0)
    assert one("tconv: {filters: 1, kernel: 1, stride: 3, padding: valid, output_padding: 0}",
               "[35, 35, 1]").output_shape[0] == 103


def test_keras_same_dilated_kernel():
    # stride 1, dilation 2, F = 3 → F_eff = 5; with output_padding 0: (6 − 1)·1 + 5 mod 2 + 0 = 6
    assert one("tconv: {filters: 1, kernel: 3, dilation: 2, padding: same, output_padding: 0}",
               "[6, 6, 1]").output_shape[0] == 6
    # valid: W·S + max(F_eff − S, 0) = 6 + 4 = 10
    assert one("tconv: {filters: 1, kernel: 3, dilation: 2, padding: valid}", "[6, 6, 1]").output_shape[0] == 10


@pytest.mark.parametrize("layer, match", [
    ("tconv: {filters: 1, kernel: 3, stride: 2, padding: same, output_padding: 2}", "smaller than the stride"),
    ("tconv: {filters: 1, kernel: 3, dilation: 2, padding: valid, output_padding: 1}", "smaller than the stride"),
    ("tconv: {filters: 1, kernel: 3, stride: [2, 1], dilation: [1, 2], padding: same}", "dilation above 1"),
])
def test_keras_refusals_are_refused(layer, match):
    with pytest.raises(ShapeError, match=match):
        one(layer, "[7, 7, 1]")


def test_numeric_padding_stays_pytorch():
    # (35 − 1)·3 − 0 + (1 − 1) + 0 + 1 = 103: PyTorch ConvTranspose2d(kernel 1, stride 3, padding 0)
    assert one("tconv: {filters: 1, kernel: 1, stride: 3, padding: 0}", "[35, 35, 1]").output_shape[0] == 103
    # a dilation-sized output_padding stays allowed for PyTorch: (4 − 1)·1 + 2·2 + 1 + 1 = 9
    assert one("tconv: {filters: 1, kernel: 3, dilation: 2, output_padding: 1}", "[4, 4, 1]").output_shape[0] == 9


def test_tconv_cli_issue_examples():
    res = run_cli("tconv", "11x17x1", "--filters", "1", "--kernel", "5x6", "--stride", "4", "--padding", "same",
                  "--output-padding", "3,2", "--format", "json")
    assert res.code == 0 and '"output_shape": [44, 66, 1]' in res.out
    res = run_cli("tconv", "35x32x1", "--filters", "1", "--kernel", "1", "--stride", "3", "--padding", "valid",
                  "--explain")
    assert res.code == 0 and "H_out = 35·3 + max(1 − 3, 0) = 105" in res.out
    assert "W_out = 32·3 + max(1 − 3, 0) = 96" in res.out


# ---------------------------------------------------------------------------------------------
# padding 'same' on a conv or pool is ⌈W/S⌉ by definition: no "does not fit"


def test_same_padding_is_not_a_misfit():
    # ⌈32/2⌉ = 16 with a 1×1 kernel: no padding is needed and the last row is simply not reached
    r = one("conv: {filters: 10, kernel: 1, stride: 2, padding: same}", "[32, 32, 3]")
    assert r.output_shape == (16, 16, 10) and r.warnings == ()
    strict = net("input: [32, 32, 3]\nlayers:\n  - conv: {filters: 10, kernel: 1, stride: 2, padding: same}\n",
                 strict=True)
    assert strict.layers[-1].output_shape == (16, 16, 10)
    # a pool too: ⌈7/2⌉ = 4
    assert one("maxpool: {kernel: 2, stride: 2, padding: same}", "[7, 7, 3]").output_shape == (4, 4, 3)
    res = run_cli("conv", "32x32x3", "--filters", "10", "--kernel", "1", "--stride", "2", "--padding", "same",
                  "--strict", "--explain")
    assert res.code == 0, res.err
    assert "do not fit" not in res.out and "warning" not in res.out
    assert "H_out = ⌈32/2⌉ = 16" in res.out


def test_numeric_padding_still_warns():
    # (32 − 1 + 0)/2 + 1 = 16.5 with padding 0: a real misfit
    assert one("conv: {filters: 1, kernel: 1, stride: 2}", "[32, 32, 3]").warnings


# ---------------------------------------------------------------------------------------------
# --weights-only: no false sum


def test_weights_only_totals_line_is_true():
    res = run_cli("vgg16", "--weights-only")
    assert res.code == 0
    line = next(x for x in res.out.splitlines() if x.startswith("params"))
    # CS231n: VGG16 has 138,344,128 weights and 13,416 biases (1,000 + 2·4,096 + conv filters)
    assert line.split() == ["params", "138,344,128", "(weights", "only;", "biases", "13,416", "not", "counted)"]
    res = run_cli("vgg16")
    line = next(x for x in res.out.splitlines() if x.startswith("params"))
    assert "138,357,544  (weights 138,344,128 + biases 13,416)" in line  # 138,344,128 + 13,416 = 138,357,544
