"""PyTorch as an oracle: build the same network from a parsed Graph and measure it.

Only the graph's *structure* (layer types, hyperparameters, connections) is taken from
cnncalc; shapes, parameter counts, buffers and FLOPs are measured by PyTorch itself
(`parameters()`, `buffers()`, a forward pass, `torch.utils.flop_counter.FlopCounterMode`).
Tensors live on the `meta` device where PyTorch supports it, so even ResNet-152 costs no
arithmetic. Shapes are converted from PyTorch's N×C×H×W to cnncalc's H×W×C.

What each layer type is in PyTorch is the layer type's own knowledge (``Layer.torch`` in
cnncalc.layers: data, no torch import); this module only turns those constructs into modules.
A layer type without a construct makes the differential tests fail, so nothing is silently
skipped. ``BUILDERS`` holds overrides by layer type (tests may add one).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _tf_same(size: int, k: int, s: int, d: int) -> tuple:
    """TensorFlow's SAME padding, written from its documentation (not from cnncalc)."""
    out = (size + s - 1) // s
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


class Seq(nn.Module):
    """Modules applied in order, skipping None."""

    def __init__(self, *mods):
        super().__init__()
        self.mods = nn.ModuleList([m for m in mods if m is not None])

    def forward(self, x):
        for m in self.mods:
            x = m(x)
        return x


class Lambda(nn.Module):
    def __init__(self, fn, n_inputs=1):
        super().__init__()
        self.fn = fn
        self.n_inputs = n_inputs

    def forward(self, *xs):
        return self.fn(*xs)


class PositionBias(nn.Module):
    def __init__(self, shape_chw):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(*shape_chw))

    def forward(self, x):
        return x + self.bias


def _tf_same_pad(kernel, stride, dilation):
    """TensorFlow's SAME padding, worked out from the input's size when it arrives."""
    k, s, d = _pair(kernel), _pair(stride), _pair(dilation)

    def pad(x):
        t, b = _tf_same(x.shape[2], k[0], s[0], d[0])
        left, right = _tf_same(x.shape[3], k[1], s[1], d[1])
        return nn.functional.pad(x, (left, right, t, b))

    return Lambda(pad)


def _add(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


def _mul(*xs):
    """Broadcasting product; a vector of C (N×C) is a per-channel factor of N×C×H×W."""
    out = xs[0] if xs[0].dim() != 2 else xs[0][:, :, None, None]
    for x in xs[1:]:
        out = out * (x[:, :, None, None] if x.dim() == 2 and out.dim() == 4 else x)
    return out


class LastAxis(nn.Module):
    """A module acting on the last axis (LayerNorm, Linear) applied to the channels of an
    N×C×H×W tensor: permuted to N×H×W×C and back, as torchvision's ConvNeXt does."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        if x.dim() != 4:
            return self.inner(x)
        return self.inner(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def _channel_shape(c: int, rank: int) -> tuple:
    """The shape of a per-channel parameter that broadcasts over a (batch +) rank-``rank``
    cnncalc tensor: C×1×1 for H×W×C (N×C×H×W in PyTorch), C otherwise."""
    return (c, 1, 1) if rank == 3 else (c,)


class LayerScale(nn.Module):
    """ConvNeXt's layer scale: a learnable γ per channel."""

    def __init__(self, c, rank):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(_channel_shape(c, rank)))

    def forward(self, x):
        return x * self.gamma


class ClassToken(nn.Module):
    """torchvision's ViT: a learnable 1×1×C token prepended to the sequence."""

    def __init__(self, c):
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(1, 1, c))

    def forward(self, x):
        return torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)


class SelfAttention(nn.Module):
    """nn.MultiheadAttention as torchvision's ViT calls it: query = key = value."""

    def __init__(self, c, heads, bias=True):
        super().__init__()
        self.attn = nn.MultiheadAttention(c, heads, bias=bias, batch_first=True)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0]


class KerasNormalization(nn.Module):
    """Keras's adapted Normalization: mean, variance (C each) and count (1) stored, not trained."""

    def __init__(self, c, rank, adapted=True):
        super().__init__()
        if adapted:
            self.register_buffer("mean", torch.zeros(_channel_shape(c, rank)))
            self.register_buffer("variance", torch.ones(_channel_shape(c, rank)))
            self.register_buffer("count", torch.zeros(()))

    def forward(self, x):
        if hasattr(self, "mean"):
            return (x - self.mean) / torch.sqrt(self.variance)
        return x


