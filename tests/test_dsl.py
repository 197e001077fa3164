"""The one-line DSL: same graph and report as the YAML spelling; errors at the column."""

from __future__ import annotations

import json

import pytest

from cnncalc import analyze, parse_spec
from cnncalc.core.errors import CnnCalcError
from cnncalc.render import render
from cnncalc.load.dsl import parse_expr

from .conftest import run_cli

PAIRS = [
    ("input 32x32x3 | conv 10 k5 s1 p2 | relu | maxpool 2 | flatten | dense 10",
     "input: [32, 32, 3]\nlayers:\n  - conv: {filters: 10, kernel: 5, stride: 1, padding: 2}\n  - relu\n"
     "  - maxpool: {kernel: 2}\n  - flatten\n  - dense: {units: 10}\n"),
    ("input 224x224x3 | conv3-64 p1 relu | conv3-64 p1 relu | maxpool 2 s2 | flatten | fc-10",
     "input: [224, 224, 3]\nlayers:\n  - conv: {filters: 64, kernel: 3, padding: 1, activation: relu}\n"
     "  - conv: {filters: 64, kernel: 3, padding: 1, activation: relu}\n  - maxpool: {kernel: 2, stride: 2}\n"
     "  - flatten\n  - fc: 10\n"),
    ("input 19x19x48 | conv 192 k5 p2 relu @c1 | conv 192 k3 p1 relu *11 | conv 1 k1 nobias | position_bias "
     "| flatten | softmax",
     "input: [19, 19, 48]\nlayers:\n  - conv: {filters: 192, kernel: 5, padding: 2, activation: relu, name: c1}\n"
     "  - conv: {filters: 192, kernel: 3, padding: 1, activation: relu, repeat: 11}\n"
     "  - conv: {filters: 1, kernel: 1, bias: false}\n  - position_bias\n  - flatten\n  - softmax\n"),
    ("input 28x28x256 | conv 64 k1 @a <input | conv 32 k1x7 p0,0,3,3 @b <input | maxpool 3 s1 p1 ceil <input @c "
     "| concat <a,b,c | bn | dropout 0.3 | depthwise k3 psame multiplier=2 | separable_conv 8 k3 s2 "
     "| channel_shuffle 2 | upsample 2 mode=bilinear | hardswish | global_avgpool | dense 4 bias=false",
     "input: [28, 28, 256]\nlayers:\n  - conv: {filters: 64, kernel: 1, name: a, from: input}\n"
     "  - conv: {filters: 32, kernel: [1, 7], padding: [0, 0, 3, 3], name: b, from: input}\n"
     "  - maxpool: {kernel: 3, stride: 1, padding: 1, ceil_mode: true, from: input, name: c}\n"
     "  - concat: {from: [a, b, c]}\n  - bn\n  - dropout: 0.3\n"
     "  - depthwise: {kernel: 3, padding: same, multiplier: 2}\n"
     "  - separable_conv: {filters: 8, kernel: 3, stride: 2}\n"
     "  - channel_shuffle: {groups: 2}\n  - upsample: {scale: 2, mode: bilinear}\n  - hardswish\n"
     "  - global_avgpool\n  - dense: {units: 4, bias: false}\n"),
]


def _json(report):
    d = json.loads(render(report, "json"))
    d.pop("name")
    return d


@pytest.mark.parametrize("expr,yaml_text", PAIRS)
def test_dsl_and_yaml_identical_reports(expr, yaml_text):
    a = _json(analyze(parse_expr(expr)))
    b = _json(analyze(parse_spec(yaml_text, "t.yaml")))
    assert a == b


def test_dsl_strings_in_yaml_lists():
    mixed = "input: [32, 32, 3]\nlayers:\n  - conv 10 k5 s1 p2 | relu\n  - maxpool: 2\n  - flatten | dense 10\n"
    assert _json(analyze(parse_spec(mixed, "t.yaml"))) == _json(analyze(parse_expr(PAIRS[0][0])))


def test_cli_expr_issue_example():
    # the issue's example: 32×32×3, 10 filters 5×5 stride 1 pad 2 → 32×32×10, 760 params
    res = run_cli("-e", PAIRS[0][0], "--format", "json")
    assert res.code == 0, res.err
    d = json.loads(res.out)
    assert d["layers"][1]["output_shape"] == [32, 32, 10]
    assert d["layers"][1]["params"] == 760
    assert d["output_shape"] == [10]
    assert d["layers"][-1]["params"] == 16 * 16 * 10 * 10 + 10


@pytest.mark.parametrize("expr,start", [
    ("input 32x32x3 | conv 10 k5 zz", "<expr>:1:28: conv: cannot read 'zz'"),
    ("input 32x32x3 | cnv 10", "<expr>:1:17: unknown layer type 'cnv'; did you mean 'conv'?"),
    ("input 32x32x3 || relu", "<expr>:1:16: an empty stage"),
    ("input 32x32x3 | conv 10 k5 foo=1", "<expr>:1:28: conv1: unknown parameter 'foo' for conv"),
    ("input 32x32x3 | conv 10 k5 s0", "<expr>:1:28: conv1: stride must be a positive integer (received 0)"),
    ("input 32x32x3 | maxpool 2 | mha 3", "<expr>:1:29: multihead_attention1: multihead_attention needs a token"),
    ("input 32x32x3 | conv 10 k5 *x", "<expr>:1:28: a repeat is written *N"),
    ("input 32x32x3 | add <input,nope", "<expr>:1:21: add1: 'from' names no layer called 'nope'"),
])
def test_dsl_errors_point_at_column(expr, start):
    with pytest.raises(CnnCalcError) as e:
        analyze(parse_expr(expr))
    assert e.value.format().startswith(start), e.value.format()


def test_cli_errors():
    res = run_cli("-e", "input 4 | dense 2 3")
    assert res.code == 2 and res.err.startswith("cnncalc: error: <expr>:1:19:")
    assert run_cli().code == 2
    res = run_cli("vgg16", "-e", "input 4 | dense 2")
    assert res.code == 2 and "not both" in res.err
    res = run_cli("-e", "   ")
    assert res.code == 2 and "empty" in res.err


def test_depth_collapses_blocks():
    res = run_cli("resnet18", "--depth", "1", "--format", "json")
    d = json.loads(res.out)
    names = [x["name"] for x in d["layers"]]
    assert names == ["input", "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
                     "avgpool", "flatten", "fc"]
    assert d["totals"]["params"] == 11_689_512  # REFERENCE.md, unchanged by collapsing
    assert sum(x["params"] for x in d["layers"]) == 11_689_512
    d2 = json.loads(run_cli("resnet18", "--depth", "2", "--format", "json").out)
    assert [x["name"] for x in d2["layers"]][5:9] == ["layer1.0", "layer1.1", "layer2.0", "layer2.1"]
