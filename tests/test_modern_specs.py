"""The modern architectures against REFERENCE.md ("Modern architectures" and the GoogLeNet
table). Every expected figure below is typed in from REFERENCE.md (PyTorch / torchvision /
the paper's configuration), not taken from cnncalc's output."""

from __future__ import annotations

import pytest

from cnncalc import analyze, load_spec

# name: (params, BN running stats, MACs at the spec's input)
MODERN = {
    "resnet18": (11_689_512, 9_600, 1_814_073_344),
    "resnet34": (21_797_672, 17_024, 3_663_761_408),
    "resnet50": (25_557_032, 53_120, 4_089_184_256),
    "resnet101": (44_549_160, 105_344, 7_801_405_440),
    "resnet152": (60_192_808, 151_424, 11_513_626_624),
    "mobilenet_v1": (4_231_976, 21_888, 568_740_352),
    "mobilenet_v2": (3_504_872, 34_112, 300_774_272),
    "inception_naive": (1_089_952, 0, 854_196_224),
    "inception_bottleneck": (346_720, 0, 271_351_808),
}


@pytest.mark.parametrize("name", sorted(MODERN))
def test_modern_totals(name):
    params, buffers, macs = MODERN[name]
    t = analyze(load_spec(name)).totals
    assert t.params == params
    assert t.non_trainable_params == buffers
    assert t.macs == macs
    assert t.flops == 2 * macs


@pytest.mark.parametrize("name", [n for n in MODERN if n.startswith(("resnet", "mobilenet"))])
def test_classifiers_end_in_1000(name):
    assert analyze(load_spec(name)).output_shape == (1000,)


def test_inception_outputs():
    # the slide: naive 28×28×672, with bottlenecks 28×28×480
    assert analyze(load_spec("inception_naive")).output_shape == (28, 28, 672)
    assert analyze(load_spec("inception_bottleneck")).output_shape == (28, 28, 480)


def test_inception_bottleneck_terms():
    # the slide's six terms: [1×1 conv, 64] 28×28×64×1×1×256 etc.
    r = analyze(load_spec("inception_bottleneck"))
    assert r.layer("branch1").macs == 28 * 28 * 128 * 1 * 1 * 256
    assert r.layer("branch2.reduce").macs == 28 * 28 * 64 * 1 * 1 * 256
    assert r.layer("branch2").macs == 28 * 28 * 192 * 3 * 3 * 64
    assert r.layer("branch3.reduce").macs == 28 * 28 * 64 * 1 * 1 * 256
    assert r.layer("branch3").macs == 28 * 28 * 96 * 5 * 5 * 64
    assert r.layer("branch4").macs == 28 * 28 * 64 * 1 * 1 * 256


# GoogLeNet, REFERENCE.md's Table-1 rows: (group, output, weights without biases, MACs)
GOOGLENET = [
    (("conv1",), (112, 112, 64), 9_408, 118_013_952),
    (("pool1",), (56, 56, 64), 0, 0),
    (("conv2_reduce", "conv2"), (56, 56, 192), 114_688, 359_661_568),
    (("pool2",), (28, 28, 192), 0, 0),
    (("inception3a",), (28, 28, 256), 163_328, 128_049_152),
    (("inception3b",), (28, 28, 480), 388_096, 304_267_264),
    (("pool3",), (14, 14, 480), 0, 0),
    (("inception4a",), (14, 14, 512), 375_552, 73_608_192),
    (("inception4b",), (14, 14, 512), 448_512, 87_908_352),
    (("inception4c",), (14, 14, 512), 509_440, 99_850_240),
    (("inception4d",), (14, 14, 528), 604_672, 118_515_712),
    (("inception4e",), (14, 14, 832), 867_328, 169_996_288),
    (("pool4",), (7, 7, 832), 0, 0),
    (("inception5a",), (7, 7, 832), 1_042_432, 51_079_168),
    (("inception5b",), (7, 7, 1024), 1_442_816, 70_697_984),
    (("pool5",), (1, 1, 1024), 0, 0),
    (("fc",), (1000,), 1_024_000, 1_024_000),
]


@pytest.fixture(scope="module")
def googlenet():
    return analyze(load_spec("googlenet"))


@pytest.mark.parametrize("groups,shape,weights,macs", GOOGLENET, ids=[g[0][-1] for g in GOOGLENET])
def test_googlenet_table1(googlenet, groups, shape, weights, macs):
    rows = [r for r in googlenet.layers if r.name.split(".")[0] in groups]
    assert rows, groups
    assert rows[-1].output_shape == shape
    assert sum(r.weights for r in rows) == weights
    assert sum(r.macs for r in rows) == macs


def test_googlenet_totals(googlenet):
    assert googlenet.totals.weights == 6_990_272
    assert googlenet.totals.macs == 1_582_671_872


def test_resnet152_is_short():
    from cnncalc.load import builtin_dir

    lines = (builtin_dir() / "resnet152.yaml").read_text().splitlines()
    assert len(lines) < 80


def test_torchvision_names():
    r = analyze(load_spec("resnet50"))
    conv = r.layer("layer3.4.conv2")
    assert conv.output_shape == (14, 14, 256)
    assert conv.weights == 3 * 3 * 256 * 256
    assert r.layer("layer1.0.downsample.0").weights == 64 * 256
    with pytest.raises(KeyError):
        r.layer("layer1.1.downsample.0")  # only the first block of a stage projects
