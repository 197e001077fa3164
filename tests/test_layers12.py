"""The layer types of issue 12 (tokens, attention, normalisation, split, rearrangements, Keras's
preprocessing layers) against PyTorch building the same network on random configurations
(shapes, ``parameters()`` split into weights and biases, buffers, ``FlopCounterMode`` per
layer: tests/torch_oracle.py), and against hand arithmetic written here."""

from __future__ import annotations

import random
import warnings

import pytest

from cnncalc import analyze
from cnncalc.load import parse_spec

from .conftest import run_cli


def spec(text: str):
    return parse_spec(text, "<test>")


# ---------------------------------------------------------------------------------------------
# hand arithmetic (figures from the formulas of PyTorch's documentation, not from cnncalc)


def test_vit_b_attention_by_hand():
    # ViT-B/16: 197 tokens of 768 features, 12 heads. nn.MultiheadAttention holds in_proj
    # 3·768×768 + 3·768 and out_proj 768×768 + 768; flop_counter counts 4 projections of
    # 197·768·768 and two batched products of 12 heads · 197·197·64.
    r = analyze(spec("input: [224, 224, 3]\nlayers:\n  - conv: {filters: 768, kernel: 16, stride: 16}\n"
                     "  - to_tokens\n  - class_token\n  - position_bias\n  - multihead_attention: 12\n"))
    a = r.layer("multihead_attention1")
    assert r.layer("to_tokens1").output_shape == (196, 768)
    assert r.layer("class_token1").output_shape == (197, 768)
    assert r.layer("class_token1").params == 768
    assert r.layer("position_bias1").params == 197 * 768 == 151_296
    assert a.output_shape == (197, 768)
    assert a.weights == 3 * 768 * 768 + 768 * 768 == 2_359_296
    assert a.biases == 3 * 768 + 768
    assert a.params == 2_362_368
    assert a.macs == 4 * 197 * 768 * 768 + 2 * 12 * 197 * 197 * 64 == 524_391_936


def test_dense_on_the_last_axis_by_hand():
    # ConvNeXt's pointwise MLP: 56×56×96 → Linear(96, 384) at each of 56·56 positions
    r = analyze(spec("input: [56, 56, 96]\nlayers:\n  - dense: 384\n"))
    d = r.layer("dense1")
    assert d.output_shape == (56, 56, 384)
    assert d.params == 96 * 384 + 384
    assert d.macs == 56 * 56 * 96 * 384
    assert d.receptive_field == (1, 1)


def test_split_parts_and_errors():
    r = analyze(spec("input: [28, 28, 116]\nlayers:\n  - split: {name: s, parts: 2}\n"
                     "  - conv: {name: c, filters: 58, kernel: 1, from: s.1}\n"
                     "  - concat: {from: [s.0, c]}\n"))
    assert r.layer("s").parts == ((28, 28, 58), (28, 28, 58))
    assert r.layer("s").activations == 0  # a view
    assert r.layer("c").macs == 28 * 28 * 58 * 58
    assert r.output_shape == (28, 28, 116)
    r = analyze(spec("input: [4, 4, 10]\nlayers:\n  - split: {name: s, sizes: [3, 7]}\n  - relu: {from: s.1}\n"))
    assert r.output_shape == (4, 4, 7)


