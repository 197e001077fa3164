"""The option table (cnncalc/cli/options.py): every option of every command is accepted on both
parsers; the two parsers are generated from it; repeated options with different values and
the shell-completion options."""

from __future__ import annotations

import json
import subprocess
import sys
from enum import Enum

import pytest

from cnncalc.cli import entry as cli, options

from .conftest import ROOT, run_cli

BASE = {
    "show": ["lenet5"],
    "list": [],
    "show-spec": ["lenet5"],
    "conv": ["8x8x3", "--filters", "2", "--kernel", "3"],
    "tconv": ["8x8x3", "--filters", "2", "--kernel", "3"],
    "pool": ["8x8x3", "--kernel", "2"],
    "dense": ["16", "--units", "4"],
    "grade": [str(ROOT / "exams" / "six_by_six.yaml")],
    "check": ["lenet5"],
    "schema": [],
    "compare": ["lenet5", "pytorch_cifar_net"],
    "values": ["xo_toy"],
    "import": [str(ROOT / "tests" / "models" / "googlenet_3b_v2.prototxt")],
    "export": ["lenet5", "--to", "pytorch"],
}
VALUES = {"expr": "input 8x8x1 | conv 2 k3", "input_size": "32x32x1", "kernel": "3", "stride": "1",
          "padding": "1", "dilation": "1", "output_padding": "0", "filters": "2", "units": "4", "groups": "1",
          "depth": "1", "batch": "2", "cell": "pool[0,0,0]", "digits": "2", "truncate": "2",
          "macs_include": "bias,act*2", "against": "lenet5"}


def _cases():
    for c in options.COMMANDS:
        for o in options.options_of(c.name):
            for flag in o.flags:
                yield c.name, o, flag


CASES = list(_cases())


# an option that needs another one beside it
WITH = {("check", "input_size"): ["--against", "lenet5"]}


def _line(name, o, flag, tmp):
    args = [name] + list(BASE[name]) + WITH.get((name, o.key), [])
    if o.key == "expr":
        args = [name]
    if o.key == "output":
        value = str(tmp / "schema.json")
    elif o.kind is bool:
        value = None
    elif isinstance(o.kind, type) and issubclass(o.kind, Enum):
        value = list(o.kind)[-1].value if name != "show" or o.key != "fmt" else "json"
    else:
        value = VALUES[o.key]
    if flag in args:  # a required option of the base line: give it in this spelling instead
        i = args.index(next(f for f in o.flags if f in args))
        del args[i:i + 2]
    for f in o.flags:
        if f in args:
            i = args.index(f)
            del args[i:i + 2]
    return args + ([flag] if value is None else [flag, value])


@pytest.mark.parametrize("name,option,flag", CASES, ids=[f"{c} {f}" for c, _, f in CASES])
def test_every_option_is_accepted_on_both_paths(name, option, flag, tmp_path):
    args = _line(name, option, flag, tmp_path)
    from .test_cli_fastpath import _run

    code, out, err = _run(args, fast=False)
    assert "No such option" not in err and "no such option" not in err.lower(), (args, err)
    assert "Invalid value" not in err and "Missing option" not in err, (args, err)
    assert code in (0, 1), (args, code, err)
    if name in cli.FAST:  # the hand parser reads it itself, not handing it to typer
        assert cli.parse_fast(args) is not None, args
    assert _run(args, fast=True) == (code, out, err)


def test_each_command_declares_each_flag_once():
    for c in options.COMMANDS:
        flags = [f for o in options.options_of(c.name) for f in o.flags]
        keys = [o.key for o in options.options_of(c.name)]
        assert len(flags) == len(set(flags)) and len(keys) == len(set(keys)), c.name


def test_debug_is_accepted_by_every_command():
    for c in options.COMMANDS:
        assert "--debug" in options.flag_table(c.name), c.name
    for args in (["check", "lenet5", "--debug"], ["compare", "lenet5", "xo_toy", "--debug", "-f", "json"]):
        r = run_cli(*args)
        assert r.code == 0 and not r.err, (args, r.err)


def test_app_does_not_import_cli():
    code = "import sys, cnncalc.cli.app; print('cnncalc.cli.entry' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr


def test_k_is_the_kernel_as_in_the_dsl():
    # 10 filters of 3×3 on 3 channels: (3·3·3)·10 + 10 = 280 params; output 8 − 3 + 1 = 6
    r = run_cli("conv", "8x8x3", "--filters", "10", "-k", "3", "-f", "json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert d["totals"]["params"] == 280 and d["output_shape"] == [6, 6, 10]
    r = run_cli("-e", "input 8x8x3 | conv 10 k3", "-f", "json")
    assert json.loads(r.out)["totals"]["params"] == 280


@pytest.mark.parametrize("args", [
    ["conv", "8x8x3", "--filters", "10", "--filters", "3", "-k", "3"],
    ["conv", "8x8x3", "--filters", "10", "--kernel", "5", "-k", "3"],
    ["vgg16", "--batch", "2", "--batch=4"],
    ["vgg16", "-f", "json", "--format", "csv"],
    ["vgg16", "-fcsv", "--format", "json"],
    ["check", "vgg16", "--dtype", "float16", "--dtype", "int8"],
])
def test_an_option_given_twice_with_different_values_is_an_error(args):
    for fast in (True, False):
        from .test_cli_fastpath import _run

        code, out, err = _run(args, fast=fast)
        assert code == 2 and not out, (args, fast)
        assert err.startswith("cnncalc: error: option --") and "given twice with different values" in err


def test_an_option_repeated_with_the_same_value_is_fine():
    r = run_cli("vgg16", "-f", "json", "--format=JSON")
    assert r.code == 0 and json.loads(r.out)["totals"]["params"] == 138_357_544  # REFERENCE.md, VGG16


def test_shell_completion_options_work(tmp_path):
    # typer detects the shell from the parent processes (shellingham) unless told not to; a test run
    # whose parents include no shell (a detached job) would see "Shell  not supported": name it instead
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SHELL": "/bin/bash",
           "PYTHONPATH": str(ROOT), "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    show = subprocess.run([sys.executable, "-m", "cnncalc", "--show-completion", "bash"], capture_output=True,
                          text=True, env=env)
    assert show.returncode == 0 and "_CNNCALC_COMPLETE" in show.stdout, show.stderr
    inst = subprocess.run([sys.executable, "-m", "cnncalc", "--install-completion", "bash"], capture_output=True,
                          text=True, env=env)
    assert inst.returncode == 0, inst.stderr
    assert (tmp_path / ".bash_completions" / "cnncalc.sh").is_file()
    comp = subprocess.run([sys.executable, "-m", "cnncalc"], capture_output=True, text=True,
                          env=dict(env, _CNNCALC_COMPLETE="complete_bash", COMP_WORDS="cnncalc conv --fil",
                                   COMP_CWORD="2"))
    assert comp.returncode == 0 and comp.stdout.split() == ["--filters"]
