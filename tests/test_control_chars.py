"""Control characters written as YAML escapes ("\\e", "\\x85", "\\L", "\\n" … in double quotes) get
past the check of the raw text. A name holding one is refused at load with a located one-line
error naming the character; any other text quoted back (received values, file names, check
messages) is written as in a repr, so that nothing from a spec reaches the terminal as an escape
sequence or prints a line of its own (``::warning …``) into a CI log."""

from __future__ import annotations

import re

import pytest

from tests.conftest import run_cli

# YAML escape as written in a double-quoted string → the character it makes, and how the error
# names it (U+XXXX as in the raw-text check)
ESCAPES = [
    ("\\e", "U+001B, ESC"),
    ("\\x85", "U+0085, NEL"),
    ("\\N", "U+0085, NEL"),
    ("\\L", "U+2028, line separator"),
    ("\\P", "U+2029, paragraph separator"),
    ("\\n", "U+000A, line feed"),
    ("\\r", "U+000D, carriage return"),
    ("\\t", "U+0009, tab"),
    ("\\x7f", "U+007F, DEL"),
    ("\\x9b", "U+009B, CSI"),
    ("\\x90", "U+0090, a control character"),
    ("\\0", "U+0000, NUL"),
]
# what must never appear in any output: C0 but the line feed ending each line, DEL, C1, LS, PS
FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
FORMATS = [("-f", "table"), ("-f", "csv"), ("-f", "markdown"), ("-f", "json"), ("--explain",)]


def _write(tmp_path, text: str, name: str = "s.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def _one_clean_error(r, *parts: str) -> str:
    assert r.code == 2, (r.out, r.err)
    assert FORBIDDEN.search(r.out + r.err) is None
    lines = r.err.splitlines()
    assert len(lines) == 1 and r.err.endswith("\n") and r.err.count("\n") == 1, r.err
    for p in parts:
        assert p in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("esc, named", ESCAPES)
@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f[-1])
def test_a_layer_name_with_a_control_character_is_refused_in_every_format(tmp_path, esc, named, fmt):
    path = _write(tmp_path, f'input: [8, 8, 3]\nlayers:\n  - conv: {{filters: 4, kernel: 3, name: "c{esc}x"}}\n')
    line = _one_clean_error(run_cli(path, *fmt), f"s.yaml:3:41: a layer name cannot hold a control character "
                                                 f"(received {named})")
    assert line.startswith("cnncalc: error: ")


@pytest.mark.parametrize("text, where, what", [
    # the name beside the type key, a from: reference, one-line DSL names and references
    ('input: [8, 8, 3]\nlayers:\n  - conv: {filters: 4, kernel: 3}\n    name: "a\\e[31m"\n', "4:11", "a layer name"),
    ('input: [8, 8, 3]\nlayers:\n  - relu\n  - add: {from: [relu1, "x\\n::warning::boom"]}\n', "4:17", "a layer name"),
    ('input: [8, 8, 3]\nlayers:\n  - "conv 4 k3 @c\\e[2J"\n', "3:16", "a layer name"),
    ('input: [8, 8, 3]\nlayers:\n  - "relu @a"\n  - "add <a,b\\e"\n', "4:10", "a layer name"),
    # the spec's own name (a title in every output)
    ('name: "net\\e]0;pwned\\a"\ninput: [8, 8, 3]\nlayers: [relu]\n', "1:7", "the spec's 'name'"),
    # keys: a block's name, a layer under expect:/budget:, a parameter name
    ('input: [8, 8, 3]\nblocks:\n  "b\\e[1m": {layers: [relu]}\nlayers: [relu]\n', "3:3", "a key"),
    ('input: [8, 8, 3]\nlayers: [relu]\nexpect:\n  layers: {"relu1\\n::warning::x": {params: 0}}\n', "4:12",
     "a key"),
    ('input: [8, 8, 3]\nlayers: [relu]\nbudget:\n  layers: {"relu1\\x85": {params: 0}}\n', "4:12", "a key"),
    ('input: [8, 8, 3]\nlayers:\n  - conv: {filters: 4, kernel: 3, "stride\\u2029": 2}\n', "3:35", "a key"),
])
def test_every_kind_of_name_is_refused(tmp_path, text, where, what):
    path = _write(tmp_path, text)
    _one_clean_error(run_cli(path, "-f", "csv"), f"s.yaml:{where}: {what}", "control character", "(received U+")


