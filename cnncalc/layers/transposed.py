"""Transposed convolution ("deconvolution", PyTorch ConvTranspose2d, Keras Conv2DTranspose).

O = (W − 1)·S − 2P + d·(F − 1) + output_padding + 1 per axis (PyTorch) for a numeric padding.
``same`` and ``valid`` are Keras's words and follow Keras 3's ``Conv2DTranspose`` exactly
(``formulas.keras_transposed_conv_output``): without ``output_padding``, same is W·S and valid is
W·S + max(F_eff − S, 0); with it, same is (W − 1)·S + F_eff mod 2 + output_padding and valid is
(W − 1)·S + F_eff + output_padding. Keras refuses an output_padding that is not smaller than the
stride, and a stride above 1 together with a dilation above 1 (on any axes); so does cnncalc.
Weights are counted as for a convolution ((F_h·F_w·C_in/groups)·K); MACs are counted the way
``torch.utils.flop_counter`` counts a
transposed convolution: every *input* position multiplies F_h·F_w·(K/groups) weights per input
channel, H_in·W_in·C_in·F_h·F_w·K/groups, bias additions excluded.

Receptive field (Araujo et al.): a transposed convolution is a stride-1 convolution over the
input with S − 1 zeros inserted between pixels, so the jump divides by S (a Fraction) and an
output sees at most ⌊(F_eff − 1)/S⌋ + 1 input positions along an axis (taps falling on the
inserted zeros see nothing).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Mapping

from ..core import formulas as fm
from ..core.errors import ShapeError
from ..core.model import Counts
from .activations import FUSABLE, keras_activation, torch_activation
from .base import (BOOL, NONNEG_PAIR, NUMBERS, PADDING, PAIR, POS_INT, Keras, Out, Param, Torch, Windowed, biased,
                   choice, need_spatial, shape_text)


def input_span(f: int, d: int, s: int) -> int:
    """How many input positions (minus one) one output of a transposed conv reaches along an axis.

    Taps sit at k·d (k < F) on the zero-inserted input; those with the same residue mod S hit
    real pixels together. The widest such set spans (max − min)/S input positions.

    >>> input_span(3, 1, 2), input_span(4, 1, 2), input_span(3, 1, 1), input_span(3, 2, 2)
    (1, 1, 2, 2)
    """
    # Tap k reaches residue k·d mod S, which repeats with period p = S / gcd(d, S) in k: the
    # taps of one residue are k0, k0 + p, k0 + 2p, … and span d·p·⌊(F − 1 − k0)/p⌋ on the
    # zero-inserted input, i.e. (d / gcd)·⌊(F − 1 − k0)/p⌋ input positions; k0 = 0 is the widest.
    # O(1) whatever the kernel and stride (a loop over taps hung on kernel 100,000).
    g = math.gcd(d, s)
    return (d // g) * ((f - 1) // (s // g))


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
        "padding": Param(PADDING, 0, "P or [P_h, P_w] (removed from both sides, PyTorch), or Keras's same or valid"),
        "output_padding": Param(NONNEG_PAIR, None, "extra rows/columns on one side; less than the stride or "
                                "dilation (PyTorch), less than the stride (Keras same/valid)"),
        "dilation": Param(PAIR, 1, "d (1 is a dense kernel, as in PyTorch)"),
        "groups": Param(POS_INT, 1, "channel groups"),
        "bias": Param(BOOL, True, "learnable bias per filter"),
        "activation": Param(choice(*FUSABLE), None, "activation fused into this layer (adds no row)"),
        "weights": Param(NUMBERS, None, "values only: one F_h×F_w list per filter (F_h×F_w×C_in/groups when "
                                        "C_in/groups > 1), as a conv's; changes no figure"),
        "biases": Param(NUMBERS, None, "values only: K numbers, where bias is true"),
    }

    def configure(self, p: dict) -> dict:
        from .spatial import check_numbers

        check_numbers(p, p["filters"], p["kernel"])
        return p

    def infer(self, ins, p: Mapping[str, Any]) -> Out:
        shape = ins[0]
        need_spatial(self, shape)
        h, w, c_in = shape
        k, g = p["filters"], p["groups"]
        if c_in % g or k % g:
            bad = f"{c_in} input channels" if c_in % g else f"{k} filters"
            raise ShapeError(f"groups={g} does not divide the {bad}", received=f"input {shape_text(shape)}")
        fh, fw = p["kernel"]
        if p.get("weights") is not None:
            from .numeric import check_values

            cg = c_in // g
            check_values(p, "weights", (k, fh, fw) + ((cg,) if cg > 1 else ()),
                         f"{k} filters of {fh}×{fw}" + (f"×{cg}" if cg > 1 else "") + " numbers")
        sh, sw = p["stride"]
        dh, dw = p["dilation"]
        op_given = p["output_padding"]
        oph, opw = op_given if op_given is not None else (0, 0)
        pad = p["padding"]
        keras = pad in ("same", "valid")
        if keras and max(sh, sw) > 1 and max(dh, dw) > 1:
            raise ShapeError(f"padding '{pad}' follows Keras's Conv2DTranspose, which refuses a stride above 1 "
                             "together with a dilation above 1", received=f"stride {sh}×{sw}, dilation {dh}×{dw}")
        out, axes = [], []
        for axis, size, f, s, d, op, i in (("H", h, fh, sh, dh, oph, 0), ("W", w, fw, sw, dw, opw, 2)):
            if keras:
                if op_given is not None and op >= s:
                    raise ShapeError(f"output_padding must be smaller than the stride along {axis} "
                                     f"(Keras, padding '{pad}')", received=f"output_padding {op}, stride {s}")
                o = fm.keras_transposed_conv_output(size, f, s, pad, None if op_given is None else op, d)
            else:
                if op >= max(s, d):
                    raise ShapeError(f"output_padding must be smaller than the stride or the dilation along {axis}",
                                     received=f"output_padding {op}, stride {s}, dilation {d}")
                pb, pa = pad[i], pad[i + 1]
                if pb != pa:
                    raise ShapeError("a transposed conv removes the same padding from both sides of an axis",
                                     received=f"padding {pb}+{pa} along {axis}")
                o = fm.transposed_conv_output(size, f, s, pb, op, d)
            if o < 1:
                raise ShapeError(f"output size along {axis} would be {o}: the padding removes more than "
                                 "the transposed conv produces", received=f"input {shape_text(shape)}")
            out.append(o)
            axes.append((axis, size, f, s, d, op, 0 if keras else pad[i], o))
        counts = Counts(
            weights=fm.conv_weights(fh, fw, c_in, k, g),
            biases=k if p["bias"] else 0,
            macs=fm.transposed_conv_macs(h, w, c_in, fh, fw, k, g),
        )
        # where position 0's field starts, in input positions: (F_eff − 1 − P_before)/S before it;
        # Keras's same removes ⌊total/2⌋ before (TensorFlow's split), valid removes nothing
        offs = []
        for size, f, s, d, o, i in ((h, fh, sh, dh, out[0], 0), (w, fw, sw, dw, out[1], 2)):
            f_eff = fm.effective_kernel(f, d)
            if keras:
                pb = max((size - 1) * s + f_eff - o, 0) // 2 if pad == "same" else 0
            else:
                pb = pad[i]
            offs.append(Fraction(f_eff - 1 - pb, s))
        rf = (input_span(fh, dh, sh) + 1, input_span(fw, dw, sw) + 1, Fraction(1, sh), Fraction(1, sw), *offs)
        return Out((out[0], out[1], k), counts, [], rf, {"axes": axes, "pad": pad, "op_given": op_given})

    def elementwise(self, ins, p, out) -> dict:
        return biased(p, out.shape)

    def explain(self, w) -> list:
        from .spatial import conv_counts_lines
        from .worked import size_lines

        pad, op_given = w.out.work["pad"], w.out.work["op_given"]
        exprs = []
        for axis, size, f, s, d, op, pb, o in w.out.work["axes"]:
            f_eff = fm.effective_kernel(f, d)
            if pad == "same" and op_given is None:
                expr = f"{size}·{s}"
            elif pad == "same":
                expr = f"({size} − 1)·{s} + ({f_eff} mod 2) + {op}"
            elif pad == "valid" and op_given is None:
                expr = f"{size}·{s} + max({f_eff} − {s}, 0)"
            elif pad == "valid":
                expr = f"({size} − 1)·{s} + {f_eff} + {op}"
            else:
                expr = f"({size} − 1)·{s} − 2·{pb} + {d}·({f} − 1) + {op} + 1"
            exprs.append((axis, expr, Fraction(o), ""))
        lines = []
        if pad in ("same", "valid"):
            lines.append(("output_shape", f"padding '{pad}' (Keras Conv2DTranspose"
                                          + (", no output_padding)" if op_given is None else ", with output_padding)")))
        return lines + size_lines(exprs, w.r.output_shape[:2]) + conv_counts_lines(w, transposed=True)

    def forward(self, p, ins, out_shape):
        """Every input value times each filter tap, added at (i·S + tap·d − P_before) of the
        output (the weights laid out as a conv's: filter k, tap, input channel of its group);
        exact. P_before: the padding (PyTorch), 0 (Keras valid), ⌊total/2⌋ (Keras same)."""
        from .base import flat
        from .numeric import need, scaled
        from .spatial import bias_values, fused, sums_to_values

        (h, w, c), x = ins[0]
        oh, ow, k = out_shape
        fh, fw = p["kernel"]
        (sh, sw), (dh, dw), g = p["stride"], p["dilation"], p["groups"]
        cg, kg = c // g, k // g
        wts = flat(need(self, p, "weights", f"{k} filters of {fh}×{fw}" + (f"×{cg}" if cg > 1 else "")))
        bias = bias_values(self, p, k)
        pad = p["padding"]
        starts = []
        for size, f, s, d, o, i in ((h, fh, sh, dh, oh, 0), (w, fw, sw, dw, ow, 2)):
            if pad == "same":
                starts.append(max((size - 1) * s + fm.effective_kernel(f, d) - o, 0) // 2)
            else:
                starts.append(0 if pad == "valid" else pad[i])
        xs, dx = scaled(x)
        ws, dwt = scaled(wts)
        n = fh * fw * cg
        out = [0] * (oh * ow * k)
        for iy in range(h):
            for ix in range(w):
                base = (iy * w + ix) * c
                for fy in range(fh):
                    y = iy * sh + fy * dh - starts[0]
                    if not 0 <= y < oh:
                        continue
                    for fx in range(fw):
                        q = ix * sw + fx * dw - starts[1]
                        if not 0 <= q < ow:
                            continue
                        ob = (y * ow + q) * k
                        for kk in range(k):
                            wb = kk * n + (fy * fw + fx) * cg
                            xb = base + (kk // kg) * cg
                            out[ob + kk] += sum(ws[wb + ci] * xs[xb + ci] for ci in range(cg))
        return fused(p, sums_to_values(out, bias, k, dx, dwt), out_shape)

    def rf_formula(self, r_in, j_in, f, s, r_out, j_out) -> str:
        from .worked import n

        # the step infer gave: f = 1 + the input positions one output reaches (input_span), S = 1/stride
        return (f"r = r_in + (taps − 1)·j_in = {n(r_in)} + ({n(f)} − 1)·{n(j_in)} = {n(r_out)} "
                f"(taps: input positions one output reaches); jump = j_in/S = {n(j_in)}/{n(1 / s)} = {n(j_out)}")

    def torch(self, p, ins) -> tuple:
        pad = p["padding"]
        if pad == "same":
            return None  # Keras's O = W·S has no one ConvTranspose2d
        op = p["output_padding"]
        if pad == "valid":  # Keras's valid: padding 0, and without output_padding W·S + max(F_eff − S, 0)
            t = left = 0
            if op is None:
                op = tuple(max(s - fm.effective_kernel(f, d), 0)
                           for f, s, d in zip(p["kernel"], p["stride"], p["dilation"]))
        else:
            t, _, left, _ = pad
        return (Torch("ConvTranspose2d", (ins[0][2], p["filters"], tuple(p["kernel"])),
                      {"stride": tuple(p["stride"]), "padding": (t, left), "output_padding": tuple(op or (0, 0)),
                       "groups": p["groups"], "bias": p["bias"], "dilation": tuple(p["dilation"])}),) \
            + torch_activation(p.get("activation"))


    def keras(self, p, ins):
        if p["groups"] != 1 or (max(p["stride"]) > 1 and max(p["dilation"]) > 1):
            return None  # Keras's Conv2DTranspose has no groups, nor a stride with a dilation
        act, after = keras_activation(p.get("activation"))
        kw = {"strides": tuple(p["stride"]), "dilation_rate": tuple(p["dilation"]), "use_bias": p["bias"], **act}
        pad, op = p["padding"], p["output_padding"]
        if isinstance(pad, str):
            if op is not None:
                kw["output_padding"] = tuple(op)
            return (Keras("Conv2DTranspose", (p["filters"], tuple(p["kernel"])), {"padding": pad, **kw}),) + after
        # PyTorch's numeric padding: Keras's valid with the output padding given, (W − 1)·S + F_eff + op,
        # then the padding cropped from both sides
        op = tuple(op or (0, 0))
        if any(o >= s for o, s in zip(op, p["stride"])):
            return None  # Keras wants the output padding below the stride
        t, _, left, _ = pad
        crop = (Keras("Cropping2D", (((t, t), (left, left)),), suffix="_crop"),) if t or left else ()
        return (Keras("Conv2DTranspose", (p["filters"], tuple(p["kernel"])),
                      {"padding": "valid", "output_padding": op, **kw}),) + crop + after


LAYERS = (ConvTranspose,)
