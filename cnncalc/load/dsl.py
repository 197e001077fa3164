"""The one-line DSL: ``input 32x32x3 | conv 10 k5 s1 p2 | relu | maxpool 2 | flatten | dense 10``.

Grammar (documented in README, "The one-line DSL")::

    network := stage ("|" stage)*
    stage   := head arg*
    head    := TYPE | BLOCK | "input"            a layer type, alias or block name
             | TYPE F "-" N                      VGG notation: conv3-64 = conv, kernel 3, 64 filters;
                                                 conv1x7-64 for a rectangular kernel
             | TYPE "-" N                        fc-4096, dense-10: the primary parameter
    arg     := VALUE                             the type's primary parameter (conv 64, maxpool 2,
                                                 dense 10, dropout 0.5, input 224x224x3)
             | ("k"|"s"|"p"|"d"|"g") VALUE       kernel, stride, padding, dilation, groups:
                                                 k3, k1x7, s2, p1, p1x2, p0,1,0,1, psame, pvalid
             | KEY "=" VALUE                     any parameter: bias=false, activation=relu,
                                                 padding=same, ceil_mode=true, rate=0.2
             | "@" NAME                          the layer's name
             | "<" NAME ("," NAME)*              its inputs (from:)
             | "*" N                             repeat N times
             | "nobias" | "ceil"                 bias=false, ceil_mode=true
             | WORD                              a boolean parameter set true (ceil_mode), or, for a
                                                 layer that fuses one, an activation (conv 64 k3 relu)
    VALUE   := INT | NUMBER | true | false | WORD | INT ("x" INT)+ | VALUE ("," VALUE)+

Each stage becomes one ``RawEntry`` with the same parameters a YAML entry would have, so a
DSL network and its YAML spelling build the same graph. Errors carry the column of the token.
"""

from __future__ import annotations

import re
from typing import Optional

from .. import layers as registry
from ..core.errors import SpecError
from ..core.model import SourceLoc
from .entries import STRING_ENTRY_HOOKS, RawEntry, check_name_text

MAX_DSL_CHARS = 100_000
LETTERS = {"k": "kernel", "s": "stride", "p": "padding", "d": "dilation", "g": "groups"}
_INT = re.compile(r"^[0-9]+$")
_NUM = re.compile(r"^-?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][-+]?[0-9]+)?$")
_SIZE = re.compile(r"^[0-9]+(?:[x×][0-9]+)+$")
_VGG = re.compile(r"^([a-z_][a-z_0-9]*?)([0-9]+(?:x[0-9]+)?)-([0-9]+)$")
_DASH = re.compile(r"^([a-z_][a-z_0-9]*)-([0-9]+(?:\.[0-9]+)?)$")
_NAME = re.compile(r"^[^\s|<@*=,]+$")
_LONG_NUMBER = re.compile(r"[0-9]{4001}")  # Python reads at most 4,300 digits into an int


def _value(tok: str):
    """A DSL value → the value YAML would have given."""
    low = tok.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("null", "none"):
        return None
    if _INT.match(tok) or (tok.startswith("-") and _INT.match(tok[1:])):
        return int(tok)
    if _NUM.match(tok):
        return float(tok)
    if _SIZE.match(low):
        return [int(x) for x in re.split("[x×]", low)]
    if "," in tok:
        return [_value(x) for x in tok.split(",")]
    if tok.startswith("[") and tok.endswith("]"):
        return [_value(x) for x in tok[1:-1].split(",") if x]
    return tok


def _tokens(text: str, start: int):
    """(token, 0-based offset) pairs of one stage, split on whitespace."""
    for m in re.finditer(r"\S+", text):
        yield m.group(0), start + m.start()


def parse_stages(text: str, loc: Optional[SourceLoc]) -> list:
    """A DSL string → RawEntries; ``loc`` is where the string starts (column of its first char)."""
    base = loc or SourceLoc("<expr>", 1, 1)

    def at(offset: int) -> SourceLoc:
        return SourceLoc(base.file, base.line, base.col + offset)

    if len(text) > MAX_DSL_CHARS:
        raise SpecError(f"a DSL string is limited to {MAX_DSL_CHARS:,} characters", loc=base)
    entries = []
    pos = 0
    for piece in text.split("|"):
        stage_start = pos
        pos += len(piece) + 1
        toks = list(_tokens(piece, stage_start))
        if not toks:
            raise SpecError("an empty stage: write a layer between the '|' separators", loc=at(stage_start))
        entries.append(_stage(toks, at))
    return entries


