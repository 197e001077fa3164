"""A spec as a PyTorch module: an ``nn.Module`` whose ``__init__`` makes one submodule per layer
(named after the spec's layer) and whose ``forward`` follows the graph.

Each layer's ``Layer.torch`` constructs are written as code: a ``torch.nn`` class by its name, a
construct PyTorch has no class for as a small helper class emitted into the module when used
(``HELPERS``), and the graph's own operations (concat, add, multiply, reshape, split, crop,
tokens) as expressions in ``forward`` (``INLINE``).
"""

from __future__ import annotations


from . import class_name, constructs, header, identifiers, shape_text, uses

# nn.Module's own attributes: a submodule may not take one of these names
MODULE_ATTRS = frozenset("""add_module apply bfloat16 buffers call_super_init children compile cpu cuda double
dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter get_submodule half ipu
load_state_dict modules mtia named_buffers named_children named_modules named_parameters parameters
register_backward_hook register_buffer register_forward_hook register_forward_pre_hook register_full_backward_hook
register_full_backward_pre_hook register_load_state_dict_post_hook register_load_state_dict_pre_hook
register_module register_parameter register_state_dict_post_hook register_state_dict_pre_hook requires_grad_
set_extra_state set_submodule share_memory state_dict to to_empty train training type xpu zero_grad
T_destination""".split())

# names the generated forward uses for itself
RESERVED = frozenset({"self", "x", "torch", "nn", "super", "print", "sum", "tuple", "model", "y"})


HELPER_NEEDS = {"WindowAttention": ("relative_index", "shift_mask"),
                "WindowAttentionV2": ("relative_index", "shift_mask"), "PartitionAttention": ("relative_index",)}

# the windowing both Swin helpers share, written into each class that uses it
SWIN_WINDOWS = '''    def _windows(self, x):
        """N×C×H×W → windows of w² tokens: H and W padded to a multiple of the window, rolled by
        the shift (none along an axis one window covers, as torchvision); and the geometry."""
        x = x.permute(0, 2, 3, 1)  # N×H×W×C
        b, h, w, c = x.shape
        win = self.window
        pad_b, pad_r = (win - h % win) % win, (win - w % win) % win
        x = nn.functional.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        hp, wp = h + pad_b, w + pad_r
        sh, sw = (0 if win >= hp else self.shift), (0 if win >= wp else self.shift)
        if sh or sw:
            x = torch.roll(x, shifts=(-sh, -sw), dims=(1, 2))
        x = x.view(b, hp // win, win, wp // win, win, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, win * win, c)
        return x, (b, h, w, hp, wp, sh, sw)

    def _masked(self, attn, geometry):
        """The scores plus the shifted windows' mask."""
        b, h, w, hp, wp, sh, sw = geometry
        return shift_mask(attn, hp, wp, self.window, sh, sw, self.heads) if sh or sw else attn

    def _unwindow(self, x, geometry):
        """The windows back on the map (N×C×H×W): rolled back, the padding cropped."""
        b, h, w, hp, wp, sh, sw = geometry
        win, c = self.window, x.shape[-1]
        x = x.view(b, hp // win, wp // win, win, win, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
        if sh or sw:
            x = torch.roll(x, shifts=(sh, sw), dims=(1, 2))
        return x[:, :h, :w, :].permute(0, 3, 1, 2)

'''

