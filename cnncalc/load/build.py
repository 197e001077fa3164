"""Parsed spec → validated, named, topologically ordered ``Graph``."""

from __future__ import annotations

import heapq
from typing import Any, Optional

from .. import layers as registry
from ..core.errors import CnnCalcError, GraphError, SpecError, control_char, did_you_mean, one_line
from ..layers.base import ParamError, show
from ..core.model import Graph, LayerSpec, SourceLoc, split_part
from ..core.sizes import parse_size
from .entries import RawEntry
from .yamlio import LocDict

# Top-level keys of a spec. Keys other features read are passed through in Graph.meta.
TOP_LEVEL_KEYS = ("name", "description", "source", "input", "layers")
META_TOP_LEVEL_KEYS: list = ["expect", "budget", "blocks", "values"]  # read by check, spec/expand.py, values

# Expansion of the layer list into flat entries (blocks / repeat hook in here):
# fn(doc, layers_value, layers_loc) -> list[RawEntry]
EXPANDER = None


def _loc(d, key, default: Optional[SourceLoc]) -> Optional[SourceLoc]:
    return d.val_loc(key) if isinstance(d, LocDict) else default


def default_expand(doc, layers_value, layers_loc) -> list:
    """Blocks and repeat (spec/expand.py) → flat entries."""
    from .expand import expand

    return expand(doc, layers_value, layers_loc)


def build_graph(doc: Any, filename: str, default_name: str = "network") -> Graph:
    top = SourceLoc(filename, 1, 1)
    if not isinstance(doc, dict):
        raise SpecError("a spec is a YAML mapping with 'input:' and 'layers:'", loc=top,
                        received="an empty file" if doc is None else "a list" if isinstance(doc, list)
                        else show(doc))
    doc_loc = getattr(doc, "loc", None) or top
    allowed = TOP_LEVEL_KEYS + tuple(META_TOP_LEVEL_KEYS)
    for key in doc:
        if key not in allowed:
            where = doc.key_loc(key) if isinstance(doc, LocDict) else doc_loc
            raise SpecError(f"unknown top-level key '{key}'" + did_you_mean(str(key), allowed)
                            + f" (known: {', '.join(allowed)})", loc=where)
    name = doc.get("name", default_name)
    if not isinstance(name, (str, int)) or isinstance(name, bool):
        raise SpecError("'name' must be a string", loc=_loc(doc, "name", doc_loc), received=show(name))
    if control_char(str(name)) is not None:  # a title in every output; a file's stem is escaped, not refused
        if "name" not in doc:
            name = one_line(name)
        else:
            raise SpecError("the spec's 'name' cannot hold a control character", loc=_loc(doc, "name", doc_loc),
                            received=control_char(name))
    if "layers" not in doc:
        raise SpecError("a spec needs a 'layers:' list", loc=doc_loc)
    expand = EXPANDER or default_expand
    entries = expand(doc, doc["layers"], _loc(doc, "layers", doc_loc))

    input_shape = None
    input_loc = _loc(doc, "input", doc_loc)
    if entries and entries[0].type == "input":
        first = entries.pop(0)
        if "input" in doc:
            raise SpecError("the input is declared twice (top-level 'input:' and an input layer)", loc=first.loc)
        value = first.params.get(None, first.params.get("shape"))
        input_loc = first.param_locs.get(None, first.param_locs.get("shape", first.loc))
        if value is None or set(first.params) - {None, "shape"}:
            raise SpecError("an input layer takes its size, like input: [224, 224, 3]", loc=first.loc)
        input_shape = _input_shape(value, input_loc)
    elif "input" in doc:
        input_shape = _input_shape(doc["input"], input_loc)
    else:
        raise SpecError("a spec needs 'input:', the input size as [H, W, C] or N", loc=doc_loc)
    for e in entries:
        if e.type == "input":
            raise SpecError("only the first layer can be an input layer", loc=e.loc)
    if not entries:
        raise SpecError("'layers' is empty: a network needs at least one layer", loc=_loc(doc, "layers", doc_loc))

    specs = _layer_specs(entries, input_loc)
    ordered = _toposort(specs)
    meta = {k: doc[k] for k in doc if k in META_TOP_LEVEL_KEYS}
    if "values" in doc:  # numbers for `cnncalc values`, checked against the input here
        from ..values.tensor import parse_values

        meta["values"] = parse_values(doc["values"], input_shape, _loc(doc, "values", doc_loc))
    if isinstance(doc, LocDict):
        meta["_locs"] = {k: doc.val_loc(k) for k in doc}
    input_spec = LayerSpec(name="input", type="input", params={"shape": input_shape}, inputs=(), loc=input_loc)
    return Graph(name=str(name), input_shape=input_shape, layers=(input_spec,) + tuple(ordered),
                 source=filename, meta=meta)


