"""Issue 10 §4, the command line a newcomer meets: --explain with --format json and --depth,
compare csv/markdown, grade with a broken sheet and wide characters, --strict as check decides
it, the warning summary, list --format json, show-spec, --input, standard input, the library's
doors, the citations and the LICENSE, the training-memory wording, plurals. Figures are by hand
or from docs/REFERENCE.md."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys

import pytest

from .conftest import ROOT, SPECS, run_cli

LENET_PARAMS, CIFAR_NET_PARAMS, VGG16_PARAMS = 61_706, 62_006, 138_357_544  # docs/REFERENCE.md


# --explain with --format json / --depth -------------------------------------------------------

def test_explain_json_adds_the_worked_lines_to_each_layer():
    r = run_cli("lenet5", "--explain", "--format", "json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert d["totals"]["params"] == LENET_PARAMS
    assert all(isinstance(layer["explain"], list) and layer["explain"] for layer in d["layers"])
    c1 = d["layers"][1]
    assert "params = (5·5·1)·6 + 6 = 156" in c1["explain"]  # 5·5·1·6 weights + 6 biases
    assert any(line.startswith("params = ") and line.endswith("= 61,706") for line in d["explain_totals"])
    for args in (["lenet5"], ["resnet18", "--depth", "1"]):  # otherwise the very document --format json prints
        d = json.loads(run_cli(*args, "--explain", "-f", "json").out)
        del d["explain_totals"]
        for layer in d["layers"]:
            del layer["explain"]
        assert d == json.loads(run_cli(*args, "-f", "json").out)


def test_explain_with_depth_explains_the_collapsed_rows():
    r = run_cli("resnet50", "--depth", "1", "--explain")
    assert r.code == 0, r.err
    titles = [line.split(" — ")[0] for line in r.out.splitlines() if " — " in line and not line.startswith(" ")]
    rows = ["input", "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool",
            "flatten", "fc"]
    assert titles == rows + ["Totals"]
    # layer1 = three bottlenecks 64→256 on 56×56: block 0 has 1·1·64·64 + 3·3·64·64 + 1·1·64·256 convs,
    # a 1·1·64·256 downsample and BN γ/β (2·(64 + 64 + 256 + 256)); blocks 1, 2: 256·64 + 3·3·64·64 + 64·256
    # and 2·(64 + 64 + 256)
    block0 = 64 * 64 + 9 * 64 * 64 + 64 * 256 + 64 * 256 + 2 * (64 + 64 + 256 + 256)
    block12 = 256 * 64 + 9 * 64 * 64 + 64 * 256 + 2 * (64 + 64 + 256)
    section = r.out.split("\nlayer1 — ")[1].split("\nlayer2 — ")[0]
    assert f"= {block0 + 2 * block12:,}" in section and block0 + 2 * block12 == 215_808
    d = json.loads(run_cli("resnet50", "--depth", "1", "--explain", "-f", "json").out)
    assert [layer["name"] for layer in d["layers"]] == rows and all(layer["explain"] for layer in d["layers"])


@pytest.mark.parametrize("args", [["lenet5", "--explain", "-f", "csv"], ["lenet5", "--explain", "-f", "markdown"],
                                  ["conv", "8x8x3", "--filters", "2", "-k", "3", "--explain", "-f", "csv"]])
def test_explain_refuses_csv_and_markdown(args):
    r = run_cli(*args)
    assert r.code == 2 and not r.out
    assert r.err.startswith("cnncalc: error: --explain prints text or JSON")


def test_quick_explain_json():
    d = json.loads(run_cli("conv", "32x32x3", "--filters", "10", "-k", "5", "-p", "2", "--explain", "-f",
                           "json").out)
    assert "params = (5·5·3)·10 + 10 = 760" in d["layers"][1]["explain"]  # CS231n


# compare --format csv / markdown ----------------------------------------------------------------

def test_compare_csv_and_markdown():
    r = run_cli("compare", "lenet5", "pytorch_cifar_net", "-f", "csv")
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert [row["name"] for row in rows] == ["lenet5", "pytorch_cifar_net"]
    assert [int(row["params"]) for row in rows] == [LENET_PARAMS, CIFAR_NET_PARAMS]
    assert float(rows[1]["params_ratio"]) == pytest.approx(CIFAR_NET_PARAMS / LENET_PARAMS)
    md = run_cli("compare", "lenet5", "pytorch_cifar_net", "-f", "markdown", "--exact")
    assert md.code == 0
    body = [line for line in md.out.splitlines() if line.startswith("| ")]
    assert body[0].startswith("| spec | output | layers | params |")
    assert body[2].startswith("| pytorch_cifar_net | 10 | ") and "| 62,006 (1×) |" in body[2]  # 62,006/61,706 = 1.005


def test_compare_help_offers_what_it_prints():
    help_text = run_cli("compare", "--help").out
    for fmt in re.search(r"\[(table\|[a-z|]+)\]", help_text).group(1).split("|"):
        assert run_cli("compare", "lenet5", "xo_toy", "-f", fmt).code == 0, fmt


# grade ------------------------------------------------------------------------------------------

GOOD = """\
questions:
  - id: q1
    network: {input: [32, 32, 3], layers: [{conv: {filters: 10, kernel: 5, stride: 1, padding: 2}}]}
    answers: {output_shape: 32x32x10, params: 760}
