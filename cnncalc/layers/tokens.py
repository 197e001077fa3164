"""Token sequences and attention (ViT).

A sequence of L tokens of C features is the shape L×C, written ``[L, C]`` (two numbers; H×W×C
has three, a vector one). ``to_tokens`` turns an H×W×C feature map into (H·W)×C (torchvision's
ViT: ``x.reshape(n, C, H·W).permute(0, 2, 1)``), ``class_token`` prepends a learnable token,
``position_bias`` adds a learnable L×C embedding, ``select_token`` keeps one token (ViT's head
reads token 0), and ``dense``, ``layernorm`` act on the last axis of every token.

``multihead_attention`` is PyTorch's ``nn.MultiheadAttention`` used as self-attention: the
query, key and value projections (3·C² weights, 3·C biases), the output projection (C², C):
4·C² + 4·C parameters with biases. Its MACs are the ones ``torch.utils.flop_counter`` counts:
the four projections, 4·L·C², and the two batched matrix products Q·Kᵀ and softmax(·)·V,
each heads·L·L·(C/heads) = L²·C; the softmax, the scaling by 1/√d and the bias additions are
not multiply-accumulates and are not counted.
"""

from __future__ import annotations

from ..core.errors import ShapeError
from ..core.model import Counts
from .base import (BOOL, NONNEG_INT, NUMBER, NUMBERS, POS_INT, Keras, Layer, Out, Param, ParamError, Torch, ew,
                   need_spatial, shape_text)
from .numeric import check_values, given
from .worked import n


def need_tokens(layer: Layer, shape) -> None:
    if len(shape) != 2:
        raise ShapeError(f"{layer.type} needs a token sequence L×C (add to_tokens after a feature map)",
                         received=shape_text(shape))


class ToTokens(Layer):
    type = "to_tokens"
    aliases = ("tokens", "flatten_tokens")
    doc = "H×W×C → a sequence of H·W tokens of C features (ViT's patch flattening); a view"
    view = True
    params = {}

    def infer(self, ins, p) -> Out:
        shape = ins[0]
        need_spatial(self, shape)
        h, w, c = shape
        return Out((h * w, c))

    def forward(self, p, ins, out_shape):
        return list(ins[0][1])  # H, W, C row-major is already token by token

    def torch(self, p, ins) -> tuple:
        return (Torch("to_tokens"),)

    def keras(self, p, ins) -> tuple:
        h, w, c = ins[0]
        return (Keras("Reshape", ((h * w, c),)),)  # channels last: row-major positions, as PyTorch's flatten(2)


class ClassToken(Layer):
    type = "class_token"
    aliases = ("cls_token",)
    doc = "prepend a learnable C-vector to the sequence: L×C → (L+1)×C; C weights"
    params = {"weights": Param(NUMBERS, None, "values only: the token, C numbers; changes no figure")}

    def infer(self, ins, p) -> Out:
        shape = ins[0]
        need_tokens(self, shape)
        length, c = shape
        check_values(p, "weights", (c,), f"{c} numbers (the class token)")
        return Out((length + 1, c), Counts(weights=c))

    def forward(self, p, ins, out_shape):
        c = ins[0][0][-1]
        return given(self, p, "weights", True, f"the class token, {c} numbers", "") + list(ins[0][1])

    def explain(self, w) -> list:
        length, c = w.in_shape
        return [("output_shape", f"L_out = L + 1 = {length} + 1 = {length + 1} tokens"),
                ("params", f"params = C = {n(c)} (the class token)")]

    def torch(self, p, ins) -> tuple:
        return (Torch("class_token", (ins[0][-1],)),)

    def keras(self, p, ins) -> tuple:
        return (Keras("ClassToken"),)  # the exporter's own layer (Keras has none)


class SelectToken(Layer):
    type = "select_token"
    aliases = ("token", "take_token")
    doc = "keep one token of the sequence, a vector of C (ViT's head reads the class token, index 0)"
    primary = "index"
    params = {"index": Param(NONNEG_INT, 0, "which token, counted from 0")}

    def infer(self, ins, p) -> Out:
        shape = ins[0]
        need_tokens(self, shape)
        if p["index"] >= shape[0]:
            raise ShapeError(f"token {p['index']} does not exist: the sequence has {shape[0]} tokens "
                             f"(0 to {shape[0] - 1})", received=shape_text(shape))
        return Out((shape[1],))

    def forward(self, p, ins, out_shape):
        (_, c), x = ins[0]
        return list(x[p["index"] * c:(p["index"] + 1) * c])

    def torch(self, p, ins) -> tuple:
        return (Torch("select_token", (p["index"],)),)

    def keras(self, p, ins) -> tuple:
        return (Keras("SelectToken", (p["index"],)),)


