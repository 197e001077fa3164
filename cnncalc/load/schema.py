"""A JSON Schema of the spec format, generated from the layer registry.

Nothing here lists layer types or parameters by hand: each registered type contributes its
parameters (each kind carries its JSON Schema fragment, cnncalc.layers.base), its scalar
shorthand and its aliases. Top-level keys come from ``TOP_LEVEL`` below; a feature that adds
a top-level key (``blocks:``) adds one entry there — a function returning its schema.
"""

from __future__ import annotations

from typing import Callable

NAME = {"type": ["string", "integer"]}
FROM = {"oneOf": [NAME, {"type": "array", "items": NAME, "minItems": 1}]}
SIZE = {"oneOf": [{"type": "integer", "minimum": 1},
                  {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 3, "maxItems": 3},
                  {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "maxItems": 1},
                  {"type": "string", "pattern": r"^\s*\(?\s*[0-9]+(\s*[x×X*,]\s*[0-9]+){2}\s*\)?\s*$"}]}
# a figure written as people write it (cnncalc.verify.answers): 138357544, "138M", "15.47G", "100MB"
NUMBER_TEXT = r"^\s*([0-9][0-9,_ ]*(\.[0-9]+)?|\.[0-9]+)\s*([eE][+-]?[0-9]+)?\s*[A-Za-z萬万億亿]*\s*$"
FIGURE_NUMBER = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "number", "minimum": 0},
                           {"type": "string", "pattern": NUMBER_TEXT}]}
# a shape has 1 to 3 sizes (H×W×C or a vector), a receptive field 1 or 2 (7×7 or 7): 55x55x96,
# "(55, 55, 96)", [55, 55, 96]
_SIZES = r"^\s*\(?\s*[0-9]+(\s*[x×X*,]\s*[0-9]+){0,%d}\s*\)?\s*$"


def _sizes_figure(most: int) -> dict:
    return {"anyOf": [{"type": "integer", "minimum": 1},
                      {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "maxItems": most},
                      {"type": "string", "pattern": _SIZES % (most - 1)}]}


SHAPE_FIGURE = _sizes_figure(3)
FIELD_FIGURE = _sizes_figure(2)
BOOL_FIGURE = {"oneOf": [{"type": "boolean"}, {"type": "string"}]}


def _param_schema(param) -> dict:
    s = dict(param.kind.schema)
    if not param.required and param.default is None:  # "activation: null" means none
        s = {"anyOf": [s, {"type": "null"}]}
    if param.doc:
        s["description"] = param.doc
    if not param.required and param.default is not None:
        s["default"] = list(param.default) if isinstance(param.default, tuple) else param.default
    return s


def layer_type_schema(layer) -> dict:
    """The value under a layer's type key: a mapping of its parameters, its scalar shorthand,
    or nothing (when no parameter is required)."""
    props = {k: _param_schema(p) for k, p in layer.params.items()}
    props["name"] = NAME
    props["from"] = FROM
    props.update(REPEAT_PROPS)
    required = [k for k, p in layer.params.items() if p.required]
    mapping = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        mapping["required"] = required
    forms = [mapping]
    if layer.primary is not None and set(required) <= {layer.primary}:
        forms.append(dict(layer.params[layer.primary].kind.schema))
    if not required:
        forms.append({"type": "null"})
    return {"description": layer.doc, "anyOf": forms} if len(forms) > 1 else {"description": layer.doc, **mapping}


def layer_entry_schemas() -> tuple:
    """(definitions, entry schema): one definition per layer type, every alias pointing at it.

    An entry written as a mapping is discriminated by its key, not tried against every type
    (an ``anyOf`` of them gave a misspelt type one error per type): ``propertyNames`` lists the
    keys an entry may have, so a typo is one error naming them all, and an ``if``/``then`` per
    type name checks the value under it and that no second type key stands beside it."""
    from ..layers import ALIASES, REGISTRY

    defs = {f"layer.{t}": layer_type_schema(layer) for t, layer in REGISTRY.items()}
    names_by_type = {t: [t] for t in REGISTRY}
    for alias, t in ALIASES.items():
        names_by_type[t].append(alias)
    keyed = [(n, {"$ref": f"#/definitions/layer.{t}"}, ["name", "from"])
             for t, names in names_by_type.items() for n in names]
    keyed.append(("input", SIZE, []))
    mapping = {
        "type": "object",
        "propertyNames": {"enum": sorted(n for n, _, _ in keyed) + ["name", "from"]},
        # name: / from: alone, with no type key
        "if": {"propertyNames": {"enum": ["name", "from"]}}, "then": False,
        "allOf": [{"if": {"required": [n]},
                   "then": {"properties": {n: value}, "propertyNames": {"enum": [n] + meta}}}
                  for n, value, meta in keyed],
    }
    # a bare type name: the types that need no parameter
    bare = sorted(n for t, names in names_by_type.items() for n in names
                  if not any(p.required for p in REGISTRY[t].params.values()))
    strings = {"enum": bare}
    if _dsl_strings():  # one-line DSL stages have a space or a dash (`conv 64 k3`, `conv3-64`)
        strings = {"anyOf": [strings, {"type": "string", "pattern": "[\\s\\-|]"}]}
    return defs, {"if": {"type": "object"}, "then": mapping, "else": strings}


