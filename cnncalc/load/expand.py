"""Blocks and repeat: the layer list with its sub-graphs written once → flat ``RawEntry`` list.

A spec may define parameterised sub-graphs at the top level::

    blocks:
      basic:                                   # a block name (must not be a layer type)
        params: {filters: 64, stride: 1, project: false}   # parameters and defaults (null: required)
        layers:
          - conv: {name: conv1, filters: $filters, kernel: 3, stride: $stride, padding: 1, bias: false}
          - bn: {name: bn1}
          - relu: {name: relu1}
          - conv: {name: conv2, filters: $filters, kernel: 3, padding: 1, bias: false}
          - bn: {name: bn2}
          - conv: {name: downsample.0, filters: $filters, kernel: 1, stride: $stride, bias: false,
                   from: in, if: $project}
          - bn: {name: downsample.1, if: $project}
          - add: {name: add, from: [bn2, downsample.1]}
          - relu: {name: relu2}

and instantiate them like a layer type, with ``repeat`` and ``first`` (arguments that apply
to the first repetition only)::

    - basic: {name: layer2, filters: 128, repeat: 2, first: {stride: 2, project: true}}

Rules, all enforced here:

- ``$p`` is replaced by the value of parameter ``p`` (any YAML value); ``${expr}`` evaluates a
  small integer expression over the parameters (``+ - * // %``, comparisons, ``and or not``,
  ``x if c else y``). Nothing else is evaluated.
- Inside a block, ``from:`` names the block's own layers; ``in`` is the block's input. A layer
  whose ``if:`` is false is left out and acts as the identity: names that refer to it refer
  to its input. The block's output is its last layer.
- Names: layer ``conv2`` of the 5th repetition (counted from 0, as PyTorch does) of the
  instance ``layer3`` is ``layer3.4.conv2``; without ``repeat`` it is ``layer3.conv2``.
  Unnamed layers inside a block are named by type within the instance (``relu1``, …);
  unnamed instances are named after the block (``basic1``, …).
- ``repeat: N`` works on plain layers too: a named layer ``c`` becomes ``c.0 … c.N-1``.
- Errors inside a block give the line in the block's definition and the chain of
  instantiations. Limits (``limits.py``) are checked before anything is allocated.
"""

from __future__ import annotations

import ast
from typing import Any, Optional

from .. import layers as registry
from ..core import limits
from ..core.errors import LimitError, SpecError, did_you_mean
from ..layers.base import show
from ..core.model import SourceLoc, split_part
from . import dsl  # noqa: F401  (registers the DSL for string entries)
from .entries import RawEntry, layer_items, parse_entry
from .yamlio import LocDict

RESERVED = ("repeat", "first", "if")  # instance / layer keys handled here, not layer parameters
BLOCK_KEYS = ("params", "layers", "description", "source")
INPUT_REF = "in"


class _Ref:
    """The output of the entry at ``index`` in the flat list (named once everything is known);
    ``part``: one of its named outputs (a split's ``split.0``)."""

    __slots__ = ("index", "part")

    def __init__(self, index: int, part: Optional[int] = None):
        self.index = index
        self.part = part


def _ref_name(out: list, x) -> str:
    if isinstance(x, _Ref):
        name = out[x.index].name
        return name if x.part is None else f"{name}.{x.part}"
    return "input" if x is None else x


def _part_of(ref, part: int):
    """Part ``part`` of the output ``ref`` stands for (a local name of a block)."""
    if isinstance(ref, _Ref) and ref.part is None:
        return _Ref(ref.index, part)
    if isinstance(ref, str):
        return f"{ref}.{part}"
    return None


class Block:
    def __init__(self, name: str, params: dict, param_locs: dict, layers: list, loc: Optional[SourceLoc]):
        self.name = name
        self.params = params  # name -> default (None: required)
        self.param_locs = param_locs
        self.layers = layers  # [(item, loc)]
        self.loc = loc


def _loc_of(d, key, default):
    return d.val_loc(key) if isinstance(d, LocDict) else default


