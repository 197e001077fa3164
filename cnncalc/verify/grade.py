"""Grading answer sheets: a list of questions, each a network and the figures a person gave.

No printing here: ``grade_file`` returns a ``Graded`` result that the CLI renders. A sheet
that cannot be read (bad YAML, an unknown figure or layer, an answer that is not a number, a
network that does not build) raises a CnnCalcError located at the offending answer: exit 2.

Sheet format::

    title: optional
    dtype: float32            # optional defaults for every question: dtype, batch, count_biases
    questions:
      - id: q1
        text: 32×32×3 的輸入，10 個 5×5 濾波器 …
        network: {input: [32, 32, 3], layers: [{conv: {filters: 10, kernel: 5, padding: 2}}]}
        answers: {output_shape: 32x32x10, params: 760}
      - id: q2
        network: vgg16          # a built-in name, a spec path (relative to the sheet),
                                # an inline spec mapping, or a one-line DSL string
        answers:
          params: 138M
          layers: {conv1_2: {params: 36928, output_shape: 224x224x64}}
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .answers import FIGURES, AnswerError, figure_value, is_right, parse_figure, rounding_note
from ..core.errors import CnnCalcError, InputError, clip, control_char, did_you_mean, one_line
from ..layers.base import show
from ..core.model import DTYPE_BYTES, Conventions, SourceLoc
from ..load.entries import check_name_text
from ..load.yamlio import LocDict

SHEET_KEYS = ("title", "description", "source", "dtype", "batch", "count_biases", "macs_include", "rounding",
              "questions")
QUESTION_KEYS = ("id", "text", "network", "answers", "dtype", "batch", "count_biases", "macs_include", "rounding",
                 "note", "source")


@dataclass(frozen=True)
class Answer:
    figure: str
    layer: Optional[str]
    given: str  # as written on the sheet
    correct: Any  # JSON-ready: int, bool or a list
    ok: bool
    work: Optional[str] = None  # the worked formula (shown when wrong)
    note: Optional[str] = None  # e.g. "the true value truncates to 37M but rounds to 38M"
    loc: Optional[SourceLoc] = None
    cells: tuple = ()  # a matrix answer (cnncalc.values.grade): one Cell per value, each a mark


@dataclass(frozen=True)
class Question:
    id: str
    text: Optional[str]
    network: str  # the network's name
    answers: tuple


@dataclass(frozen=True)
class Graded:
    title: Optional[str]
    source: str
    questions: tuple

    @property
    def right(self) -> int:  # a matrix answer counts one mark per cell
        return sum(sum(c.ok for c in a.cells) if a.cells else a.ok for q in self.questions for a in q.answers)

    @property
    def total(self) -> int:
        return sum(len(a.cells) or 1 for q in self.questions for a in q.answers)

    def to_dict(self) -> dict:
        def one(a):
            d = {"figure": a.figure, "layer": a.layer, "given": a.given, "correct": a.correct, "ok": a.ok}
            if a.cells:
                from ..values.grade import cells_dict

                d["cells"] = cells_dict(a)
            return d

        return {
            "questions": [{"id": q.id, "answers": [one(a) for a in q.answers]} for q in self.questions],
            "score": {"right": self.right, "total": self.total},
        }


def _loc(d, key, default):
    return d.val_loc(key) if isinstance(d, LocDict) else default


def _key_loc(d, key, default):
    return d.key_loc(key) if isinstance(d, LocDict) else default


def _given_text(raw) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (list, tuple)):
        return "[" + ", ".join(_given_text(x) for x in raw) + "]"
    return str(raw)


def _json_value(v):
    return list(v) if isinstance(v, tuple) else v


# ---------------------------------------------------------------------------------------------
# networks


def dsl_parser():
    """The one-line DSL's string-entry hook, if this build has one (it arrives with the DSL)."""
    from ..load import entries

    if not entries.STRING_ENTRY_HOOKS and importlib.util.find_spec("cnncalc.load.dsl") is not None:
        importlib.import_module("cnncalc.load.dsl")  # registers its hook on import
    return entries.STRING_ENTRY_HOOKS[0] if entries.STRING_ENTRY_HOOKS else None


