"""Safe YAML loading that remembers where every key and value was written.

Mappings load as ``LocDict`` and sequences as ``LocList``: plain dict/list subclasses that
also carry the 1-based line:col of the node itself, of each key and of each value. Only
YAML's safe types are constructed (no Python object tags). PyYAML's C parser is used when
it is installed.
"""

from __future__ import annotations

import yaml

from ..errors import SpecError
from ..model import SourceLoc

try:  # the C parser is several times faster; constructors stay the safe Python ones
    _Base = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml not compiled in
    _Base = yaml.SafeLoader


class LocDict(dict):
    """A dict that knows where it, its keys and its values were written."""

    loc: SourceLoc | None = None

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.key_locs: dict = {}
        self.val_locs: dict = {}

    def key_loc(self, key):
        return self.key_locs.get(key, self.loc)

    def val_loc(self, key):
        return self.val_locs.get(key, self.loc)


class LocList(list):
    loc: SourceLoc | None = None

    def __init__(self, *a):
        super().__init__(*a)
        self.item_locs: list = []

    def item_loc(self, i):
        return self.item_locs[i] if i < len(self.item_locs) else self.loc


def _mark(loader, node) -> SourceLoc:
    m = node.start_mark
    return SourceLoc(loader.cnn_filename, m.line + 1, m.column + 1)


class _Loader(_Base):
    cnn_filename = "<spec>"


def _construct_mapping(loader, node):
    loader.flatten_mapping(node)
    d = LocDict()
    d.loc = _mark(loader, node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise SpecError("a mapping key must be a plain value", loc=_mark(loader, key_node)) from None
        if key in d:
            raise SpecError(f"duplicate key '{key}'", loc=_mark(loader, key_node))
        d[key] = loader.construct_object(value_node, deep=True)
        d.key_locs[key] = _mark(loader, key_node)
        d.val_locs[key] = _mark(loader, value_node)
    return d


def _construct_sequence(loader, node):
    seq = LocList(loader.construct_object(child, deep=True) for child in node.value)
    seq.loc = _mark(loader, node)
    seq.item_locs = [_mark(loader, child) for child in node.value]
    return seq


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def load_yaml(text: str, filename: str):
    """Parse YAML text; any YAML problem becomes a located SpecError."""
    loader = _Loader(text)
    loader.cnn_filename = filename
    try:
        return loader.get_single_data()
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
