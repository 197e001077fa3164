"""What a spec says it must satisfy (``expect:``, ``budget:``), checked against its report.

``expect:`` holds exact figures (the whole network, and per named layer under ``layers:``),
read with the same rule as the exam grader (cnncalc.verify.answers): an exact integer must be exact,
``138M`` is right when the true value rounds to it at the precision written. ``budget:`` holds
upper limits: the true value must be ≤ the written one.

    expect:
      params: 138357544
      macs: 15.47G
      output_shape: [1000]
      layers: {pool5: {output_shape: [7, 7, 512]}}
    budget:
      params: 150M
      activation_bytes: 100MB     # at the --batch and --dtype in force

``check_sources`` builds every spec, applies ``--strict`` validity and checks every expectation
and budget. Exit codes: 0 everything holds, 1 an expectation or budget fails, 2 a spec is
invalid or unreadable. No printing here: cnncalc.render.check formats the outcome.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

from .answers import FIGURES, AnswerError, Number, figure_value, is_right, parse_figure, parse_number
from ..core.errors import CnnCalcError, InputError, SpecError, clip, did_you_mean
from ..core.exitcodes import EXIT_ERROR as EXIT_INVALID
from ..core.exitcodes import EXIT_FAILED, EXIT_OK
from ..core.figures import at_precision, human, human_bytes
from ..layers.base import show
from ..core.model import Conventions, SourceLoc
from ..core.warns import misfits

EXPECT_FIGURES = tuple(FIGURES)
# budgets are upper limits, so only counts and sizes; training_bytes needs an optimizer
BUDGET_FIGURES = tuple(f for f, kind in FIGURES.items() if kind in ("number", "bytes")) + ("training_bytes",)
BYTE_FIGURES = frozenset(f for f, kind in FIGURES.items() if kind == "bytes") | {"training_bytes"}
# keys of ``budget:`` that are settings, not limits
BUDGET_SETTINGS = ("train",)


@dataclass(frozen=True)
class Outcome:
    """One expectation or budget, checked."""

    kind: str  # "expect" | "budget"
    figure: str
    layer: Optional[str]
    written: str  # the value as written in the spec
    actual: Any  # int, tuple (shape, field) or bool
    ok: bool
    loc: SourceLoc
    like: str = ""  # the true value written like the expectation (15.47G), when it was rounded

    @property
    def what(self) -> str:
        what = self.figure if self.layer is None else f"{self.layer} {self.figure}"
        return f"budget {what}" if self.kind == "budget" else what

    @property
    def message(self) -> str:
        want = f"at most {self.written}" if self.kind == "budget" else self.written
        got = show_value(self.actual) + (f" ({self.like})" if self.like else "")
        if self.ok:
            return f"{self.what}: {want} holds (got {got})"
        return f"{self.what}: expected {want}, got {got}"


@dataclass(frozen=True)
class SpecOutcome:
    """Everything checked in one spec file."""

    source: str  # as the user named it (path or built-in name)
    name: Optional[str] = None  # the network's name, when it was built
    outcomes: tuple = ()
    error: Optional[CnnCalcError] = None  # invalid or unreadable

    @property
    def status(self) -> str:
        if self.error is not None:
            return "invalid"
        return "failed" if any(not o.ok for o in self.outcomes) else "ok"

    @property
    def failures(self) -> list:
        return [o for o in self.outcomes if not o.ok]


@dataclass(frozen=True)
class CheckRun:
    specs: tuple = ()
    settings: dict = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        statuses = {s.status for s in self.specs}
        if "invalid" in statuses:
            return EXIT_INVALID
        return EXIT_FAILED if "failed" in statuses else EXIT_OK

    @property
    def counts(self) -> dict:
        return {
            "specs": len(self.specs),
            "checks": sum(len(s.outcomes) for s in self.specs),
            "failed_checks": sum(len(s.failures) for s in self.specs),
            "failed_specs": sum(s.status == "failed" for s in self.specs),
            "invalid_specs": sum(s.status == "invalid" for s in self.specs),
        }


def show_value(v) -> str:
    """A true value as a message shows it: 138,357,544 · 7×7×512 · true."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (tuple, list)):
        return "×".join(str(x) for x in v)
    return str(v)