def _input_shape(value, loc):
    try:
        return parse_size(value)
    except ParamError as e:
        raise SpecError(f"'input' {e.message}", loc=loc, received=show(e.received)) from None


def validate_params(layer, entry: RawEntry, lname: Optional[str]) -> dict:
    """Check each written parameter against the layer type's table; fill defaults."""
    raw = dict(entry.params)
    locs = entry.param_locs
    if None in raw:
        value = raw.pop(None)
        if layer.primary is None:
            raise SpecError(f"{layer.type} takes no value; write it as '- {layer.type}'" if not layer.params
                            else f"{layer.type} takes a mapping of parameters ({', '.join(layer.params)})",
                            loc=locs.get(None, entry.loc), layer=lname, received=show(value), chain=entry.chain)
        raw[layer.primary] = value
        locs = {**locs, layer.primary: locs.get(None, entry.loc)}
    p: dict = {}
    for key, value in raw.items():
        if key not in layer.params:
            hint = did_you_mean(str(key), layer.params)
            known = (f" ({layer.type} takes: {', '.join(layer.params)})" if layer.params
                     else f" ({layer.type} takes none)")
            raise SpecError(f"unknown parameter '{key}' for {layer.type}{hint}{known if not hint else ''}",
                            loc=entry.key_locs.get(key) or locs.get(key, entry.loc), layer=lname, chain=entry.chain)
        spec = layer.params[key]
        if value is None and not spec.required and spec.default is None:
            p[key] = None
            continue
        try:
            p[key] = spec.kind.check(value)
        except ParamError as e:
            raise SpecError(f"{key} {e.message}", loc=locs.get(key, entry.loc), layer=lname,
                            received=show(e.received), chain=entry.chain) from None
    for key, spec in layer.params.items():
        if key not in p:
            if spec.required:
                raise SpecError(f"{layer.type} needs '{key}' ({spec.doc})", loc=entry.loc, layer=lname,
                                chain=entry.chain)
            p[key] = None if spec.default is None else spec.kind.check(spec.default)
    try:
        return layer.configure(p)
    except ParamError as e:
        raise SpecError(e.message, loc=entry.loc, layer=lname, received=show(e.received), chain=entry.chain) from None


