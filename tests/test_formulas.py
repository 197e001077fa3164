"""Each formula against worked examples from textbooks, course notes and framework docs.

Expected values are the ones printed in those sources (CS231n notes, the course slides,
TensorFlow / Keras documentation examples, REFERENCE.md), not values computed by cnncalc.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from cnncalc.core import formulas as fm
from cnncalc.core.analysis import analyze
from cnncalc.load import parse_spec


def net(text: str):
    return analyze(parse_spec(text, "<test>"))


# -- output size ---------------------------------------------------------------------------

@pytest.mark.parametrize("w,f,s,p,expected,fits", [
    (7, 3, 1, 0, 5, True),       # CS231n: 7×7 input, 3×3 filter, stride 1 → 5×5
    (7, 3, 2, 0, 3, True),       # CS231n: stride 2 → 3×3
    (32, 5, 1, 2, 32, True),     # CS231n: 32×32, 5×5, pad 2 keeps the size
    (227, 11, 4, 0, 55, True),   # AlexNet conv1: 227 → 55
    (224, 11, 4, 0, 54, False),  # the paper's "224" does not give 55: (224 − 11)/4 + 1 = 54.25
    (224, 3, 1, 1, 224, True),   # VGG 3×3, pad 1
    (224, 7, 2, 3, 112, False),  # ResNet stem: (224 − 7 + 6)/2 + 1 = 112.5, PyTorch floors
    (6, 3, 1, 0, 4, True),       # the slide's 6×6 image, 3×3 filter, stride 1 → 4×4
    (6, 3, 2, 0, 2, False),      # stride 2 → 2×2 (2.5 floored)
])
def test_conv_output_size(w, f, s, p, expected, fits):
    r = fm.conv_output(w, f, s, p, p)
    assert r.size == expected
    assert r.fits is fits


def test_size_that_does_not_fit_is_a_fraction():
    # CS231n: W=10, F=3, P=0, S=2 gives (10 − 3)/2 + 1 = 4.5: "doesn't fit"
    r = fm.conv_output(10, 3, 2)
    assert r.exact == Fraction(9, 2)
    assert not r.fits
    assert r.size == 4  # PyTorch floors


def test_dilated_kernel():
    assert fm.effective_kernel(3, 1) == 3
    assert fm.effective_kernel(3, 2) == 5   # PyTorch dilation=2: a 3×3 kernel spans 5×5
    assert fm.effective_kernel(3, 3) == 7
    assert fm.conv_output(7, 3, 1, 0, 0, d=2).size == 3


def test_tf_same_padding_example():
    # TensorFlow: 10×10×3 input, 64 filters 5×5, stride 2, SAME → 5×5×64 (REFERENCE.md)
    assert fm.same_padding(10, 5, 2)[0] == 5
    r = net("input: [10, 10, 3]\nlayers: [{conv: {filters: 64, kernel: 5, stride: 2, padding: same}}]")
    assert r.output_shape == (5, 5, 64)
    assert r.totals.params == 4864
    assert r.totals.macs == 120000


def test_keras_same_then_flatten():
    # Keras: Conv2D(64, 3×3, padding="same") on 32×32×3 → Flatten → 65,536 (the seed's example)
    r = net("input: [32, 32, 3]\nlayers:\n  - conv: {filters: 64, kernel: 3, padding: same}\n  - flatten")
    assert r.output_shape == (65536,)
    assert r.totals.params == 1792
    assert r.totals.macs == 1769472


@pytest.mark.parametrize("w,expected", [(112, 56), (56, 28), (28, 14), (14, 7)])
def test_googlenet_ceil_pools(w, expected):
    # GoogLeNet's 3×3/2 max pools need Caffe's ceil rounding (REFERENCE.md)
    assert fm.pool_output(w, 3, 2, ceil_mode=True).size == expected


def test_ceil_mode_drops_window_starting_in_padding():
    # PyTorch: MaxPool2d(2, 2, padding=1, ceil_mode=True) on 5 → 3, not 4: the 4th window
    # would start at index 6 ≥ 5 + 1 (entirely in the right padding)
    assert fm.pool_output(5, 2, 2, p=1, ceil_mode=True).size == 3
    assert fm.pool_output(7, 2, 2, ceil_mode=True).size == 4  # the X/O toy: 7 → 4


def test_transposed_conv_formula():
    # (W − 1)S − 2P + d(F − 1) + output_padding + 1: 7 → 14 with F=3, S=2, P=1, op=1
    assert fm.transposed_conv_output(7, 3, 2, 1, 1) == 14
    assert fm.transposed_conv_output(4, 4, 2, 1) == 8  # DCGAN's 4×4/2 upsampling


# -- parameters and MACs -------------------------------------------------------------------

def test_cs231n_conv_example_params():
    # CS231n: 32×32×3 input, 10 filters 5×5, stride 1, pad 2: each filter 5·5·3 + 1 = 76 → 760
    r = net("input: [32, 32, 3]\nlayers: [{conv: {filters: 10, kernel: 5, stride: 1, padding: 2}}]")
    assert r.output_shape == (32, 32, 10)
    assert r.totals.params == 760


def test_six_by_six_example():
    # The slide's 6×6 image with two 3×3 filters, no bias: 18 params; 288 MACs at stride 1, 72 at 2
    s1 = net("input: [6, 6, 1]\nlayers: [{conv: {filters: 2, kernel: 3, bias: false}}]")
    s2 = net("input: [6, 6, 1]\nlayers: [{conv: {filters: 2, kernel: 3, stride: 2, bias: false}}]")
    assert (s1.output_shape, s1.totals.params, s1.totals.macs) == ((4, 4, 2), 18, 288)
    assert (s2.output_shape, s2.totals.params, s2.totals.macs) == ((2, 2, 2), 18, 72)


def test_fc_layers_without_bias():
    # Slide "FC Layer": 3 → 4 → 4 → 1, parameters 3×4 = 12, 4×4 = 16, 4×1 = 4
    r = net("input: 3\nlayers:\n  - dense: {units: 4, bias: false}\n  - dense: {units: 4, bias: false}\n"
            "  - dense: {units: 1, bias: false}")
    assert [x.params for x in r.layers[1:]] == [12, 16, 4]
    assert r.totals.params == 32 and r.totals.macs == 32


def test_three_3x3_convs_vs_one_7x7():
    # CS231n: three stacked 3×3 convs have a 7×7 receptive field and 3·(3²C²) = 27C² weights
    # against 49C² for one 7×7 (C = 64 here)
    c = 64
    layer = f"  - conv: {{filters: {c}, kernel: 3, padding: 1, bias: false}}\n"
    three = net(f"input: [56, 56, {c}]\nlayers:\n" + layer * 3)
    one = net(f"input: [56, 56, {c}]\nlayers: [{{conv: {{filters: {c}, kernel: 7, padding: 3, bias: false}}}}]")
    assert three.layers[-1].receptive_field == (7, 7)
    assert one.layers[-1].receptive_field == (7, 7)
    assert three.totals.params == 27 * c * c
    assert one.totals.params == 49 * c * c


def test_grouped_conv_alexnet_conv4():
    # REFERENCE.md: AlexNet conv4 grouped (2 GPUs) 663,552 weights and 112,140,288 MACs;
    # ungrouped 1,327,104 weights and 224,280,576 MACs
    g = net("input: [13, 13, 384]\nlayers: [{conv: {filters: 384, kernel: 3, padding: 1, groups: 2}}]")
    u = net("input: [13, 13, 384]\nlayers: [{conv: {filters: 384, kernel: 3, padding: 1}}]")
    assert (g.totals.weights, g.totals.macs) == (663552, 112140288)
    assert (u.totals.weights, u.totals.macs) == (1327104, 224280576)


def test_depthwise_conv():
    # depthwise: groups = C_in, F_h·F_w·C_in·multiplier weights (MobileNet's 3×3 dw on 112×112×32)
    r = net("input: [112, 112, 32]\nlayers: [{conv: {filters: 32, kernel: 3, padding: 1, groups: 32, bias: false}}]")
    assert r.totals.params == 3 * 3 * 32
    assert r.totals.macs == 112 * 112 * 32 * 9


def test_batchnorm_counts():
    # 2·C learnable (γ, β) + 2·C non-trainable running mean and variance
    r = net("input: [8, 8, 64]\nlayers: [batchnorm]")
    assert r.totals.params == 128 and r.totals.non_trainable_params == 128


def test_inception_modules_from_the_slide():
    # The course slide's Inception module at 28×28×256 (REFERENCE.md):
    # naive: 854,196,224 MACs ("854M ops"), output 28×28×672, 1,089,952 params with biases
    naive = net("""
