"""One layer-list entry as written → a ``RawEntry`` (type, parameters, name, inputs, locations).

Accepted forms::

    - relu                                   # a type alone
    - maxpool: 2                             # the type's primary parameter
    - conv: {filters: 64, kernel: 3, padding: 1, name: conv1_1}
    - conv: {filters: 64, kernel: 3}
      name: conv1_1                          # name / from beside the type key also work
      from: [a, b]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from ..core.errors import LimitError, SpecError, control_char, did_you_mean
from ..core.limits import MAX_NAME_CHARS
from ..core.model import SourceLoc
from .yamlio import LocDict, LocList

META_KEYS = ("name", "from")


@dataclass
class RawEntry:
    type: str  # as written (canonicalised later by the registry)
    params: dict  # parameter name → value as written
    loc: Optional[SourceLoc]
    param_locs: dict = field(default_factory=dict)
    name: Optional[str] = None
    name_loc: Optional[SourceLoc] = None
    inputs: Optional[tuple] = None  # None: the previous entry
    inputs_loc: Optional[SourceLoc] = None
    block: Optional[str] = None
    chain: tuple = ()
    key_locs: dict = field(default_factory=dict)  # parameter name → where the name is written

    def evolve(self, **changes) -> "RawEntry":
        """A shallow copy with some fields changed (dataclasses.replace, without its cost: it
        ran 200,000 times for a 100,000-layer spec)."""
        new = object.__new__(RawEntry)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new


# A hook for entries written as strings that are not a bare type name (the one-line DSL
# registers itself here): fn(text, loc) -> list[RawEntry].
STRING_ENTRY_HOOKS: list = []


def _check_name(value, loc) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value).strip() == "":
        raise SpecError("a layer name must be a non-empty string", loc=loc, received=_brief(value))
    return check_name_text(str(value), loc)


def check_name_text(name: str, loc, what: str = "a layer name") -> str:
    """A name's length and characters: a name is printed in tables, CSV, Markdown, explanations
    and one-line errors, so one holding a control character (a YAML escape such as "\\e",
    "\\x85", "\\L" or "\\n" in a quoted string) is refused, naming the character."""
    if len(name) > MAX_NAME_CHARS:
        raise LimitError(f"{what} is limited to {MAX_NAME_CHARS} characters (MAX_NAME_CHARS)", loc=loc,
                         received=f"{len(name):,} characters")
    bad = control_char(name)
    if bad is not None:
        raise SpecError(f"{what} cannot hold a control character", loc=loc, received=bad)
    return name


def _check_from(value, loc) -> tuple:
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items:
        raise SpecError("'from' needs at least one layer name", loc=loc, received="[]")
    return tuple(_check_name(v, loc) for v in items)


def parse_entry(item: Any, loc: Optional[SourceLoc], types) -> list:
    """Turn one layer-list item into RawEntries (one, or several for a DSL string).

    ``types`` is the registry's ``canonical`` function, used only to tell a type name from
    other strings; parameter validation happens when the graph is built.
    """
    if isinstance(item, str):
        text = item.strip()
        if types(text) is not None or text == "input" or not STRING_ENTRY_HOOKS:
            return [RawEntry(type=text, params={}, loc=loc)]
        lead = len(item) - len(item.lstrip())
        if lead and loc is not None and "\n" not in item[:lead]:
            loc = SourceLoc(loc.file, loc.line, loc.col + lead)
        return STRING_ENTRY_HOOKS[0](text, loc)
    if not isinstance(item, dict):
        raise SpecError("a layer is a type name or a mapping like {conv: {filters: 8, kernel: 3}}",
                        loc=loc, received=_brief(item))
    keys = [k for k in item if k not in META_KEYS]
    if len(keys) != 1:
        if not keys:
            raise SpecError("a layer entry needs a type key such as conv, dense or relu", loc=loc,
                            received=_brief(item))
        raise SpecError("a layer entry names exactly one type; put parameters under it, "
                        f"like {{{keys[0]}: {{...}}}}", loc=loc, received=", ".join(str(k) for k in keys))
    type_name = keys[0]
    if not isinstance(type_name, str):
        raise SpecError("a layer type must be a name", loc=loc, received=repr(type_name))
    entry = RawEntry(type=type_name, params={}, loc=loc)
    outer = item
    value = item[type_name]
    _take_meta(entry, outer)
    value_loc = outer.val_loc(type_name) if isinstance(outer, LocDict) else loc
    if isinstance(value, LocDict):
        _take_meta(entry, value)
        entry.params = {k: v for k, v in value.items() if k not in META_KEYS}
        entry.param_locs = LocsOf(value)
        entry.key_locs = LocsOf(value, keys=True)
    elif isinstance(value, dict):
        _take_meta(entry, value)
        for k, v in value.items():
            if k in META_KEYS:
                continue
            entry.params[k] = v
            entry.param_locs[k] = value_loc
    elif value is not None:
        entry.params[None] = value  # the primary parameter, resolved by the builder
        entry.param_locs[None] = value_loc
    return [entry]


class LocsOf(Mapping):
    """Where each parameter of a LocDict is written — its value, or with ``keys=True`` its name —
    as SourceLocs made when read: a 100,000-layer spec has most of a million of them, and an
    error reads one."""

    __slots__ = ("_d", "_get")

    def __init__(self, d: LocDict, keys: bool = False):
        self._d = d
        self._get = d.key_loc if keys else d.val_loc

    def __getitem__(self, k):
        if k in META_KEYS or k not in self._d:
            raise KeyError(k)
        return self._get(k)

    def __iter__(self):
        return (k for k in self._d if k not in META_KEYS)

    def __len__(self) -> int:
        return sum(1 for k in self._d if k not in META_KEYS)


def _take_meta(entry: RawEntry, d: dict) -> None:
    get_loc = d.val_loc if isinstance(d, LocDict) else (lambda k: entry.loc)
    if "name" in d:
        if entry.name is not None:
            raise SpecError("the layer's name is given twice", loc=get_loc("name"))
        entry.name = _check_name(d["name"], get_loc("name"))
        entry.name_loc = get_loc("name")
    if "from" in d:
        if entry.inputs is not None:
            raise SpecError("the layer's 'from' is given twice", loc=get_loc("from"))
        entry.inputs = _check_from(d["from"], get_loc("from"))
        entry.inputs_loc = get_loc("from")


def _brief(v) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def layer_items(layers: Any, loc: Optional[SourceLoc]):
    """Yield (item, loc) for each entry of a ``layers:`` list."""
    if not isinstance(layers, list):
        raise SpecError("'layers' must be a list of layers", loc=loc, received=_brief(layers))
    for i, item in enumerate(layers):
        yield item, (layers.item_loc(i) if isinstance(layers, LocList) else loc)


__all__ = ["RawEntry", "parse_entry", "layer_items", "check_name_text", "META_KEYS", "STRING_ENTRY_HOOKS",
           "did_you_mean"]