def _layer_specs(entries: list, input_loc) -> list:
    # explicit names first, so that generated names never collide with them
    taken: dict = {"input": input_loc}
    for e in entries:
        if e.name is not None:
            if e.name in taken:
                first = taken[e.name]
                where = f" (first at {first})" if first else ""
                what = ("'input' is the name of the input layer" if e.name == "input"
                        else f"duplicate layer name '{e.name}'{where}")
                raise GraphError(what, loc=e.name_loc or e.loc, layer=e.name, chain=e.chain)
            taken[e.name] = e.name_loc or e.loc
    counters: dict = {}
    checked: dict = {}
    specs = []
    prev = "input"
    for e in entries:
        try:
            layer = registry.get(e.type, e.loc)
        except CnnCalcError as err:
            err.chain = e.chain
            raise err.located(layer=e.name) from None
        name = e.name
        if name is None:
            name = registry.next_free_name(layer.type, counters, taken)
            taken[name] = e.loc
        try:  # validation depends only on the type and the values written: checked once per distinct layer
            key = (layer.type, *[(k, v.__class__, v) for k, v in e.params.items()])  # 1, 1.0, True differ
            params = checked.get(key)
        except TypeError:  # a list or mapping among the values
            key, params = None, None
        if params is None:
            params = validate_params(layer, e, name)
            if key is not None:
                checked[key] = params
        params = dict(params)
        inputs = e.inputs if e.inputs is not None else (prev,)
        n_in = len(inputs)
        if n_in < layer.min_inputs or (layer.max_inputs is not None and n_in > layer.max_inputs):
            want = (f"at least {layer.min_inputs} inputs" if layer.max_inputs is None
                    else f"{layer.max_inputs} input" + ("s" if layer.max_inputs != 1 else ""))
            hint = " (from: [a, b])" if layer.min_inputs > 1 else ""
            raise GraphError(f"{layer.type} takes {want}{hint}", loc=e.inputs_loc or e.loc, layer=name,
                             received=", ".join(inputs), chain=e.chain)
        specs.append(LayerSpec(name=name, type=layer.type, params=params, inputs=tuple(inputs), loc=e.loc,
                               param_locs=e.param_locs, inputs_loc=e.inputs_loc, block=e.block,
                               chain=e.chain))
        prev = name
    return specs


def _source(index: dict, src: str):
    """The position of the layer ``src`` names: a layer, or a named output ``split1.0`` of one."""
    j = index.get(src)
    if j is None:
        base, _ = split_part(src)
        if base is not None:
            j = index.get(base)
    return j


def _toposort(specs: list) -> list:
    index = {s.name: i for i, s in enumerate(specs)}
    index["input"] = -1
    in_order = True
    for i, s in enumerate(specs):
        for src in s.inputs:
            j = _source(index, src)
            if j is None:
                raise GraphError(f"'from' names no layer called '{src}'" + did_you_mean(src, index),
                                 loc=s.inputs_loc or s.loc, layer=s.name, chain=s.chain)
            if j == i:
                raise GraphError("a layer cannot read its own output", loc=s.inputs_loc or s.loc,
                                 layer=s.name, received=f"from: {src}", chain=s.chain)
            if j > i:
                in_order = False
    if in_order:
        return specs
    # Kahn's algorithm, iterative, keeping list order among ready layers
    indeg = [0] * len(specs)
    users: list = [[] for _ in specs]
    for i, s in enumerate(specs):
        for src in s.inputs:
            j = _source(index, src)
            if j >= 0:
                indeg[i] += 1
                users[j].append(i)
    ready = [i for i in range(len(specs)) if indeg[i] == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        i = heapq.heappop(ready)
        out.append(specs[i])
        for u in users[i]:
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(ready, u)
    if len(out) != len(specs):
        stuck = {i for i in range(len(specs)) if indeg[i] > 0}
        cycle = _find_cycle(specs, index, stuck)
        first = specs[cycle[0]]
        path = " → ".join(specs[i].name for i in cycle + [cycle[0]])
        raise GraphError(f"the layers form a cycle: {path}", loc=first.inputs_loc or first.loc,
                         layer=first.name, chain=first.chain)
    return out


def _find_cycle(specs, index, stuck) -> list:
    """One cycle among the layers Kahn's algorithm could not order (iteratively)."""
    start = min(stuck)
    seen_at: dict = {}
    path = []
    node = start
    while node not in seen_at:
        seen_at[node] = len(path)
        path.append(node)
        node = next(_source(index, src) for src in specs[node].inputs if _source(index, src) in stuck)
    cyc = path[seen_at[node]:]
    cyc.reverse()  # follow data flow: producer → consumer
    k = cyc.index(min(cyc))
    return cyc[k:] + cyc[:k]
