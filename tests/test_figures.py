"""Issue 10, section 3 ("wrong or misleading figures"): each case with figures worked by hand
here (Keras's formulas, the windows of adaptive pooling), or by PyTorch where it is installed."""

from __future__ import annotations

import pytest

from cnncalc import analyze
from cnncalc.core.errors import ShapeError
from cnncalc.load import parse_spec

from .conftest import run_cli


def net(text: str, strict: bool = False, **conv):
    from cnncalc.core.model import Conventions

    return analyze(parse_spec(text, "<t>"), Conventions(**conv), strict=strict)


def one(layer: str, inp: str):
    return net(f"input: {inp}\nlayers:\n  - {layer}\n").layers[-1]


# ---------------------------------------------------------------------------------------------
# transposed convolution: Keras's same / valid (keras/src/backend/common/backend_utils.py)


def test_keras_same_with_output_padding():
    # (W − 1)·S + F − 2⌊F/2⌋ + output_padding: H (11 − 1)·4 + 5 − 4 + 3 = 44, W (17 − 1)·4 + 6 − 6 + 2 = 66
    r = one("tconv: {filters: 1, kernel: [5, 6], stride: 4, padding: same, output_padding: [3, 2]}", "[11, 17, 1]")
    assert r.output_shape == (44, 66, 1)


def test_keras_valid_kernel_smaller_than_stride():
    # W·S + max(F − S, 0): 35·3 + 0 = 105, 32·3 = 96 (PyTorch's padding 0 would give 103×94)
    r = one("tconv: {filters: 1, kernel: 1, stride: 3, padding: valid}", "[35, 32, 1]")
    assert r.output_shape == (105, 96, 1)
    # a kernel wider than the stride: 35·3 + (5 − 3) = 107
    assert one("tconv: {filters: 1, kernel: 5, stride: 3, padding: valid}", "[35, 35, 1]").output_shape[0] == 107


def test_keras_output_padding_written_as_zero_is_not_absent():
    # Keras: no output_padding → same is W·S = 14; output_padding 0 → (7 − 1)·2 + 3 mod 2 + 0 = 13
    assert one("tconv: {filters: 1, kernel: 3, stride: 2, padding: same}", "[7, 7, 1]").output_shape[0] == 14
    assert one("tconv: {filters: 1, kernel: 3, stride: 2, padding: same, output_padding: 0}",
               "[7, 7, 1]").output_shape[0] == 13
    # valid, output_padding 0: (35 − 1)·3 + 1 + 0 = 103 (as PyTorch with padding 0)
    assert one("tconv: {filters: 1, kernel: 1, stride: 3, padding: valid, output_padding: 0}",
               "[35, 35, 1]").output_shape[0] == 103


def test_keras_same_dilated_kernel():
    # stride 1, dilation 2, F = 3 → F_eff = 5; with output_padding 0: (6 − 1)·1 + 5 mod 2 + 0 = 6
    assert one("tconv: {filters: 1, kernel: 3, dilation: 2, padding: same, output_padding: 0}",
               "[6, 6, 1]").output_shape[0] == 6
    # valid: W·S + max(F_eff − S, 0) = 6 + 4 = 10
    assert one("tconv: {filters: 1, kernel: 3, dilation: 2, padding: valid}", "[6, 6, 1]").output_shape[0] == 10


@pytest.mark.parametrize("layer, match", [
    ("tconv: {filters: 1, kernel: 3, stride: 2, padding: same, output_padding: 2}", "smaller than the stride"),
    ("tconv: {filters: 1, kernel: 3, dilation: 2, padding: valid, output_padding: 1}", "smaller than the stride"),
    ("tconv: {filters: 1, kernel: 3, stride: [2, 1], dilation: [1, 2], padding: same}", "dilation above 1"),
])
def test_keras_refusals_are_refused(layer, match):
    with pytest.raises(ShapeError, match=match):
        one(layer, "[7, 7, 1]")


def test_numeric_padding_stays_pytorch():
    # (35 − 1)·3 − 0 + (1 − 1) + 0 + 1 = 103: PyTorch ConvTranspose2d(kernel 1, stride 3, padding 0)
    assert one("tconv: {filters: 1, kernel: 1, stride: 3, padding: 0}", "[35, 35, 1]").output_shape[0] == 103
    # a dilation-sized output_padding stays allowed for PyTorch: (4 − 1)·1 + 2·2 + 1 + 1 = 9
    assert one("tconv: {filters: 1, kernel: 3, dilation: 2, output_padding: 1}", "[4, 4, 1]").output_shape[0] == 9


