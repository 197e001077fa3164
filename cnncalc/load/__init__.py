"""Finding, reading and building specs: a path, a built-in name, or YAML text."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..core.errors import InputError, LimitError, SpecError, did_you_mean
from ..core.limits import MAX_SPEC_BYTES
from ..core.model import Graph, SourceLoc
from .build import build_graph
from .yamlio import load_yaml

MODEL_SUFFIXES = (".prototxt", ".onnx", ".keras", ".h5", ".hdf5", ".json")  # cnncalc.importers.SUFFIXES


def builtin_dir() -> Path:
    """Where the shipped specs are: inside the installed package, or the repo's specs/."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "specs"
    if packaged.is_dir():
        return packaged
    return here.parent / "specs"


def builtin_names() -> list:
    d = builtin_dir()
    return sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []


def read_text(path: Path, display: str) -> str:
    """A spec file's text. The size cap is enforced by a bounded read, not by stat alone, so
    devices and pipes (``/dev/zero``, ``<(generate)``) cannot make cnncalc read forever; a pipe
    is opened without waiting for a writer. A UTF-8 BOM is dropped; CRLF is left to YAML."""
    limit = MAX_SPEC_BYTES
    too_big = (f"over the {limit:,}-byte limit (MAX_SPEC_BYTES; set CNNCALC_MAX_SPEC_BYTES to raise it)")
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{display}: is a directory, not a spec file")
        regular = stat.S_ISREG(st.st_mode)
        if regular and st.st_size > limit:
            raise LimitError(f"the file is {st.st_size:,} bytes, {too_big}", loc=SourceLoc(display, 1, 1))
        flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | (0 if regular else getattr(os, "O_NONBLOCK", 0))
        fd = os.open(path, flags)
        try:
            if not regular and hasattr(os, "set_blocking"):
                os.set_blocking(fd, True)
            chunks = []
            got = 0
            while got <= limit:
                chunk = os.read(fd, min(1 << 20, limit + 1 - got))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
        finally:
            os.close(fd)
        data = b"".join(chunks)
        if len(data) > limit:
            raise LimitError(f"the file is {too_big}", loc=SourceLoc(display, 1, 1))
    except FileNotFoundError:
        raise InputError(f"{display}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{display}: is a directory, not a spec file") from None
    except PermissionError:
        raise InputError(f"{display}: permission denied") from None
    except OSError as e:
        raise InputError(f"{display}: cannot read ({e.strerror or e})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        col = len(data[data.rfind(b"\n", 0, e.start) + 1: e.start].decode("utf-8", "replace")) + 1
        raise SpecError("the file is not UTF-8 text", loc=SourceLoc(display, line, col),
                        received=f"byte 0x{data[e.start]:02x}") from None


def resolve(source: str) -> tuple:
    """A spec argument → (text, display name). Paths win over built-in names."""
    path = Path(source)
    try:
        exists = path.exists() or path.is_symlink()
    except (OSError, ValueError):  # a name longer than the system allows (ENAMETOOLONG), a NUL
        exists = False
    if exists:
        if path.suffix.lower() in MODEL_SUFFIXES:  # a model file of another framework → its spec
            from ..importers import NotAModel, load_model

            try:
                return load_model(source), source
            except NotAModel:  # a spec written in JSON: read as YAML below
                pass
        return read_text(path, source), source
    if source.startswith("torch:"):  # a PyTorch module (cnncalc.importers.torch_): needs --input
        from ..importers import load_model

        return load_model(source), source
    names = builtin_names()
    key = source.strip().lower()
    if key in names:
        p = builtin_dir() / f"{key}.yaml"
        return read_text(p, f"{key}.yaml"), f"{key}.yaml"
    if (any(sep in source for sep in ("/", "\\")) or source.endswith((".yaml", ".yml"))
            or source.lower().endswith(MODEL_SUFFIXES)):
        raise InputError(f"{source}: no such file")
    raise InputError(f"no spec file or built-in network called '{source}'" + did_you_mean(key, names)
                     + builtin_hint(names))


def builtin_hint(names=None) -> str:
    """' (built-in: alexnet, …)' for an error line; once the list is too long for one line (errors
    are cut at 300 characters), where to find it."""
    names = builtin_names() if names is None else names
    listing = ", ".join(names)
    return f" (built-in: {listing})" if len(listing) <= 160 else " (the built-in networks: cnncalc list)"


def parse_spec(text, filename: str = "<spec>", default_name: str | None = None) -> Graph:
    """YAML text (or the mapping it would load to: ``{"input": [32, 32, 3], "layers": [...]}``)
    → Graph. Anything else is an InputError, not a TypeError."""
    if isinstance(text, dict):
        doc = text
    elif isinstance(text, (bytes, bytearray)):
        try:
            doc = load_yaml(bytes(text).decode("utf-8-sig"), filename)
        except UnicodeDecodeError:
            raise InputError(f"{filename}: the spec is not UTF-8 text") from None
    elif isinstance(text, str):
        doc = load_yaml(text, filename)
    else:
        raise InputError("parse_spec takes YAML text or a mapping (a dict with 'input' and 'layers')",
                         received=type(text).__name__)
    if default_name is None:
        default_name = Path(filename).stem if filename and not filename.startswith("<") else "network"
    return build_graph(doc, filename, default_name)


def load_spec(source: str) -> Graph:
    """A path or a built-in name → Graph."""
    text, display = resolve(source)
    return parse_spec(text, display)


def with_input(graph: Graph, text: str) -> Graph:
    """The graph with another input size (``--input 299x299x3``); every layer is inferred again."""
    from dataclasses import replace

    from ..core.sizes import parse_size
    from ..layers.base import ParamError

    try:
        shape = parse_size(text)
    except ParamError as e:
        raise InputError(f"--input: the input size {e.message}", received=repr(text)) from None
    first = graph.layers[0]
    inp = replace(first, params={**dict(first.params), "shape": shape})
    return replace(graph, input_shape=shape, layers=(inp,) + tuple(graph.layers[1:]))


__all__ = ["load_spec", "parse_spec", "resolve", "with_input", "builtin_names", "builtin_dir", "MAX_SPEC_BYTES"]
