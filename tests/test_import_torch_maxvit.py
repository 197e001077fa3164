"""``cnncalc import torch:…`` of MaxViT: torchvision's WindowPartition (a 6-D reshape and a
permute), SwapAxes, WindowDepartition and RelativePositionalMultiHeadAttention read as
``partition_attention`` (block or grid) with the LayerNorms, MLP and adds around it on the map,
as specs/maxvit_t.yaml writes it. torchvision is not installed beside torch 2.13: the model is
written here after torchvision 0.29's models/maxvit.py (and the ops it uses: Conv2dNormActivation,
SqueezeExcitation, the torch.fx.wrap'd stochastic_depth), small. Every expected figure is PyTorch
2.13's own on the meta device (parameters(), floating buffers, FlopCounterMode MACs = FLOPs / 2,
the output shape) or hand arithmetic written below."""

from __future__ import annotations


import pytest

from cnncalc import analyze
from cnncalc.load import parse_spec

from .conftest import error_of, importable, run_cli

MODELS = '''
import math
from collections import OrderedDict
from functools import partial

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn


def stochastic_depth(input, p: float, mode: str, training: bool = True):
    """torchvision.ops.stochastic_depth (torch.fx.wrap'd there too)."""
    if not training or p == 0.0:
        return input
    survival_rate = 1.0 - p
    size = [input.shape[0]] + [1] * (input.ndim - 1) if mode == "row" else [1] * input.ndim
    noise = torch.empty(size, dtype=input.dtype, device=input.device).bernoulli_(survival_rate)
    return input * noise.div_(survival_rate)


torch.fx.wrap("stochastic_depth")


class StochasticDepth(nn.Module):
    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, input):
        return stochastic_depth(input, self.p, self.mode, self.training)


class Conv2dNormActivation(nn.Sequential):
    def __init__(self, cin, cout, kernel_size=3, stride=1, padding=None, groups=1, norm_layer=nn.BatchNorm2d,
                 activation_layer=nn.ReLU, bias=None, inplace=True):
        if padding is None:
            padding = (kernel_size - 1) // 2
        if bias is None:
            bias = norm_layer is None
        layers = [nn.Conv2d(cin, cout, kernel_size, stride, padding, groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(cout))
        if activation_layer is not None:
            layers.append(activation_layer() if inplace is None else activation_layer(inplace=inplace))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    def __init__(self, input_channels, squeeze_channels, activation=nn.ReLU, scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, input):
        scale = self.avgpool(input)
        scale = self.fc1(scale)
        scale = self.activation(scale)
        scale = self.fc2(scale)
        return self.scale_activation(scale)

    def forward(self, input):
        scale = self._scale(input)
        return scale * input


def _get_conv_output_shape(input_size, kernel_size, stride, padding):
    return ((input_size[0] - kernel_size + 2 * padding) // stride + 1,
            (input_size[1] - kernel_size + 2 * padding) // stride + 1)


def _get_relative_position_index(height, width):
    coords = torch.stack(torch.meshgrid([torch.arange(height), torch.arange(width)], indexing="ij"))
    coords_flat = torch.flatten(coords, 1)
    relative_coords = coords_flat[:, :, None] - coords_flat[:, None, :]
    relative_coords = relative_coords.permute(1, 2, 0).contiguous()
    relative_coords[:, :, 0] += height - 1
    relative_coords[:, :, 1] += width - 1
    relative_coords[:, :, 0] *= 2 * width - 1
    return relative_coords.sum(-1)


class MBConv(nn.Module):
    def __init__(self, in_channels, out_channels, expansion_ratio, squeeze_ratio, stride, activation_layer,
                 norm_layer, p_stochastic_dropout=0.0):
        super().__init__()
        should_proj = stride != 1 or in_channels != out_channels
        if should_proj:
            proj = [nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, bias=True)]
            if stride == 2:
                proj = [nn.AvgPool2d(kernel_size=3, stride=stride, padding=1)] + proj
            self.proj = nn.Sequential(*proj)
        else:
            self.proj = nn.Identity()
        mid_channels = int(out_channels * expansion_ratio)
        sqz_channels = int(out_channels * squeeze_ratio)
        if p_stochastic_dropout:
            self.stochastic_depth = StochasticDepth(p_stochastic_dropout, mode="row")
        else:
            self.stochastic_depth = nn.Identity()
        _layers = OrderedDict()
        _layers["pre_norm"] = norm_layer(in_channels)
        _layers["conv_a"] = Conv2dNormActivation(in_channels, mid_channels, kernel_size=1, stride=1, padding=0,
                                                 activation_layer=activation_layer, norm_layer=norm_layer,
                                                 inplace=None)
        _layers["conv_b"] = Conv2dNormActivation(mid_channels, mid_channels, kernel_size=3, stride=stride,
                                                 padding=1, activation_layer=activation_layer,
                                                 norm_layer=norm_layer, groups=mid_channels, inplace=None)
        _layers["squeeze_excitation"] = SqueezeExcitation(mid_channels, sqz_channels, activation=nn.SiLU)
        _layers["conv_c"] = nn.Conv2d(in_channels=mid_channels, out_channels=out_channels, kernel_size=1,
                                      bias=True)
        self.layers = nn.Sequential(_layers)

    def forward(self, x):
        res = self.proj(x)
        x = self.stochastic_depth(self.layers(x))
        return res + x


class RelativePositionalMultiHeadAttention(nn.Module):
    def __init__(self, feat_dim, head_dim, max_seq_len):
        super().__init__()
        self.n_heads = feat_dim // head_dim
        self.head_dim = head_dim
        self.size = int(math.sqrt(max_seq_len))
        self.max_seq_len = max_seq_len
        self.to_qkv = nn.Linear(feat_dim, self.n_heads * self.head_dim * 3)
        self.scale_factor = feat_dim**-0.5
        self.merge = nn.Linear(self.head_dim * self.n_heads, feat_dim)
        self.relative_position_bias_table = nn.parameter.Parameter(
            torch.empty(((2 * self.size - 1) * (2 * self.size - 1), self.n_heads), dtype=torch.float32))
        self.register_buffer("relative_position_index", _get_relative_position_index(self.size, self.size))

    def get_relative_positional_bias(self):
        bias_index = self.relative_position_index.view(-1)
        relative_bias = self.relative_position_bias_table[bias_index].view(self.max_seq_len, self.max_seq_len, -1)
        relative_bias = relative_bias.permute(2, 0, 1).contiguous()
        return relative_bias.unsqueeze(0)

    def forward(self, x):
        B, G, P, D = x.shape
        H, DH = self.n_heads, self.head_dim
        qkv = self.to_qkv(x)
        q, k, v = torch.chunk(qkv, 3, dim=-1)
        q = q.reshape(B, G, P, H, DH).permute(0, 1, 3, 2, 4)
        k = k.reshape(B, G, P, H, DH).permute(0, 1, 3, 2, 4)
        v = v.reshape(B, G, P, H, DH).permute(0, 1, 3, 2, 4)
        k = k * self.scale_factor
        dot_prod = torch.einsum("B G H I D, B G H J D -> B G H I J", q, k)
        pos_bias = self.get_relative_positional_bias()
        dot_prod = F.softmax(dot_prod + pos_bias, dim=-1)
        out = torch.einsum("B G H I J, B G H J D -> B G H I D", dot_prod, v)
        out = out.permute(0, 1, 3, 2, 4).reshape(B, G, P, D)
        out = self.merge(out)
        return out


class SwapAxes(nn.Module):
    def __init__(self, a, b):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x):
        return torch.swapaxes(x, self.a, self.b)


class WindowPartition(nn.Module):
    def forward(self, x, p: int):
        B, C, H, W = x.shape
        P = p
        x = x.reshape(B, C, H // P, P, W // P, P)
        x = x.permute(0, 2, 4, 3, 5, 1)
        x = x.reshape(B, (H // P) * (W // P), P * P, C)
        return x


class WindowDepartition(nn.Module):
    def forward(self, x, p: int, h_partitions: int, w_partitions: int):
        B, G, PP, C = x.shape
        P = p
        HP, WP = h_partitions, w_partitions
        x = x.reshape(B, HP, WP, P, P, C)
        x = x.permute(0, 5, 1, 3, 2, 4)
        x = x.reshape(B, C, HP * P, WP * P)
        return x


class PartitionAttentionLayer(nn.Module):
    def __init__(self, in_channels, head_dim, partition_size, partition_type, grid_size, mlp_ratio,
                 activation_layer, norm_layer, attention_dropout, mlp_dropout, p_stochastic_dropout,
                 attention=RelativePositionalMultiHeadAttention):
        super().__init__()
        self.n_heads = in_channels // head_dim
        self.head_dim = head_dim
        self.n_partitions = grid_size[0] // partition_size
        self.partition_type = partition_type
        self.grid_size = grid_size
        if partition_type == "window":
            self.p, self.g = partition_size, self.n_partitions
        else:
            self.p, self.g = self.n_partitions, partition_size
        self.partition_op = WindowPartition()
        self.departition_op = WindowDepartition()
        self.partition_swap = SwapAxes(-2, -3) if partition_type == "grid" else nn.Identity()
        self.departition_swap = SwapAxes(-2, -3) if partition_type == "grid" else nn.Identity()
        self.attn_layer = nn.Sequential(norm_layer(in_channels), attention(in_channels, head_dim, partition_size**2),
                                        nn.Dropout(attention_dropout))
        self.mlp_layer = nn.Sequential(nn.LayerNorm(in_channels), nn.Linear(in_channels, in_channels * mlp_ratio),
                                       activation_layer(), nn.Linear(in_channels * mlp_ratio, in_channels),
                                       nn.Dropout(mlp_dropout))
        self.stochastic_dropout = StochasticDepth(p_stochastic_dropout, mode="row")

    def forward(self, x):
        gh, gw = self.grid_size[0] // self.p, self.grid_size[1] // self.p
        torch._assert(self.grid_size[0] % self.p == 0 and self.grid_size[1] % self.p == 0, "divisible")
        x = self.partition_op(x, self.p)
        x = self.partition_swap(x)
        x = x + self.stochastic_dropout(self.attn_layer(x))
        x = x + self.stochastic_dropout(self.mlp_layer(x))
        x = self.departition_swap(x)
        x = self.departition_op(x, self.p, gh, gw)
        return x


class MaxVitLayer(nn.Module):
    def __init__(self, in_channels, out_channels, squeeze_ratio, expansion_ratio, stride, norm_layer,
                 activation_layer, head_dim, mlp_ratio, mlp_dropout, attention_dropout, p_stochastic_dropout,
                 partition_size, grid_size, **kw):
        super().__init__()
        layers = OrderedDict()
        layers["MBconv"] = MBConv(in_channels=in_channels, out_channels=out_channels, expansion_ratio=expansion_ratio,
                                  squeeze_ratio=squeeze_ratio, stride=stride, activation_layer=activation_layer,
                                  norm_layer=norm_layer, p_stochastic_dropout=p_stochastic_dropout)
        for name, kind in (("window_attention", "window"), ("grid_attention", "grid")):
            layers[name] = PartitionAttentionLayer(
                in_channels=out_channels, head_dim=head_dim, partition_size=partition_size, partition_type=kind,
                grid_size=grid_size, mlp_ratio=mlp_ratio, activation_layer=activation_layer,
                norm_layer=nn.LayerNorm, attention_dropout=attention_dropout, mlp_dropout=mlp_dropout,
                p_stochastic_dropout=p_stochastic_dropout, **kw)
        self.layers = nn.Sequential(layers)

    def forward(self, x):
        return self.layers(x)


class MaxVitBlock(nn.Module):
    def __init__(self, in_channels, out_channels, squeeze_ratio, expansion_ratio, norm_layer, activation_layer,
                 head_dim, mlp_ratio, mlp_dropout, attention_dropout, partition_size, input_grid_size, n_layers,
                 p_stochastic, **kw):
        super().__init__()
        self.layers = nn.ModuleList()
        self.grid_size = _get_conv_output_shape(input_grid_size, kernel_size=3, stride=2, padding=1)
        for idx, p in enumerate(p_stochastic):
            stride = 2 if idx == 0 else 1
            self.layers += [MaxVitLayer(in_channels=in_channels if idx == 0 else out_channels,
                                        out_channels=out_channels, squeeze_ratio=squeeze_ratio,
                                        expansion_ratio=expansion_ratio, stride=stride, norm_layer=norm_layer,
                                        activation_layer=activation_layer, head_dim=head_dim, mlp_ratio=mlp_ratio,
                                        mlp_dropout=mlp_dropout, attention_dropout=attention_dropout,
                                        partition_size=partition_size, grid_size=self.grid_size,
                                        p_stochastic_dropout=p, **kw)]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class MaxVitLike(nn.Module):
    """torchvision's MaxVit, small: 32×32 input, stem 8, blocks of 2 and 1 layers of 8 and 16
    channels, head dimension 4, partition 2 (block 1: an 8×8 map, grid stride 4; block 2: 4×4)."""

    def __init__(self, input_size=(32, 32), stem_channels=8, partition_size=2, block_channels=(8, 16),
                 block_layers=(2, 1), head_dim=4, stochastic_depth_prob=0.2, squeeze_ratio=0.25, expansion_ratio=4,
                 mlp_ratio=4, num_classes=10, **kw):
        super().__init__()
        norm_layer = partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01)
        activation_layer = nn.GELU
        self.stem = nn.Sequential(
            Conv2dNormActivation(3, stem_channels, 3, stride=2, norm_layer=norm_layer,
                                 activation_layer=activation_layer, bias=False, inplace=None),
            Conv2dNormActivation(stem_channels, stem_channels, 3, stride=1, norm_layer=None, activation_layer=None,
                                 bias=True))
        input_size = _get_conv_output_shape(input_size, kernel_size=3, stride=2, padding=1)
        self.blocks = nn.ModuleList()
        in_channels = [stem_channels] + list(block_channels[:-1])
        n = sum(block_layers)
        p_stochastic = [stochastic_depth_prob * i / (n - 1) for i in range(n)]
        p_idx = 0
        for cin, cout, layers in zip(in_channels, block_channels, block_layers):
            self.blocks.append(MaxVitBlock(in_channels=cin, out_channels=cout, squeeze_ratio=squeeze_ratio,
                                           expansion_ratio=expansion_ratio, norm_layer=norm_layer,
                                           activation_layer=activation_layer, head_dim=head_dim, mlp_ratio=mlp_ratio,
                                           mlp_dropout=0.0, attention_dropout=0.0, partition_size=partition_size,
                                           input_grid_size=input_size, n_layers=layers,
                                           p_stochastic=p_stochastic[p_idx:p_idx + layers], **kw))
            input_size = self.blocks[-1].grid_size
            p_idx += layers
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(block_channels[-1]),
                                        nn.Linear(block_channels[-1], block_channels[-1]), nn.Tanh(),
                                        nn.Linear(block_channels[-1], num_classes, bias=False))

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.classifier(x)


class RenamedAttention(RelativePositionalMultiHeadAttention):
    """The same structure and forward under another class name: read alike (never by the name)."""


class NoSoftmax(RelativePositionalMultiHeadAttention):
    """torchvision's parameters and buffer, but no softmax: not MaxViT's attention."""

    def forward(self, x):
        B, G, P, D = x.shape
        q, k, v = torch.chunk(self.to_qkv(x), 3, dim=-1)
        q = q.reshape(B, G, P, self.n_heads, self.head_dim).permute(0, 1, 3, 2, 4)
        k = k.reshape(B, G, P, self.n_heads, self.head_dim).permute(0, 1, 3, 2, 4)
        v = v.reshape(B, G, P, self.n_heads, self.head_dim).permute(0, 1, 3, 2, 4)
        a = torch.einsum("B G H I D, B G H J D -> B G H I J", q, k) + self.get_relative_positional_bias()
        out = torch.einsum("B G H I J, B G H J D -> B G H I D", a, v)
        return self.merge(out.permute(0, 1, 3, 2, 4).reshape(B, G, P, D))


class ColumnMajorPartition(nn.Module):
    """Blocks whose positions are in column-major order (not the order the bias index assumes)."""

    def forward(self, x, p: int):
        B, C, H, W = x.shape
        x = x.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 5, 3, 1)
        return x.reshape(B, (H // p) * (W // p), p * p, C)


class ColumnMajor(MaxVitLike):
    def __init__(self):
        super().__init__()
        for block in self.blocks:
            for layer in block.layers:
                layer.layers.window_attention.partition_op = ColumnMajorPartition()


class OnRows(nn.Module):
    """The attention on a channels-last map N×H×W×C (H groups of the W positions of a row)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.attn = RelativePositionalMultiHeadAttention(8, 4, 4)

    def forward(self, x):
        return self.attn(self.conv(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class Mixed(nn.Module):
    """A block partition added to a grid partition of the same shape."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.block = WindowPartition()
        self.grid = WindowPartition()
        self.swap = SwapAxes(-2, -3)
        self.back = WindowDepartition()

    def forward(self, x):
        x = self.conv(x)
        y = self.block(x, 2) + self.swap(self.grid(x, 2))
        return self.back(y, 2, 2, 2)


class EndsPartitioned(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.part = WindowPartition()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(self.part(self.conv(x), 2))


def maxvit_like():
    return MaxVitLike()


def renamed():
    return MaxVitLike(attention=RenamedAttention)


def no_softmax():
    return MaxVitLike(attention=NoSoftmax)


def column_major():
    return ColumnMajor()


def on_rows():
    return OnRows()


def mixed():
    return Mixed()


def ends_partitioned():
    return EndsPartitioned()
'''

