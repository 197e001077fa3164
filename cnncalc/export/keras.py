"""A spec as a Keras functional model: ``keras.Input(shape=(H, W, C))``, then one Keras layer per
construct of each layer's ``Layer.keras``, named as the spec's layer (a construct that is not
the layer itself, such as a conv's ZeroPadding2D, takes the layer's name plus its suffix).
Layers Keras has no class for (ConvNeXt's layer scale) are small ``keras.layers.Layer``
subclasses emitted into the module when used (``HELPERS``).
"""

from __future__ import annotations


from . import constructs, header, identifiers, uses

RESERVED = frozenset({"keras", "layers", "inputs", "model", "math", "build_model", "x", "print", "sum"})

SHIFT_MASK = '''    def _mask(self, hp, wp, sh, sw):
        """-100 between the tokens of a window that were not neighbours before the roll."""
        win = self.window

        def region(r, size, s):
            return 0 if not s else 0 if r < size - win else 1 if r < size - s else 2

        masks = []
        for wy in range(hp // win):
            for wx in range(wp // win):
                regions = [(region(wy * win + i, hp, sh), region(wx * win + j, wp, sw))
                           for i in range(win) for j in range(win)]
                masks.append([[0.0 if a == b else -100.0 for b in regions] for a in regions])
        return masks

'''

# the windowing both Swin helpers share (written into each class that uses it, as SHIFT_MASK)
RELATIVE_INDEX = '''    @staticmethod
    def _relative_index(size):
        """The bias-table row of each pair of tokens of a size×size group (torchvision's index)."""
        span = 2 * size - 1
        cells = [(i, j) for i in range(size) for j in range(size)]
        return [(a - c + size - 1) * span + (b - d + size - 1) for a, b in cells for c, d in cells]

'''

SWIN_WINDOWS = RELATIVE_INDEX + '''    def _windows(self, x):
        """Pad H and W to a multiple of the window, roll by the shift (none along an axis one window
        covers, as torchvision), cut into windows of w² tokens: (windows, the geometry)."""
        ops, win = keras.ops, self.window
        h, w, c = x.shape[1:]
        pad_b, pad_r = (win - h % win) % win, (win - w % win) % win
        x = ops.pad(x, [(0, 0), (0, pad_b), (0, pad_r), (0, 0)])
        hp, wp = h + pad_b, w + pad_r
        sh, sw = (0 if win >= hp else self.shift), (0 if win >= wp else self.shift)
        if sh or sw:
            x = ops.roll(ops.roll(x, -sh, axis=1), -sw, axis=2)
        x = ops.reshape(x, (-1, hp // win, win, wp // win, win, c))
        return ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, win * win, c)), (h, w, hp, wp, sh, sw)

    def _masked(self, attn, geometry):
        """The scores plus the shifted windows' mask (-100 across the rolled borders)."""
        ops, win, heads = keras.ops, self.window, self.heads
        h, w, hp, wp, sh, sw = geometry
        if not (sh or sw):
            return attn
        mask = ops.convert_to_tensor(self._mask(hp, wp, sh, sw), dtype=attn.dtype)  # windows × w² × w²
        windows = mask.shape[0]
        return ops.reshape(ops.reshape(attn, (-1, windows, heads, win * win, win * win))
                           + ops.expand_dims(ops.expand_dims(mask, 1), 0), (-1, heads, win * win, win * win))

    def _unwindow(self, x, geometry):
        """The windows back on the map: rolled back, the padding cropped."""
        ops, win = keras.ops, self.window
        h, w, hp, wp, sh, sw = geometry
        c = x.shape[-1]
        x = ops.reshape(ops.transpose(ops.reshape(x, (-1, hp // win, wp // win, win, win, c)), (0, 1, 3, 2, 4, 5)),
                        (-1, hp, wp, c))
        if sh or sw:
            x = ops.roll(ops.roll(x, sh, axis=1), sw, axis=2)
        return x[:, :h, :w, :]

'''

