"""Transposed convolution: the formula, textbook / PyTorch figures, and PyTorch as an oracle."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from cnncalc import analyze
from cnncalc.core.errors import ShapeError
from cnncalc.load import parse_spec


def one(text_layer: str, inp: str = "[7, 7, 64]"):
    return analyze(parse_spec(f"input: {inp}\nlayers:\n  - {text_layer}\n", "<t>")).layers[-1]


def test_upsampling_by_two():
    # (7 − 1)·2 − 2·1 + (3 − 1) + 1 + 1 = 14
    r = one("tconv: {filters: 32, kernel: 3, stride: 2, padding: 1, output_padding: 1}")
    assert r.output_shape == (14, 14, 32)
    assert r.weights == 3 * 3 * 64 * 32 and r.biases == 32
    assert r.macs == 7 * 7 * 64 * 3 * 3 * 32  # torch's flop counter: input positions × kernel × C_in × C_out


@pytest.mark.parametrize("alias", ["conv_transpose", "tconv", "deconv", "convtranspose2d"])
def test_aliases(alias):
    assert one(f"{alias}: {{filters: 8, kernel: 2, stride: 2}}").output_shape == (14, 14, 8)


def test_dcgan_generator_step():
    # DCGAN: 4×4 kernel, stride 2, padding 1 doubles the size: 4 → 8
    assert one("deconv: {filters: 256, kernel: 4, stride: 2, padding: 1}", "[4, 4, 512]").output_shape == (8, 8, 256)


def test_keras_same_is_w_times_s():
    assert one("tconv: {filters: 4, kernel: 3, stride: 2, padding: same}", "[5, 5, 3]").output_shape == (10, 10, 4)


def test_dilation_and_groups():
    # (5 − 1)·1 − 0 + 2·(3 − 1) + 0 + 1 = 9 ; weights 3·3·(8/2)·6
    r = one("tconv: {filters: 6, kernel: 3, dilation: 2, groups: 2}", "[5, 5, 8]")
    assert r.output_shape == (9, 9, 6)
    assert r.weights == 3 * 3 * 4 * 6


def test_bad_output_padding_and_negative_size():
    with pytest.raises(ShapeError, match="output_padding"):
        one("tconv: {filters: 4, kernel: 3, stride: 2, output_padding: 2}")
    with pytest.raises(ShapeError, match="output size"):
        one("tconv: {filters: 4, kernel: 1, padding: 3}", "[2, 2, 1]")


def test_receptive_field_jump_divides_by_stride():
    r = one("tconv: {filters: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1}")
    assert r.jump == (Fraction(1, 2), Fraction(1, 2))
    assert r.receptive_field == (2, 2)  # a 3-tap kernel over a 2×-zero-stuffed input hits 2 real pixels


torch = pytest.importorskip("torch")

from . import torch_oracle  # noqa: E402
from .test_torch_diff import compare  # noqa: E402


def _tconv(p, in_shape):
    _, _, c = in_shape
    pad = p["padding"]
    assert pad not in ("same", "valid")
    return torch.nn.Sequential(torch.nn.ConvTranspose2d(
        c, p["filters"], p["kernel"], stride=p["stride"], padding=(pad[0], pad[2]),
        output_padding=p["output_padding"] or 0, groups=p["groups"], bias=p["bias"], dilation=p["dilation"]))


@pytest.fixture(autouse=True, scope="module")
def _oracle_builds_tconv_as_written_here():
    # for this module's tests only: set at import, it stayed for the session (torch_oracle.overriding)
    with torch_oracle.overriding("conv_transpose", _tconv):
        yield


def test_torch_flop_counter_on_conv_transpose():
    from torch.utils.flop_counter import FlopCounterMode

    m = torch.nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1)
    with FlopCounterMode(display=False) as fc:
        y = m(torch.zeros(1, 64, 7, 7))
    assert tuple(y.shape) == (1, 32, 14, 14)
    assert fc.get_total_flops() == 2 * one("tconv: {filters: 32, kernel: 3, stride: 2, padding: 1, "
                                           "output_padding: 1}").macs
    assert sum(p.numel() for p in m.parameters()) == 18464


@pytest.mark.parametrize("seed", range(120))
def test_random_conv_transpose_matches_pytorch(seed):
    rng = random.Random(1000 + seed)
    g = rng.choice([1, 1, 2, 3])
    c, k = g * rng.randint(1, 4), g * rng.randint(1, 4)
    s, d = rng.choice([1, 2, 3, [2, 1]]), rng.choice([1, 1, 2])
    f = rng.choice([1, 2, 3, 4, 5, [3, 2]])
    p = rng.choice([0, 1, 2, [1, 0]])
    smax = max(s) if isinstance(s, list) else s
    op = rng.randint(0, max(smax, d) - 1) if rng.random() < 0.5 else 0
    if isinstance(s, list) and op:
        op = [min(op, s[0] - 1, d - 1) if s[0] <= d else min(op, max(s[0], d) - 1),
              min(op, max(s[1], d) - 1)]
    text = (f"input: [{rng.randint(1, 9)}, {rng.randint(1, 9)}, {c}]\nlayers:\n  - tconv: {{filters: {k}, kernel: {f}, "
            f"stride: {s}, padding: {p}, output_padding: {op}, dilation: {d}, groups: {g}, "
            f"bias: {str(rng.random() < 0.5).lower()}}}\n")
    graph = parse_spec(text, "<random>")
    try:
        analyze(graph)
    except ShapeError:
        # cnncalc refuses an output size below 1; PyTorch raises, or (size exactly 0) returns an empty tensor
        try:
            measured = torch_oracle.measure(graph, device="cpu")
        except Exception:
            return
        assert 0 in measured[graph.layers[-1].name].shape
        return
    compare(graph)