NAME = "cnncalc_torch_maxvit_models_tmp"

# specs/maxvit_t.yaml's blocks, sized as MaxVitLike (head dimension 4, partition 2)
SPEC = """name: maxvit_like
input: [32, 32, 3]
blocks:
  partition_layer:
    params: {dim: null, partition: block}
    layers:
      - layernorm: {name: norm1}
      - partition_attention: {name: attn, heads: "${dim // 4}", size: 2, partition: $partition}
      - stochastic_depth: {name: drop1}
      - add: {name: add1, from: [drop1, in]}
      - layernorm: {name: norm2}
      - dense: {name: mlp.1, units: "${4 * dim}"}
      - gelu: {name: mlp.2}
      - dense: {name: mlp.3, units: $dim}
      - stochastic_depth: {name: drop2}
      - add: {name: add2, from: [drop2, add1]}
  maxvit_layer:
    params: {cin: null, cout: null, stride: 1}
    layers:
      - avgpool: {name: proj_pool, kernel: 3, stride: 2, padding: 1, from: in, if: "${stride == 2}"}
      - conv: {name: proj, filters: $cout, kernel: 1, if: "${stride == 2 or cin != cout}"}
      - bn: {name: pre_norm, from: in}
      - conv: {name: conv_a, filters: "${4 * cout}", kernel: 1, bias: false}
      - bn: {name: conv_a_bn}
      - gelu: {name: conv_a_gelu}
      - conv: {name: conv_b, filters: "${4 * cout}", groups: "${4 * cout}", kernel: 3, stride: $stride, padding: 1,
               bias: false}
      - bn: {name: conv_b_bn}
      - gelu: {name: conv_b_gelu}
      - adaptive_avgpool: {name: se_pool, size: 1}
      - conv: {name: se_fc1, filters: "${cout // 4}", kernel: 1}
      - silu: {name: se_silu}
      - conv: {name: se_fc2, filters: "${4 * cout}", kernel: 1}
      - sigmoid: {name: se_gate}
      - multiply: {name: se_scale, from: [se_gate, conv_b_gelu]}
      - conv: {name: conv_c, filters: $cout, kernel: 1}
      - stochastic_depth: {name: drop}
      - add: {name: mbconv, from: [drop, proj]}
      - partition_layer: {name: window, dim: $cout, partition: block}
      - partition_layer: {name: grid, dim: $cout, partition: grid}
layers:
  - conv: {name: stem.0, filters: 8, kernel: 3, stride: 2, padding: 1, bias: false}
  - bn: {name: stem.0.bn}
  - gelu: {name: stem.0.gelu}
  - conv: {name: stem.1, filters: 8, kernel: 3, padding: 1}
  - maxvit_layer: {name: block1, cin: 8, cout: 8, repeat: 2, first: {stride: 2}}
  - maxvit_layer: {name: block2, cin: 8, cout: 16, stride: 2}
  - adaptive_avgpool: {name: classifier.0, size: 1}
  - flatten: {name: classifier.1}
  - layernorm: {name: classifier.2}
  - dense: {name: classifier.3, units: 16}
  - tanh: {name: classifier.4}
  - dense: {name: classifier.5, units: 10, bias: false}
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    torch = pytest.importorskip("torch")
    with importable(tmp_path_factory, NAME, MODELS) as (module, folder):
        yield torch, module, folder


def torch_figures(torch, make, shape):
    """PyTorch's own figures on the meta device: params, floating buffers, MACs, output shape."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = make().eval()
        x = torch.zeros((1, shape[2], shape[0], shape[1]))
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            out = model(x)
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for n, b in model.named_buffers()
                  if b.is_floating_point() and not n.endswith("num_batches_tracked"))
    return params, buffers, counter.get_total_flops() // 2, tuple(out.shape[1:])


