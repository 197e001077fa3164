"""``cnncalc import torch:…`` of transformers and ShuffleNet: ViT (patchify, tokens, class token,
position embedding, nn.MultiheadAttention, x[:, 0]), ShuffleNet V2 (x.chunk, the channel shuffle
written as view/transpose/view), Swin (torchvision's torch.fx.wrap'd shifted_window_attention,
V1 and V2, and patch merging), and the modules ``cnncalc export --to pytorch`` writes, read
back. torchvision is not installed beside torch 2.13: the models are written here after
torchvision's code. Every expected figure is PyTorch 2.13's own, measured on the meta device
as tests/test_export.py does (on the CPU, FlopCounterMode does not see the fused attention kernel
nn.MultiheadAttention(need_weights=False) runs, and counts only its projections):
``parameters()``, the floating-point buffers (an integer index buffer is not a parameter),
``FlopCounterMode`` (MACs = FLOPs / 2) and the output's shape."""

from __future__ import annotations

import json

import pytest

from cnncalc import analyze
from cnncalc.load import parse_spec

from .conftest import error_of, importable, run_cli

MODELS = '''
import math

import torch
from torch import nn
import torch.nn.functional as F


class EncoderBlock(nn.Module):
    """torchvision's ViT EncoderBlock."""

    def __init__(self, dim, heads, mlp, unpack=True):
        super().__init__()
        self.unpack = unpack
        self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.dropout = nn.Dropout(0.0)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Dropout(0.0), nn.Linear(mlp, dim),
                                 nn.Dropout(0.0))

    def forward(self, input):
        x = self.ln_1(input)
        if self.unpack:
            x, _ = self.self_attention(x, x, x, need_weights=False)
        else:
            x = self.self_attention(x, x, x)[0]
        x = self.dropout(x)
        x = x + input
        y = self.ln_2(x)
        y = self.mlp(y)
        return x + y


class ViTLike(nn.Module):
    """torchvision's VisionTransformer, small: 4×4 patches of 32 features, 2 blocks of 4 heads."""

    def __init__(self, image=16, patch=4, dim=32, heads=4, mlp=64, classes=10, flatten=False):
        super().__init__()
        self.patch, self.dim, self.flatten = patch, dim, flatten
        self.conv_proj = nn.Conv2d(3, dim, patch, stride=patch)
        tokens = (image // patch) ** 2 + 1
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.zeros(1, tokens, dim))
        self.dropout = nn.Dropout(0.0)
        self.layers = nn.Sequential(EncoderBlock(dim, heads, mlp), EncoderBlock(dim, heads, mlp, unpack=False))
        self.ln = nn.LayerNorm(dim, eps=1e-6)
        self.heads = nn.Sequential(nn.Linear(dim, classes))

    def forward(self, x):
        n, c, h, w = x.shape
        x = self.conv_proj(x)
        if self.flatten:
            x = x.flatten(2).transpose(1, 2)
        else:
            x = x.reshape(n, self.dim, (h // self.patch) * (w // self.patch))
            x = x.permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        x = x + self.pos_embedding
        x = self.ln(self.layers(self.dropout(x)))
        x = x[:, 0]
        return self.heads(x)


def channel_shuffle(x, groups: int):
    """torchvision's."""
    batchsize, num_channels, height, width = x.size()
    channels_per_group = num_channels // groups
    x = x.view(batchsize, groups, channels_per_group, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    x = x.view(batchsize, num_channels, height, width)
    return x


class InvertedResidual(nn.Module):
    """torchvision's ShuffleNet V2 unit."""

    def __init__(self, inp, oup, stride):
        super().__init__()
        self.stride = stride
        branch = oup // 2
        if stride > 1:
            self.branch1 = nn.Sequential(nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False), nn.BatchNorm2d(inp),
                                         nn.Conv2d(inp, branch, 1, bias=False), nn.BatchNorm2d(branch), nn.ReLU())
        else:
            self.branch1 = nn.Sequential()
        cin = inp if stride > 1 else branch
        self.branch2 = nn.Sequential(nn.Conv2d(cin, branch, 1, bias=False), nn.BatchNorm2d(branch), nn.ReLU(),
                                     nn.Conv2d(branch, branch, 3, stride, 1, groups=branch, bias=False),
                                     nn.BatchNorm2d(branch), nn.Conv2d(branch, branch, 1, bias=False),
                                     nn.BatchNorm2d(branch), nn.ReLU())

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 12, 3, 2, 1, bias=False), nn.BatchNorm2d(12), nn.ReLU())
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.stage2 = nn.Sequential(InvertedResidual(12, 24, 2), InvertedResidual(24, 24, 1))
        self.stage3 = nn.Sequential(InvertedResidual(24, 48, 2), InvertedResidual(48, 48, 1))
        self.fc = nn.Linear(48, 5)

    def forward(self, x):
        x = self.stage3(self.stage2(self.maxpool(self.conv1(x))))
        split = torch.split(x, [16, 32], dim=1)  # uneven parts: split with sizes
        x = torch.cat([split[1], split[0]], dim=1)
        return self.fc(x.mean([2, 3]))


# -- Swin, after torchvision's swin_transformer.py (the shift mask left out: it costs no MAC)

def _patch_merging_pad(x):
    H, W, _ = x.shape[-3:]
    x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
    return torch.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]], -1)


torch.fx.wrap("_patch_merging_pad")


def _get_relative_position_bias(table, index, window_size):
    N = window_size[0] * window_size[1]
    bias = table[index].view(N, N, -1)
    return bias.permute(2, 0, 1).contiguous().unsqueeze(0)


torch.fx.wrap("_get_relative_position_bias")


def shifted_window_attention(input, qkv_weight, proj_weight, relative_position_bias, window_size, num_heads,
                             shift_size, attention_dropout=0.0, dropout=0.0, qkv_bias=None, proj_bias=None,
                             logit_scale=None, training=True):
    B, H, W, C = input.shape
    pad_r = (window_size[1] - W % window_size[1]) % window_size[1]
    pad_b = (window_size[0] - H % window_size[0]) % window_size[0]
    x = F.pad(input, (0, 0, 0, pad_r, 0, pad_b))
    _, pad_H, pad_W, _ = x.shape
    shift_size = shift_size.copy()
    if window_size[0] >= pad_H:
        shift_size[0] = 0
    if window_size[1] >= pad_W:
        shift_size[1] = 0
    if sum(shift_size) > 0:
        x = torch.roll(x, shifts=(-shift_size[0], -shift_size[1]), dims=(1, 2))
    num_windows = (pad_H // window_size[0]) * (pad_W // window_size[1])
    x = x.view(B, pad_H // window_size[0], window_size[0], pad_W // window_size[1], window_size[1], C)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(B * num_windows, window_size[0] * window_size[1], C)
    if logit_scale is not None and qkv_bias is not None:
        qkv_bias = qkv_bias.clone()
        length = qkv_bias.numel() // 3
        qkv_bias[length:2 * length].zero_()
    qkv = F.linear(x, qkv_weight, qkv_bias)
    qkv = qkv.reshape(x.size(0), x.size(1), 3, num_heads, C // num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    if logit_scale is not None:
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * torch.clamp(logit_scale, max=math.log(100.0)).exp()
    else:
        attn = (q * (C // num_heads) ** -0.5).matmul(k.transpose(-2, -1))
    attn = F.softmax(attn + relative_position_bias, dim=-1)
    x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), C)
    x = F.linear(x, proj_weight, proj_bias)
    x = x.view(B, pad_H // window_size[0], pad_W // window_size[1], window_size[0], window_size[1], C)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(B, pad_H, pad_W, C)
    if sum(shift_size) > 0:
        x = torch.roll(x, shifts=(shift_size[0], shift_size[1]), dims=(1, 2))
    return x[:, :H, :W, :].contiguous()


torch.fx.wrap("shifted_window_attention")


class ShiftedWindowAttention(nn.Module):
    def __init__(self, dim, window_size, shift_size, num_heads, qkv_bias=True, proj_bias=True):
        super().__init__()
        self.window_size, self.shift_size, self.num_heads = window_size, shift_size, num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.define_relative_position_bias_table()
        coords = torch.stack(torch.meshgrid(torch.arange(window_size[0]), torch.arange(window_size[1]),
                                            indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        rel[:, :, 0] += window_size[0] - 1
        rel[:, :, 1] += window_size[1] - 1
        rel[:, :, 0] *= 2 * window_size[1] - 1
        self.register_buffer("relative_position_index", rel.sum(-1).flatten())

    def define_relative_position_bias_table(self):
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * self.window_size[0] - 1) * (2 * self.window_size[1] - 1), self.num_heads))

    def get_relative_position_bias(self):
        return _get_relative_position_bias(self.relative_position_bias_table, self.relative_position_index,
                                           self.window_size)

    def forward(self, x):
        return shifted_window_attention(x, self.qkv.weight, self.proj.weight, self.get_relative_position_bias(),
                                        self.window_size, self.num_heads, shift_size=self.shift_size,
                                        qkv_bias=self.qkv.bias, proj_bias=self.proj.bias, training=self.training)


class ShiftedWindowAttentionV2(ShiftedWindowAttention):
    def __init__(self, dim, window_size, shift_size, num_heads, qkv_bias=True, proj_bias=True):
        super().__init__(dim, window_size, shift_size, num_heads, qkv_bias=qkv_bias, proj_bias=proj_bias)
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((num_heads, 1, 1))))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, 64, bias=True), nn.ReLU(inplace=True),
                                     nn.Linear(64, num_heads, bias=False))

    def define_relative_position_bias_table(self):
        h = torch.arange(-(self.window_size[0] - 1), self.window_size[0], dtype=torch.float32)
        w = torch.arange(-(self.window_size[1] - 1), self.window_size[1], dtype=torch.float32)
        table = torch.stack(torch.meshgrid([h, w], indexing="ij")).permute(1, 2, 0).contiguous().unsqueeze(0)
        self.register_buffer("relative_coords_table", table)

    def get_relative_position_bias(self):
        bias = _get_relative_position_bias(self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads),
                                           self.relative_position_index, self.window_size)
        return 16 * torch.sigmoid(bias)

    def forward(self, x):
        return shifted_window_attention(x, self.qkv.weight, self.proj.weight, self.get_relative_position_bias(),
                                        self.window_size, self.num_heads, shift_size=self.shift_size,
                                        qkv_bias=self.qkv.bias, proj_bias=self.proj.bias,
                                        logit_scale=self.logit_scale, training=self.training)


class Permute(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return torch.permute(x, self.dims)


class SwinBlock(nn.Module):
    def __init__(self, dim, heads, window, shift, v2=False, qkv_bias=True):
        super().__init__()
        self.v2 = v2
        self.norm1 = nn.LayerNorm(dim)
        attn = ShiftedWindowAttentionV2 if v2 else ShiftedWindowAttention
        self.attn = attn(dim, [window, window], [shift, shift], heads, qkv_bias=qkv_bias)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(0.0), nn.Linear(4 * dim, dim),
                                 nn.Dropout(0.0))

    def forward(self, x):
        if self.v2:
            x = x + self.norm1(self.attn(x))
            return x + self.norm2(self.mlp(x))
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x):
        return self.reduction(self.norm(_patch_merging_pad(x)))


class SwinLike(nn.Module):
    """Swin with a V1 stage (windows, then shifted windows of 3), patch merging, a V2 stage."""

    def __init__(self, window=3):
        super().__init__()
        self.features = nn.Sequential(
            nn.Sequential(nn.Conv2d(3, 16, 2, stride=2), Permute([0, 2, 3, 1]), nn.LayerNorm(16)),
            nn.Sequential(SwinBlock(16, 2, window, 0), SwinBlock(16, 2, window, window // 2, qkv_bias=False)),
            PatchMerging(16),
            nn.Sequential(SwinBlock(32, 4, window, 0, v2=True), SwinBlock(32, 4, window, window // 2, v2=True)))
        self.norm = nn.LayerNorm(32)
        self.permute = Permute([0, 3, 1, 2])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.head = nn.Linear(32, 7)

    def forward(self, x):
        x = self.permute(self.norm(self.features(x)))
        return self.head(self.flatten(self.avgpool(x)))


# -- what cnncalc refuses, in one line

class CrossAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 2, stride=2)
        self.proj = nn.Linear(8, 8)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        x = self.conv(x).flatten(2).transpose(1, 2)
        return self.attn(x, self.proj(x), x)[0]


class SequenceFirst(nn.Module):
    """batch_first=False: the batch of 1 is read as a sequence of 1 (its MACs differ)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 2, stride=2)
        self.attn = nn.MultiheadAttention(8, 2)

    def forward(self, x):
        x = self.conv(x).flatten(2).transpose(1, 2)
        return self.attn(x, x, x)[0]


class SliceTokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 2, stride=2)

    def forward(self, x):
        return self.conv(x).flatten(2).transpose(1, 2)[:, 1:]


class AppendedToken(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 2, stride=2)
        self.token = nn.Parameter(torch.zeros(1, 1, 8))

    def forward(self, x):
        x = self.conv(x).flatten(2).transpose(1, 2)
        return torch.cat([x, self.token.expand(x.shape[0], -1, -1)], dim=1)


class ChannelBias(nn.Module):
    """x + b with b one value per channel broadcast over the positions: no cnncalc layer is that."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 2, stride=2)
        self.b = nn.Parameter(torch.zeros(8, 1, 1))

    def forward(self, x):
        return self.conv(x) + self.b


class RectWindow(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 2, stride=2)
        self.attn = ShiftedWindowAttention(8, [2, 3], [0, 0], 2)

    def forward(self, x):
        return self.attn(self.conv(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class WindowAttention(nn.Module):
    """Named like the exporter's helper, but not its structure (no bias table; an extra gate):
    traced like any module, never read by its name."""

    def __init__(self):
        super().__init__()
        self.heads, self.window, self.shift = 2, 2, 0
        self.qkv = nn.Linear(8, 24)
        self.proj = nn.Linear(8, 8)
        self.gate = nn.Parameter(torch.zeros(8))

    def forward(self, x):
        return x.transpose(2, 3) * 2


class NotTheHelper(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 2, stride=2)
        self.attn = WindowAttention()

    def forward(self, x):
        return self.attn(self.conv(x))


class SharedEmbedding(nn.Module):
    """One position embedding added twice: PyTorch counts it once; two position_bias layers would count
    it twice."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 2, stride=2)
        self.pos = nn.Parameter(torch.zeros(1, 6, 8))

    def forward(self, x):
        x = self.conv(x).flatten(2).transpose(1, 2) + self.pos
        return x + self.pos


class OtherBiasNet(ShiftedWindowAttentionV2):
    """Swin V2's attention with a bias on the bias network's last Linear: not what window_attention counts."""

    def __init__(self, *args):
        super().__init__(*args)
        self.cpb_mlp[2] = nn.Linear(64, self.num_heads, bias=True)


class OtherV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 2, stride=2)
        self.attn = OtherBiasNet(8, [2, 2], [0, 0], 2)

    def forward(self, x):
        return self.attn(self.conv(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def shared_embedding():
    return SharedEmbedding()


def other_v2():
    return OtherV2()


def vit_like():
    return ViTLike()


def vit_like_flatten():
    return ViTLike(image=24, patch=3, dim=16, heads=2, flatten=True)


def shuffle_like():
    return ShuffleLike()


def swin_like():
    return SwinLike()


def cross_attention():
    return CrossAttention()


def sequence_first():
    return SequenceFirst()


def slice_tokens():
    return SliceTokens()


def appended_token():
    return AppendedToken()


def channel_bias():
    return ChannelBias()


def rect_window():
    return RectWindow()


def not_the_helper():
    return NotTheHelper()
'''

