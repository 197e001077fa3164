"""The JSON Schema: valid, generated from the registry, accepts every shipped spec, and agrees
with the loader on what is valid. jsonschema is a test-only dependency."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import ROOT, SPECS, run_cli

jsonschema = pytest.importorskip("jsonschema")


@pytest.fixture(scope="module")
def schema():
    from cnncalc.load.schema import build_schema

    s = build_schema()
    jsonschema.Draft7Validator.check_schema(s)
    return s


@pytest.fixture(scope="module")
def validator(schema):
    return jsonschema.Draft7Validator(schema)


def test_cli_prints_the_same_schema(schema, tmp_path):
    r = run_cli("schema")
    assert r.code == 0 and json.loads(r.out) == schema
    out = tmp_path / "s.json"
    assert run_cli("schema", "-o", str(out)).code == 0
    assert json.loads(out.read_text()) == schema


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_spec_validates(validator, path):
    errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))]
    assert errors == []


def test_schema_follows_the_registry(schema):
    from cnncalc.layers import ALIASES, REGISTRY

    defs = schema["definitions"]
    assert {k for k in defs if k.startswith("layer.")} == {f"layer.{t}" for t in REGISTRY}
    for t, layer in REGISTRY.items():
        d = defs[f"layer.{t}"]
        mapping = d if "anyOf" not in d else next(f for f in d["anyOf"] if f.get("type") == "object")
        assert set(mapping["properties"]) == set(layer.params) | {"name", "from", "repeat", "first", "if"}, t
        assert set(mapping.get("required", [])) == {k for k, p in layer.params.items() if p.required}, t
    entry_keys = set(defs["entry"]["then"]["propertyNames"]["enum"]) - {"name", "from"}
    assert entry_keys == set(REGISTRY) | set(ALIASES) | {"input"}
    assert {c["if"]["required"][0] for c in defs["entry"]["then"]["allOf"]} == entry_keys


def test_a_newly_registered_layer_type_appears():
    from cnncalc import layers
    from cnncalc.layers.base import POS_INT, Layer, Out, Param
    from cnncalc.load.schema import build_schema

    class Fancy(Layer):
        type = "fancy_test_layer"
        aliases = ("fancy_alias",)
        params = {"width": Param(POS_INT, doc="w")}

        def infer(self, ins, p):  # pragma: no cover - never analysed
            return Out(ins[0])

    layers.register(Fancy)
    try:
        s = build_schema()
        v = jsonschema.Draft7Validator(s)
        assert v.is_valid({"input": 4, "layers": [{"fancy_alias": {"width": 2}}]})
        assert not v.is_valid({"input": 4, "layers": [{"fancy_test_layer": {"width": 0}}]})
    finally:
        del layers.REGISTRY["fancy_test_layer"], layers.ALIASES["fancy_alias"]


SAMPLES = [0, 1, 2, -1, 3, True, False, None, 0.5, 1.5, "same", "valid", "SAME", "relu", "tanh", "none", "x",
           [1, 2], [0, 0], [1, 2, 3, 4], [1], [1, 2, 3], [], [1.5, 2], {"a": 1}]


def _accepts(param, value) -> bool:
    """What the loader does with a written parameter value (build.validate_params' rule)."""
    from cnncalc.layers.base import ParamError

    if value is None and not param.required and param.default is None:
        return True
    try:
        param.kind.check(value)
    except ParamError:
        return False
    return True


def test_each_parameter_schema_agrees_with_its_validator():
    from cnncalc.layers import REGISTRY
    from cnncalc.load.schema import _param_schema

    disagreements = []
    for t, layer in REGISTRY.items():
        for name, param in layer.params.items():
            v = jsonschema.Draft7Validator(_param_schema(param))
            for value in SAMPLES:
                if value == "SAME":  # the loader is case-insensitive for words; the schema lists them in lower case
                    continue
                if v.is_valid(value) != _accepts(param, value):
                    disagreements.append((t, name, value))
    assert disagreements == []


@pytest.mark.parametrize("entry, valid", [
    ({"conv": {"filters": 8, "kernel": 3}}, True),
    ({"conv": {"filters": 8, "kernel": [1, 7], "padding": "same", "name": "c", "from": "input"}}, True),
    ({"conv": {"filters": 8}}, False),  # kernel missing
    ({"conv": 8}, False),  # the shorthand cannot give the kernel too
    ({"conv": {"filters": 8, "kernel": 3, "strid": 2}}, False),
    ({"conv": {"filters": 0, "kernel": 3}}, False),
    ({"conv": {"filters": 8, "kernel": 3, "activation": "relu"}}, True),
    ({"conv": {"filters": 8, "kernel": 3, "activation": "wiggle"}}, False),
    ({"maxpool": 2}, True),
    ({"dense": 10}, True),
    ({"fc": {"units": 10, "bias": False}}, True),
    ({"dropout": 0.5}, True),
    ("relu", True),
    ("flatten", True),
    ("conv", False),  # needs parameters
    ("convolution", False),
    ({"relu": None}, True),
    ({"cnov": {"filters": 8, "kernel": 3}}, False),
])
def test_schema_and_loader_agree_on_entries(validator, entry, valid):
    from cnncalc.core.errors import CnnCalcError
    from cnncalc.load import parse_spec

    doc = {"input": [8, 8, 3], "layers": [entry]}
    assert validator.is_valid(doc) is valid
    try:
        parse_spec(yaml.safe_dump(doc))
        built = True
    except CnnCalcError:
        built = False
    assert built is valid


@pytest.mark.parametrize("tail, valid", [
    ({"expect": {"params": 762, "macs": "7.55K", "output_shape": [10], "layers": {"c": {"valid": False}}}}, True),
    ({"expect": {"parms": 762}}, False),
    ({"budget": {"params": "150M", "activation_bytes": "100MB", "train": "adam", "training_bytes": "1GB"}}, True),
    ({"budget": {"output_shape": [10]}}, False),
    ({"budget": {"train": "lbfgs"}}, False),
    ({"unknown_top": 1}, False),
])
def test_expect_and_budget_in_the_schema(validator, tail, valid):
    doc = {"input": [8, 8, 3], "layers": ["relu"], **tail}
    assert validator.is_valid(doc) is valid


@pytest.mark.parametrize("doc, valid", [
    ({"input": [8, 8, 3], "blocks": {"b": {"params": {"k": 8}, "layers": [{"conv": {"filters": "$k", "kernel": 3}}]}},
      "layers": [{"b": {"k": 4, "repeat": 2}}]}, True),
    ({"input": [8, 8, 3], "blocks": {"b": {"layers": ["relu"]}}, "layers": [{"cnov": {"filters": 8}}, "relu"]},
     True),  # with blocks the schema cannot know every block name; the loader still refuses cnov
    ({"input": [8, 8, 3], "layers": [{"b": {"k": 4}}]}, False),  # no blocks: an unknown type is an error
    ({"input": [8, 8, 3], "blocks": {"b": {"params": {"k": 8}}}, "layers": ["relu"]}, False),  # no layers
    ({"input": [8, 8, 3], "layers": [{"conv": {"filters": 8, "kernel": 3, "repeat": 3}}]}, True),
    ({"input": [8, 8, 3], "layers": ["conv 8 k3 p1", "conv3-64"]}, True),  # DSL stages
])
def test_blocks_and_repeat_in_the_schema(validator, doc, valid):
    assert validator.is_valid(doc) is valid


def _errors(validator, doc) -> list:
    return [e.message for e in validator.iter_errors(doc)]


@pytest.mark.parametrize("typo", ["cnov", "convolution", "Conv", "reluu", "dens", "input_"])
def test_a_misspelt_layer_type_is_one_error_naming_the_types(validator, typo):
    from cnncalc.layers import ALIASES, REGISTRY

    errors = _errors(validator, {"input": [8, 8, 3], "layers": [{typo: {"filters": 8, "kernel": 3}}]})
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"'{typo}' is not one of [")
    assert all(repr(t) in errors[0] for t in list(REGISTRY) + list(ALIASES) + ["input"])


