"""Differential tests: cnncalc against PyTorch building the same network.

PyTorch measures output shapes (a forward pass), parameter counts (`parameters()`, split by
name into weights and biases), buffers (BN running statistics) and FLOPs
(`torch.utils.flop_counter.FlopCounterMode`). Skipped cleanly when torch is not installed.
"""

from __future__ import annotations

import random
import warnings

import pytest

torch = pytest.importorskip("torch")
warnings.filterwarnings("ignore", message=".*NumPy.*")

from cnncalc import analyze, load_spec  # noqa: E402
from cnncalc.load import builtin_names, parse_spec  # noqa: E402

from .torch_oracle import measure  # noqa: E402


def compare(graph):
    report = analyze(graph)
    measured = measure(graph)
    for r in report.layers:
        m = measured[r.name]
        assert r.output_shape == m.shape, f"{r.name}: shape {r.output_shape} vs torch {m.shape}"
        assert r.weights == m.weights, f"{r.name}: weights {r.weights} vs torch {m.weights}"
        assert r.biases == m.biases, f"{r.name}: biases {r.biases} vs torch {m.biases}"
        assert r.non_trainable_params == m.buffers, f"{r.name}: buffers {r.non_trainable_params} vs {m.buffers}"
        assert r.flops == m.flops, f"{r.name}: flops {r.flops} vs torch {m.flops}"
    assert report.totals.params == sum(m.params for m in measured.values())
    assert report.totals.flops == sum(m.flops for m in measured.values())
    return report


@pytest.mark.parametrize("name", builtin_names())
def test_shipped_spec_matches_pytorch(name):
    compare(load_spec(name))


def _conv_case(rng: random.Random):
    while True:
        h, w = rng.randint(1, 40), rng.randint(1, 40)
        groups = rng.choice([1, 1, 1, 2, 3, 4])
        c = groups * rng.randint(1, 6)
        k = groups * rng.randint(1, 6)
        kh, kw = rng.randint(1, 7), rng.choice([None, rng.randint(1, 7)])
        kernel = kh if kw is None else [kh, kw]
        stride = rng.choice([1, 1, 2, 3, [1, 2], [3, 1]])
        dilation = rng.choice([1, 1, 1, 2, 3, [2, 1]])
        padding = rng.choice([0, 1, 2, 3, [1, 0], [0, 1, 2, 3], "same", "valid"])
        bias = rng.choice([True, False])
        text = (f"input: [{h}, {w}, {c}]\nlayers:\n  - conv: {{filters: {k}, kernel: {kernel}, stride: {stride}, "
                f"padding: {padding}, dilation: {dilation}, groups: {groups}, bias: {str(bias).lower()}}}")
        try:
            return parse_spec(text, "<random>"), text
        except Exception:  # pragma: no cover - parse errors are not expected here
            raise


@pytest.mark.parametrize("seed", range(300))
def test_random_conv_matches_pytorch(seed):
    from cnncalc.core.errors import ShapeError

    graph, text = _conv_case(random.Random(seed))
    try:
        analyze(graph)
    except ShapeError:
        # cnncalc refuses it (kernel larger than the padded input): so must PyTorch
        with pytest.raises(RuntimeError):
            measure(graph, device="cpu")
        return
    compare(graph)


@pytest.mark.parametrize("seed", range(200))
def test_random_pool_matches_pytorch(seed):
    rng = random.Random(1000 + seed)
    kind = rng.choice(["maxpool", "avgpool"])
    h, w, c = rng.randint(1, 40), rng.randint(1, 40), rng.randint(1, 4)
    k = rng.randint(1, 6)
    kw = rng.choice([k, rng.randint(1, 6)])
    stride = rng.randint(1, 4)
    pad = rng.randint(0, min(k, kw) // 2)  # PyTorch requires padding ≤ kernel/2
    ceil = rng.choice([True, False])
    dil = rng.choice([1, 1, 2]) if kind == "maxpool" else 1
    extra = f", dilation: {dil}" if kind == "maxpool" else ""
    text = (f"input: [{h}, {w}, {c}]\nlayers:\n  - {kind}: {{kernel: [{k}, {kw}], stride: {stride}, "
            f"padding: {pad}, ceil_mode: {str(ceil).lower()}{extra}}}")
    graph = parse_spec(text, "<random>")
    from cnncalc.core.errors import ShapeError

    try:
        report = analyze(graph)
    except ShapeError:
        with pytest.raises(RuntimeError):
            measure(graph, device="cpu")
        return
    m = measure(graph)
    assert report.output_shape == m[report.layers[-1].name].shape, text


@pytest.mark.parametrize("seed", range(50))
def test_random_dense_stack_matches_pytorch(seed):
    rng = random.Random(5000 + seed)
    lines = [f"input: {rng.randint(1, 300)}", "layers:"]
    for _ in range(rng.randint(1, 4)):
        lines.append(f"  - dense: {{units: {rng.randint(1, 300)}, bias: {rng.choice(['true', 'false'])}}}")
        if rng.random() < 0.4:
            lines.append("  - batchnorm")
        if rng.random() < 0.3:
            lines.append("  - relu")
    compare(parse_spec("\n".join(lines), "<random>"))


def test_small_graph_with_branches_matches_pytorch():
    compare(parse_spec("""
input: [16, 16, 8]
layers:
  - conv: {name: a, filters: 8, kernel: 3, padding: 1, activation: relu}
  - batchnorm: {name: bn}
  - conv: {name: b, filters: 8, kernel: 1, from: input}
  - add: {name: sum, from: [bn, b]}
  - zeropad: [0, 1, 0, 1]
  - maxpool: {kernel: 2}
  - conv: {name: c, filters: 4, kernel: 1}
  - concat: {from: [c, maxpool1]}
  - prelu: {shared: false}
  - position_bias
  - adaptive_avgpool: 3
  - flatten
  - dense: 5
  - softmax
""", "<branches>"))
