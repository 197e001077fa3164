"""The fast YAML construction gives what PyYAML's safe loader gives, with the same locations."""

from __future__ import annotations

import pytest
import yaml

from cnncalc.errors import SpecError
from cnncalc.spec.yamlio import LocDict, load_yaml
from tests.conftest import SPECS

DOCS = [
    "a: 1\nb: -7\nc: 0\nd: 012\ne: 0x1F\nf: 1_000\ng: 1:30\nh: +5\ni: 1.5\nj: .inf\nk: yes\nl: ~\nm: '12'\n",
    "base: &b {x: 1, y: [1, 2]}\nderived:\n  <<: *b\n  z: 3\nsame: *b\n",
    "- [1, [2, [3, [4]]]]\n- {a: {b: {c: {d: 5}}}}\n- !!set {a, b}\n- !!omap [{x: 1}, {y: 2}]\n",
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


def test_deep_nesting_does_not_overflow():
    depth = 5000
    assert load_yaml("[" * depth + "]" * depth, "t.yaml") is not None


@pytest.mark.parametrize("text, fragment", [
    ("a: 1\na: 2\n", "duplicate key 'a'"),
    ("? [1, 2]\n: x\n", "a mapping key must be a plain value"),
    ("&a [*a]\n", "recursive"),
    ("!!python/object:os.system {}\n", "not allowed"),
])
def test_errors(text, fragment):
    with pytest.raises(SpecError) as e:
        load_yaml(text, "t.yaml")
    assert fragment in e.value.format()
