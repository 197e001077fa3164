"""``cnncalc check SPEC --against MODEL``: a spec held to its model layer by layer (output shape,
params, non-trainable params, MACs), differences in check's formats with exit 1.

Expected figures are hand arithmetic written here, tests/models/fixtures.json (PyTorch's own
counts of the checked-in ONNX file) and PyTorch 2.13 measuring a module defined in a test module.
"""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from .conftest import ROOT, error_of, run_cli

MODELS = ROOT / "tests" / "models"
FIXTURES = json.loads((MODELS / "fixtures.json").read_text(encoding="utf-8"))

# tests/models/small_cnn.onnx written by hand, with the model's own names (make_fixtures.py builds
# it in PyTorch: 15×15×3 input, conv 16 → bn → relu → maxpool 3/2 ceil → depthwise conv → bn →
# relu6 → squeeze-excite → add → fc 10)
SMALL = """\
name: small
input: [15, 15, 3]
layers:
  - conv: {{name: conv1, filters: 16, kernel: 3, padding: {pad}}}
  - batchnorm: {{name: bn1}}
  - relu: {{name: relu}}
  - maxpool: {{name: pool, kernel: 3, stride: 2, ceil_mode: true}}
  - conv: {{name: dw, filters: 16, kernel: 3, padding: 1, groups: 16, bias: false}}
  - batchnorm: {{name: bn2}}
  - relu6: {{name: clip}}
  - adaptive_avgpool: {{name: gap, size: 1}}
  - conv: {{name: se, filters: 16, kernel: 1}}
  - sigmoid: {{name: sigmoid}}
  - multiply: {{name: mul, from: [clip, sigmoid]}}
  - add: {{name: add, from: [pool, mul]}}
  - flatten: {{name: reshape}}
  - dense: {{name: fc, units: 10}}
"""


