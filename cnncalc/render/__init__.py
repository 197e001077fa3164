"""Renderers: Report → text. One module per format; each imports only what it needs."""

from __future__ import annotations

FORMATS = ("table", "json", "csv", "markdown", "html", "dot", "mermaid")


def render(report, fmt: str, *, exact_numbers: bool = False, depth=None, **options) -> str:
    """The report in one of FORMATS, as text (the table as plain text, without colour).
    ``depth``: html, dot and mermaid collapse blocks themselves (the full report is given)."""
    if fmt in ("html", "dot", "mermaid"):
        from importlib import import_module

        module = import_module(f".{fmt}", __package__)
        return getattr(module, f"render_{fmt}")(report, depth=depth)
    if fmt == "json":
        from .json_ import render_json

        return render_json(report)
    if fmt == "csv":
        from .csv_ import render_csv

        return render_csv(report)
    if fmt == "markdown":
        from .markdown import render_markdown

        return render_markdown(report, exact_numbers=exact_numbers)
    if fmt == "table":
        from .table import render_table_text

        return render_table_text(report, exact_numbers=exact_numbers, **options)
    raise ValueError(fmt)