def _spec_path(text: str, base: Path, loc: SourceLoc) -> Optional[Path]:
    """The spec file a sheet's ``network:`` string names, or None when it names no file.

    Sheets are shared and graded by someone else: a path must stay inside the sheet's
    directory (symbolic links followed) and name a ``.yaml``/``.yml`` file, so a sheet cannot
    make cnncalc read ``/etc/passwd`` or ``../../secret`` and quote it back in an error.
    """
    pathlike = text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text
    try:
        root = base.resolve()
        path = (root / text).resolve()
        exists = path.is_file()
    except (OSError, ValueError, RuntimeError):  # a name too long for the system, a NUL, a link loop
        if pathlike:
            raise InputError(f"no spec file '{clip(text, 80)}' (paths are relative to the sheet)", loc=loc) from None
        return None
    if not (pathlike or exists):
        return None
    if path != root and root not in path.parents:
        raise InputError(f"'{clip(text, 80)}': a network path must stay inside the sheet's directory", loc=loc)
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise InputError(f"'{clip(text, 80)}': a network file is a spec ending in .yaml or .yml", loc=loc)
    if not exists:
        raise InputError(f"no spec file '{clip(text, 80)}' (paths are relative to the sheet)", loc=loc)
    return path


def load_network(value, base: Path, loc: SourceLoc, filename: str, default_name: str):
    """A sheet's ``network:`` → Graph: inline mapping, built-in name, spec path, or DSL string."""
    from ..load import builtin_hint, builtin_names, load_spec
    from ..load.build import build_graph

    if isinstance(value, dict):
        return build_graph(value, filename, default_name)
    if not isinstance(value, str) or not value.strip():
        raise AnswerError("'network' is a built-in name, a spec path, a spec mapping or a DSL string",
                          loc=loc, received=show(value))
    text = value.strip()
    if text.lower() in builtin_names():
        return load_spec(text.lower())
    path = _spec_path(text, base, loc)
    if path is not None:
        try:
            return load_spec(str(path))
        except InputError as e:
            raise e.located(loc) from None
    if not any(ch.isspace() for ch in text) and "|" not in text:  # one word: meant as a name
        names = builtin_names()
        raise AnswerError(f"'{text}' is not a built-in network or a spec file" + did_you_mean(text.lower(), names)
                          + builtin_hint(), loc=loc)
    if dsl_parser() is None:
        raise AnswerError(f"'{text}' is not a built-in network or a spec file, and this cnncalc has no one-line "
                          f"DSL to read it" + did_you_mean(text.lower(), builtin_names())
                          + builtin_hint(), loc=loc)
    return build_graph({"name": default_name, "layers": [text]}, filename, default_name)


# ---------------------------------------------------------------------------------------------
# grading


def _conventions(sheet, q, loc) -> Conventions:
    def pick(key, default):
        if isinstance(q, dict) and key in q:
            return q[key], _loc(q, key, loc)
        if key in sheet:
            return sheet[key], _loc(sheet, key, loc)
        return default, loc

    dtype, dloc = pick("dtype", "float32")
    if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:  # a list or mapping: refused, not hashed
        raise AnswerError("dtype must be one of " + ", ".join(DTYPE_BYTES), loc=dloc, received=show(dtype))
    batch, bloc = pick("batch", 1)
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise AnswerError("batch must be a positive integer", loc=bloc, received=show(batch))
    cb, cloc = pick("count_biases", True)
    if not isinstance(cb, bool):
        raise AnswerError("count_biases must be true or false", loc=cloc, received=show(cb))
    include, iloc = pick("macs_include", None)  # as --macs-include: element-wise kinds added to the MACs
    if include is not None:
        from ..core.elementwise import MacsIncludeError, parse_include

        if isinstance(include, list) and all(isinstance(x, str) for x in include):
            include = ",".join(include)
        if not isinstance(include, str):
            raise AnswerError("macs_include must be a comma list of element-wise kinds (bias, norm, …)", loc=iloc,
                              received=show(include))
        try:
            include = parse_include(include)
        except MacsIncludeError as e:
            raise AnswerError(e.message.replace("--macs-include:", "macs_include:"), loc=iloc) from None
    return Conventions(count_biases=cb, dtype=dtype, batch=batch, macs_include=include or ())


_RATIO = re.compile(r"^\s*(?:[x×]\s*)?(?P<n>[0-9]+(?:\.[0-9]+)?)\s*(?:[x×]|times)?\s*"
                    r"(?P<dir>fewer|less|smaller|more|larger|bigger|greater)\b(?:\s+\w+)?\s+than\s+"
                    r"(?P<net>\S(?:.*\S)?)\s*$", re.IGNORECASE)


