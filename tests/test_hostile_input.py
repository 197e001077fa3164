"""Issue 10, section 2 ("hostile input, round two"): one regression test per class the fuzz
campaign found. Every expected line and figure here was worked out by hand (in the comments)."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from cnncalc.core import limits
from cnncalc.verify.answers import AnswerError, parse_number
from cnncalc.core.errors import CnnCalcError, LimitError
from cnncalc.load import parse_spec
from tests.conftest import ROOT, run_cli

INTERNAL = "internal error"


def one_line_error(res, code=2) -> str:
    assert res.code == code, (res.code, res.out[:300], res.err[:300])
    assert INTERNAL not in res.err and "Traceback" not in res.err
    assert res.err.endswith("\n") and res.err.count("\n") == 1, res.err
    return res.err[:-1]


def spec_error(text: str) -> str:
    with pytest.raises(CnnCalcError) as e:
        parse_spec(text, "t.yaml")
    return e.value.format()


def write(dirpath: Path, name: str, text: str) -> str:
    p = dirpath / name
    p.write_text(text, encoding="utf-8")
    return str(p)


# ---------------------------------------------------------------------------------------------
# hangs and runaway work

IF_FALSE_BOMB = """\
input: [8, 8, 3]
blocks:
  nothing:
    layers:
      - relu: {if: false}
  outer:
    layers:
      - nothing: {repeat: 1000000}
layers:
  - outer: {repeat: 1000000}
  - relu
