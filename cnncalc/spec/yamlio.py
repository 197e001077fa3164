"""Safe YAML loading that remembers where every key and value was written.

Mappings load as ``LocDict`` and sequences as ``LocList``: plain dict/list subclasses that
also carry the 1-based line:col of the node itself, of each key and of each value.

The document is built straight from the parser's event stream (PyYAML's C parser when it is
installed), iteratively with an explicit stack — PyYAML's own composer recurses and crashes
the interpreter on a few thousand nested brackets. While the events stream in, the loader
enforces the limits of ``cnncalc.limits``: nesting depth, the number of values with every
alias counted at its expanded size (an alias bomb is refused at the alias that crosses the
budget), digits of an integer. Only YAML's plain data types are built: mappings, sequences,
strings, integers, floats, booleans, null (and timestamps written plainly); any explicit tag
other than ``!!str !!int !!float !!bool !!null !!map !!seq`` is refused, so nothing in a spec
can build a Python object. One document per file; duplicate keys are errors; ``<<`` merge
keys work as in PyYAML (the mapping's own keys win, then the first merged mapping).
"""

from __future__ import annotations

import re
from typing import Optional

import yaml
from yaml.events import (AliasEvent, DocumentEndEvent, DocumentStartEvent, MappingEndEvent, MappingStartEvent,
                         ScalarEvent, SequenceEndEvent, SequenceStartEvent, StreamEndEvent)
from yaml.nodes import ScalarNode

from .. import limits
from ..errors import LimitError, SpecError
from ..model import SourceLoc

try:  # the C parser is several times faster; constructors stay the safe Python ones
    _Base = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml not compiled in
    _Base = yaml.SafeLoader

# libyaml 0.2.6 (bundled from PyYAML 6.0.4 on) refuses flow or block nesting beyond 1,000 levels,
# and its scanner reads ahead, so its refusal can come before cnncalc's own limit is reached.
# When that happens the document is parsed again with PyYAML's pure-Python parser, which has no
# cap of its own: cnncalc's MAX_YAML_DEPTH is then the one limit, with its own message, on every
# PyYAML release (6.0.2 and 6.0.3 bundle libyaml 0.2.5, which has no cap).
_LIBYAML_NESTING = "maximum nesting depth"


def _as_loc(file: str, m) -> Optional[SourceLoc]:
    """A YAML mark (0-based) → SourceLoc (1-based); SourceLocs and None pass through."""
    if m is None or isinstance(m, SourceLoc):
        return m
    return SourceLoc(file, m.line + 1, m.column + 1)


class LocDict(dict):
    """A dict that knows where it, its keys and its values were written.

    Locations are kept as the parser's marks and turned into SourceLocs when asked for (a
    100,000-layer spec has a million of them, and most are never read).
    """

    __slots__ = ("_file", "_mark", "_kmarks", "_vmarks")

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._file = "<spec>"
        self._mark = None
        self._kmarks: dict = {}
        self._vmarks: dict = {}

    @property
    def loc(self) -> Optional[SourceLoc]:
        return _as_loc(self._file, self._mark)

    @loc.setter
    def loc(self, value) -> None:
        self._mark = value

    @property
    def key_locs(self) -> dict:
        """key → SourceLoc (a real dict: writes to it are kept)."""
        self._kmarks = {k: _as_loc(self._file, m) for k, m in self._kmarks.items()}
        return self._kmarks

    @property
    def val_locs(self) -> dict:
        self._vmarks = {k: _as_loc(self._file, m) for k, m in self._vmarks.items()}
        return self._vmarks

    @key_locs.setter
    def key_locs(self, value) -> None:
        self._kmarks = dict(value)

    @val_locs.setter
    def val_locs(self, value) -> None:
        self._vmarks = dict(value)

    def key_loc(self, key):
        m = self._kmarks.get(key)
        return self.loc if m is None else _as_loc(self._file, m)

    def val_loc(self, key):
        m = self._vmarks.get(key)
        return self.loc if m is None else _as_loc(self._file, m)


class LocList(list):
    """A list that knows where it and each of its items were written."""

    __slots__ = ("_file", "_mark", "_imarks")

    def __init__(self, *a):
        super().__init__(*a)
        self._file = "<spec>"
        self._mark = None
        self._imarks: list = []

    @property
    def loc(self) -> Optional[SourceLoc]:
        return _as_loc(self._file, self._mark)

    @loc.setter
    def loc(self, value) -> None:
        self._mark = value

    @property
    def item_locs(self) -> list:
        self._imarks = [_as_loc(self._file, m) for m in self._imarks]
        return self._imarks

    @item_locs.setter
    def item_locs(self, value) -> None:
        self._imarks = list(value)

    def item_loc(self, i):
        return _as_loc(self._file, self._imarks[i]) if i < len(self._imarks) else self.loc