HELPERS = {
    "LocalResponseNorm": '''
class LocalResponseNorm(layers.Layer):
    """PyTorch's LocalResponseNorm across channels (AlexNet): b = a/(k + α/n·Σa²)^β, the sum over
    n neighbouring channels (zeros beyond the ends); no parameters."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0, **kwargs):
        super().__init__(**kwargs)
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def call(self, x):
        c = x.shape[-1]
        pads = [(0, 0)] * (len(x.shape) - 1) + [(self.size // 2, (self.size - 1) // 2)]
        squares = keras.ops.pad(keras.ops.square(x), pads)
        total = sum(squares[..., i:i + c] for i in range(self.size))
        return x / keras.ops.power(self.k + self.alpha / self.size * total, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape
''',
    "PositionBias": '''
class PositionBias(layers.Layer):
    """A learnable bias for every position (AlphaGo's policy output, ViT's position embedding)."""

    def build(self, input_shape):
        self.bias = self.add_weight(shape=tuple(input_shape[1:]), initializer="zeros", trainable=True)

    def call(self, x):
        return x + self.bias
''',
    "ChannelShuffle": '''
class ChannelShuffle(layers.Layer):
    """ShuffleNet's channel shuffle (PyTorch's nn.ChannelShuffle): C channels in g groups, transposed."""

    def __init__(self, groups, **kwargs):
        super().__init__(**kwargs)
        self.groups = groups

    def call(self, x):
        h, w, c = x.shape[1:]
        x = keras.ops.reshape(x, (-1, h, w, self.groups, c // self.groups))
        return keras.ops.reshape(keras.ops.transpose(x, (0, 1, 2, 4, 3)), (-1, h, w, c))
''',
    "SplitChannels": '''
class SplitChannels(layers.Layer):
    """The channels (last axis) cut into parts of the given sizes (PyTorch's torch.split)."""

    def __init__(self, sizes, **kwargs):
        super().__init__(**kwargs)
        self.sizes = list(sizes)

    def call(self, x):
        ends = [sum(self.sizes[:i + 1]) for i in range(len(self.sizes))]
        return [x[..., end - size:end] for size, end in zip(self.sizes, ends)]
''',
    "ClassToken": '''
class ClassToken(layers.Layer):
    """ViT's class token: a learnable C-vector prepended to the sequence of tokens."""

    def build(self, input_shape):
        self.token = self.add_weight(shape=(1, 1, input_shape[-1]), initializer="zeros", trainable=True)

    def call(self, x):
        token = keras.ops.broadcast_to(self.token, (keras.ops.shape(x)[0], 1, x.shape[-1]))
        return keras.ops.concatenate([token, x], axis=1)
''',
    "SelectToken": '''
class SelectToken(layers.Layer):
    """One token of the sequence (ViT's head reads the class token, index 0)."""

    def __init__(self, index, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def call(self, x):
        return x[:, self.index]
''',
    "SelfAttention": '''
class SelfAttention(layers.Layer):
    """Keras's MultiHeadAttention as self-attention (query = key = value), as ViT uses it."""

    def __init__(self, num_heads, key_dim, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.attention = layers.MultiHeadAttention(num_heads, key_dim, use_bias=use_bias)

    def build(self, input_shape):
        self.attention.build(input_shape, input_shape, input_shape)

    def call(self, x):
        return self.attention(x, x)
''',
    "SpaceToDepth": '''
class SpaceToDepth(layers.Layer):
    """Each b×b block of positions becomes channels, in PyTorch's PixelUnshuffle order."""

    def __init__(self, block, **kwargs):
        super().__init__(**kwargs)
        self.block = block

    def call(self, x):
        (h, w, c), b = x.shape[1:], self.block
        x = keras.ops.reshape(x, (-1, h // b, b, w // b, b, c))
        return keras.ops.reshape(keras.ops.transpose(x, (0, 1, 3, 5, 2, 4)), (-1, h // b, w // b, c * b * b))
''',
    "PixelShuffle": '''
class PixelShuffle(layers.Layer):
    """Channels become b×b blocks of positions, in PyTorch's PixelShuffle order."""

    def __init__(self, block, **kwargs):
        super().__init__(**kwargs)
        self.block = block

    def call(self, x):
        (h, w, c), b = x.shape[1:], self.block
        x = keras.ops.reshape(x, (-1, h, w, c // (b * b), b, b))
        return keras.ops.reshape(keras.ops.transpose(x, (0, 1, 4, 2, 5, 3)), (-1, h * b, w * b, c // (b * b)))
''',
    "WindowAttention": '''
class WindowAttention(layers.Layer):
    """Swin V1's (shifted) window attention, after torchvision's shifted_window_attention: pad H
    and W to a multiple of the window, (shift,) cut into windows, softmax(Q·Kᵀ·scale +
    relative-position bias + the shifted windows' mask, -100 across the rolled borders)·V per
    head, output projection."""

    def __init__(self, channels, heads, window, shift, qkv_bias=True, proj_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.heads, self.window, self.shift = heads, window, shift
        self.qkv = layers.Dense(3 * channels, use_bias=qkv_bias)
        self.proj = layers.Dense(channels, use_bias=proj_bias)

    def build(self, input_shape):
        c, win = input_shape[-1], self.window
        self.qkv.build((None, c))
        self.proj.build((None, c))
        self.relative_position_bias_table = self.add_weight(shape=((2 * win - 1) ** 2, self.heads),
                                                            initializer="zeros", trainable=True)
        self.index = self._relative_index(win)

''' + SHIFT_MASK + SWIN_WINDOWS + '''    def call(self, x):
        ops = keras.ops
        x, geometry = self._windows(x)
        c, win, heads = x.shape[-1], self.window, self.heads
        qkv = ops.transpose(ops.reshape(self.qkv(x), (-1, win * win, 3, heads, c // heads)), (2, 0, 3, 1, 4))
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ops.matmul(q * (c // heads) ** -0.5, ops.transpose(k, (0, 1, 3, 2)))
        bias = ops.reshape(ops.take(self.relative_position_bias_table, self.index, axis=0),
                           (win * win, win * win, heads))
        attn = self._masked(attn + ops.expand_dims(ops.transpose(bias, (2, 0, 1)), 0), geometry)
        attn = ops.softmax(attn, axis=-1)
        x = self.proj(ops.reshape(ops.transpose(ops.matmul(attn, v), (0, 2, 1, 3)), (-1, win * win, c)))
        return self._unwindow(x, geometry)

    def compute_output_shape(self, input_shape):
        return input_shape
''',
    "WindowAttentionV2": '''
class WindowAttentionV2(layers.Layer):
    """Swin V2's (shifted) window attention, after torchvision's ShiftedWindowAttentionV2: as V1,
    but cosine attention scaled by a learnable logit scale per head (clamped at log 100), and
    the relative-position bias made by cpb_mlp (Dense(hidden) with bias, ReLU, Dense(heads)
    without bias) from the log-spaced relative coordinates (a non-trainable weight,
    (2w - 1)²·2 values), squashed by 16·sigmoid. The QKV bias is a full 3·C bias whose K third
    is zeroed in the call. Shifted windows are masked (-100) across the rolled borders."""

    def __init__(self, channels, heads, window, shift, qkv_bias=True, proj_bias=True, hidden=512, **kwargs):
        super().__init__(**kwargs)
        self.heads, self.window, self.shift, self.channels = heads, window, shift, channels
        self.qkv = layers.Dense(3 * channels, use_bias=qkv_bias)
        self.proj = layers.Dense(channels, use_bias=proj_bias)
        self.cpb_mlp = [layers.Dense(hidden, use_bias=True, activation="relu"), layers.Dense(heads, use_bias=False)]

    def build(self, input_shape):
        c, win, heads = input_shape[-1], self.window, self.heads
        self.qkv.build((None, c))
        self.proj.build((None, c))
        self.cpb_mlp[0].build((None, 2))
        self.cpb_mlp[1].build((None, self.cpb_mlp[0].units))
        self.logit_scale = self.add_weight(shape=(heads, 1, 1), initializer=keras.initializers.Constant(math.log(10)),
                                           trainable=True, name="logit_scale")
        span = 2 * win - 1

        def coord(t):  # torchvision's log-spaced relative coordinate
            t = t / max(win - 1, 1) * 8
            return math.copysign(math.log2(abs(t) + 1.0) / 3.0, t) if t else 0.0

        self.relative_coords_table = self.add_weight(shape=(span * span, 2), initializer="zeros", trainable=False,
                                                     name="relative_coords_table")
        self.relative_coords_table.assign([[coord(dy), coord(dx)] for dy in range(1 - win, win)
                                           for dx in range(1 - win, win)])
        self.index = self._relative_index(win)

''' + SHIFT_MASK + SWIN_WINDOWS + '''    def call(self, x):
        ops = keras.ops
        x, geometry = self._windows(x)
        c, win, heads = x.shape[-1], self.window, self.heads
        qkv = ops.matmul(x, self.qkv.kernel)
        if self.qkv.use_bias:
            keep = ops.convert_to_tensor([1.0] * c + [0.0] * c + [1.0] * c, dtype=qkv.dtype)
            qkv = qkv + self.qkv.bias * keep
        qkv = ops.transpose(ops.reshape(qkv, (-1, win * win, 3, heads, c // heads)), (2, 0, 3, 1, 4))
        q, k, v = qkv[0], qkv[1], qkv[2]

        def unit(t):
            return t / ops.maximum(ops.sqrt(ops.sum(t * t, axis=-1, keepdims=True)), 1e-12)

        attn = ops.matmul(unit(q), ops.transpose(unit(k), (0, 1, 3, 2)))
        attn = attn * ops.exp(ops.minimum(self.logit_scale, math.log(100.0)))
        table = self.cpb_mlp[1](self.cpb_mlp[0](self.relative_coords_table))
        bias = ops.reshape(ops.take(table, self.index, axis=0), (win * win, win * win, heads))
        attn = self._masked(attn + 16 * ops.sigmoid(ops.expand_dims(ops.transpose(bias, (2, 0, 1)), 0)), geometry)
        attn = ops.softmax(attn, axis=-1)
        x = self.proj(ops.reshape(ops.transpose(ops.matmul(attn, v), (0, 2, 1, 3)), (-1, win * win, c)))
        return self._unwindow(x, geometry)

    def compute_output_shape(self, input_shape):
        return input_shape
''',
    "PartitionAttention": '''
class PartitionAttention(layers.Layer):
    """MaxViT's block or grid attention, after torchvision's PartitionAttentionLayer and
    RelativePositionalMultiHeadAttention: groups of P×P tokens (P×P neighbours for "block", a
    P×P grid of stride H/P, W/P for "grid"), softmax(Q·Kᵀ/√C + relative-position bias from a
    (2P - 1)²×heads table)·V per head, the merge projection."""

    def __init__(self, channels, heads, size, partition, qkv_bias=True, proj_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.heads, self.size, self.partition = heads, size, partition
        self.to_qkv = layers.Dense(3 * channels, use_bias=qkv_bias)
        self.merge = layers.Dense(channels, use_bias=proj_bias)

    def build(self, input_shape):
        c, s = input_shape[-1], self.size
        self.to_qkv.build((None, c))
        self.merge.build((None, c))
        self.relative_position_bias_table = self.add_weight(shape=((2 * s - 1) ** 2, self.heads),
                                                            initializer="zeros", trainable=True)
        self.index = self._relative_index(s)

''' + RELATIVE_INDEX + '''    def call(self, x):
        ops = keras.ops
        h, w, c = x.shape[1:]
        s, heads = self.size, self.heads
        gh, gw = h // s, w // s
        if self.partition == "block":  # B, H/P, P, W/P, P, C -> B·groups, P·P, C
            g = ops.transpose(ops.reshape(x, (-1, gh, s, gw, s, c)), (0, 1, 3, 2, 4, 5))
        else:  # B, P, H/P, P, W/P, C: the token runs over the P×P grid
            g = ops.transpose(ops.reshape(x, (-1, s, gh, s, gw, c)), (0, 2, 4, 1, 3, 5))
        g = ops.reshape(g, (-1, s * s, c))
        qkv = ops.transpose(ops.reshape(self.to_qkv(g), (-1, s * s, 3, heads, c // heads)), (2, 0, 3, 1, 4))
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ops.matmul(q, ops.transpose(k * c ** -0.5, (0, 1, 3, 2)))
        bias = ops.reshape(ops.take(self.relative_position_bias_table, self.index, axis=0), (s * s, s * s, heads))
        attn = ops.softmax(attn + ops.expand_dims(ops.transpose(bias, (2, 0, 1)), 0), axis=-1)
        out = self.merge(ops.reshape(ops.transpose(ops.matmul(attn, v), (0, 2, 1, 3)), (-1, s * s, c)))
        out = ops.reshape(out, (-1, gh, gw, s, s, c))
        if self.partition == "block":
            out = ops.transpose(out, (0, 1, 3, 2, 4, 5))
        else:
            out = ops.transpose(out, (0, 3, 1, 4, 2, 5))
        return ops.reshape(out, (-1, h, w, c))

    def compute_output_shape(self, input_shape):
        return input_shape
''',
    "LayerScale": '''
class LayerScale(layers.Layer):
    """ConvNeXt's layer scale (as keras.applications.convnext writes it): a learnable factor per channel."""

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values, self.projection_dim = init_values, projection_dim

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(self.projection_dim,),
                                     initializer=keras.initializers.Constant(self.init_values), trainable=True)

    def call(self, x):
        return x * self.gamma
''',
}


