"""Odd but valid inputs (issue 6) work, with totals worked out by hand.

The tiny network used by most files (input 32×32×3, conv 10 filters 5×5 padding 2, relu,
maxpool 2, flatten, dense 10):

- conv: weights 5·5·3·10 = 750, biases 10 → 760 params; output 32×32×10;
  MACs 32·32·10·750 = 768,000
- maxpool 2 → 16×16×10; flatten → 2,560
- dense: weights 2,560·10 = 25,600, biases 10 → 25,610 params; MACs 25,600
- totals: params 26,370, MACs 793,600; activations 3,072 (input) + 10,240 (conv) + 10,240
  (relu) + 2,560 (pool) + 0 (flatten, a view) + 10 (dense) = 26,122
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnncalc.cli.entry import main

ODD = Path(__file__).parent / "odd"
TINY = {"params": 26_370, "macs": 793_600, "activations": 26_122}


def run_json(capsys, *args) -> dict:
    assert main([*args, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return json.loads(out)


@pytest.mark.parametrize("name", ["bom_crlf.yaml", "tabs_in_values.yaml", "chinese.yaml"])
def test_odd_spellings_of_the_tiny_network(name, capsys):
    raw = (ODD / name).read_bytes()
    if name == "bom_crlf.yaml":
        assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    if name == "tabs_in_values.yaml":
        assert b"\t" in raw
    report = run_json(capsys, str(ODD / name))
    totals = report["totals"]
    assert {k: totals[k] for k in TINY} == TINY
    assert report["layers"][1]["params"] == 760 and report["layers"][-1]["params"] == 25_610


def test_chinese_names_and_comments(capsys):
    report = run_json(capsys, str(ODD / "chinese.yaml"))
    assert report["name"] == "小网络"
    assert [r["name"] for r in report["layers"]] == ["input", "卷积1", "激活1", "池化1", "展平", "全连接"]
    assert report["layers"][-1]["inputs"] == ["展平"]
    assert main([str(ODD / "chinese.yaml")]) == 0
    assert "全连接" in capsys.readouterr().out


def test_chinese_names_in_the_dsl(capsys):
    report = run_json(capsys, "-e", "input 32x32x3 | conv 10 k5 p2 @卷积 | relu <卷积")
    assert [r["name"] for r in report["layers"]][:2] == ["input", "卷积"]
    assert report["totals"]["params"] == 760


def test_anchors_and_merge_keys(capsys):
    # conv1 as in the tiny network (760 params, 768,000 MACs); conv2 merges conv1's mapping but
    # overrides filters: 4 → weights 5·5·10·4 = 1,000 + 4 biases = 1,004; MACs 32·32·4·250 =
    # 1,024,000; pool → 16×16×4 = 1,024; dense: 10,240 + 10 = 10,250 params, 10,240 MACs.
    report = run_json(capsys, str(ODD / "anchors_and_merge.yaml"))
    assert [r["params"] for r in report["layers"] if r["params"]] == [760, 1_004, 10_250]
    assert report["totals"]["params"] == 12_014
    assert report["totals"]["macs"] == 768_000 + 1_024_000 + 10_240
    assert report["totals"]["activations"] == 3_072 + 10_240 + 10_240 + 4_096 + 4_096 + 1_024 + 10


def test_huge_dimensions_stay_exact(capsys):
    # input 10^5 × 10^5 × 10^5, conv 10^12 filters 3×3 padding 1 → 10^5 × 10^5 × 10^12
    # weights 3·3·10^5·10^12 = 9·10^17, biases 10^12; MACs 10^10 positions · 10^12 · 9·10^5 = 9·10^27
    report = run_json(capsys, str(ODD / "big_dims.yaml"))
    conv = report["layers"][1]
    assert conv["output_shape"] == [10**5, 10**5, 10**12]
    assert conv["weights"] == 9 * 10**17 and conv["biases"] == 10**12
    assert conv["macs"] == 9 * 10**27 and conv["flops"] == 18 * 10**27
    assert report["totals"]["activations"] == 10**15 + 10**22
    assert report["totals"]["param_bytes"] == 4 * (9 * 10**17 + 10**12)
    assert main([str(ODD / "big_dims.yaml"), "--format", "json"]) == 0
    text = capsys.readouterr().out
    assert "e+" not in text and "E+" not in text and "inf" not in text.lower()
    assert main([str(ODD / "big_dims.yaml")]) == 0
    table = capsys.readouterr().out
    assert "900P" in table and "9.00e27" in table and "40.00 ZB" in table and "3.60 EB" in table


@pytest.mark.parametrize("text, value", [("1e-5", 1e-05), ("1E-5", 1e-05), ("+2.5e-3", 0.0025), (".5e1", 5.0),
                                         ("1.0e-5", 1e-05), ("0.00001", 1e-05)])
def test_an_exponent_without_a_dot_is_a_number(text, value):
    # YAML 1.2 and JSON read 1e-5 as a number; PyYAML's YAML 1.1 rules read it as the string '1e-5',
    # and `eps: 1e-5` (how PyTorch's documentation writes it) was refused as "must be a number"
    from cnncalc.load import parse_spec

    g = parse_spec(f"input: [8, 8, 4]\nlayers:\n  - layernorm: {{eps: {text}}}\n")
    assert g.layers[-1].params["eps"] == value


def test_an_exponent_in_a_name_or_a_quoted_value_stays_text():
    from cnncalc.load import parse_spec

    g = parse_spec("input: [8, 8, 4]\nlayers:\n  - {name: 'e1e5', relu: null}\n  - {name: \"1e5\", relu: null}\n")
    assert [layer.name for layer in g.layers[1:]] == ["e1e5", "1e5"]
