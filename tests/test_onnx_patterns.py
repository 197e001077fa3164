"""ONNX patterns that PyTorch's TorchScript exporter writes for one cnncalc layer, on small
hand-made models: each built here in PyTorch, exported by ``torch.onnx.export(dynamo=False)``
into tmp_path and read back by ``cnncalc FILE.onnx``. The expected figures are PyTorch's own:
``parameters()``, the buffers, ``FlopCounterMode`` (FLOPs = 2·MACs) and the output shape. A
near miss of each pattern (a permutation, an axis, a constant that is not the pattern's) is
refused in one line naming the op and the layer — never counted some other way.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from contextlib import redirect_stdout

import pytest

from .conftest import run_cli

LINE = re.compile(r"^cnncalc: error: (?P<file>[^:]+): (?P<n>\d+) ONNX ops? cnncalc cannot count: (?P<what>.*) — "
                  r"nothing was counted")


@pytest.fixture(scope="module")
def torch():
    pytest.importorskip("onnx")
    return pytest.importorskip("torch")


def _export(torch, model, x, path, **options):
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), dynamo=False, training=torch.onnx.TrainingMode.PRESERVE, **options)
    return path


def _pytorch_figures(torch, model, x):
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = model(x)
    buffers = sum(b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))
    shape = tuple(y.shape[1:])
    hwc = [shape[1], shape[2], shape[0]] if len(shape) == 3 else list(shape)
    return {"params": sum(p.numel() for p in model.parameters()), "non_trainable_params": buffers,
            "macs": counter.get_total_flops() // 2, "output_shape": hwc}


def _same_figures(torch, tmp_path, model, x, **options):
    """The ONNX export of ``model`` read by cnncalc gives PyTorch's figures; the spec text."""
    model = model.eval()
    path = _export(torch, model, x, tmp_path / "m.onnx", **options)
    r = run_cli(str(path), "--format", "json")
    assert r.code == 0, r.err
    got = json.loads(r.out)
    figures = {k: got["totals"][k] for k in ("params", "non_trainable_params", "macs")}
    figures["output_shape"] = got["layers"][-1]["output_shape"]
    assert figures == _pytorch_figures(torch, model, x)
    r = run_cli("import", str(path))
    assert r.code == 0, r.err
    return r.out


def _refused(torch, tmp_path, model, x) -> str:
    """The export of ``model`` is refused: exit 2, one line naming the ops; what was named."""
    path = _export(torch, model.eval(), x, tmp_path / "bad.onnx")
    r = run_cli(str(path))
    assert r.code == 2 and r.out == "" and r.err.count("\n") == 1, r.err
    m = LINE.match(r.err)
    assert m, r.err
    return m["what"]


# ------------------------------------------------------------------------------------------
# channels-last stretches: Transpose(0, 2, 3, 1) … LayerNormalization / MatMul + Add … Transpose(0, 3, 1, 2)


