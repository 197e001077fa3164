"""Pure integer formulas, one per function, each with a textbook example.

Nothing here rounds through floats: a stride that does not divide is reported as a fraction.
Sources: CS231n notes (conv output size), TensorFlow's SAME padding, PyTorch's pooling
shape rule, Araujo et al. 2019 (receptive fields).
"""

from __future__ import annotations

from fractions import Fraction
from math import prod
from typing import NamedTuple


def effective_kernel(f: int, d: int = 1) -> int:
    """Dilated kernel extent F_eff = d·(F − 1) + 1.

    >>> effective_kernel(3, 2)   # a 3×3 kernel with dilation 2 spans 5 pixels
    5
    >>> effective_kernel(7)
    7
    """
    return d * (f - 1) + 1


class OutSize(NamedTuple):
    """Output length along one axis and whether the hyperparameters divided exactly."""

    size: int
    exact: Fraction  # (W − F_eff + P)/S + 1 exactly: a Fraction when it does not divide, else the int
    fits: bool


def conv_output(w: int, f: int, s: int = 1, p_before: int = 0, p_after: int = 0, d: int = 1) -> OutSize:
    """O = floor((W − F_eff + P_before + P_after)/S) + 1 (PyTorch / Keras floor semantics).

    CS231n: 7×7 input, 3×3 filter, stride 1, pad 0 → 5; stride 2 → 3.

    >>> conv_output(7, 3, 1).size, conv_output(7, 3, 2).size
    (5, 3)
    >>> conv_output(224, 3, 1, 1, 1).size    # VGG: 3×3, pad 1 keeps 224
    224
    >>> r = conv_output(10, 3, 2)            # CS231n: W=10, F=3, P=0, S=2 does not fit
    >>> r.size, r.exact, r.fits
    (4, Fraction(9, 2), False)
    """
    span = w + p_before + p_after - effective_kernel(f, d)
    q, rem = divmod(span, s)
    # the exact fraction only when it is one: building Fractions dominated 100k-layer specs
    return OutSize(q + 1, Fraction(span, s) + 1 if rem else q + 1, rem == 0)


