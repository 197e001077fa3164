"""Counting conventions made visible (README, "Counting conventions"): element-wise operations by
kind beside the MACs, and ``--macs-include``.

Expected figures come from outside cnncalc: the peers' own figures recorded in
docs/reference/peers.json (computed by docs/reference/peers.py with torchinfo, fvcore, ptflops and
torch.utils.flop_counter on torchvision's models), hand arithmetic written below, and the
ResNet-152 differences quoted in issue 12.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex

import pytest

from cnncalc.core.analysis import analyze
from cnncalc.core.elementwise import ORDER, parse_include
from cnncalc.core.errors import CnnCalcError
from cnncalc.core.model import Conventions
from cnncalc.load import load_spec, parse_spec

from .conftest import ROOT, run_cli

PEERS = json.loads((ROOT / "docs" / "reference" / "peers.json").read_text(encoding="utf-8"))
README = (ROOT / "README.md").read_text(encoding="utf-8")

MODEL = {"ResNet-50": "resnet50", "VGG16": "vgg16", "ResNet-152": "resnet152"}
PEER = {"`torch.utils.flop_counter`": "flop_counter_flops", "torchinfo": "torchinfo", "fvcore": "fvcore",
        "ptflops (pytorch backend, default)": "ptflops_pytorch", "ptflops (aten backend)": "ptflops_aten"}


def _table_rows() -> list:
    section = README.split("## Counting conventions", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] in MODEL:
            rows.append(cells)
    return rows


ROWS = _table_rows()


def test_the_table_has_every_peer_for_every_model():
    got = {(MODEL[r[0]], PEER[r[1]]) for r in ROWS}
    assert got == {(m, p) for m in ("resnet50", "vgg16", "resnet152") for p in PEER.values()}
    assert len(ROWS) == 15


@pytest.mark.parametrize("row", ROWS, ids=[f"{r[0]}-{r[1]}" for r in ROWS])
def test_readme_command_reproduces_the_peer_figure(row):
    model, peer, figure, command = MODEL[row[0]], PEER[row[1]], row[2], row[3]
    recorded = PEERS["models"][model][peer]
    # the README quotes the peer's recorded figure
    assert int(re.sub(r"[^0-9]", "", figure.replace(" FLOPs", ""))) == recorded
    m = re.fullmatch(r"`cnncalc ([^`]*)`( \(FLOPs\))?", command)
    assert m, command
    res = run_cli(*shlex.split(m.group(1)), "-f", "json")
    assert res.code == 0, res.err
    totals = json.loads(res.out)["totals"]
    assert (totals["flops"] if peer == "flop_counter_flops" else totals["macs"]) == recorded


def test_flop_counter_is_two_flops_per_plain_mac():
    # torch.utils.flop_counter counts exactly the multiply-accumulates cnncalc's MACs hold
    for model in ("resnet50", "vgg16", "resnet152"):
        assert analyze(load_spec(model)).totals.flops == PEERS["models"][model]["flop_counter_flops"]


def _delta(model: str, kinds: str) -> int:
    g = load_spec(model)
    return (analyze(g, Conventions(macs_include=parse_include(kinds))).totals.macs - analyze(g).totals.macs)


def test_resnet152_deltas_quoted_in_the_issue():
    # issue 12: torchinfo +152,424, fvcore +45,208,576, ptflops' default backend +89,013,224, aten +1,000
    assert _delta("resnet152", "bias,affine") == 152_424
    assert _delta("resnet152", "norm,avgpool") == 45_208_576
    assert _delta("resnet152", "bias,norm,act*2,pool*2") == 89_013_224
    assert _delta("resnet152", "bias") == 1_000
    # and the peers' own totals, minus torch.utils.flop_counter's MACs, are the same differences
    p = PEERS["models"]["resnet152"]
    base = p["flop_counter_flops"] // 2
    assert (p["torchinfo"] - base, p["fvcore"] - base, p["ptflops_pytorch"] - base, p["ptflops_aten"] - base) == (
        152_424, 45_208_576, 89_013_224, 1_000)


def test_fvcore_by_operator_matches_the_kinds():
    # fvcore's own breakdown: its batch_norm figure is the norm kind, adaptive_avg_pool2d the avgpool kind
    for model in ("resnet50", "resnet152"):
        ew = analyze(load_spec(model)).totals.elementwise
        ops = PEERS["models"][model]["fvcore_by_operator"]
        assert ew["norm"] == ops["batch_norm"]
        assert ew["avgpool"] == ops["adaptive_avg_pool2d"]


# ---------------------------------------------------------------------------------------------
# per layer type, against hand arithmetic


def _last(input_shape, *layers) -> dict:
    if len(input_shape) == 2:  # tokens L×C: an L×1×C map turned into tokens (README: Tokens)
        input_shape, layers = (input_shape[0], 1, input_shape[1]), ({"to_tokens": {}},) + layers
    doc = {"name": "t", "input": list(input_shape), "layers": list(layers)}
    report = analyze(parse_spec(json.dumps(doc), "t.yaml"))
    return dict(report.layers[-1].elementwise)


CASES = [
    # conv 3×3 p1 with 4 filters on 8×8×3, bias and fused ReLU: 8·8·4 = 256 each
    ((8, 8, 3), {"conv": {"filters": 4, "kernel": 3, "padding": 1, "activation": "relu"}}, {"bias": 256, "act": 256}),
    ((8, 8, 3), {"conv": {"filters": 4, "kernel": 3, "padding": 1, "bias": False}}, {}),
    # stride 2, no padding: 3×3 output, 5 filters: 45 bias adds
    ((8, 8, 3), {"conv": {"filters": 5, "kernel": 3, "stride": 2}}, {"bias": 45}),
    ((10,), {"dense": {"units": 5}}, {"bias": 5}),
    ((10,), {"dense": {"units": 5, "activation": "softmax"}}, {"bias": 5, "softmax": 5}),
    # dense on tokens 6×8 → 6×4: 24 bias adds
    ((6, 8), {"dense": {"units": 4}}, {"bias": 24}),
    # depthwise 3×3 p1, multiplier 2 on 8×8×4: output 8×8×8 = 512
    ((8, 8, 4), {"depthwise": {"kernel": 3, "padding": 1, "multiplier": 2}}, {"bias": 512}),
    ((8, 8, 4), {"separable_conv": {"filters": 6, "kernel": 3, "padding": 1, "activation": "relu6"}},
     {"bias": 384, "act": 384}),
    ((4, 4, 2), {"conv_transpose": {"filters": 3, "kernel": 2, "stride": 2}}, {"bias": 8 * 8 * 3}),
    # batchnorm on 4×4×3: 48 elements, 2 each with γ and β; γ and β: 6 parameters
    ((4, 4, 3), {"batchnorm": {}}, {"norm": 96, "affine": 6}),
    ((4, 4, 3), {"batchnorm": {"affine": False}}, {"norm": 48}),
    ((4, 4, 3), {"batchnorm": {"center": False}}, {"norm": 96, "affine": 3}),
    ((5, 8), {"layernorm": {}}, {"norm": 80, "affine": 16}),
    ((4, 4, 8), {"groupnorm": {"groups": 2}}, {"norm": 256, "affine": 16}),
    ((4, 4, 8), {"instancenorm": {}}, {"norm": 128}),
    # pools count their input elements: 8·8·3 = 192
    ((8, 8, 3), {"maxpool": {"kernel": 2}}, {"maxpool": 192}),
    ((8, 8, 3), {"avgpool": {"kernel": 2}}, {"avgpool": 192}),
    # ResNet's stem pool: 112·112·64 = 802,816 input elements (not 9 per output: 56·56·64·9 = 1,806,336)
    ((112, 112, 64), {"maxpool": {"kernel": 3, "stride": 2, "padding": 1}}, {"maxpool": 802_816}),
    ((7, 7, 2048), {"global_avgpool": {}}, {"avgpool": 100_352}),
    ((7, 7, 512), {"global_maxpool": {}}, {"maxpool": 25_088}),
    ((7, 7, 512), {"adaptive_avgpool": {"size": 7}}, {"avgpool": 25_088}),
    ((6, 6, 2), {"adaptive_maxpool": {"size": 3}}, {"maxpool": 72}),
    ((4, 4, 8), {"layer_scale": {}}, {"merge": 128}),
    ((10,), {"softmax": {}}, {"softmax": 10}),
    ((4, 4, 3), {"relu": {}}, {"act": 48}),
    ((4, 4, 3), {"prelu": {}}, {"act": 48}),
    ((4, 4, 3), {"identity": {}}, {}),
    ((4, 4, 3), {"lrn": {}}, {"norm": 48}),
    ((4, 4, 3), {"position_bias": {}}, {"bias": 48}),
    # ViT-B/16's attention: 197 tokens of 768, 12 heads: 4·197·768 bias adds, 12·197² scores
    ((197, 768), {"multihead_attention": {"heads": 12}}, {"bias": 4 * 197 * 768, "softmax": 12 * 197 * 197}),
    ((197, 768), {"multihead_attention": {"heads": 12, "bias": False}}, {"softmax": 12 * 197 * 197}),
    # Swin-T stage 1: 56·56 = 3,136 positions of 96, 3 heads, 7×7 windows
    ((56, 56, 96), {"window_attention": {"heads": 3, "window": 7}},
     {"bias": 3136 * (4 * 96 + 3 * 49), "softmax": 3 * 3136 * 49}),
    ((4, 4, 3), {"flatten": {}}, {}),
    ((4, 4, 3), {"upsample": {"scale": 2}}, {}),
]


@pytest.mark.parametrize("shape,layer,expected", CASES, ids=[next(iter(c[1])) + str(i) for i, c in enumerate(CASES)])
def test_layer_elementwise_by_hand(shape, layer, expected):
    assert _last(shape, layer) == expected


def test_merges_count_inputs_minus_one_per_element():
    doc = {"name": "m", "input": [4, 4, 2], "layers": [
        {"conv": {"name": "a", "filters": 2, "kernel": 1, "bias": False}},
        {"conv": {"name": "b", "filters": 2, "kernel": 1, "bias": False, "from": "input"}},
        {"add": {"name": "s", "from": ["a", "b", "input"]}},
        {"global_avgpool": {"name": "g", "keepdims": True}},
        {"multiply": {"name": "x", "from": ["s", "g"]}},
    ]}
    r = analyze(parse_spec(json.dumps(doc), "m.yaml"))
    assert r.layer("s").elementwise == {"merge": 2 * 32}  # three inputs of 4·4·2
    assert r.layer("x").elementwise == {"merge": 32}  # 4×4×2 × 1×1×2: one product per output element


def test_included_kinds_add_to_layer_and_total_macs_and_flops_follow():
    g = load_spec("resnet50")
    plain = analyze(g)
    inc = analyze(g, Conventions(macs_include=parse_include("bias,act*2")))
    for a, b in zip(plain.layers, inc.layers):
        assert b.macs == a.macs + a.elementwise.get("bias", 0) + 2 * a.elementwise.get("act", 0)
        assert b.flops == 2 * b.macs
    # 1,000 fc bias adds; ReLU outputs are hand-checkable on the stem: 112·112·64 = 802,816
    assert plain.layer("relu").elementwise == {"act": 802_816}
    assert inc.totals.macs == plain.totals.macs + 1_000 + 2 * plain.totals.elementwise["act"]
    assert inc.totals.flops == 2 * inc.totals.macs
    assert inc.totals.elementwise == plain.totals.elementwise


def test_totals_have_every_kind_and_sum_the_layers():
    r = analyze(load_spec("resnet50"))
    assert tuple(r.totals.elementwise) == ORDER
    for k in ORDER:
        assert r.totals.elementwise[k] == sum(x.elementwise.get(k, 0) for x in r.layers)
    # BN in ResNet-50: γ and β of every BN channel, 53,120 (= its running statistics' count too)
    assert r.totals.elementwise["affine"] == r.totals.non_trainable_params == 53_120


def test_parse_include():
    assert parse_include("all") == tuple((k, 1) for k in ORDER)
    assert parse_include(" Pool*3 , bias") == (("bias", 1), ("avgpool", 3), ("maxpool", 3))
    assert parse_include("act×2") == (("act", 2),)
    for bad in ("bogus", "act*0", "act*x", "act,act", "pool,maxpool"):
        with pytest.raises(CnnCalcError):
            parse_include(bad)


@pytest.mark.parametrize("args", [("resnet50", "--macs-include", "biass"), ("check", "resnet50", "--macs-include", "x"),
                                  ("compare", "resnet50", "vgg16", "--macs-include", "act*-1"),
                                  ("conv", "8x8x3", "--filters", "2", "-k", "3", "--macs-include", "nope")])
def test_bad_kind_is_one_line_exit_2(args):
    res = run_cli(*args)
    assert res.code == 2
    assert res.err.count("\n") == 1 and "--macs-include" in res.err and "Traceback" not in res.err


def test_did_you_mean():
    res = run_cli("resnet50", "--macs-include", "biass")
    assert "bias" in res.err.split("unknown kind", 1)[1]


def test_check_and_budgets_honour_macs_include(tmp_path):
    spec = tmp_path / "n.yaml"
    # conv 3×3 p1, 4 filters on 8×8×3: 8·8·4·27 = 6,912 MACs, 256 bias adds
    spec.write_text("name: n\ninput: [8, 8, 3]\nlayers:\n  - conv: {filters: 4, kernel: 3, padding: 1}\n"
                    "expect:\n  macs: 7168\nbudget:\n  flops: 14336\n", encoding="utf-8")
    assert run_cli("check", str(spec)).code == 1
    ok = run_cli("check", str(spec), "--macs-include", "bias")
    assert ok.code == 0 and "(MACs + bias): all hold" in ok.out
    assert run_cli("check", str(spec), "--macs-include", "bias*2").code == 1


def test_every_format_carries_the_kinds_and_the_included_total():
    # dense 10 → 5 with ReLU: 50 MACs, 5 bias adds, 5 activations
    expr = ["--expr", "input 10 | dense 5 relu"]
    j = json.loads(run_cli(*expr, "-f", "json", "--macs-include", "act").out)
    assert j["totals"]["macs"] == 55 and j["totals"]["flops"] == 110
    assert j["layers"][1]["elementwise"] == {"bias": 5, "act": 5}
    assert j["totals"]["elementwise"]["bias"] == 5
    assert j["conventions"]["macs_include"] == {"act": 1}
    rows = list(csv.DictReader(io.StringIO(run_cli(*expr, "-f", "csv", "--macs-include", "bias").out)))
    assert rows[1]["macs"] == "55" and rows[1]["bias"] == "5" and rows[1]["act"] == "5" and rows[1]["norm"] == "0"
    md = run_cli(*expr, "-f", "markdown", "--exact", "--macs-include", "bias,act").out
    assert "Element-wise operations: bias 5; act 5." in md and "**60**" in md
    assert "| dense1 | dense+relu | 5 | 55 | 60 | bias 5 · act 5 | 5 | 1 |" in md
    table = run_cli(*expr, "--macs-include", "bias,act").out
    assert "MACs         60 " in table
    assert "MACs = multiply-accumulates of dense + element-wise bias + act (--macs-include)" in table
    html = run_cli(*expr, "-f", "html", "--macs-include", "bias").out
    assert "element-wise bias (--macs-include)" in html


def test_quick_commands_show_the_kinds():
    # conv 3×3 p1, 4 filters on 8×8×3: 6,912 MACs and 8·8·4 = 256 bias adds
    out = run_cli("conv", "8x8x3", "--filters", "4", "-k", "3", "-p", "1", "--macs-include", "bias").out
    assert "  element-wise bias 256\n" in out and "  MACs         7,168  (FLOPs 14,336)" in out
    # a 2×2 max pool on 8×8×3 reads its 192 input elements
    assert "  element-wise maxpool 192\n" in run_cli("pool", "8x8x3", "-k", "2").out


def test_explain_keeps_the_types_formula_and_adds_the_kinds():
    out = run_cli("conv", "8x8x3", "--filters", "4", "-k", "3", "-p", "1", "--explain", "--macs-include", "bias*2").out
    assert "MACs = 8·8·4·(3·3·3) = 6,912\n" in out  # the type's own formula, unchanged
    assert "element-wise: bias 256\n" in out
    assert "MACs with --macs-include = 6,912 + bias 2·256 = 7,424\n" in out  # 6,912 + 2·256
    assert "FLOPs = 2·MACs = 14,848" in out


def test_compare_honours_macs_include():
    res = run_cli("compare", "resnet50", "vgg16", "-f", "json", "--macs-include", "bias")
    assert res.code == 0, res.err
    text = res.out
    # ResNet-50's fc bias: 1,000 adds; VGG16's conv and fc biases on every output value: 13,556,712
    vgg_bias = (224 * 224 * 64 * 2 + 112 * 112 * 128 * 2 + 56 * 56 * 256 * 3 + 28 * 28 * 512 * 3
                + 14 * 14 * 512 * 3 + 4096 + 4096 + 1000)
    assert vgg_bias == 13_556_712
    assert "4089185256" in text and str(15_470_264_320 + vgg_bias) in text


def test_footer_names_what_the_macs_hold():
    vit = run_cli("vit_b_16").out
    assert "conv/dense" not in vit
    line = next(x for x in vit.splitlines() if x.startswith("MACs = "))
    assert "multihead_attention" in line and "conv" in line and "dense" in line
    assert "element-wise operations excluded" in line
    plain = run_cli("resnet50").out
    assert "MACs = multiply-accumulates of conv, dense; element-wise operations excluded" in plain


def test_collapsed_rows_sum_their_kinds():
    from cnncalc.core.collapse import collapse

    r = analyze(load_spec("resnet50"))
    c = collapse(r, 1)
    for k in ORDER:
        assert sum(x.elementwise.get(k, 0) for x in c.layers) == r.totals.elementwise[k]


# ---------------------------------------------------------------------------------------------
# PyTorch as the oracle (2.13, CPU; skipped without torch): every layer of ResNet-50 and of
# torchvision's VGG16 built as torch.nn modules (tests/torch_oracle.py), its modules hooked the
# way ptflops' module hooks count (read from ptflops 0.7.5's pytorch_ops.py), from the tensors
# PyTorch itself produces; merges (add, multiply, layer_scale) by the output elements of the aten
# add and mul operations PyTorch dispatches.


def _element_ops_mode():
    torch = pytest.importorskip("torch")
    from torch.utils._python_dispatch import TorchDispatchMode

    class ElementOps(TorchDispatchMode):
        """Counts the output elements of every aten add and mul a forward pass dispatches."""

        count = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if func.overloadpacket in (torch.ops.aten.add, torch.ops.aten.add_, torch.ops.aten.mul,
                                       torch.ops.aten.mul_):
                self.count += out.numel()
            return out

    return ElementOps


def _ElementOps():
    return _element_ops_mode()()


def _torch_counts(graph) -> dict:
    torch = pytest.importorskip("torch")
    from torch import nn

    from .torch_oracle import builder_of, to_hwc

    acts = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.PReLU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh,
            nn.Hardswish, nn.Hardsigmoid, nn.Mish, nn.SELU, nn.Softplus)
    norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm2d)
    avg = (nn.AvgPool2d, nn.AdaptiveAvgPool2d)
    mx = (nn.MaxPool2d, nn.AdaptiveMaxPool2d)
    counts: dict = {}

    def hook(mod, inputs, output, name):
        got = counts.setdefault(name, {})

        def add(kind, v):
            if v:
                got[kind] = got.get(kind, 0) + int(v)
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)) and mod.bias is not None:
            add("bias", output.numel())
        elif isinstance(mod, acts):
            add("act", output.numel())
        elif isinstance(mod, nn.Softmax):
            add("softmax", output.numel())
        elif isinstance(mod, norms):
            affine = getattr(mod, "affine", getattr(mod, "elementwise_affine", False))
            add("norm", inputs[0].numel() * (2 if affine else 1))
            add("affine", sum(p.numel() for p in mod.parameters(recurse=False)))
        elif isinstance(mod, avg):
            add("avgpool", inputs[0].numel())
        elif isinstance(mod, mx):
            add("maxpool", inputs[0].numel())

    shape = graph.input_shape
    values = {"input": torch.zeros((1, shape[2], shape[0], shape[1]), device="meta")}
    with torch.no_grad():
        for spec in graph.layers[1:]:
            in_shapes = [to_hwc(values[n]) for n in spec.inputs]
            module = builder_of(spec.type)(dict(spec.params), in_shapes[0], in_shapes).to("meta").eval()
            for m in module.modules():
                m.register_forward_hook(lambda mod, i, o, name=spec.name: hook(mod, i, o, name))
            if spec.type in ("add", "multiply", "layer_scale"):  # merges: PyTorch's own add/mul ops
                with _ElementOps() as ops:
                    y = module(*[values[n] for n in spec.inputs])
                if ops.count:
                    counts.setdefault(spec.name, {})["merge"] = ops.count
            else:
                y = module(*[values[n] for n in spec.inputs])
            if isinstance(y, tuple):  # a split's named outputs NAME.0, NAME.1, …
                for i, part in enumerate(y):
                    values[f"{spec.name}.{i}"] = part
                y = torch.cat(y, dim=1)
            values[spec.name] = y
    return counts


@pytest.mark.parametrize("source", ["resnet50", str(ROOT / "docs" / "reference" / "vgg16_torchvision.yaml"),
                                    # SiLU, sigmoid and hardswish gates, ReLU6, LayerNorm and GELU, splits
                                    "efficientnet_b0", "mobilenet_v3_small", "convnext_tiny", "shufflenet_v2_x1_0"])
def test_per_layer_counts_match_pytorch_modules(source):
    graph = load_spec(source)
    expected = _torch_counts(graph)
    report = analyze(graph)
    compared = 0
    for r in report.layers[1:]:
        mine = dict(r.elementwise)
        assert mine == expected.get(r.name, {}), r.name
        compared += bool(mine)
    assert compared > 20


def _attention_configs():
    import random

    rnd = random.Random(12)
    out = []
    for _ in range(6):
        heads = rnd.choice([1, 2, 3, 4])
        c = heads * rnd.choice([4, 8])
        out.append(((rnd.randint(1, 30), c),
                    {"multihead_attention": {"heads": heads, "bias": rnd.random() < 0.7}}))
        win = rnd.choice([2, 3, 4, 7])
        out.append(((rnd.randint(2, 16), rnd.randint(2, 16), c),
                    {"window_attention": {"heads": heads, "window": win, "shift": rnd.choice([0, win // 2]),
                                          "qkv_bias": rnd.random() < 0.7, "proj_bias": rnd.random() < 0.7}}))
    return out


@pytest.mark.parametrize("shape,layer", _attention_configs())
def test_attention_bias_and_softmax_match_pytorch_ops(shape, layer):
    """Attention as PyTorch runs it: bias adds are the output elements of the projections' addmm
    (a projection without bias is an mm) and of the position bias added to the scores; softmax
    the output elements of aten's softmax."""
    torch = pytest.importorskip("torch")
    from torch.utils._python_dispatch import TorchDispatchMode

    from .torch_oracle import builder_of

    kind, p = next(iter(layer.items()))
    got = _last(shape, layer)
    in_hwc = shape if len(shape) == 3 else (shape[0], shape[1])
    module = builder_of(kind)(_params(shape, layer), in_hwc, [in_hwc]).to("meta").eval()
    seen = {"bias": 0, "softmax": 0}

    class Ops(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            name = str(func.overloadpacket).split(".")[-1]
            if name in ("addmm", "add"):
                seen["bias"] += out.numel()
            elif name in ("_softmax", "_safe_softmax", "softmax"):
                seen["softmax"] += out.numel()
            return out

    x = torch.zeros((1, shape[2], shape[0], shape[1]) if len(shape) == 3 else (1,) + tuple(shape), device="meta")
    with torch.no_grad(), Ops():
        module(x)
    assert got == {k: v for k, v in seen.items() if v}


def _params(shape, layer) -> dict:
    """The layer's parameters as cnncalc normalises them (defaults filled in)."""
    if len(shape) == 2:
        shape, layers = (shape[0], 1, shape[1]), [{"to_tokens": {}}, layer]
    else:
        layers = [layer]
    g = parse_spec(json.dumps({"name": "p", "input": list(shape), "layers": layers}), "p.yaml")
    return dict(g.layers[-1].params)
