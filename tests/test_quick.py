"""Quick single-layer commands, --strict, --explain and receptive fields.

Expected figures are textbook ones (CS231n notes, REFERENCE.md), not cnncalc's output.
"""

from __future__ import annotations

import json

import pytest

from cnncalc import analyze
from cnncalc.load import load_spec, parse_spec


@pytest.mark.parametrize("size", ["32x32x3", "32×32×3", "32,32,3"])
def test_conv_cs231n_example(cli, size):
    r = cli("conv", size, "--filters", "10", "--kernel", "5", "--stride", "1", "--padding", "2", "-f", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["layers"][-1]["output_shape"] == [32, 32, 10]
    assert data["totals"]["params"] == 760  # (5·5·3 + 1)·10
    assert data["layers"][-1]["weights"] == 750 and data["layers"][-1]["biases"] == 10
    assert data["layers"][0]["type"] == "input" and len(data["layers"]) == 2


@pytest.mark.parametrize("stride,out", [("1", 5), ("2", 3)])
def test_cs231n_7x7_3x3(cli, stride, out):
    data = json.loads(cli("conv", "7x7x1", "--filters", "1", "--kernel", "3", "--stride", stride, "-f", "json").out)
    assert data["output_shape"] == [out, out, 1]


def test_pool_dense_tconv(cli):
    pool = json.loads(cli("pool", "224x224x64", "--kernel", "2", "--stride", "2", "-f", "json").out)
    assert pool["output_shape"] == [112, 112, 64] and pool["totals"]["params"] == 0
    dense = json.loads(cli("dense", "4096", "--units", "1000", "-f", "json").out)
    assert dense["totals"]["params"] == 4_097_000 and dense["totals"]["macs"] == 4_096_000
    t = json.loads(cli("tconv", "7x7x64", "--filters", "32", "--kernel", "3", "--stride", "2", "--padding", "1",
                       "--output-padding", "1", "-f", "json").out)
    assert t["output_shape"] == [14, 14, 32] and t["totals"]["params"] == 3 * 3 * 64 * 32 + 32


def test_text_summary(cli):
    r = cli("conv", "32x32x3", "--filters", "10", "--kernel", "5", "--padding", "2")
    assert r.code == 0
    assert "32×32×10" in r.out and "760" in r.out and "750 weights + 10 biases" in r.out
    assert "768,000" in r.out  # 32·32·10·(5·5·3) MACs


def test_options_like_specs(cli):
    d = json.loads(cli("conv", "10x10x3", "--filters", "64", "--kernel", "5", "--stride", "2", "--padding", "same",
                       "-f", "json").out)
    assert d["output_shape"] == [5, 5, 64] and d["totals"]["params"] == 4_864 and d["totals"]["macs"] == 120_000
    d = json.loads(cli("conv", "6x6x1", "--filters", "2", "--kernel", "3", "--no-bias", "-f", "json").out)
    assert d["totals"]["params"] == 18 and d["totals"]["macs"] == 288  # the 6×6 slide example
    d = json.loads(cli("conv", "13x13x384", "--filters", "384", "--kernel", "3", "--padding", "1", "--groups", "2",
                       "-f", "json").out)
    assert d["layers"][-1]["weights"] == 663_552  # AlexNet conv4, grouped
    d = json.loads(cli("conv", "7x7x1", "--filters", "1", "--kernel", "3", "--dilation", "2", "-f", "json").out)
    assert d["output_shape"] == [3, 3, 1]  # F_eff = 5


def test_misfit_warns_and_strict_fails(cli):
    r = cli("conv", "10x10x3", "--filters", "1", "--kernel", "3", "--stride", "2")
    assert r.code == 0 and "4.5" in r.out and "do not fit" in r.out
    r = cli("conv", "10x10x3", "--filters", "1", "--kernel", "3", "--stride", "2", "--strict")
    assert r.code == 2 and r.out == ""
    assert "(10 − 3 + 0)/2 + 1 = 4.5: these hyperparameters do not fit" in r.err
    assert r.err.count("\n") == 1


@pytest.mark.parametrize("args", [["conv", "32x32", "--filters", "1", "--kernel", "3"],
                                  ["conv", "3x3x1", "--filters", "1", "--kernel", "5"],
                                  ["conv", "8x8x3", "--filters", "1", "--kernel", "3", "--padding", "lots"],
                                  ["dense", "4x4x3", "--units", "2"],
                                  ["tconv", "7x7x4", "--filters", "1", "--kernel", "3", "--output-padding", "3"]])
def test_bad_quick_input_is_one_line(cli, args):
    r = cli(*args)
    assert r.code == 2 and "Traceback" not in r.err and r.err.count("\n") == 1 and r.err.startswith("cnncalc: error:")


def test_explain_quick(cli):
    r = cli("conv", "224x224x64", "--filters", "128", "--kernel", "3", "--padding", "1", "--explain")
    assert "H_out = W_out = (224 − 3 + 2·1)/1 + 1 = 224" in r.out
    assert "params = (3·3·64)·128 + 128 = 73,856" in r.out
    assert "MACs = 224·224·128·(3·3·64) = 3,699,376,128" in r.out
    r = cli("conv", "10x10x3", "--filters", "1", "--kernel", "3", "--stride", "2", "--explain")
    assert "(10 − 3 + 0)/2 + 1 = 4.5 → 4" in r.out


def test_explain_spec_fits_100_columns(cli):
    r = cli("vgg16", "--explain")
    assert r.code == 0
    assert "MACs = 224·224·64·(3·3·3) = 86,704,128" in r.out  # REFERENCE.md conv1_1
    assert "activations = 224·224·64 = 3,211,264" in r.out
    assert "params = (3·3·64)·128 + 128 = 73,856" in r.out
    assert "memory = 15,237,608 activations · 4 B (float32) = 60,950,432 B" in r.out
    assert max(len(line) for line in r.out.splitlines()) <= 100


def _rf(text):
    return {r.name: (r.receptive_field, r.jump) for r in analyze(parse_spec(text, "<t>")).layers}


def test_three_stacked_3x3_see_7x7():
    rf = _rf("input: [32, 32, 8]\nlayers:\n" + "  - conv: {filters: 8, kernel: 3, padding: 1}\n" * 3)
    assert rf["conv3"] == ((7, 7), (1, 1))


def test_vgg16_receptive_fields():
    rep = analyze(load_spec("vgg16"))
    assert rep.layer("conv5_3").receptive_field == (196, 196)
    assert rep.layer("pool5").receptive_field == (212, 212)
    assert rep.layer("pool5").jump == (32, 32)


def test_rectangular_and_dilated_fields():
    rf = _rf("input: [32, 32, 1]\nlayers:\n  - conv: {filters: 1, kernel: [1, 7]}\n"
             "  - conv: {filters: 1, kernel: 3, dilation: 2, stride: 2}\n  - conv: {filters: 1, kernel: 3}\n")
    assert rf["conv1"][0] == (1, 7)
    assert rf["conv2"] == ((5, 11), (2, 2))  # + (5 − 1)·1
    assert rf["conv3"] == ((9, 15), (2, 2))  # + (3 − 1)·2


def test_merge_takes_largest_field_and_warns_on_different_jumps():
    rep = analyze(parse_spec("input: [16, 16, 4]\nlayers:\n"
                             "  - conv: {name: a, filters: 4, kernel: 5, padding: 2}\n    from: input\n"
                             "  - conv: {name: b, filters: 4, kernel: 3, stride: 2, padding: 1}\n    from: input\n"
                             "  - conv: {name: c, filters: 4, kernel: 1, stride: 2}\n    from: a\n"
                             "  - add: {name: m}\n    from: [b, c]\n", "<t>"))
    assert rep.layer("m").receptive_field == (5, 5)
    assert not any("jumps" in w for w in rep.layer("m").warnings)
    # 16 → 8 two ways: a 3×3 stride-2 conv (jump 2) and a 9×9 stride-1 conv (jump 1)
    rep = analyze(parse_spec("input: [16, 16, 4]\nlayers:\n"
                             "  - conv: {name: a, filters: 4, kernel: 3, stride: 2, padding: 1}\n    from: input\n"
                             "  - conv: {name: b, filters: 4, kernel: 9}\n    from: input\n"
                             "  - concat: {name: m}\n    from: [a, b]\n", "<t>"))
    assert rep.layer("m").output_shape == (8, 8, 8)
    assert rep.layer("m").receptive_field == (9, 9)
    assert any("different jumps" in w for w in rep.layer("m").warnings)
    assert rep.warnings


def test_errors_name_the_layer_type_not_a_file_position(cli):
    r = cli("conv", "5x5x3", "--filters", "4", "--kernel", "7")
    assert r.code == 2
    assert r.err == ("cnncalc: error: conv: kernel 7 is larger than the padded input 5 along H "
                     "(received input 5×5×3, padding 0+0)\n")
    r = cli("conv", "10x10x3", "--filters", "4", "--kernel", "3", "--stride", "2", "--strict")
    assert r.code == 2 and r.err.startswith("cnncalc: error: conv: H and W: (10 − 3 + 0)/2 + 1 = 4.5: ")