def test_split_errors_name_file_line_and_layer(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [8, 8, 4]\nlayers:\n  - split: {name: s, parts: 2}\n  - relu: {name: r, from: s.2}\n")
    res = run_cli(str(bad))
    assert res.code == 2
    assert res.err == f"cnncalc: error: {bad}:4:27: r: 'from' names no output s.2: 's' has 2 outputs, s.0 to s.1\n"
    bad.write_text("input: [8, 8, 4]\nlayers:\n  - relu: {name: s}\n  - relu: {name: r, from: s.0}\n")
    res = run_cli(str(bad))
    assert res.code == 2
    assert res.err == (f"cnncalc: error: {bad}:4:27: r: 'from' names no output s.0: 's' has one output "
                       "(only a split has named outputs s.0, s.1, …)\n")
    bad.write_text("input: [8, 8, 6]\nlayers:\n  - split: {sizes: [2, 3]}\n")
    res = run_cli(str(bad))
    assert res.code == 2 and "add up to 5, not to the 6 channels" in res.err, res.err
    bad.write_text("input: [8, 8, 6]\nlayers:\n  - split: 4\n")
    res = run_cli(str(bad))
    assert res.code == 2 and "4 parts do not divide the 6 channels" in res.err, res.err
    bad.write_text("input: [8, 8, 6]\nlayers:\n  - split: {parts: 2, sizes: [3, 3]}\n")
    res = run_cli(str(bad))
    assert res.code == 2 and "exactly one" in res.err, res.err


def test_split_inside_a_block():
    r = analyze(spec("""
input: [8, 8, 8]
blocks:
  half:
    layers:
      - split: {name: split, parts: 2}
      - conv: {name: branch, filters: 4, kernel: 1, from: split.1}
      - concat: {name: cat, from: [split.0, branch]}
      - channel_shuffle: {name: shuffle, groups: 2}
layers:
  - half: {name: stage, repeat: 2}
"""))
    assert r.layer("stage.1.branch").inputs == ("stage.1.split.1",)
    assert r.layer("stage.1.cat").inputs == ("stage.1.split.0", "stage.1.branch")
    assert r.output_shape == (8, 8, 8)


def test_norms_by_hand():
    r = analyze(spec("input: [7, 7, 768]\nlayers:\n  - layernorm\n  - groupnorm: 32\n"
                     "  - instancenorm: {affine: true, track_running_stats: true}\n  - instancenorm\n"
                     "  - layer_scale\n  - stochastic_depth: 0.1\n  - rescaling: 0.5\n  - normalization\n"
                     "  - normalization: {adapted: false}\n  - batchnorm: {center: false}\n"
                     "  - batchnorm: {scale: false, track_running_stats: false}\n"))
    c = 768
    assert (r.layer("layernorm1").weights, r.layer("layernorm1").biases, r.layer("layernorm1").macs) == (c, c, 0)
    assert r.layer("groupnorm1").params == 2 * c
    assert r.layer("instancenorm1").params == 2 * c and r.layer("instancenorm1").non_trainable_params == 2 * c
    assert r.layer("instancenorm2").params == 0 and r.layer("instancenorm2").non_trainable_params == 0
    assert r.layer("layer_scale1").params == c
    assert r.layer("stochastic_depth1").params == 0 and r.layer("stochastic_depth1").activations == 0
    assert r.layer("rescaling1").params == 0
    assert r.layer("normalization1").non_trainable_params == 2 * c + 1  # mean, variance, count
    assert r.layer("normalization2").non_trainable_params == 0
    assert (r.layer("batchnorm1").weights, r.layer("batchnorm1").biases) == (c, 0)
    assert (r.layer("batchnorm2").weights, r.layer("batchnorm2").biases) == (0, c)
    assert r.layer("batchnorm2").non_trainable_params == 0


def test_cropping_moves_the_field_it_does_not_widen_it():
    # 5×5 input, a 3×3 valid conv: position c sees [c, c + 2]; it covers the input only with the
    # field of a 5-wide window. Zero-padding by 1 then cropping 1 leaves the same grid as before.
    base = analyze(spec("input: [5, 5, 1]\nlayers:\n  - conv: {filters: 1, kernel: 5}\n")).layers[-1]
    assert base.covers_input and base.receptive_field == (5, 5)
    r = analyze(spec("input: [5, 5, 1]\nlayers:\n  - zeropad: 1\n  - cropping: 1\n"
                     "  - conv: {filters: 1, kernel: 5}\n")).layers[-1]
    assert r.output_shape == (1, 1, 1) and r.receptive_field == (5, 5) and r.covers_input
    # padding 3 after and cropping 3 before: the 5 positions left are input 3, 4 and three zeros,
    # so a 5-wide window sees input positions 3..7 of the padded plane, not all of 0..4
    r = analyze(spec("input: [5, 5, 1]\nlayers:\n  - zeropad: [0, 3, 0, 3]\n  - cropping: [3, 0, 3, 0]\n"
                     "  - conv: {filters: 1, kernel: 5}\n")).layers[-1]
    assert r.output_shape == (1, 1, 1) and r.receptive_field == (5, 5) and not r.covers_input


def test_rearrangements_by_hand():
    r = analyze(spec("input: [56, 56, 96]\nlayers:\n  - space_to_depth: 2\n  - pixel_shuffle: 2\n"
                     "  - cropping: [1, 2, 3, 4]\n  - global_avgpool: {keepdims: true}\n  - concat\n"))
    assert r.layer("space_to_depth1").output_shape == (28, 28, 384)
    assert r.layer("space_to_depth1").receptive_field == (2, 2)
    assert r.layer("pixel_shuffle1").output_shape == (56, 56, 96)
    assert r.layer("cropping1").output_shape == (53, 49, 96)
    assert r.layer("global_avgpool1").output_shape == (1, 1, 96)
    assert r.layer("concat1").output_shape == (1, 1, 96)


@pytest.mark.parametrize("text, words", [
    ("input: [8, 8, 6]\nlayers:\n  - groupnorm: 4\n", "groups=4 does not divide the 6 channels"),
    ("input: [8, 8, 6]\nlayers:\n  - to_tokens\n  - mha: 4\n", "heads=4 does not divide the 6 features"),
    ("input: [8, 8, 6]\nlayers:\n  - mha: 2\n", "needs a token sequence L×C"),
    ("input: [8, 8, 6]\nlayers:\n  - to_tokens\n  - select_token: 64\n", "token 64 does not exist"),
    ("input: [9, 8, 6]\nlayers:\n  - space_to_depth: 2\n", "block 2 does not divide 9×8"),
    ("input: [8, 8, 6]\nlayers:\n  - pixel_shuffle: 2\n", "b² = 4 does not divide the 6 channels"),
    ("input: [8, 8, 6]\nlayers:\n  - cropping: [4, 4, 0, 0]\n", "leaves nothing of 8×8"),
    ("input: [8, 8, 6]\nlayers:\n  - depthwise: {kernel: 3, multiplier: 2, depth_multiplier: 2}\n",
     "the same parameter"),
    ("input: [1, 1, 1000000000]\nlayers:\n  - split: 1000000000\n", "a split makes at most 4,096 parts"),
    ("input: [1, 1, 8]\nlayers:\n  - split: {sizes: [" + ", ".join(["1"] * 5000) + "]}\n",
     "3:20: split1: sizes must list at most 4,096 parts; the number listed (received 5000)"),
])
def test_bad_configurations_are_one_line(tmp_path, text, words):
    f = tmp_path / "x.yaml"
    f.write_text(text)
    res = run_cli(str(f))
    assert res.code == 2, res
    assert words in res.err and "x.yaml:" in res.err, res.err
    assert len(res.err.strip().splitlines()) == 1


def test_json_gives_a_splits_parts():
    import json

    from cnncalc.render.json_ import layer_dict, layer_line

    r = analyze(spec("input: [4, 4, 10]\nlayers:\n  - split: {name: s, sizes: [3, 7]}\n  - relu: {from: s.1}\n"))
    s = r.layer("s")
    assert layer_dict(s)["parts"] == [[4, 4, 3], [4, 4, 7]]
    assert json.loads(layer_line(s)) == layer_dict(s)
    assert "parts" not in layer_dict(r.layer("relu1"))


# ---------------------------------------------------------------------------------------------
# PyTorch as the oracle, on random configurations

torch = pytest.importorskip("torch")
warnings.filterwarnings("ignore", message=".*NumPy.*")

from .test_torch_diff import compare  # noqa: E402


def _random_map_layers(rng: random.Random, h: int, w: int, c: int) -> tuple:
    """A random chain of the new layer types on an H×W×C map; returns (lines, h, w, c)."""
    lines = []
    for _ in range(rng.randint(1, 5)):
        kind = rng.choice(["layernorm", "groupnorm", "instancenorm", "layer_scale", "stochastic_depth",
                           "dense", "split", "space_to_depth", "pixel_shuffle", "cropping", "gap_keep",
                           "concat1", "bn_parts", "depthwise", "rescaling", "normalization"])
        if kind == "layernorm":
            lines.append(f"  - layernorm: {{affine: {rng.choice(['true', 'false'])}, "
                         f"bias: {rng.choice(['true', 'false'])}}}")
        elif kind == "groupnorm":
            g = rng.choice([d for d in range(1, c + 1) if c % d == 0])
            lines.append(f"  - groupnorm: {{groups: {g}, affine: {rng.choice(['true', 'false'])}}}")
        elif kind == "instancenorm":
            lines.append(f"  - instancenorm: {{affine: {rng.choice(['true', 'false'])}, "
                         f"track_running_stats: {rng.choice(['true', 'false'])}}}")
        elif kind == "layer_scale":
            lines.append("  - layer_scale")
        elif kind == "stochastic_depth":
            lines.append(f"  - stochastic_depth: {rng.choice([0, 0.1, 0.5])}")
        elif kind == "dense":
            c = rng.randint(1, 40)
            lines.append(f"  - dense: {{units: {c}, bias: {rng.choice(['true', 'false'])}}}")
        elif kind == "split":
            parts = rng.choice([d for d in range(1, c + 1) if c % d == 0])
            i = rng.randrange(parts)
            lines.append(f"  - split: {{name: sp{len(lines)}, parts: {parts}}}")
            lines.append(f"  - relu: {{from: sp{len(lines) - 1}.{i}}}")
            c //= parts
        elif kind == "space_to_depth":
            b = rng.choice([d for d in (1, 2, 3, 4) if h % d == 0 and w % d == 0])
            lines.append(f"  - space_to_depth: {b}")
            h, w, c = h // b, w // b, c * b * b
        elif kind == "pixel_shuffle":
            b = rng.choice([d for d in (1, 2, 3) if c % (d * d) == 0])
            lines.append(f"  - pixel_shuffle: {b}")
            h, w, c = h * b, w * b, c // (b * b)
        elif kind == "cropping" and h > 2 and w > 2:
            t, b = rng.randint(0, (h - 1) // 2), rng.randint(0, (h - 1) // 2)
            left, right = rng.randint(0, (w - 1) // 2), rng.randint(0, (w - 1) // 2)
            lines.append(f"  - cropping: [{t}, {b}, {left}, {right}]")
            h, w = h - t - b, w - left - right
        elif kind == "gap_keep":
            lines.append(f"  - {rng.choice(['global_avgpool', 'global_maxpool'])}: {{keepdims: true}}")
            h = w = 1
        elif kind == "concat1":
            lines.append("  - concat")
        elif kind == "bn_parts":
            lines.append(f"  - batchnorm: {rng.choice(['{center: false}', '{scale: false}'])}")
        elif kind == "depthwise":
            m = rng.randint(1, 3)
            lines.append(f"  - depthwise_conv: {{kernel: 1, depth_multiplier: {m}}}")
            c *= m
        elif kind == "rescaling":
            lines.append("  - rescaling: {scale: 0.5, offset: -1}")
        elif kind == "normalization":
            lines.append(f"  - normalization: {{adapted: {rng.choice(['true', 'false'])}}}")
    return lines, h, w, c


@pytest.mark.parametrize("seed", range(120))
def test_random_map_layers_match_pytorch(seed):
    rng = random.Random(12_000 + seed)
    h, w, c = rng.randint(1, 12), rng.randint(1, 12), rng.randint(1, 24)
    lines, *_ = _random_map_layers(rng, h, w, c)
    graph = spec(f"input: [{h}, {w}, {c}]\nlayers:\n" + "\n".join(lines))
    from cnncalc.core.errors import ShapeError

    from .torch_oracle import measure

    try:
        analyze(graph)
    except ShapeError:  # refused (one value per normalisation group): so must PyTorch be
        with pytest.raises((RuntimeError, ValueError)):
            measure(graph, device="cpu")
        return
    compare(graph)


@pytest.mark.parametrize("seed", range(60))
def test_random_token_layers_match_pytorch(seed):
    rng = random.Random(13_000 + seed)
    h, w = rng.randint(1, 6), rng.randint(1, 6)
    heads = rng.randint(1, 4)
    c = heads * rng.randint(1, 8)
    lines = [f"  - conv: {{filters: {c}, kernel: 1}}", "  - to_tokens"]
    if rng.random() < 0.6:
        lines.append("  - class_token")
    if rng.random() < 0.6:
        lines.append("  - position_bias")
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["mha", "layernorm", "dense", "split", "gelu"])
        if kind == "mha":
            lines.append(f"  - multihead_attention: {{heads: {heads}, bias: {rng.choice(['true', 'false'])}}}")
        elif kind == "layernorm":
            lines.append("  - layernorm: {eps: 0.000001}")
        elif kind == "dense":
            lines.append(f"  - dense: {c}")
        elif kind == "split":
            lines.append(f"  - split: {{name: s{len(lines)}, sizes: [{c - heads}, {heads}]}}" if c > heads
                         else "  - identity")
            if c > heads:
                lines.append(f"  - concat: {{from: [s{len(lines) - 1}.1, s{len(lines) - 1}.0]}}")
        else:
            lines.append("  - gelu")
    if rng.random() < 0.5:
        lines.append(f"  - select_token: {rng.randint(0, h * w - 1)}")
        lines.append(f"  - dense: {rng.randint(1, 20)}")
    compare(spec(f"input: [{h}, {w}, 3]\nlayers:\n" + "\n".join(lines)))


@pytest.mark.parametrize("seed", range(40))
def test_random_window_attention_matches_pytorch(seed):
    rng = random.Random(15_000 + seed)
    heads = rng.randint(1, 4)
    c = heads * rng.randint(1, 6)
    h, w = rng.randint(1, 16), rng.randint(1, 16)
    window = rng.randint(1, 8)
    shift = rng.randint(0, window - 1)
    qkv, proj = rng.choice(["true", "false"]), rng.choice(["true", "false"])
    compare(spec(f"input: [{h}, {w}, {c}]\nlayers:\n  - window_attention: {{heads: {heads}, window: {window}, "
                 f"shift: {shift}, qkv_bias: {qkv}, proj_bias: {proj}}}\n"))


def test_swin_window_attention_by_hand():
    # Swin-T stage 1: 56×56×96, window 7, 3 heads: qkv 96·288 + 288, proj 96·96 + 96, table 13²·3;
    # torchvision's block measured 145,108,992 MACs (docs/reference/torchvision_figures.json)
    r = analyze(spec("input: [56, 56, 96]\nlayers:\n  - window_attention: {heads: 3, window: 7}\n"))
    a = r.layers[-1]
    assert a.weights == 96 * 288 + 96 * 96 + 13 * 13 * 3
    assert a.biases == 288 + 96
    assert a.macs == 4 * 3136 * 96 * 96 + 2 * 3136 * 49 * 96 == 145_108_992
    # a 10×10 map is padded to 14×14 before the projections
    r = analyze(spec("input: [10, 10, 8]\nlayers:\n  - window_attention: {heads: 2, window: 7}\n"))
    assert r.layers[-1].macs == 4 * 196 * 64 + 2 * 196 * 49 * 8


# ---------------------------------------------------------------------------------------------
# Keras 3 where Keras has the layer (count_params, non-trainable weights, output shapes)


def _keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _keras_counts(layer, in_shape):
    keras = _keras()
    x = keras.Input(shape=in_shape)
    y = layer(x)
    trainable = sum(int(v.numpy().size) if hasattr(v, "numpy") else int(v.size) for v in layer.trainable_weights)
    non_trainable = sum(int(v.numpy().size) if hasattr(v, "numpy") else int(v.size)
                        for v in layer.non_trainable_weights)
    return tuple(y.shape[1:]), trainable, non_trainable


@pytest.mark.parametrize("case", range(12))
@pytest.mark.parametrize("seed", range(3))
def test_random_keras_layers_match_keras(case, seed):
    keras = _keras()
    rng = random.Random(14_000 + 100 * case + seed)
    h, w, c = rng.randint(2, 10), rng.randint(2, 10), rng.randint(1, 16)
    L = keras.layers
    cases = [
        ("layernorm", L.LayerNormalization()),
        ("layernorm: {center: false}", L.LayerNormalization(center=False)),
        ("rescaling: 0.5", L.Rescaling(0.5)),
        ("normalization: {adapted: false}", L.Normalization(mean=0.0, variance=1.0)),
        ("global_avgpool: {keepdims: true}", L.GlobalAveragePooling2D(keepdims=True)),
        ("global_maxpool", L.GlobalMaxPooling2D()),
        ("batchnorm: {center: false}", L.BatchNormalization(center=False)),
        ("batchnorm: {scale: false}", L.BatchNormalization(scale=False)),
        ("cropping: [1, 0, 0, 1]", L.Cropping2D(((1, 0), (0, 1)))),
        (f"dense: {c + 3}", L.Dense(c + 3)),
        ("depthwise_conv: {kernel: 1, depth_multiplier: 2}", L.DepthwiseConv2D(1, depth_multiplier=2)),
        ("groupnorm: 1", L.GroupNormalization(groups=1)),
    ]
    text, layer = cases[case]
    shape, trainable, non_trainable = _keras_counts(layer, (h, w, c))
    r = analyze(spec(f"input: [{h}, {w}, {c}]\nlayers:\n  - {text}\n")).layers[-1]
    assert r.output_shape == shape, text
    assert r.params == trainable, text
    assert r.non_trainable_params == non_trainable, text


def test_keras_adapted_normalization_counts_mean_variance_and_count():
    keras = _keras()
    import numpy as np

    layer = keras.layers.Normalization()
    layer.adapt(np.zeros((4, 3, 3, 5), dtype="float32"))
    r = analyze(spec("input: [3, 3, 5]\nlayers:\n  - normalization\n")).layers[-1]
    assert r.non_trainable_params == layer.count_params() == 2 * 5 + 1



# ---------------------------------------------------------------------------------------------
# Swin V2 window attention and MaxViT's block / grid attention


@pytest.mark.parametrize("seed", range(30))
def test_random_window_attention_v2_matches_pytorch(seed):
    rng = random.Random(16_000 + seed)
    heads = rng.randint(1, 4)
    c = heads * rng.randint(1, 6)
    h, w = rng.randint(1, 14), rng.randint(1, 14)
    window = rng.randint(1, 8)
    shift = rng.randint(0, window - 1)
    qkv, proj = rng.choice(["true", "false"]), rng.choice(["true", "false"])
    hidden = rng.choice([512, 512, rng.randint(1, 40)])
    compare(spec(f"input: [{h}, {w}, {c}]\nlayers:\n  - window_attention: {{heads: {heads}, window: {window}, "
                 f"shift: {shift}, qkv_bias: {qkv}, proj_bias: {proj}, version: 2, cpb_hidden: {hidden}}}\n"))


@pytest.mark.parametrize("seed", range(30))
def test_random_partition_attention_matches_pytorch(seed):
    rng = random.Random(17_000 + seed)
    heads = rng.randint(1, 4)
    c = heads * rng.randint(1, 6)
    size = rng.randint(1, 5)
    h, w = size * rng.randint(1, 4), size * rng.randint(1, 4)
    part = rng.choice(["block", "grid"])
    qkv, proj = rng.choice(["true", "false"]), rng.choice(["true", "false"])
    compare(spec(f"input: [{h}, {w}, {c}]\nlayers:\n  - partition_attention: {{heads: {heads}, size: {size}, "
                 f"partition: {part}, qkv_bias: {qkv}, proj_bias: {proj}}}\n"
                 f"  - partition_attention: {{heads: {heads}, size: {size}, "
                 f"partition: {'grid' if part == 'block' else 'block'}}}\n"))


def _torchvision_attention(model: str, module: str) -> dict:
    import json

    from .conftest import ROOT

    ref = json.loads((ROOT / "docs" / "reference" / "torchvision_figures.json").read_text())[model]
    return next(a for a in ref["attention"] if a["module"] == module)


def test_swin_v2_window_attention_by_hand_and_torchvision():
    # swin_v2_t stage 1: 64×64×96 (256×256 input, patches of 4), window 8, 3 heads.
    # qkv 96·288 + 288 (the K third of the bias included), proj 96·96 + 96, logit scale 3,
    # cpb_mlp Linear(2, 512) 1024 + 512, Linear(512, 3) no bias 1536; coordinate table 15²·2.
    r = analyze(spec("input: [64, 64, 96]\nlayers:\n  - window_attention: {heads: 3, window: 8, version: 2}\n"))
    a = r.layers[-1]
    assert a.weights == 96 * 288 + 96 * 96 + 3 + 2 * 512 + 512 * 3
    assert a.biases == 288 + 96 + 512
    assert a.non_trainable_params == 15 * 15 * 2
    assert a.macs == 4 * 4096 * 96 * 96 + 2 * 4096 * 64 * 96 + 225 * (2 * 512 + 512 * 3) == 201_902_592
    ref = _torchvision_attention("swin_v2_t", "features.1.0.attn")  # torchvision 0.29.1, meta device
    assert tuple(ref["input"]) == (64, 64, 96)
    assert (a.params, a.non_trainable_params, a.macs) == (ref["params"], ref["non_trainable"], ref["macs"])
    # the last stage: 8×8×768, 24 heads, window 8 (the shift is dropped, the counts stay)
    r = analyze(spec("input: [8, 8, 768]\nlayers:\n  - window_attention: {heads: 24, window: 8, shift: 4, "
                     "version: 2}\n"))
    ref = _torchvision_attention("swin_v2_t", "features.7.1.attn")
    assert tuple(ref["input"]) == (8, 8, 768)
    a = r.layers[-1]
    assert (a.params, a.non_trainable_params, a.macs) == (ref["params"], ref["non_trainable"], ref["macs"])


def test_maxvit_partition_attention_by_hand_and_torchvision():
    # maxvit_t stage 1: 56×56×64, partition 7, head dim 32 → 2 heads: to_qkv 64·192 + 192, merge
    # 64·64 + 64, table 13²·2; MACs 4·3136·64² + 2·3136·49·64, block and grid alike
    for part, module in (("block", "blocks.0.layers.0.layers.window_attention"),
                         ("grid", "blocks.0.layers.0.layers.grid_attention")):
        r = analyze(spec(f"input: [56, 56, 64]\nlayers:\n  - partition_attention: {{heads: 2, size: 7, "
                         f"partition: {part}}}\n"))
        a = r.layers[-1]
        assert a.weights == 64 * 192 + 64 * 64 + 13 * 13 * 2 and a.biases == 192 + 64
        assert a.macs == 4 * 3136 * 64 * 64 + 2 * 3136 * 49 * 64 == 71_049_216
        ref = _torchvision_attention("maxvit_t", module)
        assert tuple(ref["input"]) == (56, 56, 64) and ref["partition"] == ("window" if part == "block" else "grid")
        assert (a.params, a.non_trainable_params, a.macs) == (ref["params"], ref["non_trainable"], ref["macs"])
    r = analyze(spec("input: [7, 7, 512]\nlayers:\n  - partition_attention: {heads: 16, size: 7, partition: grid}\n"))
    ref = _torchvision_attention("maxvit_t", "blocks.3.layers.1.layers.grid_attention")
    a = r.layers[-1]
    assert (a.params, a.non_trainable_params, a.macs) == (ref["params"], ref["non_trainable"], ref["macs"])
    assert a.macs == 4 * 49 * 512 ** 2 + 2 * 49 * 49 * 512


@pytest.mark.parametrize("text, words", [
    ("input: [10, 14, 8]\nlayers:\n  - partition_attention: {heads: 2, size: 7}\n",
     "partition size 7 does not divide 10×14 (MaxViT does not pad)"),
    ("input: [14, 14, 6]\nlayers:\n  - partition_attention: {heads: 4, size: 7}\n", "heads=4 does not divide the 6"),
    ("input: [8, 8, 6]\nlayers:\n  - window_attention: {heads: 2, version: 3}\n", "version must be 1 (Swin) or 2"),
    ("input: [8, 8, 6]\nlayers:\n  - partition_attention: {heads: 2, partition: window}\n",
     "must be one of block, grid"),
])
def test_attention_errors_are_one_line(tmp_path, text, words):
    f = tmp_path / "x.yaml"
    f.write_text(text)
    res = run_cli(str(f))
    assert res.code == 2, res
    assert words in res.err and "x.yaml:3:" in res.err, res.err
    assert len(res.err.strip().splitlines()) == 1


def _v2_and_maxvit_configs():
    rnd = random.Random(18)
    out = []
    for _ in range(4):
        heads = rnd.choice([1, 2, 3])
        c = heads * rnd.choice([2, 4])
        win = rnd.choice([2, 3, 4])
        out.append(((rnd.randint(2, 12), rnd.randint(2, 12), c),
                    {"window_attention": {"heads": heads, "window": win, "shift": rnd.choice([0, win // 2]),
                                          "version": 2, "cpb_hidden": rnd.choice([8, 512]),
                                          "qkv_bias": rnd.random() < 0.7, "proj_bias": rnd.random() < 0.7}}))
        size = rnd.choice([1, 2, 3])
        out.append(((size * rnd.randint(1, 4), size * rnd.randint(1, 4), c),
                    {"partition_attention": {"heads": heads, "size": size, "partition": rnd.choice(["block", "grid"]),
                                             "qkv_bias": rnd.random() < 0.7, "proj_bias": rnd.random() < 0.7}}))
    return out


@pytest.mark.parametrize("shape,layer", _v2_and_maxvit_configs())
def test_v2_and_maxvit_elementwise_match_pytorch_ops(shape, layer):
    """Element-wise counts as PyTorch runs the reference modules: bias adds are the output
    elements of addmm and add (the projections' and cpb_mlp's biases, the position bias on the
    scores), act those of relu and sigmoid (cpb_mlp), softmax those of softmax."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from .test_conventions import _last, _params
    from .torch_oracle import builder_of

    kind = next(iter(layer))
    got = _last(shape, layer)
    module = builder_of(kind)(_params(shape, layer), shape, [shape]).to("meta").eval()
    seen = {"bias": 0, "act": 0, "softmax": 0}

    class Ops(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            name = str(func.overloadpacket).split(".")[-1]
            if name in ("addmm", "add"):
                seen["bias"] += out.numel()
            elif name in ("relu", "sigmoid"):
                seen["act"] += out.numel()
            elif name in ("_softmax", "_safe_softmax", "softmax"):
                seen["softmax"] += out.numel()
            return out

    x = torch.zeros((1, shape[2], shape[0], shape[1]), device="meta")
    with torch.no_grad(), Ops():
        module(x)
    assert got == {k: v for k, v in seen.items() if v}