def _grade_ratio(ctx, report, figure, raw, layer, loc, m) -> Answer:
    """``12x fewer than alexnet``: the ratio of this network's figure to another network's, right
    when the true ratio rounds to the number written (12 → 11.5 up to 12.5)."""
    from fractions import Fraction

    from ..core.analysis import analyze

    if FIGURES.get(figure) not in ("number", "bytes"):
        raise AnswerError(f"a ratio compares numbers; {figure} is not one", loc=loc, received=show(raw))
    other_name = m.group("net").strip().rstrip(".")
    cache = ctx.setdefault("others", {})
    if other_name not in cache:
        graph = load_network(other_name.lower() if other_name.lower() in _builtin_names() else other_name,
                             ctx["base"], loc, ctx["filename"], other_name)
        cache[other_name] = analyze(graph, report.conventions)
    other = cache[other_name]
    true = figure_value(report, figure, layer)
    theirs = figure_value(other, figure, None)
    fewer = m.group("dir").lower() in ("fewer", "less", "smaller")
    num, den = (theirs, true) if fewer else (true, theirs)
    if den == 0:
        raise AnswerError(f"the ratio divides by {figure} = 0", loc=loc, received=show(raw))
    ratio = Fraction(num, den)
    n = Fraction(m.group("n"))
    decimals = len(m.group("n").split(".")[1]) if "." in m.group("n") else 0
    ok = abs(ratio - n) * 2 <= Fraction(1, 10**decimals)
    shown = f"{float(ratio):.{max(decimals, 1) + 1}f}"
    word = "fewer" if fewer else "more"
    work = (f"{other.name} {figure} {theirs:,} / {report.name} {figure} {true:,} = {shown}× {word}" if fewer else
            f"{report.name} {figure} {true:,} / {other.name} {figure} {theirs:,} = {shown}× {word}")
    return Answer(figure, layer, _given_text(raw), f"{shown}x {word} than {other.name}", ok, None if ok else work,
                  None, loc)


def _builtin_names() -> list:
    from ..load import builtin_names

    return builtin_names()


def _grade_one(report, figure, raw, layer, loc, ctx=None) -> Answer:
    from ..render.explain import figure_work

    m = _RATIO.match(raw) if isinstance(raw, str) and ctx is not None else None
    if m:
        return _grade_ratio(ctx, report, figure, raw, layer, loc, m)
    try:
        given = parse_figure(figure, raw)
    except AnswerError as e:
        raise e.located(loc, f"{figure}" if layer is None else f"{layer}.{figure}") from None
    true = figure_value(report, figure, layer)
    ok = is_right(figure, given, true)
    work = None if ok else figure_work(report, figure, layer)
    return Answer(figure, layer, _given_text(raw), _json_value(true), ok, work, rounding_note(given, true), loc)


def _answers(report, answers, aloc, names, ctx=None) -> list:
    out = []
    if not isinstance(answers, dict) or not answers:
        raise AnswerError("'answers' is a mapping of figures (output_shape, params, …) to answers",
                          loc=aloc, received=show(answers))
    for fig, raw in answers.items():
        floc = _loc(answers, fig, aloc)
        if fig == "layers":
            if not isinstance(raw, dict) or not raw:
                raise AnswerError("'layers' maps layer names to their answers", loc=floc, received=show(raw))
            for lname, figs in raw.items():
                lname_s = str(lname)
                lloc = _key_loc(raw, lname, floc)
                if lname_s not in names:
                    raise AnswerError(f"the network has no layer '{lname_s}'" + did_you_mean(lname_s, names),
                                      loc=lloc)
                if not isinstance(figs, dict) or not figs:
                    raise AnswerError(f"layer '{lname_s}' needs a mapping of figures to answers",
                                      loc=_loc(raw, lname, lloc), received=show(figs))
                for f2, raw2 in figs.items():
                    if ctx is not None and _is_values(f2):
                        out.append(_grade_values(ctx, lname_s, f2, raw2, _loc(figs, f2, lloc)))
                        continue
                    if f2 not in FIGURES:
                        raise AnswerError(f"unknown figure '{f2}'" + did_you_mean(str(f2), FIGURES)
                                          + f" (known: {', '.join(FIGURES)})", loc=_key_loc(figs, f2, lloc))
                    out.append(_grade_one(report, f2, raw2, lname_s, _loc(figs, f2, lloc), ctx))
            continue
        if fig not in FIGURES:
            raise AnswerError(f"unknown figure '{fig}'" + did_you_mean(str(fig), list(FIGURES) + ["layers"])
                              + f" (known: {', '.join(FIGURES)}, layers)", loc=_key_loc(answers, fig, aloc))
        out.append(_grade_one(report, fig, raw, None, floc, ctx))
    return out


