"""Blocks and repeat: expansion, names, first-repetition variation, errors and limits."""

from __future__ import annotations

import time

import pytest

from cnncalc import analyze, parse_spec
from cnncalc.core.errors import CnnCalcError, LimitError, SpecError

from .conftest import run_cli

RES = """\
name: t
input: [8, 8, 4]
blocks:
  res:
    params: {c: 4, stride: 1, project: false}
    layers:
      - conv: {name: conv1, filters: $c, kernel: 3, stride: $stride, padding: 1, bias: false}
      - relu
      - conv: {name: conv2, filters: "${c}", kernel: 3, padding: 1, bias: false}
      - conv: {name: proj, filters: $c, kernel: 1, stride: $stride, bias: false, from: in, if: $project}
      - add: {name: add, from: [conv2, proj]}
layers:
  - res: {name: stage1, repeat: 2}
  - res: {name: stage2, c: 8, repeat: 3, first: {stride: 2, project: true}}
  - gap
"""


def names(text):
    return [s.name for s in parse_spec(text, "t.yaml").layers]


def test_expansion_names_and_counts():
    r = analyze(parse_spec(RES, "t.yaml"))
    n = [x.name for x in r.layers]
    assert n[:6] == ["input", "stage1.0.conv1", "stage1.0.relu1", "stage1.0.conv2", "stage1.0.add",
                     "stage1.1.conv1"]
    assert "stage2.0.proj" in n and "stage2.1.proj" not in n and "stage1.0.proj" not in n
    # identity shortcut: the add reads the block's input
    assert r.layer("stage1.0.add").inputs == ("stage1.0.conv2", "input")
    assert r.layer("stage1.1.add").inputs == ("stage1.1.conv2", "stage1.0.add")
    assert r.layer("stage2.0.add").inputs == ("stage2.0.conv2", "stage2.0.proj")
    assert r.layer("stage2.0.proj").inputs == ("stage1.1.add",)
    # hand-computed: stage1 two blocks of 2 convs 3×3×4×4; stage2 first: 3×3×4×8 + 3×3×8×8 + 1×1×4×8,
    # then two blocks of 2 × 3×3×8×8
    w = 2 * 2 * (9 * 4 * 4) + (9 * 4 * 8 + 9 * 8 * 8 + 4 * 8) + 2 * 2 * (9 * 8 * 8)
    assert r.totals.params == w
    assert r.layer("stage2.2.add").output_shape == (4, 4, 8)
    assert r.output_shape == (8,)


def test_repeat_plain_layer():
    text = ("input: [5, 5, 2]\nlayers:\n  - conv: {filters: 2, kernel: 1, repeat: 3}\n"
            "  - conv: {name: c, filters: 2, kernel: 1, repeat: 2}\n")
    assert names(text) == ["input", "conv1", "conv2", "conv3", "c.0", "c.1"]


def test_repeat_plain_layer_first():
    text = "input: [8, 8, 1]\nlayers:\n  - maxpool: {kernel: 1, repeat: 3, first: {kernel: 2}}\n"
    r = analyze(parse_spec(text, "t.yaml"))
    assert [x.output_shape for x in r.layers] == [(8, 8, 1), (4, 4, 1), (4, 4, 1), (4, 4, 1)]


def test_nested_blocks_and_expressions():
    text = """\
input: [4, 4, 2]
blocks:
  inner:
    params: {k: null}
    layers:
      - conv: {name: c, filters: "${k * 2 + 1}", kernel: 1}
  outer:
    params: {k: 1}
    layers:
      - inner: {name: a, k: $k}
      - inner: {name: b, k: "${k + 1}"}
layers:
  - outer: {name: o, k: 3, repeat: 2}
"""
    r = analyze(parse_spec(text, "t.yaml"))
    assert [x.name for x in r.layers] == ["input", "o.0.a.c", "o.0.b.c", "o.1.a.c", "o.1.b.c"]
    assert [x.output_shape[2] for x in r.layers[1:]] == [7, 9, 7, 9]
    assert r.layers[1].spec.block == "o.0.a"


def test_unnamed_instances_and_dsl_entry_in_block():
    text = """\
input: [4, 4, 2]
blocks:
  b:
    layers:
      - conv 3 k1
      - relu
layers:
  - b
  - b
"""
    assert names(text) == ["input", "b1.conv1", "b1.relu1", "b2.conv1", "b2.relu1"]


def err(text) -> CnnCalcError:
    with pytest.raises(CnnCalcError) as e:
        analyze(parse_spec(text, "t.yaml"))
    return e.value


BAD_IN_BLOCK = """\
input: [8, 8, 4]
blocks:
  b:
    params: {c: 4}
    layers:
      - conv: {name: conv1, filters: $c, kernel: 3}
      - conv: {name: conv2, filters: $c, kernel: 9}
  outer:
    layers:
      - b: {name: x}
layers:
  - outer: {name: top}
"""


