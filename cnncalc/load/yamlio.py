"""Safe YAML loading that remembers where every key and value was written.

Mappings load as ``LocDict`` and sequences as ``LocList``: plain dict/list subclasses that
also carry the 1-based line:col of the node itself, of each key and of each value.

The document is built straight from the parser's event stream (PyYAML's C parser when it is
installed) by ``_Composer``: one handler per event kind, as in PyYAML's own composer, but
iterative, with an explicit stack of ``_Frame``s — PyYAML's composer recurses and crashes the
interpreter on a few thousand nested brackets. While the events stream in, the loader
enforces the limits of ``cnncalc.core.limits``: nesting depth, the number of values with every
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

from ..core import limits
from ..core.errors import CONTROL_NAMES, LimitError, SpecError, control_char
from ..core.model import SourceLoc

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
_MAP, _SEQ, _MERGE, _VALUE_TAG = _P + "map", _P + "seq", _P + "merge", _P + "value"
_SCALAR_TAGS = (_STR, _INT, _FLOAT, _BOOL, _NULL)
# an exponent without a dot (YAML 1.2's core schema; YAML 1.1 resolves only 1.0e-5)
_EXP_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+\Z")

# Characters YAML does not allow in a stream (libyaml would stop with a multi-line message).
_BAD_CHAR = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class _Mark:
    """A position like the parser's marks (0-based line and column)."""

    __slots__ = ("line", "column")

    def __init__(self, line: int, column: int):
        self.line, self.column = line, column


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
        name = CONTROL_NAMES.get(code, "a control character")
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


_KEY, _VALUE, _MERGE_VALUE = 0, 1, 2  # what a mapping frame waits for next
_MISS = object()


class _Frame:
    """A collection being composed: the LocDict or LocList, and for a mapping what comes next
    (a key, the value of ``key``, or the mapping(s) a ``<<`` key merges in)."""

    __slots__ = ("obj", "is_map", "want", "key", "kmark", "merges", "anchor", "start")


_new_frame = object.__new__