"""


def test_left_out_layers_repeated_a_million_times_a_million_times_are_refused_at_once():
    # 10^12 visits of a left-out layer: counted as work, refused at the outer repeat (10:21)
    t = time.perf_counter()
    msg = spec_error(IF_FALSE_BOMB)
    assert time.perf_counter() - t < 60  # a hang guard, not a speed test
    assert msg == ("t.yaml:10:21: outer1: repeat 1,000,000 would make more than 100,000 layers (MAX_LAYERS; "
                   "layers left out by if: count too; set CNNCALC_MAX_LAYERS to raise it)")


def test_left_out_layers_count_as_work(monkeypatch):
    # a layer left out by if: (its condition a parameter) is one entry of work per instance
    monkeypatch.setattr(limits, "MAX_LAYERS", 1000)
    text = ("input: 4\nblocks:\n  b:\n    params: {use: false, n: 1}\n    layers:\n"
            "      - relu: {if: $use, repeat: $n}\nlayers:\n  - b: {repeat: 2000}\n  - relu\n")
    with pytest.raises(LimitError) as e:
        parse_spec(text, "t.yaml")
    assert "more than 1,000 layers" in e.value.message
    # 999 left out + 1 made: within the limit of 1,000 entries
    ok = text.replace("repeat: 2000", "repeat: 999")
    assert len(parse_spec(ok, "t.yaml").layers) == 2  # the input and the last relu


def test_a_million_relus_are_refused_before_expansion():
    t = time.perf_counter()
    msg = spec_error("input: [8, 8, 3]\nlayers:\n  - relu: {repeat: 1000000}\n")
    assert time.perf_counter() - t < 60  # a hang guard, not a speed test
    assert msg == ("t.yaml:3:20: repeat 1,000,000 would make more than 100,000 layers (MAX_LAYERS; layers left "
                   "out by if: count too; set CNNCALC_MAX_LAYERS to raise it)")


def test_the_limits_in_readme_are_the_defaults():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {m.group(2): m.group(1) for m in re.finditer(r"^\| [^|]+ \| ([0-9,]+)[^|]* \| `(CNNCALC_[A-Z_]+)`", readme,
                                                       re.M)}
    assert rows["CNNCALC_MAX_LAYERS"] == f"{limits.MAX_LAYERS:,}" == "100,000"
    assert rows["CNNCALC_MAX_YAML_NODES"] == f"{limits.MAX_YAML_NODES:,}" == "1,000,000"
    assert rows["CNNCALC_MAX_REPEAT"] == f"{limits.MAX_REPEAT:,}"


def test_a_layers_full_name_is_bounded():
    # three nested instances of 200-character names: the third instance's full name is
    # 200 + 1 + 200 + 1 + 200 = 602 > 500 characters, refused at its name (line 8, column 19)
    n = "n" * 200
    text = (f"input: 4\nblocks:\n  a:\n    layers:\n      - b: {{name: {n}}}\n  b:\n    layers:\n"
            f"      - relu: {{name: relu}}\nlayers:\n  - a: {{name: {n}}}\n")
    assert len(parse_spec(text, "t.yaml").layers) == 2  # 200 + 1 + 200 + 1 + 4 = 406: fine
    text = text.replace("      - relu: {name: relu}",
                        f"      - c: {{name: {n}}}\n  c:\n    layers:\n      - relu: {{name: relu}}")
    msg = spec_error(text)
    assert msg == ("t.yaml:8:19: " + "n" * 60 + "…: the full name of this layer (its blocks' instance names "
                   "joined by '.') has 602 characters, over the limit of 500; in b instantiated at t.yaml:5:9; "
                   "in a instantiated at t.yaml:13:5")


def test_scalars_under_an_ignored_key_are_bounded(monkeypatch):
    # 2,000 scalars under source: (which nothing reads) cross a budget of 1,000 values
    monkeypatch.setattr(limits, "MAX_YAML_NODES", 1000)
    text = "input: 4\nlayers: [relu]\nsource:\n" + "- 1\n" * 2000
    msg = spec_error(text)
    assert "the YAML holds more than 1,000 values (MAX_YAML_NODES" in msg


def _span_by_enumeration(f: int, d: int, s: int) -> int:
    """Taps k·d (k < F) on the zero-inserted input; taps of one residue mod S hit real pixels
    together; the widest group spans (last − first)/S input positions."""
    best = 0
    for c in range(s):
        taps = [k * d for k in range(f) if (k * d) % s == c]
        if taps:
            best = max(best, (taps[-1] - taps[0]) // s)
    return best


def test_transposed_span_is_the_enumeration_in_constant_time():
    from cnncalc.layers.transposed import input_span

    for f in range(1, 25):
        for d in range(1, 7):
            for s in range(1, 14):
                assert input_span(f, d, s) == _span_by_enumeration(f, d, s), (f, d, s)
    rng = random.Random(10)
    for _ in range(200):
        f, d, s = rng.randint(1, 300), rng.randint(1, 9), rng.randint(1, 60)
        assert input_span(f, d, s) == _span_by_enumeration(f, d, s), (f, d, s)


@pytest.mark.parametrize("kernel, field", [
    (100_000, 25),  # 1 + ⌊99,999 / 4,096⌋ = 1 + 24 (4,096 · 24 = 98,304; · 25 = 102,400)
    (100_000_000, 24_415),  # 1 + ⌊99,999,999 / 4,096⌋ = 1 + 24,414 (4,096 · 24,414 = 99,999,744)
])
def test_tconv_with_a_huge_kernel_answers_at_once(kernel, field):
    t = time.perf_counter()
    res = run_cli("tconv", "1x1x1", "--filters", "1", "--kernel", str(kernel), "--stride", "4096",
                  "--format", "json")
    assert time.perf_counter() - t < 60  # a hang guard, not a speed test
    assert res.code == 0, res.err
    # O = (1 − 1)·4096 + F = F; params F² + 1
    assert f'"output_shape": [{kernel}, {kernel}, 1]' in res.out
    assert re.search(rf'"receptive_field": \[\s*{field},\s*{field}\s*\]', res.out), res.out[-800:]


# ---------------------------------------------------------------------------------------------
# internal errors → located one-line errors

EXPR = """\
input: [8, 8, 3]
blocks:
  b:
    params: {{x: 1}}
    layers:
      - relu: {{{key}: "${{x {op} {other}}}"}}
layers:
  - b: {{x: {value}}}