def test_tconv_cli_issue_examples():
    res = run_cli("tconv", "11x17x1", "--filters", "1", "--kernel", "5x6", "--stride", "4", "--padding", "same",
                  "--output-padding", "3,2", "--format", "json")
    assert res.code == 0 and '"output_shape": [44, 66, 1]' in res.out
    res = run_cli("tconv", "35x32x1", "--filters", "1", "--kernel", "1", "--stride", "3", "--padding", "valid",
                  "--explain")
    assert res.code == 0 and "H_out = 35·3 + max(1 − 3, 0) = 105" in res.out
    assert "W_out = 32·3 + max(1 − 3, 0) = 96" in res.out


# ---------------------------------------------------------------------------------------------
# padding 'same' on a conv or pool is ⌈W/S⌉ by definition: no "does not fit"


def test_same_padding_is_not_a_misfit():
    # ⌈32/2⌉ = 16 with a 1×1 kernel: no padding is needed and the last row is simply not reached
    r = one("conv: {filters: 10, kernel: 1, stride: 2, padding: same}", "[32, 32, 3]")
    assert r.output_shape == (16, 16, 10) and r.warnings == ()
    strict = net("input: [32, 32, 3]\nlayers:\n  - conv: {filters: 10, kernel: 1, stride: 2, padding: same}\n",
                 strict=True)
    assert strict.layers[-1].output_shape == (16, 16, 10)
    # a pool too: ⌈7/2⌉ = 4
    assert one("maxpool: {kernel: 2, stride: 2, padding: same}", "[7, 7, 3]").output_shape == (4, 4, 3)
    res = run_cli("conv", "32x32x3", "--filters", "10", "--kernel", "1", "--stride", "2", "--padding", "same",
                  "--strict", "--explain")
    assert res.code == 0, res.err
    assert "do not fit" not in res.out and "warning" not in res.out
    assert "H_out = ⌈32/2⌉ = 16" in res.out


def test_numeric_padding_still_warns():
    # (32 − 1 + 0)/2 + 1 = 16.5 with padding 0: a real misfit
    assert one("conv: {filters: 1, kernel: 1, stride: 2}", "[32, 32, 3]").warnings


# ---------------------------------------------------------------------------------------------
# --weights-only: no false sum


def test_weights_only_totals_line_is_true():
    res = run_cli("vgg16", "--weights-only")
    assert res.code == 0
    line = next(x for x in res.out.splitlines() if x.startswith("params"))
    # CS231n: VGG16 has 138,344,128 weights and 13,416 biases (1,000 + 2·4,096 + conv filters)
    assert line.split() == ["params", "138,344,128", "(weights", "only;", "biases", "13,416", "not", "counted)"]
    res = run_cli("vgg16")
    line = next(x for x in res.out.splitlines() if x.startswith("params"))
    assert "138,357,544  (weights 138,344,128 + biases 13,416)" in line  # 138,344,128 + 13,416 = 138,357,544


# ---------------------------------------------------------------------------------------------
# receptive fields from the actual windows: a brute-force dependency propagation, written here


