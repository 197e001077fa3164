"""The entry point's fast path for `cnncalc SPEC [options]` must behave exactly like the typer app.

cnncalc.cli.entry parses plain `show` command lines by hand (so a run need not import typer); these
tests hold the two parsers together: same option table, same output, same exit codes.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest

from cnncalc.cli import entry as cli

from .conftest import ROOT


def _click_group():
    import typer

    from cnncalc.cli.app import app

    return typer.main.get_command(app)


def test_command_names_match_the_app():
    assert set(cli.COMMANDS) == set(_click_group().commands)


@pytest.mark.parametrize("command", sorted(cli.FAST))
def test_option_tables_match_the_app(command):
    options, positional_key, least, most, _ = cli.FAST[command]
    cmd = _click_group().commands[command]
    typer_opts = {}
    for p in cmd.params:
        if p.param_type_name == "option":
            for o in p.opts + p.secondary_opts:
                typer_opts[o] = p
        else:
            assert p.name == positional_key
            assert (p.nargs == -1) == (most is None) and p.required == (least > 0)
    typer_opts.pop("--help", None)
    typer_opts.pop("-h", None)
    assert set(typer_opts) == set(options)
    for opt, (key, kind) in options.items():
        p = typer_opts[opt]
        assert p.name == key, opt
        assert p.is_flag == (kind is bool), opt
        if isinstance(kind, type) and issubclass(kind, cli.Enum):
            assert sorted(p.type.choices) == sorted(m.value for m in kind), opt


def _run(args, fast):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(list(args), fast=fast)
    return code, out.getvalue(), err.getvalue()


SPEC = str(ROOT / "specs" / "xo_toy.yaml")
LINES = [
    ["vgg16"],
    ["vgg16", "--format", "json"],
    ["show", "alexnet", "-f", "csv", "--exact"],
    ["alexnet", "--format=MARKDOWN"],
    ["resnet18", "-f", "json", "--dtype", "FLOAT16", "--batch", "8", "--weights-only"],
    ["resnet18", "--depth", "1", "-f", "json"],
    ["resnet18", "--depth", "2"],
    ["vgg16", "--train", "adam", "-f", "json"],
    ["vgg16", "--train", "momentum"],
    ["xo_toy", "--explain"],
    [SPEC, "--exact"],
    ["mnist_cnn", "--strict"],
    ["mnist_cnn", "-f", "json"],
    ["-e", "input 32x32x3 | conv 10 k5 p2 | relu | maxpool 2 | flatten | dense 10", "-f", "json"],
    ["--expr=input 8x8x1 | conv 4 k9"],
    ["vgg16", "--batch", "0"],
    ["vgg16", "--batch", "-3"],
    ["vgg16", "--batch", "x"],
    ["vgg16", "--format", "xml"],
    ["vgg16", "-fjson"],
    ["vgg16", "--format"],
    ["vgg16", "--exact=yes"],
    ["vgg16", "alexnet"],
    ["vgg16", "--nope"],
    ["vgg16", "--help"],
    ["show"],
    ["show", "-e", "input 4", "vgg16"],
    ["alexnett"],
    ["no/such/spec.yaml", "-f", "json"],
    ["vgg16", "--", "-f"],
    ["vgg16", "--debug", "-f", "csv"],
    ["check", str(ROOT / "specs")],
    ["check", str(ROOT / "specs"), "-v", "--format", "JSON"],
    ["check", "vgg16", "resnet18", "--format=github", "--strict"],
    ["check", str(ROOT / "specs" / "vgg16.yaml"), "--batch", "64", "--dtype", "float16", "--train", "adam"],
    ["check", str(ROOT / "exams")],
    ["check"],
    ["check", "nope.yaml"],
    ["check", "vgg16", "--format", "table"],
    ["check", "vgg16", "--exact"],
]


@pytest.mark.parametrize("args", LINES, ids=[" ".join(a)[:60] for a in LINES])
def test_fast_path_equals_typer(args):
    assert _run(args, fast=True) == _run(args, fast=False)


def test_common_runs_take_the_fast_path(monkeypatch):
    def no_typer(args):
        raise AssertionError(f"typer path taken for {args}")

    monkeypatch.setattr(cli, "_run_typer", no_typer)
    for args in (["vgg16"], ["resnet152", "--format", "json"], ["alexnet", "-f", "csv", "--exact"],
                 ["vgg16", "--batch", "8", "--dtype", "float16"], ["check", str(ROOT / "specs"), "--strict"]):
        code, out, err = _run(args, fast=True)
        assert code == 0 and out and not err, (args, err)


def test_a_json_run_does_not_import_typer_or_rich():
    code = ("import sys; from cnncalc.cli.entry import main; main(['vgg16', '--format', 'json']); "
            "print(sorted(m for m in ('typer', 'click', 'rich') if m in sys.modules), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0
    assert json.loads(r.stdout)["totals"]["params"] == 138_357_544  # REFERENCE.md, VGG16
    assert r.stderr.strip() == "[]"


def test_console_script_exit_codes_and_flush():
    """`python -m cnncalc` leaves through os._exit: output must be flushed, codes kept."""
    ok = subprocess.run([sys.executable, "-m", "cnncalc", "vgg16", "-f", "json"], capture_output=True, text=True,
                        cwd=ROOT)
    assert ok.returncode == 0 and json.loads(ok.stdout)["totals"]["macs"] == 15_470_264_320
    bad = subprocess.run([sys.executable, "-m", "cnncalc", "vgg16", "--batch", "0"], capture_output=True,
                         text=True, cwd=ROOT)
    assert bad.returncode == 2 and bad.stderr.startswith("cnncalc: error:") and not bad.stdout
    help_ = subprocess.run([sys.executable, "-m", "cnncalc", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert help_.returncode == 0 and "compare" in help_.stdout