BAD_VALUES = [  # received values quoted back
    'input: [8, 8, 3]\nlayers:\n  - conv: {filters: "4\\n::warning::x", kernel: 3}\n',
    'input: [8, 8, 3]\nlayers:\n  - conv: {filters: 4, kernel: 3, padding: "sa\\x9b31mme"}\n',
    'input: [8, 8, 3]\nlayers:\n  - "conv\\e[31m 4 k3"\n',  # an unknown DSL type
    'input: "8x8\\e[8mx3"\nlayers: [relu]\n',
    'a: 1\n"a\\n": 2\n"a\\n": 3\n',  # a duplicate key is reported before its characters
]
BAD_CHECKS = [  # read by check only
    'input: [8, 8, 3]\nlayers: [relu]\nexpect: {params: "12\\e[31mK"}\n',
    'input: [8, 8, 3]\nlayers: [relu]\nexpect: {output_shape: "8x8x3\\n::warning::x"}\n',
    'input: [8, 8, 3]\nlayers: [relu]\nbudget: {train: "ad\\e[31mam", training_bytes: 1GB}\n',
]


@pytest.mark.parametrize("text", BAD_VALUES + BAD_CHECKS)
def test_received_values_are_quoted_on_one_line(tmp_path, text):
    path = _write(tmp_path, text)
    if text in BAD_VALUES:
        _one_clean_error(run_cli(path, "-f", "csv"))
    for fmt in ("text", "github"):
        r = run_cli("check", "--format", fmt, path)
        assert r.code == 2 and FORBIDDEN.search(r.out + r.err) is None
        assert len(r.out.splitlines()) == 2, r.out  # the error, the summary


def test_a_file_name_with_control_characters_is_escaped_in_errors(tmp_path):
    path = _write(tmp_path, "input: [8, 8, 3]\nlayers: [cnov]\n", name="n\x1b[31m\x85.yaml")
    line = _one_clean_error(run_cli(path))
    assert "n\\x1b[31m\\x85.yaml:2:10: " in line


def test_github_annotations_cannot_be_split(tmp_path):
    _write(tmp_path, 'input: [8, 8, 3]\nlayers: [relu]\nexpect:\n  layers: {"relu1\\n::warning::x": {params: 0}}\n',
           name="a.yaml")
    _write(tmp_path, 'input: [8, 8, 3]\nlayers:\n  - conv: {filters: "4\\r\\n::warning::y\\e[2J", kernel: 3}\n',
           name="b.yaml")
    _write(tmp_path, 'input: [8, 8, 3]\nlayers: [relu]\nexpect: {params: 1}\n', name="c\nx.yaml")
    r = run_cli("check", "--format", "github", str(tmp_path))
    assert r.code in (1, 2) and FORBIDDEN.search(r.out + r.err) is None
    lines = r.out.splitlines()
    assert len(lines) == 4, lines  # three annotations, the summary
    assert all(line.startswith("::error ") for line in lines[:3]), lines
    assert not any(line.startswith("::warning") for line in lines)
    assert "U+000A, line feed" in lines[0] and "received '4\\\\r\\\\n::warning::y\\\\x1b[2J'" in lines[1].replace(
        "\\", "\\\\")


def test_answer_sheet_ids_and_titles_are_refused_and_texts_kept_on_one_line(tmp_path):
    base = "questions:\n  - id: {id}\n    text: {text}\n    network: lenet5\n    answers: {{params: 61706}}\n"
    sheet = _write(tmp_path, base.format(id='"q1\\n::warning::x"', text="t"), "a.yaml")
    _one_clean_error(run_cli("grade", sheet), "a.yaml:2:9: a question id cannot hold a control character "
                                              "(received U+000A, line feed)")
    sheet = _write(tmp_path, 'title: "T\\e[31m"\n' + base.format(id="q1", text="t"), "b.yaml")
    _one_clean_error(run_cli("grade", sheet), "b.yaml:1:8: a sheet's title cannot hold a control character "
                                              "(received U+001B, ESC)")
    sheet = _write(tmp_path, base.format(id="q1", text='"two\\nlines \\e[31mred\\L"'), "c.yaml")
    r = run_cli("grade", sheet)
    assert r.code == 0 and FORBIDDEN.search(r.out + r.err) is None, r.out
    assert "q1  [lenet5]  two lines \\x1b[31mred" in r.out


def test_one_line_escapes_every_control_character_and_nothing_else():
    from cnncalc.core.errors import clip, control_char, one_line

    for code in list(range(0x20)) + list(range(0x7F, 0xA0)) + [0x2028, 0x2029]:
        text = one_line(f"a{chr(code)}b")
        assert FORBIDDEN.search(text) is None and "\n" not in text and text == f"a{repr(chr(code))[1:-1]}b"
        assert control_char(chr(code)).startswith(f"U+{code:04X}, ")
    plain = "名稱 ×→ é \u200b ok"
    assert one_line(plain) == plain and control_char(plain) is None
    short = clip("x\n" * 100, 9)
    assert len(short) <= 9 and short.startswith("x\\nx") and "…" in short and "\n" not in short
