"""Transposed convolution ("deconvolution", PyTorch ConvTranspose2d, Keras Conv2DTranspose).

O = (W − 1)·S − 2P + d·(F − 1) + output_padding + 1 per axis (PyTorch); ``padding: same`` is
Keras's O = W·S, ``valid`` is P = 0. Weights are counted as for a convolution
((F_h·F_w·C_in/groups)·K); MACs are counted the way ``torch.utils.flop_counter`` counts a
transposed convolution: every *input* position multiplies F_h·F_w·(K/groups) weights per input
channel, H_in·W_in·C_in·F_h·F_w·K/groups, bias additions excluded.

Receptive field (Araujo et al.): a transposed convolution is a stride-1 convolution over the
input with S − 1 zeros inserted between pixels, so the jump divides by S (a Fraction) and an
output sees at most ⌊(F_eff − 1)/S⌋ + 1 input positions along an axis (taps falling on the
inserted zeros see nothing).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

from .. import formulas as fm
from ..errors import ShapeError
from ..model import Counts
from .activations import FUSABLE, torch_activation
from .base import (BOOL, NONNEG_PAIR, PADDING, PAIR, POS_INT, Out, Param, Torch, Windowed, choice, need_spatial,
                   shape_text)


def input_span(f: int, d: int, s: int) -> int:
    """How many input positions (minus one) one output of a transposed conv reaches along an axis.

    Taps sit at k·d (k < F) on the zero-inserted input; those with the same residue mod S hit
    real pixels together. The widest such set spans (max − min)/S input positions.

    >>> input_span(3, 1, 2), input_span(4, 1, 2), input_span(3, 1, 1), input_span(3, 2, 2)
    (1, 1, 2, 2)
    """
    if s == 1:
        return d * (f - 1)
    if s > 4096:  # one tap per residue at most when S is huge; avoid the loop
        return (d * (f - 1)) // s
    best = 0
    for c in range(s):
        taps = [k * d for k in range(f) if (k * d) % s == c]
        if taps:
            best = max(best, (taps[-1] - taps[0]) // s)
    return best


class ConvTranspose(Windowed):
    type = "conv_transpose"
    weight_layers = 1
    imports = {"onnx": ("ConvTranspose",), "keras": ("Conv2DTranspose",), "caffe": ("Deconvolution",)}
    aliases = ("tconv", "deconv", "convtranspose2d", "conv2dtranspose", "conv_transpose2d")
    doc = "transposed convolution: O = (W − 1)·S − 2P + d·(F − 1) + output_padding + 1"
    primary = "filters"
    params = {
        "filters": Param(POS_INT, doc="number of output channels K"),
        "kernel": Param(PAIR, doc="F, or [F_h, F_w]"),
        "stride": Param(PAIR, 1, "S, or [S_h, S_w]"),
        "padding": Param(PADDING, 0, "P or [P_h, P_w] (removed from both sides), same (O = W·S) or valid (P = 0)"),
        "output_padding": Param(NONNEG_PAIR, 0, "extra rows/columns on one side; less than the stride or dilation"),
        "dilation": Param(PAIR, 1, "d (1 is a dense kernel, as in PyTorch)"),
        "groups": Param(POS_INT, 1, "channel groups"),
        "bias": Param(BOOL, True, "learnable bias per filter"),
        "activation": Param(choice(*FUSABLE), None, "activation fused into this layer (adds no row)"),
    }

    def infer(self, ins, p: Mapping[str, Any]) -> Out:
        shape = ins[0]
        need_spatial(self, shape)
        h, w, c_in = shape
        k, g = p["filters"], p["groups"]
        if c_in % g or k % g:
            bad = f"{c_in} input channels" if c_in % g else f"{k} filters"
            raise ShapeError(f"groups={g} does not divide the {bad}", received=f"input {shape_text(shape)}")
        fh, fw = p["kernel"]
        sh, sw = p["stride"]
        dh, dw = p["dilation"]
        oph, opw = p["output_padding"]
        pad = p["padding"]
        out, axes = [], []
        for axis, size, f, s, d, op, i in (("H", h, fh, sh, dh, oph, 0), ("W", w, fw, sw, dw, opw, 2)):
            if op >= max(s, d):
                raise ShapeError(f"output_padding must be smaller than the stride or the dilation along {axis}",
                                 received=f"output_padding {op}, stride {s}, dilation {d}")
            if pad == "same":
                o = size * s + op
            else:
                pb, pa = (0, 0) if pad == "valid" else (pad[i], pad[i + 1])
                if pb != pa:
                    raise ShapeError("a transposed conv removes the same padding from both sides of an axis",
                                     received=f"padding {pb}+{pa} along {axis}")
                o = fm.transposed_conv_output(size, f, s, pb, op, d)
                axes.append((axis, size, f, s, d, op, pb, o))
            if o < 1:
                raise ShapeError(f"output size along {axis} would be {o}: the padding removes more than "
                                 "the transposed conv produces", received=f"input {shape_text(shape)}")
            out.append(o)
        counts = Counts(
            weights=fm.conv_weights(fh, fw, c_in, k, g),
            biases=k if p["bias"] else 0,
            macs=fm.transposed_conv_macs(h, w, c_in, fh, fw, k, g),
        )
        rf = (input_span(fh, dh, sh) + 1, input_span(fw, dw, sw) + 1, Fraction(1, sh), Fraction(1, sw))
        return Out((out[0], out[1], k), counts, [], rf, {"axes": axes, "same": pad == "same"})

    def explain(self, w) -> list:
        from .spatial import conv_counts_lines
        from .worked import size_lines

        (h, wd, _), oh, ow = w.in_shape, w.r.output_shape[0], w.r.output_shape[1]
        if w.out.work["same"]:
            lines = [("output_shape", f"padding 'same' (Keras): H_out = {h}·{w.p['stride'][0]} (+ output_padding), "
                                      f"W_out = {wd}·{w.p['stride'][1]} → {oh}×{ow}")]
        else:
            lines = size_lines([(axis, f"({size} − 1)·{s} − 2·{pad} + {d}·({f} − 1) + {op} + 1", o, "")
                                for axis, size, f, s, d, op, pad, o in w.out.work["axes"]], (oh, ow))
        return lines + conv_counts_lines(w, transposed=True)

    def rf_formula(self, r_in, j_in, f, s, r_out, j_out) -> str:
        from .worked import n

        # the step infer gave: f = 1 + the input positions one output reaches (input_span), S = 1/stride
        return (f"r = r_in + (taps − 1)·j_in = {n(r_in)} + ({n(f)} − 1)·{n(j_in)} = {n(r_out)} "
                f"(taps: input positions one output reaches); jump = j_in/S = {n(j_in)}/{n(1 / s)} = {n(j_out)}")

    def torch(self, p, ins) -> tuple:
        pad = p["padding"]
        if pad == "same":
            return None  # Keras's O = W·S has no one ConvTranspose2d
        t, _, left, _ = (0, 0, 0, 0) if pad == "valid" else pad
        return (Torch("ConvTranspose2d", (ins[0][2], p["filters"], tuple(p["kernel"])),
                      {"stride": tuple(p["stride"]), "padding": (t, left), "output_padding": tuple(p["output_padding"]),
                       "groups": p["groups"], "bias": p["bias"], "dilation": tuple(p["dilation"])}),) \
            + torch_activation(p.get("activation"))


LAYERS = (ConvTranspose,)
