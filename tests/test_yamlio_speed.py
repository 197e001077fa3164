"""The fast YAML construction gives what PyYAML's safe loader gives, with the same locations."""

from __future__ import annotations

import pytest
import yaml

from cnncalc.core.errors import CnnCalcError
from cnncalc.load.yamlio import LocDict, load_yaml
from tests.conftest import SPECS

DOCS = [
    "a: 1\nb: -7\nc: 0\nd: 012\ne: 0x1F\nf: 1_000\ng: 1:30\nh: +5\ni: 1.5\nj: .inf\nk: yes\nl: ~\nm: '12'\n",
    "base: &b {x: 1, y: [1, 2]}\nderived:\n  <<: *b\n  z: 3\nsame: *b\n",
    "- [1, [2, [3, [4]]]]\n- {a: {b: {c: {d: 5}}}}\n- !!str 12\n- !!int '7'\n- !!float 1\n- [!!null '', !!bool yes]\n",
    "---\na: &x 1\nb: *x\nc: 2001-12-14\nd: |\n  text\ne: >\n  folded\nf: \"q\"\n...\n",
    "base: &b {x: 1, y: 2}\nother: &o {y: 3, w: 4}\nd:\n  <<: [*b, *o]\n  x: 9\n",
    "-10\n",
    "",
    "名稱: 網路\nlayers:\n  - conv: {filters: 8, kernel: 3}\n  - relu\n",
]


@pytest.mark.parametrize("text", DOCS + [p.read_text(encoding="utf-8") for p in sorted(SPECS.glob("*.yaml"))])
def test_same_values_as_safe_load(text):
    assert load_yaml(text, "t.yaml") == yaml.safe_load(text)


def test_locations_are_one_based_line_and_column():
    doc = load_yaml("# c\nname: x\nlayers:\n  - conv: {filters: 8, kernel: 3}\n", "t.yaml")
    assert str(doc.key_loc("name")) == "t.yaml:2:1" and str(doc.val_loc("name")) == "t.yaml:2:7"
    item = doc["layers"][0]
    assert str(doc["layers"].item_loc(0)) == "t.yaml:4:5"
    assert str(item.val_loc("conv")) == "t.yaml:4:11" and str(item["conv"].val_loc("kernel")) == "t.yaml:4:32"
    assert isinstance(item, LocDict) and doc.key_locs["layers"].line == 3


def test_nesting_up_to_the_limit_loads():
    depth = 100
    assert load_yaml("[" * depth + "]" * depth, "t.yaml") is not None


@pytest.mark.parametrize("depth, sep, where", [(101, "", "1:101"), (5000, "", "1:101"), (200_000, "\n", "101:1")])
def test_deep_nesting_is_refused_not_crashed(depth, sep, where):
    # PyYAML's own composer recurses: 100,000 brackets used to kill the interpreter
    with pytest.raises(CnnCalcError) as e:
        load_yaml(("[" + sep) * depth + ("]" + sep) * depth, "t.yaml")
    assert e.value.format() == (f"t.yaml:{where}: the YAML nests lists and mappings more than 100 deep "
                                "(MAX_YAML_DEPTH; set CNNCALC_MAX_YAML_DEPTH to raise it)")


@pytest.mark.parametrize("depth, sep", [(1001, ""), (1500, "\n"), (3000, "")])
def test_nesting_beyond_libyamls_own_cap_follows_cnncalcs_limit(monkeypatch, depth, sep):
    # libyaml 0.2.6 (PyYAML 6.0.4) refuses more than 1,000 levels itself; cnncalc's limit decides
    from cnncalc.core import limits
    monkeypatch.setattr(limits, "MAX_YAML_DEPTH", 2000)
    text = ("[" + sep) * depth + ("]" + sep) * depth
    if depth <= 2000:
        doc = load_yaml(text, "t.yaml")
        for _ in range(depth - 1):
            doc = doc[0]
        assert doc == []
    else:
        with pytest.raises(CnnCalcError) as e:
            load_yaml(text, "t.yaml")
        assert e.value.format() == ("t.yaml:1:2001: the YAML nests lists and mappings more than 2000 deep "
                                    "(MAX_YAML_DEPTH; set CNNCALC_MAX_YAML_DEPTH to raise it)")


def test_block_nesting_beyond_libyamls_cap_is_cnncalcs_message():
    text = "".join(" " * i + "a:\n" for i in range(1500)) + " " * 1500 + "b: 1\n"
    with pytest.raises(CnnCalcError) as e:
        load_yaml(text, "t.yaml")
    assert e.value.format().startswith("t.yaml:101:101: the YAML nests lists and mappings more than 100 deep")


def test_alias_bomb_is_refused_at_the_alias_that_crosses_the_budget():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    with pytest.raises(CnnCalcError) as e:
        load_yaml("\n".join(lines) + "\n", "t.yaml")
    assert "more than 1,000,000 values once its aliases are expanded (MAX_YAML_NODES" in e.value.format()


def test_aliases_share_one_object_and_merge_keys_follow_pyyaml():
    doc = load_yaml("a: &x {k: 1}\nb: *x\nc:\n  <<: *x\n  k: 2\n  j: 3\n", "t.yaml")
    assert doc["a"] is doc["b"] and doc["c"] == {"k": 2, "j": 3}
    assert str(doc["c"].key_loc("k")) == "t.yaml:5:3"


@pytest.mark.parametrize("text", ["!!set {a, b}\n", "!!omap [{x: 1}]\n", "!!binary aGVsbG8=\n",
                                  "!!timestamp 2001-12-14\n", "!!python/object/apply:os.system [ls]\n",
                                  "a: !custom 3\n", "!!pairs [{a: 1}]\n"])
def test_tags_that_are_not_plain_data_are_refused(text):
    with pytest.raises(CnnCalcError) as e:
        load_yaml(text, "t.yaml")
    assert "YAML tags that build objects are not allowed in a spec; plain data only" in e.value.format()


def test_big_integers_stay_exact_up_to_the_digit_limit():
    assert load_yaml(f"a: {10**99}\n", "t.yaml")["a"] == 10**99
    with pytest.raises(CnnCalcError) as e:
        load_yaml(f"a: {10**100}\n", "t.yaml")
    assert "t.yaml:1:4: an integer of 101 digits is over the limit of 100 digits" in e.value.format()


@pytest.mark.parametrize("text, fragment", [
    ("a: 1\na: 2\n", "duplicate key 'a'"),
    ("? [1, 2]\n: x\n", "a mapping key must be a plain value"),
    ("&a [*a]\n", "recursive"),
    ("!!python/object:os.system {}\n", "not allowed"),
    ("a: *nope\n", "t.yaml:1:4: the alias *nope names no anchor"),
    ("a: 1\n---\nb: 2\n", "t.yaml:2:1: a spec file holds one YAML document; a second one starts here"),
    ("a: 1\x00\n", "t.yaml:1:5: the file holds a character YAML does not allow (received U+0000, NUL)"),
    ("a:\n\t- 1\n", "t.yaml:2:1: invalid YAML: a tab where YAML expects spaces"),
    ("a: [1, 2\n", "invalid YAML"),
    ("a: !!int x\n", "t.yaml:1:4: not a valid !!int (received 'x')"),
])
def test_errors(text, fragment):
    with pytest.raises(CnnCalcError) as e:
        load_yaml(text, "t.yaml")
    assert fragment in e.value.format()
