"""Layers that slide a window over H×W: convolution and pooling."""

from __future__ import annotations

from typing import Any, Mapping

from .. import formulas as fm
from ..errors import ShapeError
from ..model import Counts
from .activations import FUSABLE
from .base import (BOOL, PADDING, PAIR, POS_INT, Layer, Out, Param, Warn, choice, frac_text,
                   need_spatial, shape_text, size_expr)


def _axis_pads(padding, h: int, w: int, kernel, stride, dilation):
    """Resolve a normalised padding (4-tuple, 'same', 'valid') to (top, bottom, left, right)."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        _, t, b = fm.same_padding(h, kernel[0], stride[0], dilation[0])
        _, left, right = fm.same_padding(w, kernel[1], stride[1], dilation[1])
        return (t, b, left, right)
    return padding


def window(layer: Layer, shape, kernel, stride, padding, dilation=(1, 1), ceil_mode=False):
    """Output H, W of a sliding window, the pads used, and warnings for sizes that do not fit."""
    need_spatial(layer, shape)
    h, w, _ = shape
    pads = _axis_pads(padding, h, w, kernel, stride, dilation)
    out, misfits = [], []
    for axis, size, f, s, d, pb, pa in (
        ("H", h, kernel[0], stride[0], dilation[0], pads[0], pads[1]),
        ("W", w, kernel[1], stride[1], dilation[1], pads[2], pads[3]),
    ):
        f_eff = fm.effective_kernel(f, d)
        if ceil_mode:
            r = fm.pool_output(size, f, s, pb, d, ceil_mode=True, p_after=pa)
        else:
            r = fm.conv_output(size, f, s, pb, pa, d)
        if r.size < 1:
            what = f"kernel {f_eff}" + (f" (dilated from {f})" if d != 1 else "")
            raise ShapeError(
                f"{what} is larger than the padded input {size + pb + pa} along {axis}",
                received=f"input {shape_text(shape)}, padding {pb}+{pa}",
            )
        out.append(r.size)
        if not r.fits and not ceil_mode:
            misfits.append((axis, (size, f_eff, pb, pa, s, r)))
    if len(misfits) == 2 and misfits[0][1] == misfits[1][1]:
        misfits = [("H and W", misfits[0][1])]
    warns = []
    for axis, (size, f_eff, pb, pa, s, r) in misfits:
        pad = pb if pb == pa else f"{pb}+{pa}"
        warns.append(Warn(
            f"{axis}: {size_expr(size, f_eff, pb, pa, s)} = {frac_text(r.exact)}: these hyperparameters "
            f"do not fit (W={size}, F={f_eff}, P={pad}, S={s}); floored to {r.size} as PyTorch does",
            fit=True,
        ))
    return out[0], out[1], pads, warns


class Conv(Layer):
    type = "conv"
    aliases = ("conv2d",)
    doc = "2-D convolution (cross-correlation); groups=C_in with filters=C_in·m is depthwise"
    primary = "filters"
    params = {
        "filters": Param(POS_INT, doc="number of output channels K"),
        "kernel": Param(PAIR, doc="F, or [F_h, F_w]"),
        "stride": Param(PAIR, 1, "S, or [S_h, S_w]"),
        "padding": Param(PADDING, 0, "P, [P_h, P_w], [top, bottom, left, right], same or valid"),
        "dilation": Param(PAIR, 1, "d (1 is a dense kernel, as in PyTorch)"),
        "groups": Param(POS_INT, 1, "channel groups (C_in for depthwise)"),
        "bias": Param(BOOL, True, "learnable bias per filter"),
        "activation": Param(choice(*FUSABLE), None, "activation fused into this layer (adds no row)"),
    }

    def infer(self, ins, p: Mapping[str, Any]) -> Out:
        shape = ins[0]
        need_spatial(self, shape)
        c_in, k, g = shape[2], p["filters"], p["groups"]
        if c_in % g or k % g:
            bad = f"{c_in} input channels" if c_in % g else f"{k} filters"
            raise ShapeError(f"groups={g} does not divide the {bad}", received=f"input {shape_text(shape)}")
        oh, ow, _, warns = window(self, shape, p["kernel"], p["stride"], p["padding"], p["dilation"])
        fh, fw = p["kernel"]
        counts = Counts(
            weights=fm.conv_weights(fh, fw, c_in, k, g),
            biases=k if p["bias"] else 0,
            macs=fm.conv_macs(oh, ow, k, fh, fw, c_in, g),
        )
        rf = (fm.effective_kernel(fh, p["dilation"][0]), fm.effective_kernel(fw, p["dilation"][1]),
              p["stride"][0], p["stride"][1])
        return Out((oh, ow, k), counts, warns, rf)


class _Pool(Layer):
    primary = "kernel"
    params = {
        "kernel": Param(PAIR, doc="window F, or [F_h, F_w]"),
        "stride": Param(PAIR, None, "S; defaults to the kernel (PyTorch)"),
        "padding": Param(PADDING, 0, "P, [P_h, P_w], [top, bottom, left, right], same or valid"),
        "ceil_mode": Param(BOOL, False, "round the output size up (Caffe, PyTorch ceil_mode)"),
    }

    def configure(self, p: dict) -> dict:
        if p["stride"] is None:
            p["stride"] = p["kernel"]
        return p

    def infer(self, ins, p: Mapping[str, Any]) -> Out:
        shape = ins[0]
        dil = p.get("dilation", (1, 1))
        oh, ow, pads, warns = window(self, shape, p["kernel"], p["stride"], p["padding"], dil, p["ceil_mode"])
        if isinstance(p["padding"], tuple):
            kh, kw = p["kernel"]
            if max(pads[0], pads[1]) * 2 > kh or max(pads[2], pads[3]) * 2 > kw:
                warns.append(Warn(f"padding {max(pads)} is more than half the kernel; PyTorch refuses this"))
        rf = (fm.effective_kernel(p["kernel"][0], dil[0]), fm.effective_kernel(p["kernel"][1], dil[1]),
              p["stride"][0], p["stride"][1])
        return Out((oh, ow, shape[2]), Counts(), warns, rf)


class MaxPool(_Pool):
    type = "maxpool"
    aliases = ("maxpool2d", "max_pool")
    doc = "max pooling over F×F windows"
    params = {**_Pool.params, "dilation": Param(PAIR, 1, "d (PyTorch MaxPool2d dilation)")}


class AvgPool(_Pool):
    type = "avgpool"
    aliases = ("avgpool2d", "avg_pool")
    doc = "average pooling over F×F windows"
    params = {**_Pool.params, "count_include_pad": Param(BOOL, True, "average includes padding (no effect on shapes)")}


class _GlobalPool(Layer):
    params = {}

    def infer(self, ins, p) -> Out:
        shape = ins[0]
        need_spatial(self, shape)
        return Out((shape[2],), Counts(), [], ("global",))


class GlobalAvgPool(_GlobalPool):
    type = "global_avgpool"
    aliases = ("gap", "globalaveragepooling2d")
    doc = "average over all of H×W; output is a vector of C (Keras GlobalAveragePooling2D)"


class GlobalMaxPool(_GlobalPool):
    type = "global_maxpool"
    aliases = ("globalmaxpooling2d",)
    doc = "maximum over all of H×W; output is a vector of C"


class _AdaptivePool(Layer):
    primary = "size"
    params = {"size": Param(PAIR, doc="output H×W, or one number for a square")}

    def infer(self, ins, p) -> Out:
        shape = ins[0]
        need_spatial(self, shape)
        oh, ow = p["size"]
        h, w, c = shape
        # PyTorch's adaptive windows: start floor(i·H/O), end ceil((i+1)·H/O); the widest
        # window bounds the receptive field, the stride is H/O on average.
        fh = max(-(-((i + 1) * h) // oh) - (i * h) // oh for i in range(oh)) if oh <= 4096 else -(-h // oh) + 1
        fw = max(-(-((i + 1) * w) // ow) - (i * w) // ow for i in range(ow)) if ow <= 4096 else -(-w // ow) + 1
        if (oh, ow) == (1, 1):
            return Out((1, 1, c), Counts(), [], ("global",))
        warns = []
        if h % oh or w % ow:
            warns.append(Warn(f"{h}×{w} does not divide into {oh}×{ow}: windows overlap or differ in size"))
        return Out((oh, ow, c), Counts(), warns, (fh, fw, h // oh, w // ow))


class AdaptiveAvgPool(_AdaptivePool):
    type = "adaptive_avgpool"
    aliases = ("adaptiveavgpool2d",)
    doc = "average pooling to a fixed output size (PyTorch AdaptiveAvgPool2d)"


class AdaptiveMaxPool(_AdaptivePool):
    type = "adaptive_maxpool"
    aliases = ("adaptivemaxpool2d",)
    doc = "max pooling to a fixed output size (PyTorch AdaptiveMaxPool2d)"


LAYERS = (Conv, MaxPool, AvgPool, GlobalAvgPool, GlobalMaxPool, AdaptiveAvgPool, AdaptiveMaxPool)