_P = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = _P + "str", _P + "int", _P + "float", _P + "bool", _P + "null"
_MAP, _SEQ, _MERGE, _TIMESTAMP = _P + "map", _P + "seq", _P + "merge", _P + "timestamp"
_SCALAR_TAGS = (_STR, _INT, _FLOAT, _BOOL, _NULL)
_PLAIN_STYLES = ("", None)

# Characters YAML does not allow in a stream (libyaml would stop with a multi-line message).
_BAD_CHAR = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CHAR_NAMES = {0: "NUL", 7: "BEL", 8: "backspace", 0x1B: "ESC", 0x7F: "DEL"}


class _Mark:
    """A position like the parser's marks (0-based line and column)."""

    __slots__ = ("line", "column")

    def __init__(self, line: int, column: int):
        self.line, self.column = line, column


class _Loader(_Base):
    cnn_filename = "<spec>"


class _PyLoader(yaml.SafeLoader):
    cnn_filename = "<spec>"


def _loc(file: str, mark) -> SourceLoc:
    return SourceLoc(file, mark.line + 1, mark.column + 1) if mark is not None else SourceLoc(file, 1, 1)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_P):] if tag.startswith(_P) else tag


def _refuse_tag(tag: str, mark, file: str):
    raise SpecError("YAML tags that build objects are not allowed in a spec; plain data only "
                    "(!!str !!int !!float !!bool !!null !!map !!seq)", loc=_loc(file, mark),
                    received=_short_tag(tag))


def _check_text(text: str, file: str) -> None:
    """Characters and line lengths, before the parser sees the text."""
    m = _BAD_CHAR.search(text)
    if m is not None:
        i = m.start()
        line = text.count("\n", 0, i) + 1
        col = i - (text.rfind("\n", 0, i) + 1) + 1
        code = ord(m.group())
        name = _CHAR_NAMES.get(code, "a control character")
        raise SpecError("the file holds a character YAML does not allow", loc=SourceLoc(file, line, col),
                        received=f"U+{code:04X}, {name}")
    limit = limits.MAX_LINE_CHARS
    if len(text) > limit:
        for n, line in enumerate(text.split("\n"), 1):
            if len(line) > limit:
                raise LimitError(f"line {n} is {len(line):,} characters long, over the limit of {limit:,} "
                                 f"(MAX_LINE_CHARS; {limits.raise_hint('CNNCALC_MAX_LINE_CHARS')})",
                                 loc=SourceLoc(file, n, 1))


def _big_int(value: str, mark, file: str) -> None:
    digits = len(value.lstrip("+-").replace("_", ""))
    if digits > limits.MAX_INT_DIGITS:
        raise LimitError(f"an integer of {digits:,} digits is over the limit of {limits.MAX_INT_DIGITS} "
                         "digits (MAX_INT_DIGITS)", loc=_loc(file, mark),
                         received=value[:20] + "…")


def _scalar(loader, ev, file: str, cache: dict):
    """One scalar event → its Python value (plain scalars resolved as PyYAML's safe loader does)."""
    tag = ev.tag
    value = ev.value
    if tag is None or tag == "!":
        if ev.style not in _PLAIN_STYLES or tag == "!":
            return value  # quoted, literal or folded: a string
        hit = cache.get(value)
        if hit is not None or value in cache:
            return hit
        tag = loader.resolve(ScalarNode, value, (True, False))
        if tag == _STR or tag == _MERGE or tag == _P + "value":
            result = value
        elif tag == _INT:
            if len(value) > limits.MAX_INT_DIGITS:
                _big_int(value, ev.start_mark, file)
            digits = value[1:] if value[:1] == "-" else value
            if digits.isdecimal() and digits.isascii() and (digits[0] != "0" or digits == "0"):
                result = int(value)  # plain decimal; 0x…, 0o…, 0…, 1_000 and 1:30 go through PyYAML
            else:
                result = loader.construct_yaml_int(ScalarNode(tag, value))
        else:
            result = _construct(loader, tag, value, ev.start_mark, file)
        if len(value) <= 64:
            cache[value] = result
        return result
    if tag not in _SCALAR_TAGS:
        _refuse_tag(tag, ev.start_mark, file)
    if tag == _STR:
        return value
    if tag == _INT and len(value) > limits.MAX_INT_DIGITS:
        _big_int(value, ev.start_mark, file)
    return _construct(loader, tag, value, ev.start_mark, file)


