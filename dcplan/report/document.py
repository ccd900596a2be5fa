"""The report as a document: sections of text, tables and figures, independent of format.

Assembly (``dcplan.report.assemble``) turns result objects into a :class:`Report`; writers
(``dcplan.report.writers``) turn a Report into HTML, PDF, XLSX, Markdown and JSON. Neither
computes anything of its own: numbers come from the result objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

#: How a column's values read in the text formats (XLSX keeps the raw numbers):
#: number (significant digits), year (2024, never 2,024), usd ($8.26M), mw (power: 273 kW, 1.2 GW),
#: pct (a value already in percent: 10.3), frac (a fraction shown as a percentage: 54.7 %),
#: metric (each row's own unit, from its ``unit`` key: 126 GW in one row, $592B/yr in the next).
KINDS = ("number", "year", "usd", "mw", "pct", "frac", "metric")


@dataclass(frozen=True, kw_only=True)
class Column:
    key: str
    label: str
    unit: str = ""
    """Shown in headers as "label [unit]"; the XLSX column header carries it too."""
    digits: int = 3
    """Significant digits shown in text formats (XLSX keeps full precision)."""
    kind: str = "number"
    """One of KINDS: how the text formats print the values."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.key}: kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def header(self) -> str:
        """The XLSX header (raw numbers in the stated unit)."""
        return f"{self.label} [{self.unit}]" if self.unit else self.label

    @property
    def text_header(self) -> str:
        """The header of the text formats: money, power and shares carry their unit in each value ($8.26M, 273 kW, 54.7 %)."""
        if self.kind == "usd":
            rest = self.unit.removeprefix("USD").strip()
            per = {"/yr": "per year", "/h": "per hour"}.get(rest, rest)
            return f"{self.label} {per}".strip()
        if self.kind in ("mw", "frac"):
            return self.label
        return self.header


@dataclass(frozen=True, kw_only=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Mapping[str, Any], ...]
    sheet: str | None = None
    """XLSX sheet name (<= 31 characters); tables without one are not exported to XLSX."""
    note: str = ""
    in_text: bool = True
    """Shown in HTML, PDF and Markdown; False keeps a long table to the XLSX (and JSON) only."""


@dataclass(frozen=True, kw_only=True)
class Figure:
    title: str
    figure: Any
    """A plotly.graph_objects.Figure."""
    caption: str = ""


@dataclass(frozen=True, kw_only=True)
class Text:
    paragraphs: tuple[str, ...]
    """Plain text; **bold** is rendered in HTML/PDF/Markdown."""


Block = Table | Figure | Text


@dataclass(frozen=True, kw_only=True)
class Section:
    id: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True, kw_only=True)
class Report:
    title: str
    subtitle: str
    created: str
    """When the inputs were produced (ISO date), passed in: assembly never reads the clock."""
    sections: tuple[Section, ...]
    data: Mapping[str, Any] = field(default_factory=dict)
    """The machine-readable content (the JSON format): plan, forecast, calibration, validation; the same in every language."""
    lang: str = "en"
    """Language of the text (a code of dcplan.i18n.LANGUAGES): the writers' own words and number formats follow it."""

    def tables(self) -> list[Table]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]
