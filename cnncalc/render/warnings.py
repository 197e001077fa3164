"""The warning lines printed under the table: one summary line by default, every warning in
full with ``--warnings`` (``-W``). The warnings themselves are in every format's data
(JSON ``warnings``, ``--explain``); this is only how many lines a terminal gets."""

from __future__ import annotations


def plural(n: int, word: str, many: str = "") -> str:
    """'1 warning', '2 warnings', '1,000 layers' — the count and the right form of the noun.

    >>> plural(1, "bias", "biases"), plural(13416, "bias", "biases"), plural(0, "spec")
    ('1 bias', '13,416 biases', '0 specs')
    """
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def warning_lines(report, full: bool, width: int = 0) -> list:
    """``⚠ layer: warning`` lines (``full``), or one line saying how many and where.

    ``width`` (the table's; 0: any): full warnings are wrapped at spaces to it, and the summary
    names fewer layers (down to none) so that it fits."""
    from .table import clean, cell_width, wrap

    warns = [(clean(r.name), clean(str(w))) for r in report.layers for w in r.warnings]
    if full or not warns:
        lines = [f"⚠ {name}: {w}" for name, w in warns]
        return [x for line in lines for x in wrap(line, width, "  ")] if width else lines
    names = list(dict.fromkeys(name for name, _ in warns))
    for k in range(min(3, len(names)), -1, -1):
        shown = ", ".join(names[:k])
        if len(names) > k:
            rest = plural(len(names) - k, "more layer") if k else plural(len(names), "layer")
            shown += f" and {rest}" if k else rest
        line = f"⚠ {plural(len(warns), 'warning')} ({shown}): run with --warnings (-W) to print them"
        if not width or cell_width(line) <= width:
            return [line]
    return wrap(line, width, "  ")
