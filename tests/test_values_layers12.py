"""Numeric forwards (``cnncalc values``) of issue 12's layer types against PyTorch 2.13 on
random small inputs with given weights, and by hand where the arithmetic is short: layer,
group and instance normalisation, layer scale, stochastic depth, Keras's rescaling and
normalization, split, space_to_depth, pixel_shuffle, cropping, tokens (to_tokens, class_token,
position_bias, select_token) and dense on the last axis."""

from __future__ import annotations

import json
import random
from fractions import Fraction

import pytest

from cnncalc.core.analysis import analyze
from cnncalc.load import parse_spec
from cnncalc.values.run import run

from .conftest import has_torch

needs_torch = pytest.mark.skipif(not has_torch(), reason="PyTorch not installed")


def values_of(spec: dict) -> dict:
    return {lv.name: lv for lv in run(analyze(parse_spec(json.dumps(spec), "<test>")))}


# ---------------------------------------------------------------------------------------------
# by hand


def test_layernorm_exact_when_the_root_is_rational():
    # tokens [1, 3] and [0, 4, 8] … : ε = 0. Token 0 of [1, 3]: mean 2, variance 1 → [−1, 1];
    # token 1 of [2, 10]: mean 6, variance 16 → [−1, 1]; with γ = [2, 1/2], β = [0, 1]: [−2, 3/2]
    v = values_of({"input": [1, 2, 2], "values": {"input": [[[1, 3], [2, 10]]]},
                   "layers": [{"layernorm": {"eps": 0, "weights": [2, "1/2"], "biases": [0, 1]}}]})
    assert v["layernorm1"].data == [-2, Fraction(3, 2), -2, Fraction(3, 2)]
    assert all(type(x) in (int, Fraction) for x in v["layernorm1"].data)
    # ε = 1e-5 makes √(1 + 1e-5) irrational: floats, 1/√1.00001
    v = values_of({"input": [1, 1, 2], "values": {"input": [[[1, 3]]]},
                   "layers": [{"layernorm": {"affine": False}}]})
    a, b = v["layernorm1"].data
    assert isinstance(a, float) and abs(b - 1 / 1.00001 ** 0.5) < 1e-15 and a == -b


def test_normalisation_cells_explained(cli, tmp_path):
    f = tmp_path / "n.yaml"
    f.write_text(json.dumps({"input": [1, 2, 2], "values": {"input": [[[1, 3], [2, 10]]]}, "layers": [
        {"layernorm": {"eps": 0, "weights": [2, "1/2"], "biases": [0, 1]}},
        {"batchnorm": {"mean": [1, 2], "variance": [4, "1/4"], "weights": [1, 2], "biases": [0, "1/2"]},
         "from": "input"}]}))
    r = cli("values", str(f), "--cell", "layernorm1[0,1,1]")
    assert r.out == ("layernorm1[0,1,1] = (10 − 6)/√(16 + 0)·0.5 + 1 = 1.5  (mean 6, variance 16, over the 2 "
                     "values at this position)\n"), r.out
    r = cli("values", str(f), "--cell", "batchnorm1[0,0,0]")
    assert r.out.startswith("batchnorm1[0,0,0] = (1 − 1)/√(4 + 1e−05)·1 + 0 = 0  (mean 1, variance 4, running "
                            "statistics of channel 0)"), r.out


def test_normalization_exact_for_square_variances():
    # Keras Normalization(mean, variance): (x − mean)/√variance; variance 9/4 → √ = 3/2
    v = values_of({"input": [1, 2, 2], "values": {"input": [[[5, 4], [1, "1/2"]]]},
                   "layers": [{"normalization": {"adapted": False, "mean": [1, 1], "variance": [4, "9/4"]}},
                              {"normalization": {"mean": [1], "variance": [4], "invert": True}, "from": "input"}]})
    assert v["normalization1"].data == [2, 2, 0, Fraction(-1, 3)]
    assert v["normalization2"].data == [11, 9, 3, 2]  # 1 + x·2


def test_batchnorm_by_hand():
    # (x − running mean)/√(running variance + ε)·γ + β, ε = 0: channel 0 mean 1, variance 4;
    # channel 1 mean 2, variance 1/4, γ 2, β 1/2: (4 − 2)/(1/2)·2 + 1/2 = 17/2
    v = values_of({"input": [1, 2, 2], "values": {"input": [[[1, 2], [3, 4]]]}, "layers": [
        {"batchnorm": {"eps": 0, "mean": [1, 2], "variance": [4, "1/4"], "weights": [1, 2], "biases": [0, "1/2"]}},
        {"batchnorm": {"center": False, "mean": [0, 0], "variance": [1, 1], "weights": [1, 1]}, "from": "input"}]})
    assert v["batchnorm1"].data == [0, Fraction(1, 2), 1, Fraction(17, 2)]
    assert abs(v["batchnorm2"].data[3] - 4 / (1 + 1e-5) ** 0.5) < 1e-12  # ε = 1e-5 by default


