"""A small reader of protobuf's text format (what Caffe's ``.prototxt`` files are), without
protobuf: messages ``name { … }`` (also ``name: { … }`` and ``name < … >``), scalars
``name: value`` (numbers, identifiers such as ``MAX``, quoted strings, lists ``[1, 2]``),
``#`` comments. Every value keeps its line and column for error messages.

>>> m = parse('name: "n" layer { name: "c" convolution_param { kernel_size: 3 pad: 1 } }', "x")
>>> m.first("name"), m.all("layer")[0].msg("convolution_param").first("kernel_size")
('n', 3)
"""

from __future__ import annotations

import re
from typing import Any

from ..core import limits
from ..core.errors import LimitError, SpecError
from ..core.model import SourceLoc

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\f\v]+|\n)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<number>[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)[fF]?(?![A-Za-z_0-9]))
  | (?P<ident>[-+]?[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<punct>[{}<>\[\]:,;])
""", re.VERBOSE)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b",
            "f": "\f", "v": "\v", "?": "?"}


class Msg:
    """A message: field name → list of (value, SourceLoc), in file order."""

    def __init__(self, loc: SourceLoc):
        self.loc = loc
        self.fields: dict = {}

    def add(self, key: str, value: Any, loc: SourceLoc) -> None:
        self.fields.setdefault(key, []).append((value, loc))

    def all(self, key: str) -> list:
        return [v for v, _ in self.fields.get(key, [])]

    def first(self, key: str, default: Any = None) -> Any:
        got = self.fields.get(key)
        return got[0][0] if got else default

    def loc_of(self, key: str) -> SourceLoc:
        got = self.fields.get(key)
        return got[0][1] if got else self.loc

    def msg(self, key: str) -> "Msg":
        """A sub-message (an empty one when absent)."""
        v = self.first(key)
        if v is None:
            return Msg(self.loc)
        if not isinstance(v, Msg):
            raise SpecError(f"'{key}' must be a message {{ … }}", loc=self.loc_of(key), received=repr(v))
        return v


def _unquote(text: str, loc: SourceLoc) -> str:
    body = text[1:-1]
    if "\\" not in body:
        return body
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            m = re.match(r"[0-7]{1,3}", body[i + 1:])
            if m:
                out.append(chr(int(m.group(), 8)))
                i += 1 + len(m.group())
                continue
            raise SpecError(f"unknown escape \\{nxt} in a string", loc=loc)
        out.append(ch)
        i += 1
    return "".join(out)


def _number(text: str, loc: SourceLoc) -> Any:
    t = text.rstrip("fF") if not text.lower().startswith(("0x", "-0x", "+0x")) else text
    hexa = re.fullmatch(r"[-+]?0[xX]([0-9a-fA-F]+)", t)
    decimal = re.fullmatch(r"[-+]?(\d+)", t)
    digits = (hexa or decimal).group(1) if hexa or decimal else ""
    if len(digits) > limits.MAX_INT_DIGITS:  # as in a spec: exact up to 100 digits, refused beyond
        raise LimitError(f"an integer of {len(digits):,} digits is over the limit of {limits.MAX_INT_DIGITS} "
                         "digits (MAX_INT_DIGITS)", loc=loc)
    if hexa:
        return int(t, 16)
    if decimal:
        return int(t)
    return float(t)


def tokenize(text: str, filename: str) -> list:
    """(kind, value, SourceLoc) for each token; an unreadable character is an error at its place."""
    tokens = []
    pos, line, line_start = 0, 1, 0
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            loc = SourceLoc(filename, line, pos - line_start + 1)
            ch = text[pos]
            what = "an unclosed string" if ch in "\"'" else f"unexpected character {ch!r}"
            raise SpecError(f"not protobuf text format: {what}", loc=loc)
        kind = m.lastgroup
        if kind == "ws":
            if m.group() == "\n":
                line += 1
                line_start = m.end()
        elif kind != "comment":
            tokens.append((kind, m.group(), SourceLoc(filename, line, pos - line_start + 1)))
        pos = m.end()
    tokens.append(("eof", "", SourceLoc(filename, line, pos - line_start + 1)))
    return tokens


def parse(text: str, filename: str) -> Msg:
    """Protobuf text → the top-level Msg (iterative: deep nesting cannot exhaust the stack)."""
    tokens = tokenize(text, filename)
    root = Msg(SourceLoc(filename, 1, 1))
    stack = [(root, None, None)]  # (message, closing bracket, where it opened)
    i = 0

    def scalar(j):
        kind, value, loc = tokens[j]
        if kind == "string":
            s = _unquote(value, loc)
            while tokens[j + 1][0] == "string":  # "a" "b" is "ab"
                j += 1
                s += _unquote(tokens[j][1], tokens[j][2])
            return s, j + 1
        if kind == "number":
            return _number(value, loc), j + 1
        if kind == "ident":
            low = value.lower().lstrip("+")
            if low in ("inf", "infinity", "-inf", "-infinity", "nan", "-nan"):
                return float(low), j + 1
            if low in ("true", "t"):
                return True, j + 1
            if low in ("false", "f"):
                return False, j + 1
            return value, j + 1
        raise SpecError("expected a value", loc=loc, received=repr(value) if value else "the end of the file")

    while True:
        kind, value, loc = tokens[i]
        msg, closer, opened = stack[-1]
        if kind == "eof":
            if closer is not None:
                raise SpecError(f"the file ends inside a message: '{closer}' missing for the one opened at "
                                f"{opened}", loc=loc)
            return root
        if kind == "punct" and value in "}>":
            if value != closer:
                raise SpecError(f"unexpected '{value}'" + (f" (expected '{closer}')" if closer else
                                                           " (no message is open)"), loc=loc)
            stack.pop()
            i += 1
            continue
        if kind == "punct" and value in ",;":
            i += 1
            continue
        if kind != "ident":
            raise SpecError("expected a field name", loc=loc, received=repr(value))
        key, key_loc = value, loc
        i += 1
        kind, value, loc = tokens[i]
        colon = kind == "punct" and value == ":"
        if colon:
            i += 1
            kind, value, loc = tokens[i]
        if kind == "punct" and value in "{<":
            sub = Msg(loc)
            msg.add(key, sub, key_loc)
            stack.append((sub, "}" if value == "{" else ">", loc))
            if len(stack) > 200:
                raise SpecError("messages nested more than 200 deep", loc=loc)
            i += 1
            continue
        if not colon:
            raise SpecError(f"expected ':' or '{{' after '{key}'", loc=loc,
                            received=repr(value) if value else "the end of the file")
        if kind == "punct" and value == "[":
            i += 1
            while not (tokens[i][0] == "punct" and tokens[i][1] == "]"):
                v, i = scalar(i)
                msg.add(key, v, key_loc)
                if tokens[i][0] == "punct" and tokens[i][1] == ",":
                    i += 1
                elif not (tokens[i][0] == "punct" and tokens[i][1] == "]"):
                    raise SpecError("expected ',' or ']' in a list", loc=tokens[i][2],
                                    received=repr(tokens[i][1]) if tokens[i][1] else "the end of the file")
            i += 1
            continue
        v, i = scalar(i)
        msg.add(key, v, key_loc)