# repeat / first / if, on any layer entry (spec/expand.py)
REPEAT_PROPS = {
    "repeat": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"}],
               "description": "stack this layer or block N times"},
    "first": {"type": "object", "description": "arguments for the first repetition only"},
    "if": {"anyOf": [{"type": "boolean"}, {"type": "string"}], "description": "leave the layer out when false"},
}


def block_schemas() -> dict:
    """``blocks:`` definitions, and the entry form that instantiates one (any name that is
    not a layer type, with its arguments). Inside a definition values may be ``$p`` /
    ``${expr}``, so its layers are checked when the spec is expanded, not here."""
    from ..layers import ALIASES, REGISTRY

    blocks = {
        "type": "object",
        "description": "parameterised sub-graphs, used like layer types",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "params": {"anyOf": [{"type": ["object", "null"]}, {"type": "array", "items": {"type": "string"}}],
                           "description": "parameter names and defaults (null: required), or a list of names"},
                "layers": {"type": "array", "minItems": 1, "items": {"type": ["object", "string"]}},
                "description": {"type": "string"},
                "source": {"type": "string"},
            },
            "required": ["layers"],
            "additionalProperties": False,
        },
    }
    instance = {
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"not": {"enum": sorted(list(REGISTRY) + list(ALIASES))}},
        "additionalProperties": {"type": ["object", "null", "string", "array"]},
    }
    return {"blocks": blocks, "block_instance": instance}


def _dsl_strings() -> bool:
    from . import dsl  # noqa: F401  (registers the DSL's string-entry hook)
    from .entries import STRING_ENTRY_HOOKS

    return bool(STRING_ENTRY_HOOKS)


def _figures_schema(figures: dict, with_layers: bool, extra: dict = None) -> dict:
    props = dict(figures)
    if extra:
        props.update(extra)
    if with_layers:
        props["layers"] = {"type": "object", "description": "figures of named layers",
                           "additionalProperties": _figures_schema(figures, False)}
    return {"type": "object", "properties": props, "additionalProperties": False}


def expect_schema() -> dict:
    from ..verify.answers import FIGURES

    kinds = {"shape": SHAPE_FIGURE, "number": FIGURE_NUMBER, "bytes": FIGURE_NUMBER, "field": FIELD_FIGURE,
             "bool": BOOL_FIGURE}
    s = _figures_schema({f: kinds[k] for f, k in FIGURES.items()}, True)
    s["description"] = "exact figures the network must have (rounded forms: the true value rounds to them)"
    return s


def budget_schema() -> dict:
    from ..verify.check import BUDGET_FIGURES
    from ..core.training import OPTIMIZERS

    s = _figures_schema({f: FIGURE_NUMBER for f in BUDGET_FIGURES}, True,
                        {"train": {"enum": list(OPTIMIZERS), "description": "optimizer for training_bytes"}})
    s["description"] = "upper limits: the true value must be at most the one written"
    return s


# top-level key → a function returning its schema. Features that add a key add it here.
TOP_LEVEL: dict = {
    "name": lambda: {"type": ["string", "integer"], "description": "the network's name"},
    "description": lambda: {"type": "string"},
    "source": lambda: {"type": "string", "description": "where the network comes from"},
    "input": lambda: {**SIZE, "description": "input size: [H, W, C] or N"},
    "layers": lambda: {"type": "array", "minItems": 1,
                       "description": "the layers in order (entries are checked by the if/then/else below)"},
    "expect": expect_schema,
    "budget": budget_schema,
    "blocks": lambda: block_schemas()["blocks"],
    "values": lambda: {"type": "object", "description": "numbers for `cnncalc values`: the input tensor",
                       "properties": {"input": {"type": "array", "minItems": 1,
                                                "description": "nested lists in H, W, C order (H×W when C = 1; "
                                                               "a flat list for a vector)"}},
                       "required": ["input"], "additionalProperties": False},
}


def build_schema() -> dict:
    """The JSON Schema (draft-07, as yaml-language-server reads it) of a spec file."""
    from .build import META_TOP_LEVEL_KEYS, TOP_LEVEL_KEYS

    defs, entry = layer_entry_schemas()
    defs["entry"] = entry
    extra = block_schemas()
    defs["entry_or_block"] = {"anyOf": [{"$ref": "#/definitions/entry"}, {"$ref": "#/definitions/block_instance"}]}
    defs["block_instance"] = extra["block_instance"]
    keys = list(TOP_LEVEL_KEYS) + [k for k in META_TOP_LEVEL_KEYS if k not in TOP_LEVEL_KEYS]
    props = {}
    for k in keys:
        make: Callable = TOP_LEVEL.get(k, lambda: {})  # a key with no schema yet: anything
        props[k] = make()
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "cnncalc network spec",
        "type": "object",
        "properties": props,
        "required": ["layers"],
        "additionalProperties": False,
        # with blocks: defined, a layer entry may also instantiate one
        "if": {"required": ["blocks"]},
        "then": {"properties": {"layers": {"items": {"$ref": "#/definitions/entry_or_block"}}}},
        "else": {"properties": {"layers": {"items": {"$ref": "#/definitions/entry"}}}},
        "definitions": defs,
    }


def render_schema() -> str:
    import json

    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"
