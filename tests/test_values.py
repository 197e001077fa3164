"""cnncalc values: numeric forwards against PyTorch, the decks' matrices, the CLI contract, grading.

Expected values come from PyTorch (float64 on small-integer tensors: exact for these sizes), from
the slides as printed (shared/seeds, typed here), or from hand arithmetic written in the test.
"""

from __future__ import annotations

import json
import random
from fractions import Fraction

import pytest

from cnncalc.core import formulas as fm
from cnncalc.core.analysis import analyze
from cnncalc.load import load_spec, parse_spec
from cnncalc.values.run import run

from .conftest import ROOT, has_torch

EXAMS = ROOT / "exams"
needs_torch = pytest.mark.skipif(not has_torch(), reason="PyTorch not installed")


def values_of(spec: dict) -> dict:
    """name → LayerValues for a spec written as a dict (JSON is YAML)."""
    return {lv.name: lv for lv in run(analyze(parse_spec(json.dumps(spec), "<test>")))}


def hwc(x):
    """A (1, C, H, W) torch tensor → the flat H, W, C list cnncalc uses."""
    return x[0].permute(1, 2, 0).reshape(-1).tolist()


def nested_hwc(x):
    return x[0].permute(1, 2, 0).tolist()


def rand_input(rng, h, w, c):
    import torch

    return torch.tensor([[[[rng.randint(-4, 4) for _ in range(w)] for _ in range(h)] for _ in range(c)]],
                        dtype=torch.float64)


def same(ours, theirs, exact=True):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if exact:
            assert a == b, (a, b)
        else:
            assert abs(float(a) - b) <= 1e-9 * max(1.0, abs(b)), (a, b)


# ---------------------------------------------------------------------------------------------
# PyTorch as the oracle

CONV_CASES = [  # (H, W, C, K, F, stride, padding, dilation, groups, bias)
    (6, 6, 1, 2, 3, 1, 0, 1, 1, False),
    (7, 5, 3, 4, 3, 2, 1, 1, 1, True),
    (8, 8, 4, 6, 3, 1, 2, 2, 2, True),  # grouped, dilated, padded
    (9, 7, 6, 6, (3, 2), (2, 1), (1, 0), (1, 2), 3, False),
    (5, 5, 4, 8, 1, 1, 0, 1, 4, True),  # depthwise-style 1×1, multiplier 2
    (10, 10, 2, 3, 5, 3, 2, 1, 1, True),
]


