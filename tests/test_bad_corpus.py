"""The corpus of broken inputs (issue 6): each gives exactly its one expected error line.

``tests/bad/`` holds one case per stem ``NN_name``:

- ``NN_name.yaml``: a spec, run as ``cnncalc NN_name.yaml`` from inside ``tests/bad``;
- ``NN_name.dsl``: a one-line DSL network, run as ``cnncalc -e "<the line>"``;
- ``NN_name.cmd`` (optional, or alone): the command line instead, ``{}`` standing for the
  case's file (``check {}``);
- ``NN_name.expect``: the exact line the user sees — on stderr for ``cnncalc SPEC``, the
  first line of the report for ``cnncalc check`` (which lists every spec on stdout).

Every case must exit 2, print that one line and nothing else on stderr, show no traceback and
finish in well under the time bound. The valid-but-odd files are in ``tests/odd`` (see
test_odd_inputs.py).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnncalc.cli.entry import main

BAD = Path(__file__).parent / "bad"
STEMS = sorted({p.stem for p in BAD.iterdir() if p.suffix in (".yaml", ".dsl", ".cmd")})
TIME_BOUND = 60.0  # a hang guard, not a speed test (the slowest case takes well under a second; speed: benchmarks/)


def command(stem: str) -> list:
    cmd_file = BAD / f"{stem}.cmd"
    yaml_file = BAD / f"{stem}.yaml"
    dsl_file = BAD / f"{stem}.dsl"
    if cmd_file.exists():
        return [a.replace("{}", yaml_file.name) for a in shlex.split(cmd_file.read_text(encoding="utf-8"))]
    if dsl_file.exists():
        return ["-e", dsl_file.read_text(encoding="utf-8").rstrip("\n")]
    return [yaml_file.name]


def expected(stem: str) -> str:
    text = (BAD / f"{stem}.expect").read_text(encoding="utf-8")
    assert text.endswith("\n") and text.count("\n") == 1, f"{stem}.expect must hold exactly one line"
    return text[:-1]


def test_the_corpus_is_large_enough_and_complete():
    assert len(STEMS) >= 60
    for stem in STEMS:
        assert (BAD / f"{stem}.expect").exists(), f"{stem} has no .expect"


@pytest.mark.parametrize("stem", STEMS)
def test_bad_input_gives_its_one_line(stem, monkeypatch, capsys):
    monkeypatch.chdir(BAD)
    args = command(stem)
    start = time.perf_counter()
    rc = main(args)
    elapsed = time.perf_counter() - start
    out, err = capsys.readouterr()
    assert rc == 2, (rc, out, err)
    assert "Traceback" not in out + err
    if args[0] == "check":
        line = out.splitlines()[0]
        assert err == ""
    else:
        assert out == "" and err.endswith("\n") and err.count("\n") == 1, err
        line = err[:-1]
    assert line == expected(stem)
    assert elapsed < TIME_BOUND


@pytest.mark.parametrize("stem", ["03_tab_indentation", "10_alias_bomb", "11_deep_nesting", "15_nul_byte",
                                  "17_not_utf8", "52_repeat_a_billion", "70_dsl_bad_token", "85_cmd_unknown_builtin"])
def test_through_a_real_process(stem):
    env = {**os.environ, "PYTHONPATH": str(BAD.parent.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", "import sys; from cnncalc.cli.entry import main; sys.exit(main())",
                           *command(stem)], cwd=BAD, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == expected(stem) + "\n"


@pytest.mark.parametrize("env, fragment", [
    ("CNNCALC_MAX_LINE_CHARS=5", "ok.yaml:1:1: line 1 is 16 characters long, over the limit of 5 (MAX_LINE_CHARS; "
                                 "set CNNCALC_MAX_LINE_CHARS to raise it)"),
    ("CNNCALC_MAX_YAML_DEPTH=1", "ok.yaml:1:8: the YAML nests lists and mappings more than 1 deep"),
    ("CNNCALC_MAX_YAML_NODES=3", "ok.yaml:1:9: the YAML holds more than 3 values (MAX_YAML_NODES"),
    ("CNNCALC_MAX_SPEC_BYTES=10", "ok.yaml:1:1: the file is 34 bytes, over the 10-byte limit (MAX_SPEC_BYTES; "
                                  "set CNNCALC_MAX_SPEC_BYTES to raise it)"),
])
def test_limits_are_raised_and_lowered_by_environment_variables(env, fragment, tmp_path):
    (tmp_path / "ok.yaml").write_text("input: [8, 8, 4]\nlayers:\n  - relu\n")  # 34 bytes
    name, value = env.split("=")
    proc = subprocess.run([sys.executable, "-c", "import sys; from cnncalc.cli.entry import main; sys.exit(main())",
                           "ok.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, name: value,
                               "PYTHONPATH": str(BAD.parent.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")})
    assert proc.returncode == 2 and fragment in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_an_endless_device_is_refused_quickly(capsys):
    start = time.perf_counter()
    assert main(["/dev/zero"]) == 2
    assert capsys.readouterr().err == ("cnncalc: error: /dev/zero:1:1: the file is over the 16,777,216-byte limit "
                                       "(MAX_SPEC_BYTES; set CNNCALC_MAX_SPEC_BYTES to raise it)\n")
    assert time.perf_counter() - start < TIME_BOUND


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_pipe_without_a_writer_does_not_hang(tmp_path, capsys):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    assert main([str(fifo)]) == 2
    assert capsys.readouterr().err.endswith("spec.yaml:1:1: a spec is a YAML mapping with 'input:' and 'layers:' "
                                            "(received an empty file)\n")


def test_permission_denied_is_one_line(tmp_path, capsys, monkeypatch):
    spec = tmp_path / "locked.yaml"
    spec.write_text("input: 4\nlayers: [relu]\n")

    def deny(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", deny)
    assert main([str(spec)]) == 2
    assert capsys.readouterr().err == f"cnncalc: error: {spec}: permission denied\n"
