"""cnncalc: CNN shape, parameter, memory and FLOP calculator.

>>> from cnncalc import load_spec, analyze, parse_dsl
>>> analyze(load_spec("vgg16")).totals.params
138357544
>>> analyze(parse_dsl("input 32x32x3 | conv 10 k5 p2")).to_dict()["totals"]["params"]
760
"""

from __future__ import annotations

__version__ = "0.2.0"

__all__ = ["load_spec", "parse_spec", "parse_dsl", "analyze", "Conventions", "CnnCalcError", "__version__"]


def __getattr__(name):  # lazy: `import cnncalc` stays cheap for the CLI
    if name in ("load_spec", "parse_spec"):
        from . import load as spec

        return getattr(spec, name)
    if name == "parse_dsl":
        from .load.dsl import parse_dsl

        return parse_dsl
    if name == "analyze":
        from .core.analysis import analyze

        return analyze
    if name == "Conventions":
        from .core.model import Conventions

        return Conventions
    if name == "CnnCalcError":
        from .core.errors import CnnCalcError

        return CnnCalcError
    raise AttributeError(name)