"""


def test_grade_grades_what_it_can_and_reports_the_broken_sheet(tmp_path):
    good, bad = tmp_path / "a.yaml", tmp_path / "broken.yaml"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text("questions: [\n", encoding="utf-8")
    r = run_cli("grade", str(good), str(bad))
    assert r.code == 2
    assert "Score: 2/2 right (100%)" in r.out
    assert f"Total: 2/2 right (100%) over 1 of 2 sheets; not graded (broken): {bad}" in r.out
    assert len(r.err.splitlines()) == 1 and r.err.startswith(f"cnncalc: error: {bad}:")
    d = json.loads(run_cli("grade", str(good), str(bad), "-f", "json").out)
    assert d["score"] == {"right": 2, "total": 2} and [b["file"] for b in d["broken"]] == [str(bad)]
    assert [s["file"] for s in d["sheets"]] == [str(good)]
    both = run_cli("grade", str(good), str(good))
    assert both.code == 0 and "Total: 4/4 right (100%) over 2 of 2 sheets" in both.out


def test_grade_columns_align_by_display_width(tmp_path):
    from cnncalc.cli.commands.grade import width

    sheet = tmp_path / "wide.yaml"
    sheet.write_text("""\
questions:
  - id: q1
    network: {input: [32, 32, 3], layers: [{conv: {name: a_rather_long_layer_name_for_a_conv, filters: 10,
                                                    kernel: 5, padding: 2}}]}
    answers:
      params: 760
      output_shape: (32, 32, 10)
      activations: 1.3312萬  # the input 3,072 + the output 10,240
      layers: {a_rather_long_layer_name_for_a_conv: {macs: 768000}}