def _construct(loader, tag: str, value: str, mark, file: str):
    try:
        return loader.yaml_constructors[tag](loader, ScalarNode(tag, value, mark, mark))
    except (ValueError, TypeError, OverflowError, KeyError, yaml.YAMLError):  # KeyError: !!bool 5
        raise SpecError(f"not a valid {_short_tag(tag)}", loc=_loc(file, mark), received=repr(value)) from None


def _merge_into(d: LocDict, sources: list) -> None:
    """Apply ``<<`` merges: keys the mapping wrote itself win, then the earliest source."""
    own = list(d.items())
    kmarks, vmarks = d._kmarks, d._vmarks
    merged: dict = {}
    mk: dict = {}
    mv: dict = {}
    for src in sources:
        for k, v in src.items():
            if k not in merged and k not in kmarks:
                merged[k] = v
                mk[k] = src._kmarks.get(k, src._mark)
                mv[k] = src._vmarks.get(k, src._mark)
    if not merged:
        return
    d.clear()
    d.update(merged)
    d.update(own)
    mk.update(kmarks)
    mv.update(vmarks)
    d._kmarks, d._vmarks = mk, mv


def _build(loader, file: str):
    """The single document of the stream, built from the parser's events without recursion."""
    get = loader.get_event
    max_depth, max_nodes = limits.MAX_YAML_DEPTH, limits.MAX_YAML_NODES
    cache: dict = {}
    anchors: dict = {}  # anchor → (value, expanded size)
    open_anchors: set = set()
    get()  # StreamStart
    ev = get()
    if type(ev) is StreamEndEvent:
        return None
    nodes = 0
    stack: list = []  # saved frames of the enclosing collections
    # the current collection: its object, whether it is a mapping, the key waiting for its value
    cur = None
    is_map = False
    key = None
    have_key = False
    kmark = None
    merges = None  # list of merged mappings, or None
    merge_next = False  # the key just read was '<<'
    root = None
    while True:
        ev = get()
        cls = type(ev)
        # -- a value (scalar, alias, or a finished collection) lands in `value` ---------------
        if cls is ScalarEvent:
            nodes += 1
            mark = ev.start_mark
            value = _scalar(loader, ev, file, cache)
            if (ev.style == '"' or ev.style == "'") and cur is not None and not is_map:
                # a quoted list item (a DSL string in 'layers:') is located by its first character,
                # so that the DSL's column offsets land on the token
                mark = _Mark(mark.line, mark.column + 1)
            if ev.anchor is not None:
                anchors[ev.anchor] = (value, 1)
            if is_map and not have_key and ev.style in _PLAIN_STYLES and ev.tag is None and ev.value == "<<":
                have_key, merge_next, kmark = True, True, mark
                continue
        elif cls is MappingStartEvent or cls is SequenceStartEvent:
            nodes += 1
            mark = ev.start_mark
            tag = ev.tag
            want = _MAP if cls is MappingStartEvent else _SEQ
            if tag is not None and tag != "!" and tag != want:
                _refuse_tag(tag, mark, file)
            if is_map and not have_key:
                raise SpecError("a mapping key must be a plain value", loc=_loc(file, mark))
            if len(stack) >= max_depth:
                raise LimitError(f"the YAML nests lists and mappings more than {max_depth} deep (MAX_YAML_DEPTH; "
                                 f"{limits.raise_hint('CNNCALC_MAX_YAML_DEPTH')})", loc=_loc(file, mark))
            stack.append((cur, is_map, key, have_key, kmark, merges, merge_next, ev.anchor, nodes))
            if ev.anchor is not None:
                open_anchors.add(ev.anchor)
            if cls is MappingStartEvent:
                cur = LocDict()
                is_map = True
            else:
                cur = LocList()
                is_map = False
            cur._file, cur._mark = file, mark
            key, have_key, kmark, merges, merge_next = None, False, None, None, False
            continue
        elif cls is MappingEndEvent or cls is SequenceEndEvent:
            value = cur
            if merges:
                _merge_into(value, merges)
            mark = value._mark
            cur, is_map, key, have_key, kmark, merges, merge_next, anchor, start = stack.pop()
            if anchor is not None:
                anchors[anchor] = (value, nodes - start + 1)
                open_anchors.discard(anchor)
        elif cls is AliasEvent:
            mark = ev.start_mark
            name = ev.anchor
            if name in open_anchors:
                raise SpecError(f"the alias *{name} refers to a collection that contains it (a recursive "
                                "structure)", loc=_loc(file, mark))
            hit = anchors.get(name)
            if hit is None:
                raise SpecError(f"the alias *{name} names no anchor (&{name}) written before it",
                                loc=_loc(file, mark))
            value, size = hit
            nodes += size
            if nodes > max_nodes:
                raise LimitError(f"the YAML holds more than {max_nodes:,} values once its aliases are expanded "
                                 f"(MAX_YAML_NODES; {limits.raise_hint('CNNCALC_MAX_YAML_NODES')})",
                                 loc=_loc(file, mark))
        elif cls is DocumentEndEvent:
            ev = get()
            if type(ev) is DocumentStartEvent:
                raise SpecError("a spec file holds one YAML document; a second one starts here",
                                loc=_loc(file, ev.start_mark))
            return root
        else:  # pragma: no cover - the parser emits nothing else inside a document
            raise SpecError(f"unexpected YAML event {cls.__name__}", loc=_loc(file, ev.start_mark))
        # -- place the value -------------------------------------------------------------------
        if cur is None:
            root = value
        elif is_map:
            if not have_key:
                if type(value) is LocDict or type(value) is LocList:
                    raise SpecError("a mapping key must be a plain value", loc=_loc(file, mark))
                if value in cur:
                    raise SpecError(f"duplicate key '{value}' (first at {_loc(file, cur._kmarks[value])})",
                                    loc=_loc(file, mark))
                key, have_key, kmark = value, True, mark
            else:
                if merge_next:
                    merges = (merges or []) + _merge_sources(value, mark, file)
                    merge_next = False
                else:
                    cur[key] = value
                    cur._kmarks[key] = kmark
                    cur._vmarks[key] = mark
                have_key = False
        else:
            cur.append(value)
            cur._imarks.append(mark)
        if nodes > max_nodes:
            raise LimitError(f"the YAML holds more than {max_nodes:,} values (MAX_YAML_NODES; "
                             f"{limits.raise_hint('CNNCALC_MAX_YAML_NODES')})", loc=_loc(file, mark))


