"""README is true line by line: the examples it shows are what the program prints.

- every ``$ cnncalc …`` transcript (a line ``…`` stands for lines left out) prints exactly those lines
  (the values transcript is tested with its spec in test_values.py);
- every row of the built-in networks table gives its params and MACs (the figures themselves are
  docs/REFERENCE.md's: test_specs.py holds the specs to them);
- every quick question's comment (`# 32×32×10, 760 params`) is in the command's output;
- the table excerpt of `cnncalc resnet50` is in its output (columns as printed at that width).
"""

from __future__ import annotations

import json
import re
import shlex

import pytest

from tests.conftest import ROOT, run_cli

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```[a-z]*\n(.*?)^```", README, flags=re.S | re.M)


def _transcripts():
    for block in BLOCKS:
        for chunk in ("\n" + block).split("\n$ ")[1:]:
            command, _, shown = chunk.partition("\n")
            if command.startswith("cnncalc ") and " values " not in f" {command} ":
                yield command, shown


TRANSCRIPTS = list(_transcripts())


def test_the_readme_has_transcripts():
    assert len(TRANSCRIPTS) >= 2


@pytest.mark.parametrize("command, shown", TRANSCRIPTS, ids=[c for c, _ in TRANSCRIPTS])
def test_transcript_is_the_programs_output(command, shown):
    r = run_cli(*shlex.split(command)[1:])
    printed = (r.out + r.err).splitlines()
    want = shown.rstrip("\n").splitlines()
    i = 0
    skipping = True  # a transcript may start anywhere in the output
    for line in want:
        if line.strip() == "…":
            skipping = True
            continue
        if skipping:
            while i < len(printed) and printed[i] != line:
                i += 1
            skipping = False
        assert i < len(printed) and printed[i] == line, f"{command!r}: README shows {line!r}"
        i += 1


def _builtin_rows():
    table = README.split("Built-in networks", 1)[1].split("\n\n", 2)[1]
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        names = re.findall(r"`(\w+)`", cells[0])
        params = re.findall(r"[\d,]+", cells[2].split("(")[0])
        macs = re.findall(r"[\d,]+", cells[3])
        if len(names) == 2 and "…" in cells[0]:  # resnet18 … resnet152: the first and the last
            names = [names[0], names[1]]
        for name, p, m in zip(names, params, macs):
            yield name, int(p.replace(",", "")), int(m.replace(",", ""))


ROWS = list(_builtin_rows())


def test_the_builtin_table_is_read():
    assert len(ROWS) >= 15 and ("resnet152", 60_192_808, 11_513_626_624) in ROWS


@pytest.mark.parametrize("name, params, macs", ROWS, ids=[r[0] for r in ROWS])
def test_builtin_table_row(name, params, macs):
    r = run_cli(name, "--format", "json")
    assert r.code == 0, r.err
    totals = json.loads(r.out)["totals"]
    assert (totals["params"], totals["macs"]) == (params, macs)


def _quick_questions():
    block = README.split("## Quick questions", 1)[1].split("```\n", 2)[1]
    for line in block.splitlines():
        command, _, comment = line.partition("#")
        if command.startswith("cnncalc ") and comment:
            claims = re.findall(r"\d+×\d+×\d+|[\d,]+ params", comment)
            yield command.strip(), claims


QUICK = list(_quick_questions())


@pytest.mark.parametrize("command, claims", QUICK, ids=[c for c, _ in QUICK])
def test_quick_question_comment(command, claims):
    assert claims
    r = run_cli(*shlex.split(command)[1:], "--exact")
    assert r.code == 0, r.err
    for claim in claims:
        assert claim.replace(" params", "") in r.out, f"{command}: {claim} not printed"


def test_resnet50_excerpt_is_in_its_table():
    excerpt = README.split("naming its inputs (`cnncalc resnet50`):", 1)[1].split("```\n", 2)[1]
    lines = [" ".join(line.split()) for line in excerpt.splitlines()]
    printed = [" ".join(line.split()) for line in run_cli("resnet50").out.splitlines()]
    start = printed.index(lines[0])
    assert printed[start:start + len(lines)] == lines


def test_every_path_the_readme_names_exists():
    # the Architecture section and the rest point readers at files; a moved file must move its mention
    named = set(re.findall(r"`((?:cnncalc|tests|specs|docs|benchmarks|exams|\.ci)/[^`\s]*)`", README))
    assert len(named) > 20
    generated = {".ci/node_modules"}  # made by .ci/run (npm install)
    missing = sorted(p for p in named if p.rstrip("/") not in generated and not (ROOT / p.rstrip("/")).exists())
    assert missing == []