"""


@pytest.mark.parametrize("value, op, other, key, kinds", [
    ("1", "<", "'a'", "if", "a number with a string"),
    ("2001-01-01", ">", "1", "repeat", "a date with a number"),
    ("[1]", ">=", "1", "if", "a list with a number"),
    ("null", "<=", "3", "repeat", "null with a number"),
    ("'s'", ">", "2", "if", "a string with a number"),
])
def test_expression_comparing_a_number_with_another_kind_is_a_located_error(value, op, other, key, kinds):
    msg = spec_error(EXPR.format(value=value, op=op, other=other, key=key))
    col = 17 if key == "repeat" else 13  # the quoted value after '- relu: {repeat: ' / '{if: '
    assert msg == (f"t.yaml:6:{col + 7}: b1.relu1: {key}: '${{x {op} {other}}}' compares {kinds} "
                   "(< <= > >= compare two numbers or two strings); in b instantiated at t.yaml:8:5")


def test_expression_equality_across_kinds_is_still_allowed():
    text = EXPR.format(value="'a'", op="==", other="1", key="if") + "  - relu\n"
    assert [s.type for s in parse_spec(text, "t.yaml").layers] == ["input", "relu"]


BIG = "1" * 5000


@pytest.mark.parametrize("written, message", [
    (f'"{BIG}"', "a number of 5,000 digits is over the limit of 100 digits (MAX_INT_DIGITS)"),
    (f'"1.{BIG}"', "a number of 5,001 digits is over the limit of 100 digits (MAX_INT_DIGITS)"),
    (f'"2*{BIG}"', "a number of 5,000 digits is over the limit of 100 digits (MAX_INT_DIGITS)"),
    (f'"1e{BIG}"', "exponent out of range"),
    (f"{BIG}", "an integer of 5,000 digits is over the limit of 100 digits (MAX_INT_DIGITS)"),
])
def test_numbers_of_thousands_of_digits_in_answers_and_expectations(tmp_path, written, message):
    sheet = write(tmp_path, "s.yaml", "questions:\n  - id: q\n    network: {input: 4, layers: [relu]}\n"
                  f"    answers: {{params: {written}}}\n")
    line = one_line_error(run_cli("grade", sheet))
    assert line.startswith(f"cnncalc: error: {sheet}:4:23: ") and message in line
    spec = write(tmp_path, "e.yaml", f"input: 4\nlayers: [relu]\nexpect: {{params: {written}}}\n")
    res = run_cli("check", spec)
    assert res.code == 2 and INTERNAL not in res.out + res.err
    assert res.out.splitlines()[0].startswith(f"{spec}:3:") and message in res.out.splitlines()[0]


@pytest.mark.parametrize("option", ["--batch", "--depth"])
@pytest.mark.parametrize("fast", [True, False])
def test_a_5000_digit_batch_or_depth_is_a_usage_error(option, fast):
    from cnncalc.cli.entry import main
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["lenet5", option, "9" * 5000], fast=fast)
    assert code == 2 and INTERNAL not in err.getvalue() and err.getvalue().count("\n") == 1
    assert f"Invalid value for '{option}'" in err.getvalue()


def test_a_huge_batch_times_a_huge_activation_count_is_refused():
    # 4,000 digits of batch: the totals in bytes would pass Python's 4,300-digit printing limit
    line = one_line_error(run_cli("lenet5", "--batch", "9" * 4000))
    assert line == ("cnncalc: error: the batch has 4,000 digits, over the limit of 100 (MAX_INT_DIGITS) "
                    "(received 99999999999999999999…)")
    # 100 digits is fine, exactly: lenet5 at batch 10^100 - 1, activations in bytes = act · 4 · batch
    res = run_cli("lenet5", "--batch", "9" * 100, "--format", "json")
    assert res.code == 0
    import json

    doc = json.loads(res.out)
    assert doc["totals"]["activation_bytes"] == doc["totals"]["activations"] * 4 * (10**100 - 1)


SHEET_Q = "questions:\n  - id: q\n{extra}    network: {{input: 4, layers: [relu]}}\n    answers: {{params: 0}}\n"


@pytest.mark.parametrize("text, where, received", [
    (SHEET_Q.format(extra="    dtype: [float32]\n"), "3:12", "['float32']"),
    ("dtype: {a: 1}\n" + SHEET_Q.format(extra=""), "1:8", "{a: 1}"),
])
def test_sheet_dtype_as_a_list_or_mapping(tmp_path, text, where, received):
    sheet = write(tmp_path, "s.yaml", text)
    assert one_line_error(run_cli("grade", sheet)) == (
        f"cnncalc: error: {sheet}:{where}: dtype must be one of float32, float16, bfloat16, int8, float64 "
        f"(received {received})")


@pytest.mark.parametrize("budget, col", [("{train: [adam]}", 17), ("{training_bytes: 1KB, train: [adam]}", 38)])
def test_budget_train_as_a_list(tmp_path, budget, col):
    spec = write(tmp_path, "b.yaml", f"input: 4\nlayers: [relu]\nbudget: {budget}\n")
    res = run_cli("check", spec)
    assert res.code == 2 and INTERNAL not in res.out + res.err
    assert res.out.splitlines()[0] == (f"{spec}:3:{col}: budget 'train' is the optimizer: sgd, momentum or adam "
                                       "(received ['adam'])")


def test_a_bool_tag_on_a_number(tmp_path):
    spec = write(tmp_path, "i.yaml", "input: !!bool 5\nlayers: [relu]\n")
    assert one_line_error(run_cli(spec)) == f"cnncalc: error: {spec}:1:8: not a valid !!bool (received '5')"


def test_compare_with_a_ratio_beyond_a_floats_range(tmp_path):
    d = "9" * 100
    tiny = write(tmp_path, "tiny.yaml", "input: 1\nlayers: [{dense: {units: 1, bias: false}}]\n")
    huge = write(tmp_path, "huge.yaml", f"input: [{d}, {d}, {d}]\nlayers: [{{conv: {{filters: {d}, kernel: 1}}}}]\n")
    res = run_cli("compare", tiny, huge, "--format", "json")
    assert res.code == 0, res.err
    import json

    data = json.loads(res.out)
    # MACs: tiny 1·1 = 1; huge H·W·C·K = (10^100 − 1)^4, beyond a float (1.8·10^308): the integer
    assert data["ratios_to_first"][1]["macs"] == (10**100 - 1) ** 4
    res = run_cli("compare", tiny, huge)
    assert res.code == 0 and INTERNAL not in res.err
    assert "1.00e400×" in res.out  # (10^100 − 1)^4 = 9.99…96·10^399 → 1.00e400 at three digits


def test_grade_with_a_memory_figure_beyond_a_floats_range(tmp_path):
    d = "9" * 100
    write(tmp_path, "h.yaml", f"input: [{d}, {d}, {d}]\nlayers: [relu]\n")
    sheet = write(tmp_path, "s.yaml", "questions:\n  - network: h.yaml\n    answers: {memory: 1KB}\n")
    res = run_cli("grade", sheet)
    assert res.code == 1 and INTERNAL not in res.err, res.err
    true = 2 * (10**100 - 1) ** 3 * 4  # two tensors of (10^100 − 1)^3 values, 4 bytes each
    mb_cents = (true * 100 + 500_000) // 10**6
    assert f"{true:,} B ({mb_cents // 100:,}.{mb_cents % 100:02d} MB)" in res.out


@pytest.mark.parametrize("target, reason", [
    ("missing-dir/x.json", "No such file or directory"),
    (".", "Is a directory"),
    ("/dev/full", "No space left on device"),
])
def test_schema_output_that_cannot_be_written(tmp_path, monkeypatch, target, reason):
    if target == "/dev/full" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    monkeypatch.chdir(tmp_path)
    assert one_line_error(run_cli("schema", "-o", target)) == (
        f"cnncalc: error: {target}: cannot write the schema ({reason})")


def test_long_names_are_not_files(tmp_path):
    name = "a" * 300
    line = one_line_error(run_cli(name))
    assert line.startswith("cnncalc: error: no spec file or built-in network called 'aaaa")
    line = one_line_error(run_cli(name + ".yaml"))
    assert line.startswith("cnncalc: error: aaaaaaaaaa") and line.endswith("aaaa.yaml: no such file")
    res = run_cli("check", name + ".yaml")
    assert res.code == 2 and INTERNAL not in res.out + res.err
    # a DSL string of more than 255 bytes as a sheet's network: read as DSL, not looked up as a file
    dsl = "input 8x8x3 | " + "relu | " * 60 + "relu"
    sheet = write(tmp_path, "s.yaml",
                  f"questions:\n  - network: {dsl}\n    answers: {{params: 0, output_shape: 8x8x3}}\n")
    res = run_cli("grade", sheet)
    from cnncalc.verify.grade import dsl_parser

    if dsl_parser() is not None:
        assert res.code == 0, res.err
    else:
        assert res.code == 2 and INTERNAL not in res.err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_standard_output_on_a_full_disk_is_one_line():
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for args in (["lenet5"], ["schema"], ["lenet5", "-f", "json"]):
        with open("/dev/full", "w") as full:
            proc = subprocess.run([sys.executable, "-c", "from cnncalc.cli.entry import run; run()", *args],
                                  stdout=full, stderr=subprocess.PIPE, text=True, env=env, timeout=60)
        assert proc.returncode == 2
        assert proc.stderr == "cnncalc: error: cannot write the output (No space left on device)\n"


# ---------------------------------------------------------------------------------------------
# a sheet cannot read any file


@pytest.mark.parametrize("network", ["/etc/passwd", "../../../../../../etc/passwd", "../outside.yaml",
                                     "inner/link.yaml"])
def test_a_sheets_network_path_stays_inside_its_directory(tmp_path, network):
    (tmp_path / "outside.yaml").write_text("root:x:0:0:secret\n")
    sheets = tmp_path / "sheets"
    (sheets / "inner").mkdir(parents=True)
    try:
        (sheets / "inner" / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    except OSError:
        if network == "inner/link.yaml":
            pytest.skip("no symbolic links here")
    sheet = write(sheets, "s.yaml", f"questions:\n  - network: {network}\n    answers: {{params: 0}}\n")
    line = one_line_error(run_cli("grade", sheet))
    assert line == (f"cnncalc: error: {sheet}:2:14: '{network}': a network path must stay inside the sheet's "
                    "directory")
    assert "root:" not in line and "secret" not in line


def test_a_sheets_network_file_must_be_a_spec_file(tmp_path):
    (tmp_path / "notes.txt").write_text("private: the answers are 42\n")
    sheet = write(tmp_path, "s.yaml", "questions:\n  - network: notes.txt\n    answers: {params: 0}\n")
    line = one_line_error(run_cli("grade", sheet))
    assert line == (f"cnncalc: error: {sheet}:2:14: 'notes.txt': a network file is a spec ending in .yaml or .yml")
    # inside the directory and a .yaml: read as before
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "one.yaml").write_text("input: 4\nlayers: [{dense: {units: 2}}]\n")
    sheet = write(tmp_path, "t.yaml", "questions:\n  - network: nets/one.yaml\n    answers: {params: 10}\n")
    assert run_cli("grade", sheet).code == 0  # 4·2 weights + 2 biases


# ---------------------------------------------------------------------------------------------
# every unit the renderers print reads back


@pytest.mark.parametrize("text, value, precision", [
    ("1.73P", 1_730_000_000_000_000, 10**13),
    ("2.5E", 2_500_000_000_000_000_000, 10**17),
    ("4Z", 4 * 10**21, 10**21),
    ("1.00Y", 10**24, 10**22),
    ("9.01e27", 9_010 * 10**24, 10**25),
])
def test_count_units_up_to_yotta(text, value, precision):
    n = parse_number(text)
    assert n.value == value and n.precision == precision


@pytest.mark.parametrize("text, value", [
    ("3.60 PB", 3_600_000_000_000_000), ("1.50 EB", 1_500_000_000_000_000_000), ("40.00 ZB", 40 * 10**21),
    ("2.00 YB", 2 * 10**24), ("4.00e34 B", 4 * 10**34), ("1PiB", 2**50), ("1EiB", 2**60),
])
def test_byte_units_up_to_yotta(text, value):
    assert parse_number(text, want_bytes=True).value == value


def test_every_figure_the_renderers_print_reads_back_as_right():
    from cnncalc.render.common import human, human_bytes

    rng = random.Random(2)
    for _ in range(3000):
        n = rng.randrange(1, 10 ** rng.randrange(1, 36))
        assert parse_number(human(n)).matches(n), (n, human(n))
        assert parse_number(human_bytes(n), want_bytes=True).matches(n), (n, human_bytes(n))


def test_a_table_figure_in_petas_grades_right(tmp_path):
    # 1,000 × 1,000 × 1,000 input, dense to 1,730 units without bias: 10^9 · 1,730 = 1.73·10^12
    # weights; 1,730 × 1,000 units → … keep it simple: expect the MACs the table prints, 1.73P
    spec = write(tmp_path, "p.yaml", "input: 1000000000000\nlayers: [{dense: {units: 1730, bias: false}}]\n"
                 "expect: {macs: 1.73P, params: 1.73P, memory: 4.00TB}\n")
    # MACs = params = 10^12 · 1,730 = 1.73·10^15; memory = (10^12 + 1,730) · 4 B = 4.00 TB
    res = run_cli("check", spec)
    assert res.code == 0, res.out + res.err
    with pytest.raises(AnswerError):
        parse_number("1.73Q")
    assert parse_number("1.73P").matches(1_730_000_000_000_000)
    assert not parse_number("1.73P").matches(1_740_000_000_000_000)
    assert Fraction(parse_number("1.73P").value) == Fraction(173, 100) * 10**15


def test_json_fractions_keep_their_rule_without_fraction_comparisons():
    # below 10^300 a float, from 10^300 on the nearest integer (README's JSON contract)
    from cnncalc.render.json_ import _num

    assert _num(Fraction(1, 3)) == 1 / 3 and _num(Fraction(1, 10**1900)) == 0.0
    below = Fraction(10**300 - 1) + Fraction(1, 2)
    assert isinstance(_num(below), float)
    assert _num(Fraction(2 * 10**300 + 1, 2)) == 10**300  # 10^300 + 1/2 rounds to even
    assert _num(Fraction(10**400, 3)) == (10**400 + 1) // 3  # 3333…3.33 → 3333…3
    assert _num(Fraction(-(10**400), 7)) == round(Fraction(-(10**400), 7))