def read_blocks(doc) -> dict:
    """The ``blocks:`` section → {name: Block}."""
    if not isinstance(doc, dict) or "blocks" not in doc:
        return {}
    doc_loc = getattr(doc, "loc", None)
    raw = doc["blocks"]
    raw_loc = _loc_of(doc, "blocks", doc_loc)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpecError("'blocks' must be a mapping of block names to {params, layers}", loc=raw_loc,
                        received=type(raw).__name__)
    blocks = {}
    for name, body in raw.items():
        where = raw.key_loc(name) if isinstance(raw, LocDict) else raw_loc
        if not isinstance(name, str) or not name.strip():
            raise SpecError("a block name must be a string", loc=where, received=show(name))
        if registry.canonical(name) is not None or name == "input":
            raise SpecError(f"block '{name}' has the name of a layer type; choose another name", loc=where)
        body_loc = _loc_of(raw, name, where)
        if isinstance(body, list):  # a block with no parameters: just its layers
            body = {"layers": body}
            layers_loc = body_loc
        elif isinstance(body, dict):
            for key in body:
                if key not in BLOCK_KEYS:
                    kl = body.key_loc(key) if isinstance(body, LocDict) else body_loc
                    raise SpecError(f"unknown key '{key}' in block '{name}'" + did_you_mean(str(key), BLOCK_KEYS)
                                    + f" (a block has: {', '.join(BLOCK_KEYS)})", loc=kl)
            if "layers" not in body:
                raise SpecError(f"block '{name}' needs a 'layers:' list", loc=body_loc)
            layers_loc = _loc_of(body, "layers", body_loc)
        else:
            raise SpecError(f"block '{name}' must be a mapping with 'params:' and 'layers:'", loc=body_loc,
                            received=show(body))
        params_raw = body.get("params") or {}
        params_loc = _loc_of(body, "params", body_loc)
        if isinstance(params_raw, list):  # [a, b] — all required
            params_raw = {p: None for p in params_raw if isinstance(p, str)} if all(
                isinstance(p, str) for p in params_raw) else None
        if not isinstance(params_raw, dict):
            raise SpecError(f"the 'params' of block '{name}' must be a mapping of names to defaults",
                            loc=params_loc, received=show(body.get("params")))
        plocs = {}
        for p in params_raw:
            pl = params_raw.key_loc(p) if isinstance(params_raw, LocDict) else params_loc
            if not isinstance(p, str) or not p.isidentifier() or p in RESERVED or p in ("name", "from", INPUT_REF):
                raise SpecError(f"block '{name}': '{p}' cannot be a parameter name "
                                "(use an identifier other than name, from, in, repeat, first, if)", loc=pl)
            plocs[p] = pl
        items = list(layer_items(body["layers"], layers_loc))
        if not items:
            raise SpecError(f"block '{name}' has no layers", loc=layers_loc)
        blocks[name] = Block(name, dict(params_raw), plocs, items, body_loc)
    return blocks


# ---------------------------------------------------------------------------------------------
# ${expr}: a tiny, safe integer expression language

_BIN = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
        ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b}
_CMP = {ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
        ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b}
MAX_EXPR_CHARS = 200


class _ExprError(Exception):
    pass