def spec(tmp_path, text, name="net.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(p)



@pytest.fixture
def onnx_():
    return pytest.importorskip("onnx")


def test_the_fixture_is_what_the_spec_says(onnx_, tmp_path):
    """The hand-written spec gives PyTorch's figures of the model (fixtures.json)."""
    from cnncalc import analyze, load_spec

    rep = analyze(load_spec(spec(tmp_path, SMALL.format(pad=1))))
    fig = FIXTURES["small_cnn.onnx"]
    assert rep.totals.params == fig["params"] and rep.totals.macs == fig["macs"]


def test_spec_that_agrees_with_its_onnx_model_exits_0(onnx_, tmp_path):
    path = spec(tmp_path, SMALL.format(pad=1))
    r = run_cli("check", path, "--against", str(MODELS / "small_cnn.onnx"))
    assert r.code == 0, r.out + r.err
    # input, 14 layers × 4 figures, the output shape and 3 totals
    assert r.out.splitlines()[-1] == (f"cnncalc check: 1 spec, {1 + 14 * 4 + 4} comparisons with "
                                      f"{MODELS / 'small_cnn.onnx'}: all hold")


def test_a_difference_names_the_spec_line_of_the_layer(onnx_, tmp_path):
    path = spec(tmp_path, SMALL.format(pad=0))
    r = run_cli("check", path, "--against", str(MODELS / "small_cnn.onnx"))
    assert r.code == 1
    lines = r.out.splitlines()
    # conv1 is on line 4; without padding 15 → 13: 13·13·16·27 = 73,008 MACs, the model's 15·15·16·27 = 97,200
    assert f"{path}:4: conv1 output_shape: the spec gives 13×13×16, the model 15×15×16" in lines
    assert f"{path}:4: conv1 macs: the spec gives 73,008, the model 97,200" in lines
    assert not any(line.startswith(f"{path}:4: conv1 params") for line in lines)  # 448 both
    # the pool (line 7), 3/2 ceil: 13 → 6, 15 → 7
    assert f"{path}:7: pool output_shape: the spec gives 6×6×16, the model 7×7×16" in lines
    assert lines[-1].startswith("cnncalc check: 1 spec, ") and lines[-1].endswith(" failed (in 1 spec)")


def test_json_and_github_formats(onnx_, tmp_path):
    path = spec(tmp_path, SMALL.format(pad=0))
    model = str(MODELS / "small_cnn.onnx")
    r = run_cli("check", path, "--against", model, "--format", "json")
    assert r.code == 1
    doc = json.loads(r.out)
    checks = doc["specs"][0]["checks"]
    conv = next(c for c in checks if c["layer"] == "conv1" and c["figure"] == "macs")
    assert conv == {"kind": "against", "figure": "macs", "layer": "conv1", "expected": 97_200, "actual": 73_008,
                    "ok": False, "file": path, "line": 4,
                    "message": "conv1 macs: the spec gives 73,008, the model 97,200", "model_layer": "conv1",
                    "match": "name"}
    shape = next(c for c in checks if c["layer"] == "conv1" and c["figure"] == "output_shape")
    assert shape["expected"] == [15, 15, 16] and shape["actual"] == [13, 13, 16] and not shape["ok"]
    params = next(c for c in checks if c["layer"] == "conv1" and c["figure"] == "params")
    assert params["ok"] and params["expected"] == params["actual"] == 448  # 16·27 + 16
    assert doc["settings"]["against"] == model and doc["summary"]["exit_code"] == 1
    g = run_cli("check", path, "--against", model, "--format", "github")
    assert g.code == 1
    assert (f"::error file={path},line=4,col=5,title=cnncalc check::conv1 macs: the spec gives 73,008, the model "
            "97,200" in g.out.splitlines())


def test_match_by_order_when_names_differ_and_say_so(tmp_path):
    model = spec(tmp_path, """\
        input: [32, 32, 3]
        layers:
          - conv: {name: features.0, filters: 8, kernel: 3, padding: 1}
          - relu: {name: features.1}
          - maxpool: {name: features.2, kernel: 2}
          - conv: {name: features.3, filters: 16, kernel: 3}
          - flatten: {name: flat}
          - dense: {name: classifier, units: 10}
        """, "model.yaml")
    mine = spec(tmp_path, """\
        input: [32, 32, 3]
        layers:
          - conv: {name: conv1, filters: 8, kernel: 3, padding: 1, activation: relu}
          - maxpool: {name: pool1, kernel: 2}
          - conv: {name: conv2, filters: 16, kernel: 3, padding: 1}
          - flatten: {name: flat}
          - dense: {name: fc, units: 10}
        """)
    r = run_cli("check", mine, "--against", model, "-v")
    assert r.code == 1
    out = r.out.splitlines()
    # conv1 and features.0 agree (fused relu vs a relu layer changes no figure): 3·9·8 + 8 = 224
    assert f"{mine}:3: conv1 (model layer features.0, matched by order) params: 224 in the spec and the model" in out
    assert (f"{mine}:4: pool1 (model layer features.2, matched by order) output_shape: 16×16×8 in the spec and "
            "the model") in out
    # conv2: padding 1 keeps 16×16, the model's none gives 14×14; MACs 16·16·16·72 = 294,912 vs 14·14·16·72 = 225,792
    assert (f"{mine}:5: conv2 (model layer features.3, matched by order) output_shape: the spec gives 16×16×16, "
            "the model 14×14×16") in out
    assert (f"{mine}:5: conv2 (model layer features.3, matched by order) macs: the spec gives 294,912, "
            "the model 225,792") in out
    assert f"{mine}:6: flat output_shape: the spec gives 4096, the model 3136" in out
    # the network: 224 + 1,168 + 40,970 = 42,362 against 224 + 1,168 + 31,370 = 32,762
    assert f"{mine}:3: network params: the spec gives 42,362, the model 32,762" in out
    assert not any("in the spec only" in line or "in the model only" in line for line in out)


def test_layer_on_one_side_only(tmp_path):
    model = spec(tmp_path, """\
        input: 100
        layers:
          - dense: {name: fc1, units: 50}
          - dense: {name: fc2, units: 20}
          - dense: {name: fc3, units: 10}
        """, "model.yaml")
    mine = spec(tmp_path, """\
        input: 100
        layers:
          - dense: {name: fc1, units: 50}
          - dropout: {name: drop}
          - dense: {name: fc3, units: 10}
          - softmax: {name: prob}
        """)
    r = run_cli("check", mine, "--against", model)
    assert r.code == 1
    out = r.out.splitlines()
    # fc2 is in the model only: reported at the spec's line of the layer before it (fc1, line 3);
    # dropout and softmax change no figure and are not differences
    assert f"{mine}:3: fc2 (dense): in the model only, not in the spec" in out
    # fc3: 50·10 + 10 = 510 params in the spec, 20·10 + 10 = 210 in the model
    assert f"{mine}:5: fc3 params: the spec gives 510, the model 210" in out
    back = run_cli("check", model, "--against", mine)
    assert f"{model}:4: fc2 (dense): in the spec only, not in the model" in back.out.splitlines()
    assert back.code == 1


def test_expectations_and_comparison_together(tmp_path):
    mine = spec(tmp_path, """\
        input: 10
        layers:
          - dense: {name: fc, units: 5}
        expect: {params: 55}
        """)
    r = run_cli("check", mine, "--against", mine)
    assert r.code == 0
    assert r.out.splitlines()[-1] == f"cnncalc check: 1 spec, 1 expectation, 9 comparisons with {mine}: all hold"


def test_fast_path_and_typer_agree(tmp_path):
    from cnncalc.cli.entry import parse_fast

    mine = spec(tmp_path, "input: 10\nlayers:\n  - dense: {name: fc, units: 5}\n")
    fn, kw = parse_fast(["check", mine, "--against", mine])
    assert kw["against"] == mine
    import io
    from contextlib import redirect_stdout

    from cnncalc.cli.entry import main

    outs = []
    for fast in (True, False):
        buf = io.StringIO()
        with redirect_stdout(buf):
            code = main(["check", mine, "--against", mine], fast=fast)
        outs.append((code, buf.getvalue()))
    assert outs[0] == outs[1] and outs[0][0] == 0


def test_model_that_cannot_be_read_is_one_line(tmp_path, onnx_):
    mine = spec(tmp_path, "input: 10\nlayers:\n  - dense: {name: fc, units: 5}\n")
    assert "nope.onnx: no such file" in error_of("check", mine, "--against", str(tmp_path / "nope.onnx"))
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage, not protobuf\xff" * 5)
    assert "bad.onnx" in error_of("check", mine, "--against", str(bad))
    assert str(tmp_path) in error_of("check", mine, "--against", str(tmp_path))
    assert "no module named 'no_such_module_xyz'" in error_of("check", mine, "--against",
                                                                    "torch:no_such_module_xyz:net")


# ------------------------------------------------------------------------------------- PyTorch


TORCH_MODULE = '''
import torch
from torch import nn


class Small(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(width)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(width, 16, 3, padding=1, bias=False)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn1(self.conv1(x))))
        x = torch.relu(self.conv2(x))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def small():
    return Small()
'''


@pytest.fixture
def torch_module(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    name = "against_models_tmp"
    (tmp_path / f"{name}.py").write_text(TORCH_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(name, None)
    yield torch, name
    sys.modules.pop(name, None)


def test_spec_against_a_torch_module(torch_module, tmp_path):
    torch, name = torch_module
    mod = __import__(name)
    model = mod.small()
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        out = model(torch.zeros(1, 3, 16, 16))
    params = sum(p.numel() for p in model.parameters())
    macs = counter.get_total_flops() // 2
    assert tuple(out.shape) == (1, 10)
    good = spec(tmp_path, f"""\
        input: [16, 16, 3]
        layers:
          - conv: {{name: conv1, filters: 8, kernel: 3, padding: 1}}
          - batchnorm: {{name: bn1}}
          - relu: {{name: relu}}
          - maxpool: {{name: pool, kernel: 2}}
          - conv: {{name: conv2, filters: 16, kernel: 3, padding: 1, bias: false, activation: relu}}
          - adaptive_avgpool: {{name: gap, size: 1}}
          - flatten: {{name: flatten}}
          - dense: {{name: head, units: 10}}
        expect: {{params: {params}, macs: {macs}, output_shape: [10]}}
        """)
    r = run_cli("check", good, "--against", f"torch:{name}:small")
    assert r.code == 0, r.out + r.err
    bad = spec(tmp_path, open(good).read().replace("filters: 16", "filters: 32").replace(
        f"params: {params}, macs: {macs}, ", ""), "bad.yaml")
    r = run_cli("check", bad, "--against", f"torch:{name}:small")
    assert r.code == 1
    # conv2 on 8×8×8: 32 filters of 3·3·8 = 2,304 weights; PyTorch's has 16 (1,152)
    assert f"{bad}:7: conv2 params: the spec gives 2,304, the model 1,152" in r.out.splitlines()


def test_pre_commit_hook_against(tmp_path):
    """The hook runs `cnncalc check ARGS` without file names: the args name the spec and its model."""
    import yaml

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "cnncalc-check-against"]
    assert hook["entry"].split() == ["cnncalc", "check"] and hook["pass_filenames"] is False
    mine = spec(tmp_path, "input: 10\nlayers:\n  - dense: {name: fc, units: 5}\n")
    other = spec(tmp_path, "input: 10\nlayers:\n  - dense: {name: fc, units: 6}\n", "other.yaml")
    assert run_cli(*hook["entry"].split()[1:], mine, "--against", mine).code == 0
    r = run_cli(*hook["entry"].split()[1:], mine, "--against", other)
    # 10·5 + 5 = 55 params against 10·6 + 6 = 66
    assert r.code == 1 and f"{mine}:3: fc params: the spec gives 55, the model 66" in r.out.splitlines()


def test_the_same_computation_written_two_ways_is_no_difference(tmp_path):
    """global_avgpool against adaptive_avgpool + flatten: no parameters, no MACs, the same 16 at
    the end; a missing pool is a difference."""
    model = spec(tmp_path, """\
        input: [8, 8, 3]
        layers:
          - conv: {name: conv, filters: 16, kernel: 3}
          - adaptive_avgpool: {name: avgpool, size: 1}
          - flatten: {name: flatten}
          - dense: {name: fc, units: 4}
        """, "model.yaml")
    mine = spec(tmp_path, """\
        input: [8, 8, 3]
        layers:
          - conv: {name: conv, filters: 16, kernel: 3}
          - global_avgpool: {name: gap}
          - dense: {name: fc, units: 4}
        """)
    r = run_cli("check", mine, "--against", model)
    assert r.code == 0, r.out
    flat = spec(tmp_path, """\
        input: [8, 8, 3]
        layers:
          - conv: {name: conv, filters: 16, kernel: 3}
          - flatten: {name: flatten}
          - dense: {name: fc, units: 4}
        """, "flat.yaml")
    r = run_cli("check", flat, "--against", model)
    out = r.out.splitlines()
    # 6·6·16 = 576 inputs to fc: 576·4 + 4 = 2,308 params, against 16·4 + 4 = 68
    assert r.code == 1 and f"{flat}:5: fc params: the spec gives 2,308, the model 68" in out
    assert f"{flat}:4: flatten output_shape: the spec gives 576, the model 16" in out
    assert f"{flat}:3: avgpool (adaptive_avgpool): in the model only, not in the spec" in out


def test_an_activation_name_that_means_another_call(tmp_path):
    """torch.fx names three calls of one ReLU module relu, relu_1, relu_2: a namesake that reads
    something else is not the same layer."""
    model = spec(tmp_path, """\
        input: [8, 8, 3]
        layers:
          - conv: {name: c1, filters: 4, kernel: 3}
          - relu: {name: relu}
          - conv: {name: c2, filters: 8, kernel: 3}
          - relu: {name: relu_1}
        """, "model.yaml")
    mine = spec(tmp_path, """\
        input: [8, 8, 3]
        layers:
          - conv: {name: c1, filters: 4, kernel: 3}
          - relu: {name: relu1}
          - conv: {name: c2, filters: 8, kernel: 3}
          - relu: {name: relu}
        """)
    r = run_cli("check", mine, "--against", model, "-f", "json")
    assert r.code == 0, r.out
    checks = json.loads(r.out)["specs"][0]["checks"]
    # the spec's relu (6×6×4 → 4×4×8 after c2) is paired with the model's relu_1, by order
    shape = next(c for c in checks if c["layer"] == "relu" and c["figure"] == "output_shape")
    assert shape["model_layer"] == "relu_1" and shape["match"] == "order" and shape["actual"] == [4, 4, 8]


def test_against_a_keras_file(tmp_path):
    """The spec imported from a .keras file holds to it; a conv edited by hand does not. Keras's
    stem: 32×32×3 padded to 33×33, Conv2D(16, 3, strides=2, use_bias=False): 16×16×16 and
    16·16·16·27 = 110,592 MACs; at stride 1: 31×31×16 and 31·31·16·27 = 415,152."""
    keras_file = str(MODELS / "small_functional.keras")
    text = run_cli("import", keras_file).out
    same = tmp_path / "same.yaml"
    same.write_text(text, encoding="utf-8")
    assert run_cli("check", str(same), "--against", keras_file).code == 0
    edited = tmp_path / "edited.yaml"
    old = "{name: stem_conv, filters: 16, kernel: 3, stride: 2, bias: false}"
    assert old in text
    edited.write_text(text.replace(old, old.replace("stride: 2, ", "")), encoding="utf-8")
    line = next(i for i, t in enumerate(edited.read_text().splitlines(), 1) if "name: stem_conv" in t)
    r = run_cli("check", str(edited), "--against", keras_file)
    assert r.code == 1
    out = r.out.splitlines()
    assert f"{edited}:{line}: stem_conv output_shape: the spec gives 31×31×16, the model 16×16×16" in out
    assert f"{edited}:{line}: stem_conv macs: the spec gives 415,152, the model 110,592" in out
    assert not any(": stem_conv params:" in x for x in out)  # 3·9·16 = 432 either way


SMALL_32 = """\
    input: [32, 32, 3]
    layers:
      - conv: {name: conv1, filters: 8, kernel: 3, padding: 1}
      - batchnorm: {name: bn1}
      - relu: {name: relu}
      - maxpool: {name: pool, kernel: 2}
      - conv: {name: conv2, filters: 16, kernel: 3, padding: 1, bias: false, activation: relu}
      - adaptive_avgpool: {name: gap, size: 1}
      - flatten: {name: flatten}
      - dense: {name: head, units: 10}
    """


def _torch_macs(torch, model, size: int) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, size, size))
    return counter.get_total_flops() // 2