class MultiheadAttention(Layer):
    type = "multihead_attention"
    aliases = ("mha", "multiheadattention", "self_attention", "attention")
    doc = ("multi-head self-attention over a token sequence L×C (PyTorch nn.MultiheadAttention): "
           "params 4·C² + 4·C with bias; MACs 4·L·C² + 2·L²·C (softmax not counted)")
    imports = {"keras": ("MultiHeadAttention",)}
    primary = "heads"
    params = {
        "heads": Param(POS_INT, doc="number of heads h (must divide C)"),
        "bias": Param(BOOL, True, "biases of the four projections (4·C)"),
        "dropout": Param(NUMBER, 0.0, "attention dropout (no effect at inference)"),
        "in_proj_weight": Param(NUMBERS, None, "values only: Q, K, V projections stacked, 3·C rows of C "
                                               "(PyTorch's in_proj_weight); changes no figure"),
        "in_proj_bias": Param(NUMBERS, None, "values only: 3·C numbers, where bias is true"),
        "out_proj_weight": Param(NUMBERS, None, "values only: C rows of C"),
        "out_proj_bias": Param(NUMBERS, None, "values only: C numbers, where bias is true"),
    }

    def infer(self, ins, p) -> Out:
        shape = ins[0]
        need_tokens(self, shape)
        length, c = shape
        if c % p["heads"]:
            raise ShapeError(f"heads={p['heads']} does not divide the {c} features",
                             received=f"input {shape_text(shape)}")
        for key, want, what in (("in_proj_weight", (3 * c, c), f"{3 * c} rows of {c} numbers"),
                                ("in_proj_bias", (3 * c,), f"{3 * c} numbers"),
                                ("out_proj_weight", (c, c), f"{c} rows of {c} numbers"),
                                ("out_proj_bias", (c,), f"{c} numbers")):
            check_values(p, key, want, what)
        macs = 4 * length * c * c + 2 * length * length * c
        # every output token attends to every input token: the whole input is in its field
        return Out((length, c), Counts(weights=4 * c * c, biases=4 * c if p["bias"] else 0, macs=macs),
                   rf=("global",), work={"L": length, "C": c})

    def elementwise(self, ins, p, out) -> dict:
        length, c = out.shape  # the four projections' biases at every token; softmax over h·L² scores
        return ew(bias=4 * length * c if p["bias"] else 0, softmax=p["heads"] * length * length)

    def describe(self, p) -> str:
        return f"multihead_attention h{p.get('heads')}"

    def explain(self, w) -> list:
        length, c = w.in_shape
        r = w.r
        if r.biases and w.conventions.count_biases:
            params = f"params = 4·C² + 4·C = 4·{c}² + 4·{c} = {n(r.params)} (Q, K, V and output projections)"
        else:
            params = f"params = 4·C² = 4·{c}² = {n(r.params)} (Q, K, V and output projections)"
        heads = w.p["heads"]
        return [("params", params),
                ("macs", f"MACs = 4·L·C² + 2·L²·C = 4·{length}·{c}² + 2·{length}²·{c} = "
                         f"{n(4 * length * c * c)} + {n(2 * length * length * c)} = {n(r.macs)} "
                         f"(projections; Q·Kᵀ and A·V over {heads} heads of {c // heads}; softmax not counted)")]

    def configure(self, p):
        if not 0 <= p["dropout"] < 1:
            raise ParamError("dropout must be at least 0 and less than 1", p["dropout"])
        for key in ("in_proj_bias", "out_proj_bias"):
            if p.get(key) is not None and not p["bias"]:
                raise ParamError(f"{key} given but bias is false", key)
        return p

    def forward(self, p, ins, out_shape):
        """softmax(Q·Kᵀ/√d)·V per head, then the output projection (PyTorch's MultiheadAttention at
        inference): the projections exact, everything after the softmax in floats."""
        import math

        from .numeric import attend, linear_rows

        (length, c), x = ins[0]
        heads = p["heads"]
        d = c // heads
        bias = p["bias"]
        w_in = given(self, p, "in_proj_weight", True, f"{3 * c} rows of {c} numbers", "")
        b_in = given(self, p, "in_proj_bias", bias, f"{3 * c} numbers", "bias: false")
        w_out = given(self, p, "out_proj_weight", True, f"{c} rows of {c} numbers", "")
        b_out = given(self, p, "out_proj_bias", bias, f"{c} numbers", "bias: false")

        tokens = [x[i * c:(i + 1) * c] for i in range(length)]
        qkv = linear_rows(tokens, w_in, b_in, 3 * c, c)
        mixed = attend(qkv, c, heads, 1 / math.sqrt(d))
        out = linear_rows(mixed, w_out, b_out, c, c)
        return [float(v) for row in out for v in row]

    def torch(self, p, ins) -> tuple:
        return (Torch("self_attention", (ins[0][-1], p["heads"]), {"bias": p["bias"]}),)

    def keras(self, p, ins) -> tuple:
        # Keras's MultiHeadAttention called on (x, x): heads of C/heads, the same 4·C² + 4·C parameters
        return (Keras("SelfAttention", (p["heads"], ins[0][-1] // p["heads"]), {"use_bias": p["bias"]}),)


LAYERS = (ToTokens, ClassToken, SelectToken, MultiheadAttention)
