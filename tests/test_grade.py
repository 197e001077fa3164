"""`cnncalc grade`: exit codes, JSON, locations of broken answers, and the shipped exam sheets."""

from __future__ import annotations

import json

import pytest

from .conftest import ROOT

EXAMS = ROOT / "exams"

SHEET = """\
questions:
  - id: q1
    text: 32×32×3 的輸入，10 個 5×5 濾波器，stride 1，padding 2，輸出大小與參數量？
    network: {input: [32, 32, 3], layers: [{conv: {filters: 10, kernel: 5, stride: 1, padding: 2}}]}
    answers: {output_shape: 32x32x10, params: 760}
  - id: q2
    network: vgg16
    answers:
      params: 138M
      layers: {conv1_2: {params: 36928, output_shape: 224x224x64}}
"""


def write(tmp_path, text, name="sheet.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_all_right_exits_0_and_json_contract(cli, tmp_path):
    path = write(tmp_path, SHEET)
    r = cli("grade", path)
    assert r.code == 0, r.err
    assert "✓" in r.out and "✗" not in r.out and "5/5" in r.out
    r = cli("grade", path, "--format", "json")
    data = json.loads(r.out)
    assert data["score"] == {"right": 5, "total": 5}
    assert [q["id"] for q in data["questions"]] == ["q1", "q2"]
    q1 = data["questions"][0]["answers"]
    assert q1[0] == {"figure": "output_shape", "layer": None, "given": "32x32x10", "correct": [32, 32, 10], "ok": True}
    assert q1[1]["correct"] == 760  # CS231n: (5·5·3)·10 + 10
    q2 = data["questions"][1]["answers"]
    assert [(a["figure"], a["layer"]) for a in q2] == [("params", None), ("params", "conv1_2"),
                                                       ("output_shape", "conv1_2")]
    assert q2[0]["correct"] == 138_357_544


def test_a_wrong_answer_exits_1_with_correct_value_and_formula(cli, tmp_path):
    path = write(tmp_path, SHEET.replace("params: 760", "params: 750").replace("138M", "140M"))
    r = cli("grade", path)
    assert r.code == 1
    assert "✗ params" in r.out and "760" in r.out
    assert "params = (5·5·3)·10 + 10 = 760" in r.out
    assert "3/5" in r.out
    data = json.loads(cli("grade", path, "-f", "json").out)
    assert [a["ok"] for q in data["questions"] for a in q["answers"]] == [True, False, False, True, True]


@pytest.mark.parametrize("text,loc,msg", [
    (SHEET.replace("params: 760}", "params: 7y60}"), "5:47", "not a number"),
    (SHEET.replace("{params: 36928", "{params: lots"), "10:34", "not a number"),
    (SHEET.replace("conv1_2:", "conv1_3:"), "10:16", "no layer 'conv1_3'; did you mean"),
    (SHEET.replace("answers: {output_shape", "answers: {output_size"), "5:15", "unknown figure 'output_size'"),
    (SHEET.replace("network: vgg16", "network: vgg61"), "7:14", "not a built-in network"),
    (SHEET.replace("network: vgg16", "network: nets/missing.yaml"), "7:14", "no spec file"),
    (SHEET.replace("kernel: 5,", "kernel: 50,"), "4:44", "kernel 50 is larger than the padded input 36"),
    ("questions: [\n", "2:1", "invalid YAML"),
    ("title: x\n", "1:1", "'questions:'"),
])
def test_broken_sheet_locations(cli, tmp_path, text, loc, msg):
    path = write(tmp_path, text)
    r = cli("grade", path)
    assert r.code == 2, r.out
    line = r.err.strip()
    assert "\n" not in line and "Traceback" not in line
    assert f"{path}:{loc}:" in line, line
    assert msg in line


def test_missing_sheet_exits_2(cli, tmp_path):
    r = cli("grade", str(tmp_path / "nope.yaml"))
    assert r.code == 2 and "no such file" in r.err


def test_network_by_relative_path_and_dsl_hook(cli, tmp_path):
    (tmp_path / "nets").mkdir()
    conv = "  - conv: {filters: 1, kernel: 3}\n"
    (tmp_path / "nets" / "tiny.yaml").write_text("input: [7, 7, 1]\nlayers:\n" + conv * 3)
    sheet = "questions:\n  - network: nets/tiny.yaml\n    answers: {output_shape: 1x1x1, receptive_field: 7}\n"
    r = cli("grade", write(tmp_path, sheet))
    assert r.code == 0, r.err + r.out
    from cnncalc.verify.grade import dsl_parser

    sheet = "questions:\n  - network: input 32x32x3 | conv 10 k5 s1 p2\n    answers: {params: 760}\n"
    r = cli("grade", write(tmp_path, sheet, "dsl.yaml"))
    if dsl_parser() is None:
        assert r.code == 2 and "DSL" in r.err and "dsl.yaml:2:14" in r.err
    else:  # the one-line DSL (issue 3) is present
        assert r.code == 0, r.err + r.out


def test_unicode_text_comes_through(cli, tmp_path):
    text = SHEET.replace("id: q2", "id: 問題二\n    text: 简体中文：参数量是多少？ English too.")
    path = write(tmp_path, text)
    r = cli("grade", path)
    assert "32×32×3 的輸入，10 個 5×5 濾波器，stride 1，padding 2，輸出大小與參數量？" in r.out
    assert "简体中文：参数量是多少？ English too." in r.out and "問題二" in r.out
    data = json.loads(cli("grade", path, "-f", "json").out)
    assert data["questions"][1]["id"] == "問題二"


# --- the shipped sheets: which answers are wrong, as README documents -----------------------

def wrong(sheet):
    from cnncalc.verify.grade import grade_file

    g = grade_file(str(EXAMS / sheet))
    return g, {(q.id, a.layer, a.figure) for q in g.questions for a in q.answers if not a.ok}


def test_exam_six_by_six_all_right(cli):
    g, bad = wrong("six_by_six.yaml")
    assert bad == set() and g.total == 9
    assert cli("grade", str(EXAMS / "six_by_six.yaml")).code == 0


def test_exam_alphago_all_right(cli):
    g, bad = wrong("alphago_policy.yaml")
    assert bad == set() and g.total == 10


def test_exam_inception(cli):
    g, bad = wrong("inception_ops.yaml")
    assert bad == {("bottleneck", None, "macs"), ("bottleneck", "b5x5", "macs")}
    answers = {(q.id, a.layer, a.figure): a for q in g.questions for a in q.answers}
    assert answers[("bottleneck", None, "macs")].correct == 271_351_808  # REFERENCE.md
    assert answers[("naive", None, "macs")].correct == 854_196_224
    assert answers[("naive", None, "output_shape")].correct == [28, 28, 672]
    assert answers[("bottleneck", "b5x5", "macs")].correct == 28 * 28 * 96 * 5 * 5 * 64
    assert cli("grade", str(EXAMS / "inception_ops.yaml")).code == 1


def test_exam_alexnet():
    g, bad = wrong("alexnet_table.yaml")
    truncated = {("alexnet-conv", "conv2", "macs"), ("alexnet-conv", "conv3", "weights"),
                 ("alexnet-conv", "conv3", "macs"), ("alexnet-conv", "conv5", "macs"),
                 ("alexnet-fc", "fc6", "weights"), ("alexnet-fc", "fc6", "macs"),
                 ("alexnet-fc", "fc7", "weights"), ("alexnet-fc", "fc7", "macs")}
    assert bad == truncated | {("alexnet-conv", "conv4", "weights")}
    answers = {(q.id, a.layer, a.figure): a for q in g.questions for a in q.answers}
    conv4 = answers[("alexnet-conv", "conv4", "weights")]
    assert conv4.correct == 663_552 and conv4.note is None  # grouped; 1.3M is the ungrouped 1,327,104
    assert answers[("alexnet-conv", "conv4", "macs")].ok and answers[("alexnet-conv", "conv4", "macs")].correct \
        == 112_140_288
    assert all("truncates" in answers[k].note for k in truncated)


def test_exam_vgg16():
    g, bad = wrong("vgg16_memory_params.yaml")
    assert ("vgg16-totals", None, "memory") in bad and ("vgg16-totals", None, "activations") in bad
    assert ("vgg16-totals", None, "params") not in bad
    under = {("vgg16-layers", n, "activations") for n in
             ("pool1", "pool2", "conv3_1", "conv3_2", "conv3_3", "pool3", "conv4_1", "conv4_2", "conv4_3")}
    assert bad == under | {("vgg16-totals", None, "memory"), ("vgg16-totals", None, "activations"),
                           ("vgg16-input-memory", "input", "activations")}
    answers = {(q.id, a.layer, a.figure): a for q in g.questions for a in q.answers}
    assert answers[("vgg16-totals", None, "memory")].correct == 60_950_432
    assert answers[("vgg16-totals", None, "activations")].correct == 15_237_608
    assert answers[("vgg16-layers", "conv5_3", "receptive_field")].ok
    assert answers[("vgg16-layers", "pool5", "receptive_field")].correct == [212, 212]
    assert g.right == 33 and g.total == 45


def test_exam_sheets_keep_their_chinese(cli):
    out = cli("grade", str(EXAMS / "inception_ops.yaml")).out
    assert "朴素 Inception 模块（输入 28×28×256）" in out and "“瓶颈”" in out
    out = cli("grade", str(EXAMS / "six_by_six.yaml")).out
    assert "6 x 6 影像、兩個 3 x 3 濾波器" in out and "每个过滤器有多少参数?" in out
    data = json.loads(cli("grade", str(EXAMS / "alphago_policy.yaml"), "-f", "json").out)
    assert data["score"] == {"right": 10, "total": 10}


def test_several_sheets_at_once(cli):
    r = cli("grade", str(EXAMS / "six_by_six.yaml"), str(EXAMS / "inception_ops.yaml"))
    assert r.code == 1


def test_macs_include_as_a_sheet_or_question_convention(cli, tmp_path):
    # conv 3×3, 1 → 2 channels on 4×4: 2·2 outputs · 2 filters · 9 = 72 MACs; the bias kind adds one
    # addition per output value, 2·2·2 = 8 (README: Counting conventions); FLOPs = 2 · MACs
    net = "{input: [4, 4, 1], layers: [{conv: {filters: 2, kernel: 3}}]}"
    sheet = (f"macs_include: bias\nquestions:\n  - id: sheet_wide\n    network: {net}\n    answers: {{macs: 80, "
             f"flops: 160}}\n  - id: plain\n    macs_include: []\n    network: {net}\n    answers: {{macs: 72}}\n"
             f"  - id: twice\n    macs_include: [bias*2]\n    network: {net}\n    answers: {{macs: 88}}\n")
    r = cli("grade", write(tmp_path, sheet))
    assert r.code == 0 and "4/4" in r.out, r.out + r.err
    r = cli("grade", write(tmp_path, sheet.replace("macs_include: bias", "macs_include: biases"), "bad.yaml"))
    assert r.code == 2 and r.err.startswith(f"cnncalc: error: {tmp_path / 'bad.yaml'}:1:15: macs_include: unknown "
                                            "kind 'biases'"), r.err
