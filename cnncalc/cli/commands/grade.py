"""`cnncalc grade SHEET…`: check the answers on exam sheets (see cnncalc/verify/grade.py)."""

from __future__ import annotations

import json
import sys
import unicodedata
from typing import List

from ..options import EXIT_FAILED, EXIT_OK, GradeFormat


def _value_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "×".join(str(x) for x in v)
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def width(text: str) -> int:
    """Columns a string takes on a terminal: East Asian wide and full-width characters take
    two, combining marks none.

    >>> width("28×28×96"), width("一億四千萬"), width("e\u0301")
    (8, 10, 1)
    """
    n = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        n += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return n


def pad(text: str, columns: int) -> str:
    """``text`` left-aligned in ``columns`` terminal columns (by display width)."""
    return text + " " * max(columns - width(text), 0)


def render_text(graded) -> str:
    from ...core.figures import mb

    lines = []
    head = graded.title or graded.source
    lines.append(f"{head}" + (f"  ({graded.source})" if graded.title else ""))
    rows = [a for q in graded.questions for a in q.answers]
    what_w = max([26] + [width(a.figure if a.layer is None else f"{a.layer}.{a.figure}") for a in rows])
    given_w = max([14] + [width(str(a.given)) for a in rows])
    for q in graded.questions:
        lines.append("")
        lines.append(f"{q.id}  [{q.network}]" + (f"  {q.text.strip()}" if q.text else ""))
        for a in q.answers:
            what = a.figure if a.layer is None else f"{a.layer}.{a.figure}"
            mark = "✓" if a.ok else "✗"
            if a.cells:  # a matrix answer (cnncalc.values.grade): a mark per cell
                from ...values.grade import cell_lines

                right = sum(c.ok for c in a.cells)
                lines.append(f"  {mark} {pad(what, what_w)} given {a.given}: {right}/{len(a.cells)} cells right")
                lines.extend(cell_lines(a))
                continue
            row = f"  {mark} {pad(what, what_w)} given {pad(str(a.given), given_w)}"
            correct = _value_text(a.correct)
            if a.figure in ("memory", "activation_bytes", "param_bytes"):
                correct += f" B ({mb(a.correct, grouped=True)} MB)"
            row += f" correct {correct}"
            lines.append(row.rstrip())
            if not a.ok:
                if a.work:
                    lines.append(f"      {a.work}")
                if a.note:
                    lines.append(f"      ({a.note})")
    lines.append("")
    lines.append(f"Score: {_score(graded.right, graded.total)}")
    return "\n".join(lines) + "\n"


def _score(right: int, total: int) -> str:
    """The percentage is floored: 537/539 is 99%, never a perfect-looking 100%."""
    pct = 100 * right // total if total else 100
    return f"{right}/{total} right ({pct}%)"


def grade(sheets: List[str], fmt: GradeFormat = GradeFormat.text, debug: bool = False) -> int:
    """``cnncalc grade``: grade every sheet that can be graded; a broken sheet is reported (one
    line on stderr) and the others are still graded. Exit 2 if any sheet is broken, else 1 if
    any answer is wrong, else 0."""
    from ...core.errors import CnnCalcError
    from ...verify.grade import grade_file
    from . import error_line

    results, broken = [], []
    for sheet in sheets:
        try:
            results.append(grade_file(sheet))
        except CnnCalcError as err:
            sys.stderr.write(error_line(err) + "\n")
            broken.append({"file": sheet, "error": err.format(), "exit_code": err.exit_code})
    right = sum(r.right for r in results)
    total = sum(r.total for r in results)
    if fmt is GradeFormat.json:
        if len(sheets) == 1 and results:
            sys.stdout.write(json.dumps(results[0].to_dict(), ensure_ascii=False, indent=2) + "\n")
        elif len(sheets) > 1:
            sys.stdout.write(json.dumps({"sheets": [dict(r.to_dict(), file=r.source) for r in results],
                                         "broken": broken, "score": {"right": right, "total": total}},
                                        ensure_ascii=False, indent=2) + "\n")
    else:
        text = "\n".join(render_text(r) for r in results)
        if len(sheets) > 1:
            text += f"\nTotal: {_score(right, total)} over {len(results)} of {len(sheets)} sheets"
            if broken:
                text += f"; not graded (broken): {', '.join(b['file'] for b in broken)}"
            text += "\n"
        sys.stdout.write(text)
    if broken:
        return max(b["exit_code"] for b in broken)
    return EXIT_FAILED if right < total else EXIT_OK
