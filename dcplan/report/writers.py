"""Write a :class:`~dcplan.report.document.Report` as HTML, PDF, XLSX, Markdown or JSON.

- HTML: one self-contained file, plotly.js embedded once, interactive charts, works offline.
- PDF: the same HTML in print mode rendered by headless Chromium (Playwright ``page.pdf``) with
  page numbers in the footer; charts are vector, text stays selectable.
- XLSX: one sheet per table that names a sheet, numbers as numbers, units in the headers.
- Markdown and JSON: for version control and scripting.
Each writer writes atomically (temporary file + rename) and refuses to overwrite unless asked.
"""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path
from typing import Any, Callable

from dcplan.i18n import ENGLISH, N_, Translator, translator
from dcplan.io.yamlio import write_atomic
from dcplan.report.document import Column, Figure, Report, Section, Table, Text

FORMATS = ("html", "pdf", "xlsx", "md", "json")

#: Units shown in column headers, in the catalog so that each language can name them (SI symbols stay).
UNIT_WORDS = (N_("USD"), N_("USD/yr"), N_("USD/h"), N_("fraction"), N_("MWh/yr"), N_("tCO2e/yr"), N_("s"))
#: How a money column's header reads, by the unit after "USD" (the cells carry the currency: $8.26M, 826万美元).
_PER = {"/yr": N_("{label} per year"), "/h": N_("{label} per hour"), "per M output tokens": N_("{label} per M output tokens"),
        "per accelerator-hour": N_("{label} per accelerator-hour")}


def header(column: Column, _: Translator = ENGLISH) -> str:
    """The XLSX header (raw numbers in the stated unit): "label [unit]", the unit in the reader's words."""
    return f"{column.label} [{_.unit(column.unit)}]" if column.unit else column.label


def text_header(column: Column, _: Translator = ENGLISH) -> str:
    """The header of the text formats: money, power and shares carry their unit in each value ($8.26M, 273 kW, 54.7 %)."""
    if column.kind == "usd":
        rest = column.unit.removeprefix("USD").strip()
        return _(_PER[rest]).format(label=column.label) if rest in _PER else f"{column.label} {rest}".strip()
    if column.kind in ("mw", "frac"):
        return column.label
    return header(column, _)


# --------------------------------------------------------------------------------------------
# formatting shared by the text formats
# --------------------------------------------------------------------------------------------