HELPERS = {
    "TFSamePad2d": '''
class TFSamePad2d(nn.Module):
    """TensorFlow's (Keras's) padding="same": out = ceil(in / stride), the padding worked out
    from the input's size when it arrives; an odd total puts the extra row/column at the end."""

    def __init__(self, kernel, stride, dilation=(1, 1)):
        super().__init__()
        self.kernel, self.stride, self.dilation = kernel, stride, dilation

    def forward(self, x):
        pads = []
        for size, k, s, d in zip(x.shape[2:], self.kernel, self.stride, self.dilation):
            out = (size + s - 1) // s
            total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        return nn.functional.pad(x, (left, right, top, bottom))
''',
    "ChannelShuffle": '''
class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle as torchvision writes it: view as g groups, transpose, view
    back (the values of nn.ChannelShuffle, which torch.onnx.export's TorchScript exporter cannot
    write; this exports as Reshape, Transpose, Reshape)."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        b, c, h, w = x.shape
        x = x.view(b, self.groups, c // self.groups, h, w).transpose(1, 2).contiguous()
        return x.view(b, c, h, w)
''',
    "LocalResponseNorm": '''
class LocalResponseNorm(nn.LocalResponseNorm):
    """nn.LocalResponseNorm, written by torch.onnx.export (TorchScript) as ONNX's one LRN op
    rather than twenty: both compute b = a/(k + α/n·Σa²)^β over n neighbouring channels, the
    same window when n is odd (for an even n PyTorch's window starts a channel earlier than
    ONNX's, so that one exports as PyTorch's own ops)."""

    class Op(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, size, alpha, beta, k):
            return nn.functional.local_response_norm(x, size, alpha, beta, k)

        @staticmethod
        def symbolic(g, x, size, alpha, beta, k):
            return g.op("LRN", x, size_i=size, alpha_f=alpha, beta_f=beta, bias_f=k)

    def forward(self, x):
        if self.size % 2 == 0:
            return super().forward(x)
        return self.Op.apply(x, self.size, self.alpha, self.beta, self.k)
''',
    "PositionBias": '''
class PositionBias(nn.Module):
    """A learnable bias for every position (AlphaGo's policy output)."""

    def __init__(self, shape):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(*shape))

    def forward(self, x):
        return x + self.bias
''',
    "LastAxis": '''
class LastAxis(nn.Module):
    """A module acting on the last axis (LayerNorm, Linear) applied to the channels of an
    N×C×H×W tensor: permuted to N×H×W×C and back, as torchvision's ConvNeXt does."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
''',
    "LayerScale": '''
class LayerScale(nn.Module):
    """ConvNeXt's layer scale: a learnable factor per channel."""

    def __init__(self, channels, rank, init=1e-6):
        super().__init__()
        shape = (channels, 1, 1) if rank == 3 else (channels,)
        self.gamma = nn.Parameter(torch.full(shape, init))

    def forward(self, x):
        return x * self.gamma
''',
    "ClassToken": '''
class ClassToken(nn.Module):
    """ViT's class token: a learnable 1×1×C token prepended to the sequence."""

    def __init__(self, channels):
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(1, 1, channels))

    def forward(self, x):
        return torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
''',
    "SelfAttention": '''
class SelfAttention(nn.Module):
    """nn.MultiheadAttention as torchvision's ViT calls it: query = key = value."""

    def __init__(self, channels, heads, bias=True):
        super().__init__()
        self.attn = nn.MultiheadAttention(channels, heads, bias=bias, batch_first=True)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0]
''',
    "KerasNormalization": '''
class KerasNormalization(nn.Module):
    """Keras's Normalization: (x − mean)/√variance per channel; adapted statistics (mean,
    variance, count) are stored as buffers, not trained."""

    def __init__(self, channels, rank, adapted=True):
        super().__init__()
        shape = (channels, 1, 1) if rank == 3 else (channels,)
        if adapted:
            self.register_buffer("mean", torch.zeros(shape))
            self.register_buffer("variance", torch.ones(shape))
            self.register_buffer("count", torch.zeros(()))

    def forward(self, x):
        if hasattr(self, "mean"):
            return (x - self.mean) / torch.sqrt(self.variance)
        return x
''',
    "BatchNormParts": '''
class BatchNormParts(nn.Module):
    """Keras's BatchNormalization with center or scale off: γ only or β only."""

    def __init__(self, channels, rank, gamma=True, beta=True, running=True, eps=1e-5):
        super().__init__()
        shape = (channels, 1, 1) if rank == 3 else (channels,)
        self.eps = eps
        if gamma:
            self.weight = nn.Parameter(torch.ones(shape))
        if beta:
            self.bias = nn.Parameter(torch.zeros(shape))
        if running:
            self.register_buffer("running_mean", torch.zeros(shape))
            self.register_buffer("running_var", torch.ones(shape))

    def forward(self, x):
        if hasattr(self, "running_mean"):
            x = (x - self.running_mean) / torch.sqrt(self.running_var + self.eps)
        if hasattr(self, "weight"):
            x = x * self.weight
        if hasattr(self, "bias"):
            x = x + self.bias
        return x
''',
    "relative_index": '''
def relative_index(window):
    """The bias-table row of each pair of tokens of a window×window group (torchvision's
    relative_position_index): (Δy + w − 1)·(2w − 1) + Δx + w − 1."""
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
    return (rel[..., 0] * (2 * window - 1) + rel[..., 1]).flatten()
''',
    "shift_mask": '''
def shift_mask(attn, hp, wp, win, sh, sw, heads):
    """Swin's mask of shifted windows (torchvision's): −100 between the tokens of a window that came
    from regions that were not neighbours before the roll; no parameters, no MACs."""
    mask = attn.new_zeros((hp, wp))
    count = 0
    for hs in ((0, -win), (-win, -sh), (-sh, None)):
        for ws in ((0, -win), (-win, -sw), (-sw, None)):
            mask[hs[0]:hs[1], ws[0]:ws[1]] = count
            count += 1
    mask = mask.view(hp // win, win, wp // win, win).permute(0, 2, 1, 3).reshape(-1, win * win)
    mask = mask.unsqueeze(1) - mask.unsqueeze(2)
    mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
    attn = attn.view(-1, mask.shape[0], heads, win * win, win * win) + mask.unsqueeze(1).unsqueeze(0)
    return attn.view(-1, heads, win * win, win * win)
''',
    "WindowAttention": '''
class WindowAttention(nn.Module):
    """Swin V1's (shifted) window attention, after torchvision's shifted_window_attention: pad H
    and W to a multiple of the window, (shift, no shift along an axis one window covers,) cut into
    windows, softmax(Q·Kᵀ·scale + relative-position bias + the shifted windows' mask)·V per head,
    output projection."""

    def __init__(self, channels, heads, window, shift, qkv_bias=True, proj_bias=True):
        super().__init__()
        self.heads, self.window, self.shift = heads, window, shift
        self.qkv = nn.Linear(channels, 3 * channels, bias=qkv_bias)
        self.proj = nn.Linear(channels, channels, bias=proj_bias)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        self.register_buffer("relative_position_index", relative_index(window))

''' + SWIN_WINDOWS + '''    def forward(self, x):
        x, geometry = self._windows(x)
        c, win, heads = x.shape[-1], self.window, self.heads
        qkv = self.qkv(x).reshape(x.shape[0], win * win, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * (c // heads) ** -0.5).matmul(k.transpose(-2, -1))
        bias = self.relative_position_bias_table[self.relative_position_index].view(win * win, win * win, -1)
        attn = self._masked(attn + bias.permute(2, 0, 1).unsqueeze(0), geometry).softmax(dim=-1)
        x = self.proj(attn.matmul(v).transpose(1, 2).reshape(x.shape[0], win * win, c))
        return self._unwindow(x, geometry)
''',
    "WindowAttentionV2": '''
class WindowAttentionV2(nn.Module):
    """Swin V2's shifted window attention written after torchvision's ShiftedWindowAttentionV2
    (Liu et al., "Swin Transformer V2", CVPR 2022): as V1, but cosine attention scaled by a
    learnable logit scale per head (clamped at log 100), and the relative-position bias made by
    a small network (cpb_mlp: Linear(2, hidden) with bias, ReLU, Linear(hidden, heads) without
    bias) from the log-spaced relative coordinates (a float buffer), squashed by 16·sigmoid. The
    QKV bias is a full 3·C Linear bias whose K third is zeroed in the forward; the shifted
    windows' mask as in V1."""

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
        self.register_buffer("relative_position_index", relative_index(window))

''' + SWIN_WINDOWS + '''    def forward(self, x):
        x, geometry = self._windows(x)
        c, win, heads = x.shape[-1], self.window, self.heads
        bias = None
        if self.qkv.bias is not None:
            bias = self.qkv.bias.clone()
            bias[c:2 * c] = 0
        qkv = nn.functional.linear(x, self.qkv.weight, bias)
        qkv = qkv.reshape(x.shape[0], win * win, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = nn.functional.normalize(q, dim=-1) @ nn.functional.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * torch.clamp(self.logit_scale, max=4.605170185988092).exp()  # at most e^(ln 100) = 100
        table = self.cpb_mlp(self.relative_coords_table).view(-1, heads)
        rpb = table[self.relative_position_index].view(win * win, win * win, -1).permute(2, 0, 1)
        attn = self._masked(attn + 16 * torch.sigmoid(rpb).unsqueeze(0), geometry).softmax(dim=-1)
        x = self.proj(attn.matmul(v).transpose(1, 2).reshape(x.shape[0], win * win, c))
        return self._unwindow(x, geometry)
''',
    "PartitionAttention": '''
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
        self.register_buffer("relative_position_index", relative_index(size))

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
''',
}