def test_torch_model_is_built_at_the_specs_input_size(torch_module, tmp_path):
    # no --input: the torch: model is built at the spec's 32×32×3, so a spec written for 32×32 agrees
    torch, name = torch_module
    macs32 = _torch_macs(torch, __import__(name).small(), 32)
    # by hand: conv1 32·32·8·27, conv2 16·16·16·72, head 16·10
    assert macs32 == 32 * 32 * 8 * 27 + 16 * 16 * 16 * 72 + 160
    mine = spec(tmp_path, SMALL_32.rstrip(" ") + f"    expect: {{macs: {macs32}}}\n")
    r = run_cli("check", mine, "--against", f"torch:{name}:small")
    assert r.code == 0, r.out + r.err


def test_check_input_builds_the_torch_model_at_that_size(torch_module, tmp_path):
    torch, name = torch_module
    mine = spec(tmp_path, SMALL_32)
    r = run_cli("check", mine, "--against", f"torch:{name}:small", "--input", "32x32x3")
    assert r.code == 0, r.out + r.err
    # at 16×16×3 the model differs from the 32×32 spec: its input, and MACs (FlopCounterMode's) per layer
    r = run_cli("check", mine, "--against", f"torch:{name}:small", "--input", "16x16x3", "-f", "json")
    assert r.code == 1, r.out + r.err
    doc = json.loads(r.out)
    assert doc["settings"]["against_input"] == [16, 16, 3]
    found = {(o["layer"], o["figure"]): (o["expected"], o["actual"]) for o in doc["specs"][0]["checks"]
             if not o["ok"]}
    assert found[(None, "input")] == ([16, 16, 3], [32, 32, 3])
    macs16 = _torch_macs(torch, __import__(name).small(), 16)
    assert macs16 == 16 * 16 * 8 * 27 + 8 * 8 * 16 * 72 + 160  # by hand
    assert found[(None, "macs")] == (macs16, 32 * 32 * 8 * 27 + 16 * 16 * 16 * 72 + 160)
    # the fast parser and typer's both take it (one declaration in cnncalc/cli/options.py)
    from cnncalc.cli.entry import parse_fast

    assert parse_fast(["check", mine, "--against", "m.onnx", "--input", "8x8x3"])[1]["input_size"] == "8x8x3"
    import io
    from contextlib import redirect_stdout

    from cnncalc.cli.entry import main

    outs = []
    for fast in (True, False):
        buf = io.StringIO()
        with redirect_stdout(buf):
            code = main(["check", mine, "--against", f"torch:{name}:small", "--input", "16x16x3"], fast=fast)
        outs.append((code, buf.getvalue()))
    assert outs[0] == outs[1] and outs[0][0] == 1
    assert f" comparisons with torch:{name}:small at 16×16×3: " in outs[0][1].splitlines()[-1]


def test_check_input_replaces_a_spec_models_size_only_with_against(tmp_path):
    mine = spec(tmp_path, "input: 10\nlayers:\n  - dense: {name: fc, units: 5}\n")
    assert run_cli("check", mine, "--against", mine).code == 0
    # the model (here the spec itself) at 12 inputs: 12·5 + 5 = 65 params against 10·5 + 5 = 55
    r = run_cli("check", mine, "--against", mine, "--input", "12")
    assert r.code == 1 and f"{mine}:3: fc params: the spec gives 55, the model 65" in r.out.splitlines(), r.out
    r = run_cli("check", mine, "--input", "12")
    assert r.code == 2 and r.out == "" and len(r.err.splitlines()) == 1 and "--against" in r.err, r.err
    r = run_cli("check", mine, "--against", mine, "--input", "12x")
    assert r.code == 2 and r.out == "" and len(r.err.splitlines()) == 1 and "--input" in r.err, r.err
