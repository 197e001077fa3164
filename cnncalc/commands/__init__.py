"""Commands that live in modules of their own. Each module has ``register(app)``.

Modules must stay cheap to import (the CLI's start-up time matters): import heavy things
inside the command functions.
"""

from __future__ import annotations

import importlib

MODULES = ("quick", "grade", "check", "schema", "compare")


def register_all(app) -> None:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}").register(app)
