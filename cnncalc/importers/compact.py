"""``cnncalc import FILE --compact``: repeated structures folded into ``blocks:`` and ``repeat:``.

Repetitions are found by the model's own names, as frameworks number them: the layers named
``S.i.LOCAL`` (``layer3.4.conv2``: stage ``layer3``, instance 4) with i = 0, 1, … in a row form
the instances of stage S. Keras's applications number inside underscore names
(``conv2_block1_1_conv``, from 1; EfficientNet's ``block2a_expand_conv``, by letter): when no
dotted numbering folds, those are read as ``conv2_block.0.1_conv``, ``block2.0.expand_conv``
(``keras_names``), and the folded spec names its layers so. A stage folds when

- its instances 1 … n−1 are identical but for their names (types, parameters, connections
  inside the instance, each reading the instance before it), and
- its instance 0 has the same layers with perhaps up to three different values (a stride of 2,
  a width, wherever they are written: block parameters set by ``first:``; never a kernel size), perhaps layers of its
  own (a projection shortcut: ``if: $first_only``, left out of the others, which then read what
  it read) and perhaps lacks some of theirs (a residual add: ``if: "${not first_only}"``).

A stage that does not fold is searched again one numbering deeper (``features.2.0``,
``features.2.1`` inside ``features``).

Numbered instances left over — those ``repeat`` cannot name (MobileNetV2's ``features.2`` …
``features.17``, RegNet's ``block2-0``) or whose values differ one by one (a stochastic-depth rate)
— share one block per structure, each written as one use named as the instance (``_sibling_blocks``).

Stages of the same structure share one block; values that differ between them become block
parameters (named after the parameter, or the layer and the parameter when two differ). Layers
outside any instance stay as they are, and nothing outside an instance may read a layer inside
it other than its last. The written spec is built and compared with the plain import layer by
layer (names — through the renaming, for Keras's —, types, inputs, shapes, every count and layer
parameter); anything else keeps the plain spec.
"""

from __future__ import annotations

import os
import re
from typing import Optional

from .common import Net, yaml_scalar

FIRST_ONLY = "first_only"
MAX_LEVEL = 3  # numberings searched below the first
MAX_FIRST_CHANGES = 3  # values the first instance may change (a stride, a width; one value may be in several places)
RESERVED = {"name", "from", "in", "repeat", "first", "if", FIRST_ONLY}


def _norm(v):
    if isinstance(v, tuple):
        return [_norm(x) for x in v]
    if isinstance(v, list):
        return [_norm(x) for x in v]
    return v


def _instance_key(name: str, level: int = 0) -> Optional[tuple]:
    """``layer1.0.downsample.0`` → ("layer1", 0, "downsample.0"); None when not numbered. ``level``
    skips that many numbers first (``features.2.0.block.0`` at level 1: ("features.2", 0, "block.0"))."""
    parts = name.split(".")
    for k in range(1, len(parts) - 1):
        if parts[k].isdigit() and (parts[k] == "0" or not parts[k].startswith("0")):
            if level == 0:
                return ".".join(parts[:k]), int(parts[k]), ".".join(parts[k + 1:])
            level -= 1
    return None


class _Stage:
    def __init__(self, stage: str):
        self.stage = stage
        self.instances: list = []  # lists of layer dicts
        self.start = 0  # index of the first layer in net.layers
        self.end = 0  # one past the last