# functional constructs (cnncalc.layers.base.Torch) that are modules, and torch.nn classes written as
# a helper of the same name for the ONNX exporter (ChannelShuffle, LocalResponseNorm): the helper class of each
AS_HELPER = {
    "TFSamePad2d": "TFSamePad2d", "ChannelShuffle": "ChannelShuffle", "LocalResponseNorm": "LocalResponseNorm",
    "bias": "PositionBias", "last_axis": "LastAxis", "layer_scale": "LayerScale",
    "class_token": "ClassToken", "self_attention": "SelfAttention", "normalization": "KerasNormalization",
    "batchnorm_parts": "BatchNormParts", "window_attention": "WindowAttention",
    "window_attention_v2": "WindowAttentionV2", "partition_attention": "PartitionAttention",
}


def _v(value) -> str:
    return repr(value)


def _arg(value) -> str:
    """An argument of a torch.nn class: a pair of equal sizes written once ((3, 3) → 3)."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1] and type(value[0]) is int:
        return repr(value[0])
    return repr(value)


def _call(name: str, args, kwargs, arg=_v) -> str:
    parts = [arg(a) for a in args] + [f"{k}={arg(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


class _Writer:
    def __init__(self):
        self.helpers: list = []

    def helper(self, name: str) -> str:
        for need in HELPER_NEEDS.get(name, ()):  # what a helper calls is written before it
            self.helper(need)
        if name not in self.helpers:
            self.helpers.append(name)
        return name

    def module(self, c) -> str:
        """The expression that makes the module of one construct."""
        if c.op == "last_axis":
            return f"{self.helper('LastAxis')}({self.group(list(c.args))})"
        if c.op in AS_HELPER:
            return _call(self.helper(AS_HELPER[c.op]), c.args, dict(c.kwargs))
        return _call(f"nn.{c.op}", c.args, dict(c.kwargs), _arg)

    def group(self, cs: list, indent: str = "    ") -> str:
        if len(cs) == 1:
            return self.module(cs[0])
        inner = f",\n{indent}    ".join(self.module(c) for c in cs)
        return f"nn.Sequential(\n{indent}    {inner},\n{indent})"


def _inline(c, args: list, ins: list, out_rank: int):
    """The forward expression of a construct that is an operation on tensors, or None."""
    a = args[0]
    if c.op == "cat":
        return f"torch.cat([{', '.join(args)}], dim={c.kwargs['dim']})"
    if c.op == "add":
        return " + ".join(args)
    if c.op == "mul":  # a vector of C (N×C) is a per-channel factor of N×C×H×W
        return " * ".join(f"{v}[:, :, None, None]" if len(s) == 1 and out_rank == 3 else v for v, s in zip(args, ins))
    if c.op == "reshape":
        return f"{a}.reshape({a}.shape[0], {', '.join(map(str, c.args[0]))})"
    if c.op == "split":
        sizes, dim = c.args
        return f"torch.split({a}, {list(sizes)!r}, dim={dim})"
    if c.op == "crop":
        t, b, left, right = c.args
        h, w = ins[0][0], ins[0][1]
        return f"{a}[:, :, {t}:{h - b}, {left}:{w - right}]"
    if c.op == "rescale":
        scale, offset = c.args
        return f"{a} * {scale!r}" + (f" + {offset!r}" if offset else "")
    if c.op == "select_token":
        return f"{a}[:, {c.args[0]}]"
    if c.op == "to_tokens":
        return f"{a}.flatten(2).transpose(1, 2)  # N×C×H×W → N×(H·W)×C"
    return None


INLINE = ("cat", "add", "mul", "reshape", "split", "crop", "rescale", "select_token", "to_tokens")


def torch_shape(shape) -> tuple:
    """cnncalc's H×W×C as PyTorch's N×C×H×W (batch 1); tokens L×C and vectors keep their order."""
    return (1, shape[2], shape[0], shape[1]) if len(shape) == 3 else (1,) + tuple(shape)


def attribute_names(graph) -> dict:
    """Layer name → the name of its submodule (the layer's name made an identifier, unique, and
    none of nn.Module's own attributes)."""
    return identifiers([spec.name for spec in graph.layers[1:]],
                       MODULE_ATTRS | RESERVED | set(AS_HELPER.values()) | set(HELPERS))


def generate(graph, report, source: str) -> str:
    made = constructs(graph, report, "pytorch")
    attr = attribute_names(graph)
    used = uses(graph)
    w = _Writer()
    init, fwd, renamed, flatten_after_map = [], [], [], False
    var = {}
    first = graph.layers[0]
    in_var = "x" if used.get(first.name, []) == [1] else identifiers([first.name], set(attr.values()) | RESERVED
                                                                       | MODULE_ATTRS)[first.name]
    var[first.name] = in_var
    taken_vars = set(attr.values()) | {in_var, "x"}
    taken_attrs = set(attr.values())
    for i, (spec, ins, cs) in enumerate(made, start=1):
        name = attr[spec.name]
        if name != spec.name:
            renamed.append((spec.name, name))
        if spec.type == "flatten" and len(ins[0]) == 3:
            flatten_after_map = True
        args = [var[n] for n in spec.inputs]
        last = i == len(made)
        out = "x" if used.get(spec.name, []) == [i + 1] or (last and not used.get(spec.name)) else name
        # consecutive module constructs make one submodule; operations are written in forward
        steps: list = []
        for c in cs:
            if c.op in INLINE:
                steps.append(("inline", c))
            elif steps and steps[-1][0] == "module":
                steps[-1][1].append(c)
            else:
                steps.append(("module", [c]))
        n_modules = 0
        cur = args
        result = report.layer(spec.name)
        for kind, what in steps:
            if kind == "module":
                n_modules += 1
                sub = name if n_modules == 1 else _fresh(f"{name}_{n_modules}", taken_attrs)
                comment = f"  # {spec.name}" if sub != spec.name else ""
                init.append(f"        self.{sub} = {w.group(what, '        ')}{comment}")
                expr = f"self.{sub}({', '.join(cur)})"
            else:
                expr = _inline(what, cur, ins, len(result.output_shape))
                if "#" not in expr:  # the layer has no submodule: its name is here
                    expr += f"  # {spec.name}"
            if result.parts and kind == "inline":  # several named outputs (split): NAME.0, NAME.1, …
                parts = [_fresh(f"{name}_{k}", taken_vars) for k in range(len(result.parts))]
                for k, pv in enumerate(parts):
                    var[f"{spec.name}.{k}"] = pv
                fwd.append(f"        {', '.join(parts)}{',' if len(parts) == 1 else ''} = {expr}")
                if used.get(spec.name):  # NAME alone is the whole input again
                    fwd.append(f"        {name} = {args[0]}")
                out = name
                cur = None
                break
            fwd.append(f"        {out} = {expr}")
            cur = [out]
        if not steps:  # no construct at all: an identity
            fwd.append(f"        {out} = {args[0]}")
        var[spec.name] = out
    ret = var[graph.layers[-1].name]

    cls = class_name(graph.name)
    if cls in set(attr.values()) | set(HELPERS):
        cls += "Net"
    t = report.totals
    paras = [
        f"cnncalc's H×W×C is PyTorch's N×C×H×W: the input {shape_text(graph.input_shape)} is a tensor of "
        f"{_shape_py(torch_shape(graph.input_shape))}, the output {shape_text(report.output_shape)} one of "
        f"{_shape_py(torch_shape(report.output_shape))}. Expected: sum(p.numel() for p in model.parameters()) = "
        f"{t.params:,}"
        + (f"; buffers (running statistics, not trained) {t.non_trainable_params:,}" if t.non_trainable_params
           else "")
        + f"; {t.macs:,} multiply-accumulates (torch.utils.flop_counter: {t.macs * 2:,} FLOPs)."]
    if flatten_after_map:
        paras.append("A flatten after a feature map flattens PyTorch's C, H, W order (Keras flattens H, W, C): "
                     "the same number of values and parameters, in another order.")
    if renamed:
        paras.append("Submodules are named as the spec's layers, made Python identifiers where they are not "
                     "(the spec's name is in a comment beside each).")
    lines = header(graph, report, source, "in PyTorch (generated by `cnncalc export --to pytorch`)", paras)
    lines += ["", "import torch", "from torch import nn", ""]
    for h in w.helpers:
        lines.append(HELPERS[h].rstrip("\n"))
        lines.append("")
    lines += ["", f"class {cls}(nn.Module):", "    def __init__(self):", "        super().__init__()"]
    lines += init or ["        pass"]
    lines += ["", f"    def forward(self, {in_var}):"]
    lines += fwd + [f"        return {ret}", "", ""]
    shape = torch_shape(graph.input_shape)
    lines += [
        'if __name__ == "__main__":',
        '    with torch.device("meta"):  # shapes only: no memory, no arithmetic (build outside it for values)',
        f"        model = {cls}().eval()",
        f"        y = model(torch.zeros{_shape_py(shape)})",
        '    print(f"params: {sum(p.numel() for p in model.parameters()):,}")',
    ]
    if t.non_trainable_params:
        lines += ["    buffers = sum(b.numel() for n, b in model.named_buffers()",
                  '                  if not n.endswith("num_batches_tracked"))  # a step counter, not a statistic',
                  '    print(f"buffers: {buffers:,}")']
    lines += ['    print(f"output: {tuple(y.shape)}")', ""]
    return "\n".join(lines)


def _fresh(name: str, taken: set) -> str:
    """``name``, or ``name_`` … when a variable already has it (a split part named like a layer)."""
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _shape_py(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"