def _call(name: str, args, kwargs) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def layer_names(graph) -> dict:
    """Layer name → its Keras name (and Python variable): the name made an identifier, unique."""
    return identifiers([spec.name for spec in graph.layers], RESERVED | set(HELPERS))


def generate(graph, report, source: str) -> str:
    made = constructs(graph, report, "keras")
    used = uses(graph)
    var_of = layer_names(graph)
    keras_names = set(var_of.values())  # Keras on torch refuses "." in a name: the identifiers serve
    helpers: list = []
    body = []
    first = graph.layers[0]
    in_var = "inputs"
    body.append(f"    {in_var} = keras.Input(shape={tuple(graph.input_shape)!r}, name={var_of[first.name]!r})")
    var = {first.name: in_var}
    taken = set(var_of.values()) | {in_var, "x"}  # Python variables in build_model
    for i, (spec, _ins, cs) in enumerate(made, start=1):
        last = i == len(made)
        out = "x" if used.get(spec.name, []) == [i + 1] or (last and not used.get(spec.name)) else var_of[spec.name]
        cur = [var[n] for n in spec.inputs]
        for c in cs:
            op = c.op
            if op in HELPERS:
                if op not in helpers:
                    helpers.append(op)
                ctor = op
            else:
                ctor = f"layers.{op}"
            name = var_of[spec.name]
            if c.suffix:
                name += c.suffix
                while name in keras_names:
                    name += "_"
                keras_names.add(name)
            arg = cur[0] if len(cur) == 1 else f"[{', '.join(cur)}]"
            parts = report.layer(spec.name).parts
            if parts:  # several named outputs (split): NAME.0, NAME.1, …; NAME alone is the input again
                names_ = []
                for k in range(len(parts)):
                    pv = f"{var_of[spec.name]}_{k}"
                    while pv in taken:
                        pv += "_"
                    taken.add(pv)
                    names_.append(pv)
                for k, pv in enumerate(names_):
                    var[f"{spec.name}.{k}"] = pv
                body.append(f"    {', '.join(names_)}{',' if len(names_) == 1 else ''} = "
                            f"{_call(ctor, c.args, {**dict(c.kwargs), 'name': name})}({arg})")
                out = cur[0]
                break
            body.append(f"    {out} = {_call(ctor, c.args, {**dict(c.kwargs), 'name': name})}({arg})")
            cur = [out]
        if not cs:
            body.append(f"    {out} = {cur[0]}")
        var[spec.name] = out
    body.append(f"    return keras.Model({in_var}, {var[graph.layers[-1].name]}, name={graph.name!r})")

    t = report.totals
    paras = [
        f"Expected: {t.params:,} trainable and {t.non_trainable_params:,} non-trainable parameters "
        f"(model.count_params() = {t.params + t.non_trainable_params:,}); output shape "
        f"{(None,) + tuple(report.output_shape)!r}.",
        "Layers are named as in the spec, made Python identifiers where they are not (Keras on the torch "
        "backend refuses a \".\" in a name: layer1.0.conv1 is layer1_0_conv1); a layer written as several "
        "Keras layers adds a suffix to the others (conv1_pad: the ZeroPadding2D of a numeric padding)."]
    lines = header(graph, report, source, "as a Keras functional model (generated by `cnncalc export --to keras`)",
                   paras)
    lines += [
        "",
        "import math",
        "",
        "import keras",
        "from keras import layers",
        "",
    ]
    for h in helpers:
        lines += [HELPERS[h].rstrip("\n"), ""]
    lines += ["", "def build_model():"] + body + ["", ""]
    lines += [
        'if __name__ == "__main__":',
        "    model = build_model()",
        '    print(f"trainable: {sum(math.prod(w.shape) for w in model.trainable_weights):,}")',
        '    print(f"non-trainable: {sum(math.prod(w.shape) for w in model.non_trainable_weights):,}")',
        '    print(f"output: {model.output_shape}")',
        "",
    ]
    return "\n".join(lines)
