"""Window attention: Swin Transformer V1 and V2 (torchvision's ShiftedWindowAttention and
ShiftedWindowAttentionV2) and MaxViT's block and grid partitions (torchvision's
PartitionAttentionLayer with its RelativePositionalMultiHeadAttention).

Both act on an H×W×C map (the tokens stay on the grid, channels last), cut it into groups of
w×w positions and run self-attention inside each group: the Q, K, V projection (3·C² + 3·C)
and the output projection (C² + C) at every position, and the two batched products Q·Kᵀ and
softmax(·)·V, each N·w²·C over N positions — ``attention_macs``, the one home of that formula:
4·N·C² + 2·N·w²·C, as ``torch.utils.flop_counter`` counts it. The softmax, the scaling, the
bias-table lookup, the shift mask and (V2) the normalisation of Q and K are not
multiply-accumulates.

``window_attention`` (Swin): the map is padded with zeros up to a multiple of the window w
along H and W (H_p × W_p) before the projections, so N = H_p·W_p. A shift moves the windows,
not the counts.

- V1: a learnable relative-position bias table of (2w − 1)²·heads values.
- V2 (``version: 2``): cosine attention with a learnable logit scale per head (heads values),
  and the bias table computed by a small network, ``cpb_mlp``: Linear(2 → 512, with bias),
  ReLU, Linear(512 → heads, no bias), applied to the (2w − 1)² relative coordinates: 2·512 +
  512 + 512·heads parameters, (2w − 1)²·(2·512 + 512·heads) MACs, and its input, the
  log-spaced coordinate table, a floating-point buffer of (2w − 1)²·2 values (non-trainable).
  The Q, K, V bias has 3·C parameters although the forward zeroes the K third: PyTorch's
  ``parameters()`` counts the whole Linear bias, and so does cnncalc.

``partition_attention`` (MaxViT): no padding — P (the partition size) must divide H and W.
``partition: block`` groups P×P neighbouring positions (MaxViT's block attention, torchvision's
"window" partition); ``partition: grid`` groups the P×P positions of a sparse grid, stride H/P
along H and W/P along W (its "grid" partition). Both: (2P − 1)²·heads bias-table values and
4·N·C² + 2·N·P²·C MACs over N = H·W.
"""

from __future__ import annotations

from ..core.errors import ShapeError
from ..core.model import Counts
from .base import (BOOL, NONNEG_INT, NUMBERS, POS_INT, Keras, Kind, Layer, NoForward, Out, Param, ParamError, Torch,
                   choice, ew, need_spatial, shape_text)
from .numeric import check_values
from .worked import n


def attention_macs(positions: int, group: int, c: int) -> int:
    """MACs of self-attention inside groups of ``group`` tokens over ``positions`` tokens of C:
    the four projections 4·N·C² and Q·Kᵀ, A·V, each N·group·C.

    >>> attention_macs(3136, 49, 96)  # Swin-T stage 1, window 7
    145108992
    """
    return 4 * positions * c * c + 2 * positions * group * c


def _version(v):
    if isinstance(v, int) and not isinstance(v, bool) and v in (1, 2):
        return v
    raise ParamError("must be 1 (Swin) or 2 (Swin V2)", v)


VERSION = Kind("version", _version, {"enum": [1, 2]}, "1 or 2")