@pytest.mark.parametrize("entry", [
    {"conv": {"filters": 8, "kernel": 3}, "relu": None},  # two types in one entry
    {"name": "x"},  # no type at all
    {"name": "x", "from": "input"},
    {},
    5,
])
def test_an_entry_without_exactly_one_type_is_refused(validator, entry):
    from cnncalc.core.errors import CnnCalcError
    from cnncalc.load import parse_spec

    doc = {"input": [8, 8, 3], "layers": [entry]}
    assert not validator.is_valid(doc)
    with pytest.raises(CnnCalcError):
        parse_spec(yaml.safe_dump(doc))


@pytest.mark.parametrize("rate, valid", [(0, True), (0.5, True), (0.999, True), (1, False), (1.0, False),
                                         (1.5, False), (-0.1, False), (-1, False), ("0.5", False)])
def test_dropout_rate_is_a_range_the_loader_and_the_schema_share(validator, rate, valid):
    from cnncalc.core.errors import CnnCalcError
    from cnncalc.load import parse_spec

    for entry in ({"dropout": rate}, {"dropout": {"rate": rate}}):
        doc = {"input": [8, 8, 3], "layers": [entry]}
        assert validator.is_valid(doc) is valid, entry
        try:
            parse_spec(yaml.safe_dump(doc))
            built = True
        except CnnCalcError:
            built = False
        assert built is valid, entry


@pytest.mark.parametrize("figure, value, valid", [
    ("output_shape", [55, 55, 96], True),
    ("output_shape", [10], True),
    ("output_shape", "55x55x96", True),
    ("output_shape", "(55, 55, 96)", True),
    ("output_shape", 10, True),
    ("output_shape", [1, 2, 3, 4], False),  # no shape has four sizes
    ("output_shape", "1x2x3x4", False),
    ("output_shape", [], False),
    ("output_shape", [8, 0, 3], False),
    ("output_shape", "abc", False),
    ("receptive_field", [7, 7], True),
    ("receptive_field", "7x7", True),
    ("receptive_field", 7, True),
    ("receptive_field", [7, 7, 7], False),  # the loader refuses these: "a receptive field is 7x7 or 7"
    ("receptive_field", "7x7x7", False),
])
def test_shape_figures_have_their_lengths(validator, figure, value, valid):
    doc = {"input": [8, 8, 3], "layers": ["relu"], "expect": {figure: value, "layers": {"relu1": {figure: value}}}}
    errors = _errors(validator, doc)
    assert (errors == []) is valid
    if not valid:
        assert len(errors) == 2  # one for the network's figure, one for the layer's


VALID_CORPORA = sorted(SPECS.glob("*.yaml")) + [ROOT / "tests" / "extra_layers.yaml"] + sorted(
    (ROOT / "tests" / "odd").glob("*.yaml"))


@pytest.mark.parametrize("path", VALID_CORPORA, ids=lambda p: p.parent.name + "/" + p.stem)
def test_every_valid_corpus_validates_and_loads(validator, path):
    from cnncalc.load import load_spec
    from cnncalc.load.yamlio import load_yaml

    load_spec(str(path))  # the loader accepts it …
    doc = load_yaml(path.read_text(encoding="utf-8-sig"), path.name)  # PyYAML refuses odd/tabs_in_values
    assert _errors(validator, doc) == []  # … and so does the schema