def fmt_cell(value: Any, digits: int = 3, locale: str = "en") -> str:
    """A cell for people: numbers to ``digits`` significant digits with thousands separators."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool):
        _ = translator(locale)
        return _("yes") if value else _("no")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1e15 or abs(value) < 1e-3:
            return f"{value:.{max(1, digits - 1)}e}"
        magnitude = int(math.floor(math.log10(abs(value))))
        decimals = max(0, digits - 1 - magnitude)
        return f"{value:,.{decimals}f}"
    return str(value)


def cell_text(value: Any, column: Column, row: Any = None, locale: str = "en") -> str:
    """A cell of ``column`` as the text formats print it (by the column's kind and the reader's ``locale``; '-' when unknown)."""
    from dcplan.units import for_people, percent, power_mw, usd

    if value is None or isinstance(value, (str, bool)) or (isinstance(value, float) and not math.isfinite(value)):
        return fmt_cell(value, column.digits, locale)
    kind = column.kind
    if kind == "year":
        return str(int(value))
    if kind == "usd":
        return usd(float(value), column.digits, locale)
    if kind == "mw":
        return power_mw(float(value), column.digits, locale)
    if kind == "frac":
        return percent(float(value), 1, locale)
    if kind == "pct":
        return f"{float(value):.1f}"
    if kind == "metric":
        return for_people(float(value), str((row or {}).get("unit", "")), column.digits, locale)
    return fmt_cell(value, column.digits, locale)


#: Most columns a table shows side by side on an A4 portrait page; wider tables are split into
#: parts that repeat the first (key) column, so no column is ever cut off the page.
MAX_PRINT_COLUMNS = 10
#: Tables up to this many rows move to the next page whole rather than leave their heading behind.
KEEP_TOGETHER_ROWS = 30

_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _html_text(text: str) -> str:
    return _BOLD.sub(r"<strong>\1</strong>", html.escape(text))


# --------------------------------------------------------------------------------------------
# HTML (and the print variant the PDF is made from)
# --------------------------------------------------------------------------------------------

#: Fonts: the system's, then a CJK face for Chinese text (Debian's fonts-noto-cjk; embedded in the PDF by Chromium).
FONTS = "system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans CJK SC','Noto Sans SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif"
_CSS = """
body{font-family:%FONTS%;color:#1d2733;margin:0;line-height:1.45}
.wrap{max-width:1100px;margin:0 auto;padding:1.5rem}
h1{font-size:1.7rem;margin:0 0 .2rem}h2{font-size:1.3rem;margin:2rem 0 .6rem;border-bottom:2px solid #1d3557;padding-bottom:.2rem}
h3{font-size:1.02rem;margin:1.2rem 0 .4rem}.subtitle{color:#5b6775;margin:0 0 1rem}
table{border-collapse:collapse;width:100%;font-size:.82rem;margin:.3rem 0 .4rem}
th,td{border-bottom:1px solid #dde2e8;padding:.25rem .45rem;text-align:right;vertical-align:top;overflow-wrap:break-word}
.tablewrap{overflow-x:auto}
th:first-child,td:first-child{text-align:left}th{background:#f1f4f8}
td.text,th.text{text-align:left}.note{color:#5b6775;font-size:.8rem;margin:.1rem 0 1rem}
.figure{margin:.6rem 0 1.2rem;break-inside:avoid}.caption{color:#5b6775;font-size:.8rem}
nav.toc ol{padding-left:1.2rem}nav.toc a{color:#1d3557;text-decoration:none}
""".replace("%FONTS%", FONTS)
_PRINT_CSS = """
@page{size:A4;margin:14mm 12mm 16mm 12mm}
.wrap{max-width:none;padding:0}h2{break-before:page}h2.first{break-before:avoid}
table{font-size:.72rem}tr{break-inside:avoid}.figure{break-inside:avoid}.tablewrap{overflow:visible}
td.text{overflow-wrap:anywhere}
h2,h3{break-after:avoid}.keep{break-inside:avoid}thead{display:table-header-group}
"""


def _breakable(text: str) -> str:
    """Escaped cell text that may wrap after '_' and '/' (long identifiers and paths never widen a table past the page)."""
    return html.escape(text).replace("_", "_<wbr>").replace("/", "/<wbr>")


def _column_parts(columns: tuple[Column, ...], width: int) -> list[tuple[Column, ...]]:
    """Columns in parts of at most ``width``, each part after the first repeating the key column."""
    if len(columns) <= width:
        return [columns]
    key, rest = columns[0], columns[1:]
    n_parts = -(-len(rest) // (width - 1))
    size = -(-len(rest) // n_parts)  # balanced parts: 7 + 7, not 8 + 6
    return [(key, *rest[i:i + size]) for i in range(0, len(rest), size)]


def _table_html(t: Table, print_mode: bool = False, _: Translator = ENGLISH) -> str:
    parts = _column_parts(t.columns, MAX_PRINT_COLUMNS) if print_mode else [t.columns]
    out = []
    for n, cols in enumerate(parts):
        wordy = {c.key for c in cols if t.rows and isinstance(t.rows[0].get(c.key), str)}
        head = "".join(("<th class='text'>" if c.key in wordy else "<th>") + html.escape(text_header(c, _)) + "</th>" for c in cols)
        body = []
        for row in t.rows:
            cells = []
            for c in cols:
                v = row.get(c.key)
                cls = ' class="text"' if isinstance(v, str) else ""
                cells.append(f"<td{cls}>{_breakable(cell_text(v, c, row, _.lang))}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        title = t.title if n == 0 else _("{title} (continued)").format(title=t.title)
        note = f'<p class="note">{_html_text(t.note)}</p>' if t.note and n == len(parts) - 1 else ""
        block = (f"<h3>{html.escape(title)}</h3><div class=\"tablewrap\"><table><thead><tr>{head}</tr></thead>"
                 f"<tbody>{''.join(body)}</tbody></table></div>{note}")
        # a short table travels with its heading; a long one keeps the heading with its first rows (break-after: avoid)
        out.append(f'<div class="keep">{block}</div>' if len(t.rows) <= KEEP_TOGETHER_ROWS else block)
    return "".join(out)


def _figure_html(f: Figure, div_id: str, static: bool) -> str:
    fig_json = f.figure.to_json()
    config = json.dumps({"displaylogo": False, "responsive": True, "staticPlot": static})
    caption = f'<div class="caption">{_html_text(f.caption)}</div>' if f.caption else ""
    return (
        f'<div class="figure"><div id="{div_id}" class="plot" style="width:100%;height:{_height(f)}px"></div>{caption}'
        f"<script>(function(){{var f={fig_json};Plotly.newPlot('{div_id}',f.data,f.layout,{config});}})();</script></div>"
    )


def _height(f: Figure) -> int:
    h = getattr(f.figure.layout, "height", None)
    return int(h) if h else 420


def _section_html(s: Section, index: int, static: bool, _: Translator = ENGLISH) -> str:
    parts = [f'<h2 id="{s.id}"{" class=first" if index == 0 else ""}>{index + 1}. {html.escape(s.title)}</h2>']
    for j, b in enumerate(s.blocks):
        if isinstance(b, Text):
            parts.extend(f"<p>{_html_text(p)}</p>" for p in b.paragraphs)
        elif isinstance(b, Table) and b.in_text:
            parts.append(_table_html(b, print_mode=static, _=_))
        elif isinstance(b, Figure):
            parts.append(_figure_html(b, f"fig-{s.id}-{j}", static))
    return "\n".join(parts)


def render_html(report: Report, *, print_mode: bool = False, plotly_src: str | None = None) -> str:
    """The report as one self-contained HTML document (plotly.js embedded, no network).

    ``plotly_src`` (the PDF's print page only) loads plotly.js from that relative file instead,
    so that a browser which has already compiled it once (:mod:`dcplan.report.printer`) does
    not compile it again.
    """
    from plotly.offline import get_plotlyjs

    _ = translator(report.lang)
    toc = "".join(f'<li><a href="#{s.id}">{html.escape(s.title)}</a></li>' for s in report.sections)
    body = "\n".join(_section_html(s, i, print_mode, _) for i, s in enumerate(report.sections))
    css = _CSS + (_PRINT_CSS if print_mode else "")
    inputs = _("inputs of {date}").format(date=html.escape(report.created))
    contents = html.escape(_("Contents"))
    return (
        f"<!doctype html><html lang='{_.html_lang}'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{html.escape(report.title)}</title>"
        f"<style>{css}</style>{_script(plotly_src) if plotly_src else f'<script>{get_plotlyjs()}</script>'}</head><body><div class='wrap'>"
        f"<h1>{html.escape(report.title)}</h1><p class='subtitle'>{html.escape(report.subtitle)} · {inputs}</p>"
        f"<nav class='toc'><strong>{contents}</strong><ol>{toc}</ol></nav>{body}</div></body></html>"
    )


def _script(src: str) -> str:
    return f"<script src=\"{html.escape(src)}\"></script>"


def write_html(report: Report, path: Path, *, overwrite: bool = False) -> Path:
    text = render_html(report)
    return write_atomic(path, lambda fh: fh.write(text), overwrite=overwrite)


# --------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------

_FOOTER = (
    "<div style=\"font-size:8px;width:100%;padding:0 12mm;color:#5b6775;display:flex;justify-content:space-between;font-family:{fonts}\">"
    "<span>{title}</span><span>{page}</span></div>"
)


def footer(report: Report) -> str:
    """The PDF's page footer: the title and "page N of M", in the report's language."""
    _ = translator(report.lang)
    page = _("page {page} of {pages}").format(page="<span class='pageNumber'></span>", pages="<span class='totalPages'></span>")
    return _FOOTER.format(title=html.escape(report.title), page=page, fonts=FONTS)


#: The page the print HTML is laid out in before printing (CSS pixels), and where plotly.js sits beside it.
VIEWPORT = {"width": 1000, "height": 1400}
PLOTLY_FILE = "plotly.min.js"
PRINT_FILE = "report.html"


def write_plotly(folder: Path) -> Path:
    """plotly.js as a file in ``folder`` (the print page loads it from there)."""
    from plotly.offline import get_plotlyjs

    path = folder / PLOTLY_FILE
    path.write_text(get_plotlyjs(), encoding="utf-8")
    return path


def write_print_page(report: Report, folder: Path) -> Path:
    """The report's print HTML in ``folder``, loading plotly.js from :func:`write_plotly`'s file."""
    src = folder / PRINT_FILE
    src.write_text(render_html(report, print_mode=True, plotly_src=PLOTLY_FILE), encoding="utf-8")
    return src


def print_page(page: Any, src: Path, footer: str, timeout_s: float) -> bytes:
    """PDF bytes of the print HTML at ``src``, opened in a Playwright ``page``, once every chart is drawn."""
    page.goto(src.as_uri(), wait_until="load", timeout=timeout_s * 1000)
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.plot')).every(d => d.querySelector('.main-svg'))",
        timeout=timeout_s * 1000,
    )
    return page.pdf(
        format="A4",
        print_background=True,
        display_header_footer=True,
        header_template="<div></div>",
        footer_template=footer,
        margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"},
    )


def render_pdf(report: Report, *, chromium: str | None = None, timeout_s: float = 60.0) -> bytes:
    """PDF bytes of the report's print HTML, rendered by a headless Chromium started for it
    (:class:`dcplan.report.printer.Printer` starts one ahead of time)."""
    import tempfile

    from playwright.sync_api import sync_playwright

    from dcplan.report.browser import CHROMIUM_FLAGS, find_chromium

    exe = chromium or find_chromium()
    with tempfile.TemporaryDirectory(prefix="dcplan-report-") as tmp:
        write_plotly(Path(tmp))
        src = write_print_page(report, Path(tmp))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
            try:
                return print_page(browser.new_page(viewport=VIEWPORT), src, footer(report), timeout_s)
            finally:
                browser.close()


def write_pdf(report: Report, path: Path, *, overwrite: bool = False) -> Path:
    data = render_pdf(report)
    return write_atomic(path, lambda fh: fh.write(data), binary=True, overwrite=overwrite)


# --------------------------------------------------------------------------------------------
# XLSX, Markdown, JSON
# --------------------------------------------------------------------------------------------


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", name)[:31].strip() or "Sheet"
    out, i = base, 2
    while out in used:
        suffix = f" {i}"
        out, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(out)
    return out


def write_xlsx(report: Report, path: Path, *, overwrite: bool = False) -> Path:
    """One sheet per named table; headers carry units; values stay numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    _ = translator(report.lang)
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for t in report.tables():
        if not t.sheet:
            continue
        ws = wb.create_sheet(_sheet_name(t.sheet, used))
        headers = [header(c, _) for c in t.columns]
        ws.append(headers)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in t.rows:
            ws.append([_xlsx_value(row.get(c.key)) for c in t.columns])
        for i, text in enumerate(headers, start=1):
            ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, min(48, _cells(text) + 2))
        ws.freeze_panes = "B2"
    if not wb.sheetnames:
        wb.create_sheet(_("empty"))
    return write_atomic(path, lambda fh: wb.save(fh), binary=True, overwrite=overwrite)


def _cells(text: str) -> int:
    """Width of a header in character cells (a CJK character is two)."""
    from dcplan.figures.style import text_width

    return text_width(text)


def _xlsx_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v)
    return v


def render_markdown(report: Report) -> str:
    _ = translator(report.lang)
    out = [f"# {report.title}", "", f"{report.subtitle} · " + _("inputs of {date}").format(date=report.created), ""]
    out += ["## " + _("Contents"), ""] + [f"{i + 1}. [{s.title}](#{s.id})" for i, s in enumerate(report.sections)] + [""]
    for i, s in enumerate(report.sections):
        out += [f'<a id="{s.id}"></a>', f"## {i + 1}. {s.title}", ""]
        for b in s.blocks:
            if isinstance(b, Text):
                for p in b.paragraphs:
                    out += [p, ""]
            elif isinstance(b, Table) and b.in_text:
                out += [f"### {b.title}", "", "| " + " | ".join(text_header(c, _) for c in b.columns) + " |",
                        "|" + "|".join(":--" if j == 0 else "--:" for j in range(len(b.columns))) + "|"]
                out += ["| " + " | ".join(cell_text(r.get(c.key), c, r, report.lang).replace("|", "/") for c in b.columns) + " |" for r in b.rows]
                out += (["", f"_{b.note}_"] if b.note else []) + [""]
            elif isinstance(b, Figure):
                out += [_("*Figure: {title}.* {caption} (interactive in the HTML report)").format(title=b.title, caption=b.caption), ""]
    return "\n".join(out) + "\n"


def write_md(report: Report, path: Path, *, overwrite: bool = False) -> Path:
    text = render_markdown(report)
    return write_atomic(path, lambda fh: fh.write(text), overwrite=overwrite)


def write_json(report: Report, path: Path, *, overwrite: bool = False) -> Path:
    from dcplan.io.jsonout import write_json as write

    return write(path, {"title": report.title, "subtitle": report.subtitle, "created": report.created, **dict(report.data)}, overwrite=overwrite)  # data's
    # own English title and subtitle (build_report) replace the translated ones: the JSON is the same in every language


WRITERS: dict[str, Callable[..., Path]] = {
    "html": write_html,
    "pdf": write_pdf,
    "xlsx": write_xlsx,
    "md": write_md,
    "json": write_json,
}
