"""Rendered output: golden files (``pytest --update-golden`` rewrites them), the invariant that
each column's rows add up to its printed total, and the machine-readable formats."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from cnncalc import analyze, load_spec
from cnncalc.render import render
from cnncalc.load import builtin_names

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name,fmt,exact", [
    ("vgg16", "table", False),
    ("vgg16", "table", True),
    ("xo_toy", "table", True),
    ("alexnet", "markdown", True),
    ("pytorch_cifar_net", "csv", False),
])
def test_golden(name, fmt, exact, update_golden):
    text = render(analyze(load_spec(name)), fmt, exact_numbers=exact)
    path = GOLDEN / f"{name}.{fmt}{'.exact' if exact else ''}.txt"
    if update_golden or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not update_golden:
            pytest.fail(f"golden file {path.name} was missing and has been written; check it and commit it")
    assert text == path.read_text(encoding="utf-8")


def _int(cell: str) -> int:
    return int(cell.replace(",", ""))


@pytest.mark.parametrize("name", builtin_names())
def test_table_columns_add_up_to_totals(name):
    """Sum each numeric column of the printed (exact) table and compare with its total row."""
    text = render(analyze(load_spec(name)), "table", exact_numbers=True)
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("layer") and "params" in line)
    rows, total = [], None
    for line in lines[header + 2:]:
        cells = line.split()
        if not cells or cells[0] == "←":  # the line naming the inputs of a merge
            continue
        if cells[0] == "total":
            total = [_int(c) for c in cells[1:4]]
            break
        if len(cells) < 4 or not cells[-2].replace(",", "").isdigit():
            continue  # the continuation of a folded long layer name
        rows.append([_int(c) for c in cells[-4:-1]])  # params, MACs, activations
    assert total is not None and rows
    sums = [sum(col) for col in zip(*rows)]
    assert sums == total


def test_table_totals_block_is_exact():
    text = render(analyze(load_spec("vgg16")), "table")
    assert "138,357,544" in text and "15,470,264,320" in text and "15,237,608" in text
    assert "60.95 MB" in text  # 15,237,608 × 4 bytes
    assert "weights + biases" in text  # the conventions footer


def test_table_fits_100_columns():
    for name in builtin_names():
        text = render(analyze(load_spec(name)), "table", exact_numbers=True)
        assert max(len(line) for line in text.splitlines()) <= 100, name


def test_json_contract():
    d = json.loads(render(analyze(load_spec("vgg16")), "json"))
    assert d["name"] == "vgg16" and d["input"] == [224, 224, 3]
    first = d["layers"][0]
    assert first["name"] == "input" and first["output_shape"] == [224, 224, 3]
    keys = {"name", "type", "inputs", "output_shape", "params", "weights", "biases", "non_trainable_params",
            "macs", "flops", "activations", "warnings", "receptive_field", "jump"}
    assert all(keys <= set(layer) for layer in d["layers"])
    conv = next(x for x in d["layers"] if x["name"] == "conv1_2")
    assert conv["params"] == 36_928 and conv["inputs"] == ["conv1_1"] and conv["output_shape"] == [224, 224, 64]
    t = d["totals"]
    assert (t["params"], t["macs"], t["flops"], t["activations"]) == (138_357_544, 15_470_264_320,
                                                                       30_940_528_640, 15_237_608)
    assert t["param_bytes"] == 138_357_544 * 4 and t["activation_bytes"] == 15_237_608 * 4
    assert d["layers"][-1]["output_shape"] == [1000]


def test_csv_one_row_per_layer():
    report = analyze(load_spec("alexnet"))
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert len(rows) == len(report.layers)
    conv4 = next(r for r in rows if r["name"] == "conv4")
    assert conv4["output_shape"] == "13x13x384" and int(conv4["weights"]) == 663_552


def test_markdown_table_shape():
    text = render(analyze(load_spec("xo_toy")), "markdown", exact_numbers=True)
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len({line.count("|") - line.count("\\|") for line in table}) == 1  # same column count
    assert any(re.search(r"\|\s*features\s*\|", line) for line in table)


def test_human_units_round_correctly():
    from cnncalc.render.common import human, human_bytes

    assert human(138_357_544) == "138M"
    assert human(15_470_264_320) == "15.5G"
    assert human(1_792) == "1.79K"
    assert human(999_950) == "1.00M"  # rounds up into the next unit
    assert human(10**20) == "100E" and human(10**27) == "1.00e27"
    assert human_bytes(60_950_432) == "60.95 MB"


def _all_reports():
    from cnncalc import analyze, load_spec, parse_spec
    from cnncalc.load import builtin_names

    for name in builtin_names():
        yield analyze(load_spec(name))
    # quotes, a backslash and non-ASCII in a name (control characters are refused: test_control_chars)
    odd = ('input: [9, 9, 2]\nlayers:\n'
           '  - conv: {filters: 2, kernel: 2, stride: 2, name: "卷積 \\"q\\" \\\\ é ☃ 🙂"}\n'
           '  - upsample: {scale: 3}\n  - conv: {filters: 3, kernel: 2, stride: 2}\n')
    yield analyze(parse_spec(odd))


def test_json_layer_lines_equal_json_dumps():
    """render_json writes each layer by hand for speed; it must be exactly what json.dumps writes."""
    import json

    from cnncalc.render.json_ import layer_dict, layer_line

    n = 0
    for report in _all_reports():
        for r in report.layers:
            assert layer_line(r) == json.dumps(layer_dict(r), ensure_ascii=False)
            n += 1
    assert n > 1000