def written_like(number: Number, true: int) -> str:
    """The true value at the precision and unit an expectation was written with ("" for an
    exact figure); cnncalc.core.figures.at_precision, exact for any size.

    >>> written_like(parse_number("15.47G"), 15_470_264_320), written_like(parse_number("93MB"), 60_950_432)
    ('15.47G', '61MB')
    """
    if number.precision is None:
        return ""
    return at_precision(number, true)


def _human(n: int, is_bytes: bool) -> str:
    if is_bytes:
        return human_bytes(n) if n >= 1000 else ""
    return human(n) if n >= 1000 else ""


# ---------------------------------------------------------------------------------------------
# reading expect: / budget:


def _loc_of(mapping, key, default: SourceLoc) -> SourceLoc:
    fn = getattr(mapping, "key_loc", None)
    return (fn(key) if fn else None) or default


def _mapping(value, what: str, loc: SourceLoc) -> dict:
    if not isinstance(value, dict):
        raise SpecError(f"'{what}' must be a mapping of figures, like {{params: 138357544}}", loc=loc,
                        received=clip(show(value), 80) if value is not None else "nothing")
    return value


def _items(section: str, value, loc: SourceLoc, allowed: tuple, settings: tuple = ()):
    """Yield (figure, layer, raw value, loc) for a section and its ``layers:`` sub-mapping."""
    value = _mapping(value, section, loc)
    for key in value:
        kloc = _loc_of(value, key, loc)
        if key == "layers":
            layers = _mapping(value[key], f"{section}.layers", kloc)
            for lname in layers:
                lloc = _loc_of(layers, lname, kloc)
                figs = _mapping(layers[lname], f"{section}.layers.{lname}", lloc)
                for fig in figs:
                    floc = _loc_of(figs, fig, lloc)
                    if fig in settings or fig not in allowed:
                        raise _unknown(section, fig, allowed, floc)
                    yield fig, str(lname), figs[fig], floc, lloc
        elif key in settings:
            continue
        elif key in allowed:
            yield key, None, value[key], kloc, kloc
        else:
            raise _unknown(section, key, allowed + ("layers",) + settings, kloc)


def _unknown(section, key, allowed, loc) -> SpecError:
    return SpecError(f"unknown figure '{key}' in {section}" + did_you_mean(str(key), allowed)
                     + f" (known: {', '.join(allowed)})", loc=loc)


def _written(raw) -> str:
    if isinstance(raw, (list, tuple)):
        return "×".join(str(x) for x in raw)
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


def _misfits(report) -> list:
    return [r for r in report.layers if misfits(r.warnings)]


