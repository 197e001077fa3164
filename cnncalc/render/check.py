"""``cnncalc check`` output: text lines, GitHub Actions annotations, or JSON."""

from __future__ import annotations

import json

from ..verify.check import CheckRun, SpecOutcome
from ..core.errors import one_line


def _error_where(s: SpecOutcome) -> tuple:
    """(file, line, col) of an invalid spec's error; the file as named when it has no location."""
    loc = s.error.loc
    if loc is None:
        return s.source, None, None
    return loc.file, loc.line, loc.col


def _error_text(s: SpecOutcome) -> str:
    """The error without its location prefix (the location is given separately)."""
    e = s.error
    saved, e.loc = e.loc, None
    try:
        return e.format()
    finally:
        e.loc = saved


def summary(run: CheckRun) -> str:
    """``cnncalc check: 2 specs, 5 expectations, 1 budget: all hold`` (every count with the
    right form of its noun)."""
    from .warnings import plural

    c = run.counts
    kinds = [o.kind for s in run.specs for o in s.outcomes]
    n_expect, n_budget, n_against = kinds.count("expect"), kinds.count("budget"), kinds.count("against")
    at = run.settings.get("against_input")  # check --input: the size the model was built at
    at = f" at {'×'.join(str(d) for d in at)}" if at else ""
    against = [f"{plural(n_against, 'comparison')} with {run.settings.get('against')}{at}"] if n_against else []
    checks = ", ".join([plural(n, w) for n, w in ((n_expect, "expectation"), (n_budget, "budget")) if n] + against
                       or ["0 expectations or budgets"])
    head = f"cnncalc check: {plural(c['specs'], 'spec')}, {checks}"
    included = run.settings.get("macs_include")
    if included:  # --macs-include: say what the MACs and FLOPs checked hold
        from ..core.elementwise import include_text

        head += f" (MACs + {include_text(tuple(included.items()))})"
    if run.exit_code == 0:
        return f"{head}: all hold"
    parts = []
    if c["failed_checks"]:
        parts.append(f"{c['failed_checks']:,} failed (in {plural(c['failed_specs'], 'spec')})")
    if c["invalid_specs"]:
        parts.append(f"{plural(c['invalid_specs'], 'spec')} invalid")
    return f"{head}: " + ", ".join(parts)


def render_text(run: CheckRun, verbose: bool = False) -> str:
    """One line per failure — ``file:line: what: expected X, got Y`` — then a summary line."""
    lines = []
    for s in run.specs:
        if s.error is not None:
            lines.append(_unlocated(s))
            continue
        for o in s.outcomes:
            if not o.ok or verbose:
                lines.append(one_line(f"{o.loc.file}:{o.loc.line}: {o.message}"))
    lines.append(summary(run))
    return "\n".join(lines) + "\n"


def _unlocated(s: SpecOutcome) -> str:
    """The error line; one without a location starts with the file as named."""
    text = s.error.format()
    return text if s.error.loc is not None or text.startswith(s.source) else one_line(f"{s.source}: {text}")


def _escape_data(text: str) -> str:
    """GitHub's escapes for a workflow command; other control characters written as in a repr, so
    that nothing in a spec can end the annotation or start a command line of its own."""
    return one_line(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _escape_prop(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(file: str, line, col, message: str, title: str = "cnncalc check") -> str:
    """A GitHub Actions workflow command: ``::error file=…,line=…::message``."""
    props = [f"file={_escape_prop(file)}"]
    if line:
        props.append(f"line={line}")
    if col:
        props.append(f"col={col}")
    props.append(f"title={_escape_prop(title)}")
    return f"::error {','.join(props)}::{_escape_data(message)}"


def render_github(run: CheckRun) -> str:
    """GitHub Actions annotations, one per failure or invalid spec, then the summary line."""
    lines = []
    for s in run.specs:
        if s.error is not None:
            file, line, col = _error_where(s)
            lines.append(annotation(file, line, col, _error_text(s), "cnncalc: invalid spec"))
            continue
        for o in s.failures:
            lines.append(annotation(o.loc.file, o.loc.line, o.loc.col, o.message))
    lines.append(summary(run))
    return "\n".join(lines) + "\n"


def _jsonable(v):
    if isinstance(v, tuple):
        return list(v)
    return v


def run_dict(run: CheckRun) -> dict:
    specs = []
    for s in run.specs:
        err = None
        if s.error is not None:
            file, line, col = _error_where(s)
            err = {"file": file, "line": line, "col": col, "message": _error_text(s), "text": s.error.format()}
        specs.append({
            "source": s.source,
            "name": s.name,
            "status": s.status,
            "error": err,
            "checks": [_check_dict(o) for o in s.outcomes],
        })
    return {"specs": specs, "summary": {**run.counts, "exit_code": run.exit_code}, "settings": run.settings}


def _check_dict(o) -> dict:
    d = {"kind": o.kind, "figure": o.figure, "layer": o.layer, "expected": _jsonable(o.written),
         "actual": _jsonable(o.actual), "ok": o.ok, "file": o.loc.file, "line": o.loc.line, "message": o.message}
    if o.kind == "against":  # expected: the model's value; actual: the spec's
        d["model_layer"] = o.model_layer
        d["match"] = o.match
    return d


def render_json(run: CheckRun) -> str:
    return json.dumps(run_dict(run), indent=2, ensure_ascii=False) + "\n"
