"""Resource limits, in one place. Each can be raised with an environment variable where a
user could legitimately need more (documented in README)."""

from __future__ import annotations

import os


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


MAX_SPEC_BYTES = _env_int("CNNCALC_MAX_SPEC_BYTES", 16 * 1024 * 1024)  # size of one spec file
MAX_LAYERS = _env_int("CNNCALC_MAX_LAYERS", 1_000_000)  # layers after blocks/repeat expansion
MAX_REPEAT = _env_int("CNNCALC_MAX_REPEAT", 1_000_000)  # one repeat count
MAX_BLOCK_DEPTH = 32  # blocks using blocks