def check_report(report, strict: bool = False) -> list:
    """The outcomes of a report's graph's ``expect:`` and ``budget:``.

    Raises a located CnnCalcError (exit 2) for an expectation that cannot be read, a layer
    that does not exist, or — under ``strict`` — a size that does not divide that the spec
    does not acknowledge with ``valid: false``.
    """
    graph = report.graph
    meta = graph.meta if graph is not None else {}
    top = SourceLoc(graph.source if graph is not None else "<spec>", 1, 1)
    locs = meta.get("_locs", {})
    names = {r.name for r in report.layers}
    outcomes = []
    acknowledged: set = set()  # layers (None: the whole network) expected not to fit

    if "expect" in meta:
        for fig, layer, raw, floc, lloc in _items("expect", meta["expect"], locs.get("expect", top),
                                                   EXPECT_FIGURES):
            _need_layer(layer, names, lloc)
            try:
                given = parse_figure(fig, raw)
            except AnswerError as e:
                raise e.located(floc, layer) from None
            true = figure_value(report, fig, layer)
            if fig == "valid" and given is False:
                acknowledged.add(layer)
            outcomes.append(Outcome("expect", fig, layer, _written(raw), true, is_right(fig, given, true), floc,
                                    written_like(given, true) if isinstance(given, Number) else ""))

    if "budget" in meta:
        bloc = locs.get("budget", top)
        budget = _mapping(meta["budget"], "budget", bloc)
        if "train" in budget:  # the optimizer of a training_bytes budget: checked wherever it is written
            from ..core.training import OPTIMIZERS

            train = budget["train"]
            if not isinstance(train, str) or train not in OPTIMIZERS:
                tloc = budget.val_loc("train") if hasattr(budget, "val_loc") else bloc
                raise SpecError("budget 'train' is the optimizer: sgd, momentum or adam", loc=tloc,
                                received=show(train))
        for fig, layer, raw, floc, lloc in _items("budget", budget, bloc, BUDGET_FIGURES, BUDGET_SETTINGS):
            _need_layer(layer, names, lloc)
            try:
                limit = parse_number(raw, want_bytes=fig in BYTE_FIGURES)
            except AnswerError as e:
                raise e.located(floc, layer) from None
            true = _budget_value(report, fig, layer, budget, floc)
            outcomes.append(Outcome("budget", fig, layer, _written(raw), true, Fraction(true) <= limit.value, floc,
                                    _human(true, fig in BYTE_FIGURES)))

    if strict:
        err = _strict_error(report, acknowledged, top)
        if err is not None:
            raise err
    return outcomes


def _strict_error(report, acknowledged: set, top: SourceLoc):
    """The error for the first size that does not divide and is not acknowledged, or None."""
    for r in _misfits(report):
        if None in acknowledged or r.name in acknowledged:
            continue
        spec = r.spec
        msg = misfits(r.warnings)[0].text(error=True)
        return SpecError(msg, loc=spec.loc if spec is not None else top, layer=r.name,
                         chain=spec.chain if spec is not None else ())
    return None


def strict_error(report):
    """``--strict`` for ``cnncalc SPEC``, as ``check --strict`` decides it: the error for a size
    that does not divide unless the spec's ``expect:`` says ``valid: false`` for the network or
    that layer; None when every size divides or is acknowledged. Other expectations are not
    read here (``cnncalc check`` checks them)."""
    graph = report.graph
    meta = graph.meta if graph is not None else {}
    top = SourceLoc(graph.source if graph is not None else "<spec>", 1, 1)
    acknowledged: set = set()
    expect = meta.get("expect")

    def says_invalid(raw) -> bool:
        try:
            return parse_figure("valid", raw) is False
        except AnswerError:
            return False

    if isinstance(expect, dict):
        if "valid" in expect and says_invalid(expect["valid"]):
            acknowledged.add(None)
        layers = expect.get("layers")
        if isinstance(layers, dict):
            for name, figs in layers.items():
                if isinstance(figs, dict) and "valid" in figs and says_invalid(figs["valid"]):
                    acknowledged.add(name)
    return _strict_error(report, acknowledged, top)


def _need_layer(layer, names, loc) -> None:
    if layer is not None and layer not in names:
        raise SpecError(f"no layer called '{layer}'" + did_you_mean(layer, names), loc=loc)


def _budget_value(report, fig, layer, budget, loc) -> int:
    if fig != "training_bytes":
        return figure_value(report, fig, layer)
    from ..core.training import OPTIMIZERS, training_memory

    if layer is not None:
        raise SpecError("training_bytes is a budget for the whole network, not a layer", loc=loc, layer=layer)
    optimizer = budget.get("train") or report.conventions.optimizer
    if not isinstance(optimizer, str) or optimizer not in OPTIMIZERS:  # train: [adam] is refused, not hashed
        raise SpecError("a training_bytes budget needs an optimizer: write 'train: adam' (sgd, momentum, adam) "
                        "in budget, or run check with --train", loc=loc,
                        received=None if optimizer is None else repr(optimizer))
    return training_memory(report.totals, report.conventions, optimizer).total


# ---------------------------------------------------------------------------------------------
# which files


GLOB_CHARS = frozenset("*?[")


