"""`cnncalc compare`: totals, ratios and the shared per-block breakdown (figures from REFERENCE.md
and the slide's module description)."""

from __future__ import annotations

import json

from .conftest import run_cli


def test_inception_naive_vs_bottleneck_json():
    res = run_cli("compare", "inception_naive", "inception_bottleneck", "--format", "json")
    assert res.code == 0, res.err
    d = json.loads(res.out)
    a, b = d["specs"]
    assert (a["params"], a["macs"], a["output_shape"]) == (1_089_952, 854_196_224, [28, 28, 672])
    assert (b["params"], b["macs"], b["output_shape"]) == (346_720, 271_351_808, [28, 28, 480])
    assert d["ratios_to_first"][0]["macs"] == 1.0
    assert d["ratios_to_first"][1]["macs"] == 271_351_808 / 854_196_224
    blocks = {g["name"]: g["values"] for g in d["blocks"]}
    assert set(blocks) == {"branch1", "branch2", "branch3", "branch4", "concat"}
    # branch 2: naive 3×3×256×192 conv; bottleneck 1×1×256×64 + 3×3×64×192 (slide terms)
    assert blocks["branch2"][0]["macs"] == 28 * 28 * 192 * 3 * 3 * 256
    assert blocks["branch2"][1]["macs"] == 28 * 28 * 64 * 256 + 28 * 28 * 192 * 3 * 3 * 64
    assert blocks["branch4"][1]["params"] == 256 * 64 + 64


def test_three_way_table():
    res = run_cli("compare", "vgg16", "resnet50", "mobilenet_v2", "--exact")
    assert res.code == 0, res.err
    for figure in ("138,357,544", "25,557,032", "3,504,872", "15,470,264,320", "4,089,184,256", "300,774,272"):
        assert figure in res.out
    assert "shared structure" in res.out


def test_compare_errors():
    assert run_cli("compare", "vgg16").code == 2
    res = run_cli("compare", "vgg16", "nosuchnet")
    assert res.code == 2 and "nosuchnet" in res.err and "Traceback" not in res.err


def test_memory_follows_dtype_and_batch():
    """VGG16: 138,357,544 params and 15,237,608 activations (REFERENCE.md) at 2 bytes, batch 4."""
    res = run_cli("compare", "vgg16", "alexnet", "--format", "json", "--dtype", "float16", "--batch", "4")
    assert res.code == 0, res.err
    d = json.loads(res.out)
    vgg = d["specs"][0]
    assert vgg["param_bytes"] == 138_357_544 * 2
    assert vgg["activation_bytes"] == 15_237_608 * 2 * 4
    assert (d["dtype"], d["batch"]) == ("float16", 4)
    assert d["ratios_to_first"][1]["param_bytes"] == d["specs"][1]["param_bytes"] / (138_357_544 * 2)
    table = run_cli("compare", "vgg16", "alexnet", "--batch", "4")
    assert table.code == 0 and "memory at float32, batch 4" in table.out
    assert "243.80 MB" in table.out  # 15,237,608 × 4 B × 4 = 243,801,728 B
    assert "553.43 MB" in table.out  # 138,357,544 × 4 B
