"""The shortcuts taken for speed give the same answers and errors as the full checks (and the
checks they sit beside keep working)."""

from __future__ import annotations

import pytest

from cnncalc import analyze, parse_spec
from cnncalc.core.errors import CnnCalcError, LimitError


def test_plain_layers_still_meet_the_layer_limit(monkeypatch):
    from cnncalc.core import limits

    monkeypatch.setattr(limits, "MAX_LAYERS", 10)
    ok = "input: 4\nlayers:\n" + "  - relu: {}\n" * 10  # 10 layers after the input
    assert len(analyze(parse_spec(ok)).layers) == 11
    with pytest.raises(LimitError, match="more than 10 layers .MAX_LAYERS") as e:
        parse_spec(ok + "  - relu: {}\n")
    assert (e.value.loc.line, e.value.loc.col) == (13, 5)  # the eleventh relu


@pytest.mark.parametrize("entry,message", [
    ("relu: {repeat: 0}", "repeat must be a positive integer"),
    ("relu: {if: 3}", "if must be true or false"),
    ("relu: {first: 3}", "first must be a mapping"),
])
def test_entries_with_repeat_first_or_if_get_the_full_checks(entry, message):
    with pytest.raises(CnnCalcError, match=message):
        parse_spec(f"input: 4\nlayers:\n  - {entry}\n")


def test_a_repeated_layer_is_counted_once_per_row():
    # the size check runs once per distinct memoised layer; the figures are still per row
    spec = parse_spec("input: [8, 8, 4]\nlayers:\n  - conv: {filters: 4, kernel: 3, padding: 1, repeat: 5}\n")
    report = analyze(spec)
    # each conv: 3·3·4·4 weights + 4 biases = 148; MACs 8·8·4·3·3·4 = 9,216
    assert [r.params for r in report.layers[1:]] == [148] * 5
    assert report.totals.macs == 5 * 9216
    assert [r.receptive_field for r in report.layers] == [(1, 1), (3, 3), (5, 5), (7, 7), (9, 9), (11, 11)]