def _stages(layers: list, level: int = 0, lo: int = 0, hi: Optional[int] = None) -> list:
    """Runs of instances S.0, S.1, … in the layer order (within layers[lo:hi])."""
    out: list = []
    seen_keys: set = set()
    bad: set = set()
    i = lo
    n = len(layers) if hi is None else hi
    cur: Optional[_Stage] = None
    while i < n:
        key = _instance_key(layers[i]["name"], level)
        if key is None:
            cur = None
            i += 1
            continue
        s, idx, _ = key
        j = i
        while j < n:
            k2 = _instance_key(layers[j]["name"], level)
            if k2 is None or k2[:2] != (s, idx):
                break
            j += 1
        if (s, idx) in seen_keys:
            bad.add(s)
        seen_keys.add((s, idx))
        if cur is not None and cur.stage == s and idx == len(cur.instances) and cur.end == i:
            cur.instances.append(layers[i:j])
            cur.end = j
        elif idx == 0:
            cur = _Stage(s)
            cur.instances.append(layers[i:j])
            cur.start, cur.end = i, j
            out.append(cur)
        else:
            cur = None
        i = j
    return [st for st in out if st.stage not in bad]


def _signature(inst: list, prefix: str, ext: Optional[str]) -> Optional[tuple]:
    """(ext input, [(local, type, params, refs)]) with refs local names or "in"; None when the
    instance reads more than one layer outside itself."""
    locals_: set = set()
    out = []
    for layer in inst:
        local = layer["name"][len(prefix):]
        refs = []
        for src in layer["inputs"]:
            if src.startswith(prefix) and src[len(prefix):] in locals_:
                refs.append(src[len(prefix):])
            else:
                if ext is None:
                    ext = src
                elif src != ext:
                    return None
                refs.append("in")
        params = {k: _norm(v) for k, v in layer["params"].items() if v is not None}
        out.append((local, layer["type"], params, tuple(refs)))
        locals_.add(local)
    return ext, out


def _default(type_: str, key: str):
    from .. import layers as registry

    spec = registry.get(type_).params.get(key)
    if spec is None or spec.required:
        raise KeyError(key)
    return _norm(spec.default)


class _Template:
    """One stage as a block: the union of its first instance's layers and the others'."""

    def __init__(self, stage: _Stage, entries: list, resolved: tuple):
        self.stage = stage
        self.entries = entries  # [local, type, refs, extra, {key: (F value, R value or None)}]
        self.resolved = resolved  # the layers every instance has, connections as the others read them
        self.virtual = False  # no layers of its own in its first instance, but in a block that has some

    def structure(self) -> tuple:
        return tuple((e[0], e[1], e[2], e[3]) for e in self.entries)


def _template(stage: _Stage, referenced: dict) -> Optional[_Template]:
    n = len(stage.instances)
    sigs = []
    for i, inst in enumerate(stage.instances):
        prefix = f"{stage.stage}.{i}."
        sig = _signature(inst, prefix, None)
        if sig is None:
            return None
        ext, body = sig
        if i > 0 and ext != stage.instances[i - 1][-1]["name"]:
            return None
        sigs.append(body)
        for layer in inst[:-1]:  # nothing outside the instance reads inside it
            if any(not r.startswith(prefix) for r in referenced.get(layer["name"], ())):
                return None
    first = sigs[0]
    rest = sigs[1] if n > 1 else first
    if any(s != rest for s in sigs[2:]):
        return None
    union = _union([e[0] for e in first], [e[0] for e in rest])
    if union is None:
        return None
    f_by = {e[0]: e for e in first}
    r_by = {e[0]: e for e in rest}
    kind = {loc: (None if loc in f_by and loc in r_by else "first" if loc in f_by else "rest") for loc in union}
    refs_of: dict = {}  # union local → refs as written in the block

    def resolve(ref, world):  # a layer left out in this world is the identity: what it reads
        while ref in kind and kind[ref] not in (None, world):
            ref = refs_of[ref][0] if refs_of[ref] else "in"
        return ref

    entries = []
    try:
        for loc in union:
            if kind[loc] == "first":
                _, type_, fp, refs = f_by[loc]
                refs_of[loc] = refs
                entries.append([loc, type_, refs, "first", {k: (v, None) for k, v in fp.items()}])
                continue
            if kind[loc] == "rest":
                _, type_, rp, refs = r_by[loc]
                refs_of[loc] = refs
                entries.append([loc, type_, refs, "rest", {k: (None, v) for k, v in rp.items()}])
                continue
            _, type_, fp, frefs = f_by[loc]
            _, rtype, rp, rrefs = r_by[loc]
            if rtype != type_:
                return None
            refs = next((c for c in (frefs, rrefs) if tuple(resolve(r, "first") for r in c) == frefs
                         and tuple(resolve(r, "rest") for r in c) == rrefs), None)
            if refs is None:
                return None
            refs_of[loc] = refs
            keys = list(dict.fromkeys(list(fp) + list(rp)))
            params = {k: (fp[k] if k in fp else _default(type_, k), rp[k] if k in rp else _default(type_, k))
                      for k in keys}
            entries.append([loc, type_, refs, None, params])
    except KeyError:
        return None
    # the block's output is its last layer, or what it stands for where it is left out
    if resolve(union[-1], "first") != first[-1][0] or resolve(union[-1], "rest") != rest[-1][0]:
        return None
    differing = len({(repr(f_), repr(r_)) for e in entries if e[3] is None for f_, r_ in e[4].values() if f_ != r_})
    if differing > MAX_FIRST_CHANGES or any(e[4]["kernel"][0] != e[4]["kernel"][1] for e in entries
                                            if e[3] is None and "kernel" in e[4]):
        return None  # two different things, not one repeated (MobileNetV2's 1×1 and 3×3 convs)
    resolved = tuple((e[0], e[1], tuple(resolve(r, "rest") for r in e[2])) for e in entries if e[3] != "first")
    return _Template(stage, entries, resolved)


