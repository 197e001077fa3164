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


def warning_lines(report, full: bool) -> list:
    """``⚠ layer: warning`` lines (``full``), or one line saying how many and where."""
    warns = [(r.name, w) for r in report.layers for w in r.warnings]
    if full or not warns:
        return [f"⚠ {name}: {w}" for name, w in warns]
    names = list(dict.fromkeys(name for name, _ in warns))
    shown = ", ".join(names[:3])
    if len(names) > 3:
        shown += f" and {plural(len(names) - 3, 'more layer')}"
    return [f"⚠ {plural(len(warns), 'warning')} ({shown}): run with --warnings (-W) to print them"]