def evaluate(text: str, env: dict):
    """Evaluate ``${...}`` text over the block's arguments.

    >>> evaluate("width * 4", {"width": 64})
    256
    >>> evaluate("stride == 1 and cin == cout", {"stride": 1, "cin": 32, "cout": 32})
    True
    """
    if len(text) > MAX_EXPR_CHARS:
        raise _ExprError(f"an expression is limited to {MAX_EXPR_CHARS} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise _ExprError("is not a valid expression") from None
    return _eval(tree.body, env)


def _eval(node, env):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, bool, str)) and node.value is not None:
        return node.value
    if isinstance(node, ast.Name):
        if node.id in ("true", "false"):
            return node.id == "true"
        if node.id not in env:
            raise _ExprError(f"names no parameter '{node.id}'" + did_you_mean(node.id, env))
        return env[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        a, b = _eval(node.left, env), _eval(node.right, env)
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (a, b)):
            raise _ExprError("arithmetic needs integers")
        if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and b == 0:
            raise _ExprError("divides by zero")
        result = _BIN[type(node.op)](a, b)
        if abs(result) > 10**30:
            raise _ExprError("gives a number too large for a layer")
        return result
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        if isinstance(node.op, ast.Not):
            return not v
        if isinstance(node.op, ast.USub) and isinstance(v, int) and not isinstance(v, bool):
            return -v
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, env) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare) and all(type(op) in _CMP for op in node.ops):
        left = _eval(node.left, env)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, env)
            if type(op) not in (ast.Eq, ast.NotEq) and not (_is_number(left) and _is_number(right)) \
                    and not (isinstance(left, str) and isinstance(right, str)):
                raise _ExprError(f"compares {_kind(left)} with {_kind(right)} (< <= > >= compare two numbers "
                                 "or two strings)")
            if not _CMP[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body, env) if _eval(node.test, env) else _eval(node.orelse, env)
    raise _ExprError("uses something other than numbers, parameters, + - * // %, comparisons, "
                     "and/or/not and 'x if c else y'")


