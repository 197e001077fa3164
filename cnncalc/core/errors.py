"""One family of exceptions, each carrying where the problem is.

Library code raises these; only the CLI turns them into a message line and an exit code.
The message format is ``file:line:col: layer: what is wrong (received …)``.
"""

from __future__ import annotations

import difflib
import re
from typing import Iterable, Optional

from .exitcodes import EXIT_ERROR
from .model import SourceLoc


class CnnCalcError(Exception):
    """Base of every error cnncalc reports to a user."""

    exit_code = EXIT_ERROR

    def __init__(
        self,
        message: str,
        loc: Optional[SourceLoc] = None,
        layer: Optional[str] = None,
        received: Optional[str] = None,
        chain: tuple = (),
    ):
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.layer = layer
        self.received = received
        # instantiation chain for errors inside blocks: ((block, SourceLoc), ...)
        self.chain = tuple(chain)

    def located(self, loc: Optional[SourceLoc] = None, layer: Optional[str] = None) -> "CnnCalcError":
        """Fill in a location / layer name that the raiser did not know."""
        if self.loc is None and loc is not None:
            self.loc = loc
        if self.layer is None and layer is not None:
            self.layer = layer
        return self

    def format(self) -> str:
        parts = []
        if self.loc is not None:
            parts.append(one_line(str(self.loc)))
        if self.layer:
            parts.append(one_line(self.layer))
        text = clip(self.message, MAX_MESSAGE_CHARS)
        if self.received is not None:
            text += f" (received {clip(str(self.received), MAX_RECEIVED_CHARS)})"
        parts.append(text)
        line = ": ".join(parts)
        for block, loc in self.chain:
            line += f"; in {block} instantiated at {loc}" if loc else f"; in {block}"
        return one_line(line)

    def __str__(self) -> str:  # pragma: no cover - used by tracebacks in --debug only
        return self.format()


MAX_RECEIVED_CHARS = 80  # a received value quoted back is clipped to this
MAX_MESSAGE_CHARS = 300  # so is a message that quotes a huge key or name


# Control characters: C0 (tab and line breaks included), DEL, C1 (NEL U+0085 and the terminal's
# CSI U+009B among them), and Unicode's line and paragraph separators. None of them may reach a
# terminal or a CI log from a spec: names holding one are refused at load, and any other text
# quoted back (an error's received value, a check's message) goes through one_line().
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
CONTROL_NAMES = {0: "NUL", 7: "BEL", 8: "backspace", 9: "tab", 0x0A: "line feed", 0x0D: "carriage return",
                 0x1B: "ESC", 0x7F: "DEL", 0x85: "NEL", 0x9B: "CSI", 0x2028: "line separator",
                 0x2029: "paragraph separator"}


def one_line(text: str) -> str:
    """``text`` with every control character written as Python writes it in a repr (``\\n``,
    ``\\x1b``, ``\\u2028``), so that it prints on one line and sends the terminal nothing.

    >>> one_line("a\\nb\\x1b[31m")
    'a\\\\nb\\\\x1b[31m'
    """
    if CONTROL.search(text) is None:
        return text
    return CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def control_char(text: str) -> Optional[str]:
    """``"U+001B, ESC"`` for the first control character in ``text`` (see CONTROL), or None."""
    m = CONTROL.search(text)
    if m is None:
        return None
    code = ord(m.group())
    return f"U+{code:04X}, {CONTROL_NAMES.get(code, 'a control character')}"


def clip(text: str, limit: int) -> str:
    """``text`` cut in the middle to at most ``limit`` characters, and kept on one line.

    >>> clip("abcdefghij", 7)
    'abc…hij'
    """
    text = one_line(text)
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head):]


class SpecError(CnnCalcError):
    """The spec text is malformed: YAML, unknown keys, wrong value types."""


class ShapeError(CnnCalcError):
    """Hyperparameters do not fit the shapes flowing into a layer."""


class GraphError(CnnCalcError):
    """Names, inputs and connectivity: unknown `from:`, cycles, duplicates."""


class InputError(CnnCalcError):
    """A file that cannot be read, a built-in name that does not exist."""


class LimitError(CnnCalcError):
    """A resource limit was reached (size, depth, expansion)."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'conv'?"`` or ``""`` when nothing is close.

    >>> did_you_mean("cnov", ["conv", "dense"])
    "; did you mean 'conv'?"
    >>> did_you_mean("zzz", ["conv"])
    ''
    """
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