def relative_index(win: int) -> list:
    """The bias-table row of each pair (a, b) of the w² tokens of a window (row-major), as
    torchvision's relative_position_index: (Δy + w − 1)·(2w − 1) + Δx + w − 1."""
    n = win * win
    return [[((a // win - b // win + win - 1) * (2 * win - 1) + (a % win - b % win + win - 1)) for b in range(n)]
            for a in range(n)]


def _heads_divide(layer, shape, heads):
    if shape[-1] % heads:
        raise ShapeError(f"heads={heads} does not divide the {shape[-1]} channels",
                         received=f"input {shape_text(shape)}")


# the numbers a spec may give for ``cnncalc values`` (they change no figure)
VALUE_PARAMS = {
    "in_proj_weight": Param(NUMBERS, None, "values only: the Q, K, V projection, 3·C rows of C (torchvision's "
                                           "qkv.weight / to_qkv.weight)"),
    "in_proj_bias": Param(NUMBERS, None, "values only: 3·C numbers, where qkv_bias is true"),
    "out_proj_weight": Param(NUMBERS, None, "values only: the output projection, C rows of C"),
    "out_proj_bias": Param(NUMBERS, None, "values only: C numbers, where proj_bias is true"),
    "table": Param(NUMBERS, None, "values only: the relative-position bias table, (2w − 1)² rows of heads"),
}
# Swin V2's instead of the table: its position-bias network and logit scale (torchvision's cpb_mlp.0.weight,
# cpb_mlp.0.bias, cpb_mlp.2.weight, logit_scale)
V2_VALUE_PARAMS = {
    "cpb_weight1": Param(NUMBERS, None, "values only (version 2): cpb_mlp's first Linear, hidden rows of 2"),
    "cpb_bias1": Param(NUMBERS, None, "values only (version 2): its bias, hidden numbers"),
    "cpb_weight2": Param(NUMBERS, None, "values only (version 2): cpb_mlp's second Linear, heads rows of hidden"),
    "logit_scale": Param(NUMBERS, None, "values only (version 2): the logit scale, heads numbers (ln 10 "
                                        "when trained from scratch)"),
}


def _refuse_biases(p):
    for key, switch in (("in_proj_bias", "qkv_bias"), ("out_proj_bias", "proj_bias")):
        if p.get(key) is not None and not p[switch]:
            raise ParamError(f"{key} given but {switch} is false", key)
    if p.get("table") is not None and p.get("version", 1) == 2:
        raise ParamError("table given but version 2 has no table (its position-bias network makes it)", "table")
    for key in V2_VALUE_PARAMS:
        if p.get(key) is not None and p.get("version", 1) != 2:
            raise ParamError(f"{key} given but only version 2 has a position-bias network and a logit scale", key)
    return p


def _check_value_params(p, c: int, heads: int, win: int) -> None:
    rel = (2 * win - 1) ** 2
    for key, want, what in (("in_proj_weight", (3 * c, c), f"{3 * c} rows of {c} numbers"),
                            ("in_proj_bias", (3 * c,), f"{3 * c} numbers"),
                            ("out_proj_weight", (c, c), f"{c} rows of {c} numbers"),
                            ("out_proj_bias", (c,), f"{c} numbers"),
                            ("table", (rel, heads), f"{rel} rows of {heads} numbers ((2w − 1)² × heads)")):
        check_values(p, key, want, what)
    hid = p.get("cpb_hidden", 512)
    for key, want, what in (("cpb_weight1", (hid, 2), f"{hid} rows of 2 numbers"),
                            ("cpb_bias1", (hid,), f"{hid} numbers"),
                            ("cpb_weight2", (heads, hid), f"{heads} rows of {hid} numbers"),
                            ("logit_scale", (heads,), f"{heads} numbers")):
        check_values(p, key, want, what)


def _v2_table(layer, p, win: int, heads: int) -> tuple:
    """Swin V2's bias table and per-head scales, as torchvision computes them: the relative
    coordinates (Δy, Δx)/(w − 1)·8, log-spaced as sign(t)·log2(|t| + 1)/3, through cpb_mlp
    (Linear, ReLU, Linear without bias), 16·sigmoid; the logit scale clamped at ln 100, then exp."""
    import math

    from .numeric import given

    hid = p["cpb_hidden"]
    w1 = [float(v) for v in given(layer, p, "cpb_weight1", True, f"{hid} rows of 2 numbers", "")]
    b1 = [float(v) for v in given(layer, p, "cpb_bias1", True, f"{hid} numbers", "")]
    w2 = [float(v) for v in given(layer, p, "cpb_weight2", True, f"{heads} rows of {hid} numbers", "")]
    ls = [float(v) for v in given(layer, p, "logit_scale", True, f"{heads} numbers", "")]
    if win == 1:
        raise NoForward("window 1: Swin V2's coordinate table divides by w − 1 = 0 (torchvision gives nan): "
                        "cnncalc values computes version 2 with window ≥ 2", "window")

    def coord(t):
        t = t / (win - 1) * 8
        return math.copysign(math.log2(abs(t) + 1.0) / 3.0, t) if t else 0.0

    table = []
    for dy in range(-(win - 1), win):
        for dx in range(-(win - 1), win):
            a, b = coord(dy), coord(dx)
            hidden = [max(0.0, w1[2 * k] * a + w1[2 * k + 1] * b + b1[k]) for k in range(hid)]
            for hd in range(heads):
                z = sum(w2[hd * hid + k] * hidden[k] for k in range(hid))
                table.append(16 / (1 + math.exp(-z)) if z >= 0 else 16 * math.exp(z) / (1 + math.exp(z)))
    return table, [math.exp(min(v, math.log(100.0))) for v in ls]


def _grouped_attention(layer, p, x, shape, win: int, scale, groups, table=None, cosine=False) -> list:
    """Self-attention inside groups of w×w tokens, each group a list of (row, column) positions of
    the (padded) map and, for Swin's shifted windows, each token's mask region (−100 between
    regions). The table bias of tokens (i₁, j₁), (i₂, j₂) of a group is row
    (i₁ − i₂ + w − 1)·(2w − 1) + (j₁ − j₂ + w − 1) of the table. Positions outside H×W read zeros
    (the padding) and are cropped from the output."""
    from .numeric import attend, given, linear_rows

    h, w, c = shape
    heads = p["heads"]
    w_in = given(layer, p, "in_proj_weight", True, f"{3 * c} rows of {c} numbers", "")
    b_in = given(layer, p, "in_proj_bias", p["qkv_bias"], f"{3 * c} numbers", "qkv_bias: false")
    w_out = given(layer, p, "out_proj_weight", True, f"{c} rows of {c} numbers", "")
    b_out = given(layer, p, "out_proj_bias", p["proj_bias"], f"{c} numbers", "proj_bias: false")
    if table is None:
        table = given(layer, p, "table", True, f"{(2 * win - 1) ** 2} rows of {heads} numbers", "")
    if cosine and b_in:  # Swin V2 zeroes the K third of the QKV bias in its forward
        b_in = b_in[:c] + [0] * c + b_in[2 * c:]
    n = win * win
    rel = relative_index(win)
    bias = [[[float(table[rel[a][b] * heads + hd]) for b in range(n)] for a in range(n)] for hd in range(heads)]
    zero = [0] * c
    out = [0.0] * (h * w * c)
    for cells, regions in groups:
        tokens = [x[(r * w + q) * c:(r * w + q + 1) * c] if r < h and q < w else zero for r, q in cells]
        b = bias
        if regions is not None and len(set(regions)) > 1:
            b = [[[bias[hd][i][j] + (0.0 if regions[i] == regions[j] else -100.0) for j in range(n)]
                  for i in range(n)] for hd in range(heads)]
        mixed = attend(linear_rows(tokens, w_in, b_in, 3 * c, c), c, heads, scale, b, cosine)
        for (r, q), row in zip(cells, linear_rows(mixed, w_out, b_out, c, c)):
            if r < h and q < w:
                out[(r * w + q) * c:(r * w + q + 1) * c] = [float(v) for v in row]
    return out


class WindowAttention(Layer):
    type = "window_attention"
    aliases = ("shifted_window_attention", "swin_attention")
    doc = ("Swin (shifted) window self-attention on H×W×C: V1 params 4·C² + 4·C + (2w − 1)²·heads; "
           "V2 (version: 2) a position-bias MLP and a logit scale instead of the table; "
           "MACs 4·N·C² + 2·N·w²·C over N = H_p·W_p positions padded to a multiple of w")
    primary = "heads"
    params = {
        "heads": Param(POS_INT, doc="number of heads h (must divide C)"),
        "window": Param(POS_INT, 7, "window size w (positions per side)"),
        "shift": Param(NONNEG_INT, 0, "shift of the windows (w/2 every second block; no effect on the counts)"),
        "qkv_bias": Param(BOOL, True, "biases of the Q, K, V projection (3·C)"),
        "proj_bias": Param(BOOL, True, "bias of the output projection (C)"),
        "version": Param(VERSION, 1, "1: Swin (bias table); 2: Swin V2 (cosine attention, logit scale, "
                                     "position-bias MLP)"),
        "cpb_hidden": Param(POS_INT, 512, "Swin V2: hidden units of the position-bias MLP (2 → hidden → heads)"),
        **VALUE_PARAMS,
        **V2_VALUE_PARAMS,
    }

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        need_spatial(self, shape)
        h, w, c = shape
        heads, win = p["heads"], p["window"]
        _heads_divide(self, shape, heads)
        _check_value_params(p, c, heads, win)
        hp, wp = -(-h // win) * win, -(-w // win) * win
        positions = hp * wp
        rel = (2 * win - 1) ** 2  # relative offsets in a window
        macs = attention_macs(positions, win * win, c)
        biases = (3 * c if p["qkv_bias"] else 0) + (c if p["proj_bias"] else 0)
        work = {"padded": (hp, wp), "rel": rel}
        if p["version"] == 2:
            hid = p["cpb_hidden"]
            mlp_weights = 2 * hid + hid * heads
            weights = 4 * c * c + mlp_weights + heads  # + the logit scale per head
            biases += hid  # the MLP's first Linear
            mlp_macs = rel * mlp_weights
            work.update(mlp_macs=mlp_macs, coords=2 * rel)
            counts = Counts(weights=weights, biases=biases, non_trainable=2 * rel, macs=macs + mlp_macs)
        else:
            work["table"] = rel * heads
            counts = Counts(weights=4 * c * c + rel * heads, biases=biases, macs=macs)
        # a position sees its window (w×w, aligned to the window grid: at most w along an axis)
        return Out(shape, counts, rf=(win, win, 1, 1), work=work)

    def elementwise(self, ins, p, out) -> dict:
        (hp, wp), c, w2, heads = out.work["padded"], out.shape[2], p["window"] ** 2, p["heads"]
        # projection biases at every padded position, the position bias added to each of the
        # heads·N·w² scores, and the softmax over them; V2 also: cpb_mlp's bias and ReLU on its
        # hidden units at each of the (2w − 1)² offsets, and the sigmoid on the gathered bias,
        # w²·w²·heads values (torchvision takes it after the lookup)
        kinds = ew(bias=hp * wp * ((3 * c if p["qkv_bias"] else 0) + (c if p["proj_bias"] else 0) + heads * w2),
                   softmax=heads * hp * wp * w2)
        if p["version"] == 2:
            rel, hid = out.work["rel"], p["cpb_hidden"]
            kinds["bias"] = kinds.get("bias", 0) + rel * hid
            kinds["act"] = rel * hid + w2 * w2 * heads
        return kinds

    def describe(self, p) -> str:
        w = p.get("window", 7)  # the heads and the shift are in --explain and the spec
        return f"window_attention {w}×{w}" + (" v2" if p.get("version") == 2 else "")

    def explain(self, w) -> list:
        h, wd, c = w.in_shape
        work = w.out.work
        hp, wp = work["padded"]
        win, heads = w.p["window"], w.p["heads"]
        r = w.r
        pad = "" if (hp, wp) == (h, wd) else f" (padded from {h}×{wd} to a multiple of {win})"
        npos = hp * wp
        with_biases = r.biases and w.conventions.count_biases
        if w.p["version"] == 2:
            hid = w.p["cpb_hidden"]
            params = (f"params = 4·C² + (2·{hid} + {hid}·h) + h = 4·{c}² + (2·{hid} + {hid}·{heads}) + {heads} "
                      f"= {n(r.weights)} weights (projections, position-bias MLP, logit scale)"
                      + (f" + {n(r.biases)} biases (3·C + C + {hid}; the K third of the QKV bias is zeroed in "
                         f"the forward but is a parameter) = {n(r.params)}" if with_biases else ""))
            return [
                ("params", params),
                ("params", f"non-trainable = (2w − 1)²·2 = {2 * win - 1}²·2 = {n(r.non_trainable_params)} "
                           "(the MLP's input: the relative-coordinate table, a buffer)"),
                ("macs", f"MACs = 4·N·C² + 2·N·w²·C + (2w − 1)²·(2·{hid} + {hid}·h) with N = {hp}·{wp} = "
                         f"{n(npos)}{pad}: 4·{n(npos)}·{c}² + 2·{n(npos)}·{win}²·{c} + {2 * win - 1}²·"
                         f"{n(2 * hid + hid * heads)} = {n(r.macs)} (cosine attention; normalisation and "
                         "softmax not counted)"),
            ]
        return [
            ("params", f"params = 4·C² + (2w − 1)²·h = 4·{c}² + {2 * win - 1}²·{heads} = {n(r.weights)} weights"
                       + (f" + {n(r.biases)} biases = {n(r.params)}" if with_biases else "")),
            ("macs", f"MACs = 4·N·C² + 2·N·w²·C with N = {hp}·{wp} = {n(npos)}{pad}: 4·{n(npos)}·{c}² + "
                     f"2·{n(npos)}·{win}²·{c} = {n(r.macs)} (softmax not counted)"),
        ]

    def configure(self, p):
        return _refuse_biases(p)

    def forward(self, p, ins, out_shape):
        """torchvision's shifted_window_attention at inference: pad, roll by the shift (dropped along
        an axis the window covers), windows, softmax(Q·Kᵀ/√d + table bias + shift mask)·V, output
        projection, roll back, crop (V2: cosine attention scaled per head, the table from cpb_mlp).
        Projections exact, the rest in floats."""
        (h, w, c), x = ins[0]
        win, heads, shift = p["window"], p["heads"], p["shift"]
        hp, wp = -(-h // win) * win, -(-w // win) * win
        sh, sw = (0 if win >= hp else shift), (0 if win >= wp else shift)

        def region(r, size, s):  # torchvision's mask regions of the rolled map along one axis
            return 0 if not s else 0 if r < size - win else 1 if r < size - s else 2

        groups = []
        for wy in range(hp // win):
            for wx in range(wp // win):
                cells = [(wy * win + i, wx * win + j) for i in range(win) for j in range(win)]  # rolled map
                groups.append(([((r + sh) % hp, (q + sw) % wp) for r, q in cells],
                               [(region(r, hp, sh), region(q, wp, sw)) for r, q in cells]))
        if p["version"] == 2:  # cosine attention, a scale per head, the table from cpb_mlp
            table, scales = _v2_table(self, p, win, heads)
            return _grouped_attention(self, p, x, (h, w, c), win, scales, groups, table, cosine=True)
        return _grouped_attention(self, p, x, (h, w, c), win, (c // heads) ** -0.5, groups)

    def torch(self, p, ins) -> tuple:
        if p["version"] == 2:
            return (Torch("window_attention_v2", (ins[0][-1], p["heads"], p["window"], p["shift"]),
                          {"qkv_bias": p["qkv_bias"], "proj_bias": p["proj_bias"], "hidden": p["cpb_hidden"]}),)
        return (Torch("window_attention", (ins[0][-1], p["heads"], p["window"], p["shift"]),
                      {"qkv_bias": p["qkv_bias"], "proj_bias": p["proj_bias"]}),)

    def keras(self, p, ins):
        if p["version"] == 2:
            return (Keras("WindowAttentionV2", (ins[0][-1], p["heads"], p["window"], p["shift"]),  # the exporter's own
                          {"qkv_bias": p["qkv_bias"], "proj_bias": p["proj_bias"], "hidden": p["cpb_hidden"]}),)
        return (Keras("WindowAttention", (ins[0][-1], p["heads"], p["window"], p["shift"]),  # the exporter's own
                      {"qkv_bias": p["qkv_bias"], "proj_bias": p["proj_bias"]}),)


class PartitionAttention(Layer):
    type = "partition_attention"
    aliases = ("maxvit_attention", "block_attention", "grid_attention")
    doc = ("MaxViT's block or grid attention on H×W×C (P must divide H and W): params 4·C² + 4·C + "
           "(2P − 1)²·heads; MACs 4·N·C² + 2·N·P²·C over N = H·W")
    primary = "heads"
    params = {
        "heads": Param(POS_INT, doc="number of heads h (must divide C; MaxViT: C/32)"),
        "partition": Param(choice("block", "grid"), "block",
                           "block: P×P neighbours; grid: a P×P grid of stride H/P, W/P (torchvision's "
                           "'window' and 'grid')"),
        "size": Param(POS_INT, 7, "partition size P (tokens per side of a group)"),
        "qkv_bias": Param(BOOL, True, "biases of the Q, K, V projection (3·C)"),
        "proj_bias": Param(BOOL, True, "bias of the output projection (C)"),
        **VALUE_PARAMS,
    }

    def configure(self, p):
        return _refuse_biases(p)

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        need_spatial(self, shape)
        h, w, c = shape
        heads, size = p["heads"], p["size"]
        _check_value_params(p, c, heads, size)
        _heads_divide(self, shape, heads)
        if h % size or w % size:
            raise ShapeError(f"partition size {size} does not divide {h}×{w} (MaxViT does not pad)",
                             received=f"input {shape_text(shape)}")
        table = (2 * size - 1) ** 2 * heads
        biases = (3 * c if p["qkv_bias"] else 0) + (c if p["proj_bias"] else 0)
        counts = Counts(weights=4 * c * c + table, biases=biases, macs=attention_macs(h * w, size * size, c))
        if p["partition"] == "block":
            rf = (size, size, 1, 1)
        else:  # P positions at stride H/P: they span (P − 1)·H/P + 1 positions
            rf = ((size - 1) * (h // size) + 1, (size - 1) * (w // size) + 1, 1, 1)
        return Out(shape, counts, rf=rf, work={"table": table})

    def elementwise(self, ins, p, out) -> dict:
        h, w, c = out.shape
        n, heads, p2 = h * w, p["heads"], p["size"] ** 2
        # as Swin's: projection biases at every position, the table bias on each of the
        # heads·N·P² scores, and the softmax over them
        return ew(bias=n * ((3 * c if p["qkv_bias"] else 0) + (c if p["proj_bias"] else 0) + heads * p2),
                  softmax=heads * n * p2)

    def describe(self, p) -> str:
        s = p.get("size", 7)  # block_attention, grid_attention: the type's aliases
        return f"{p.get('partition', 'block')}_attention {s}×{s}"

    def explain(self, w) -> list:
        h, wd, c = w.in_shape
        size, heads, r = w.p["size"], w.p["heads"], w.r
        npos = h * wd
        grid = (f"a {size}×{size} grid of stride {h // size}×{wd // size}" if w.p["partition"] == "grid"
                else f"{size}×{size} neighbouring positions")
        return [
            ("params", f"params = 4·C² + (2P − 1)²·h = 4·{c}² + {2 * size - 1}²·{heads} = {n(r.weights)} weights"
                       + (f" + {n(r.biases)} biases = {n(r.params)}" if r.biases and w.conventions.count_biases
                          else "")),
            ("macs", f"MACs = 4·N·C² + 2·N·P²·C with N = {h}·{wd} = {n(npos)}, groups of {grid}: "
                     f"4·{n(npos)}·{c}² + 2·{n(npos)}·{size}²·{c} = {n(r.macs)} (softmax not counted)"),
        ]

    def forward(self, p, ins, out_shape):
        """torchvision's PartitionAttentionLayer's attention at inference: P×P groups (block or grid),
        softmax(Q·Kᵀ/√C + table bias)·V (MaxViT scales by the whole width C), the merge projection."""
        (h, w, c), x = ins[0]
        s = p["size"]
        gh, gw = h // s, w // s
        groups = []
        for a in range(gh):
            for b in range(gw):
                if p["partition"] == "block":
                    cells = [(a * s + i, b * s + j) for i in range(s) for j in range(s)]
                else:
                    cells = [(i * gh + a, j * gw + b) for i in range(s) for j in range(s)]
                groups.append((cells, None))
        return _grouped_attention(self, p, x, (h, w, c), s, c ** -0.5, groups)

    def torch(self, p, ins) -> tuple:
        return (Torch("partition_attention", (ins[0][-1], p["heads"], p["size"], p["partition"]),
                      {"qkv_bias": p["qkv_bias"], "proj_bias": p["proj_bias"]}),)

    def keras(self, p, ins):
        return (Keras("PartitionAttention", (ins[0][-1], p["heads"], p["size"], p["partition"]),  # the exporter's own
                      {"qkv_bias": p["qkv_bias"], "proj_bias": p["proj_bias"]}),)


LAYERS = (WindowAttention, PartitionAttention)