def _is_values(figure) -> bool:
    from ..values.grade import is_values_figure

    return is_values_figure(figure)


def _grade_values(ctx, layer, figure, raw, loc) -> Answer:
    """A matrix answer (values of a layer's output): cnncalc.values.grade."""
    from ..values.grade import grade_matrix
    from ..values.run import run

    if "values" not in ctx:
        try:
            ctx["values"] = run(ctx["report"])
        except CnnCalcError as e:  # located at the answer: the network is the sheet's question
            raise AnswerError(f"{layer}.{figure}: " + e.message, loc=loc, received=e.received) from None
    return grade_matrix(ctx["values"], ctx["report"], layer, figure, raw, loc, ctx["rounding"])


def _rounding(sheet, q, loc) -> str:
    from ..values.grade import ROUNDING

    where = q if "rounding" in q else sheet
    value = where.get("rounding", "round")
    if value not in ROUNDING:
        raise AnswerError("rounding must be round or truncate", loc=_loc(where, "rounding", loc), received=show(value))
    return value


def grade_doc(doc, filename: str, base: Path) -> Graded:
    from ..core.analysis import analyze

    top = SourceLoc(filename, 1, 1)
    if not isinstance(doc, dict) or "questions" not in doc:
        raise AnswerError("an answer sheet is a YAML mapping with a 'questions:' list", loc=top,
                          received="an empty file" if doc is None else None)
    for key in doc:
        if key not in SHEET_KEYS:
            raise AnswerError(f"unknown key '{key}'" + did_you_mean(str(key), SHEET_KEYS)
                              + f" (known: {', '.join(SHEET_KEYS)})", loc=_key_loc(doc, key, top))
    qs = doc["questions"]
    qloc = _loc(doc, "questions", top)
    if not isinstance(qs, list) or not qs:
        raise AnswerError("'questions' is a non-empty list", loc=qloc, received=show(qs))
    title = doc.get("title")
    if title is not None:
        title = str(title)
        if control_char(title) is not None:  # a label, printed at the head of the grades
            raise AnswerError("a sheet's title cannot hold a control character", loc=_loc(doc, "title", top),
                              received=control_char(title))
    graded, seen = [], set()
    for i, q in enumerate(qs):
        loc = qs.item_loc(i) if hasattr(qs, "item_loc") else qloc
        if not isinstance(q, dict):
            raise AnswerError("a question is a mapping with 'network:' and 'answers:'", loc=loc, received=show(q))
        for key in q:
            if key not in QUESTION_KEYS:
                raise AnswerError(f"unknown key '{key}' in a question" + did_you_mean(str(key), QUESTION_KEYS)
                                  + f" (known: {', '.join(QUESTION_KEYS)})", loc=_key_loc(q, key, loc))
        qid = check_name_text(str(q.get("id", f"q{i + 1}")), _loc(q, "id", loc), "a question id")
        if qid in seen:
            raise AnswerError(f"duplicate question id '{qid}'", loc=_loc(q, "id", loc))
        seen.add(qid)
        for need in ("network", "answers"):
            if need not in q:
                raise AnswerError(f"question {qid!r} has no '{need}:'", loc=loc)
        conv = _conventions(doc, q, loc)
        graph = load_network(q["network"], base, _loc(q, "network", loc), filename, qid)
        report = analyze(graph, conv)
        names = [r.name for r in report.layers]
        ctx = {"report": report, "rounding": _rounding(doc, q, loc), "base": base, "filename": filename}
        answers = _answers(report, q["answers"], _loc(q, "answers", loc), names, ctx)
        text = q.get("text")  # prose, shown on one line: runs of whitespace (line breaks) become a space
        text = None if text is None else one_line(" ".join(str(text).split()))
        graded.append(Question(qid, text, graph.name, tuple(answers)))
    return Graded(title, filename, tuple(graded))


def grade_text(text: str, filename: str = "<sheet>", base: Optional[Path] = None) -> Graded:
    from ..load.yamlio import load_yaml

    return grade_doc(load_yaml(text, filename), filename, base or Path("."))


def grade_file(path: str) -> Graded:
    from ..load import read_text

    text = read_text(Path(path), path)
    return grade_text(text, path, Path(path).resolve().parent)


__all__ = ["Answer", "Question", "Graded", "grade_file", "grade_text", "grade_doc", "load_network",
           "CnnCalcError"]