def _union(first: list, rest: list) -> Optional[list]:
    """The layers of the first instance and of the others in one order (each keeps its own order),
    or None when the two orders cross."""
    import difflib

    out: list = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, first, rest, autojunk=False).get_opcodes():
        if tag == "equal":
            out += first[i1:i2]
        else:
            out += first[i1:i2] + rest[j1:j2]
    return out if len(set(out)) == len(out) else None


def _ident(text: str) -> str:
    s = re.sub(r"\W", "_", text)
    if not s or s[0].isdigit():
        s = "p_" + s
    return s


def _fill(group: list) -> bool:
    """Give every template of a group the same parameter keys (missing: the type's default)."""
    for pos in range(len(group[0].entries)):
        keys = list(dict.fromkeys(k for t in group for k in t.entries[pos][4]))
        for t in group:
            e = t.entries[pos]
            if t.virtual and e[3]:
                continue
            for k in keys:
                if k not in e[4]:
                    try:
                        d = _default(e[1], k)
                    except KeyError:
                        return False
                    e[4][k] = (None if e[3] == "rest" else d, None if e[3] == "first" else d)
    return True


def compact_yaml(net: Net) -> Optional[str]:
    """The spec with repeated structures folded, or None when nothing folds: stages (repeat) and
    then numbered siblings, or numbered siblings alone when that is shorter (EfficientNet's stages
    of two would otherwise take a block of their own beside the siblings')."""
    texts = [t for t in (_compact_yaml(net, True), _compact_yaml(net, False)) if t is not None]
    return min(texts, key=lambda t: t.count("\n")) if texts else None