def _stage(toks, at) -> RawEntry:
    for tok, col in toks:
        if _LONG_NUMBER.search(tok):
            raise SpecError("a number has more than 4,000 digits", loc=at(col), received=tok[:20] + "…")
    head, hcol = toks[0]
    params: dict = {}
    plocs: dict = {}
    low = head.lower()
    m = _VGG.match(low)
    d = _DASH.match(low)
    if m and registry.canonical(m.group(1)) is not None and not registry.canonical(low):
        type_name = m.group(1)
        params["kernel"] = _value(m.group(2))
        params["filters"] = int(m.group(3))
        plocs["kernel"] = plocs["filters"] = at(hcol)
    elif d and (registry.canonical(d.group(1)) is not None) and not registry.canonical(low):
        type_name = d.group(1)
        params[None] = _value(d.group(2))
        plocs[None] = at(hcol)
    else:
        type_name = head
    entry = RawEntry(type=type_name, params=params, loc=at(hcol), param_locs=plocs)
    layer = registry.REGISTRY.get(registry.canonical(type_name) or "", None)
    layer_params = layer.params if layer is not None else {}

    def put(key, value, col):
        if key in params:
            what = "its main value" if key is None else f"'{key}'"
            raise SpecError(f"{type_name}: {what} is given twice", loc=at(col), received=tok)
        params[key] = value
        plocs[key] = at(col)

    for tok, col in toks[1:]:
        tl = tok.lower()
        if tok.startswith("@"):
            if entry.name is not None or not _NAME.match(tok[1:]):
                raise SpecError("a name is written once, like @conv1", loc=at(col), received=tok)
            entry.name, entry.name_loc = check_name_text(tok[1:], at(col)), at(col)
        elif tok.startswith("<"):
            names = tok[1:].split(",")
            if entry.inputs is not None or not all(names) or not all(_NAME.match(n) for n in names):
                raise SpecError("inputs are written once, like <a or <a,b", loc=at(col), received=tok)
            entry.inputs, entry.inputs_loc = tuple(check_name_text(n, at(col)) for n in names), at(col)
        elif tok.startswith("*"):
            if not _INT.match(tok[1:]):
                raise SpecError("a repeat is written *N with a positive integer N", loc=at(col), received=tok)
            put("repeat", int(tok[1:]), col)
        elif "=" in tok:
            key, _, value = tok.partition("=")
            if not key or not value:
                raise SpecError("a parameter is written key=value", loc=at(col), received=tok)
            if key == "name":
                entry.name, entry.name_loc = check_name_text(value, at(col)), at(col)
            elif key == "from":
                entry.inputs, entry.inputs_loc = tuple(value.split(",")), at(col)
            else:
                put(key, _value(value), col)
        elif tl == "nobias":
            put("bias", False, col)
        elif tl == "ceil" and "ceil_mode" in layer_params:
            put("ceil_mode", True, col)
        elif tl[0] in LETTERS and len(tl) > 1 and (tl[1].isdigit() or (tl[0] == "p" and tl[1:] in ("same", "valid"))):
            key = LETTERS[tl[0]]
            value = _value(tl[1:])
            if isinstance(value, float) or value is None or isinstance(value, bool):
                raise SpecError(f"{key} must be an integer or a size like {tl[0]}3x3", loc=at(col), received=tok)
            put(key, value, col)
        elif _INT.match(tok) or _NUM.match(tok) or _SIZE.match(tl) or (tl[0].isdigit() and "," in tl):
            put(None, _value(tok), col)
        elif tl in layer_params and layer_params[tl].kind.name == "bool":
            put(tl, True, col)
        elif "activation" in layer_params and registry.canonical(tl) is not None and \
                tl in _fusable():
            put("activation", tl, col)
        else:
            raise SpecError(f"{type_name}: cannot read '{tok}' (write a parameter as key=value, "
                            "or k3 s2 p1 d2 g4, @name, <from, *repeat)", loc=at(col), received=tok)
    if entry.type == "input":
        if None not in params:
            raise SpecError("input needs a size, like input 224x224x3", loc=entry.loc)
    return entry


def _fusable():
    from ..layers.activations import FUSABLE

    return FUSABLE


def string_entry(text: str, loc: Optional[SourceLoc]) -> list:
    """The hook for DSL strings used as YAML layer-list entries."""
    return parse_stages(text, loc)


def expr_doc(text: str, filename: str = "<expr>"):
    """A ``-e`` expression → a spec document for ``build_graph``."""
    from .yamlio import LocDict, LocList

    stripped = text.lstrip()
    offset = len(text) - len(stripped)
    stripped = stripped.rstrip()
    if not stripped:
        raise SpecError("the expression is empty (example: \"input 32x32x3 | conv 10 k5 p2 | relu\")",
                        loc=SourceLoc(filename, 1, 1))
    layers = LocList([stripped])
    layers.loc = SourceLoc(filename, 1, 1 + offset)
    layers.item_locs = [layers.loc]
    doc = LocDict({"name": "expr", "layers": layers})
    doc.loc = SourceLoc(filename, 1, 1)
    doc.val_locs = {"name": doc.loc, "layers": layers.loc}
    return doc


def parse_expr(text: str, filename: str = "<expr>", name: str = "expr"):
    """A one-line DSL network → Graph."""
    from .build import build_graph

    doc = expr_doc(text, filename)
    doc["name"] = name
    if "\n" in text.strip():
        raise SpecError("a DSL expression is one line; write a YAML spec for more",
                        loc=SourceLoc(filename, 1, text.index("\n") + 1))
    return build_graph(doc, filename, name)


def parse_dsl(text: str, name: str = "expr"):
    """The one-line DSL → Graph (the library's door to ``cnncalc -e``); errors are CnnCalcErrors.

    >>> parse_dsl("input 32x32x3 | conv 10 k5 p2 | relu").layers[1].params["filters"]
    10
    """
    if not isinstance(text, str):
        from ..core.errors import InputError

        raise InputError("parse_dsl takes a string: \"input 32x32x3 | conv 10 k5 p2 | relu\"",
                         received=type(text).__name__)
    return parse_expr(text, "<expr>", name)


def load_spec_or_expr(spec: Optional[str], expr: Optional[str]):
    """What ``cnncalc show`` reads: SPEC, or ``-e EXPR`` (exactly one of them)."""
    from ..core.errors import InputError
    from . import load_spec

    if expr is not None:
        if spec is not None:
            raise InputError("give either a SPEC or -e EXPR, not both")
        return parse_expr(expr)
    if spec is None:
        raise InputError("give a SPEC (a YAML file or built-in name) or -e EXPR (see 'cnncalc --help')")
    return load_spec(spec)


if string_entry not in STRING_ENTRY_HOOKS:
    STRING_ENTRY_HOOKS.append(string_entry)

__all__ = ["parse_dsl", "parse_expr", "parse_stages", "string_entry"]