""", encoding="utf-8")
    r = run_cli("grade", str(sheet))
    rows = [line for line in r.out.splitlines() if line.startswith(("  ✓", "  ✗"))]
    assert len(rows) == 4, r.out + r.err
    given = {width(row[:row.index(" given ")]) for row in rows}
    correct = {width(row[:row.index(" correct ")]) for row in rows}
    assert len(given) == 1 and len(correct) == 1, rows
    assert width("1.3312萬") == 8 and width("七百六十") == 8 and width("a×b") == 3


# --strict, warnings -----------------------------------------------------------------------------

def test_strict_agrees_with_check():
    for name in ("resnet50", "mnist_cnn"):  # both say `valid: false` for the sizes they floor
        assert run_cli(name, "--strict").code == 0
        assert run_cli("check", "--strict", name).code == 0
    r = run_cli("-e", "input 10x10x3 | conv 1 k3 s2", "--strict")  # (10 − 3)/2 + 1 = 4.5
    assert r.code == 2 and "4.5" in r.err and run_cli("-e", "input 10x10x3 | conv 1 k3 s2").code == 0


def test_strict_reads_layer_valid_false(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("input: [10, 10, 3]\nlayers:\n  - conv: {filters: 1, kernel: 3, stride: 2, name: c}\n"
                 "  - conv: {filters: 1, kernel: 2, stride: 2, name: d}\n"
                 "expect: {layers: {c: {valid: false}}}\n", encoding="utf-8")
    # c floors 4.5 → 4 (acknowledged); d: (4 − 2)/2 + 1 = 2 divides
    assert run_cli(str(p), "--strict").code == 0
    p.write_text(p.read_text().replace("c: {valid: false}", "d: {valid: false}"), encoding="utf-8")
    r = run_cli(str(p), "--strict")
    assert r.code == 2 and ": c: " in r.err


def test_warnings_summary_and_details():
    out = run_cli("resnet50").out
    # 8 stride-2 layers on even sizes: conv1, maxpool, and conv2 + downsample.0 in layer2/3/4's first block
    warn = [line for line in out.splitlines() if line.startswith("⚠")]
    assert warn == ["⚠ 8 warnings (conv1, maxpool, layer2.0.conv2 and 5 more layers): run with --warnings (-W) "
                    "to print them"]
    for flag in ("--warnings", "-W"):
        full = [line for line in run_cli("resnet50", flag).out.splitlines() if line.startswith("⚠")]
        assert len(full) == 8 and full[0].startswith("⚠ conv1: H and W: (224 − 7 + 2·3)/2 + 1 = 112.5")
    assert not [line for line in run_cli("vgg16").out.splitlines() if line.startswith("⚠")]


# seeing and adapting a network ------------------------------------------------------------------

def test_list_json():
    r = run_cli("list", "--format", "json")
    d = {n["name"]: n for n in json.loads(r.out)}
    assert sorted(d) == run_cli("list").out.split()
    assert d["vgg16"]["params"] == VGG16_PARAMS and d["vgg16"]["input"] == [224, 224, 3]
    assert d["vgg16"]["macs"] == 15_470_264_320 and d["lenet5"]["output_shape"] == [10]


def test_show_spec_prints_a_spec_and_nothing_else(tmp_path):
    # a path is printed when it is a spec: a YAML mapping with layers (any other file is refused)
    spec = tmp_path / "mine.yaml"
    spec.write_text("# my network\ninput: [8, 8, 1]\nlayers:\n  - conv: {filters: 2, kernel: 3}\n")
    r = run_cli("show-spec", str(spec))
    assert r.code == 0 and r.out == spec.read_text()
    other = tmp_path / "notes.txt"
    other.write_text("PASSWORD=hunter2\n")
    r = run_cli("show-spec", str(other))
    assert r.code == 2 and r.out == ""
    assert r.err == f"cnncalc: error: {other}: not a spec (a YAML mapping with 'layers:')\n"


def test_show_spec_prints_the_file():
    r = run_cli("show-spec", "vgg16")
    assert r.code == 0 and r.out == (SPECS / "vgg16.yaml").read_text(encoding="utf-8")
    assert run_cli("show-spec", "vgg17").code == 2


def test_input_override():
    # VGG16 on 32×32×3: the convs keep their 14,714,688 params (docs/REFERENCE.md); fc6 sees 1×1×512
    fc = 512 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000
    d = json.loads(run_cli("vgg16", "--input", "32x32x3", "-f", "json").out)
    assert d["input"] == [32, 32, 3] and d["totals"]["params"] == 14_714_688 + fc
    r = run_cli("vgg16", "--input", "32x32")
    assert r.code == 2 and r.err.startswith("cnncalc: error: --input")
    c = json.loads(run_cli("compare", "lenet5", "pytorch_cifar_net", "--input", "32x32x1", "-f", "json").out)
    assert c["specs"][1]["params"] == CIFAR_NET_PARAMS - 2 * 5 * 5 * 6  # conv1 loses two input channels


def test_dash_reads_standard_input():
    text = (SPECS / "lenet5.yaml").read_text(encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "cnncalc", "-", "-f", "json"], input=text, capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["totals"]["params"] == LENET_PARAMS
    bad = subprocess.run([sys.executable, "-m", "cnncalc", "-"], input="input: [8, 8]\nlayers: [relu]\n",
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and bad.stderr.startswith("cnncalc: error: <stdin>:1:")
    for command in ("-", "show-spec"):
        args = [command] if command == "-" else [command, "-"]
        binary = subprocess.run([sys.executable, "-m", "cnncalc", *args], input=b"\xff\xfe", capture_output=True,
                                cwd=ROOT)
        assert binary.returncode == 2 and binary.stderr == b"cnncalc: error: <stdin>: the input is not UTF-8 text\n"


# the library ------------------------------------------------------------------------------------

def test_library_doors():
    import cnncalc

    g = cnncalc.parse_spec({"input": [32, 32, 3], "layers": [{"conv": {"filters": 10, "kernel": 5, "padding": 2}}]})
    report = cnncalc.analyze(g)
    assert report.totals.params == 760  # (5·5·3)·10 + 10
    assert cnncalc.analyze(cnncalc.parse_dsl("input 32x32x3 | conv 10 k5 p2")).totals.params == 760
    from cnncalc.render.json_ import render_json

    assert report.to_dict() == json.loads(render_json(report))
    for bad in (5, None, ["input: 3"]):
        with pytest.raises(cnncalc.CnnCalcError):
            cnncalc.parse_spec(bad)
    with pytest.raises(cnncalc.CnnCalcError):
        cnncalc.parse_dsl(42)


def test_import_cnncalc_stays_light():
    code = ("import sys, cnncalc; assert 'parse_dsl' in cnncalc.__all__; "
            "print(sorted(m for m in ('typer', 'rich', 'yaml', 'cnncalc.core.analysis') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stderr + r.stdout


# citations, LICENSE -----------------------------------------------------------------------------

def test_citations_point_inside_the_repository():
    assert (ROOT / "docs" / "REFERENCE.md").is_file()
    files = [ROOT / "README.md", *SPECS.glob("*.yaml"), *(ROOT / "exams").glob("*.yaml")]
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert "shared/seeds" not in text, f
        assert not re.search(r"(?<!docs/)REFERENCE\.md", text), f
    lic = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert lic.startswith("MIT License") and "the cnncalc authors" in lic


# wording ----------------------------------------------------------------------------------------

def test_training_memory_wording_has_one_meaning_per_word():
    out = run_cli("vgg16", "--train", "adam", "--batch", "32").out
    assert "forward + backward" not in out and "kept for backward" not in out
    # 15,237,608 activations · 4 B · 32 = 1,950,413,824 B stored; doubled with their gradients
    assert "1.95 GB forward, 3.90 GB with activation gradients" in out
    assert "+ stored activations 1.95 GB" in out


def test_plurals():
    out = run_cli("conv", "4x4x1", "--filters", "1", "-k", "1").out
    assert "(1 weight + 1 bias)" in out  # 1·1·1·1 weight, 1 bias
    out = run_cli("conv", "4x4x1", "--filters", "2", "-k", "1", "--no-bias").out
    assert "(2 weights + 0 biases)" in out
    explained = run_cli("-e", "input 4x4x3 | prelu shared", "--explain").out
    assert "params = 1 weight + 0 biases = 1" in explained  # one shared slope


def test_dash_without_a_readable_stdin_is_a_clean_error(monkeypatch):
    class Unreadable:  # like pytest's captured stdin, or a closed descriptor
        def read(self, *a):
            raise OSError(9, "Bad file descriptor")

        buffer = property(lambda self: self)

    monkeypatch.setattr(sys, "stdin", Unreadable())
    r = run_cli("-")
    assert r.code == 2 and r.err.startswith("cnncalc: error: <stdin>: cannot read standard input"), r.err


def test_score_percentage_never_rounds_up_to_a_perfect_score():
    from cnncalc.cli.commands.grade import _score

    assert _score(537, 539) == "537/539 right (99%)"  # 99.63% is not 100%
    assert _score(2, 3) == "2/3 right (66%)" and _score(3, 3) == "3/3 right (100%)"
    assert _score(0, 0) == "0/0 right (100%)"