def _compact_yaml(net: Net, stages: bool) -> Optional[str]:
    layers = net.layers
    referenced: dict = {}
    for layer in layers:
        for src in layer["inputs"]:
            referenced.setdefault(src, []).append(layer["name"])
    # the stages that fold, by the first numbering of the names, then the layers left over by the
    # next one (EfficientNet's features.2.0, features.2.1 inside features)
    templates = []
    covered = [False] * len(layers)
    for level in range(MAX_LEVEL + 1 if stages else 0):
        for st in _stages(layers, level):
            if any(covered[st.start:st.end]):
                continue
            t = _template(st, referenced)
            if t is not None:
                templates.append(t)
                covered[st.start:st.end] = [True] * (st.end - st.start)
    templates.sort(key=lambda t: t.stage.start)
    groups: dict = {}
    for t in templates:
        groups.setdefault(t.structure(), []).append(t)
    # a stage whose first instance has no layers of its own (ResNet-18's layer1) joins a block whose
    # first instances have some, when the layers they all have are the same
    for key in [k for k in groups if not any(e[3] for e in k)]:
        target = next((g for g in groups.values() if any(e[3] == "first" for e in g[0].entries)
                       and not any(e[3] == "rest" for e in g[0].entries)
                       and g[0].resolved == groups[key][0].resolved), None)
        if target is None:
            continue
        for t in groups.pop(key):
            own = {e[0]: e for e in t.entries}
            t.entries = [[e[0], e[1], e[2], e[3], {}] if e[3] else [e[0], e[1], e[2], None, own[e[0]][4]]
                         for e in target[0].entries]
            t.virtual = True
            target.append(t)
    blocks = []  # (block name, params {name: default}, entries with values or $refs, [(template, args, first)])
    used_names = set()
    from .. import layers as registry

    for group in groups.values():
        if sum(len(t.stage.instances) for t in group) < 2 or not _fill(group):
            continue
        stems = [t.stage.stage for t in group]
        common = os.path.commonprefix(stems).rstrip("0123456789._") if len(stems) > 1 else stems[0]
        bname = (_ident(common) if common else "block") + "_block"
        while bname in used_names or registry.canonical(bname) is not None:
            bname += "_"
        used_names.add(bname)
        params: dict = {}  # param name → (vector, default)
        vec_name: dict = {}
        has_extra = any(e[3] for e in group[0].entries)
        values_at: dict = {}
        order = sorted(range(len(group[0].entries)), key=lambda p, g=group: bool(g[0].entries[p][3]))  # common first
        for pos in order:
            local, type_, refs, extra, _ = group[0].entries[pos]
            values = {}
            keys = list(dict.fromkeys(k for t in group for k in t.entries[pos][4]))
            for k in keys:
                pairs = [t.entries[pos][4].get(k, (None, None)) for t in group]
                flat = [v for f_, r_ in pairs for v in (f_, r_) if v is not None]
                if all(v == flat[0] for v in flat):
                    values[k] = flat[0]
                    continue
                vec = (extra, repr(pairs))
                if vec not in vec_name and extra:  # a layer of the first instance only (or of the others
                    side = 0 if extra == "first" else 1  # only): any parameter with the same values there
                    mine = [pr[side] for pr in pairs]
                    vec_name[vec] = next((n for n, (pp, _, _) in params.items() if all(
                        b is None or a[side] == b for a, b in zip(pp, mine))), None)
                    if vec_name[vec] is None:
                        del vec_name[vec]
                if vec not in vec_name:
                    name = _ident(k) if _ident(k) not in params and _ident(k) not in RESERVED else \
                        _ident(f"{local}_{k}")
                    while name in params or name in RESERVED:
                        name += "_"
                    default = next(r_ if r_ is not None else f_ for f_, r_ in pairs
                                   if f_ is not None or r_ is not None)
                    params[name] = (pairs, default, extra)
                    vec_name[vec] = name
                values[k] = "$" + vec_name[vec]
            values_at[pos] = (local, type_, refs, extra, values)
        entries_out = [values_at[pos] for pos in range(len(group[0].entries))]
        uses = []
        for gi, t in enumerate(group):
            args: dict = {}
            first: dict = {}
            for pname, (pairs, default, extra) in params.items():
                f_, r_ = pairs[gi]
                if extra == "first":
                    if f_ is not None and f_ != default:
                        first[pname] = f_
                    continue
                if extra == "rest":
                    if r_ is not None and r_ != default:
                        args[pname] = r_
                    continue
                if r_ != default:
                    args[pname] = r_
                if f_ != r_:
                    first[pname] = f_
            if has_extra and not t.virtual:  # the first instance: its own layers in, the others' out
                first[FIRST_ONLY] = True
            uses.append((t, args, first))
        block_params = {p: d for p, (_, d, _) in params.items()}
        if has_extra:
            block_params[FIRST_ONLY] = False
        blocks.append((bname, block_params, entries_out, uses))
    covered = [False] * len(layers)
    for _, _, _, uses in blocks:
        for t, _, _ in uses:
            covered[t.stage.start:t.stage.end] = [True] * (t.stage.end - t.stage.start)
    blocks += _sibling_blocks(layers, covered, referenced, used_names)
    if not blocks:
        return None
    return _write(net, blocks)