@needs_torch
@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_conv_matches_torch_conv2d(case, reduce):
    import torch
    import torch.nn.functional as F

    h, w, c, k, f, s, p, d, g, bias = case
    rng = random.Random(hash((case, reduce)) & 0xFFFF)
    fh, fw = (f, f) if isinstance(f, int) else f
    x = rand_input(rng, h, w, c)
    wt = torch.tensor([[[[rng.randint(-3, 3) for _ in range(fw)] for _ in range(fh)] for _ in range(c // g)]
                       for _ in range(k)], dtype=torch.float64)
    b = torch.tensor([rng.randint(-5, 5) for _ in range(k)], dtype=torch.float64) if bias else None
    pad = p if isinstance(p, int) else list(p)
    ref = F.conv2d(x, wt, b if reduce == "sum" else None, stride=s, padding=p, dilation=d, groups=g)
    if reduce == "mean":
        ref = ref / (fh * fw * (c // g))
        if bias:
            ref = ref + b.view(1, -1, 1, 1)
    conv = {"filters": k, "kernel": [fh, fw], "stride": s if isinstance(s, int) else list(s), "padding": pad,
            "dilation": d if isinstance(d, int) else list(d), "groups": g, "bias": bias, "reduce": reduce,
            "weights": wt.permute(0, 2, 3, 1).tolist()}
    if bias:
        conv["biases"] = b.tolist()
    v = values_of({"input": [h, w, c], "values": {"input": nested_hwc(x)}, "layers": [{"conv": conv}]})
    out = v["conv1"]
    assert out.shape == (ref.shape[2], ref.shape[3], ref.shape[1])
    if reduce == "sum":
        assert all(type(a) is int for a in out.data)
        same(out.data, hwc(ref))
    else:
        assert all(type(a) in (int, Fraction) for a in out.data)
        same(out.data, hwc(ref), exact=False)


POOL_CASES = [  # (H, W, C, F, stride, padding, dilation, ceil_mode)
    (7, 7, 2, 2, 2, 0, 1, True),  # the X/O deck: 7×7 → 4×4
    (6, 6, 1, 2, 2, 0, 1, False),
    (9, 8, 3, 3, 2, 1, 1, True),
    (10, 7, 2, 3, 3, 1, 1, True),
    (11, 11, 2, 3, 2, 1, 2, False),
    (8, 8, 1, (3, 2), (2, 1), (1, 1), 1, True),
]


@needs_torch
@pytest.mark.parametrize("case", POOL_CASES)
def test_maxpool_matches_torch(case):
    import torch.nn.functional as F

    h, w, c, f, s, p, d, ceil = case
    rng = random.Random(hash(case) & 0xFFFF)
    x = rand_input(rng, h, w, c)
    ref = F.max_pool2d(x, f, s, p, d, ceil_mode=ceil)
    lst = lambda v: v if isinstance(v, int) else list(v)  # noqa: E731
    v = values_of({"input": [h, w, c], "values": {"input": nested_hwc(x)},
                   "layers": [{"maxpool": {"kernel": lst(f), "stride": lst(s), "padding": lst(p), "dilation": d,
                                           "ceil_mode": ceil}}]})
    out = v["maxpool1"]
    assert out.shape == (ref.shape[2], ref.shape[3], ref.shape[1])
    same(out.data, hwc(ref))


@needs_torch
@pytest.mark.parametrize("case", [c for c in POOL_CASES if c[6] == 1])
@pytest.mark.parametrize("include", [True, False])
def test_avgpool_matches_torch(case, include):
    import torch.nn.functional as F

    h, w, c, f, s, p, _, ceil = case
    rng = random.Random(hash(case) & 0xFFFF)
    x = rand_input(rng, h, w, c)
    ref = F.avg_pool2d(x, f, s, p, ceil_mode=ceil, count_include_pad=include)
    lst = lambda v: v if isinstance(v, int) else list(v)  # noqa: E731
    v = values_of({"input": [h, w, c], "values": {"input": nested_hwc(x)},
                   "layers": [{"avgpool": {"kernel": lst(f), "stride": lst(s), "padding": lst(p),
                                           "ceil_mode": ceil, "count_include_pad": include}}]})
    out = v["avgpool1"]
    assert out.shape == (ref.shape[2], ref.shape[3], ref.shape[1])
    same(out.data, hwc(ref), exact=False)


@needs_torch
def test_dense_and_activations_match_torch():
    import torch
    import torch.nn.functional as F

    rng = random.Random(7)
    x = torch.tensor([rng.randint(-5, 5) for _ in range(12)], dtype=torch.float64)
    w1 = torch.tensor([[rng.randint(-2, 2) for _ in range(12)] for _ in range(5)], dtype=torch.float64)
    b1 = torch.tensor([rng.randint(-3, 3) for _ in range(5)], dtype=torch.float64)
    w2 = torch.tensor([[rng.randint(-2, 2) for _ in range(5)] for _ in range(4)], dtype=torch.float64)
    v = values_of({"input": 12, "values": {"input": x.tolist()}, "layers": [
        {"dense": {"name": "fc1", "units": 5, "weights": w1.tolist(), "biases": b1.tolist()}},
        {"leaky_relu": {"negative_slope": 0.25}},
        {"dense": {"name": "fc2", "units": 4, "bias": False, "weights": w2.tolist(), "activation": "relu6"}},
        {"name": "hs", "hardswish": None}, {"name": "hsig", "hardsigmoid": None},
        {"name": "sm", "softmax": None}, {"name": "sg", "sigmoid": None}, {"name": "th", "tanh": None},
    ]})
    y1 = F.linear(x, w1, b1)
    same(v["fc1"].data, y1.tolist())
    y2 = F.leaky_relu(y1, 0.25)
    same(v["leaky_relu1"].data, y2.tolist())
    y3 = F.relu6(F.linear(y2, w2))
    same(v["fc2"].data, y3.tolist())
    y4 = F.hardswish(y3)
    same(v["hs"].data, y4.tolist(), exact=False)
    y5 = F.hardsigmoid(y4)
    same(v["hsig"].data, y5.tolist(), exact=False)
    same(v["sm"].data, F.softmax(y5, -1).tolist(), exact=False)
    same(v["sg"].data, torch.sigmoid(F.softmax(y5, -1)).tolist(), exact=False)
    same(v["th"].data, torch.tanh(torch.sigmoid(F.softmax(y5, -1))).tolist(), exact=False)


@needs_torch
def test_parameter_free_layers_match_torch():
    import torch
    import torch.nn.functional as F

    rng = random.Random(11)
    x = rand_input(rng, 6, 5, 4)
    v = values_of({"input": [6, 5, 4], "values": {"input": nested_hwc(x)}, "layers": [
        {"name": "pad", "zeropad": [1, 2, 0, 3]},
        {"name": "up", "upsample": {"scale": 2}, "from": "input"},
        {"name": "up2", "upsample": {"size": [9, 7]}, "from": "input"},
        {"name": "shuf", "channel_shuffle": 2, "from": "input"},
        {"name": "gap", "global_avgpool": None, "from": "input"},
        {"name": "gmp", "global_maxpool": None, "from": "input"},
        {"name": "aap", "adaptive_avgpool": [4, 3], "from": "input"},
        {"name": "amp", "adaptive_maxpool": [4, 3], "from": "input"},
        {"name": "cat", "concat": None, "from": ["input", "shuf"]},
        {"name": "sum", "add": None, "from": ["input", "shuf"]},
        {"name": "mul", "multiply": None, "from": ["input", "gap"]},
        {"name": "flat", "flatten": None, "from": "input"},
        {"name": "lrn", "lrn": {"size": 3, "alpha": 0.5, "beta": 0.75, "k": 2}, "from": "input"},
    ]})
    same(v["pad"].data, hwc(F.pad(x, (0, 3, 1, 2))))
    same(v["up"].data, hwc(F.interpolate(x, scale_factor=2, mode="nearest")))
    same(v["up2"].data, hwc(F.interpolate(x, size=(9, 7), mode="nearest")))
    shuf = torch.nn.ChannelShuffle(2)(x)
    same(v["shuf"].data, hwc(shuf))
    same(v["gap"].data, x.mean(dim=(2, 3))[0].tolist(), exact=False)
    same(v["gmp"].data, x.amax(dim=(2, 3))[0].tolist())
    same(v["aap"].data, hwc(F.adaptive_avg_pool2d(x, (4, 3))), exact=False)
    same(v["amp"].data, hwc(F.adaptive_max_pool2d(x, (4, 3))))
    same(v["cat"].data, hwc(torch.cat([x, shuf], 1)))
    same(v["sum"].data, hwc(x + shuf))
    same(v["mul"].data, hwc(x * x.mean(dim=(2, 3), keepdim=True)), exact=False)
    same(v["flat"].data, hwc(x))  # H, W, C order (Keras Flatten on channels-last)
    same(v["lrn"].data, hwc(F.local_response_norm(x, 3, alpha=0.5, beta=0.75, k=2.0)), exact=False)


# ---------------------------------------------------------------------------------------------
# the decks' matrices, typed from the slides

SIX = [[1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 0],
       [1, 0, 0, 0, 1, 0], [0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 1, 0]]
FILTER1 = [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]]
FILTER2 = [[-1, 1, -1], [-1, 1, -1], [-1, 1, -1]]


def channel(lv, ch):
    h, w, c = lv.shape
    return [[lv.data[(r * w + q) * c + ch] for q in range(w)] for r in range(h)]


def test_six_by_six_as_the_slides_print_it():
    spec = {"input": [6, 6, 1], "values": {"input": SIX}, "layers": [
        {"conv": {"filters": 2, "kernel": 3, "bias": False, "weights": [FILTER1, FILTER2]}},
        {"maxpool": {"kernel": 2}},
        {"conv": {"name": "s2", "filters": 1, "kernel": 3, "stride": 2, "bias": False, "weights": [FILTER1]},
         "from": "input"}]}
    v = values_of(spec)
    # shared/seeds/000 ("Convolutional Layer", "Pooling – Max Pooling")
    assert channel(v["conv1"], 0) == [[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]]
    assert channel(v["conv1"], 1) == [[-1, -1, -1, -1], [-1, -1, -2, 1], [-1, -1, -2, 1], [-1, 0, -4, 3]]
    assert channel(v["maxpool1"], 0) == [[3, 0], [3, 1]]  # the lecture: max pooling → 3 0 / 3 1
    # by hand: stride 2 keeps rows/columns 0 and 2 of the stride-1 map
    assert channel(v["s2"], 0) == [[3, -3], [-3, 0]]


# shared/seeds/002, "Convolution: Trying every possible match" (truncated to 2 decimals)
XO_DIAGONAL = [[0.77, -0.11, 0.11, 0.33, 0.55, -0.11, 0.33], [-0.11, 1.00, -0.11, 0.33, -0.11, 0.11, -0.11],
               [0.11, -0.11, 1.00, -0.33, 0.11, -0.11, 0.55], [0.33, 0.33, -0.33, 0.55, -0.33, 0.33, 0.33],
               [0.55, -0.11, 0.11, -0.33, 1.00, -0.11, 0.11], [-0.11, 0.11, -0.11, 0.33, -0.11, 1.00, -0.11],
               [0.33, -0.11, 0.55, 0.33, 0.11, -0.11, 0.77]]
# "Pooling layer": the three pooled maps
XO_POOLED = [[[1.00, 0.33, 0.55, 0.33], [0.33, 1.00, 0.33, 0.55], [0.55, 0.33, 1.00, 0.11], [0.33, 0.55, 0.11, 0.77]],
             [[0.55, 0.33, 0.55, 0.33], [0.33, 1.00, 0.55, 0.11], [0.55, 0.55, 0.55, 0.11], [0.33, 0.11, 0.11, 0.33]],
             [[0.33, 0.55, 1.00, 0.77], [0.55, 0.55, 1.00, 0.33], [1.00, 1.00, 0.11, 0.55], [0.77, 0.33, 0.55, 0.33]]]


def _cut2(x) -> Fraction:
    from cnncalc.values.show import cut

    return cut(x, 2)


def test_xo_deck_as_the_slides_print_it():
    v = {lv.name: lv for lv in run(analyze(load_spec("xo_toy")))}
    assert [[_cut2(x) for x in row] for row in channel(v["features"], 0)] == \
        [[Fraction(repr(x)) for x in row] for row in XO_DIAGONAL]
    assert channel(v["features"], 0)[0][0] == Fraction(7, 9)  # the slide's worked cell: 7/9 printed as 0.77
    for ch in range(3):
        assert [[_cut2(x) for x in row] for row in channel(v["pool"], ch)] == \
            [[Fraction(repr(x)) for x in row] for row in XO_POOLED[ch]]
    assert min(v["relu1"].data) == 0


def test_xo_cell_explained_as_the_slide_works_it(cli):
    # slide: (1 + 1 − 1 + 1 + 1 + 1 − 1 + 1 + 1)/9 = .55 — the centre of the "\" map
    r = cli("values", "xo_toy", "--cell", "features[3,3,0]")
    assert r.code == 0
    assert r.out == "features[3,3,0] = (1 + 1 − 1 + 1 + 1 + 1 − 1 + 1 + 1)/9 = 5/9 ≈ 0.56\n"
    r = cli("values", "xo_toy", "--cell", "features[3,3,0]", "--truncate", "2")
    assert r.out.endswith("= 5/9 ≈ 0.55\n")


def test_six_by_six_cell_and_pool_explained(cli, tmp_path):
    f = tmp_path / "six.yaml"
    f.write_text(json.dumps({"input": [6, 6, 1], "values": {"input": SIX}, "layers": [
        {"conv": {"filters": 2, "kernel": 3, "bias": False, "weights": [FILTER1, FILTER2]}},
        {"maxpool": {"kernel": 2}}]}))
    r = cli("values", str(f), "--cell", "conv1[0,0,0]")
    assert r.out == ("conv1[0,0,0] = 1·1 + 0·(−1) + 0·(−1) + 0·(−1) + 1·1 + 0·(−1) + 0·(−1) + 0·(−1)"
                     " + 1·1 = 3\n")
    r = cli("values", str(f), "--cell", "maxpool1[0,1,0]")
    assert r.out.startswith("maxpool1[0,1,0] = max(−3, −1, 0, −3) = 0")
    assert "conv1[1,2,0]" in r.out
    r = cli("values", str(f), "--explain")
    assert r.code == 0 and r.out.count("\n  conv1[") == 32 and r.out.count("\n  maxpool1[") == 8


# ---------------------------------------------------------------------------------------------
# the contract of the command line


def test_json_structure(cli):
    r = cli("values", "xo_toy", "--format", "json")
    assert r.code == 0
    doc = json.loads(r.out)
    assert set(doc) == {"name", "layers"} and doc["name"] == "xo_toy"
    assert [la["name"] for la in doc["layers"]] == ["input", "features", "relu1", "pool"]
    for la in doc["layers"]:
        assert set(la) == {"name", "type", "output_shape", "values"}
        h, w, c = la["output_shape"]
        assert len(la["values"]) == h and len(la["values"][0]) == w and len(la["values"][0][0]) == c
    assert doc["layers"][0]["type"] == "input" and doc["layers"][0]["values"][0][0] == [-1]
    assert doc["layers"][1]["values"][0][0][0] == 7 / 9
    assert doc["layers"][1]["values"][3][3][1] == 1 and type(doc["layers"][1]["values"][3][3][1]) is int


def test_grids_and_display_modes(cli):
    r = cli("values", "xo_toy", "--truncate", "2")
    assert "     0.77 -0.11  0.11  0.33  0.55 -0.11  0.33" in r.out
    r = cli("values", "xo_toy", "--digits", "2")
    assert "     0.78 -0.11  0.11  0.33  0.56 -0.11  0.33" in r.out
    r = cli("values", "xo_toy")
    assert "0.78" in r.out and "rounded to 2 decimals" in r.out
    r = cli("values", "xo_toy", "--digits", "2", "--truncate", "2")
    assert r.code == 2 and r.err.count("\n") == 1


@pytest.mark.parametrize("layers, message", [
    ([{"conv": {"filters": 2, "kernel": 3, "bias": False}}], "conv needs 'weights:'"),
    ([{"conv": {"filters": 1, "kernel": 3, "weights": [FILTER1]}}], "give 'biases:' (1 numbers)"),
    ([{"batchnorm": None}], "batchnorm needs 'mean:' (the running mean, 1 numbers) to compute values"),
    ([{"batchnorm": {"track_running_stats": False}}], "normalises by the batch's own statistics"),
    ([{"batchnorm": {"eps": 0, "mean": [0], "variance": [0], "affine": False}}],
     "variance + ε = 0 in a normalised group: the normalisation would divide by zero"),
    ([{"layernorm": {"eps": -1, "affine": False}}], "variance + ε = -1 in a normalised group"),
    ([{"layernorm": None}], "layernorm needs 'weights:' (γ, 1 numbers) to compute values, or affine: false"),
    ([{"layernorm": {"weights": [2]}}], "layernorm needs 'biases:' (β, 1 numbers) to compute values, or affine"),
    ([{"instancenorm": {"track_running_stats": True}}], "normalises by its running mean and variance"),
    ([{"normalization": None}], "normalization needs 'mean:' (1 or 1 numbers)"),
    ([{"to_tokens": None}, {"class_token": None}], "class_token needs 'weights:' (the class token, 1 numbers)"),
    ([{"position_bias": None}], "position_bias needs 'biases:' (6×6×1 numbers, one per value)"),
    ([{"to_tokens": None}, {"mha": 1}], "multihead_attention needs 'in_proj_weight:' (3 rows of 1 numbers)"),
    ([{"to_tokens": None}, {"mha": {"heads": 1, "in_proj_weight": [[1], [1], [1]], "out_proj_weight": [[1]]}}],
     "multihead_attention needs 'in_proj_bias:' (3 numbers) to compute values, or bias: false"),
    ([{"depthwise": 3}], "depthwise needs 'weights:' (1 filters of 3×3) to compute values"),
    ([{"conv_transpose": {"filters": 1, "kernel": 2, "bias": False}}],
     "conv_transpose needs 'weights:' (1 filters of 2×2) to compute values"),
    ([{"separable_conv": {"filters": 2, "kernel": 3}}],
     "separable_conv needs 'depthwise_weights:' (1 filters of 3×3) to compute values"),
    ([{"locally_connected": {"filters": 1, "kernel": 3}}], "locally_connected takes no weights"),
])
def test_layers_without_numbers_are_one_line_errors(cli, tmp_path, layers, message):
    f = tmp_path / "s.yaml"
    f.write_text(json.dumps({"input": [6, 6, 1], "values": {"input": SIX}, "layers": layers}))
    r = cli("values", str(f))
    assert r.code == 2 and r.out == "" and r.err.count("\n") == 1, r.err
    assert message in r.err and f"{f}:" in r.err


@pytest.mark.parametrize("text, message", [
    ("values: {input: [[1, 2]]}", "values: input must be nested lists of H×W×C = 2×2×1"),
    ("values: {input: [[1, 2], [3, x]]}", "values: input number 4 must be a number"),
    ("values: {inputs: []}", "unknown key 'inputs' in values"),
    ("values: [1]", "'values' is a mapping"),
    ("layers: [{conv: {filters: 1, kernel: 2, bias: false, weights: [[1, 2], [3, 4]]}}]",
     "weights must be 1 filters of 2×2 numbers"),
    ("layers: [{conv: {filters: 1, kernel: 1, bias: false, biases: [1]}}]", "biases given but bias is false"),
    ("layers: [{conv: {filters: 1, kernel: 1, weights: 3}}]", "weights must be a list"),
    ("layers: [{conv: {filters: 1, kernel: 1, reduce: avg}}]", "reduce must be one of sum, mean"),
    ("layers: [{dense: {units: 2, weights: [[1, 2], [3, 4]]}}]", "weights must be 2 rows of 4 numbers"),
    ("layers: [{layernorm: {weights: [1, 2]}}]", "weights must be 1 numbers (γ, one per channel)"),
    ("layers: [{layernorm: {affine: false, weights: [1]}}]", "weights (γ) given but this layer has no learnable γ"),
    ("layers: [{groupnorm: {groups: 1, biases: [[1]]}}]", "biases must be 1 numbers (β, one per channel)"),
    ("layers: [{normalization: {mean: [1, 2]}}]", "mean must be 1 or 1 numbers (one per channel)"),
    ("layers: [{position_bias: {biases: [1, 2, 3, 4]}}]", "biases must be 2×2×1 numbers (one per value)"),
    ("layers: [to_tokens, {class_token: {weights: [1, 2]}}]", "weights must be 1 numbers (the class token)"),
])
def test_bad_numbers_are_located(cli, tmp_path, text, message):
    base = {"values": "values: {input: [[1, 2], [3, 4]]}",
            "layers": "layers: [{conv: {filters: 1, kernel: 1, bias: false, weights: [[[2]]]}}, flatten]"}
    key = text.split(":")[0]
    base[key] = text
    if key == "layers" and "dense" in text:
        base[key] = text.replace("[{dense", "[flatten, {dense")
    f = tmp_path / "s.yaml"
    f.write_text("input: [2, 2, 1]\n" + base["values"] + "\n" + base["layers"] + "\n")
    r = cli("values", str(f))
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    assert message in r.err and f"{f}:" in r.err, r.err
    if key == "layers":  # the analysis without values gives the same error (the spec is checked once)
        assert cli(str(f)).code == 2


def test_weights_change_no_figure():
    plain = analyze(parse_spec("input: [6, 6, 1]\nlayers: [{conv: {filters: 2, kernel: 3, bias: false}}]"))
    with_w = analyze(parse_spec(json.dumps({"input": [6, 6, 1], "values": {"input": SIX}, "layers": [
        {"conv": {"filters": 2, "kernel": 3, "bias": False, "reduce": "mean", "weights": [FILTER1, FILTER2]}}]})))
    assert plain.totals == with_w.totals and plain.layers[1].macs == with_w.layers[1].macs == 4 * 4 * 2 * 9


def test_size_limit_refused_and_64x64x16_computed(cli, tmp_path, monkeypatch):
    rng = random.Random(3)
    x = [[[rng.randint(-3, 3) for _ in range(16)] for _ in range(64)] for _ in range(64)]
    wts = [[[[rng.randint(-2, 2) for _ in range(16)] for _ in range(3)] for _ in range(3)] for _ in range(16)]
    f = tmp_path / "big.yaml"
    f.write_text(json.dumps(indent=0, obj={"input": [64, 64, 16], "values": {"input": x}, "layers": [
        {"conv": {"filters": 16, "kernel": 3, "padding": 1, "bias": False, "weights": wts}}, {"relu": None},
        {"maxpool": 2}]}))
    r = cli("values", str(f), "--format", "json")  # its speed: benchmarks/bench.py (values_speed)
    assert r.code == 0, r.err
    import cnncalc.values.run as vr

    monkeypatch.setattr(vr, "MAX_VALUE_MACS", 1_000_000)
    r = cli("values", str(f))
    assert r.code == 2 and "over the 1,000,000 limit of cnncalc values" in r.err and r.err.count("\n") == 1


def test_no_values_key_is_an_error(cli):
    r = cli("values", "vgg16")
    assert r.code == 2 and "has no 'values:'" in r.err


# ---------------------------------------------------------------------------------------------
# every layer type with a forward: output values fill the analysed shape

def _every_type_spec():
    layers = []
    for t in ("relu", "relu6", "leaky_relu", "sigmoid", "tanh", "softmax", "gelu", "silu", "elu", "selu", "mish",
              "hardswish", "hardsigmoid", "softplus", "identity", "dropout", "lrn", "channel_shuffle"):
        layers.append({t: 2} if t == "channel_shuffle" else {t: None})
    layers += [{"zeropad": 1}, {"maxpool": {"kernel": 3, "stride": 2, "ceil_mode": True}},
               {"avgpool": {"kernel": 2, "padding": 1}}, {"upsample": 2}, {"adaptive_avgpool": 3},
               {"adaptive_maxpool": 2}, {"name": "a", "reshape": [1, 4, 2]},
               {"conv": {"filters": 2, "kernel": 1, "bias": False, "weights": [[[[1, 0]]], [[[0, 1]]]]}},
               {"name": "c", "concat": None, "from": ["a", "conv1"]},
               {"name": "s", "add": None, "from": ["a", "conv1"]},
               {"multiply": None, "from": ["s", "a"]}, {"global_maxpool": None, "from": "c"},
               {"name": "g2", "global_avgpool": None, "from": "s"}, {"flatten": None},
               {"dense": {"units": 3, "bias": False, "weights": [[1, 2], [3, 4], [5, 6]]}},
               # issue 12's types, on branches from the input
               {"layernorm": {"weights": [1, 2], "biases": [0, "1/2"]}, "from": "input"},
               {"groupnorm": {"groups": 2, "affine": False}, "from": "input"},
               {"instancenorm": {"eps": 0}, "from": "input"}, {"layer_scale": {"weights": [2, 3]}},
               {"batchnorm": {"mean": [0, 1], "variance": [1, 4], "weights": [1, 1], "biases": [0, 0]}},
               {"stochastic_depth": 0.1}, {"rescaling": {"scale": 0.5, "offset": -1}},
               {"prelu": {"shared": False, "weights": ["1/4", -1]}},

               {"normalization": {"mean": [1], "variance": [4, "9/4"]}},
               {"name": "sp", "split": 2}, {"relu": None, "from": "sp.1"},
               {"cropping": [1, 0, 0, 0], "from": "input"}, {"space_to_depth": 2}, {"pixel_shuffle": 2},
               {"dense": {"units": 2, "bias": True, "weights": [[1, -1], [2, 0]], "biases": [1, 0]}},
               {"to_tokens": None}, {"class_token": {"weights": [5, 6]}},
               {"position_bias": {"biases": [[i % 3, -(i % 2)] for i in range(37)]}}, {"select_token": 1},
               {"multihead_attention": {"heads": 2, "bias": False, "in_proj_weight": [[1, 0], [0, 1]] * 3,
                                        "out_proj_weight": [[1, 1], [0, 1]]}, "from": "position_bias1"},
               {"window_attention": {"heads": 1, "window": 2, "shift": 1, "in_proj_weight": [[1, 0], [0, 1]] * 3,
                                     "in_proj_bias": [0] * 6, "out_proj_weight": [[1, 0], [0, 1]],
                                     "out_proj_bias": [0, 1], "table": [[i] for i in range(9)]}, "from": "input"},
               {"partition_attention": {"heads": 2, "size": 3, "partition": "grid", "qkv_bias": False,
                                        "proj_bias": False, "in_proj_weight": [[1, 0], [0, 1]] * 3,
                                        "out_proj_weight": [[1, 0], [0, 1]], "table": [[1, -1]] * 25},
                "from": "cropping1"},
               {"depthwise": {"kernel": 2, "multiplier": 2, "bias": False,
                              "weights": [[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[1, 1], [1, 1]], [[2, 0], [0, 0]]]},
                "from": "input"},
               {"conv_transpose": {"filters": 1, "kernel": 2, "stride": 2, "padding": "same", "biases": ["1/2"],
                                   "weights": [[[[1, 0], [0, 1]], [[1, 1], [-1, 0]]]]}, "from": "input"},
               {"separable_conv": {"filters": 1, "kernel": 1, "bias": False, "depthwise_weights": [[[2]], [[3]]],
                                   "pointwise_weights": [[1, -1]]}, "from": "input"}]
    return {"input": [7, 6, 2], "values": {"input": [[[r - q, (r * q) % 5] for q in range(6)] for r in range(7)]},
            "layers": layers}


def test_every_forward_fills_the_analysed_shape():
    from cnncalc.layers import REGISTRY

    spec = _every_type_spec()
    report = analyze(parse_spec(json.dumps(spec)))
    vals = run(report)
    covered = set()
    for lv, r in zip(vals, report.layers):
        assert lv.shape == tuple(r.output_shape)
        assert len(lv.data) == fm.elements(r.output_shape)
        covered.add(r.type)
    # no numeric forward: written as convs with weights instead (README, Values)
    without = {"locally_connected"}
    assert set(REGISTRY) - covered == without  # every other type has a forward and is exercised here


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    given = None


@pytest.mark.skipif(given is None, reason="hypothesis not installed")
@pytest.mark.skipif(not has_torch(), reason="PyTorch not installed")
def test_property_conv_and_pool_values_equal_torch_and_the_shape_analysis():
    import torch
    import torch.nn.functional as F

    @settings(max_examples=40, deadline=None, derandomize=True, database=None)
    @given(st.integers(3, 9), st.integers(3, 9), st.sampled_from([1, 2, 3, 4]), st.sampled_from([1, 2, 4]),
           st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.integers(0, 2), st.integers(1, 2),
           st.integers(1, 3), st.booleans(), st.randoms(use_true_random=False))
    def check(h, w, c, k, fh, fw, s, p, d, pk, ceil, rng):
        g = max(x for x in (1, 2, 4) if c % x == 0 and k % x == 0)
        x = rand_input(rng, h, w, c)
        wt = torch.tensor([[[[rng.randint(-2, 2) for _ in range(fw)] for _ in range(fh)] for _ in range(c // g)]
                           for _ in range(k)], dtype=torch.float64)
        try:
            ref = F.conv2d(x, wt, None, s, p, d, g)
            ref2 = F.max_pool2d(ref, pk, pk, min(p, pk // 2), 1, ceil_mode=ceil)
        except RuntimeError:  # a kernel larger than the padded input: no network to compare
            return
        spec = {"input": [h, w, c], "values": {"input": nested_hwc(x)}, "layers": [
            {"conv": {"filters": k, "kernel": [fh, fw], "stride": s, "padding": p, "dilation": d, "groups": g,
                      "bias": False, "weights": wt.permute(0, 2, 3, 1).tolist()}},
            {"maxpool": {"kernel": pk, "stride": pk, "padding": min(p, pk // 2), "ceil_mode": ceil}}]}
        report = analyze(parse_spec(json.dumps(spec)))
        vals = run(report)
        for lv, r in zip(vals, report.layers):
            assert lv.shape == tuple(r.output_shape) and len(lv.data) == fm.elements(lv.shape)
        assert vals[1].shape == (ref.shape[2], ref.shape[3], ref.shape[1])
        same(vals[1].data, hwc(ref))
        assert vals[2].shape == (ref2.shape[2], ref2.shape[3], ref2.shape[1])
        same(vals[2].data, hwc(ref2))

    check()


@pytest.mark.parametrize("seed", range(12))
def test_random_conv_pool_stacks_fill_their_shapes(seed):
    rng = random.Random(seed)
    h, w, c = rng.randint(3, 9), rng.randint(3, 9), rng.choice([1, 2, 4])
    layers = []
    k = rng.choice([1, 2, 4])
    g = rng.choice([g for g in (1, 2, 4) if c % g == 0 and k % g == 0])
    f = rng.randint(1, min(h, w, 3))
    layers.append({"conv": {"filters": k, "kernel": f, "padding": rng.randint(0, 1), "groups": g, "bias": False,
                            "stride": rng.randint(1, 2),
                            "weights": [[[[rng.randint(-1, 1) for _ in range(c // g)] for _ in range(f)]
                                         for _ in range(f)] for _ in range(k)]}})
    layers.append({rng.choice(["maxpool", "avgpool"]): {"kernel": 2, "stride": rng.randint(1, 2), "ceil_mode": True}})
    spec = {"input": [h, w, c], "values": {"input": [[[rng.randint(-2, 2) for _ in range(c)] for _ in range(w)]
                                                     for _ in range(h)]}, "layers": layers}
    try:
        report = analyze(parse_spec(json.dumps(spec)))
    except Exception:
        return  # a window larger than the map: shape analysis refuses, nothing to compute
    for lv, r in zip(run(report), report.layers):
        assert len(lv.data) == fm.elements(r.output_shape)


# ---------------------------------------------------------------------------------------------
# grading matrices


def test_exam_six_by_six_values_all_right(cli):
    from cnncalc.verify.grade import grade_file

    g = grade_file(str(EXAMS / "six_by_six_values.yaml"))
    assert (g.right, g.total) == (45, 45)  # 32 + 4 + 4 cells, the stride-2 shape and 4 cells
    assert cli("grade", str(EXAMS / "six_by_six_values.yaml")).code == 0


def test_exam_xo_flags_exactly_the_slides_two_misprints(cli):
    from cnncalc.verify.grade import grade_file

    g = grade_file(str(EXAMS / "xo_values.yaml"))
    wrong = [(q.id, a.layer, c.index, c.given, c.correct) for q in g.questions for a in q.answers
             for c in a.cells if not c.ok]
    assert wrong == [("pooling-frame", "features", (0, 5, 0), "0.11", Fraction(-1, 9)),
                     ("relu-layer", "features", (5, 6, 1), "0.55", Fraction(-5, 9))]
    r = cli("grade", str(EXAMS / "xo_values.yaml"))
    assert r.code == 1
    assert ("✗ [0,5,0] given 0.11, true −1/9: features[0,5,0] = (−1 + 1 + 1 + 1 − 1 − 1 + 1 − 1 − 1)/9"
            in r.out)
    data = json.loads(cli("grade", str(EXAMS / "xo_values.yaml"), "-f", "json").out)
    cells = data["questions"][1]["answers"][0]["cells"]
    assert [c["index"] for c in cells if not c["ok"]] == [[0, 5, 0]]


def test_rounding_and_truncation_modes():
    from cnncalc.verify.grade import grade_text

    sheet = """
rounding: {mode}
questions:
  - network: xo_toy
    answers: {{layers: {{features: {{"values[0]": [{row}, {rest}]}}}}}}
"""
    rest = ", ".join(["[0, 0, 0, 0, 0, 0, 0]"] * 6)
    row = "[0.77, -0.11, 0.11, 0.33, 0.55, -0.11, 7/9]"  # 7/9 written as a fraction is exact
    g = grade_text(sheet.format(mode="truncate", row=row, rest=rest))
    assert [c.ok for c in g.questions[0].answers[0].cells][:7] == [True, True, True, True, True, True, False]
    g = grade_text(sheet.format(mode="round", row=row, rest=rest))
    # rounded, 7/9 is 0.78 and 5/9 is 0.56: the truncated figures are wrong
    assert [c.ok for c in g.questions[0].answers[0].cells][:7] == [False, True, True, True, False, True, False]


def test_bad_matrix_answers_are_located():
    from cnncalc.core.errors import CnnCalcError
    from cnncalc.verify.grade import grade_text

    for answers, message in [
        ('{layers: {features: {"values[5]": [[1]]}}}', "features has 3 channels"),
        ("{layers: {features: {values: [[1, 2]]}}}", "must be 3 matrices of 7×7"),
        ('{layers: {features: {"values[0]": [[x, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]]}}}', "must be 1 matrix"),
    ]:
        with pytest.raises(CnnCalcError) as e:
            grade_text(f"questions:\n  - network: xo_toy\n    answers: {answers}\n", "s.yaml")
        assert message in e.value.format() and "s.yaml:3:" in e.value.format(), e.value.format()


def test_readme_values_example_is_the_programs_output(cli, tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    part = text.split("<!-- values-example:", 1)[1]
    spec = part.split("```yaml\n", 1)[1].split("```", 1)[0]
    shown = part.split("```text\n", 1)[1].split("```", 1)[0]
    (tmp_path / "six_by_six.yaml").write_text(spec, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    expected = ""
    for chunk in shown.split("$ cnncalc ")[1:]:
        command, _, output = chunk.partition("\n")
        args = [a.strip("'") for a in command.split()]
        r = cli(*args)
        assert r.code == 0, r.err
        assert r.out == output, command
        expected += output
    assert expected.count("\n") == 29  # every line of the block was compared


def test_schema_knows_values_weights_biases_reduce():
    import jsonschema

    from cnncalc.load.schema import build_schema

    v = jsonschema.Draft7Validator(build_schema())
    good = {"input": [2, 2, 1], "values": {"input": [[1, 2], [3, 4]]},
            "layers": [{"conv": {"filters": 1, "kernel": 1, "weights": [[[2]]], "biases": [1], "reduce": "mean"}},
                       "flatten", {"dense": {"units": 1, "weights": [[1, 2, 3, 4]], "biases": ["1/2"]}}]}
    assert v.is_valid(good)
    assert not v.is_valid({**good, "values": {"inputs": [[1]]}})
    assert not v.is_valid({**good, "layers": [{"conv": {"filters": 1, "kernel": 1, "reduce": "avg"}}]})
    assert not v.is_valid({**good, "layers": [{"conv": {"filters": 1, "kernel": 1, "weights": 3}}]})


def test_values_reads_standard_input(monkeypatch, cli):
    import io

    text = json.dumps({"input": [6, 6, 1], "values": {"input": SIX}, "layers": [
        {"conv": {"filters": 1, "kernel": 3, "bias": False, "weights": [FILTER1]}}]})
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    r = cli("values", "-", "--cell", "conv1[3,0,0]")
    assert r.code == 0 and r.out.endswith("= 3\n"), r.err  # the slide's map: row 3 starts with 3