def _safely(test, path: Path) -> bool:
    """``path.is_dir()`` / ``path.exists()``, False for a name the system refuses (too long, a NUL)."""
    try:
        return test(path)
    except (OSError, ValueError):
        return False


def expand_sources(args) -> list:
    """Paths, directories (every *.yaml / *.yml below, hidden directories skipped), globs and
    built-in names → an ordered list without duplicates. A glob matching nothing stays as
    written, so that checking it reports the problem."""
    out: list = []
    seen: set = set()

    def add(s: str) -> None:
        key = os.path.normpath(s)
        if key not in seen:
            seen.add(key)
            out.append(s)

    for arg in args:
        p = Path(arg)
        if _safely(Path.is_dir, p):
            found = []
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found += [os.path.join(root, f) for f in files if f.endswith((".yaml", ".yml"))]
            for f in sorted(found):
                add(f)
        elif not _safely(Path.exists, p) and GLOB_CHARS & set(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            for m in matches or [arg]:
                add(m)
        else:
            add(arg)
    return out


class ModelUnreadable(Exception):
    """``--against MODEL`` could not be read or built: the command stops with its one-line error
    (exit 2) — the model is the command's argument, not one of the specs checked."""

    def __init__(self, error: CnnCalcError):
        super().__init__(error.message)
        self.error = error


def check_one(source: str, conventions: Conventions, strict: bool = False, against=None) -> SpecOutcome:
    """Check one spec; ``against`` (a callable: input shape → the model's Report) adds the
    comparison with its model (cnncalc.verify.against)."""
    from ..core.analysis import analyze
    from ..load import load_spec

    if GLOB_CHARS & set(source) and not _safely(Path.exists, Path(source)):
        return SpecOutcome(source, error=InputError(f"{source}: no files match"))
    try:
        graph = load_spec(source)
        report = analyze(graph, conventions, strict=False)
        outcomes = check_report(report, strict)
        if against is not None:
            from .against import compare_reports

            outcomes += compare_reports(report, against(tuple(report.input_shape)))
        return SpecOutcome(source, graph.name, tuple(outcomes))
    except CnnCalcError as e:
        return SpecOutcome(source, error=e)
    except RecursionError:
        return SpecOutcome(source, error=InputError(f"{source}: input nested too deeply"))


def model_loader(model: str, conventions: Conventions, model_input: Optional[tuple] = None):
    """``--against MODEL`` → a callable giving the model's Report at an input shape (built once
    per shape): ``model_input`` (``check --input``) when given, else the spec's; a model that
    cannot be read raises ModelUnreadable."""
    from ..core.analysis import analyze
    from .against import load_against

    built: dict = {}

    def report_at(shape: tuple):
        shape = model_input or shape
        if shape not in built:
            try:
                built[shape] = analyze(load_against(model, shape, replace=model_input is not None), conventions,
                                       strict=False)
            except CnnCalcError as e:
                raise ModelUnreadable(e) from None
            except RecursionError:
                raise ModelUnreadable(InputError(f"{model}: input nested too deeply")) from None
        return built[shape]

    return report_at


def check_sources(args, conventions: Conventions = Conventions(), strict: bool = False,
                  against: Optional[str] = None, model_input: Optional[tuple] = None) -> CheckRun:
    """Check every spec named by ``args`` (paths, directories, globs, built-in names), each
    against the model ``against`` when given (raises ModelUnreadable when it cannot be read)."""
    sources = expand_sources(args)
    loader = model_loader(against, conventions, model_input) if against is not None else None
    specs = tuple(check_one(s, conventions, strict, loader) for s in sources)
    if not sources:
        specs = (SpecOutcome("", error=InputError("no spec files to check")),)
    settings = {"strict": strict, "dtype": conventions.dtype, "batch": conventions.batch,
                "train": conventions.optimizer, "macs_include": {k: f for k, f in conventions.macs_include}}
    if against is not None:
        settings["against"] = against
        if model_input is not None:
            settings["against_input"] = list(model_input)
    return CheckRun(specs, settings)
