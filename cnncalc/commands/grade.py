"""`cnncalc grade SHEET…`: check the answers on exam sheets (see cnncalc/grade.py)."""

from __future__ import annotations

import json
from enum import Enum
from typing import List

import typer


class GradeFormat(str, Enum):
    text = "text"
    json = "json"


def _value_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "×".join(str(x) for x in v)
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def render_text(graded) -> str:
    lines = []
    head = graded.title or graded.source
    lines.append(f"{head}" + (f"  ({graded.source})" if graded.title else ""))
    for q in graded.questions:
        lines.append("")
        lines.append(f"{q.id}  [{q.network}]" + (f"  {q.text.strip()}" if q.text else ""))
        for a in q.answers:
            what = a.figure if a.layer is None else f"{a.layer}.{a.figure}"
            mark = "✓" if a.ok else "✗"
            row = f"  {mark} {what:<26} given {a.given:<14}"
            correct = _value_text(a.correct)
            if a.figure in ("memory", "activation_bytes", "param_bytes"):
                correct += f" B ({a.correct / 1e6:,.2f} MB)"
            row += f" correct {correct}"
            lines.append(row.rstrip())
            if not a.ok:
                if a.work:
                    lines.append(f"      {a.work}")
                if a.note:
                    lines.append(f"      ({a.note})")
    lines.append("")
    pct = 100 * graded.right / graded.total if graded.total else 100.0
    lines.append(f"Score: {graded.right}/{graded.total} right ({pct:.0f}%)")
    return "\n".join(lines) + "\n"


def register(app) -> None:
    """Add this module's commands to the typer app."""

    @app.command("grade")
    def grade_cmd(
        sheets: List[str] = typer.Argument(..., help="answer sheet(s), YAML"),
        fmt: GradeFormat = typer.Option(GradeFormat.text, "--format", "-f", case_sensitive=False,
                                        help="text, or json for tools"),
        debug: bool = typer.Option(False, "--debug", help="show a traceback on internal errors"),
    ) -> None:
        """Grade answer sheets: ✓/✗ per answer with the correct figure and its worked formula.

        Exit 0 when every answer is right, 1 when any is wrong, 2 when a sheet is broken.
        """
        from ..cli import EXIT_FAILED, EXIT_OK, fail
        from ..errors import CnnCalcError
        from ..grade import grade_file

        results = []
        for sheet in sheets:
            try:
                results.append(grade_file(sheet))
            except CnnCalcError as err:
                fail(err)
        if fmt is GradeFormat.json:
            if len(results) == 1:
                typer.echo(json.dumps(results[0].to_dict(), ensure_ascii=False, indent=2))
            else:
                typer.echo(json.dumps({"sheets": [dict(r.to_dict(), file=r.source) for r in results]},
                                      ensure_ascii=False, indent=2))
        else:
            typer.echo("\n".join(render_text(r) for r in results), nl=False)
        wrong = any(r.right < r.total for r in results)
        raise typer.Exit(EXIT_FAILED if wrong else EXIT_OK)