def imported(source, size="32x32x3"):
    r = run_cli("import", source, "--input", size)
    assert r.code == 0, r.err
    return r.out, analyze(parse_spec(r.out, "imported.yaml"))


@pytest.mark.parametrize("factory", ["maxvit_like", "renamed"])
def test_import_equals_pytorch(models, factory):
    torch, mod, _ = models
    params, buffers, macs, shape = torch_figures(torch, getattr(mod, factory), (32, 32, 3))
    _, rep = imported(f"torch:{NAME}:{factory}")
    assert (rep.totals.params, rep.totals.non_trainable_params, rep.totals.macs) == (params, buffers, macs)
    assert tuple(rep.layers[-1].output_shape) == shape == (10,)


def test_partitions_read(models):
    text, rep = imported(f"torch:{NAME}:maxvit_like")
    rows = {r.name: r for r in rep.layers}
    attn = {name: r for name, r in rows.items() if r.type == "partition_attention"}
    # 2 + 1 MaxViT layers, each a block and a grid attention; nothing else of the views is a layer
    assert len(attn) == 6
    assert not any(r.type in ("reshape", "flatten", "to_tokens") for r in rep.layers
                   if not r.name.startswith("classifier"))
    w0 = rows["blocks.0.layers.0.layers.window_attention.attn_layer.1"]
    g0 = rows["blocks.0.layers.0.layers.grid_attention.attn_layer.1"]
    # block 1 on 32 → 16 (stem) → 8 (its first stride): an 8×8×8 map, 2 heads of 4, partition 2.
    # params 4·8² + 4·8 + (2·2 − 1)²·2 = 256 + 32 + 18; MACs 4·64·8² + 2·64·2²·8 = 16384 + 4096
    assert (w0.params, w0.macs, w0.output_shape) == (306, 20480, (8, 8, 8))
    assert (g0.params, g0.macs) == (306, 20480)
    p = "partition_attention: {name: blocks.0.layers.0.layers.%s_attention.attn_layer.1, heads: 2, size: 2%s}\n"
    assert p % ("window", "") in text and p % ("grid", ", partition: grid") in text
    # block 2: 4×4×16, 4 heads; the window partition has 2 groups a side, the grid partition too
    w1 = rows["blocks.1.layers.0.layers.grid_attention.attn_layer.1"]
    assert (w1.params, w1.output_shape) == (4 * 256 + 4 * 16 + 9 * 4, (4, 4, 16))
    # the LayerNorms and the MLP act on the map, per position
    assert rows["blocks.0.layers.0.layers.window_attention.mlp_layer.1"].output_shape == (8, 8, 32)


