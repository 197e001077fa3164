"""Resource limits, in one place. Each can be raised with an environment variable where a
user could legitimately need more (documented in README, "Bad input and limits").

Every limit is checked before the work it bounds is done: the file size before the file is
read in full, YAML depth and node counts while the parser's events stream in (an alias bomb
is refused at the alias that crosses the budget), repeat counts before anything is expanded.
"""

from __future__ import annotations

import os


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


MAX_SPEC_BYTES = _env_int("CNNCALC_MAX_SPEC_BYTES", 16 * 1024 * 1024)  # size of one spec file
# layers after blocks/repeat expansion, entries left out by if: counted too. Each layer costs tens
# of microseconds to build, analyse and print, so 100,000 keeps any spec within seconds (a
# million took 106 s and 1.9 GB).
MAX_LAYERS = _env_int("CNNCALC_MAX_LAYERS", 100_000)
MAX_REPEAT = _env_int("CNNCALC_MAX_REPEAT", 1_000_000)  # one repeat count
MAX_BLOCK_DEPTH = 32  # blocks using blocks
MAX_YAML_DEPTH = _env_int("CNNCALC_MAX_YAML_DEPTH", 100)  # lists/mappings inside each other
# YAML values (keys, scalars, lists, mappings), aliases expanded. Each costs microseconds and
# about 100 bytes to load; 16 MiB of scalars under an ignored key took 16 s and 800 MB at the
# old 10,000,000. A 100,000-layer spec written flat (- conv: {filters: 8, kernel: 3}) has ~700,000.
MAX_YAML_NODES = _env_int("CNNCALC_MAX_YAML_NODES", 1_000_000)
MAX_LINE_CHARS = _env_int("CNNCALC_MAX_LINE_CHARS", 100_000)  # one line of a spec
MAX_INT_DIGITS = 100  # digits of one integer written in a spec (no network needs more)
MAX_NAME_CHARS = 200  # a layer or block name
# a layer's full name, its block instances' names joined by '.' (layer3.4.conv2): 32 nested
# blocks of 200-character names repeated to 100,000 layers took 121 s and 5.8 GB
MAX_FULL_NAME_CHARS = 500


def raise_hint(env: str) -> str:
    """``"set CNNCALC_X to raise it"`` — the tail of a limit message."""
    return f"set {env} to raise it"
# cnncalc values: numbers in one tensor, and multiply-accumulates of one run (a calculator, not a
# framework: pure Python does about 18 million exact MACs a second)
MAX_VALUE_ELEMENTS = _env_int("CNNCALC_MAX_VALUE_ELEMENTS", 1_048_576)
MAX_VALUE_MACS = _env_int("CNNCALC_MAX_VALUE_MACS", 50_000_000)
