"""The message catalogs: extract dcplan's text, update each language's .po, compile the .mo, check them.

    python scripts/i18n.py extract   # dcplan/i18n/dcplan.pot from the code (Babel) and the runtime labels
    python scripts/i18n.py update    # merge the template into every locale/<lang>/LC_MESSAGES/dcplan.po
    python scripts/i18n.py compile   # .po -> .mo (the .mo ships in the package)
    python scripts/i18n.py check     # every message translated, no stale entry, .mo up to date (exit 1 if not)

``make i18n`` runs extract, update and compile. Babel's Python extractor finds ``_("...")`` and
``N_("...")`` calls in dcplan/ and dashboards/; labels that the code builds from data (scenario
drivers, headline metrics, supply limits, methodology rows) are added from the objects themselves
(:func:`runtime_messages`), so the catalog holds every text a page or report can show.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

I18N = ROOT / "dcplan" / "i18n"
POT = I18N / "dcplan.pot"
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
SOURCES = ("dcplan", "dashboards")


def po_path(lang: str) -> Path:
    return I18N / "locale" / lang / "LC_MESSAGES" / "dcplan.po"


def runtime_messages() -> list[tuple[str, str]]:
    """(message, where) of labels built from data at run time rather than written as literals."""
    from dcplan.capacity.ranking import _LABELS as TCO_PARTS
    from dcplan.forecast.chain import METRIC_UNITS
    from dcplan.forecast.engine import LIMIT_NAMES
    from dcplan.forecast.headline import HEADLINES
    from dcplan.forecast.scenario import DRIVERS, SEGMENT_DRIVERS, SEGMENT_LABELS
    from dcplan.report.methodology import FORMULAS

    out = [(d.description[:1].upper() + d.description[1:], "dcplan/forecast/scenario.py:DRIVERS") for d in DRIVERS.values() if d.segment is None]
    out += [(d[2][:1].upper() + d[2][1:], "dcplan/forecast/scenario.py:SEGMENT_DRIVERS") for d in SEGMENT_DRIVERS.values()]
    out += [(h.label, "dcplan/forecast/headline.py:HEADLINES") for h in HEADLINES]
    out += [(name, "dcplan/forecast/supply.py:LIMIT_NAMES") for name in LIMIT_NAMES.values()]
    out += [(label, "dcplan/forecast/scenario.py:SEGMENT_LABELS") for label in SEGMENT_LABELS.values()]
    out += [(label, "dcplan/capacity/ranking.py:_LABELS") for label in TCO_PARTS.values()]
    out += [(text, "dcplan/report/methodology.py:FORMULAS") for row in FORMULAS for text in row[:2]]
    for unit in METRIC_UNITS.values():  # the words of a unit and of its qualifier: 'H100-equivalents', 'average, all data centres'
        base, _, qual = unit.partition(" (")
        out += [(text, "dcplan/forecast/chain.py:METRIC_UNITS") for text in (base, qual.rstrip(")")) if any(c.isalpha() for c in text)]
    return out


def build_template():
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    cat = Catalog(project="dcplan", msgid_bugs_address="", copyright_holder="the dcplan authors", charset="utf-8", fuzzy=False)
    for folder in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
                ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS, strip_comment_tags=True):
            cat.add(message, locations=[(f"{folder}/{filename}", lineno)], auto_comments=comments, context=context)
    for message, where in runtime_messages():
        if message:
            cat.add(message, locations=[(where, 0)])
    return cat


def _write_po(cat, path: Path, **kw) -> None:
    from babel.messages.pofile import write_po

    buf = io.BytesIO()
    write_po(buf, cat, width=0, omit_header=False, sort_output=False, **kw)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())


def _read_po(path: Path, locale: str | None = None):
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def languages() -> list[str]:
    from dcplan.i18n import DEFAULT, LANGUAGES

    return [lang for lang in LANGUAGES if lang != DEFAULT]


def extract() -> None:
    _write_po(build_template(), POT, include_lineno=False)


def update() -> None:
    from babel.messages.catalog import Catalog

    template = _read_po(POT)
    for lang in languages():
        path = po_path(lang)
        cat = _read_po(path, lang) if path.exists() else Catalog(locale=lang, project="dcplan")
        cat.update(template, no_fuzzy_matching=True)
        _header(cat)
        _write_po(cat, path, include_lineno=False, ignore_obsolete=True)


def _header(cat) -> None:
    """The catalog's header: whose it is, and not fuzzy (a fuzzy header would be dropped from the .mo)."""
    cat.project, cat.version, cat.copyright_holder = "dcplan", "", "the dcplan authors"
    cat.msgid_bugs_address, cat.last_translator, cat.language_team = "", "dcplan", "dcplan"
    cat.fuzzy = False


def compiled(lang: str) -> bytes:
    from babel.messages.mofile import write_mo

    buf = io.BytesIO()
    write_mo(buf, _read_po(po_path(lang), lang), use_fuzzy=False)
    return buf.getvalue()


def compile_all() -> None:
    for lang in languages():
        po_path(lang).with_suffix(".mo").write_bytes(compiled(lang))


def problems() -> list[str]:
    """What keeps the catalogs from being complete: untranslated, fuzzy or stale messages, an old .mo."""
    template = build_template()
    wanted = {m.id for m in template if m.id}
    out = []
    for lang in languages():
        path = po_path(lang)
        if not path.exists():
            out.append(f"{lang}: no catalog at {path}")
            continue
        cat = _read_po(path, lang)
        have = {m.id: m for m in cat if m.id}
        out += [f"{lang}: untranslated: {mid!r}" for mid in sorted(wanted) if mid not in have or not have[mid].string]
        out += [f"{lang}: fuzzy: {mid!r}" for mid, m in have.items() if m.fuzzy and mid in wanted]
        out += [f"{lang}: stale (no longer in the code): {mid!r}" for mid in sorted(set(have) - wanted)]
        mo = path.with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != compiled(lang):
            out.append(f"{lang}: {mo.name} is not compiled from the current .po (run: make i18n)")
    return out


def main(argv: list[str]) -> int:
    steps = {"extract": extract, "update": update, "compile": compile_all}
    if not argv or argv[0] not in (*steps, "all", "check"):
        print(__doc__)
        return 2
    if argv[0] == "check":
        found = problems()
        print("\n".join(found) if found else "catalogs complete")
        return 1 if found else 0
    for name in (steps if argv[0] == "all" else [argv[0]]):
        steps[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
