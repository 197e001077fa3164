"""`cnncalc check`: expectations, budgets, exit codes, formats. Expected figures come from
REFERENCE.md or are worked out by hand in comments next to them."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.conftest import ROOT, SPECS, run_cli

# A tiny network, figures by hand:
#   input 8×8×3                                   activations 192
#   c1 conv 4 3×3 p1 → 8×8×4: weights 3·3·3·4 = 108, biases 4; MACs 8·8·4·27 = 6,912; act 256
#   p1 maxpool 2 → 4×4×4                          act 64
#   flatten → 64 (a view)
#   fc dense 10: weights 640, biases 10; MACs 640; act 10
# params 762, MACs 7,552, activations 522 → 2,088 bytes at float32
TINY = """\
name: tiny
input: [8, 8, 3]
layers:
  - conv: {name: c1, filters: 4, kernel: 3, padding: 1}
  - maxpool: {name: p1, kernel: 2}
  - flatten
  - dense: {name: fc, units: 10}
"""


def write(tmp_path, text: str, name: str = "net.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def spec(tmp_path, tail: str, name: str = "net.yaml"):
    return write(tmp_path, TINY + textwrap.dedent(tail), name)


# ---------------------------------------------------------------------------------------------
# exit 0


def test_all_hold_exits_0(tmp_path):
    p = spec(tmp_path, """\
        expect:
          params: 762
          weights: 748
          biases: 14
          macs: 7552
          flops: 15104
          activations: 522
          memory: 2088B
          output_shape: [10]
          layers:
            c1: {output_shape: 8x8x4, params: 112, macs: 6912, receptive_field: 3}
            p1: {output_shape: [4, 4, 4], receptive_field: 4x4, valid: true}
        budget:
          params: 762
          macs: 8K
          activation_bytes: 2088B
          layers: {c1: {params: 112}}
        """)
    r = run_cli("check", str(p))
    assert r.code == 0, r.out
    # 8 + 4 (c1) + 3 (p1) expectations, 3 + 1 (c1) budgets; each noun in its right number
    assert r.out.strip() == "cnncalc check: 1 spec, 15 expectations, 4 budgets: all hold"


def test_spec_without_expectations_only_has_to_build(tmp_path):
    p = write(tmp_path, TINY)
    r = run_cli("check", str(p))
    assert r.code == 0
    assert "0 expectations" in r.out


def test_shipped_specs_all_hold_also_under_strict():
    # mnist_cnn floors 11 → 5 at pool2 and says so with `valid: false`
    assert run_cli("check", str(SPECS)).code == 0
    r = run_cli("check", "--strict", str(SPECS))
    assert r.code == 0, r.out


def test_vgg16_expectations_from_reference(tmp_path):
    # REFERENCE.md: params 138,357,544; MACs 15,470,264,320; activations 15,237,608 (60.95 MB)
    text = (SPECS / "vgg16.yaml").read_text().split("expect:")[0]
    p = write(tmp_path, text + textwrap.dedent("""\
        expect:
          params: 138M
          macs: 15.5G
          flops: 30940528640
          activations: 15237608
          memory: 60.95MB
          layers: {conv1_2: {params: 36928, output_shape: 224x224x64}, conv5_3: {receptive_field: 196}}
        """))
    r = run_cli("check", str(p))
    assert r.code == 0, r.out


# ---------------------------------------------------------------------------------------------
# exit 1: failures, one line each, at the line of the expectation


def test_failures_exit_1_with_file_line_messages(tmp_path):
    p = spec(tmp_path, """\
        expect:
          params: 760
          macs: 3.5K
          output_shape: [10]
          layers: {p1: {output_shape: [2, 2, 4]}}
        budget:
          activation_bytes: 1kB
        """)
    r = run_cli("check", str(p))
    assert r.code == 1
    lines = r.out.splitlines()
    assert lines == [
        f"{p}:9: params: expected 760, got 762",
        f"{p}:10: macs: expected 3.5K, got 7,552 (7.6K)",
        f"{p}:12: p1 output_shape: expected 2×2×4, got 4×4×4",
        f"{p}:14: budget activation_bytes: expected at most 1kB, got 2,088 (2.09 kB)",
        "cnncalc check: 1 spec, 4 expectations, 1 budget: 4 failed (in 1 spec)",
    ]


@pytest.mark.parametrize("written, ok", [
    ("15.47G", True), ("15.5G", True), ("15G", True), ("15.4G", False), ("15470264320", True),
    ("15470264321", False), ("15.470G", True), ("16G", False),
])
def test_rounding_rule_is_the_graders(written, ok):
    # VGG16 MACs 15,470,264,320 (REFERENCE.md): rounded forms are right at the precision written
    from cnncalc.verify.answers import parse_number

    assert parse_number(written).matches(15_470_264_320) is ok


@pytest.mark.parametrize("limit, batch, dtype, code", [
    ("100MB", 1, "float32", 0),  # 15,237,608 · 4 = 60,950,432 B
    ("100MB", 2, "float32", 1),  # 121,900,864 B
    ("100MB", 2, "float16", 0),  # 60,950,432 B
    ("60950432B", 1, "float32", 0),  # a limit is inclusive
    ("60950431B", 1, "float32", 1),
    ("60.9MB", 1, "float32", 1),  # an upper limit, not a rounding: 60.95 MB > 60.9 MB
])
def test_budget_is_an_upper_limit_at_batch_and_dtype(tmp_path, limit, batch, dtype, code):
    text = (SPECS / "vgg16.yaml").read_text().split("expect:")[0]
    p = write(tmp_path, text + f"budget:\n  activation_bytes: {limit}\n")
    r = run_cli("check", str(p), "--batch", str(batch), "--dtype", dtype)
    assert r.code == code, r.out


def test_params_budget_boundary(tmp_path):
    # 762 params: 762 holds, 761 fails
    assert run_cli("check", str(spec(tmp_path, "budget: {params: 762}\n", "a.yaml"))).code == 0
    assert run_cli("check", str(spec(tmp_path, "budget: {params: 761}\n", "b.yaml"))).code == 1


def test_training_bytes_budget(tmp_path):
    # float32, adam: params 762·4 = 3,048 (no running stats); grads 3,048; states 2·3,048 = 6,096;
    # activations 2,088 → 14,280 bytes
    ok = spec(tmp_path, "budget: {training_bytes: 14280B, train: adam}\n", "a.yaml")
    bad = spec(tmp_path, "budget: {training_bytes: 14279B, train: adam}\n", "b.yaml")
    sgd = spec(tmp_path, "budget: {training_bytes: 8184B}\n", "c.yaml")  # 3,048 + 3,048 + 2,088
    assert run_cli("check", str(ok)).code == 0
    assert run_cli("check", str(bad)).code == 1
    assert run_cli("check", str(sgd), "--train", "sgd").code == 0
    assert run_cli("check", str(sgd), "--train", "momentum").code == 1
    r = run_cli("check", str(sgd))  # no optimizer anywhere: the spec cannot be checked
    assert r.code == 2 and "needs an optimizer" in r.out


# ---------------------------------------------------------------------------------------------
# exit 2: invalid or unreadable specs and expectations


@pytest.mark.parametrize("tail, line, fragment", [
    ("expect:\n  parms: 762\n", 9, "unknown figure 'parms' in expect; did you mean 'params'?"),
    ("expect:\n  layers: {c11: {params: 1}}\n", 9, "no layer called 'c11'; did you mean 'c1'?"),
    ("expect:\n  macs: lots\n", 9, "not a number"),
    ("budget:\n  output_shape: [10]\n", 9, "unknown figure 'output_shape' in budget"),
    ("budget:\n  activation_bytes: 100M\n", 9, "needs a byte unit"),
    ("expect: 762\n", 8, "'expect' must be a mapping"),
])
def test_unreadable_expectations_exit_2(tmp_path, tail, line, fragment):
    p = spec(tmp_path, tail)
    r = run_cli("check", str(p))
    assert r.code == 2, r.out
    assert r.out.splitlines()[0].startswith(f"{p}:{line}:")
    assert fragment in r.out


def test_invalid_and_missing_specs_exit_2(tmp_path):
    bad_yaml = write(tmp_path, "input: [8, 8\nlayers: []\n", "bad.yaml")
    r = run_cli("check", str(bad_yaml), str(tmp_path / "missing.yaml"), str(tmp_path / "*.yml"))
    assert r.code == 2
    lines = r.out.splitlines()
    assert lines[0].startswith(f"{bad_yaml}:") and "invalid YAML" in lines[0]
    assert lines[1] == f"{tmp_path / 'missing.yaml'}: no such file"
    assert lines[2] == f"{tmp_path / '*.yml'}: no files match"
    assert lines[3].endswith("3 specs invalid")


def test_invalid_wins_over_failed(tmp_path):
    failing = spec(tmp_path, "expect: {params: 1}\n", "a.yaml")
    invalid = write(tmp_path, "layers: []\n", "b.yaml")
    assert run_cli("check", str(failing)).code == 1
    assert run_cli("check", str(failing), str(invalid)).code == 2


def test_strict_makes_an_unacknowledged_misfit_invalid(tmp_path):
    # 9×9 input, 2×2 pool stride 2: (9 − 2)/2 + 1 = 4.5
    text = "input: [9, 9, 1]\nlayers:\n  - maxpool: {name: p, kernel: 2}\n"
    plain = write(tmp_path, text, "a.yaml")
    assert run_cli("check", str(plain)).code == 0
    r = run_cli("check", "--strict", str(plain))
    assert r.code == 2
    assert r.out.splitlines()[0] == (f"{plain}:3:5: p: H and W: (9 − 2 + 0)/2 + 1 = 4.5: these hyperparameters "
                                     "do not fit (W=9, F=2, P=0, S=2)")
    for ack in ("expect: {valid: false}\n", "expect: {layers: {p: {valid: false}}}\n"):
        p = write(tmp_path, text + ack, "b.yaml")
        assert run_cli("check", "--strict", str(p)).code == 0
    wrong = write(tmp_path, text + "expect: {valid: true}\n", "c.yaml")
    assert run_cli("check", str(wrong)).code == 1


# ---------------------------------------------------------------------------------------------
# which files


def test_directories_globs_and_builtin_names(tmp_path):
    sub = tmp_path / "nets"
    sub.mkdir()
    (sub / "deeper").mkdir()
    (sub / ".hidden").mkdir()
    write(sub, TINY, "a.yaml")
    write(sub / "deeper", TINY, "b.yml")
    write(sub / ".hidden", "not: a spec\n", "c.yaml")
    write(sub, "not a spec", "notes.txt")
    from cnncalc.verify.check import expand_sources

    assert expand_sources([str(sub)]) == [str(sub / "a.yaml"), str(sub / "deeper" / "b.yml")]
    assert expand_sources([str(sub / "*.yaml"), str(sub / "a.yaml")]) == [str(sub / "a.yaml")]
    assert expand_sources([str(sub / "**" / "*.yml")]) == [str(sub / "deeper" / "b.yml")]
    r = run_cli("check", str(sub), "vgg16", "--format", "json")
    assert r.code == 0
    data = json.loads(r.out)
    assert [s["source"] for s in data["specs"]] == [str(sub / "a.yaml"), str(sub / "deeper" / "b.yml"), "vgg16"]


def test_no_files_is_an_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run_cli("check", str(empty))
    assert r.code == 2 and "no spec files" in r.out


# ---------------------------------------------------------------------------------------------
# formats


def test_json_format(tmp_path):
    p = spec(tmp_path, "expect:\n  params: 760\n  output_shape: [10]\n")
    r = run_cli("check", str(p), "--format", "json")
    assert r.code == 1
    data = json.loads(r.out)
    (s,) = data["specs"]
    assert s["status"] == "failed" and s["name"] == "tiny" and s["error"] is None
    assert s["checks"][0] == {"kind": "expect", "figure": "params", "layer": None, "expected": "760", "actual": 762,
                              "ok": False, "file": str(p), "line": 9, "message": "params: expected 760, got 762"}
    assert s["checks"][1]["actual"] == [10] and s["checks"][1]["ok"] is True
    assert data["summary"] == {"specs": 1, "checks": 2, "failed_checks": 1, "failed_specs": 1, "invalid_specs": 0,
                               "exit_code": 1}


def test_github_format(tmp_path):
    p = spec(tmp_path, "expect:\n  params: 760\n")
    bad = write(tmp_path, TINY.replace("kernel: 3,", "kernel: 30,"), "bad.yaml")
    r = run_cli("check", str(p), str(bad), "--format", "github")
    assert r.code == 2
    lines = r.out.splitlines()
    assert lines[0] == f"::error file={p},line=9,col=3,title=cnncalc check::params: expected 760, got 762"
    assert lines[1].startswith(f"::error file={bad},line=4,col=5,title=cnncalc%3A invalid spec::c1: kernel 30 is "
                               "larger than the padded input 10")
    assert not lines[-1].startswith("::")


def test_github_escaping():
    from cnncalc.render.check import annotation

    assert annotation("a,b:c.yaml", 3, None, "50% done\nnext") == \
        "::error file=a%2Cb%3Ac.yaml,line=3,title=cnncalc check::50%25 done%0Anext"


@pytest.mark.parametrize("env, args, github", [
    ({"GITHUB_ACTIONS": "true"}, [], True),
    ({"GITHUB_ACTIONS": "false"}, [], False),
    ({}, [], False),
    ({"GITHUB_ACTIONS": "true"}, ["--format", "text"], False),
    ({}, ["--format", "github"], True),
])
def test_github_actions_auto_detected(tmp_path, monkeypatch, env, args, github):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    p = spec(tmp_path, "expect:\n  params: 760\n")
    r = run_cli("check", str(p), *args)
    assert r.code == 1
    assert r.out.startswith("::error ") is github


# ---------------------------------------------------------------------------------------------
# pre-commit


def test_pre_commit_hook_definition():
    import re

    import yaml

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "cnncalc-check"]
    assert hook["entry"].split()[:2] == ["cnncalc", "check"]
    assert hook["language"] == "python"
    assert re.search(hook["files"], "specs/vgg16.yaml") and not re.search(hook["files"], ".github/ci.yaml")
    # the hook's command works on the files pre-commit would pass
    r = run_cli(*hook["entry"].split()[1:], *hook.get("args", []), "specs/vgg16.yaml", "specs/mnist_cnn.yaml")
    assert r.code == 0, r.out
