"""Where report files go: validated paths, no overwrite without --force, per-format failures.

``--out`` names a directory (existing, or ending in '/') or a base name (``reports/q3-plan``);
every file written must resolve inside that directory (no escaping it through crafted names).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from dcplan.errors import DcplanError, InputError
from dcplan.report.document import Report

if TYPE_CHECKING:
    from dcplan.report.printer import Printer

DEFAULT_DIR = "reports"
DEFAULT_STEM = "dcplan-report"
_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
EXTENSIONS = {"html": "html", "pdf": "pdf", "xlsx": "xlsx", "md": "md", "json": "json"}


def parse_formats(text: str) -> list[str]:
    """'html,pdf' -> ['html', 'pdf']; unknown formats are an InputError."""
    from dcplan.report.writers import FORMATS

    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    if not formats:
        raise InputError("format", f"give at least one of {', '.join(FORMATS)}")
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise InputError("format", f"unknown format {bad[0]!r}; use a comma list of {', '.join(FORMATS)}")
    return list(dict.fromkeys(formats))


def output_paths(out: str | None, formats: Sequence[str], *, within: Path | None = None) -> dict[str, Path]:
    """Map each format to its file, validating the directory and the base name.

    ``within`` (the dashboard's reports folder) confines the files to that folder: a name that
    would climb out of it through '..' or an absolute path is refused.
    """
    if out is None or out == "":
        folder, stem = Path(DEFAULT_DIR), DEFAULT_STEM
    elif out.endswith(("/", os.sep)) or Path(out).is_dir():
        folder, stem = Path(out), DEFAULT_STEM
    else:
        p = Path(out)
        folder, stem = p.parent, p.name
        for ext in EXTENSIONS.values():
            if stem.endswith("." + ext):
                stem = stem[: -len(ext) - 1]
    if "\x00" in str(out or ""):
        raise InputError("out", "must not contain NUL characters")
    if not _STEM.match(stem) or stem in (".", ".."):
        raise InputError("out", f"base name {stem!r} must be letters, digits, '.', '_' or '-' and start with a letter or digit")
    if within is not None:
        folder = within / folder if not folder.is_absolute() else folder
        base = within.resolve()
        if folder.resolve() != base and base not in folder.resolve().parents:
            raise InputError("out", f"{out!r} would write outside {base}")
    root = folder.resolve()
    paths = {}
    for f in formats:
        target = (root / f"{stem}.{EXTENSIONS[f]}").resolve()
        if target.parent != root:
            raise InputError("out", f"{target} would fall outside {root}")
        paths[f] = target
    return paths


def refuse_existing(paths: dict[str, Path]) -> None:
    """InputError if any target exists (nothing a user made is overwritten without --force)."""
    existing = [str(p) for p in paths.values() if p.exists()]
    if existing:
        raise InputError("out", f"{existing[0]} exists; choose another --out or pass --force")


@dataclass(frozen=True)
class WriteResult:
    written: dict[str, Path]
    failed: dict[str, str]


def write_report(report: Report, paths: dict[str, Path], *, force: bool = False, printer: Printer | None = None) -> WriteResult:
    """Write every format; one format's failure leaves the others written and is reported.

    With a started ``printer`` (:mod:`dcplan.report.printer`) the PDF is asked for first and
    printed by its warm browser while the other formats are written; if that browser is gone the
    PDF is printed cold, as without one.
    """
    from dcplan.report.writers import WRITERS

    if not force:
        refuse_existing(paths)
    written, failed = {}, {}
    asked = "pdf" in paths and printer is not None and _ask(printer, report)
    for fmt, path in [*((f, p) for f, p in paths.items() if not (asked and f == "pdf")), *([("pdf", paths["pdf"])] if asked else [])]:
        try:
            written[fmt] = _write_pdf(report, path, force, printer) if asked and fmt == "pdf" else WRITERS[fmt](report, path, overwrite=force)
        except (DcplanError, OSError, RuntimeError, ValueError, TimeoutError) as exc:
            failed[fmt] = f"{exc.__class__.__name__}: {exc}".splitlines()[0]
        except Exception as exc:  # noqa: BLE001 - e.g. a browser failure: reported, others kept
            failed[fmt] = f"{exc.__class__.__name__}: {exc}".splitlines()[0]
    order = list(paths)
    return WriteResult(written=dict(sorted(written.items(), key=lambda kv: order.index(kv[0]))), failed=failed)


def _ask(printer: Printer, report: Report) -> bool:
    """Hand the print page to the warm browser; False when it cannot take it (then the PDF is printed cold)."""
    from dcplan.report.printer import PrinterUnavailable
    from dcplan.report.writers import footer, write_print_page

    try:
        write_print_page(report, printer.folder)
        printer.ask(footer(report))
    except (PrinterUnavailable, OSError):
        return False
    return True


def _write_pdf(report: Report, path: Path, force: bool, printer: Printer) -> Path:
    from dcplan.io.yamlio import write_atomic
    from dcplan.report.printer import PrinterUnavailable
    from dcplan.report.writers import write_pdf

    try:
        data = printer.result()
    except PrinterUnavailable:
        return write_pdf(report, path, overwrite=force)
    return write_atomic(path, lambda fh: fh.write(data), binary=True, overwrite=force)