NAME = "cnncalc_torch_vit_models_tmp"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    torch = pytest.importorskip("torch")
    with importable(tmp_path_factory, NAME, MODELS) as (module, folder):
        yield torch, module


def torch_figures(torch, make, shape):
    """PyTorch's own figures of the module ``make()`` builds on the meta device: params, floating
    buffers, MACs (FLOPs / 2), the output shape (H×W×C, L×C or N)."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = make().eval()
        x = torch.zeros((1, shape[2], shape[0], shape[1]) if len(shape) == 3 else (1,) + tuple(shape))
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            out = model(x)
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for n, b in model.named_buffers()
                  if b.is_floating_point() and not n.endswith("num_batches_tracked"))
    s = tuple(out.shape[1:])
    return params, buffers, counter.get_total_flops() // 2, (s[1], s[2], s[0]) if len(s) == 3 else s


def imported(source, size):
    r = run_cli("import", source, "--input", size)
    assert r.code == 0, r.err
    return r.out, analyze(parse_spec(r.out, "imported.yaml"))


def _size(text):
    return tuple(int(x) for x in text.split("x"))


@pytest.mark.parametrize("factory, size", [("vit_like", "16x16x3"), ("vit_like_flatten", "24x24x3"),
                                           ("shuffle_like", "32x32x3"), ("shuffle_like", "29x35x3"),
                                           ("swin_like", "12x12x3"), ("swin_like", "14x10x3")])
def test_import_equals_pytorch(models, factory, size):
    torch, mod = models
    params, buffers, macs, shape = torch_figures(torch, getattr(mod, factory), _size(size))
    _, rep = imported(f"torch:{NAME}:{factory}", size)
    assert (rep.totals.params, rep.totals.non_trainable_params, rep.totals.macs) == (params, buffers, macs)
    assert tuple(rep.layers[-1].output_shape) == shape


def test_vit_layers(models):
    text, rep = imported(f"torch:{NAME}:vit_like", "16x16x3")
    rows = {r.name: r for r in rep.layers}
    # 16/4 = 4×4 patches of 32: 16 tokens, 17 with the class token
    assert rows["tokens"].type == "to_tokens" and rows["tokens"].output_shape == (16, 32)
    assert rows["class_token"].type == "class_token" and rows["class_token"].params == 32
    assert rows["pos_embedding"].type == "position_bias" and rows["pos_embedding"].params == 17 * 32
    attn = rows["layers.0.self_attention"]
    # 4·C² + 4·C = 4·1024 + 128; 4·L·C² + 2·L²·C = 4·17·1024 + 2·289·32
    assert attn.type == "multihead_attention" and attn.params == 4224 and attn.macs == 69632 + 18496
    assert rows["layers.1.self_attention"].type == "multihead_attention"  # attention(x, x, x)[0]
    assert rows["select_token"].type == "select_token" and rows["select_token"].output_shape == (32,)
    assert "  - multihead_attention: {name: layers.0.self_attention, heads: 4}\n" in text
    assert "select_token: {name: select_token}" in text  # index 0, the default


def test_shufflenet_layers(models):
    text, rep = imported(f"torch:{NAME}:shuffle_like", "32x32x3")
    rows = {r.name: r for r in rep.layers}
    assert rows["stage2.0.channel_shuffle"].type == "channel_shuffle"
    assert "  - channel_shuffle: {name: stage2.1.channel_shuffle, groups: 2}\n" in text
    # 32 → conv /2 → 16 → maxpool /2 → 8 → stage2's first unit /2 → 4: a 4×4×24 map split in two
    assert rows["stage2.1.chunk"].type == "split" and rows["stage2.1.chunk"].output_shape == (4, 4, 24)
    assert "split: {name: stage2.1.chunk, parts: 2}" in text
    assert "  - conv: {name: stage2.1.branch2.0, filters: 12, kernel: 1, bias: false, from: stage2.1.chunk.1}\n" in text
    assert "split: {name: split, sizes: [16, 32]}" in text
    assert "from: [split.1, split.0]" in text


def test_swin_layers(models):
    text, rep = imported(f"torch:{NAME}:swin_like", "12x12x3")
    rows = {r.name: r for r in rep.layers}
    a0, a1 = rows["features.1.0.attn"], rows["features.1.1.attn"]
    assert a0.type == "window_attention" and a1.type == "window_attention"
    # V1, 16 channels, 2 heads, window 3: 4·16² + 16·4 biases + (2·3 − 1)²·2 = 1024 + 64 + 50
    assert a0.params == 1138 and a1.params == 1138 - 48  # the second without its QKV bias
    assert "window_attention: {name: features.1.1.attn, heads: 2, window: 3, shift: 1, qkv_bias: false}" in text
    v2 = rows["features.3.0.attn"]
    assert "window_attention: {name: features.3.0.attn, heads: 4, window: 3, version: 2, cpb_hidden: 64}" in text
    # V2 at 32 channels, 4 heads, hidden 64: 4·32² + 4·32 + (2·64 + 64·4) + 64 + 4 (logit scale) = 4676
    assert v2.params == 4096 + 128 + 384 + 64 + 4 and v2.non_trainable_params == 5 * 5 * 2
    assert rows["features.2._patch_merging_pad"].type == "space_to_depth"
    assert rows["features.2._patch_merging_pad"].output_shape == (3, 3, 64)



@pytest.mark.parametrize("factory, words", [
    ("cross_attention", "MultiheadAttention called with 2 tensors ('attn')"),
    ("sequence_first", "nn.MultiheadAttention with batch_first=False"),
    ("slice_tokens", "indexing x[:, 1:] (other than x[:, i], one token)"),
    ("appended_token", "cat with a parameter other than a class token (1×1×C) in front of the tokens"),
    ("channel_bias", "a sum with a parameter that is not one value per position"),
    ("rect_window", "shifted_window_attention with a window or shift that is not square"),
    ("shared_embedding", "parameter pos read by two layers (pos, pos_1)"),
    ("other_v2", "shifted_window_attention whose weights, bias table or logit scale are not those of Swin"),
    ("not_the_helper", "transpose (other than of C and L after flatten(2): tokens, a channel shuffle, or in "
                       "views that cut the map into MaxViT's blocks or grid) ('attn.transpose')"),
])
def test_refusals_are_one_line(models, factory, words):
    line = error_of("import", f"torch:{NAME}:{factory}", "--input", "4x6x3")
    assert words in line, line


# spec → cnncalc export --to pytorch → torch:file.py:Class → the spec's own figures (and the exported
# module's, as PyTorch counts them)
ROUND_TRIP = {"vit_b_16": None, "swin_t": "64x64x3", "swin_v2_t": "64x64x3", "maxvit_t": None,
              "shufflenet_v2_x1_0": "64x64x3", "convnext_tiny": "32x32x3", "alphago_policy": None,
              "keras_efficientnet_b0": "64x64x3", "keras_convnext_tiny": "32x32x3", "mobilenet_v2": "32x32x3"}


@pytest.mark.parametrize("name", sorted(ROUND_TRIP))
def test_exported_module_reads_back(tmp_path, name):
    torch = pytest.importorskip("torch")
    import importlib.util

    from cnncalc import load_spec

    size = ROUND_TRIP[name]
    sized = ("--input", size) if size else ()
    path = tmp_path / f"{name}_net.py"
    r = run_cli("export", name, "--to", "pytorch", "-o", str(path), *sized)
    assert r.code == 0, r.err
    spec = importlib.util.spec_from_file_location(f"{name}_net", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls = [v for v in vars(module).values()
           if isinstance(v, type) and issubclass(v, torch.nn.Module) and v.__module__ == module.__name__][-1]
    shape = _size(size) if size else tuple(load_spec(name).input_shape)
    text = "x".join(map(str, shape))
    r = run_cli(f"torch:{path}:{cls.__name__}", "--input", text, "--format", "json")
    assert r.code == 0, r.err
    got = json.loads(r.out)
    want = json.loads(run_cli(name, *sized, "--format", "json").out)
    keys = ("params", "weights", "biases", "non_trainable_params", "macs")
    assert {k: got["totals"][k] for k in keys} == {k: want["totals"][k] for k in keys}
    assert got["output_shape"] == want["output_shape"]
    params, buffers, macs, out = torch_figures(torch, cls, shape)
    assert (got["totals"]["params"], got["totals"]["non_trainable_params"], got["totals"]["macs"]) == \
        (params, buffers, macs)
    assert tuple(got["output_shape"]) == out
    # the helper modules were read whole, each as the spec's layer of the same name
    helpers = {"window_attention", "partition_attention", "multihead_attention", "class_token", "position_bias",
               "channel_shuffle", "split", "layer_scale", "normalization"}
    from cnncalc.export.pytorch import attribute_names

    attr = attribute_names(load_spec(name))
    rows = {row["name"]: row for row in got["layers"]}
    for row in want["layers"]:
        if row["type"] in helpers and row["type"] != "split":
            twin = rows[attr[row["name"]]]
            assert (twin["type"], twin["params"], twin["macs"]) == (row["type"], row["params"], row["macs"])