input: [28, 28, 256]
layers:
  - conv: {name: b1, filters: 128, kernel: 1, from: input}
  - conv: {name: b2, filters: 192, kernel: 3, padding: 1, from: input}
  - conv: {name: b3, filters: 96, kernel: 5, padding: 2, from: input}
  - maxpool: {name: b4, kernel: 3, stride: 1, padding: 1, from: input}
  - concat: {from: [b1, b2, b3, b4]}
""")
    assert naive.output_shape == (28, 28, 672)
    assert naive.totals.macs == 854196224
    assert naive.totals.params == 1089952
    # with 1×1 bottlenecks: 271,351,808 MACs (the slide says 353M), output 28×28×480, 346,720 params
    bottleneck = net("""
input: [28, 28, 256]
layers:
  - conv: {name: b1, filters: 128, kernel: 1, from: input}
  - conv: {name: r3, filters: 64, kernel: 1, from: input}
  - conv: {name: b2, filters: 192, kernel: 3, padding: 1}
  - conv: {name: r5, filters: 64, kernel: 1, from: input}
  - conv: {name: b3, filters: 96, kernel: 5, padding: 2}
  - maxpool: {name: pool, kernel: 3, stride: 1, padding: 1, from: input}
  - conv: {name: b4, filters: 64, kernel: 1}
  - concat: {from: [b1, b2, b3, b4]}
""")
    assert bottleneck.output_shape == (28, 28, 480)
    assert bottleneck.totals.macs == 271351808
    assert bottleneck.totals.params == 346720


def test_receptive_field_step():
    assert fm.receptive_field(1, 1, 3, 1) == (3, 1)
    assert fm.receptive_field(5, 1, 2, 2) == (6, 2)  # VGG pool1 after two 3×3 convs


def test_big_integers_stay_exact():
    r = net("input: [100000, 100000, 1000]\nlayers: [{conv: {filters: 1000, kernel: 3, padding: 1}}]")
    assert r.totals.macs == 100000 * 100000 * 1000 * 3 * 3 * 1000
    assert r.totals.activations == 2 * 100000 * 100000 * 1000