def test_error_inside_nested_block_names_definition_and_chain():
    msg = err(BAD_IN_BLOCK).format()
    # the line of conv2 in block b's definition, then each instantiation, innermost first
    assert msg.startswith("t.yaml:7:9: top.x.conv2: kernel 9 is larger than the padded input 6")
    assert msg.endswith("; in b instantiated at t.yaml:10:9; in outer instantiated at t.yaml:12:5")


@pytest.mark.parametrize("text,start", [
    ("input: 4\nblocks:\n  b:\n    params: {c: 1}\n    layers: [dense: $d]\nlayers: [b]\n",
     "t.yaml:5:21: b1.dense1: dense: '$d' names no parameter of this block"),
    ("input: 4\nblocks:\n  b:\n    params: {c: 1}\n    layers: [dense: 2]\nlayers:\n  - b: {cc: 3}\n",
     "t.yaml:7:9: b1: unknown argument 'cc' for block 'b'; did you mean 'c'?"),
    ("input: 4\nblocks:\n  b:\n    params: {c: null}\n    layers: [dense: 2]\nlayers:\n  - b\n",
     "t.yaml:7:5: b1: block 'b' needs the argument 'c'"),
    ("input: 4\nblocks:\n  b:\n    layers: [b]\nlayers:\n  - b\n", "t.yaml:4:14: b1.b1: block 'b' uses itself"),
    ("input: 4\nblocks:\n  conv:\n    layers: [relu]\nlayers: [conv]\n",
     "t.yaml:3:3: block 'conv' has the name of a layer type"),
    ("input: 4\nblocks:\n  b:\n    params: {c: 1}\n    layers:\n      - dense: {units: \"${c ** 9}\"}\nlayers: [b]\n",
     "t.yaml:6:24: b1.dense1: units: '${c ** 9}' uses something other than"),
    ("input: 4\nblocks:\n  b:\n    layers:\n      - dense: {units: 2, from: nope}\nlayers: [b]\n",
     "t.yaml:5:33: b1.dense1: 'from' names no layer called 'nope' in this block"),
    ("input: 4\nlayers:\n  - dense: {units: 2, repeat: 0}\n",
     "t.yaml:3:31: repeat must be a positive integer (received 0)"),
    ("input: 4\nlayers:\n  - relu: {if: 3}\n", "t.yaml:3:16: if must be true or false (received 3)"),
    ("input: 4\nblocks:\n  b:\n    layers: [relu]\n    extra: 1\nlayers: [b]\n",
     "t.yaml:5:5: unknown key 'extra' in block 'b'"),
])
def test_block_errors(text, start):
    e = err(text)
    assert isinstance(e, SpecError)
    assert e.format().startswith(start), e.format()


def test_huge_repeat_refused_instantly():
    t0 = time.perf_counter()
    e = err("input: 4\nlayers:\n  - relu: {repeat: 1000000000}\n")
    assert time.perf_counter() - t0 < 60  # a hang guard (it takes milliseconds); speed: benchmarks/
    assert isinstance(e, LimitError)
    assert "MAX_REPEAT" in e.message and "1,000,000,000" in e.message


def test_nested_repeat_explosion_refused():
    # 1000 × 1000 × 1000 layers: each repeat is allowed alone, the product is not
    text = """\
input: 4
blocks:
  a:
    layers: [{relu: {repeat: 1000}}]
  b:
    layers: [{a: {repeat: 1000}}]
layers:
  - b: {repeat: 1000}
"""
    t0 = time.perf_counter()
    e = err(text)
    assert isinstance(e, LimitError) and "MAX_LAYERS" in e.message
    assert time.perf_counter() - t0 < 60  # a hang guard, not a speed test


def test_deep_block_nesting_refused():
    blocks = "".join(f"  b{i}:\n    layers: [b{i + 1}]\n" for i in range(40)) + "  b40:\n    layers: [relu]\n"
    e = err(f"input: 4\nblocks:\n{blocks}layers: [b0]\n")
    assert isinstance(e, LimitError) and "MAX_BLOCK_DEPTH" in e.message


def test_cli_error_inside_block_is_one_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(BAD_IN_BLOCK)
    res = run_cli(str(p))
    assert res.code == 2
    assert res.err.count("\n") == 1 and "Traceback" not in res.err
    assert "in b instantiated at" in res.err


def test_a_parameterless_block_keeps_its_inner_repeat_in_every_instance(tmp_path):
    # the expansion copies an entry only when it has something to substitute or pop: the block's
    # own entry (relu: {repeat: 2}) must still repeat in each of the four instances (2 + 2 + 2·2)
    from cnncalc import parse_spec

    spec = ("input: [8, 8, 4]\nblocks:\n  pair:\n    layers:\n      - relu: {repeat: 2}\n"
            "layers:\n  - pair\n  - pair\n  - pair: {repeat: 2}\n")
    names = [layer.name for layer in parse_spec(spec).layers]
    assert names == ["input", "pair1.relu1.0", "pair1.relu1.1", "pair2.relu1.0", "pair2.relu1.1",
                     "pair3.0.relu1.0", "pair3.0.relu1.1", "pair3.1.relu1.0", "pair3.1.relu1.1"]