# ---------------------------------------------------------------------------------------------
# Numbered siblings that no repeat can name: MobileNetV2's features.2 … features.17, RegNet's
# trunk_output.block2.block2-0, EfficientNet's and ConvNeXt's features.3.0, features.3.1 whose
# stochastic-depth rates differ. Instances of one structure share a block; each is one use of it,
# named as the instance (``- features_block: {name: features.5, filters: 192}``), with the values
# that differ as block parameters.

# 3; RegNet's block2-0; ViT's encoder_layer_11 (a part inside a name, never the last)
NUMBERED_PART = re.compile(r"^(?:0|[1-9][0-9]*|[A-Za-z_]\w*[-_](?:0|[1-9][0-9]*))$")
MAX_SIBLING_PARAMS = 8  # more values that differ: not one structure repeated, but several


def _sibling_prefix(name: str, level: int) -> Optional[str]:
    """``features.3.conv.0.0`` → ``features.3`` (level 0), ``features.3.conv.0`` (level 1): the name
    up to and including its (level+1)-th numbered part (RegNet's ``block1-0`` and ViT's
    ``encoder_layer_0`` count), never the whole name."""
    parts = name.split(".")
    for k in range(1, len(parts) - 1):
        if NUMBERED_PART.match(parts[k]):
            if level == 0:
                return ".".join(parts[:k + 1])
            level -= 1
    return None


class _SibUse:
    """One instance written as one use of a sibling block."""

    def __init__(self, prefix: str, start: int, end: int, ext: str, body: list):
        self.prefix, self.start, self.end, self.ext, self.body = prefix, start, end, ext, body
        self.args: dict = {}


def _sibling_groups(layers: list, prefixes: list, covered: list, referenced: dict) -> list:
    """[(instances of one structure, entries, params)] for the uncovered instances, ``prefixes``
    giving each layer's instance at one numbering level."""
    count: dict = {}
    for p in prefixes:
        if p is not None:
            count[p] = count.get(p, 0) + 1
    by_structure: dict = {}
    i, n = 0, len(layers)
    while i < n:
        p = None if covered[i] else prefixes[i]
        if p is None:
            i += 1
            continue
        j = i
        while j < n and not covered[j] and prefixes[j] == p:
            j += 1
        inst, i = layers[i:j], j
        if len(inst) < 2 or count[p] != len(inst):  # one layer, or the instance is not all here
            continue
        sig = _signature(inst, p + ".", None)
        if sig is None or any(not r.startswith(p + ".") for layer in inst[:-1]
                              for r in referenced.get(layer["name"], ())):
            continue  # reads two layers outside itself, or is read inside
        use = _SibUse(p, j - len(inst), j, sig[0], sig[1])
        by_structure.setdefault(tuple((e[0], e[1], e[3]) for e in sig[1]), []).append(use)
    groups = []
    for uses in by_structure.values():
        if len(uses) < 2:
            continue
        entries, params, vec_name = [], {}, {}  # params: name → (values per use, default)
        try:
            for pos, (local, type_, _, refs) in enumerate(uses[0].body):
                keys = list(dict.fromkeys(k for u in uses for k in u.body[pos][2]))
                values = {}
                for k in keys:
                    vec = [u.body[pos][2][k] if k in u.body[pos][2] else _default(type_, k) for u in uses]
                    if all(v == vec[0] for v in vec):
                        values[k] = vec[0]
                        continue
                    if repr(vec) not in vec_name:
                        name = _ident(k) if _ident(k) not in params else _ident(f"{local}_{k}")
                        while name in params or name in RESERVED:
                            name += "_"
                        reprs = [repr(v) for v in vec]
                        params[name] = (vec, vec[max(range(len(vec)), key=lambda x: (reprs.count(reprs[x]), -x))])
                        vec_name[repr(vec)] = name
                    values[k] = "$" + vec_name[repr(vec)]
                entries.append((local, type_, refs, None, values))
        except KeyError:
            continue
        if len(params) > MAX_SIBLING_PARAMS:
            continue
        for ui, u in enumerate(uses):
            u.args = {name: vec[ui] for name, (vec, default) in params.items() if vec[ui] != default}
        groups.append((uses, entries, {name: default for name, (_, default) in params.items()}))
    return groups