def test_check_against_the_spec(models, tmp_path):
    _, _, d = models
    spec = tmp_path / "maxvit_like.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    r = run_cli("check", str(spec), "--against", f"torch:{NAME}:maxvit_like")
    assert r.code == 0, r.out + r.err
    assert "all hold" in r.out



@pytest.mark.parametrize("factory, size, words", [
    # its parameters are torchvision's, its forward not attention: traced through, refused node by node
    ("no_softmax", "32x32x3", "chunk on a map partitioned into groups of positions (MaxViT's blocks or grid)"),
    ("column_major", "32x32x3", "reshape to a shape other than N×D (or in views that cut the map into MaxViT's "
                                "blocks or grid) ('blocks.0.layers.0.layers.window_attention.partition_op.reshape')"),
    ("on_rows", "4x4x3", "relative-position attention (MaxViT's) not on a map partitioned into blocks or a grid "
                         "('attn')"),
    ("mixed", "4x4x3", "an operation on tensors in different layouts"),
])
def test_refusals_are_one_line(models, factory, size, words):
    line = error_of("import", f"torch:{NAME}:{factory}", "--input", size)
    assert words in line, line


def test_output_partitioned_is_refused(models):
    line = error_of("import", f"torch:{NAME}:ends_partitioned", "--input", "4x4x3")
    assert "is a map cut into groups of positions (N×G×P×C)" in line, line


def test_partition_kinds_by_hand():
    torch = pytest.importorskip("torch")
    from cnncalc.importers.torch_partition import partition_kind

    # a 4×4 map, positions h·4 + w; S = 2: blocks of neighbours, or the grid of stride 4/2 = 2
    blocks = [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]
    grid = [[0, 2, 8, 10], [1, 3, 9, 11], [4, 6, 12, 14], [5, 7, 13, 15]]
    assert partition_kind(torch, torch.tensor(blocks), 4, 4) == ("block", 2)
    assert partition_kind(torch, torch.tensor(grid[::-1]), 4, 4) == ("grid", 2)  # any order of the groups
    assert partition_kind(torch, torch.tensor([[0, 4, 1, 5]] + blocks[1:]), 4, 4) is None  # column-major
    assert partition_kind(torch, torch.tensor([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]),
                          4, 4) is None  # rows
    # 6×4, S = 2: the grid groups positions 3 rows and 2 columns apart
    six = partition_kind(torch, torch.tensor([[r * 4 + c, r * 4 + c + 2, (r + 3) * 4 + c, (r + 3) * 4 + c + 2]
                                              for r in range(3) for c in range(2)]), 6, 4)
    assert six == ("grid", 2)