def _convnext_like(torch):
    from torch import nn

    class Block(nn.Module):  # torchvision's CNBlock: dwconv, permute, LayerNorm, Linear, GELU, Linear, permute, γ
        def __init__(self, c):
            super().__init__()
            self.dwconv = nn.Conv2d(c, c, 7, padding=3, groups=c)
            self.norm = nn.LayerNorm(c, eps=1e-6)
            self.pw1, self.act, self.pw2 = nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c)
            self.gamma = nn.Parameter(torch.full((c, 1, 1), 1e-6))

        def forward(self, x):
            y = self.dwconv(x).permute(0, 2, 3, 1)
            y = self.pw2(self.act(self.pw1(self.norm(y)))).permute(0, 3, 1, 2)
            return x + self.gamma * y

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 4, stride=4)
            self.stem_norm = nn.LayerNorm(8, eps=1e-6)
            self.block = Block(8)
            self.plain = nn.LayerNorm(8, elementwise_affine=False)  # no γ, no β
            self.gamma_only = nn.LayerNorm(8, bias=False)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.head_norm = nn.LayerNorm(8)
            self.fc = nn.Linear(8, 5)

        def forward(self, x):
            x = self.stem_norm(self.stem(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
            x = self.block(x)
            x = self.gamma_only(self.plain(x.permute(0, 2, 3, 1))).permute(0, 3, 1, 2)
            x = self.pool(x).permute(0, 2, 3, 1)
            return self.fc(self.head_norm(x.flatten(1)))  # a LayerNorm on a vector too

    return Net()


def test_channels_last_layernorm_linear_and_layer_scale(torch, tmp_path):
    model = _convnext_like(torch)
    x = torch.zeros(1, 3, 32, 32)
    text = _same_figures(torch, tmp_path, model, x)
    # by hand: stem 4·4·3·8 + 8 = 392; the LayerNorms 8 + 8 (×3: stem, block, head), 8 (γ only), 0 (plain);
    # dwconv 7·7·8 + 8 = 400; Linear 8·32 + 32 = 288 and 32·8 + 8 = 264; γ 8; fc 8·5 + 5 = 45
    assert sum(p.numel() for p in model.parameters()) == 392 + 3 * 16 + 8 + 400 + 288 + 264 + 8 + 45
    assert "layernorm: {name: stem_norm, eps: 1.0e-06}" in text
    assert "affine: false" in text and "bias: false" in text and "layer_scale:" in text
    assert "dense: {name: block.pw1, units: 32}" in text


@pytest.mark.parametrize("case, named", [
    ("flatten", "Flatten (on a channels-last tensor"),  # N×H×W×C flattened: another order than cnncalc's
    ("conv", "Conv (on a channels-last tensor"),  # a conv over the wrong axis as channels
    ("perm", "Transpose (other than N×C×H×W to N×H×W×C and back"),
    ("ln_chw", "LayerNormalization (not over the channels"),  # over C, H and W: not cnncalc's layernorm
    ("ln_nchw", "LayerNormalization (not over the channels"),  # the last axis of N×C×H×W is W
    ("scale", "Mul (an activation times a constant that is not a weight per channel)"),
    ("mixed", "Add (of a channels-last and a channels-first tensor)"),
])
def test_channels_last_near_misses_are_refused(torch, tmp_path, case, named):
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.inner = nn.Conv2d(8, 8, 1)
            self.norm = nn.LayerNorm([8, 8, 8] if case == "ln_chw" else 8)
            self.gamma = nn.Parameter(torch.ones(1, 1, 8))  # over W, not the channels

        def forward(self, x):
            x = self.conv(x)
            if case == "flatten":
                return x.permute(0, 2, 3, 1).flatten(1)
            if case == "conv":
                return self.inner(x.permute(0, 2, 3, 1))
            if case == "perm":
                return self.norm(x.permute(0, 1, 3, 2))
            if case in ("ln_chw", "ln_nchw"):
                return self.norm(x)
            if case == "scale":
                return x * self.gamma
            return x.permute(0, 2, 3, 1) + x  # 8×8×8: the shapes agree, the layouts do not

    what = _refused(torch, tmp_path, Net(), torch.zeros(1, 3, 8, 8))
    assert what.startswith(named), what


# ------------------------------------------------------------------------------------------
# ShuffleNet: a channel shuffle written as view → transpose → view (Reshape, Transpose, Reshape);
# torch.split / chunk (Split) and a slice of the channels (Slice) as split


def _shuffle(x, groups):  # torchvision's channel_shuffle
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous().view(b, c, h, w)


def test_channel_shuffle_split_and_slice(torch, tmp_path):
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 12, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(12)
            self.branch = nn.Conv2d(6, 6, 1)
            self.uneven = nn.Conv2d(5, 2, 1)
            self.head = nn.Conv2d(12 + 2 + 4, 4, 1)

        def forward(self, x):
            x = self.bn(self.conv(x))
            a, b = x.chunk(2, dim=1)  # equal halves
            x = _shuffle(torch.cat([a, self.branch(b)], 1), 3)
            p, q = torch.split(x, [5, 7], dim=1)  # unequal parts
            middle = x[:, 4:8]  # a slice of the channels
            return self.head(torch.cat([x, self.uneven(p) + q[:, :2], middle], 1))

    text = _same_figures(torch, tmp_path, Net(), torch.zeros(1, 3, 16, 16))
    assert "channel_shuffle: {name: " in text and "groups: 3" in text
    # chunk(2) (two Slices, or a Split), torch.split: the parts; a slice: one part of a split
    assert "parts: 2" in text and "split: {name: split, sizes: [5, 7]}" in text
    assert "parts: 3, from: " in text  # x[:, 4:8] is the middle part of 4 + 4 + 4
    assert "sizes: [2, 5], from: split.1}" in text  # q[:, :2] of q's 7
    # the values too: nn.ChannelShuffle is what the view → transpose → view computes
    x = torch.arange(2 * 6 * 2 * 2, dtype=torch.float32).reshape(2, 6, 2, 2)
    assert torch.equal(_shuffle(x, 3), nn.ChannelShuffle(3)(x))


@pytest.mark.parametrize("case, named", [
    ("perm", "Transpose (a 5-D view that is not a channel shuffle"),  # transposed the other two axes
    ("back", "Reshape (a 5-D view that is not a channel shuffle"),  # not viewed back to N×C×H×W
    ("twice", "Reshape (a 5-D view that is not a channel shuffle"),  # the 5-D view read twice
    ("split_h", "Split (not along the channels)"),
    ("slice_w", "Slice (not a step-1 slice of the channels"),
    ("slice_step", "Slice (not a step-1 slice of the channels"),
])
def test_shuffle_split_slice_near_misses_are_refused(torch, tmp_path, case, named):
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)

        def forward(self, x):
            x = self.conv(x)
            b, c, h, w = x.shape
            v = x.view(b, 2, c // 2, h, w)
            if case == "perm":
                return v.transpose(3, 4).contiguous().view(b, c, h, w)
            if case == "back":
                return v.transpose(1, 2).contiguous().view(b, c // 2, 2 * h, w)
            if case == "twice":
                return v.transpose(1, 2).contiguous().view(b, c, h, w) + v.view(b, c, h, w)
            if case == "split_h":
                return torch.split(x, [3, 5], dim=2)[0]
            if case == "slice_w":
                return x[:, :, :, 2:6]
            return x[:, ::2]

    what = _refused(torch, tmp_path, Net(), torch.zeros(1, 3, 8, 8))
    assert what.startswith(named), what


# ------------------------------------------------------------------------------------------
# LocalResponseNorm: the exported module's helper writes ONNX's one LRN op (PyTorch's own
# export spreads it over about twenty ops, which are refused)


def _helpers(torch, *names):
    from cnncalc.export.pytorch import HELPERS

    scope = {"torch": torch, "nn": torch.nn}
    exec("".join(HELPERS[n] for n in names), scope)
    return [scope[n] for n in names]


def test_lrn_helper_exports_one_lrn_op_with_pytorchs_values(torch, tmp_path):
    import numpy as np
    import onnx
    from torch import nn

    (LRN,) = _helpers(torch, "LocalResponseNorm")

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 7, 3)
            self.norm = LRN(5, 1e-2, 0.75, 2.0)  # AlexNet's n, β, k; a larger α so that it shows

        def forward(self, x):
            return self.norm(torch.relu(self.conv(x)))

    model = Net().eval()
    text = _same_figures(torch, tmp_path, model, torch.zeros(1, 3, 12, 12))
    assert "lrn: {name: norm, size: 5, alpha: 0.01, beta: 0.75, k: 2.0}" in text
    m = onnx.load(str(tmp_path / "m.onnx"))
    assert [n.op_type for n in m.graph.node] == ["Conv", "Relu", "LRN"]
    # ONNX's LRN as its operator spec defines it — square_sum[c] = Σ x[i]² for i from
    # c − ⌊(n − 1)/2⌋ to c + ⌈(n − 1)/2⌉, y = x/(bias + α/n·square_sum)^β — with the attributes
    # written, computes PyTorch's LocalResponseNorm (α/n too). (onnx.reference's LRN of onnx 1.23
    # loops over the batch, not the channels: not usable as the oracle.)
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in m.graph.node[-1].attribute}
    n, alpha, beta, bias = attrs["size"], attrs["alpha"], attrs["beta"], attrs["bias"]
    x = np.random.default_rng(0).standard_normal((2, 7, 4, 5)).astype("float64")
    square_sum = np.stack([(x[:, max(0, c - (n - 1) // 2):c + n // 2 + 1] ** 2).sum(axis=1) for c in range(7)], 1)
    got = x / (bias + alpha / n * square_sum) ** beta
    want = nn.LocalResponseNorm(5, 1e-2, 0.75, 2.0)(torch.tensor(x)).numpy()
    assert np.allclose(got, want, rtol=1e-6, atol=1e-7)
    assert np.array_equal(LRN(5, 1e-2, 0.75, 2.0)(torch.tensor(x)).numpy(), want)  # and the helper is nn's


def test_lrn_of_even_size_is_pytorchs_ops_and_refused(torch, tmp_path):
    from torch import nn

    (LRN,) = _helpers(torch, "LocalResponseNorm")
    model = nn.Sequential(nn.Conv2d(3, 6, 3), LRN(4))  # ONNX's window of 4 starts a channel later
    what = _refused(torch, tmp_path, model, torch.zeros(1, 3, 8, 8))
    # PyTorch's decomposition: x² viewed as N×1×C×H×W, padded, averaged over the channels, viewed back
    assert what == ("Reshape (to a shape other than N×C×H×W, N×D, tokens N×L×C or a map's N×C×(H·W), "
                    "here 1×1×6×6×6) ('1'); If ('1')"), what


def test_channel_shuffle_helper_is_nn_channel_shuffle(torch):
    (Shuffle,) = _helpers(torch, "ChannelShuffle")
    x = torch.arange(2 * 12 * 3 * 2, dtype=torch.float32).reshape(2, 12, 3, 2)
    for g in (2, 3, 4):
        assert torch.equal(Shuffle(g)(x), torch.nn.ChannelShuffle(g)(x))


# ------------------------------------------------------------------------------------------
# tokens (ViT without its attention): Reshape to N×C×(H·W) → Transpose(0, 2, 1) is to_tokens; a
# Concat of a (1, 1, C) weight before them a class_token; an Add of an L×C weight a position_bias;
# LayerNormalization, MatMul + Add, Gelu, Mul by a weight per channel act on the last axis; Gather
# or Slice + Squeeze of token i is select_token


def _vit_without_attention(torch, variant):
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv_proj = nn.Conv2d(3, 8, 4, stride=4)
            self.class_token = nn.Parameter(torch.zeros(1, 1, 8))
            # torchvision's (1, L, C), or the (L, C) of cnncalc's exported PositionBias
            self.pos_embedding = nn.Parameter(torch.zeros((17, 8) if variant == "flatten" else (1, 17, 8)))
            self.ln_1 = nn.LayerNorm(8, eps=1e-6)
            self.mlp = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Dropout(0.1), nn.Linear(16, 8), nn.ReLU())
            self.gamma = nn.Parameter(torch.ones(8))  # a layer scale on the tokens' channels
            self.ln = nn.LayerNorm(8, elementwise_affine=False)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            x = self.conv_proj(x)
            n, c, h, w = x.shape
            if variant == "flatten":  # torch's way (timm, cnncalc's export)
                x = x.flatten(2).transpose(1, 2)
            else:  # torchvision's VisionTransformer._process_input
                x = x.reshape(n, c, h * w).permute(0, 2, 1)
            x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
            x = x + self.pos_embedding
            x = x.reshape(x.shape[0], -1, x.shape[-1])  # Shape of tokens: 1×L×C, a view as they are
            x = x + self.gamma * self.mlp(self.ln_1(x))  # the residual: an Add of two token tensors
            x = self.ln(x)
            if variant == "slice":
                x = x[:, 0:1].squeeze(1)
            elif variant == "reshape":
                x = x[:, -1:].reshape(n, -1)  # the last token
            else:
                x = x[:, 0]
            return self.head(x)

    return Net()


@pytest.mark.parametrize("variant", ["torchvision", "flatten", "slice", "reshape", "dynamic_batch"])
def test_tokens_class_token_position_embedding_mlp_and_head(torch, tmp_path, variant):
    import onnx

    model = _vit_without_attention(torch, variant)
    # a batch left open keeps the shape side graphs in the file (Shape of the tokens, the class token's Expand)
    dynamic = {"input_names": ["x"], "dynamic_axes": {"x": {0: "n"}}} if variant == "dynamic_batch" else {}
    text = _same_figures(torch, tmp_path, model, torch.zeros(1, 3, 16, 16), **dynamic)
    # by hand: conv 4·4·3·8 + 8 = 392; class token 8; position embedding 17·8 = 136 (16 patches + the
    # class token); LayerNorm 8 + 8; MLP 8·16 + 16 = 144 and 16·8 + 8 = 136; γ 8; plain LayerNorm 0; head 8·3 + 3
    assert sum(p.numel() for p in model.parameters()) == 392 + 8 + 136 + 16 + 144 + 136 + 8 + 27
    for line in ("to_tokens: {name: ", "class_token: {name: ", "position_bias: {name: ", "layernorm: {name: ln_1, ",
                 "dense: {name: mlp.0, units: 16}", "gelu: {name: mlp.1}", "relu: {name: mlp.4}",
                 "layer_scale: {name: ", "add: {name: ", "select_token: {name: "):
        assert line in text, (line, text)
    assert ("index: 16}" if variant == "reshape" else "index: 0}") in text
    nodes = onnx.load(str(tmp_path / "m.onnx")).graph.node
    ops = [n.op_type for n in nodes]
    assert ops.count("Transpose") == 1 and "Concat" in ops and "LayerNormalization" in ops, ops
    token = [n.op_type for n in nodes if n.op_type in ("Gather", "Slice") and n.input[0].startswith("/ln/")]
    assert token == (["Slice"] if variant in ("slice", "reshape") else ["Gather"]), ops
    if variant == "dynamic_batch":  # the Shape of the token tensor is in the file, folded to 1×17×8 by cnncalc
        assert any(n.op_type == "Shape" and n.input[0] == "/Add_output_0" for n in nodes), ops
    if variant == "torchvision":  # in training mode PRESERVE keeps the Dropout on the tokens
        r = run_cli("import", str(_export(torch, model.train(), torch.zeros(1, 3, 16, 16), tmp_path / "t.onnx")))
        assert r.code == 0 and "dropout: {name: mlp.2, rate: 0.1}" in r.out, r.err


def test_shipped_vit_exported_without_its_attention(torch, tmp_path):
    # a ViT spec of cnncalc's own, exported to PyTorch by cnncalc (ClassToken, PositionBias of L×C,
    # x.flatten(2).transpose(1, 2), x[:, 0]), its attention modules replaced by the identity: the rest
    # reads back with PyTorch's figures
    from torch import nn

    from .test_export import _load

    spec = tmp_path / "vit.yaml"
    spec.write_text("name: tiny_vit\ninput: [16, 16, 3]\nlayers:\n"
                    "  - conv: {name: conv_proj, filters: 8, kernel: 4, stride: 4}\n"
                    "  - to_tokens: {name: tokens}\n  - class_token: {name: class_token}\n"
                    "  - position_bias: {name: pos_embedding}\n  - dropout: {name: dropout, rate: 0.1}\n"
                    "  - layernorm: {name: ln_1, eps: 0.000001}\n  - multihead_attention: {name: attn, heads: 2}\n"
                    "  - add: {name: add1, from: [attn, dropout]}\n  - layernorm: {name: ln_2}\n"
                    "  - dense: {name: mlp.0, units: 16}\n  - gelu: {name: mlp.1}\n  - dense: {name: mlp.3, units: 8}\n"
                    "  - add: {name: add2, from: [mlp.3, add1]}\n  - select_token: {name: class_out, index: 0}\n"
                    "  - dense: {name: head, units: 3}\n", encoding="utf-8")
    out = tmp_path / "vit.py"
    r = run_cli("export", str(spec), "--to", "pytorch", "-o", str(out))
    assert r.code == 0, r.err
    module = _load(out)
    net = [v for v in vars(module).values()
           if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == module.__name__][-1]()

    class Skip(nn.Module):
        def forward(self, x, *args, **kwargs):
            return x

    attention = [name for name, m in net.named_modules() if type(m).__name__ == "SelfAttention"]
    assert len(attention) == 1, [type(m).__name__ for m in net.modules()]
    setattr(net, attention[0], Skip())
    text = _same_figures(torch, tmp_path, net, torch.zeros(1, 3, 16, 16))
    assert "position_bias: {name: pos_embedding}" in text and "class_token: {name: class_token}" in text
    assert "select_token: {name: " in text and "multihead_attention" not in text


def test_channels_last_map_to_tokens_and_back(torch, tmp_path):
    # SegFormer / PVT / Swin (timm): a channels-last map reshaped to tokens N×(H·W)×C, and tokens
    # reshaped to N×H×W×C then permuted back to N×C×H×W
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch = nn.Conv2d(3, 8, 2, stride=2)
            self.norm = nn.LayerNorm(8)
            self.fc1 = nn.Linear(8, 12)
            self.conv = nn.Conv2d(12, 6, 3, padding=1)
            self.head = nn.Linear(6, 4)

        def forward(self, x):
            x = self.patch(x).permute(0, 2, 3, 1)
            n, h, w, c = x.shape
            t = self.fc1(self.norm(x.reshape(n, h * w, c)))  # tokens 16×8 → 16×12
            x = t.reshape(n, h, w, -1).permute(0, 3, 1, 2)  # 4×4×12, channels first again
            return self.head(self.conv(x).mean((2, 3)))

    text = _same_figures(torch, tmp_path, Net(), torch.zeros(1, 3, 8, 8))
    # by hand: 2·2·3·8 + 8 = 104; LayerNorm 16; 8·12 + 12 = 108; 3·3·12·6 + 6 = 654; 6·4 + 4 = 28
    assert sum(p.numel() for p in Net().parameters()) == 104 + 16 + 108 + 654 + 28
    assert "to_tokens: {name: " in text and "reshape: {name: reshape_1, shape: [4, 4, 12]}" in text, text


@pytest.mark.parametrize("case, named", [
    ("tokens_then_conv", "Conv (on a channels-last tensor"),  # tokens → N×H×W×C read by a Conv as N×C×H×W
    ("last_rows", "Reshape (on a channels-last tensor"),  # N×H×W×C → N×W×(H·C): not tokens
])
def test_channels_last_tokens_near_misses_are_refused(torch, tmp_path, case, named):
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch = nn.Conv2d(3, 8, 2, stride=2)
            self.conv = nn.Conv2d(4, 4, 1)

        def forward(self, x):
            x = self.patch(x).permute(0, 2, 3, 1)  # 1×4×4×8
            if case == "last_rows":
                return torch.relu(x).reshape(1, 4, 32)
            t = x.reshape(1, 16, 8)
            return self.conv(torch.relu(t).reshape(1, 4, 4, 8))

    what = _refused(torch, tmp_path, Net(), torch.zeros(1, 3, 8, 8))
    assert what.startswith(named), what


@pytest.mark.parametrize("case, named", [
    ("two_tokens", "Concat (a constant joined to an activation, other than a class token"),  # a (1, 2, C) weight
    ("token_after", "Concat (a constant joined to an activation, other than a class token"),  # after the tokens
    ("sequences", "Concat (not along the channels)"),  # two token tensors along L: not cnncalc's concat
    ("bias_per_channel", "Add (an activation plus a constant"),  # (1, 1, C): broadcast over the tokens
    ("bias_per_token", "Add (an activation plus a constant"),  # (L, 1): broadcast over the channels
    ("gather_channel", "Gather (not of one token (axis 1) of tokens N×L×C)"),  # x[:, :, 0]
    ("two_first", "Slice (not a step-1 slice of the channels or one token)"),  # x[:, 0:2]
    ("one_kept", "Slice (one token N×1×C not read once by a Squeeze, Reshape or Flatten to N×C"),  # N×1×C out
    ("mixer", "Transpose (other than N×C×H×W to N×H×W×C and back, N×C×L to tokens N×L×C"),  # token mixing
    ("rows", "Reshape (to a shape other than N×C×H×W, N×D, tokens N×L×C or a map's N×C×(H·W), here 1×32×4)"),
    ("twice", "Reshape (N×C×(H·W) of a feature map not read once by Transpose(0, 2, 1) to tokens"),
    ("conv1d", "Conv (on tokens N×L×C: only ops on the last axis"),  # Conv1d would take L as the channels
    ("norm_lc", "LayerNormalization (not over the channels"),  # LayerNorm([L, C])
    ("softmax_l", "Softmax (not over the channels)"),
    ("softmax_w", "Softmax (not over the channels)"),  # over W of N×C×H×W: not cnncalc's softmax either
])
def test_token_near_misses_are_refused(torch, tmp_path, case, named):
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 4, stride=4)
            self.token = nn.Parameter(torch.zeros(1, 2 if case == "two_tokens" else 1, 8))
            self.bias = nn.Parameter(torch.zeros({"bias_per_channel": (1, 1, 8), "bias_per_token": (16, 1)}.get(
                case, (1, 16, 8))))
            self.conv1d = nn.Conv1d(16, 16, 1)
            self.norm = nn.LayerNorm([16, 8])

        def forward(self, x):
            x = self.conv(x)
            if case == "softmax_w":
                return x.softmax(-1)
            if case == "rows":
                return x.reshape(1, 32, 4)
            t = x.reshape(1, 8, 16)
            if case == "twice":
                return t.permute(0, 2, 1).sum() + t.sum()
            t = t.permute(0, 2, 1)
            if case in ("two_tokens", "token_after"):
                return torch.cat([t, self.token] if case == "token_after" else [self.token, t], dim=1)
            return {"sequences": lambda: torch.cat([t, t], dim=1), "bias_per_channel": lambda: t + self.bias,
                    "bias_per_token": lambda: t + self.bias, "gather_channel": lambda: t[:, :, 0],
                    "two_first": lambda: t[:, 0:2].flatten(1), "one_kept": lambda: t[:, 0:1],
                    "mixer": lambda: torch.relu(t).transpose(1, 2), "conv1d": lambda: self.conv1d(t),
                    "norm_lc": lambda: self.norm(t), "softmax_l": lambda: t.softmax(1)}[case]()

    what = _refused(torch, tmp_path, Net(), torch.zeros(1, 3, 16, 16))
    assert what.startswith(named), what


# ------------------------------------------------------------------------------------------
# ViT whole: the tokens read here, the attention by the pre-pass (onnx_fuse.py)


def _tiny_vit(torch):
    from torch import nn

    class Net(nn.Module):  # torchvision's ViT in small: patches, class token, attention, head
        def __init__(self):
            super().__init__()
            self.conv_proj = nn.Conv2d(3, 8, 4, stride=4)
            self.class_token = nn.Parameter(torch.zeros(1, 1, 8))
            self.ln = nn.LayerNorm(8)
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            x = self.conv_proj(x)
            x = x.reshape(x.shape[0], 8, -1).permute(0, 2, 1)
            x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
            y = self.ln(x)
            x = x + self.attn(y, y, y, need_weights=False)[0]
            return self.head(x[:, 0])

    return Net()


def test_tiny_vit_with_attention_reads_as_pytorch_counts(torch, tmp_path):
    model = _tiny_vit(torch)
    torch.manual_seed(0)
    with torch.no_grad():  # random weights: the exporter shares none of them between layers
        for p in model.parameters():
            p.copy_(torch.randn_like(p))
    # FlopCounterMode does not count nn.MultiheadAttention's fast path at inference
    # (torch._native_multi_head_attention) nor the CPU's fused attention kernel: on the plain path
    # and the math kernel it counts the projections and the two batched products (as on the meta device)
    from torch.nn.attention import SDPBackend, sdpa_kernel

    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH):
            text = _same_figures(torch, tmp_path, model, torch.zeros(1, 3, 16, 16))
    finally:
        torch.backends.mha.set_fastpath_enabled(True)
    # by hand: conv 4·4·3·8 + 8 = 392; class token 8; LayerNorm 16; attention 4·8² + 4·8 = 288; head 8·3 + 3 = 27
    assert sum(p.numel() for p in model.parameters()) == 392 + 8 + 16 + 288 + 27
    # MACs: conv 16 positions · 4·4·3·8 = 6,144; attention over 17 tokens 4·17·8² + 2·17²·8 = 8,976; head 24
    assert json.loads(run_cli(str(tmp_path / "m.onnx"), "--format", "json").out)["totals"]["macs"] == \
        6144 + 8976 + 24
    assert "multihead_attention: {name: attn, heads: 2}" in text, text