def _adaptive_windows(n_in: int, n_out: int) -> list:
    # PyTorch AdaptiveAvgPool2d: window i spans [floor(i·W/O), ceil((i + 1)·W/O))
    return [list(range((i * n_in) // n_out, -(-((i + 1) * n_in) // n_out))) for i in range(n_out)]


def _propagate(deps: list, op) -> list:
    """deps[c] = the set of input pixels position c depends on (one axis); op gives, for each
    output position, the previous positions it reads (real ones only: no padding here)."""
    return [set().union(*(deps[c] for c in reads)) for reads in op(len(deps))]


def _conv_reads(k, s, d):
    return lambda n: [[i * s + t * d for t in range(k)] for i in range((n - d * (k - 1) - 1) // s + 1)]


def _brute(n: int, ops) -> list:
    deps = [{x} for x in range(n)]
    for op in ops:
        deps = _propagate(deps, op)
    return deps


def _fields(deps):
    """(widest field, largest step between neighbouring starts, does every field span all?)"""
    starts = [min(d) for d in deps]
    width = max(max(d) - min(d) + 1 for d in deps)
    step = max((b - a for a, b in zip(starts, starts[1:])), default=None)
    return width, step, starts


@pytest.mark.parametrize("text, rf, truth_note", [
    ("input 3x3x1 | adaptive_avgpool 7 | conv 1 k3 | conv 1 k3", 3, "every output sees all 3 pixels"),
    ("input 10x10x1 | adaptive_avgpool 4 | conv 1 k3", 8, "windows [0,3) [2,5) [5,8) [7,10): [0,8) and [2,10)"),
])
def test_issue_examples_adaptive_rf(text, rf, truth_note):
    from cnncalc.load.dsl import parse_expr

    r = analyze(parse_expr(text)).layers[-1]
    assert r.receptive_field == (rf, rf), truth_note


def test_issue_examples_by_brute_force():
    # 3 → 7 adaptive windows: [0,1) [0,1) [0,2) [1,2) [1,3) [2,3) [2,3); two 3-wide convs
    deps = _brute(3, [lambda n: _adaptive_windows(n, 7), _conv_reads(3, 1, 1), _conv_reads(3, 1, 1)])
    assert deps == [{0, 1, 2}] * 3
    deps = _brute(10, [lambda n: _adaptive_windows(n, 4), _conv_reads(3, 1, 1)])
    assert deps == [set(range(0, 8)), set(range(2, 10))]


def test_padding_after_uneven_adaptive_pool_covers_nothing():
    # adaptive 10 → 4: [0,2] [2,4] [5,7] [7,9]; conv k3 p1 reads positions −1..1, 0..2, 1..3, 2..4:
    # fields [0,4] [0,7] [2,9] [5,9] → widest 8, starts 0 0 2 5 → largest step 3
    r = net("input: [10, 10, 1]\nlayers:\n  - adaptive_avgpool: 4\n  - conv: {filters: 1, kernel: 3, padding: 1}\n")
    assert r.layers[-1].receptive_field == (8, 8) and r.layers[-1].jump == (3, 3)
    assert not r.layers[-1].covers_input


def _random_chain(rng, n):
    """A random chain of convs/pools (no padding) and uneven adaptive pools on an axis of n."""
    layers, ops = [], []
    for _ in range(rng.randint(1, 5)):
        kind = rng.choice(["conv", "conv", "pool", "adaptive", "adaptive"])
        if kind == "adaptive":
            o = rng.randint(1, 2 * n + 1)
            if o == 1:
                continue
            layers.append(f"adaptive_avgpool: [{o}, 1]")
            ops.append(lambda m, o=o: _adaptive_windows(m, o))
            n = o
            continue
        k, s = rng.randint(1, 4), rng.randint(1, 3)
        d = rng.choice([1, 1, 2]) if kind == "conv" else 1
        if d * (k - 1) + 1 > n:
            continue
        if kind == "conv":
            layers.append(f"conv: {{filters: 1, kernel: [{k}, 1], stride: [{s}, 1], dilation: [{d}, 1]}}")
        else:
            layers.append(f"avgpool: {{kernel: [{k}, 1], stride: [{s}, 1]}}")
        ops.append(_conv_reads(k, s, d))
        n = (n - d * (k - 1) - 1) // s + 1
    if rng.random() < 0.3:
        layers.append("global_avgpool")
        ops.append(lambda m: [list(range(m))])
    return layers, ops


@pytest.mark.parametrize("seed", range(200))
def test_random_rf_matches_brute_force(seed):
    import random

    rng = random.Random(seed)
    h = rng.randint(1, 30)
    layers, ops = _random_chain(rng, h)
    if not layers:
        return
    report = net(f"input: [{h}, 1, 1]\nlayers:\n" + "".join(f"  - {x}\n" for x in layers))
    last = report.layers[-1]
    deps = _brute(h, ops)
    width, step, starts = _fields(deps)
    assert last.receptive_field[0] == width, (layers, deps)
    if step is not None:
        assert last.jump[0] == step, (layers, deps)
    spans_all = all(min(d) == 0 and max(d) == h - 1 for d in deps)
    assert last.covers_input == spans_all, (layers, deps)


def test_uneven_adaptive_rf_matches_pytorch_autograd():
    torch = pytest.importorskip("torch")
    from cnncalc.load.dsl import parse_expr

    for text, size, mods in [
        ("input 3x3x1 | adaptive_avgpool 7 | conv 1 k3 | conv 1 k3", 3,
         [torch.nn.AdaptiveAvgPool2d(7), torch.nn.Conv2d(1, 1, 3), torch.nn.Conv2d(1, 1, 3)]),
        ("input 10x10x1 | adaptive_avgpool 4 | conv 1 k3", 10,
         [torch.nn.AdaptiveAvgPool2d(4), torch.nn.Conv2d(1, 1, 3)]),
        ("input 11x11x1 | conv 1 k2 s2 | adaptive_avgpool 3 | conv 1 k2", 11,
         [torch.nn.Conv2d(1, 1, 2, stride=2), torch.nn.AdaptiveAvgPool2d(3), torch.nn.Conv2d(1, 1, 2)]),
    ]:
        model = torch.nn.Sequential(*mods)
        with torch.no_grad():
            for m in model:
                if isinstance(m, torch.nn.Conv2d):
                    m.weight.fill_(1.0)  # ones: no dependency cancels out
                    m.bias.zero_()
        x = torch.ones(1, 1, size, size, requires_grad=True)
        y = model(x)
        widths, starts = [], []
        for i in range(y.shape[2]):
            for j in range(y.shape[3]):
                (g,) = torch.autograd.grad(y[0, 0, i, j], x, retain_graph=True)
                rows = (g[0, 0] != 0).any(dim=1).nonzero().flatten().tolist()
                widths.append(rows[-1] - rows[0] + 1)
                if j == 0:
                    starts.append(rows[0])
        last = analyze(parse_expr(text)).layers[-1]
        assert last.receptive_field[0] == max(widths), text
        if len(starts) > 1:
            assert last.jump[0] == max(b - a for a, b in zip(starts, starts[1:])), text


# ---------------------------------------------------------------------------------------------
# the field covers the whole input: one flag, the same in the table, JSON, CSV and --explain


def test_covers_input_by_hand():
    # 10 pixels, 3-wide conv stride 2: fields [0,2] [2,4] [4,6] [6,8]; a global pool sees [0,8]:
    # 9 pixels, and pixel 9 is never read (PyTorch floors (10 − 3)/2 + 1 = 4.5)
    r = net("input: [10, 10, 1]\nlayers:\n  - conv: {filters: 1, kernel: 3, stride: 2}\n  - global_avgpool\n")
    assert r.layers[-1].receptive_field == (9, 9) and not r.layers[-1].covers_input
    # 9 pixels: (9 − 3)/2 + 1 = 4 fields up to pixel 8: the global pool sees all 9
    r = net("input: [9, 9, 1]\nlayers:\n  - conv: {filters: 1, kernel: 3, stride: 2}\n  - global_avgpool\n")
    assert r.layers[-1].receptive_field == (9, 9) and r.layers[-1].covers_input
    assert not r.layers[1].covers_input
    # 5 pixels, kernel 9, padding 4: position c sees [c − 4, c + 4], so 0 sees [−4, 4] and 4 sees [0, 8]: all
    r = net("input: [5, 5, 1]\nlayers:\n  - conv: {filters: 1, kernel: 9, padding: 4}\n")
    assert r.layers[-1].receptive_field == (9, 9) and r.layers[-1].covers_input
    # kernel 5, padding 2: position 0 sees [−2, 2] and misses pixels 3 and 4 (the field is 5, as wide as the input)
    r = net("input: [5, 5, 1]\nlayers:\n  - conv: {filters: 1, kernel: 5, padding: 2}\n")
    assert not r.layers[-1].covers_input


def test_vgg16_fc6_covers_the_input_in_every_format():
    import csv
    import io
    import json

    # CS231n: pool5 sees 212 of 224 pixels (not all); fc6 reads all 7×7 positions: 212 + 6·32 = 404
    data = json.loads(run_cli("vgg16", "-f", "json").out)
    by = {x["name"]: x for x in data["layers"]}
    assert by["pool5"]["receptive_field"] == [212, 212] and by["pool5"]["covers_input"] is False
    assert by["fc6"]["receptive_field"] == [404, 404] and by["fc6"]["covers_input"] is True
    marked = {x["name"] for x in data["layers"] if x["covers_input"]}
    assert marked == {"fc6", "dropout1", "fc7", "dropout2", "fc8"}
    rows = list(csv.DictReader(io.StringIO(run_cli("vgg16", "-f", "csv").out)))
    assert {x["name"] for x in rows if x["covers_input"] == "true"} == marked
    table = run_cli("vgg16").out
    starred = {line.split()[0] for line in table.splitlines() if line.rstrip().endswith("*")}
    assert starred == marked
    assert "RF *: every output position's field spans the whole input" in table
    md = run_cli("vgg16", "-f", "markdown").out
    assert "| 404\\* |" in md and "| 212 |" in md
    explain = run_cli("vgg16", "--explain").out
    fc6 = explain[explain.index("fc6 —"):explain.index("dropout1 —")]
    assert "covers the whole input" in " ".join(fc6.split())
    pool5 = explain[explain.index("pool5 —"):explain.index("flatten")]
    assert "covers" not in pool5


def test_irregular_rf_too_long_is_an_upper_bound_with_a_warning():
    # 5,000 → 4,097 positions: beyond MAX_CELLS the widest window bounds the field: ⌈5000/4097⌉ + 1 = 3
    r = net("input: [5000, 1, 1]\nlayers:\n  - adaptive_avgpool: [4097, 1]\n").layers[-1]
    assert r.receptive_field[0] == 3 and any("upper bound" in w for w in r.warnings)


# ---------------------------------------------------------------------------------------------
# an input that looks channel-first


@pytest.mark.parametrize("shape, warned", [
    ("[3, 224, 224]", True), ("[1, 28, 28]", True), ("[3, 480, 640]", True), ("[1, 100, 64]", True),
    ("[224, 224, 3]", False), ("[28, 28, 1]", False), ("[1, 1, 512]", False), ("[3, 3, 64]", False),
    ("[3, 15, 15]", False), ("[1, 100, 10]", False), ("[4, 224, 224]", False), ("[2, 224, 224]", False),
])
def test_channel_first_warning(shape, warned):
    r = net(f"input: {shape}\nlayers:\n  - relu\n")
    assert bool([w for w in r.layers[0].warnings if "channel-first" in w]) == warned


def test_channel_first_warning_cli():
    res = run_cli("-e", "input 3x224x224 | conv 64 k3 p1")
    assert res.code == 0 and "⚠ 1 warning (input)" in res.out  # the default summary line
    res = run_cli("-e", "input 3x224x224 | conv 64 k3 p1", "-W")
    assert res.code == 0
    assert ("⚠ input: 3×224×224 looks channel-first (PyTorch's C×H×W); cnncalc reads H×W×C: a 224×224 image "
            "with 3 channels is 224×224×3") in " ".join(res.out.split("\n"))
    data = __import__("json").loads(run_cli("-e", "input 3x224x224 | conv 64 k3 p1", "-f", "json").out)
    assert any("channel-first" in w for w in data["warnings"])


def test_no_shipped_spec_or_exam_looks_channel_first():
    from pathlib import Path

    from cnncalc.load import load_spec

    root = Path(__file__).resolve().parent.parent
    for f in sorted((root / "specs").glob("*.yaml")):
        report = analyze(load_spec(str(f)))
        assert not [w for w in report.layers[0].warnings if "channel-first" in w], f
    for f in sorted((root / "exams").glob("*.yaml")):
        res = run_cli("grade", str(f))
        assert "channel-first" not in res.out + res.err, f


def test_rf_marks_give_way_before_the_rf_column_does():
    from cnncalc.render.table import render_table_text
    from cnncalc.load import load_spec

    report = analyze(load_spec("googlenet"))
    wide = render_table_text(report, width=120)
    assert "907*" in wide and "RF *: every output position's field" in wide
    narrow = render_table_text(report, width=80)  # 907* would cost the RF column one cell too many
    heading = next(x for x in narrow.splitlines() if x.lstrip().startswith("layer")).split()
    assert heading[-1] == "RF" and "907*" not in narrow and " 907" in narrow
    assert "RF: the * marks (every position's field spans the whole input) are left out" in narrow