def _sibling_blocks(layers: list, covered: list, referenced: dict, used_names: set) -> list:
    """Blocks for the numbered siblings the stages left: by one numbering, then by the next that saves
    the most lines on what is left, starting with the numbering that saves the most in the end."""
    from .. import layers as registry

    def saving(group) -> int:
        uses, entries, params = group  # each instance becomes a line; the block's head and "params:" come
        return sum(u.end - u.start - 1 for u in uses) - (3 if params else 2) - len(entries)

    prefixes = [[_sibling_prefix(layer["name"], level) for layer in layers] for level in range(MAX_LEVEL + 1)]
    cache: dict = {}

    def groups_at(level: int, cov: list) -> list:  # the plans share most of their steps
        key = (level, bytes(cov))
        if key not in cache:
            cache[key] = [g for g in _sibling_groups(layers, prefixes[level], cov, referenced) if saving(g) > 0]
        return cache[key]

    def plan(first_level: int) -> tuple:
        cov, chosen, total, level = list(covered), [], 0, first_level
        while level is not None:
            groups = groups_at(level, cov)
            for uses, _, _ in groups:
                for u in uses:
                    cov[u.start:u.end] = [True] * (u.end - u.start)
            chosen += groups
            total += sum(saving(g) for g in groups)
            best = max(((sum(saving(g) for g in groups_at(lv, cov)), -lv)
                        for lv in range(MAX_LEVEL + 1)), default=(0, 0))
            level = -best[1] if best[0] > 0 else None
        return total, chosen, cov

    _, chosen, cov = max((plan(lv) for lv in range(MAX_LEVEL + 1)), key=lambda p: p[0])
    covered[:] = cov
    out = []
    for uses, entries, params in sorted(chosen, key=lambda g: g[0][0].start):
        common = os.path.commonprefix([u.prefix for u in uses]).rstrip("0123456789._-")
        stem = (_ident(common) if common else "block") + "_block"
        bname, k = stem, 1
        while bname in used_names or registry.canonical(bname) is not None:
            k += 1
            bname = f"{stem}{k}"
        used_names.add(bname)
        out.append((bname, params, entries, uses))
    return out


