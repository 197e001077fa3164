"""Safe YAML loading that remembers where every key and value was written.

Mappings load as ``LocDict`` and sequences as ``LocList``: plain dict/list subclasses that
also carry the 1-based line:col of the node itself, of each key and of each value. Only
YAML's safe types are constructed (no Python object tags). PyYAML's C parser is used when
it is installed.
"""

from __future__ import annotations

from typing import Optional

import yaml

from ..errors import SpecError
from ..model import SourceLoc

try:  # the C parser is several times faster; constructors stay the safe Python ones
    _Base = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml not compiled in
    _Base = yaml.SafeLoader


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


class _Loader(_Base):
    cnn_filename = "<spec>"


_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_MERGE = "tag:yaml.org,2002:merge"


def _scalar(loader, node):
    """The common scalars without PyYAML's generic machinery; the rest through it (same result)."""
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag == _INT:
        v = node.value
        digits = v[1:] if v[:1] == "-" else v
        if digits.isdecimal() and digits.isascii() and (digits[0] != "0" or digits == "0"):
            return int(v)  # plain decimal; 0x…, 0o…, 0…, 1_000 and 1:30 go through PyYAML
    return loader.construct_object(node, deep=True)


def _new(loader, node, file):
    """An empty LocDict / LocList for a standard mapping / sequence node, or None."""
    if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
        if any(k.tag == _MERGE for k, _ in node.value):
            loader.flatten_mapping(node)
        d = LocDict()
        d._file, d._mark = file, node.start_mark
        return d
    if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
        seq = LocList()
        seq._file, seq._mark = file, node.start_mark
        seq._imarks = [child.start_mark for child in node.value]
        return seq
    return None


def construct(loader, root):
    """Build the document from its node tree, iteratively (deep nesting cannot overflow the
    stack). Aliases share one object, as in PyYAML; a node that contains itself is refused."""
    file = loader.cnn_filename
    if isinstance(root, yaml.ScalarNode):
        return _scalar(loader, root)
    top = _new(loader, root, file)
    if top is None:
        return loader.construct_object(root, deep=True)
    built = {id(root): top}
    open_ = {id(root)}
    stack = [(root, top, 0)]
    while stack:
        node, obj, i = stack.pop()
        children = node.value
        is_map = type(obj) is LocDict
        while i < len(children):
            if is_map:
                key_node, child = children[i]
                if isinstance(key_node, yaml.ScalarNode):
                    key = _scalar(loader, key_node)
                else:
                    key = loader.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    raise SpecError("a mapping key must be a plain value", loc=_as_loc(file, key_node.start_mark)) \
                        from None
                if key in obj:
                    raise SpecError(f"duplicate key '{key}'", loc=_as_loc(file, key_node.start_mark))
                obj._kmarks[key] = key_node.start_mark
                obj._vmarks[key] = child.start_mark
            else:
                child = children[i]
            i += 1
            if isinstance(child, yaml.ScalarNode):
                value = _scalar(loader, child)
            else:
                cid = id(child)
                value = built.get(cid)
                if value is None:
                    value = _new(loader, child, file)
                    if value is None:
                        value = loader.construct_object(child, deep=True)
                    else:
                        built[cid] = value
                        open_.add(cid)
                        if is_map:
                            obj[key] = value
                        else:
                            obj.append(value)
                        stack.append((node, obj, i))
                        stack.append((child, value, 0))
                        break
                elif cid in open_:
                    raise yaml.constructor.ConstructorError(None, None, "found unconstructable recursive node",
                                                            child.start_mark)
            if is_map:
                obj[key] = value
            else:
                obj.append(value)
        else:
            open_.discard(id(node))
    return top


def _construct_mapping(loader, node):  # nested in a non-standard collection (e.g. !!omap)
    return construct(loader, node)


def _construct_sequence(loader, node):
    return construct(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def load_yaml(text: str, filename: str):
    """Parse YAML text; any YAML problem becomes a located SpecError."""
    loader = _Loader(text)
    loader.cnn_filename = filename
    try:
        node = loader.get_single_node()
        return None if node is None else construct(loader, node)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        loc = SourceLoc(filename, mark.line + 1, mark.column + 1) if mark else SourceLoc(filename, 1, 1)
        problem = (e.problem or e.context or "malformed YAML").strip()
        if "could not determine a constructor" in problem or "unconstructable" in problem:
            problem = "tags that build objects are not allowed in a spec" if "constructor" in problem else problem
        raise SpecError(f"invalid YAML: {problem}", loc=loc) from None
    except yaml.YAMLError as e:
        raise SpecError(f"invalid YAML: {e}", loc=SourceLoc(filename, 1, 1)) from None
    finally:
        loader.dispose()