def _is_number(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _kind(x) -> str:
    """What a value is, in words, for an expression's error."""
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return "a number"
    if isinstance(x, str):
        return "a string"
    if isinstance(x, (list, tuple)):
        return "a list"
    if isinstance(x, dict):
        return "a mapping"
    return f"a {type(x).__name__}"  # a date or time YAML read plainly


def substitute(value: Any, env: dict, loc, what: str, chain: tuple, layer: Optional[str] = None):
    """Replace ``$p`` and ``${expr}`` in a parameter value (recursively in lists)."""
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("${") and s.endswith("}"):
            try:
                return evaluate(s[2:-1], env)
            except _ExprError as e:
                raise SpecError(f"{what}: '{s}' {e}", loc=loc, layer=layer, chain=chain) from None
        if s.startswith("$") and s[1:].isidentifier():
            if s[1:] not in env:
                raise SpecError(f"{what}: '{s}' names no parameter of this block" + did_you_mean(s[1:], env)
                                + (f" (parameters: {', '.join(env)})" if env else ""), loc=loc, layer=layer,
                                chain=chain)
            return env[s[1:]]
        return value
    if isinstance(value, (list, tuple)):
        return [substitute(v, env, loc, what, chain, layer) for v in value]
    return value


# ---------------------------------------------------------------------------------------------


def _check_full_name(full: Optional[str], entry: RawEntry, chain: tuple) -> None:
    if full is not None and len(full) > limits.MAX_FULL_NAME_CHARS:
        raise LimitError(f"the full name of this layer (its blocks' instance names joined by '.') has "
                         f"{len(full):,} characters, over the limit of {limits.MAX_FULL_NAME_CHARS}",
                         loc=entry.name_loc or entry.loc, layer=full[:60] + "…", chain=chain)


class _Expander:
    def __init__(self, blocks: dict):
        self.blocks = blocks
        self.out: list = []  # RawEntry, inputs may hold _Ref
        self.work = 0
        self.auto_instances: dict = {}
        self.sizes: dict = {}

    def count(self, n: int, loc, chain) -> None:
        """Count ``n`` layers made, and one entry expanded (made or left out by ``if:``): the
        work done, not only the layers, is bounded, so a block of left-out layers repeated a
        million times a million times is refused instead of looping for ever."""
        self.work += 1
        if len(self.out) > limits.MAX_LAYERS or self.work > limits.MAX_LAYERS:
            raise LimitError(f"the spec expands to more than {limits.MAX_LAYERS:,} layers (MAX_LAYERS; "
                             "layers left out by if: count too; set CNNCALC_MAX_LAYERS to raise it)",
                             loc=loc, chain=chain)

    def min_size(self, block: Block, args: Optional[dict] = None) -> int:
        """A lower bound on the entries one instance of ``block`` expands (literal repeat counts,
        and ``repeat: $p`` when the instance's argument p is known; a layer left out by ``if:``
        is work too, see ``count``), so that a product of repeats is refused before expansion."""
        if args:
            env = {k: v for k, v in args.items() if isinstance(k, str)}
            env.update({k: d for k, d in block.params.items() if k not in env})
        else:
            env = None
            if block.name in self.sizes:
                return self.sizes[block.name]
            self.sizes[block.name] = 0  # a cycle counts 0 here; it is reported during expansion
        total = 0
        for item, _ in block.layers:
            if isinstance(item, dict) and len([k for k in item if k not in ("name", "from")]) == 1:
                key = next(k for k in item if k not in ("name", "from"))
                value = item[key] if isinstance(item[key], dict) else {}
                if "if" in value:  # perhaps left out: one entry visited, whatever it repeats
                    total += 1
                    continue
                rep = value.get("repeat", 1)
                if env is not None and isinstance(rep, str):
                    try:
                        rep = substitute(rep, env, None, "repeat", ())
                    except SpecError:
                        rep = 1
                rep = rep if isinstance(rep, int) and not isinstance(rep, bool) and rep > 0 else 1
                sub = self.blocks.get(key)
                total += rep * (self.min_size(sub) if sub is not None else 1)
            else:
                total += 1
            total = min(total, 10 * limits.MAX_LAYERS)
        if env is None:
            self.sizes[block.name] = total
        return total

    def repeat_count(self, entry: RawEntry, env: dict, chain: tuple, shown=None) -> tuple:
        """Pop ``repeat`` / ``first`` / ``if`` from an entry's params; check them."""
        params = entry.params
        if "repeat" not in params and "first" not in params and "if" not in params and entry.type not in self.blocks:
            return 1, {}, entry.loc, True  # a plain layer, most of any spec: ``count`` bounds it
        loc = entry.param_locs.get("repeat", entry.loc)
        n = substitute(entry.params.pop("repeat", 1), env, loc, "repeat", chain, shown)
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise SpecError("repeat must be a positive integer", loc=loc, layer=shown, received=show(n),
                            chain=chain)
        if n > limits.MAX_REPEAT:
            raise LimitError(f"repeat {n:,} is over the limit of {limits.MAX_REPEAT:,} (MAX_REPEAT; set "
                             "CNNCALC_MAX_REPEAT to raise it)", loc=loc, layer=shown, chain=chain)
        block = self.blocks.get(entry.type)
        least = n
        if block is not None:  # the first repetition may take other arguments (first:)
            args = {k: v for k, v in entry.params.items() if k not in ("first", "if")}
            least = self.min_size(block) + (n - 1) * (self.min_size(block, args) if n > 1 else 0)
        if "if" not in entry.params and self.work + least > limits.MAX_LAYERS:
            raise LimitError(f"repeat {n:,} would make more than {limits.MAX_LAYERS:,} layers (MAX_LAYERS; "
                             "layers left out by if: count too; set CNNCALC_MAX_LAYERS to raise it)",
                             loc=loc, layer=shown, chain=chain)
        first = entry.params.pop("first", None)
        first_loc = entry.param_locs.get("first", entry.loc)
        if first is not None and not isinstance(first, dict):
            raise SpecError("first must be a mapping of arguments for the first repetition", loc=first_loc,
                            layer=shown, received=show(first), chain=chain)
        cond = True
        if "if" in entry.params:
            cloc = entry.param_locs.get("if", entry.loc)
            cond = substitute(entry.params.pop("if"), env, cloc, "if", chain, shown)
            if not isinstance(cond, bool):
                raise SpecError("if must be true or false", loc=cloc, layer=shown, received=show(cond),
                                chain=chain)
            if cond and self.work + least > limits.MAX_LAYERS:
                raise LimitError(f"repeat {n:,} would make more than {limits.MAX_LAYERS:,} layers (MAX_LAYERS; "
                                 "layers left out by if: count too; set CNNCALC_MAX_LAYERS to raise it)",
                                 loc=loc, layer=shown, chain=chain)
        return n, first or {}, first_loc, cond

    def expand_list(self, items, env: dict, prefix: str, chain: tuple, in_ref, depth: int,
                    block_path: Optional[str]):
        """Expand one layer list (top level or a block body). Returns the ref of its output."""
        local: dict = {} if prefix == "" else {INPUT_REF: in_ref}
        prev = in_ref
        counters: dict = {}
        for item, loc in items:
            for entry in parse_entry(item, loc, registry.canonical):
                entry.chain = chain
                prev = self.expand_entry(entry, env, prefix, chain, local, prev, counters, depth, block_path)
        return prev

    def resolve_from(self, entry: RawEntry, local: dict, prefix: str, chain: tuple, shown=None):
        if entry.inputs is None:
            return None
        if prefix == "":  # top level: other names are global, resolved by the graph builder
            return tuple(local[n] if n in local else self.top_part(local, n) for n in entry.inputs)
        out = []
        for n in entry.inputs:
            base, part = split_part(n)
            if n in local:
                out.append(local[n])
            elif base is not None and base in local and _part_of(local[base], part) is not None:
                out.append(_part_of(local[base], part))  # split.0: a named output of the block's split
            else:
                raise SpecError(f"'from' names no layer called '{n}' in this block"
                                + did_you_mean(n, [k for k in local]) + " ('in' is the block's input)",
                                loc=entry.inputs_loc or entry.loc, layer=shown, chain=chain)
        return tuple(out)

    @staticmethod
    def top_part(local: dict, n: str):
        """A top-level ``from:`` name: ``x.0`` of a block instance named x is part 0 of its last layer."""
        base, part = split_part(n)
        if base is not None and base in local and _part_of(local[base], part) is not None:
            return _part_of(local[base], part)
        return n

    def expand_entry(self, entry, env, prefix, chain, local, prev, counters, depth, block_path):
        if entry.type == "input":  # an input layer (DSL 'input 32x32x3'): the builder checks where it is
            self.out.append(entry)
            self.count(1, entry.loc, chain)
            return "input"
        block = self.blocks.get(entry.type)
        # the local name of this entry
        base = entry.name
        if base is None and prefix:  # counted even when left out by if:, so names stay stable
            key = registry.canonical(entry.type) or entry.type
            counters[key] = counters.get(key, 0) + 1
            base = registry.auto_name(key, counters[key])
        if base is None and block is not None:
            self.auto_instances[entry.type] = self.auto_instances.get(entry.type, 0) + 1
            base = registry.auto_name(entry.type, self.auto_instances[entry.type])
        shown = None if base is None else prefix + base
        params = entry.params
        if env or "repeat" in params or "first" in params or "if" in params:
            # substituted and popped below: on a copy (a block's entries serve every instance)
            entry = entry.evolve(params=dict(params))
        n, first, first_loc, cond = self.repeat_count(entry, env, chain, shown)
        # substitute parameters ($p, ${expr}) in the entry's own values
        if env:
            for k in list(entry.params):
                entry.params[k] = substitute(entry.params[k], env, entry.param_locs.get(k, entry.loc),
                                             str(k) if k is not None else entry.type, chain, shown)
        sources = self.resolve_from(entry, local, prefix, chain, shown)
        if not cond:  # left out: acts as the identity
            ref = sources[0] if sources else prev
            if entry.name is not None:
                local[entry.name] = ref
            self.count(0, entry.loc, chain)
            return ref
        if env and first:
            first = LocDict(first) if not isinstance(first, LocDict) else first
            for k in list(first):
                floc = first.val_loc(k) if isinstance(first, LocDict) else first_loc
                first[k] = substitute(first[k], env, floc, str(k), chain, shown)
        ref = prev
        local_name = entry.name
        if block is None and n == 1 and not first:  # one plain layer: the entry itself goes out
            # (parse_entry made it for this visit, or it was copied above: nothing else holds it)
            full = None if base is None else prefix + base
            _check_full_name(full, entry, chain)
            entry.name, entry.block, entry.chain = full, block_path, chain
            entry.inputs = sources if sources is not None else (ref,)
            self.out.append(entry)
            self.count(1, entry.loc, chain)
            ref = _Ref(len(self.out) - 1)
            if local_name is not None:
                local[local_name] = ref
            return ref
        for i in range(n):
            name = base if base is None or n == 1 else f"{base}.{i}"
            full = None if name is None else prefix + name
            _check_full_name(full, entry, chain)
            args = dict(entry.params)
            if i == 0 and first:
                args.update(first)
            inputs = sources if (i == 0 and sources is not None) else (ref,)
            if block is None:
                e = entry.evolve(params=args, name=full, block=block_path, inputs=inputs,
                                 param_locs=dict(entry.param_locs) if i == 0 and first else entry.param_locs,
                                 chain=chain)
                if i == 0 and first:
                    for k in first:
                        e.param_locs[k] = first.val_loc(k) if isinstance(first, LocDict) else first_loc
                self.out.append(e)
                self.count(1, entry.loc, chain)
                ref = _Ref(len(self.out) - 1)
            else:
                ref = self.instantiate(block, entry, args, first if i == 0 else None, first_loc, full,
                                       inputs, chain, depth)
        if local_name is not None:
            local[local_name] = ref
        return ref

    def instantiate(self, block: Block, entry: RawEntry, args: dict, first, first_loc, full: str, src, chain,
                    depth: int):
        if depth + 1 > limits.MAX_BLOCK_DEPTH:
            raise LimitError(f"blocks nest more than {limits.MAX_BLOCK_DEPTH} deep (MAX_BLOCK_DEPTH)",
                             loc=entry.loc, layer=full, chain=chain)
        if any(b == block.name for b, _ in chain):
            path = " → ".join([b for b, _ in reversed(chain)] + [block.name])
            raise SpecError(f"block '{block.name}' uses itself ({path})", loc=entry.loc, layer=full, chain=chain)
        if len(src) != 1:
            raise SpecError(f"a block instance reads one input; '{block.name}' got {len(src)}",
                            loc=entry.inputs_loc or entry.loc, layer=full, chain=chain)
        env = {}
        for key, value in args.items():
            kloc = entry.param_locs.get(key, entry.loc)
            if first is not None and key in first:
                kloc = first.val_loc(key) if isinstance(first, LocDict) else first_loc
            if key is None:
                raise SpecError(f"block '{block.name}' takes a mapping of arguments"
                                + (f" ({', '.join(block.params)})" if block.params else ""),
                                loc=kloc, layer=full, received=show(value), chain=chain)
            if key not in block.params:
                if first is None or key not in first:
                    kloc = entry.key_locs.get(key) or kloc
                raise SpecError(f"unknown argument '{key}' for block '{block.name}'" + did_you_mean(str(key),
                                block.params) + f" (parameters: {', '.join(block.params) or 'none'})",
                                loc=kloc, layer=full, chain=chain)
            env[key] = value
        for key, default in block.params.items():
            if key not in env:
                if default is None:
                    raise SpecError(f"block '{block.name}' needs the argument '{key}'", loc=entry.loc,
                                    layer=full, chain=chain)
                env[key] = default
        inner_chain = ((block.name, entry.loc),) + tuple(chain)
        return self.expand_list(block.layers, env, full + ".", inner_chain, src[0], depth + 1, full)


def expand(doc, layers_value, layers_loc) -> list:
    """The EXPANDER hook of build.py: blocks and repeat → flat RawEntry list, all refs named."""
    blocks = read_blocks(doc)
    ex = _Expander(blocks)
    ex.expand_list(list(layer_items(layers_value, layers_loc)), {}, "", (), None, 0, None)
    out = ex.out
    _name_all(out)
    for e in out:
        if e.inputs is not None:
            e.inputs = tuple(_ref_name(out, x) for x in e.inputs)
    return out


def _name_all(entries: list) -> None:
    """Give every unnamed entry the name the graph builder would give it (``conv3``), so that
    block inputs can refer to it. Same scheme as build._layer_specs."""
    if all(e.name is not None for e in entries):
        return
    taken = {"input"} | {e.name for e in entries if e.name is not None}
    counters: dict = {}
    for e in entries:
        if e.name is not None:
            continue
        key = registry.canonical(e.type)
        if key is None:
            continue  # an unknown type: the builder reports it
        name = registry.next_free_name(key, counters, taken)
        taken.add(name)
        e.name = name


__all__ = ["expand", "read_blocks", "evaluate", "substitute"]
