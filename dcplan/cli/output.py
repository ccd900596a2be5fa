"""Showing results: JSON for machines, rich tables for people."""

from __future__ import annotations

import sys
from typing import Any, Iterable, Sequence

from dcplan.units import usd  # noqa: F401 - the one money formatter, re-exported for the commands


def print_json(obj: Any) -> None:
    """Print ``obj`` as strict JSON (NaN and infinities as null: :mod:`dcplan.io.jsonout`)."""
    from dcplan.io.jsonout import dumps

    sys.stdout.write(dumps(obj, indent=2) + "\n")


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None) -> None:
    """Print a rich table (plain text when stdout is not a terminal)."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for i, col in enumerate(columns):
        t.add_column(col, justify="left" if i == 0 else "right", overflow="fold")
    for row in rows:
        t.add_row(*[str(c) for c in row])
    Console(width=max(100, _width())).print(t)


def _width() -> int:
    import shutil

    return shutil.get_terminal_size((120, 40)).columns


def fmt(value: float | None, unit: str = "", digits: int = 3) -> str:
    """A number for people with an SI prefix; '-' when unknown."""
    from dcplan.units import human

    if value is None:
        return "-"
    return human(value, unit, digits)


def pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f} %"



