"""The command line: exit codes, formats, and one clear error line for each kind of bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import ROOT, run_cli


def test_show_builtin_exit_0():
    r = run_cli("vgg16")
    assert r.code == 0 and r.err == ""
    assert "conv5_3" in r.out and "138,357,544" in r.out


def test_show_spec_path():
    r = run_cli(str(ROOT / "specs" / "alexnet.yaml"), "--exact")
    assert r.code == 0
    assert "60,965,224" in r.out


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown", "table"])
def test_formats(fmt):
    r = run_cli("xo_toy", "--format", fmt)
    assert r.code == 0 and r.out
    if fmt == "json":
        d = json.loads(r.out)
        assert d["layers"][-1]["output_shape"] == [4, 4, 3] and d["totals"]["params"] == 27


def test_weights_only_dtype_batch():
    d = json.loads(run_cli("vgg16", "-f", "json", "--weights-only", "--dtype", "float16", "--batch", "8").out)
    assert d["totals"]["params"] == 138_344_128
    assert d["totals"]["activation_bytes"] == 15_237_608 * 2 * 8
    assert d["totals"]["activation_bytes_fwd_bwd"] == 15_237_608 * 2 * 8 * 2
    assert d["totals"]["param_bytes"] == 138_357_544 * 2


def test_usage_errors_exit_2_with_one_line():
    for args in (["vgg16", "--format", "xml"], ["vgg16", "--batch", "0"], ["vgg16", "--nope"]):
        r = run_cli(*args)
        assert r.code == 2, args
        assert len(r.err.strip().splitlines()) == 1 and r.err.startswith("cnncalc: error:"), r.err


def test_unknown_builtin_suggests():
    r = run_cli("alexnett")
    assert r.code == 2
    assert "did you mean 'alexnet'?" in r.err


def test_missing_file():
    r = run_cli("no/such/spec.yaml")
    assert r.code == 2 and r.err.strip() == "cnncalc: error: no/such/spec.yaml: no such file"


def test_strict_turns_misfit_into_error(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("input: [10, 10, 3]\nlayers:\n  - conv: {filters: 4, kernel: 3, stride: 2}\n")
    lenient = run_cli(str(spec), "-f", "json")
    assert lenient.code == 0
    warning = json.loads(lenient.out)["layers"][1]["warnings"][0]
    assert "(10 − 3 + 0)/2 + 1 = 4.5" in warning and "floored to 4" in warning
    strict = run_cli(str(spec), "--strict")
    assert strict.code == 2
    assert strict.err.strip() == (f"cnncalc: error: {spec}:3:5: conv1: H and W: (10 − 3 + 0)/2 + 1 = 4.5: "
                                  "these hyperparameters do not fit (W=10, F=3, P=0, S=2)")


# (spec text, expected error after "cnncalc: error: FILE:") — the bad inputs issue 2 lists
BAD = [
    ("input: [8, 8, 3\nlayers:\n  - relu\n", "2:7: invalid YAML: did not find expected ',' or ']'"),
    ("input: [8, 8, 3]\nlayers:\n  - cnov: {filters: 4, kernel: 3}\n",
     "3:5: unknown layer type 'cnov'; did you mean 'conv'?"),
    ("input: [8, 8, 3]\nlayers:\n  - conv: {filters: 4, kernal: 3}\n",
     "3:24: conv1: unknown parameter 'kernal' for conv; did you mean 'kernel'?"),
    ("input: [8, 8, 3]\nlayers:\n  - conv: {filters: four, kernel: 3}\n",
     "3:21: conv1: filters must be a positive integer (received 'four')"),
    ("input: [8, 8, 3]\nlayers:\n  - conv: {name: c1, filters: 4, kernel: 11}\n",
     "3:5: c1: kernel 11 is larger than the padded input 8 along H (received input 8×8×3, padding 0+0)"),
    ("input: [0, 8, 3]\nlayers:\n  - relu\n",
     "1:8: 'input' must be [H, W, C] or one number N, all positive integers (received [0, 8, 3])"),
    ("input: [8, 8, 3]\nlayers:\n  - conv: {filters: 4, kernel: -3}\n",
     "3:32: conv1: kernel must be a positive integer (received -3)"),
    ("input: [8, 8, 3]\nlayers:\n  - conv: {filters: 4, kernel: 3, groups: 2}\n",
     "3:5: conv1: groups=2 does not divide the 3 input channels (received input 8×8×3)"),
    ("input: [8, 8, 3]\nlayers:\n  - conv: {name: a, filters: 4, kernel: 3}\n  - add: {from: [a, input]}\n",
     "4:5: add1: add needs inputs of the same shape (received 6×6×4, 8×8×3)"),
    ("input: [8, 8, 3]\nlayers:\n  - conv: {name: a, filters: 4, kernel: 3}\n  - concat: {from: [a, input]}\n",
     "4:5: concat1: concat needs inputs that agree on every axis but the channels (received 6×6×4, 8×8×3)"),
    ("input: [8, 8, 3]\nlayers:\n  - conv: {name: conv_a, filters: 4, kernel: 3}\n  - relu: {from: conv_b}\n",
     "4:18: relu1: 'from' names no layer called 'conv_b'; did you mean 'conv_a'?"),
    ("input: [8, 8, 3]\nlayers:\n  - relu: {name: a, from: b}\n  - relu: {name: b, from: a}\n",
     "3:27: a: the layers form a cycle: a → b → a"),
    ("input: [8, 8, 3]\nlayers:\n  - relu: {name: a}\n  - relu: {name: a}\n",
     "4:18: a: duplicate layer name 'a' (first at {f}:3:18)"),
    ("input: !!python/object/apply:os.system ['echo hi']\nlayers:\n  - relu\n",
     "1:8: YAML tags that build objects are not allowed in a spec"),
    # (dense on 8×8×3 was an error here; issue 12: it acts on the last axis, as Linear and Dense do)
    ("input: [8, 8, 3]\nlayers:\n  - mha: 3\n",
     "3:5: multihead_attention1: multihead_attention needs a token sequence L×C (add to_tokens after a feature "
     "map) (received 8×8×3)"),
    ("", "1:1: a spec is a YAML mapping with 'input:' and 'layers:' (received an empty file)"),
    ("input: [8, 8, 3]\nlayer:\n  - relu\n",
     "2:1: unknown top-level key 'layer'; did you mean 'layers'?"),
    ("input: [8, 8, 3]\nlayers:\n  - add\n", "3:5: add1: add takes at least 2 inputs (from: [a, b]) (received input)"),
    ("input: [8, 8, 3]\nlayers:\n  - conv: {filters: 4}\n", "3:5: conv1: conv needs 'kernel' (F, or [F_h, F_w])"),
    ("input: [8, 8, 3]\nlayers:\n  - conv: {filters: true, kernel: 3}\n",
     "3:21: conv1: filters must be a positive integer (received true)"),
    ("input: [8, 8, 3]\nlayers:\n  - conv: {filters: 4, kernel: 3}\n    relu:\n",
     "3:5: a layer entry names exactly one type; put parameters under it, like {conv: {...}} (received conv, relu)"),
    ("input: [8, 8, 3]\nlayers:\n  - maxpool: {kernel: 2, stride: 0}\n",
     "3:34: maxpool1: stride must be a positive integer (received 0)"),
    ("input: [8, 8, 3]\nlayers:\n  - relu: 3\n", "3:11: relu1: relu takes no value; write it as '- relu' (received 3)"),
]


@pytest.mark.parametrize("text,expected", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_gives_one_located_line(tmp_path, text, expected):
    spec = tmp_path / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    r = run_cli(str(spec))
    assert r.code == 2
    assert r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    assert lines[0].startswith(f"cnncalc: error: {spec}:" + expected.replace("{f}", str(spec)).split(" (known")[0])


def test_internal_errors_are_one_line(monkeypatch):
    import cnncalc.core.analysis

    def boom(*a, **k):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(cnncalc.core.analysis, "analyze", boom)
    r = run_cli("xo_toy")
    assert r.code == 2
    assert r.err.startswith("cnncalc: internal error: ZeroDivisionError: simulated bug")
    assert "--debug" in r.err and "Traceback" not in r.err
    with pytest.raises(ZeroDivisionError):
        run_cli("xo_toy", "--debug")


def test_console_script_piped_has_no_colour_codes():
    """The installed-style entry point, piped: no ANSI escapes; NO_COLOR honoured."""
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "cnncalc", "vgg16"], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=60)
    assert p.returncode == 0
    assert "\x1b[" not in p.stdout
    assert "138,357,544" in p.stdout


def test_list_builtins():
    r = run_cli("list")
    assert r.code == 0
    assert {"vgg16", "alexnet", "xo_toy"} <= set(r.out.split())


def test_internal_error_with_a_long_multiline_message_stays_one_line(monkeypatch):
    import cnncalc.core.analysis

    def boom(*a, **k):
        raise ValueError("first line\nsecond line " + "x" * 10_000)

    monkeypatch.setattr(cnncalc.core.analysis, "analyze", boom)
    r = run_cli("xo_toy")
    assert r.code == 2 and len(r.err.splitlines()) == 1 and len(r.err) < 600
    assert r.err.startswith("cnncalc: internal error: ValueError: first line\\nsecond line xxx")


@pytest.mark.parametrize("args", [["resnet152"], ["resnet152", "--format", "json"], ["resnet152", "--explain"],
                                  ["check", "specs/vgg16.yaml", "specs/resnet50.yaml", "--format", "json"]])
def test_a_reader_that_goes_away_is_exit_2_and_silent(args):
    # `cnncalc resnet152 | head -1` where head has already gone: the write fails with EPIPE; the run
    # ends with exit 2 (the output was not all delivered), no traceback and nothing on stderr
    proc = subprocess.Popen([sys.executable, "-c", "from cnncalc.cli.entry import run; run()", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the program (which needs ~0.2 s to start) writes anything
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 2
    assert err == b""
