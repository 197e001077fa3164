"""Answer notations (Keras batch shapes, vectors written as products, ratios to another network),
locally connected layers, and the depth/ratio sheet. Expected figures: hand arithmetic and the
Keras documentation, written here."""

from __future__ import annotations

import json

import pytest

from cnncalc.core.analysis import analyze
from cnncalc.verify.grade import grade_file, grade_text
from cnncalc.load import parse_spec

from .conftest import ROOT


def _marks(text):
    g = grade_text(text, "s.yaml", ROOT / "exams")
    return [a.ok for q in g.questions for a in q.answers]


@pytest.mark.parametrize("written, ok", [
    ("(None, 64, 32, 32)", True),  # Keras channels-first, batch first
    ("(None, 32, 32, 64)", True),  # Keras channels-last
    ("[null, 32, 32, 64]", True),
    ("(None, 64, 32, 31)", False),
    ("(None, 32, 64, 32)", False),
    ("32x32x64", True),
])
def test_batch_shapes(written, ok):
    sheet = ("questions:\n  - network: {input: [32, 32, 3], layers: [{conv: {filters: 64, kernel: 3, padding: 1}}]}\n"
             f"    answers: {{output_shape: {json.dumps(written) if written[0] != '[' else written}}}\n")
    assert _marks(sheet) == [ok]


@pytest.mark.parametrize("written, ok", [("19*19", True), ("19×19 vector", True), ("19x19 vector", True),
                                         ("361", True), ("19*18", False), ("18×19 vector", False)])
def test_vectors_written_as_products(written, ok):
    # AlphaGo's policy output: one probability per point of the 19×19 board, a vector of 361
    sheet = f"questions:\n  - network: alphago_policy\n    answers: {{output_shape: {json.dumps(written)}}}\n"
    assert _marks(sheet) == [ok]


def test_ratios_against_a_second_network():
    # AlexNet 60,965,224 params, GoogLeNet 6,998,552: 8.71×; MACs 1,582,671,872 / 724,406,816 = 2.18×
    sheet = """questions:
  - network: googlenet
    answers:
      params: 9x fewer than alexnet
      macs: 2.2 times more than AlexNet
  - network: googlenet
    answers: {params: 12x less params than AlexNet, weights: "8.7× fewer than alexnet"}
"""
    assert _marks(sheet) == [True, True, False, True]


def test_depth_and_ratios_sheet():
    g = grade_file(str(ROOT / "exams" / "depth_and_ratios.yaml"))
    wrong = {(q.id, a.figure) for q in g.questions for a in q.answers if not a.ok}
    assert wrong == {("supervision", "depth"), ("googlenet", "params")}
    assert (g.right, g.total) == (8, 10)


def test_locally_connected_counts_as_keras():
    # Keras LocallyConnected2D docs: 64 filters 3×3 on 32×32×3 → (None, 30, 30, 64),
    # (30*30)*(3*3*3*64) + (30*30)*64 parameters
    r = analyze(parse_spec("input: [32, 32, 3]\nlayers: [{locally_connected: {filters: 64, kernel: 3}}]"))
    lc = r.layers[1]
    assert lc.output_shape == (30, 30, 64)
    assert lc.weights == (30 * 30) * (3 * 3 * 3 * 64) and lc.biases == (30 * 30) * 64
    assert lc.params == 1_612_800 and lc.macs == 30 * 30 * 64 * 27
    assert r.totals.depth == 1
    # the lecture's step from "fully connected" to "shared weights": a 6×6 image, 3×3 windows, 1 filter
    lc = analyze(parse_spec("input: [6, 6, 1]\nlayers: [{locally_connected: {filters: 1, kernel: 3, "
                            "bias: false}}]")).layers[1]
    conv = analyze(parse_spec("input: [6, 6, 1]\nlayers: [{conv: {filters: 1, kernel: 3, bias: false}}]")).layers[1]
    dense = analyze(parse_spec("input: 36\nlayers: [{dense: {units: 16, bias: false}}]")).layers[1]
    assert (dense.params, lc.params, conv.params) == (36 * 16, 16 * 9, 9)


def test_locally_connected_explained(cli, tmp_path):
    f = tmp_path / "lc.yaml"
    f.write_text("input: [32, 32, 3]\nlayers: [{locally_connected: {filters: 64, kernel: 3}}]\n")
    out = cli(str(f), "--explain").out
    assert "params = 30·30·(3·3·3)·64 + 30·30·64 = 1,612,800" in out
