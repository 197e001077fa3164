"""Every shipped course network against REFERENCE.md (figures typed in from that file)."""

from __future__ import annotations

import pytest

from cnncalc import analyze, load_spec

# name: (input, output, params, non-trainable, MACs) — REFERENCE.md, "Seed networks"
SEED_NETWORKS = {
    "vgg16": ((224, 224, 3), (1000,), 138_357_544, 0, 15_470_264_320),
    "vgg19": ((224, 224, 3), (1000,), 143_667_240, 0, 19_632_062_464),
    "alexnet": ((227, 227, 3), (1000,), 60_965_224, 0, 724_406_816),
    "pytorch_cifar_net": ((32, 32, 3), (10,), 62_006, 0, 651_720),
    "alphago_policy": ((19, 19, 48), (361,), 3_882_793, 0, 1_400_726_208),
    "xo_toy": ((9, 9, 1), (4, 4, 3), 27, 0, 1_323),
    "lenet5": ((32, 32, 1), (10,), 61_706, 0, 416_520),
}


@pytest.mark.parametrize("name", sorted(SEED_NETWORKS))
def test_seed_network_totals(name):
    inp, out, params, non_trainable, macs = SEED_NETWORKS[name]
    r = analyze(load_spec(name))
    assert r.input_shape == inp
    assert r.output_shape == out
    assert r.totals.params == params
    assert r.totals.non_trainable_params == non_trainable
    assert r.totals.macs == macs
    assert r.totals.flops == 2 * macs


def test_spec_file_and_builtin_name_agree():
    from tests.conftest import SPECS

    by_path = analyze(load_spec(str(SPECS / "vgg16.yaml")))
    by_name = analyze(load_spec("vgg16"))
    assert by_path.totals == by_name.totals


# REFERENCE.md, "VGG16 at 224×224×3, layer by layer": output, activations, weights, biases, MACs
VGG16_LAYERS = [
    ("input", (224, 224, 3), 150_528, 0, 0, 0),
    ("conv1_1", (224, 224, 64), 3_211_264, 1_728, 64, 86_704_128),
    ("conv1_2", (224, 224, 64), 3_211_264, 36_864, 64, 1_849_688_064),
    ("pool1", (112, 112, 64), 802_816, 0, 0, 0),
    ("conv2_1", (112, 112, 128), 1_605_632, 73_728, 128, 924_844_032),
    ("conv2_2", (112, 112, 128), 1_605_632, 147_456, 128, 1_849_688_064),
    ("pool2", (56, 56, 128), 401_408, 0, 0, 0),
    ("conv3_1", (56, 56, 256), 802_816, 294_912, 256, 924_844_032),
    ("conv3_2", (56, 56, 256), 802_816, 589_824, 256, 1_849_688_064),
    ("conv3_3", (56, 56, 256), 802_816, 589_824, 256, 1_849_688_064),
    ("pool3", (28, 28, 256), 200_704, 0, 0, 0),
    ("conv4_1", (28, 28, 512), 401_408, 1_179_648, 512, 924_844_032),
    ("conv4_2", (28, 28, 512), 401_408, 2_359_296, 512, 1_849_688_064),
    ("conv4_3", (28, 28, 512), 401_408, 2_359_296, 512, 1_849_688_064),
    ("pool4", (14, 14, 512), 100_352, 0, 0, 0),
    ("conv5_1", (14, 14, 512), 100_352, 2_359_296, 512, 462_422_016),
    ("conv5_2", (14, 14, 512), 100_352, 2_359_296, 512, 462_422_016),
    ("conv5_3", (14, 14, 512), 100_352, 2_359_296, 512, 462_422_016),
    ("pool5", (7, 7, 512), 25_088, 0, 0, 0),
    ("fc6", (4096,), 4_096, 102_760_448, 4_096, 102_760_448),
    ("fc7", (4096,), 4_096, 16_777_216, 4_096, 16_777_216),
    ("fc8", (1000,), 1_000, 4_096_000, 1_000, 4_096_000),
]


def test_vgg16_layer_by_layer():
    r = analyze(load_spec("vgg16"))
    rows = {x.name: x for x in r.layers}
    for name, shape, acts, weights, biases, macs in VGG16_LAYERS:
        x = rows[name]
        got = (x.output_shape, x.activations, x.weights, x.biases, x.macs)
        assert got == (shape, acts, weights, biases, macs), name
    # the rows of REFERENCE.md are all the rows that count: the rest are views (flatten, dropout)
    others = [x for x in r.layers if x.name not in {row[0] for row in VGG16_LAYERS}]
    assert all(x.activations == 0 and x.params == 0 and x.macs == 0 for x in others)