def _write(net: Net, blocks: list) -> str:
    from .. import layers as registry

    lines = net.head(", repeated structures folded (--compact)") + ["blocks:"]
    starts: dict = {}
    for bname, bparams, entries, uses in blocks:
        lines.append(f"  {bname}:")
        if bparams:
            lines.append("    params: {" + ", ".join(f"{k}: {yaml_scalar(v)}" for k, v in bparams.items()) + "}")
        lines.append("    layers:")
        prev = "in"
        for local, type_, refs, extra, values in entries:
            spec = registry.get(type_).params
            items: list = [("name", local)]
            for k, v in values.items():
                if isinstance(v, str) and v.startswith("$"):
                    items.append((k, v))
                elif not (k in spec and not spec[k].required and _norm(spec[k].default) == v):
                    items.append((k, v))
            if list(refs) != [prev]:
                items.append(("from", refs[0] if len(refs) == 1 else list(refs)))
            if extra == "first":
                items.append(("if", "$" + FIRST_ONLY))
            elif extra == "rest":
                items.append(("if", "${not " + FIRST_ONLY + "}"))
            lines.append(f"      - {type_}: {{" + ", ".join(f"{k}: {yaml_scalar(v)}" for k, v in items) + "}")
            prev = local
        for use in uses:
            if isinstance(use, _SibUse):
                starts[use.start] = (bname, use, None, None)
            else:
                t, args, first = use
                starts[t.stage.start] = (bname, t, args, first)
    lines.append("layers:")
    layers = net.layers
    # a layer after a folded instance names its output by the instance's name (features.3 rather
    # than features.3.block.2.1, which would read as part 1 of instance features.3.block.2)
    out_name = {}
    for _, t, _, _ in starts.values():
        if isinstance(t, _SibUse):
            out_name[layers[t.end - 1]["name"]] = t.prefix
    prev = "input"
    i = 0
    while i < len(layers):
        if i in starts:
            bname, t, args, first = starts.pop(i)
            if isinstance(t, _SibUse):
                items = [("name", t.prefix)] + list(t.args.items())
                if t.ext != prev:
                    items.append(("from", out_name.get(t.ext, t.ext)))
                lines.append(f"  - {bname}: {{" + ", ".join(f"{k}: {yaml_scalar(v)}" for k, v in items) + "}")
                prev = layers[t.end - 1]["name"]
                i = t.end
                continue
            st = t.stage
            n = len(st.instances)
            ext = st.instances[0][0]["inputs"]
            ext_in = next((s for layer in st.instances[0] for s in layer["inputs"]
                           if not s.startswith(f"{st.stage}.0.")), ext[0] if ext else prev)
            items: list = [("name", st.stage if n > 1 else f"{st.stage}.0")]
            if n > 1:
                items.append(("repeat", n))
                items += list(args.items())
                if first:
                    items.append(("first", "{" + ", ".join(f"{k}: {yaml_scalar(v)}" for k, v in first.items())
                                  + "}"))
            else:
                items += list({**args, **first}.items())
            if ext_in != prev:
                items.append(("from", out_name.get(ext_in, ext_in)))
            body = ", ".join(f"{k}: {v}" if k == "first" else f"{k}: {yaml_scalar(v)}" for k, v in items)
            lines.append(f"  - {bname}: {{{body}}}")
            prev = st.instances[-1][-1]["name"]
            i = st.end
            continue
        layer = layers[i]
        items = [("name", layer["name"])]
        items += [(k, v) for k, v in layer["params"].items() if v is not None]
        ins = layer["inputs"]
        if ins != [prev]:
            ins = [out_name.get(x, x) for x in ins]
            items.append(("from", ins[0] if len(ins) == 1 else ins))
        lines.append(f"  - {layer['type']}: {{" + ", ".join(f"{k}: {yaml_scalar(v)}" for k, v in items) + "}")
        prev = layer["name"]
        i += 1
    return "\n".join(lines) + "\n"


# Keras applications number repetitions inside underscore names, from 1 or by letter:
# ResNet50's conv2_block1_1_conv, conv2_block2_1_conv (stage conv2_block, instances 1, 2, …) and
# EfficientNet's block2a_expand_conv, block2b_expand_conv (stage block2, instances a, b, …)
KERAS_NUMBERED = (
    (re.compile(r"^(?P<stage>[A-Za-z]\w*?_block)(?P<n>[1-9][0-9]*)_(?P<rest>\w+)$"), lambda m: int(m["n"]) - 1),
    (re.compile(r"^(?P<stage>block[0-9]+)(?P<n>[a-z])_(?P<rest>\w+)$"), lambda m: ord(m["n"]) - ord("a")),
)