def pool_output(w: int, f: int, s: int, p: int = 0, d: int = 1, ceil_mode: bool = False,
                p_after: int | None = None) -> OutSize:
    """Pooling output length; ceil_mode as PyTorch (and Caffe) do it.

    PyTorch drops a last window that would start inside the right padding.
    GoogLeNet's 3×3/2 pools with ceil rounding: 112 → 56, 56 → 28, 28 → 14, 14 → 7.

    >>> [pool_output(w, 3, 2, ceil_mode=True).size for w in (112, 56, 28, 14)]
    [56, 28, 14, 7]
    >>> pool_output(112, 3, 2).size        # floor: 55
    55
    >>> pool_output(7, 2, 2, ceil_mode=True).size   # the X/O toy: 7×7 → 4×4
    4
    """
    pa = p if p_after is None else p_after
    span = w + p + pa - effective_kernel(f, d)
    if not ceil_mode:
        q, rem = divmod(span, s)
        return OutSize(q + 1, Fraction(span, s) + 1 if rem else q + 1, rem == 0)
    q = -((-span) // s)  # ceil
    out = q + 1
    if (out - 1) * s >= w + p:
        out -= 1
    return OutSize(out, Fraction(span, s) + 1, span % s == 0)


def same_padding(w: int, f: int, s: int = 1, d: int = 1) -> tuple:
    """TensorFlow "same": O = ceil(W/S); total pad = max((O − 1)·S + F_eff − W, 0),
    the odd pixel going to the bottom/right. Returns (out, pad_before, pad_after).

    TF example: 10×10 input, 5×5 filter, stride 2, SAME → 5, padded (1, 2).

    >>> same_padding(10, 5, 2)
    (5, 1, 2)
    >>> same_padding(32, 3, 1)
    (32, 1, 1)
    """
    out = -(-w // s)
    total = max((out - 1) * s + effective_kernel(f, d) - w, 0)
    return out, total // 2, total - total // 2


def transposed_conv_output(w: int, f: int, s: int = 1, p: int = 0, output_padding: int = 0, d: int = 1) -> int:
    """O = (W − 1)·S − 2P + d·(F − 1) + output_padding + 1.

    >>> transposed_conv_output(7, 3, 2, 1, 1)    # 7×7 → 14×14, the usual 2× upsampling
    14
    """
    return (w - 1) * s - 2 * p + d * (f - 1) + output_padding + 1


def keras_transposed_conv_output(w: int, f: int, s: int, padding: str, output_padding=None, d: int = 1) -> int:
    """Keras 3 ``Conv2DTranspose`` with ``padding`` "same" or "valid" (keras/src/backend/common/
    backend_utils.py, ``_get_output_shape_given_tf_padding``), F_eff = d·(F − 1) + 1:

    - valid: (W − 1)·S + F_eff + output_padding; without output_padding, W·S + max(F_eff − S, 0)
    - same: W·S without output_padding; with it, (W − 1)·S + F_eff − 2⌊F_eff/2⌋ + output_padding

    >>> keras_transposed_conv_output(11, 5, 4, "same", 3), keras_transposed_conv_output(17, 6, 4, "same", 2)
    (44, 66)
    >>> keras_transposed_conv_output(35, 1, 3, "valid"), keras_transposed_conv_output(7, 3, 2, "same")
    (105, 14)
    """
    f_eff = effective_kernel(f, d)
    if padding == "valid":
        if output_padding is None:
            return w * s + max(f_eff - s, 0)
        return (w - 1) * s + f_eff + output_padding
    if output_padding is None:
        return w * s
    return (w - 1) * s + f_eff % 2 + output_padding


def transposed_conv_macs(h_in: int, w_in: int, c_in: int, fh: int, fw: int, k: int, groups: int = 1) -> int:
    """H_in·W_in·C_in·F_h·F_w·(K/groups): each input value meets F_h·F_w·K/groups weights.

    This is how ``torch.utils.flop_counter`` counts ``conv_transpose2d`` (FLOPs = 2 × this).
    7×7×64 → 32 filters 3×3: 7·7·64·3·3·32.

    >>> transposed_conv_macs(7, 7, 64, 3, 3, 32)
    903168
    """
    return h_in * w_in * c_in * fh * fw * (k // groups)


def conv_weights(fh: int, fw: int, c_in: int, k: int, groups: int = 1) -> int:
    """(F_h·F_w·C_in/groups)·K.

    CS231n VGG16 conv1_2: (3·3·64)·64 = 36,864.

    >>> conv_weights(3, 3, 64, 64)
    36864
    >>> conv_weights(3, 3, 384, 384, groups=2)   # AlexNet conv4, split over two GPUs
    663552
    """
    return fh * fw * (c_in // groups) * k


def conv_macs(oh: int, ow: int, k: int, fh: int, fw: int, c_in: int, groups: int = 1) -> int:
    """O_h·O_w·K·(F_h·F_w·C_in/groups); bias additions excluded.

    VGG16 conv1_1: 224·224·64·(3·3·3) = 86,704,128.

    >>> conv_macs(224, 224, 64, 3, 3, 3)
    86704128
    """
    return oh * ow * k * fh * fw * (c_in // groups)


def dense_weights(n_in: int, n_out: int) -> int:
    """N_in·N_out. The slide's FC net 3 → 4 → 4 → 1: 12, 16, 4.

    >>> [dense_weights(a, b) for a, b in ((3, 4), (4, 4), (4, 1))]
    [12, 16, 4]
    """
    return n_in * n_out


def dense_macs(n_in: int, n_out: int) -> int:
    """N_in·N_out multiply-accumulates.

    >>> dense_macs(7 * 7 * 512, 4096)
    102760448
    """
    return n_in * n_out


def elements(shape) -> int:
    """Number of values in a tensor of this shape.

    >>> elements((224, 224, 64))
    3211264
    """
    return prod(shape)


def receptive_field(r_in: int, j_in: int, f_eff: int, s: int) -> tuple:
    """One step of r_out = r_in + (F_eff − 1)·j_in, j_out = j_in·S (Araujo et al. 2019).

    Three stacked 3×3 stride-1 convs see 7×7:

    >>> r, j = 1, 1
    >>> for _ in range(3):
    ...     r, j = receptive_field(r, j, 3, 1)
    >>> r, j
    (7, 1)
    """
    return r_in + (f_eff - 1) * j_in, j_in * s
