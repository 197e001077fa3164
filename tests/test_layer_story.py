"""One home per rule (issue 11, items 1–3): a layer type owns its whole story, warnings are
data, figures are read and written in one module. Expected values are worked out by hand in
each test (or measured by PyTorch), never copied from cnncalc's output."""

from __future__ import annotations

from fractions import Fraction

import pytest

from cnncalc import layers as registry
from cnncalc.core.analysis import analyze
from cnncalc.layers.base import POS_INT, Layer, Out, Param, Torch
from cnncalc.core.model import Conventions, Counts
from cnncalc.load.dsl import parse_expr


# ---------------------------------------------------------------------------------------------
# 1. a new layer type, registered from this test module, gets everything


class DemoSpaceToDepth(Layer):
    """PyTorch PixelUnshuffle / ONNX SpaceToDepth: each b×b block of H×W becomes b² channels."""

    type = "demo_space_to_depth"
    aliases = ("demo_pixel_unshuffle",)
    doc = "b×b blocks of H×W become channels: H/b × W/b × C·b²"
    primary = "block"
    params = {"block": Param(POS_INT, doc="block size b")}
    imports = {"onnx": ("SpaceToDepth",), "keras": (), "caffe": ()}

    def infer(self, ins, p) -> Out:
        h, w, c = ins[0]
        b = p["block"]
        return Out((h // b, w // b, c * b * b), Counts(), [], (b, b, b, b), {"block": b})

    def explain(self, w) -> list:
        h, wd, c = w.in_shape
        b = w.out.work["block"]
        oh, ow, oc = w.r.output_shape
        return [("output_shape", f"H_out = {h}/{b} = {oh}, W_out = {wd}/{b} = {ow}, channels = {c}·{b}² = {oc}")]

    def describe(self, p) -> str:
        return f"demo_space_to_depth b{p['block']}"

    def torch(self, p, ins) -> tuple:
        return (Torch("PixelUnshuffle", (p["block"],)),)


@pytest.fixture
def demo_space_to_depth():
    registry.register(DemoSpaceToDepth)
    try:
        yield registry.REGISTRY["demo_space_to_depth"]
    finally:
        registry.unregister("demo_space_to_depth")
    assert registry.canonical("demo_pixel_unshuffle") is None


def test_a_registered_layer_type_gets_schema_dsl_description_explain_and_oracle(demo_space_to_depth):
    from cnncalc.render.explain import explain_report
    from cnncalc.render.common import describe
    from cnncalc.load.schema import build_schema

    # schema: an entry generated from its parameter table
    schema = build_schema()
    entry = schema["definitions"]["layer.demo_space_to_depth"]
    assert entry["description"] == DemoSpaceToDepth.doc
    assert entry["anyOf"][0]["properties"]["block"]["description"] == "block size b"
    assert "demo_pixel_unshuffle" in str(schema)

    # DSL: its name, an alias and its primary parameter are tokens
    report = analyze(parse_expr("input 8x8x3 | demo_space_to_depth 2 | demo_pixel_unshuffle block=2 | flatten"))
    s2d = report.layer("demo_space_to_depth1")
    assert s2d.output_shape == (4, 4, 12)  # 8/2 × 8/2 × 3·2·2
    assert report.layers[2].output_shape == (2, 2, 48)  # 4/2 × 4/2 × 12·4
    assert s2d.receptive_field == (2, 2) and s2d.jump == (2, 2)  # r = 1 + (2 − 1)·1, j = 1·2

    # description in tables, and its section of --explain
    assert describe(s2d) == "demo_space_to_depth b2"
    explained = explain_report(report)
    assert "demo_space_to_depth1 — demo_space_to_depth b2: 4×4×12" in explained
    assert "H_out = 8/2 = 4, W_out = 8/2 = 4, channels = 3·2² = 12" in explained
    assert "activations = 4·4·12 = 192" in explained
    assert ("receptive field r = r_in + (F_eff − 1)·j_in = 1 + (2 − 1)·1 = 2; jump = j_in·S = 1·2 = 2"
            in explained)

    # importers' data
    assert demo_space_to_depth.imports["onnx"] == ("SpaceToDepth",)
    from cnncalc.layers.base import NoForward

    with pytest.raises(NoForward):  # no numeric forward of its own: cnncalc values says so
        demo_space_to_depth.forward({"block": 2}, [((8, 8, 3), [0] * 192)], (4, 4, 12))

    # the tests' PyTorch oracle builds it from the class alone
    pytest.importorskip("torch")
    from . import torch_oracle

    measured = torch_oracle.measure(report.graph)
    assert measured["demo_space_to_depth1"].shape == (4, 4, 12)
    assert measured[report.layers[2].name].shape == (2, 2, 48)


def test_layer_types_carry_their_story_as_data_without_torch():
    import sys

    saved = sys.modules.get("torch")
    sys.modules["torch"] = None  # importing torch would fail
    try:
        for name, layer in registry.REGISTRY.items():
            assert layer.type == name
            assert set(layer.imports) <= {"onnx", "keras", "caffe"}
            assert all(isinstance(ops, tuple) for ops in layer.imports.values())
        conv = registry.REGISTRY["conv"].torch(
            {"filters": 8, "kernel": (3, 3), "stride": (1, 1), "padding": (1, 1, 1, 1), "dilation": (1, 1),
             "groups": 1, "bias": True, "activation": "relu"}, [(8, 8, 4)])
        # symmetric padding is Conv2d's own (as torchvision writes it); uneven padding a ZeroPad2d before it
        assert [c.op for c in conv] == ["Conv2d", "ReLU"]
        assert conv[0].args == (4, 8, (3, 3)) and conv[0].kwargs["padding"] == (1, 1)
        uneven = registry.REGISTRY["conv"].torch(
            {"filters": 8, "kernel": (3, 3), "stride": (1, 1), "padding": (0, 1, 0, 1), "dilation": (1, 1),
             "groups": 1, "bias": True, "activation": None}, [(8, 8, 4)])
        assert [c.op for c in uneven] == ["ZeroPad2d", "Conv2d"] and uneven[0].args == ((0, 1, 0, 1),)
        # and the Keras construct, as data too: the padding a ZeroPadding2D named conv…_pad
        keras = registry.REGISTRY["conv"].keras(
            {"filters": 8, "kernel": (3, 3), "stride": (1, 1), "padding": (0, 1, 0, 1), "dilation": (1, 1),
             "groups": 1, "bias": True, "activation": "relu"}, [(8, 8, 4)])
        assert [(c.op, c.suffix) for c in keras] == [("ZeroPadding2D", "_pad"), ("Conv2D", "")]
        assert keras[1].kwargs["activation"] == "relu" and keras[1].kwargs["padding"] == "valid"
        assert registry.REGISTRY["conv"].describe({"kernel": (3, 3), "stride": (2, 2), "padding": (1, 1, 1, 1),
                                                  "dilation": (1, 1), "groups": 1, "activation": "relu"}) \
            == "conv 3×3/2 p1+relu"
        assert registry.REGISTRY["dense"].describe({"units": 10, "activation": None}) == "dense"
    finally:
        if saved is None:
            del sys.modules["torch"]
        else:
            sys.modules["torch"] = saved


# ---------------------------------------------------------------------------------------------
# the explanations follow the figures


def test_transposed_conv_step_is_explained_with_the_taps_the_figure_used():
    from cnncalc.render.explain import layer_lines

    # F = 2, d = 3, S = 2: taps at 0 and 3 on the zero-stuffed input, residues 0 and 1 mod 2,
    # so each output sees one real input pixel: r = 1 + (1 − 1)·1 = 1, jump 1/2.
    report = analyze(parse_expr("input 7x7x4 | tconv 2 k2 d3 s2"))
    r = report.layers[-1]
    assert r.receptive_field == (1, 1) and r.jump == (Fraction(1, 2), Fraction(1, 2))
    text = "\n".join(t for _, t in layer_lines(report, r))
    assert "= 1 + (1 − 1)·1 = 1" in text
    assert "⌊" not in text  # the former explanation: 1 + ⌊3/2⌋·1 = 1 (the arithmetic gives 2)


def test_concat_of_5x3_and_3x5_fields_is_explained_as_a_per_axis_maximum():
    from cnncalc.render.explain import layer_lines

    report = analyze(parse_expr("input 8x8x1 | conv 2 k5x3 p2,1 @a | conv 2 k3x5 p1,2 @b <input | concat <a,b"))
    cat = report.layers[-1]
    assert report.layer("a").receptive_field == (5, 3) and report.layer("b").receptive_field == (3, 5)
    assert cat.receptive_field == (5, 5)  # max(5, 3) × max(3, 5)
    text = "\n".join(t for _, t in layer_lines(report, cat))
    assert "per axis the largest: 5×3, 3×5 → 5×5" in text
    assert "whole input" not in text


def test_memory_of_one_layer_counts_the_batch_and_a_view_has_none():
    from cnncalc.render.explain import figure_work

    report = analyze(parse_expr("input 32x32x3 | conv 10 k5 p2 | flatten"), Conventions(batch=8))
    # 32·32·10 = 10,240 values · 4 B = 40,960 B per image, · 8 images = 327,680 B
    assert figure_work(report, "memory", "conv1") == "memory = 32·32·10 · 4 B · batch 8 = 327,680 B"
    assert report.layer("conv1").activations * 4 * 8 == 327_680
    flat = figure_work(report, "memory", "flatten1")
    assert flat.startswith("memory = 0 B")  # a view adds no activations (formerly "10240 · 4 B = 0 B")


def test_quick_commands_follow_batch(cli):
    r = cli("conv", "32x32x3", "--filters", "10", "--kernel", "5", "--padding", "2", "--batch", "8")
    assert r.code == 0
    assert "327,680 B at float32, batch 8" in r.out  # 10,240 · 4 B · 8
    r = cli("conv", "32x32x3", "--filters", "10", "--kernel", "5", "--padding", "2")
    assert "40,960 B at float32)" in r.out  # 10,240 · 4 B


# ---------------------------------------------------------------------------------------------
# 2. warnings are data: rewording one changes no decision


def test_rewording_a_warning_changes_neither_strict_nor_valid(monkeypatch, tmp_path):
    from cnncalc.verify import check
    from cnncalc.core.errors import ShapeError
    from cnncalc.verify.grade import grade_text
    from cnncalc.render import warnings as words
    from cnncalc.core.warns import MISFIT

    monkeypatch.setitem(words.TEXT, "misfit", lambda d, error: f"size {d['exact']} is fractional"
                        + ("" if error else f", used {d['floored']}"))
    # (10 − 3 + 0)/2 + 1 = 4.5: does not fit, floored to 4
    report = analyze(parse_expr("input 10x10x3 | conv 1 k3 s2"))
    w = report.layers[-1].warnings[0]
    assert w.kind == MISFIT and w.layer == "conv1" and w.data["floored"] == 4
    assert w.data["exact"] == Fraction(9, 2)
    assert str(w) == "size 9/2 is fractional, used 4"
    with pytest.raises(ShapeError) as e:
        analyze(parse_expr("input 10x10x3 | conv 1 k3 s2"), strict=True)
    assert e.value.message == "size 9/2 is fractional"

    spec = tmp_path / "s.yaml"
    spec.write_text("input: [10, 10, 3]\nlayers:\n  - conv: {filters: 1, kernel: 3, stride: 2}\n"
                    "expect: {valid: false}\n")
    run = check.check_sources([str(spec)], strict=True)
    assert run.exit_code == 0 and run.specs[0].outcomes[0].actual is False
    spec.write_text("input: [10, 10, 3]\nlayers:\n  - conv: {filters: 1, kernel: 3, stride: 2}\n")
    run = check.check_sources([str(spec)], strict=True)
    assert run.exit_code == 2 and run.specs[0].error.message == "size 9/2 is fractional"

    graded = grade_text("questions:\n  - id: q1\n    network: 'input 10x10x3 | conv 1 k3 s2'\n"
                        "    answers: {valid: false}\n")
    assert graded.right == 1


def test_warnings_in_a_collapsed_row_name_their_layer():
    from cnncalc.core.collapse import collapse

    report = analyze(parse_expr("input 10x10x3 | conv 1 k3 s2"))
    w = report.layers[-1].warnings[0]
    assert not str(w).startswith("conv1:")
    assert str(w.replace(named=True)).startswith("conv1: H and W: (10 − 3 + 0)/2 + 1 = 4.5")
    assert collapse(report, 0) is not None


def test_the_warnings_merged_from_main_are_kinds_worded_in_one_place(monkeypatch):
    from cnncalc.render import warnings as words
    from cnncalc.core.warns import CHANNEL_FIRST, RF_BOUND, UNEVEN_WINDOWS

    # 3×224×224: first size 3, the others ≥ 16 and within 4× of each other: looks channel-first
    report = analyze(parse_expr("input 3x224x224 | conv 4 k3 p1"), strict=True)  # not an error under --strict
    (w,) = report.layers[0].warnings
    assert w.kind == CHANNEL_FIRST and w.data == {"shape": (3, 224, 224)} and w.layer == "input"
    # 5,000 → 4,097 positions (over 4,096): ⌈5000/4097⌉ + 1 = 3 is an upper bound; 5000 % 4097 ≠ 0
    report = analyze(parse_expr("input 5000x1x1 | adaptive_avgpool 4097,1"), strict=True)
    kinds = {x.kind: x for x in report.layers[-1].warnings}
    assert set(kinds) == {UNEVEN_WINDOWS, RF_BOUND} and kinds[RF_BOUND].data == {"max_cells": 4096}
    assert report.layers[-1].receptive_field[0] == 3
    monkeypatch.setitem(words.TEXT, "rf_bound", lambda d, error: f"at most, beyond {d['max_cells']}")
    monkeypatch.setitem(words.TEXT, "channel_first", lambda d, error: "C×H×W?")
    assert str(kinds[RF_BOUND]) == "at most, beyond 4096" and str(w) == "C×H×W?"


def test_explain_of_an_uneven_adaptive_pool_reads_the_fields_from_the_windows():
    from cnncalc.render.explain import layer_lines

    # windows of 10 → 4: [0,3) [2,5) [5,8) [7,10): widest 3, largest step between starts 3;
    # the conv's two positions see [0,8) and [2,10): 8 wide, starts 2 apart
    report = analyze(parse_expr("input 10x10x1 | adaptive_avgpool 4 | conv 1 k3"))
    pool, conv = report.layers[1], report.layers[2]
    assert (pool.receptive_field, pool.jump) == ((3, 3), (3, 3))
    assert (conv.receptive_field, conv.jump) == ((8, 8), (2, 2))
    text = " ".join(" ".join(t for _, t in layer_lines(report, conv)).split())
    assert "from the fields of the actual positions" in text
    assert "3 + (3 − 1)·3" not in text  # the regular formula would give 9, not the 8 shown


# ---------------------------------------------------------------------------------------------
# 3. figures: one reader, one writer, exact for any size


def test_true_value_at_a_persons_precision_is_exact_near_1e20():
    from cnncalc.verify.answers import rounded_text
    from cnncalc.verify.check import written_like
    from cnncalc.core.figures import parse_number

    given = parse_number("100000000000000000.0K")  # precision 0.1K = 100
    true = 10**20 + 678_249  # = 100,000,000,000,000,678.249K → 100000000000000678.2K
    assert rounded_text(given, true) == "100000000000000678.2K"  # grade printed …680.0K (float)
    assert written_like(given, true) == "100000000000000678.2K"  # check: the same text


def test_grade_on_a_huge_figure_is_exact(monkeypatch):
    from cnncalc.core import figures
    from cnncalc.verify.answers import rounding_note
    from cnncalc.core.figures import parse_number

    monkeypatch.setattr(figures, "MAX_INT_DIGITS", 10_000)  # a 402-digit figure is over the usual limit
    given = parse_number("1" + "0" * 400 + ".0K")  # 10^403, precision 0.1K = 100
    true = 10**403 + 77  # 10^400 + 0.077 K: truncates to the figure, rounds up to …0.1K
    assert rounding_note(given, true) == (f"the true value truncates to {given.text} but rounds to "
                                          f"{10**400}.1K")  # formerly OverflowError (float)


def test_grade_shows_mb_of_a_huge_correct_answer(monkeypatch):
    from cnncalc.core import limits
    from cnncalc.cli.commands.grade import render_text
    from cnncalc.verify.grade import grade_text

    monkeypatch.setattr(limits, "MAX_INT_DIGITS", 10_000)
    n = 10**400
    true = 2 * n * 4  # the input and the relu output, float32
    sheet = (f"questions:\n  - id: q1\n    network: {{input: [{n}], layers: [relu]}}\n"
             f"    answers: {{memory: {true}}}\n")
    graded = grade_text(sheet)
    assert graded.right == 1
    text = render_text(graded)  # formerly OverflowError: int / 1e6
    assert f"({8 * 10**394:,}.00 MB)" in text  # 8·10^400 B = 8·10^394 MB


def test_mb_and_bytes_rules():
    from cnncalc.core.figures import activation_bytes, mb, param_bytes

    assert mb(60_950_432) == "60.95"  # VGG16's forward activations, REFERENCE.md: 60.95 MB
    assert mb(1_234_565_000, grouped=True) == "1,234.57"  # 1,234.565 rounds half up
    assert activation_bytes(15_237_608, Conventions()) == 60_950_432  # 15,237,608 · 4 B
    assert activation_bytes(10, Conventions(dtype="float16", batch=3)) == 60  # 10 · 2 B · 3
    assert param_bytes(138_357_544, Conventions(batch=8)) == 553_430_176  # one copy: 138,357,544 · 4


def test_one_home_for_exit_codes_and_auto_names():
    from cnncalc.verify import check
    from cnncalc.cli import entry as cli
    from cnncalc.core import errors, exitcodes

    assert (check.EXIT_OK, check.EXIT_FAILED, check.EXIT_INVALID) == (0, 1, 2)
    assert cli.EXIT_ERROR is exitcodes.EXIT_ERROR and errors.CnnCalcError.exit_code == 2
    report = analyze(parse_expr("input 8x8x3 | conv 4 k3 | conv 4 k3 @conv2 | conv 4 k1"))
    assert [r.name for r in report.layers] == ["input", "conv1", "conv2", "conv3"]


def test_depthwise_and_separable_explain_their_own_formulas():
    from cnncalc.render.explain import layer_lines

    report = analyze(parse_expr("input 112x112x32 | depthwise k3 p1 | sepconv 32 k3 psame <input @sep"))
    dw = "\n".join(t for _, t in layer_lines(report, report.layer("depthwise1")))
    # MobileNet's first depthwise conv: 3·3 weights per channel, 32 channels, 32 biases
    assert "params = (3·3)·32 + 32 = 320" in dw
    assert "MACs = 112·112·32·(3·3) = 3,612,672" in dw  # 112·112 = 12,544; ·32 = 401,408; ·9
    sep = "\n".join(t for _, t in layer_lines(report, report.layer("sep")))
    # depthwise 3·3·32 = 288, pointwise 32·32 = 1,024, 32 biases: 1,344
    assert "params = 3·3·32 + 32·32 + 32 = 1,344" in sep
    # 401,408·9 = 3,612,672 (depthwise) + 401,408·32 = 12,845,056 (pointwise) = 16,457,728
    assert "MACs = 112·112·32·(3·3) + 112·112·32·32 = 16,457,728" in sep