class _Composer:
    """The single document of a stream, built from the parser's events.

    PyYAML's composer (yaml/composer.py) is the model — ``compose_node`` dispatching to
    ``compose_scalar_node``, ``compose_sequence_node`` and ``compose_mapping_node`` — but it
    recurses, and a few thousand nested brackets crash the interpreter. Here each event kind
    has one handler, and the open collections are an explicit stack of ``_Frame``s: a start
    event pushes a frame, an end event pops it and adds the finished collection to its parent.
    """

    def __init__(self, loader, file: str):
        self.loader, self.file = loader, file
        self.max_depth, self.max_nodes = limits.MAX_YAML_DEPTH, limits.MAX_YAML_NODES
        self.cache: dict = {}  # plain scalar text → its value
        self.clean_keys: set = set()  # keys seen to hold no control character
        self.anchors: dict = {}  # anchor → (value, size with its aliases expanded)
        self.open_anchors: set = set()  # anchors of collections not yet closed
        self.stack: list = []  # frames of the open collections, the innermost last
        self.top: Optional[_Frame] = None  # the innermost one (None: at the document's root)
        self.nodes = 0  # values so far, every alias counted at its expanded size
        self.root = None

    def compose_document(self):
        get = self.loader.get_event
        get()  # StreamStart
        if type(get()) is StreamEndEvent:  # an empty stream; otherwise DocumentStart
            return None
        scalar, alias, start, end = self.compose_scalar, self.compose_alias, self.start_collection, self.end_collection
        while True:
            ev = get()
            cls = type(ev)
            if cls is ScalarEvent:
                scalar(ev)
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                end(ev)
            elif cls is MappingStartEvent or cls is SequenceStartEvent:
                start(ev)
            elif cls is AliasEvent:
                alias(ev)
            elif cls is DocumentEndEvent:
                self.end_document(ev)
                return self.root
            else:  # pragma: no cover - the parser emits nothing else inside a document
                raise SpecError(f"unexpected YAML event {cls.__name__}", loc=_loc(self.file, ev.start_mark))

    # -- one handler per event kind -------------------------------------------------------------

    def compose_scalar(self, ev) -> None:
        nodes = self.nodes = self.nodes + 1
        mark = ev.start_mark
        text = ev.value
        plain = ev.tag is None and not ev.style
        if plain:  # resolved as PyYAML's safe loader does
            value = self.cache.get(text, _MISS)
            if value is _MISS:
                value = self.resolve_plain(text, mark)
        else:
            value = self.tagged_scalar(ev)
        if ev.anchor is not None:
            self.anchors[ev.anchor] = (value, 1)
        top = self.top
        if top is None:
            self.root = value
            return
        # placed here rather than by add(): scalars are most of a spec's events
        if top.is_map:
            want = top.want
            if want == _VALUE:
                obj, key = top.obj, top.key
                obj[key] = value
                obj._kmarks[key] = top.kmark
                obj._vmarks[key] = mark
                top.want = _KEY
            elif want == _KEY:
                if plain and text == "<<":
                    top.want, top.kmark = _MERGE_VALUE, mark
                    return
                if value in top.obj:
                    self.duplicate_key(top, value, mark)
                if value not in self.clean_keys:
                    self.check_key(value, mark)
                top.want, top.key, top.kmark = _VALUE, value, mark
            else:
                self.add(value, mark)
                return
        else:
            if ev.style == '"' or ev.style == "'":
                # a quoted list item (a DSL string in 'layers:') is located by its first character,
                # so that the DSL's column offsets land on the token
                mark = _Mark(mark.line, mark.column + 1)
            top.obj.append(value)
            top.obj._imarks.append(mark)
        if nodes > self.max_nodes:
            self.too_many(mark)

    def compose_alias(self, ev) -> None:
        mark, name = ev.start_mark, ev.anchor
        if name in self.open_anchors:
            raise SpecError(f"the alias *{name} refers to a collection that contains it (a recursive "
                            "structure)", loc=_loc(self.file, mark))
        hit = self.anchors.get(name)
        if hit is None:
            raise SpecError(f"the alias *{name} names no anchor (&{name}) written before it",
                            loc=_loc(self.file, mark))
        value, size = hit
        self.nodes += size
        if self.nodes > self.max_nodes:
            raise LimitError(f"the YAML holds more than {self.max_nodes:,} values once its aliases are expanded "
                             f"(MAX_YAML_NODES; {limits.raise_hint('CNNCALC_MAX_YAML_NODES')})",
                             loc=_loc(self.file, mark))
        self.add(value, mark)

    def start_collection(self, ev) -> None:
        """A mapping or a sequence starts: push its frame."""
        self.nodes += 1
        mark = ev.start_mark
        is_map = type(ev) is MappingStartEvent
        tag = ev.tag
        if tag is not None and tag != "!" and tag != (_MAP if is_map else _SEQ):
            _refuse_tag(tag, mark, self.file)
        top = self.top
        if top is not None and top.is_map and top.want == _KEY:
            raise SpecError("a mapping key must be a plain value", loc=_loc(self.file, mark))
        if len(self.stack) >= self.max_depth:
            raise LimitError(f"the YAML nests lists and mappings more than {self.max_depth} deep (MAX_YAML_DEPTH; "
                             f"{limits.raise_hint('CNNCALC_MAX_YAML_DEPTH')})", loc=_loc(self.file, mark))
        if ev.anchor is not None:
            self.open_anchors.add(ev.anchor)
        if is_map:  # made without __init__ (two Python calls each, for every layer): every slot is set here
            obj = dict.__new__(LocDict)
            obj._kmarks, obj._vmarks = {}, {}
        else:
            obj = list.__new__(LocList)
            obj._imarks = []
        obj._file, obj._mark = self.file, mark
        top = self.top = _new_frame(_Frame)  # every slot set here (no __init__ call: two frames a layer)
        top.obj, top.is_map, top.anchor, top.start = obj, is_map, ev.anchor, self.nodes
        top.want, top.key, top.kmark, top.merges = _KEY, None, None, None
        self.stack.append(top)

    def end_collection(self, ev) -> None:
        stack = self.stack
        frame = stack.pop()
        top = self.top = stack[-1] if stack else None
        value = frame.obj
        if frame.merges:
            _merge_into(value, frame.merges)
        if frame.anchor is not None:
            self.anchors[frame.anchor] = (value, self.nodes - frame.start + 1)
            self.open_anchors.discard(frame.anchor)
        # the two common places inline (a layer's mapping in a list, a parameter mapping as a value)
        if top is not None:
            if not top.is_map:
                top.obj.append(value)
                top.obj._imarks.append(value._mark)
                return
            if top.want == _VALUE:
                obj, key = top.obj, top.key
                obj[key] = value
                obj._kmarks[key] = top.kmark
                obj._vmarks[key] = value._mark
                top.want = _KEY
                return
        self.add(value, value._mark)

    def end_document(self, ev) -> None:
        ev = self.loader.get_event()
        if type(ev) is DocumentStartEvent:
            raise SpecError("a spec file holds one YAML document; a second one starts here",
                            loc=_loc(self.file, ev.start_mark))

    # -- helpers --------------------------------------------------------------------------------

    def add(self, value, mark) -> None:
        """Place a finished value in the innermost open collection (or make it the root)."""
        top = self.top
        if top is None:
            self.root = value
        elif not top.is_map:
            top.obj.append(value)
            top.obj._imarks.append(mark)
        elif top.want == _KEY:
            if type(value) is LocDict or type(value) is LocList:
                raise SpecError("a mapping key must be a plain value", loc=_loc(self.file, mark))
            if value in top.obj:
                self.duplicate_key(top, value, mark)
            if value not in self.clean_keys:
                self.check_key(value, mark)
            top.want, top.key, top.kmark = _VALUE, value, mark
        elif top.want == _VALUE:
            obj, key = top.obj, top.key
            obj[key] = value
            obj._kmarks[key] = top.kmark
            obj._vmarks[key] = mark
            top.want = _KEY
        else:
            top.merges = (top.merges or []) + _merge_sources(value, mark, self.file)
            top.want = _KEY
        if self.nodes > self.max_nodes:
            self.too_many(mark)

    def check_key(self, key, mark) -> None:
        """Keys name things (parameters, blocks, layers under expect:, questions): a key holding a
        control character (written with an escape such as "\\e" or "\\n") is refused."""
        if type(key) is str and not key.isprintable():  # isprintable(): a quick pass for most keys
            what = control_char(key)
            if what is not None:
                raise SpecError("a key holds a control character; names and keys may not", loc=_loc(self.file, mark),
                                received=what)
        self.clean_keys.add(key)

    def duplicate_key(self, frame: _Frame, key, mark):
        raise SpecError(f"duplicate key '{key}' (first at {_loc(self.file, frame.obj._kmarks[key])})",
                        loc=_loc(self.file, mark))

    def too_many(self, mark):
        raise LimitError(f"the YAML holds more than {self.max_nodes:,} values (MAX_YAML_NODES; "
                         f"{limits.raise_hint('CNNCALC_MAX_YAML_NODES')})", loc=_loc(self.file, mark))

    def resolve_plain(self, text: str, mark):
        """A plain scalar's value (cached by its text when short)."""
        loader, file = self.loader, self.file
        tag = loader.resolve(ScalarNode, text, (True, False))
        if tag == _STR and _EXP_FLOAT.match(text):
            value = float(text)  # 1e-5: a float in YAML 1.2 and JSON, a string in PyYAML's YAML 1.1
        elif tag == _STR or tag == _MERGE or tag == _VALUE_TAG:
            value = text
        elif tag == _INT:
            if len(text) > limits.MAX_INT_DIGITS:
                _big_int(text, mark, file)
            digits = text[1:] if text[:1] == "-" else text
            if digits.isdecimal() and digits.isascii() and (digits[0] != "0" or digits == "0"):
                value = int(text)  # plain decimal; 0x…, 0o…, 0…, 1_000 and 1:30 go through PyYAML
            else:
                value = loader.construct_yaml_int(ScalarNode(tag, text))
        else:
            value = _construct(loader, tag, text, mark, file)
        if len(text) <= 64:
            self.cache[text] = value
        return value

    def tagged_scalar(self, ev):
        """A quoted, block or explicitly tagged scalar's value."""
        tag = ev.tag
        if tag is None or tag == "!":
            return ev.value  # quoted, literal or folded: a string
        if tag not in _SCALAR_TAGS:
            _refuse_tag(tag, ev.start_mark, self.file)
        if tag == _STR:
            return ev.value
        if tag == _INT and len(ev.value) > limits.MAX_INT_DIGITS:
            _big_int(ev.value, ev.start_mark, self.file)
        return _construct(self.loader, tag, ev.value, ev.start_mark, self.file)


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
        return _parse(_Base, text, filename)
    except yaml.YAMLError as e:
        if _Base is yaml.SafeLoader or _LIBYAML_NESTING not in str(e):
            raise _yaml_error(e, text, filename) from None
    try:  # libyaml's own nesting cap: cnncalc's limit decides, see _LIBYAML_NESTING
        return _parse(yaml.SafeLoader, text, filename)
    except yaml.YAMLError as e:
        raise _yaml_error(e, text, filename) from None


def _parse(loader_class, text: str, filename: str):
    loader = loader_class(text)
    try:
        return _Composer(loader, filename).compose_document()
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