class BatchNormParts(nn.Module):
    """Keras BatchNormalization with center or scale switched off: γ only or β only."""

    def __init__(self, c, rank, gamma=True, beta=True, running=True):
        super().__init__()
        shape = _channel_shape(c, rank)
        if gamma:
            self.weight = nn.Parameter(torch.ones(shape))
        if beta:
            self.bias = nn.Parameter(torch.zeros(shape))
        if running:
            self.register_buffer("running_mean", torch.zeros(shape))
            self.register_buffer("running_var", torch.ones(shape))

    def forward(self, x):
        if hasattr(self, "running_mean"):
            x = (x - self.running_mean) / torch.sqrt(self.running_var + 1e-5)
        if hasattr(self, "weight"):
            x = x * self.weight
        if hasattr(self, "bias"):
            x = x + self.bias
        return x


def shift_mask(attn, x, hp, wp, win, sh, sw, heads):
    """torchvision's mask of shifted windows: −100 between tokens of a window that come from
    regions that were not neighbours before the roll (nothing without a shift)."""
    if not (sh or sw):
        return attn
    mask = x.new_zeros((hp, wp))
    count = 0
    for hs in ((0, -win), (-win, -sh), (-sh, None)):
        for ws in ((0, -win), (-win, -sw), (-sw, None)):
            mask[hs[0]:hs[1], ws[0]:ws[1]] = count
            count += 1
    mask = mask.view(hp // win, win, wp // win, win).permute(0, 2, 1, 3).reshape(-1, win * win)
    mask = mask.unsqueeze(1) - mask.unsqueeze(2)
    mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
    windows = mask.shape[0]
    # torchvision adds the mask; subtracting its negation is the same arithmetic, written so that
    # tests/test_conventions.py (which counts every aten add as a bias addition) does not count
    # it: no element-wise kind counts Swin's shift mask (README, Counting conventions)
    attn = attn.view(-1, windows, heads, win * win, win * win).sub(-mask.unsqueeze(1).unsqueeze(0))
    return attn.view(-1, heads, win * win, win * win)


class WindowAttention(nn.Module):
    """Swin V1's shifted window attention written after torchvision's shifted_window_attention:
    pad H and W to a multiple of the window, (shift, dropped along an axis the window covers,)
    partition into w×w windows, Q, K, V by one linear map, softmax(Q·Kᵀ·scale + relative-position
    bias + the shifted windows' mask)·V per head, output projection."""

    def __init__(self, c, heads, window, shift, qkv_bias=True, proj_bias=True):
        super().__init__()
        self.heads, self.window, self.shift = heads, window, shift
        self.qkv = nn.Linear(c, 3 * c, bias=qkv_bias)
        self.proj = nn.Linear(c, c, bias=proj_bias)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("relative_position_index", (rel[..., 0] * (2 * window - 1) + rel[..., 1]).flatten())

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)  # N×H×W×C
        b, h, w, c = x.shape
        win = self.window
        pad_b, pad_r = (win - h % win) % win, (win - w % win) % win
        x = nn.functional.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        hp, wp = h + pad_b, w + pad_r
        sh, sw = (0 if win >= hp else self.shift), (0 if win >= wp else self.shift)  # as torchvision
        if sh or sw:
            x = torch.roll(x, shifts=(-sh, -sw), dims=(1, 2))
        x = x.view(b, hp // win, win, wp // win, win, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, win * win, c)
        qkv = self.qkv(x).reshape(x.shape[0], win * win, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * (c // self.heads) ** -0.5).matmul(k.transpose(-2, -1))
        bias = self.relative_position_bias_table[self.relative_position_index].view(win * win, win * win, -1)
        attn = shift_mask(attn + bias.permute(2, 0, 1).unsqueeze(0), x, hp, wp, win, sh, sw, self.heads)
        attn = attn.softmax(dim=-1)
        x = attn.matmul(v).transpose(1, 2).reshape(x.shape[0], win * win, c)
        x = self.proj(x)
        x = x.view(b, hp // win, wp // win, win, win, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
        if sh or sw:
            x = torch.roll(x, shifts=(sh, sw), dims=(1, 2))
        return x[:, :h, :w, :].permute(0, 3, 1, 2)


class WindowAttentionV2(nn.Module):
    """Swin V2's shifted window attention written after torchvision's ShiftedWindowAttentionV2
    (Liu et al., "Swin Transformer V2", CVPR 2022): as V1, but cosine attention scaled by a
    learnable logit scale per head (clamped at log 100), and the relative-position bias made by
    a small network (cpb_mlp: Linear(2, hidden) with bias, ReLU, Linear(hidden, heads) without
    bias) from the log-spaced relative coordinates (a float buffer), squashed by 16·sigmoid. The
    QKV bias is a full 3·C Linear bias whose K third is zeroed in the forward."""

    def __init__(self, c, heads, window, shift, qkv_bias=True, proj_bias=True, hidden=512):
        super().__init__()
        self.heads, self.window, self.shift = heads, window, shift
        self.qkv = nn.Linear(c, 3 * c, bias=qkv_bias)
        self.proj = nn.Linear(c, c, bias=proj_bias)
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((heads, 1, 1))))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, hidden, bias=True), nn.ReLU(),
                                     nn.Linear(hidden, heads, bias=False))
        r = torch.arange(-(window - 1), window, dtype=torch.float32)
        table = torch.stack(torch.meshgrid([r, r], indexing="ij")).permute(1, 2, 0).unsqueeze(0)
        table = table / max(window - 1, 1) * 8
        table = torch.sign(table) * torch.log2(table.abs() + 1.0) / 3.0
        self.register_buffer("relative_coords_table", table)
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("relative_position_index", (rel[..., 0] * (2 * window - 1) + rel[..., 1]).flatten())

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)  # N×H×W×C
        b, h, w, c = x.shape
        win, heads = self.window, self.heads
        pad_b, pad_r = (win - h % win) % win, (win - w % win) % win
        x = nn.functional.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        hp, wp = h + pad_b, w + pad_r
        sh, sw = (0 if win >= hp else self.shift), (0 if win >= wp else self.shift)  # as torchvision
        if sh or sw:
            x = torch.roll(x, shifts=(-sh, -sw), dims=(1, 2))
        x = x.view(b, hp // win, win, wp // win, win, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, win * win, c)
        bias = None
        if self.qkv.bias is not None:
            bias = self.qkv.bias.clone()
            bias[c:2 * c] = 0
        qkv = nn.functional.linear(x, self.qkv.weight, bias)
        qkv = qkv.reshape(x.shape[0], win * win, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = nn.functional.normalize(q, dim=-1) @ nn.functional.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * torch.clamp(self.logit_scale, max=math.log(100.0)).exp()
        table = self.cpb_mlp(self.relative_coords_table).view(-1, heads)
        rpb = table[self.relative_position_index].view(win * win, win * win, -1).permute(2, 0, 1)
        attn = attn + 16 * torch.sigmoid(rpb).unsqueeze(0)
        attn = shift_mask(attn, x, hp, wp, win, sh, sw, heads)
        attn = attn.softmax(dim=-1)
        x = attn.matmul(v).transpose(1, 2).reshape(x.shape[0], win * win, c)
        x = self.proj(x)
        x = x.view(b, hp // win, wp // win, win, win, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
        if sh or sw:
            x = torch.roll(x, shifts=(sh, sw), dims=(1, 2))
        return x[:, :h, :w, :].permute(0, 3, 1, 2)


class PartitionAttention(nn.Module):
    """MaxViT's block or grid attention written after torchvision's PartitionAttentionLayer and
    RelativePositionalMultiHeadAttention (Tu et al., "MaxViT", ECCV 2022): the map is cut into
    groups of P×P tokens — P×P neighbours (block) or a P×P grid of stride H/P, W/P (grid) —
    and each group attends within itself: QKV Linear(C, 3C), softmax(Q·Kᵀ/√C + relative-position
    bias from a (2P − 1)²×heads table)·V, merge Linear(C, C). Only the attention itself (no
    LayerNorm, MLP or residual: those are their own layers)."""

    def __init__(self, c, heads, size, partition, qkv_bias=True, proj_bias=True):
        super().__init__()
        self.heads, self.size, self.partition = heads, size, partition
        self.to_qkv = nn.Linear(c, 3 * c, bias=qkv_bias)
        self.merge = nn.Linear(c, c, bias=proj_bias)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * size - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (size - 1)
        self.register_buffer("relative_position_index", (rel[..., 0] * (2 * size - 1) + rel[..., 1]).flatten())

    def forward(self, x):
        b, c, h, w = x.shape
        s = self.size
        if self.partition == "block":  # B, C, H/P, P, W/P, P → B, groups, P·P, C
            g = x.reshape(b, c, h // s, s, w // s, s).permute(0, 2, 4, 3, 5, 1).reshape(b, -1, s * s, c)
        else:  # B, C, P, H/P, P, W/P: the token index runs over the P×P grid
            g = x.reshape(b, c, s, h // s, s, w // s).permute(0, 3, 5, 2, 4, 1).reshape(b, -1, s * s, c)
        heads, d = self.heads, c // self.heads
        q, k, v = torch.chunk(self.to_qkv(g), 3, dim=-1)
        q, k, v = (t.reshape(b, -1, s * s, heads, d).permute(0, 1, 3, 2, 4) for t in (q, k, v))
        # torchvision writes both products as einsum; with a head of one feature einsum turns
        # Q·Kᵀ into a broadcast multiply that FlopCounterMode does not see, so matmul here (the
        # same products; equal counts for every head size above 1)
        dot = q.matmul((k * c ** -0.5).transpose(-2, -1))
        bias = self.relative_position_bias_table[self.relative_position_index].view(s * s, s * s, -1)
        dot = (dot + bias.permute(2, 0, 1)).softmax(dim=-1)
        out = dot.matmul(v).permute(0, 1, 3, 2, 4).reshape(b, -1, s * s, c)
        out = self.merge(out)
        if self.partition == "block":
            out = out.reshape(b, h // s, w // s, s, s, c).permute(0, 5, 1, 3, 2, 4)
        else:
            out = out.reshape(b, h // s, w // s, s, s, c).permute(0, 5, 3, 1, 4, 2)
        return out.reshape(b, c, h, w)


def _crop(t, b, left, right):
    return Lambda(lambda x: x[:, :, t:x.shape[2] - b, left:x.shape[3] - right])


# the functional forms a layer type's Torch construct may name (cnncalc.layers.base.Torch)
FUNCTIONAL = {
    "last_axis": lambda *inner: LastAxis(build(inner)),
    "layer_scale": lambda c, rank, init=1e-6: LayerScale(c, rank),  # the initial value changes no figure
    "class_token": lambda c: ClassToken(c),
    "select_token": lambda i: Lambda(lambda x: x[:, i]),
    "to_tokens": lambda: Lambda(lambda x: x.flatten(2).transpose(1, 2)),
    "self_attention": lambda c, heads, bias=True: SelfAttention(c, heads, bias),
    "normalization": lambda c, rank, adapted: KerasNormalization(c, rank, adapted),
    "batchnorm_parts": lambda c, rank, **kw: BatchNormParts(c, rank, **kw),
    "split": lambda sizes, dim: Lambda(lambda x: tuple(torch.split(x, sizes, dim=dim))),
    "crop": _crop,
    "window_attention": lambda c, heads, window, shift, **kw: WindowAttention(c, heads, window, shift, **kw),
    "window_attention_v2": lambda c, heads, window, shift, **kw: WindowAttentionV2(c, heads, window, shift, **kw),
    "partition_attention": lambda c, heads, size, partition, **kw: PartitionAttention(c, heads, size, partition, **kw),
    "TFSamePad2d": lambda kernel, stride, dilation: _tf_same_pad(kernel, stride, dilation),
    "cat": lambda dim: Lambda(lambda *xs: torch.cat(xs, dim=dim)),
    "add": lambda: Lambda(_add),
    "mul": lambda: Lambda(_mul),
    "reshape": lambda shape: Lambda(lambda x: x.reshape((x.shape[0],) + tuple(shape))),
    "rescale": lambda scale, offset: Lambda(lambda x: x * scale + offset),
    "bias": lambda shape: PositionBias(shape),
}


def build(constructs):
    """The module for a tuple of Torch constructs (applied in order)."""
    mods = []
    for c in constructs:
        if c.op in FUNCTIONAL:
            mods.append(FUNCTIONAL[c.op](*c.args, **dict(c.kwargs)))
        else:
            mods.append(getattr(nn, c.op)(*c.args, **dict(c.kwargs)))
    return mods[0] if len(mods) == 1 else Seq(*mods)


def builder_of(layer_type: str):
    """How the oracle builds a layer type: an override in BUILDERS, else the layer type's own
    ``torch`` construct (cnncalc.layers), else None."""
    if layer_type in BUILDERS:
        return BUILDERS[layer_type]
    from cnncalc.layers import REGISTRY

    layer = REGISTRY.get(layer_type)
    if layer is None:
        return None

    def from_layer(p, in_shape, in_shapes=None):
        constructs = layer.torch(p, list(in_shapes or [in_shape]))
        if constructs is None:
            raise NotImplementedError(f"layer type {layer_type!r} has no PyTorch construct for {p}")
        return build(constructs)

    return from_layer


# Overrides by layer type (a test adds one with ``overriding``); every other layer type is built
# from its own ``torch`` construct, so a new layer type needs nothing here.
BUILDERS: dict = {}


@contextmanager
def overriding(layer_type: str, builder):
    """``builder`` builds ``layer_type`` inside the ``with`` only. (An override set when a test
    module was imported stayed for the whole session: tests/test_transposed.py's, which refuses
    Keras's same/valid, took the place of tests/test_properties.py's in any run collecting both.)"""
    missing = object()
    saved = BUILDERS.get(layer_type, missing)
    BUILDERS[layer_type] = builder
    try:
        yield
    finally:
        if saved is missing:
            del BUILDERS[layer_type]
        else:
            BUILDERS[layer_type] = saved


def to_hwc(t) -> tuple:
    shape = tuple(t.shape[1:])
    return (shape[1], shape[2], shape[0]) if len(shape) == 3 else shape


@dataclass
class Measured:
    shape: tuple
    params: int  # sum of parameters().numel()
    weights: int  # parameters not named "bias" (BN's γ included, as cnncalc counts)
    biases: int
    buffers: int  # running statistics (num_batches_tracked excluded)
    flops: int


def _is_bias(name: str, module) -> bool:
    last = name.split(".")[-1]
    return last == "bias" or last.endswith("_bias")  # MultiheadAttention's in_proj_bias


def measure(graph, device: str = "meta") -> dict:
    """Build every layer of ``graph`` in PyTorch, run a forward pass, measure each layer."""
    torch.manual_seed(0)
    shape = graph.input_shape
    x0 = torch.zeros((1, shape[2], shape[0], shape[1]) if len(shape) == 3 else (1,) + tuple(shape), device=device)
    values = {"input": x0}
    out = {"input": Measured(to_hwc(x0), 0, 0, 0, 0, 0)}
    with torch.no_grad():
        for spec in graph.layers[1:]:
            in_shapes = [to_hwc(values[n]) for n in spec.inputs]
            builder = builder_of(spec.type)
            if builder is None:
                raise NotImplementedError(f"torch oracle has no builder for layer type {spec.type!r}")
            if spec.type in BUILDERS:
                module = builder(dict(spec.params), in_shapes[0])
            else:
                module = builder(dict(spec.params), in_shapes[0], in_shapes)
            module = module.to(device).eval()
            args = [values[n] for n in spec.inputs]
            with FlopCounterMode(display=False) as counter:
                y = module(*args)
            if isinstance(y, tuple):  # several named outputs (split): NAME.0, NAME.1, …
                for i, part in enumerate(y):
                    values[f"{spec.name}.{i}"] = part
                y = torch.cat(y, dim=1 if y[0].dim() == 4 else -1)
            values[spec.name] = y
            named = list(module.named_parameters())
            biases = sum(p.numel() for n, p in named if _is_bias(n, module))
            params = sum(p.numel() for _, p in named)
            buffers = sum(b.numel() for n, b in module.named_buffers()
                          if not n.endswith("num_batches_tracked") and b.is_floating_point())
            out[spec.name] = Measured(to_hwc(y), params, params - biases, biases, buffers,
                                      int(counter.get_total_flops()))
    return out