def test_bilinear_by_hand():
    # 1×2 → 1×4, align_corners false: sources (o + ½)·2/4 − ½ = 0 (clamped), ¼, ¾, 1¼ (→ the last)
    v = values_of({"input": [1, 2, 1], "values": {"input": [[0, 4]]},
                   "layers": [{"upsample": {"size": [1, 4], "mode": "bilinear"}},
                              {"upsample": {"size": [1, 4], "mode": "bilinear", "align_corners": True},
                               "from": "input"}]})
    assert v["upsample1"].data == [0, 1, 3, 4]
    assert v["upsample2"].data == [0, Fraction(4, 3), Fraction(8, 3), 4]  # o·(2 − 1)/(4 − 1)


def test_depthwise_cell_explained(cli, tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text("input: [3, 3, 2]\nvalues: {input: [[[1, 2], [3, 4], [5, 6]], [[1, 0], [0, 1], [2, 2]], "
                 "[[0, 0], [1, 1], [3, -3]]]}\nlayers:\n  - depthwise: {kernel: 2, weights: [[[1, 0], [0, 1]], "
                 "[[1, 1], [1, 1]]], biases: [0, '1/2']}\n")
    # channel 1 reads only input channel 1: 2, 4, 0, 1 under the all-ones filter, plus 1/2
    r = cli("values", str(f), "--cell", "depthwise1[0,0,1]")
    assert r.out == "depthwise1[0,0,1] = 2·1 + 4·1 + 0·1 + 1·1 + 0.5 = 7.5\n", r.out


def test_rescaling_and_layer_scale_are_exact_decimals():
    v = values_of({"input": [1, 1, 3], "values": {"input": [[[255, 0, 51]]]},
                   "layers": [{"rescaling": {"scale": 0.2, "offset": -1}}, {"layer_scale": {"init": 0.1}},
                              {"layer_scale": {"weights": [1, "1/3", -2]}}]})
    assert v["rescaling1"].data == [50, -1, Fraction(46, 5)]  # 255·0.2 − 1, 0·0.2 − 1, 51·0.2 − 1
    assert v["layer_scale1"].data == [5, Fraction(-1, 10), Fraction(23, 25)]
    assert v["layer_scale2"].data == [5, Fraction(-1, 30), Fraction(-46, 25)]


def test_split_parts_feed_later_layers_and_cells_explain(cli, tmp_path):
    spec = {"input": [1, 2, 3], "values": {"input": [[[1, -2, 3], [-4, 5, -6]]]},
            "layers": [{"name": "s", "split": {"sizes": [1, 2]}}, {"name": "r", "relu": None, "from": "s.1"},
                       {"name": "c", "concat": None, "from": ["r", "s.0"]}]}
    v = values_of(spec)
    assert v["s"].parts[0].data == [1, -4] and v["s"].parts[1].data == [-2, 3, 5, -6]
    assert v["r"].data == [0, 3, 5, 0]
    assert v["c"].data == [0, 3, 1, 5, 0, -4]
    f = tmp_path / "s.yaml"
    f.write_text(json.dumps(spec))
    r = cli("values", str(f), "--cell", "r[0,1,1]")
    assert r.code == 0 and r.out == "r[0,1,1] = max(0, −6) = 0\n", r
    assert cli("values", str(f), "--explain").code == 0


def test_tokens_show_as_rows_and_json_nests_them(cli, tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text(json.dumps({"input": [1, 2, 2], "values": {"input": [[[1, 2], [3, 4]]]},
                             "layers": [{"to_tokens": None}, {"class_token": {"weights": [0, "1/2"]}},
                                        {"position_bias": {"biases": [[1, 1], [0, 0], [-1, 2]]}},
                                        {"dense": {"units": 1, "bias": False, "weights": [[2, 2]]}}]}))
    r = cli("values", str(f), "--format", "json")
    assert r.code == 0, r
    layers = {x["name"]: x["values"] for x in json.loads(r.out)["layers"]}
    assert layers["class_token1"] == [[0, 0.5], [1, 2], [3, 4]]
    assert layers["position_bias1"] == [[1, 1.5], [1, 2], [2, 6]]
    assert layers["dense1"] == [[5], [6], [16]]
    r = cli("values", str(f))
    assert "position_bias1  position_bias  → 3×2\n    1 1.5\n    1   2\n    2   6\n" in r.out, r.out  # a token a row
    r = cli("values", str(f), "--cell", "dense1[2,0]")
    assert r.out == "dense1[2,0] = 2·2 + 2·6 = 16\n", r.out


# ---------------------------------------------------------------------------------------------
# PyTorch as the oracle (float64; exact values compared to 1e-9 relative)


def _rand(rng, *shape, lo=-4, hi=4):
    import torch

    return torch.tensor([rng.randint(lo, hi) for _ in range(_numel(shape))], dtype=torch.float64).reshape(shape)


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _hwc(x):
    return x[0].permute(1, 2, 0).reshape(-1).tolist()


def _close(ours, theirs, tol=1e-9):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert abs(float(a) - b) <= tol * max(1.0, abs(b)), (a, b)


def _frac_list(rng, n):
    """n exact numbers (ints and simple fractions), as a spec writes them and as floats."""
    vals = [Fraction(rng.randint(-6, 6), rng.choice([1, 2, 4])) for _ in range(n)]
    return [str(v) if v.denominator != 1 else int(v) for v in vals], [float(v) for v in vals]


@needs_torch
@pytest.mark.parametrize("seed", range(12))
def test_normalisations_match_torch(seed):
    import torch
    import torch.nn.functional as F

    rng = random.Random(31_000 + seed)
    h, w = rng.randint(1, 5), rng.randint(1, 5)
    g = rng.randint(1, 3)
    c = g * rng.randint(1, 3)
    if h * w * (c // g) == 1:
        h = 2
    x = _rand(rng, 1, c, h, w)
    gamma, gamma_f = _frac_list(rng, c)
    beta, beta_f = _frac_list(rng, c)
    var_f = [rng.choice([0.25, 1, 2, 4, 0.5]) for _ in range(c)]
    var = [str(Fraction(v)) for v in var_f]
    eps = rng.choice([0.001, 0.01, 0.5, 0.25])  # (json writes 1e-05, which the YAML reader takes for a string)
    spec = {"input": [h, w, c], "values": {"input": x[0].permute(1, 2, 0).tolist()}, "layers": [
        {"name": "ln", "layernorm": {"eps": eps, "weights": gamma, "biases": beta}},
        {"name": "ln0", "layernorm": {"eps": eps, "affine": False}, "from": "input"},
        {"name": "gn", "groupnorm": {"groups": g, "eps": eps, "weights": gamma, "biases": beta}, "from": "input"},
        {"name": "in", "instancenorm": {"eps": eps, "affine": True, "weights": gamma, "biases": beta},
         "from": "input"},
        {"name": "in0", "instancenorm": {"eps": eps}, "from": "input"},
        {"name": "ls", "layer_scale": {"weights": gamma}, "from": "input"},
        {"name": "sd", "stochastic_depth": 0.5, "from": "input"},
        {"name": "bn", "batchnorm": {"eps": eps, "mean": beta, "variance": var, "weights": gamma, "biases": beta},
         "from": "input"},
        {"name": "bn0", "batchnorm": {"eps": eps, "mean": beta, "variance": var, "affine": False}, "from": "input"},
        {"name": "pr", "prelu": {"shared": False, "weights": gamma}, "from": "input"},
        {"name": "pr1", "prelu": {"weights": gamma[:1]}, "from": "input"},
    ]}
    if h * w == 1:  # PyTorch refuses instance norm over one value; so does cnncalc
        spec["layers"] = [x for x in spec["layers"] if x["name"] not in ("in", "in0")]
    v = values_of(spec)
    tg, tb = torch.tensor(gamma_f, dtype=torch.float64), torch.tensor(beta_f, dtype=torch.float64)
    last = x.permute(0, 2, 3, 1)
    _close(v["ln"].data, F.layer_norm(last, (c,), tg, tb, eps).reshape(-1).tolist())
    _close(v["ln0"].data, F.layer_norm(last, (c,), None, None, eps).reshape(-1).tolist())
    _close(v["gn"].data, _hwc(F.group_norm(x, g, tg, tb, eps)))
    if h * w > 1:
        _close(v["in"].data, _hwc(F.instance_norm(x, weight=tg, bias=tb, eps=eps)))
        _close(v["in0"].data, _hwc(F.instance_norm(x, eps=eps)))
    _close(v["ls"].data, _hwc(x * tg[:, None, None]))
    assert v["sd"].data == _hwc(x)
    tm, tv = tb, torch.tensor(var_f, dtype=torch.float64)
    _close(v["bn"].data, _hwc(F.batch_norm(x, tm, tv, tg, tb, training=False, eps=eps)))
    _close(v["bn0"].data, _hwc(F.batch_norm(x, tm, tv, None, None, training=False, eps=eps)))
    _close(v["pr"].data, _hwc(F.prelu(x, tg)))
    _close(v["pr1"].data, _hwc(F.prelu(x, tg[:1])))


@needs_torch
@pytest.mark.parametrize("seed", range(12))
def test_rearrangements_and_tokens_match_torch(seed):
    import torch
    import torch.nn.functional as F

    rng = random.Random(32_000 + seed)
    b = rng.randint(1, 3)
    h, w = b * rng.randint(1, 3), b * rng.randint(1, 3)
    c = b * b * rng.randint(1, 2)
    x = _rand(rng, 1, c, h, w)
    t, bt = rng.randint(0, (h - 1) // 2), rng.randint(0, (h - 1) // 2)
    left, right = rng.randint(0, (w - 1) // 2), rng.randint(0, (w - 1) // 2)
    cls, cls_f = _frac_list(rng, c)
    pos, pos_f = _frac_list(rng, (h * w + 1) * c)
    units = rng.randint(1, 4)
    wts, wts_f = _frac_list(rng, units * c)
    bias, bias_f = _frac_list(rng, units)
    k = rng.randint(1, c)
    spec = {"input": [h, w, c], "values": {"input": x[0].permute(1, 2, 0).tolist()}, "layers": [
        {"name": "s2d", "space_to_depth": b},
        {"name": "ps", "pixel_shuffle": b, "from": "input"},
        {"name": "crop", "cropping": [t, bt, left, right], "from": "input"},
        {"name": "sp", "split": {"sizes": [k, c - k] if k < c else [c]}, "from": "input"},
        {"name": "part", "relu": None, "from": "sp.0"},
        {"name": "fc", "dense": {"units": units, "weights": [wts[i * c:(i + 1) * c] for i in range(units)],
                                 "biases": bias}, "from": "input"},
        {"name": "tok", "to_tokens": None, "from": "input"},
        {"name": "cls", "class_token": {"weights": cls}},
        {"name": "pos", "position_bias": {"biases": [pos[i * c:(i + 1) * c] for i in range(h * w + 1)]}},
        {"name": "sel", "select_token": rng.randint(0, h * w)},
        {"name": "rs", "rescaling": {"scale": 0.25, "offset": 0.5}, "from": "input"},
    ]}
    v = values_of(spec)
    assert v["s2d"].data == _hwc(F.pixel_unshuffle(x, b))
    if c % (b * b) == 0:
        assert v["ps"].data == _hwc(F.pixel_shuffle(x, b))
    assert v["crop"].data == _hwc(x[:, :, t:h - bt, left:w - right])
    assert v["part"].data == _hwc(torch.relu(torch.split(x, [k, c - k] if k < c else [c], dim=1)[0]))
    lin = F.linear(x.permute(0, 2, 3, 1), torch.tensor(wts_f, dtype=torch.float64).reshape(units, c),
                   torch.tensor(bias_f, dtype=torch.float64))
    _close(v["fc"].data, lin.reshape(-1).tolist())
    tokens = x.flatten(2).transpose(1, 2)
    assert v["tok"].data == tokens.reshape(-1).tolist()
    with_cls = torch.cat([torch.tensor(cls_f, dtype=torch.float64).reshape(1, 1, c), tokens], dim=1)
    _close(v["cls"].data, with_cls.reshape(-1).tolist())
    with_pos = with_cls + torch.tensor(pos_f, dtype=torch.float64).reshape(1, h * w + 1, c)
    _close(v["pos"].data, with_pos.reshape(-1).tolist())
    _close(v["sel"].data, with_pos[0, spec["layers"][-2]["select_token"]].tolist())
    _close(v["rs"].data, _hwc(x * 0.25 + 0.5))


@needs_torch
def test_keras_normalization_and_rescaling_match_keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    import numpy as np

    rng = random.Random(33)
    x = np.array([[[[rng.randint(-5, 5) for _ in range(3)] for _ in range(2)] for _ in range(2)]], dtype="float32")
    mean, var = [1.0, -2.0, 0.5], [4.0, 2.0, 0.25]
    v = values_of({"input": [2, 2, 3], "values": {"input": x[0].tolist()}, "layers": [
        {"name": "n", "normalization": {"adapted": False, "mean": mean, "variance": var}},
        {"name": "i", "normalization": {"adapted": False, "mean": mean, "variance": var, "invert": True},
         "from": "input"},
        {"name": "r", "rescaling": {"scale": 0.5, "offset": -1}, "from": "input"}]})
    for name, layer in (("n", keras.layers.Normalization(mean=mean, variance=var)),
                        ("i", keras.layers.Normalization(mean=mean, variance=var, invert=True)),
                        ("r", keras.layers.Rescaling(0.5, -1))):
        ref = np.asarray(keras.ops.convert_to_numpy(layer(x))).reshape(-1).tolist()
        _close(v[name].data, ref, tol=1e-6)  # Keras computes in float32


@needs_torch
def test_float_inputs_meet_fractional_weights():
    # a bug found here: after a float (sigmoid), conv and dense multiplied by the weights' integer
    # numerators and never divided by their common denominator (0.5·0.5 came out 0.5)
    import torch

    x = torch.tensor([[[[0.0, 1.0], [-1.0, 2.0]]]], dtype=torch.float64)
    v = values_of({"input": [2, 2, 1], "values": {"input": [[0, 1], [-1, 2]]}, "layers": [
        {"sigmoid": None},
        {"name": "c", "conv": {"filters": 1, "kernel": 1, "bias": False, "weights": [[["1/2"]]]}},
        {"name": "d", "dense": {"units": 1, "bias": True, "weights": [["1/3"]], "biases": ["1/4"]}},
        {"name": "c2", "conv": {"filters": 1, "kernel": 2, "bias": False, "weights": [[["1/2", "1/3"], [1, "1/5"]]]},
         "from": "input"},
        {"name": "t", "tanh": None},
        {"name": "d2", "dense": {"units": 1, "bias": False, "weights": [["3/7"]]}}]})
    s = torch.sigmoid(x)
    _close(v["c"].data, _hwc(s * 0.5))
    _close(v["d"].data, _hwc(s * 0.5 / 3 + 0.25))
    c2 = 0 * 0.5 + 1 / 3 - 1 + 2 / 5
    _close(v["c2"].data, [c2])
    _close(v["d2"].data, [float(torch.tanh(torch.tensor(c2, dtype=torch.float64))) * 3 / 7])


@needs_torch
@pytest.mark.parametrize("seed", range(6))
def test_multihead_attention_values_match_torch(seed):
    import torch

    rng = random.Random(34_000 + seed)
    heads = rng.randint(1, 3)
    c = heads * rng.randint(1, 3)
    length = rng.randint(1, 5)
    bias = rng.choice([True, False])
    x = _rand(rng, 1, length, c)
    w_in, w_in_f = _frac_list(rng, 3 * c * c)
    w_out, w_out_f = _frac_list(rng, c * c)
    b_in, b_in_f = _frac_list(rng, 3 * c)
    b_out, b_out_f = _frac_list(rng, c)
    p = {"heads": heads, "bias": bias, "in_proj_weight": [w_in[i * c:(i + 1) * c] for i in range(3 * c)],
         "out_proj_weight": [w_out[i * c:(i + 1) * c] for i in range(c)]}
    if bias:
        p.update(in_proj_bias=b_in, out_proj_bias=b_out)
    v = values_of({"input": [1, length, c], "values": {"input": [x[0].tolist()]}, "layers": [
        {"to_tokens": None}, {"name": "mha", "multihead_attention": p}]})
    m = torch.nn.MultiheadAttention(c, heads, bias=bias, batch_first=True, dtype=torch.float64).eval()
    with torch.no_grad():
        m.in_proj_weight.copy_(torch.tensor(w_in_f, dtype=torch.float64).reshape(3 * c, c))
        m.out_proj.weight.copy_(torch.tensor(w_out_f, dtype=torch.float64).reshape(c, c))
        if bias:
            m.in_proj_bias.copy_(torch.tensor(b_in_f, dtype=torch.float64))
            m.out_proj.bias.copy_(torch.tensor(b_out_f, dtype=torch.float64))
        ref = m(x, x, x, need_weights=False)[0]
    _close(v["mha"].data, ref.reshape(-1).tolist(), tol=1e-9)


@needs_torch
@pytest.mark.parametrize("seed", range(14))
def test_window_and_partition_attention_values_match_the_torch_references(seed):
    """Against the reference modules of tests/torch_oracle.py (written after torchvision and equal
    to its own modules: docs/reference/attention_oracle_check.py), float64, same weights."""
    import torch

    from .torch_oracle import PartitionAttention, WindowAttention

    rng = random.Random(35_000 + seed)
    heads = rng.randint(1, 2)
    c = heads * rng.randint(1, 2)
    swin = seed % 2 == 0
    if swin:  # mostly shifted windows on padded maps: the roll, the mask, the shift dropped on a short axis
        win = rng.randint(1, 3) if seed < 2 else rng.randint(2, 3)
        h, w = rng.randint(1, 8), rng.randint(1, 8)
        shift = rng.randint(0, win - 1) if seed < 2 else rng.randint(1, win - 1)
    else:
        win = rng.randint(1, 3)
        h, w = win * rng.randint(1, 3), win * rng.randint(1, 3)
        partition = rng.choice(["block", "grid"])
    qkv_bias, proj_bias = rng.choice([True, False]), rng.choice([True, False])
    x = _rand(rng, 1, c, h, w)
    w_in, w_in_f = _frac_list(rng, 3 * c * c)
    w_out, w_out_f = _frac_list(rng, c * c)
    b_in, b_in_f = _frac_list(rng, 3 * c)
    b_out, b_out_f = _frac_list(rng, c)
    rel = (2 * win - 1) ** 2
    table, table_f = _frac_list(rng, rel * heads)
    p = {"heads": heads, "qkv_bias": qkv_bias, "proj_bias": proj_bias,
         "in_proj_weight": [w_in[i * c:(i + 1) * c] for i in range(3 * c)],
         "out_proj_weight": [w_out[i * c:(i + 1) * c] for i in range(c)],
         "table": [table[i * heads:(i + 1) * heads] for i in range(rel)]}
    if qkv_bias:
        p["in_proj_bias"] = b_in
    if proj_bias:
        p["out_proj_bias"] = b_out
    if swin:
        p.update(window=win, shift=shift)
        layer = {"name": "a", "window_attention": p}
        m = WindowAttention(c, heads, win, shift, qkv_bias=qkv_bias, proj_bias=proj_bias)
        lin_in, lin_out = m.qkv, m.proj
    else:
        p.update(size=win, partition=partition)
        layer = {"name": "a", "partition_attention": p}
        m = PartitionAttention(c, heads, win, partition, qkv_bias=qkv_bias, proj_bias=proj_bias)
        lin_in, lin_out = m.to_qkv, m.merge
    m = m.double().eval()
    f64 = torch.float64
    with torch.no_grad():
        lin_in.weight.copy_(torch.tensor(w_in_f, dtype=f64).reshape(3 * c, c))
        lin_out.weight.copy_(torch.tensor(w_out_f, dtype=f64).reshape(c, c))
        if qkv_bias:
            lin_in.bias.copy_(torch.tensor(b_in_f, dtype=f64))
        if proj_bias:
            lin_out.bias.copy_(torch.tensor(b_out_f, dtype=f64))
        m.relative_position_bias_table.copy_(torch.tensor(table_f, dtype=f64).reshape(rel, heads))
        ref = m(x)
    v = values_of({"input": [h, w, c], "values": {"input": x[0].permute(1, 2, 0).tolist()}, "layers": [layer]})
    _close(v["a"].data, _hwc(ref), tol=1e-9)


def test_window_attention_v2_values_without_numbers_or_with_window_1_refused_in_one_line(cli, tmp_path):
    f = tmp_path / "a.yaml"
    head = "input: [2, 2, 2]\nvalues: {input: [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]}\nlayers:\n"
    weights = ("in_proj_weight: [[1, 0], [0, 1], [1, 0], [0, 1], [1, 0], [0, 1]], qkv_bias: false, "
               "proj_bias: false, out_proj_weight: [[1, 0], [0, 1]], cpb_hidden: 1, cpb_weight1: [[1, 1]], "
               "cpb_bias1: [0], cpb_weight2: [[1]], logit_scale: [1]")
    for layer, words in (("{heads: 1, window: 2, version: 2}", "window_attention needs 'cpb_weight1:'"),
                         (f"{{heads: 1, window: 1, version: 2, {weights}}}", "window 1: Swin V2's coordinate "
                                                                              "table divides by w − 1 = 0"),
                         (f"{{heads: 1, window: 2, {weights}}}", "cpb_weight1 given but only version 2")):
        f.write_text(head + f"  - window_attention: {layer}\n")
        r = cli("values", str(f))
        assert r.code == 2 and r.err.count("\n") == 1 and words in r.err, r.err


@needs_torch
@pytest.mark.parametrize("seed", range(8))
def test_window_attention_v2_values_match_the_torch_reference(seed):
    import torch

    from .torch_oracle import WindowAttentionV2

    rng = random.Random(36_000 + seed)
    heads = rng.randint(1, 2)
    c = heads * rng.randint(1, 2)
    win = rng.randint(2, 3)
    h, w = rng.randint(1, 7), rng.randint(1, 7)
    shift = rng.randint(0, win - 1)
    hid = rng.randint(1, 4)
    qkv_bias, proj_bias = rng.choice([True, False]), rng.choice([True, False])
    x = _rand(rng, 1, c, h, w)
    w_in, w_in_f = _frac_list(rng, 3 * c * c)
    w_out, w_out_f = _frac_list(rng, c * c)
    b_in, b_in_f = _frac_list(rng, 3 * c)
    b_out, b_out_f = _frac_list(rng, c)
    w1, w1_f = _frac_list(rng, hid * 2)
    b1, b1_f = _frac_list(rng, hid)
    w2, w2_f = _frac_list(rng, heads * hid)
    ls, ls_f = _frac_list(rng, heads)
    if seed % 2:  # above ln 100: clamped
        ls[0], ls_f[0] = 5, 5.0
    p = {"heads": heads, "window": win, "shift": shift, "version": 2, "cpb_hidden": hid, "qkv_bias": qkv_bias,
         "proj_bias": proj_bias, "in_proj_weight": [w_in[i * c:(i + 1) * c] for i in range(3 * c)],
         "out_proj_weight": [w_out[i * c:(i + 1) * c] for i in range(c)],
         "cpb_weight1": [w1[2 * i:2 * i + 2] for i in range(hid)], "cpb_bias1": b1,
         "cpb_weight2": [w2[i * hid:(i + 1) * hid] for i in range(heads)], "logit_scale": ls}
    if qkv_bias:
        p["in_proj_bias"] = b_in
    if proj_bias:
        p["out_proj_bias"] = b_out
    m = WindowAttentionV2(c, heads, win, shift, qkv_bias=qkv_bias, proj_bias=proj_bias, hidden=hid).double().eval()
    f64 = torch.float64
    with torch.no_grad():
        m.qkv.weight.copy_(torch.tensor(w_in_f, dtype=f64).reshape(3 * c, c))
        m.proj.weight.copy_(torch.tensor(w_out_f, dtype=f64).reshape(c, c))
        if qkv_bias:
            m.qkv.bias.copy_(torch.tensor(b_in_f, dtype=f64))  # its K third is zeroed in the forward
        if proj_bias:
            m.proj.bias.copy_(torch.tensor(b_out_f, dtype=f64))
        m.cpb_mlp[0].weight.copy_(torch.tensor(w1_f, dtype=f64).reshape(hid, 2))
        m.cpb_mlp[0].bias.copy_(torch.tensor(b1_f, dtype=f64))
        m.cpb_mlp[2].weight.copy_(torch.tensor(w2_f, dtype=f64).reshape(heads, hid))
        m.logit_scale.copy_(torch.tensor(ls_f, dtype=f64).reshape(heads, 1, 1))
        ref = m(x)
    v = values_of({"input": [h, w, c], "values": {"input": x[0].permute(1, 2, 0).tolist()},
                   "layers": [{"name": "a", "window_attention": p}]})
    _close(v["a"].data, _hwc(ref), tol=1e-6)  # torchvision makes its coordinate table in float32


@needs_torch
@pytest.mark.parametrize("seed", range(8))
def test_depthwise_values_match_torch(seed):
    import torch
    import torch.nn.functional as F

    rng = random.Random(37_000 + seed)
    c, m = rng.randint(1, 3), rng.randint(1, 2)
    h, w = rng.randint(3, 6), rng.randint(3, 6)
    k = rng.choice([1, 2, 3])
    stride, pad, dil = rng.randint(1, 2), rng.randint(0, 1), rng.choice([1, 1, 2])
    bias = rng.choice([True, False])
    x = _rand(rng, 1, c, h, w)
    wts, wts_f = _frac_list(rng, c * m * k * k)
    b, b_f = _frac_list(rng, c * m)
    p = {"kernel": k, "stride": stride, "padding": pad, "dilation": dil, "depth_multiplier": m, "bias": bias,
         "weights": [[wts[(i * k + r) * k:(i * k + r + 1) * k] for r in range(k)] for i in range(c * m)]}
    if bias:
        p["biases"] = b
    try:
        ref = F.conv2d(x, torch.tensor(wts_f, dtype=torch.float64).reshape(c * m, 1, k, k),
                       torch.tensor(b_f, dtype=torch.float64) if bias else None, stride, pad, dil, c)
    except RuntimeError:  # the kernel does not fit: no values to compare
        return
    v = values_of({"input": [h, w, c], "values": {"input": x[0].permute(1, 2, 0).tolist()},
                   "layers": [{"name": "dw", "depthwise_conv": p}]})
    _close(v["dw"].data, _hwc(ref))
    assert all(type(a) in (int, Fraction) for a in v["dw"].data)  # exact


def _tconv_case(rng, pad_choices):
    g = rng.choice([1, 1, 2])
    c, k = g * rng.randint(1, 2), g * rng.randint(1, 2)
    h, w = rng.randint(1, 4), rng.randint(1, 4)
    fh, fw = rng.randint(1, 3), rng.randint(1, 3)
    s = rng.randint(1, 3)
    d = 1 if s > 1 else rng.choice([1, 2])
    pad = rng.choice(pad_choices)
    bias = rng.choice([True, False])
    cg = c // g
    wts, wts_f = _frac_list(rng, k * fh * fw * cg)
    b, b_f = _frac_list(rng, k)
    nested = [[[wts[((kk * fh + i) * fw + j) * cg:((kk * fh + i) * fw + j + 1) * cg] if cg > 1
                else wts[(kk * fh + i) * fw + j] for j in range(fw)] for i in range(fh)] for kk in range(k)]
    p = {"filters": k, "kernel": [fh, fw], "stride": s, "dilation": d, "groups": g, "bias": bias, "padding": pad,
         "weights": nested}
    if bias:
        p["biases"] = b
    return (g, c, k, h, w, fh, fw, s, d, pad, bias, cg), wts_f, b_f, p


@needs_torch
@pytest.mark.parametrize("seed", range(12))
def test_conv_transpose_values_match_torch(seed):
    import torch
    import torch.nn.functional as F

    rng = random.Random(38_000 + seed)
    (g, c, k, h, w, fh, fw, s, d, pad, bias, cg), wts_f, b_f, p = _tconv_case(rng, [0, 0, 1])
    op = rng.randint(0, max(s, d) - 1)
    p["output_padding"] = op
    x = _rand(rng, 1, c, h, w)
    # the spec's filter kk, tap (i, j), channel ci of its group → PyTorch's weight[group·cg + ci, kk mod K/g, i, j]
    wt = torch.zeros(c, k // g, fh, fw, dtype=torch.float64)
    for kk in range(k):
        for i in range(fh):
            for j in range(fw):
                for ci in range(cg):
                    wt[(kk // (k // g)) * cg + ci, kk % (k // g), i, j] = wts_f[((kk * fh + i) * fw + j) * cg + ci]
    try:
        ref = F.conv_transpose2d(x, wt, torch.tensor(b_f, dtype=torch.float64) if bias else None, s, pad, op, g, d)
    except RuntimeError:
        return
    if min(ref.shape[2:]) < 1:
        return
    v = values_of({"input": [h, w, c], "values": {"input": x[0].permute(1, 2, 0).tolist()},
                   "layers": [{"name": "t", "conv_transpose": p}]})
    _close(v["t"].data, _hwc(ref))
    assert all(type(a) in (int, Fraction) for a in v["t"].data)


@needs_torch
@pytest.mark.parametrize("seed", range(16))
def test_conv_transpose_same_and_valid_values_match_keras(seed):
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    import numpy as np

    rng = random.Random(39_000 + seed)
    while True:
        (g, c, k, h, w, fh, fw, s, d, pad, bias, cg), wts_f, b_f, p = _tconv_case(rng, ["same", "valid"])
        if g == 1:
            break
    op = rng.randint(0, s - 1) if seed % 2 else None  # Keras: output_padding < stride
    if op is not None:
        p["output_padding"] = op
    x = np.array([[[[rng.randint(-4, 4) for _ in range(c)] for _ in range(w)] for _ in range(h)]], dtype="float32")
    layer = keras.layers.Conv2DTranspose(k, (fh, fw), strides=s, padding=pad, dilation_rate=d, use_bias=bias,
                                         output_padding=op)
    layer.build((1, h, w, c))
    kernel = np.zeros((fh, fw, k, c), dtype="float32")  # Keras: (F_h, F_w, K, C_in)
    for kk in range(k):
        for i in range(fh):
            for j in range(fw):
                for ci in range(c):
                    kernel[i, j, kk, ci] = wts_f[((kk * fh + i) * fw + j) * c + ci]
    layer.set_weights([kernel] + ([np.array(b_f, dtype="float32")] if bias else []))
    ref = np.asarray(keras.ops.convert_to_numpy(layer(x)))
    v = values_of({"input": [h, w, c], "values": {"input": x[0].tolist()},
                   "layers": [{"name": "t", "conv_transpose": p}]})
    assert tuple(v["t"].shape) == ref.shape[1:]
    _close(v["t"].data, ref.reshape(-1).tolist(), tol=1e-5)  # Keras computes in float32


@needs_torch
@pytest.mark.parametrize("seed", range(10))
def test_bilinear_upsample_values_match_torch(seed):
    import torch.nn.functional as F

    rng = random.Random(40_000 + seed)
    h, w, c = rng.randint(1, 4), rng.randint(1, 4), rng.randint(1, 2)
    align = rng.choice([True, False])
    x = _rand(rng, 1, c, h, w)
    if seed % 2:
        size = [rng.randint(1, 7), rng.randint(1, 7)]
        layer = {"upsample": {"size": size, "mode": "bilinear", "align_corners": align}}
        ref = F.interpolate(x, size=size, mode="bilinear", align_corners=align)
    else:
        sc = rng.randint(1, 3)
        layer = {"upsample": {"scale": sc, "mode": "bilinear", "align_corners": align}}
        ref = F.interpolate(x, scale_factor=sc, mode="bilinear", align_corners=align)
    layer["name"] = "u"
    v = values_of({"input": [h, w, c], "values": {"input": x[0].permute(1, 2, 0).tolist()}, "layers": [layer]})
    _close(v["u"].data, _hwc(ref))
    assert all(type(a) in (int, Fraction) for a in v["u"].data)  # exact


@needs_torch
@pytest.mark.parametrize("seed", range(8))
def test_separable_conv_values_match_torch(seed):
    import torch
    import torch.nn.functional as F

    rng = random.Random(41_000 + seed)
    c, m, k = rng.randint(1, 3), rng.randint(1, 2), rng.randint(1, 3)
    h, w = rng.randint(3, 6), rng.randint(3, 6)
    f = rng.choice([1, 2, 3])
    stride, pad = rng.randint(1, 2), rng.randint(0, 1)
    bias = rng.choice([True, False])
    act = rng.choice([None, "relu"])
    x = _rand(rng, 1, c, h, w)
    dw, dw_f = _frac_list(rng, c * m * f * f)
    pw, pw_f = _frac_list(rng, k * c * m)
    b, b_f = _frac_list(rng, k)
    p = {"filters": k, "kernel": f, "stride": stride, "padding": pad, "multiplier": m, "bias": bias,
         "depthwise_weights": [[dw[(i * f + r) * f:(i * f + r + 1) * f] for r in range(f)] for i in range(c * m)],
         "pointwise_weights": [pw[i * c * m:(i + 1) * c * m] for i in range(k)]}
    if bias:
        p["biases"] = b
    if act:
        p["activation"] = act
    f64 = torch.float64
    mid = F.conv2d(x, torch.tensor(dw_f, dtype=f64).reshape(c * m, 1, f, f), None, stride, pad, 1, c)
    ref = F.conv2d(mid, torch.tensor(pw_f, dtype=f64).reshape(k, c * m, 1, 1),
                   torch.tensor(b_f, dtype=f64) if bias else None)
    if act:
        ref = torch.relu(ref)
    v = values_of({"input": [h, w, c], "values": {"input": x[0].permute(1, 2, 0).tolist()},
                   "layers": [{"name": "s", "separable_conv": p}]})
    _close(v["s"].data, _hwc(ref))
    assert all(type(a) in (int, Fraction) for a in v["s"].data)