def _merge_sources(value, mark, file) -> list:
    if type(value) is LocDict:
        return [value]
    if type(value) is LocList and all(type(v) is LocDict for v in value):
        return list(value)
    else:
        raise SpecError("a merge key '<<' takes a mapping or a list of mappings", loc=_loc(file, mark))


def load_yaml(text: str, filename: str):
    """Parse YAML text; any YAML problem becomes a located SpecError (limits: LimitError)."""
    _check_text(text, filename)
    try:
        return _parse(_Loader, text, filename)
    except yaml.YAMLError as e:
        if _Base is yaml.SafeLoader or _LIBYAML_NESTING not in str(e):
            raise _yaml_error(e, text, filename) from None
    try:  # libyaml's own nesting cap: cnncalc's limit decides, see _LIBYAML_NESTING
        return _parse(_PyLoader, text, filename)
    except yaml.YAMLError as e:
        raise _yaml_error(e, text, filename) from None


def _parse(loader_class, text: str, filename: str):
    loader = loader_class(text)
    loader.cnn_filename = filename
    try:
        return _build(loader, filename)
    finally:
        loader.dispose()


def _yaml_error(e, text: str, filename: str) -> SpecError:
    """A PyYAML exception → a located SpecError."""
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        loc = _loc(filename, mark)
        problem = (e.problem or e.context or "malformed YAML").strip()
        if mark is not None and _char_at(text, mark) == "\t":
            problem = "a tab where YAML expects spaces (YAML indents with spaces only)"
        elif e.problem and e.context and e.context_mark is not None and (
                e.context_mark.line, e.context_mark.column) != (mark.line, mark.column):
            problem += f", {e.context.strip()} that starts at {_loc(filename, e.context_mark)}"
        return SpecError(f"invalid YAML: {problem}", loc=loc)
    first = str(e).strip().splitlines()[0] if str(e).strip() else "malformed YAML"
    return SpecError(f"invalid YAML: {first}", loc=SourceLoc(filename, 1, 1))


def _char_at(text: str, mark) -> str:
    idx = getattr(mark, "index", None)
    if isinstance(idx, int) and 0 <= idx < len(text):
        return text[idx]
    return ""