def test_vgg16_totals_and_memory():
    t = analyze(load_spec("vgg16")).totals
    assert t.params == 138_357_544
    assert t.weights == 138_344_128  # REFERENCE.md: 138,344,128 without biases
    assert t.macs == 15_470_264_320
    assert t.flops == 30_940_528_640
    assert t.activations == 15_237_608  # not the slide's "24M"
    assert t.activation_bytes == 15_237_608 * 4  # 60.95 MB at float32, not "96MB"


def test_vgg16_weights_only_convention():
    from cnncalc.core.model import Conventions

    t = analyze(load_spec("vgg16"), Conventions(count_biases=False)).totals
    assert t.params == 138_344_128  # the CS231n table counts weights only
    assert t.biases == 13_416


# REFERENCE.md, AlexNet table (weights only; MACs): original network, groups = 2 on conv2/4/5
ALEXNET_LAYERS = {
    "conv1": (34_848, 105_415_200, (55, 55, 96)),
    "conv2": (307_200, 223_948_800, (27, 27, 256)),
    "conv3": (884_736, 149_520_384, (13, 13, 384)),
    "conv4": (663_552, 112_140_288, (13, 13, 384)),
    "conv5": (442_368, 74_760_192, (13, 13, 256)),
    "fc6": (37_748_736, 37_748_736, (4096,)),
    "fc7": (16_777_216, 16_777_216, (4096,)),
    "fc8": (4_096_000, 4_096_000, (1000,)),
}


def test_alexnet_layers():
    r = analyze(load_spec("alexnet"))
    for name, (weights, macs, shape) in ALEXNET_LAYERS.items():
        x = r.layer(name)
        assert (x.weights, x.macs, x.output_shape) == (weights, macs, shape), name
    assert r.layer("pool5").output_shape == (6, 6, 256)


def test_mnist_cnn_conv_part():
    # REFERENCE.md: conv part 11,550 params and 1,513,350 MACs; flatten gives 1250
    r = analyze(load_spec("mnist_cnn"))
    convs = [x for x in r.layers if x.type == "conv"]
    assert sum(x.params for x in convs) == 11_550
    assert sum(x.macs for x in convs) == 1_513_350
    assert r.layer("flatten1").output_shape == (1250,)


def test_alphago_position_bias():
    # a different bias for each of the 19×19 positions, and no bias on the 1×1 conv
    r = analyze(load_spec("alphago_policy"))
    assert r.layer("bias").biases == 361
    assert r.layer("conv13").biases == 0
    assert all(x.output_shape[:2] == (19, 19) for x in r.layers if x.type == "conv")


def test_xo_toy_pool_keeps_partial_window():
    r = analyze(load_spec("xo_toy"))
    assert r.layer("features").output_shape == (7, 7, 3)
    assert r.output_shape == (4, 4, 3)


def test_vgg16_receptive_fields():
    # issue 4 / REFERENCE.md: conv5_3 sees 196×196, the pool after it 212×212
    r = analyze(load_spec("vgg16"))
    assert r.layer("conv5_3").receptive_field == (196, 196)
    assert r.layer("pool5").receptive_field == (212, 212)
    assert r.layer("pool5").jump == (32, 32)


def test_every_builtin_is_listed_and_loads():
    from cnncalc.load import builtin_names

    names = builtin_names()
    for name in SEED_NETWORKS:
        assert name in names
    for name in names:
        analyze(load_spec(name))


def test_values_equal_in_python_but_of_another_type_are_still_checked():
    """1 == True == 1.0 in Python: validating one layer must not excuse the next."""
    from cnncalc import parse_spec
    from cnncalc.core.errors import SpecError

    base = "input: [8, 8, 3]\nlayers:\n  - conv: {filters: 4, kernel: 3, bias: true}\n"
    for bad in ("bias: 1", "bias: 1.0"):
        with pytest.raises(SpecError, match="bias must be true or false"):
            parse_spec(base + f"  - conv: {{filters: 4, kernel: 3, {bad}}}\n")
    with pytest.raises(SpecError, match="kernel must be"):
        parse_spec("input: [8, 8, 3]\nlayers:\n  - conv: {filters: 4, kernel: 1}\n"
                   "  - conv: {filters: 4, kernel: true}\n")
