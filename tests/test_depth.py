"""Depth: weight layers on the longest path, as the papers count it (figures from the papers)."""

from __future__ import annotations

import json

import pytest

from cnncalc.core.analysis import analyze
from cnncalc.load import load_spec, parse_spec


@pytest.mark.parametrize("name, depth", [
    ("alexnet", 8),  # Krizhevsky et al. 2012: five conv + three fully connected
    ("vgg16", 16),  # Simonyan & Zisserman: 13 conv + 3 FC ("16 weight layers")
    ("vgg19", 19),
    ("googlenet", 22),  # Szegedy et al.: "22 layers deep when counting only layers with parameters"
    ("resnet18", 18), ("resnet34", 34), ("resnet50", 50), ("resnet101", 101), ("resnet152", 152),  # He et al.
    ("mobilenet_v1", 28),  # Howard et al.: "counting depthwise and pointwise convolutions as separate layers"
])
def test_depth_of_the_papers(name, depth):
    assert analyze(load_spec(name)).totals.depth == depth


def test_depth_counts_the_longest_path_only():
    # a 3-conv branch and a 1-conv branch joined: depth 3 + the final dense = 4 (hand count)
    spec = {"input": [8, 8, 3], "layers": [
        {"name": "a", "conv": {"filters": 4, "kernel": 3, "padding": 1}},
        {"conv": {"filters": 4, "kernel": 3, "padding": 1}},
        {"name": "b", "conv": {"filters": 4, "kernel": 3, "padding": 1}},
        {"name": "c", "conv": {"filters": 4, "kernel": 1}, "from": "input"},
        {"add": None, "from": ["b", "c"]}, {"relu": None}, {"global_avgpool": None},
        {"dense": 10}, {"separable_conv": {"filters": 2, "kernel": 1}, "from": "a"}]}
    r = analyze(parse_spec(json.dumps(spec)))
    assert r.layer("add1").depth == 3 and r.layer("dense1").depth == 4
    assert r.layer("separable_conv1").depth == 3  # conv a (1) + depthwise and pointwise (2)
    assert r.totals.depth == 4


def test_depth_in_json_table_expect_and_sheets(cli, tmp_path):
    assert json.loads(cli("vgg16", "-f", "json").out)["totals"]["depth"] == 16
    assert "depth 16 weight layers" in cli("vgg16").out
    assert "; depth 22 weight layers." in cli("googlenet", "-f", "markdown").out
    f = tmp_path / "s.yaml"
    f.write_text("input: [32, 32, 3]\nlayers: [conv: {filters: 4, kernel: 3}, flatten, dense: 10]\n"
                 "expect: {depth: 2, layers: {conv1: {depth: 1}}}\n")
    assert cli("check", str(f)).code == 0
    f.write_text(f.read_text().replace("depth: 2", "depth: 3"))
    assert cli("check", str(f)).code == 1
    sheet = tmp_path / "q.yaml"
    sheet.write_text("questions:\n  - {network: googlenet, answers: {depth: 22}}\n"
                     "  - {network: alexnet, answers: {depth: 7}}\n")
    r = cli("grade", str(sheet))
    assert r.code == 1 and "✓ depth" in r.out and "✗ depth" in r.out


def test_each_layer_has_its_depth_in_json_and_csv():
    # GoogLeNet's depth 22 (Szegedy et al., Table 1: "22 layers deep when counting only layers with
    # parameters"); every layer's depth in JSON and CSV is the longest path of weight layers to it,
    # and the output layer's is the network's
    import csv
    import io
    import json

    from .conftest import run_cli

    layers = json.loads(run_cli("googlenet", "--format", "json").out)["layers"]
    rows = list(csv.DictReader(io.StringIO(run_cli("googlenet", "--format", "csv").out)))
    assert [row["depth"] for row in rows] == [str(layer["depth"]) for layer in layers]
    assert layers[0]["depth"] == 0 and layers[-1]["depth"] == 22
    assert all(b["depth"] >= a["depth"] for a, b in zip(layers, layers[1:]) if a["name"] in b["inputs"])