def keras_names(net: Net) -> dict:
    """{Keras name: dotted name} for the layers numbered the Keras way (conv2_block1_1_conv →
    conv2_block.0.1_conv, block2a_expand_conv → block2.0.expand_conv: instances from 0, as blocks
    name them; inside a nested model, base.conv2_block1_1_conv → base.conv2_block.0.1_conv); {}
    when none is, or when the dotted names would not stay distinct."""
    names = [layer["name"] for layer in net.layers]
    out = {}
    for name in names:
        outer, dot, own = name.rpartition(".")  # a nested model's layer: base.conv2_block1_1_conv
        for pattern, index in KERAS_NUMBERED:
            m = pattern.match(own)
            if m:
                out[name] = f"{outer}{dot}{m['stage']}.{index(m)}.{m['rest']}"
                break
    dotted = [out.get(n, n) for n in names]
    if not out or len(set(dotted)) != len(dotted) or "input" in out.values():
        return {}
    return out


def _renamed(net: Net, names: dict) -> Net:
    """The same network with its layers renamed (and every reference to them)."""
    copy = Net(net.display, net.kind, net.name)
    copy.input_shape, copy.notes = net.input_shape, list(net.notes)
    copy.shapes = {names.get(k, k): v for k, v in net.shapes.items()}
    copy.layers = [{**layer, "name": names.get(layer["name"], layer["name"]),
                    "inputs": [names.get(src, src) for src in layer["inputs"]]} for layer in net.layers]
    return copy


def same_figures(plain: str, folded: str, display: str, names: Optional[dict] = None) -> bool:
    """Both specs build to the same layers: names (the plain spec's through ``names``, when the
    folded one renames them), types, inputs, shapes, every count and every layer parameter (a
    stochastic-depth rate too)."""
    from ..core.analysis import analyze
    from ..core.errors import CnnCalcError
    from ..load import parse_spec

    try:
        a = analyze(parse_spec(plain, display))
        b = analyze(parse_spec(folded, display))
    except CnnCalcError:
        return False

    def rows(rep, to=None):
        to = to or {}
        return [(to.get(r.name, r.name), r.type, tuple(to.get(i, i) for i in r.inputs), tuple(r.output_shape),
                 r.weights, r.biases, r.non_trainable_params, r.macs, r.flops, r.activations,
                 repr(sorted((k, _norm(v)) for k, v in (r.spec.params if r.spec is not None else {}).items())))
                for r in rep.layers]

    return rows(a, names) == rows(b)


def compact(net: Net) -> tuple:
    """(spec text, folded?) — the folded spec when it builds to the same figures, else the plain one."""
    plain = net.to_yaml()
    folded = compact_yaml(net)
    names: dict = {}
    if folded is None and keras_names(net):  # Keras's numbering: fold under dotted names
        names = keras_names(net)
        folded = compact_yaml(_renamed(net, names))
        if folded is not None:
            head, sep, rest = folded.partition("\n")
            first = next(iter(names.items()))
            folded = (f"{head}\n# layer names: Keras numbers repetitions inside the name ({first[0]}); blocks "
                      f"name instance i (from 0) S.i.LOCAL: {first[1]}{sep}{rest}")
    if folded is not None and same_figures(plain, folded, net.display, names):
        return folded, True
    why = ("no repeated structure found: repetitions are found by numbered names (S.0.…, S.1.…; Keras's "
           "S_blockN_… and blockNx_…)" if folded is None
           else "the folded spec did not build to the same layers")
    head, sep, rest = plain.partition("\n")
    return f"{head}\n# --compact: {why}; the plain spec is written{sep}{rest}", False


__all__ = ["compact", "compact_yaml", "keras_names", "same_figures"]
