"""Window attention (Swin Transformer V1, torchvision's ShiftedWindowAttention).

It acts on an H×W×C map (Swin keeps its tokens on the grid, channels last). The map is padded
with zeros up to a multiple of the window w along H and W (H_p × W_p), cut into w×w windows,
and in each window every position attends to every other: self-attention over w² tokens, with
a learnable relative-position bias table of (2w − 1)² × heads values. A shift (the shifted
windows of every second block) moves the windows, not the counts.

Parameters: the Q, K, V projection 3·C² + 3·C, the output projection C² + C (biases optional),
and the bias table. MACs, as ``torch.utils.flop_counter`` counts torchvision's module: the
projections on every padded position, 4·H_p·W_p·C², and the two batched products Q·Kᵀ and
softmax(·)·V inside the windows, each H_p·W_p·w²·C: 4·N·C² + 2·N·w²·C for N = H_p·W_p. The
softmax, the bias-table lookup and the mask are not multiply-accumulates.
"""

from __future__ import annotations

from ..core.errors import ShapeError
from ..core.model import Counts
from .base import BOOL, NONNEG_INT, POS_INT, Keras, Layer, Out, Param, Torch, ew, need_spatial, shape_text
from .worked import n


class WindowAttention(Layer):
    type = "window_attention"
    aliases = ("shifted_window_attention", "swin_attention")
    doc = ("Swin V1 (shifted) window self-attention on H×W×C: params 4·C² + 4·C + (2w − 1)²·heads; "
           "MACs 4·N·C² + 2·N·w²·C over N = H_p·W_p positions padded to a multiple of w")
    primary = "heads"
    params = {
        "heads": Param(POS_INT, doc="number of heads h (must divide C)"),
        "window": Param(POS_INT, 7, "window size w (positions per side)"),
        "shift": Param(NONNEG_INT, 0, "shift of the windows (w/2 every second block; no effect on the counts)"),
        "qkv_bias": Param(BOOL, True, "biases of the Q, K, V projection (3·C)"),
        "proj_bias": Param(BOOL, True, "bias of the output projection (C)"),
    }

    def infer(self, ins, p) -> Out:
        shape = tuple(ins[0])
        need_spatial(self, shape)
        h, w, c = shape
        heads, win = p["heads"], p["window"]
        if c % heads:
            raise ShapeError(f"heads={heads} does not divide the {c} channels", received=f"input {shape_text(shape)}")
        hp, wp = -(-h // win) * win, -(-w // win) * win
        positions = hp * wp
        table = (2 * win - 1) ** 2 * heads
        macs = 4 * positions * c * c + 2 * positions * win * win * c
        biases = (3 * c if p["qkv_bias"] else 0) + (c if p["proj_bias"] else 0)
        # a position sees its window (w×w, aligned to the window grid: at most w along an axis)
        return Out(shape, Counts(weights=4 * c * c + table, biases=biases, macs=macs),
                   rf=(win, win, 1, 1), work={"padded": (hp, wp), "table": table})

    def elementwise(self, ins, p, out) -> dict:
        (hp, wp), c, w2, heads = out.work["padded"], out.shape[2], p["window"] ** 2, p["heads"]
        # projection biases at every padded position, the position bias added to each of the
        # heads·N·w² scores, and the softmax over them
        return ew(bias=hp * wp * ((3 * c if p["qkv_bias"] else 0) + (c if p["proj_bias"] else 0) + heads * w2),
                  softmax=heads * hp * wp * w2)

    def describe(self, p) -> str:
        w = p.get("window", 7)  # the heads and the shift are in --explain and the spec
        return f"window_attention {w}×{w}"

    def explain(self, w) -> list:
        h, wd, c = w.in_shape
        hp, wp = w.out.work["padded"]
        win, heads = w.p["window"], w.p["heads"]
        r = w.r
        pad = "" if (hp, wp) == (h, wd) else f" (padded from {h}×{wd} to a multiple of {win})"
        npos = hp * wp
        return [
            ("params", f"params = 4·C² + (2w − 1)²·h = 4·{c}² + {2 * win - 1}²·{heads} = {n(r.weights)} weights"
                       + (f" + {n(r.biases)} biases = {n(r.params)}" if r.biases and w.conventions.count_biases
                          else "")),
            ("macs", f"MACs = 4·N·C² + 2·N·w²·C with N = {hp}·{wp} = {n(npos)}{pad}: 4·{n(npos)}·{c}² + "
                     f"2·{n(npos)}·{win}²·{c} = {n(r.macs)} (softmax not counted)"),
        ]

    def torch(self, p, ins) -> tuple:
        return (Torch("window_attention", (ins[0][-1], p["heads"], p["window"], p["shift"]),
                      {"qkv_bias": p["qkv_bias"], "proj_bias": p["proj_bias"]}),)

    def keras(self, p, ins) -> tuple:
        return (Keras("WindowAttention", (ins[0][-1], p["heads"], p["window"], p["shift"]),  # the exporter's own
                      {"qkv_bias": p["qkv_bias"], "proj_bias": p["proj_bias"]}),)


LAYERS = (WindowAttention,)
