"""Languages of the text people read: one gettext message catalog per language, English the source.

The catalogs are standard GNU gettext files made with Babel (``scripts/i18n.py``: extract ->
``dcplan/i18n/dcplan.pot``, update -> ``locale/<lang>/LC_MESSAGES/dcplan.po``, compile -> ``.mo``);
the compiled ``.mo`` ships in the package and is read here with the standard library's
:mod:`gettext`. Code marks text with ``_("...")`` (or :func:`N_` where a table of words is defined
and translated later) and formats numbers through :mod:`dcplan.units` with ``locale=t.lang``.

Only text for people is translated: ``--json`` outputs, data keys, file formats and numbers in SI
stay the same in every language.
"""

from __future__ import annotations

import functools
import gettext
from dataclasses import dataclass

#: Languages with a catalog: code -> the language's own name (what a switch shows).
LANGUAGES: dict[str, str] = {"en": "English", "zh": "中文"}
DEFAULT = "en"
DOMAIN = "dcplan"
#: The CLDR locale behind each language (Babel's number data; HTML ``lang``).
BABEL_LOCALE = {"en": "en", "zh": "zh_Hans_CN"}
HTML_LANG = {"en": "en", "zh": "zh-CN"}
#: What separates two sentences: a space in English, nothing after Chinese full-width punctuation (。).
SENTENCE_GAP = {"zh": ""}
#: Per-time words after a unit, per language ("/yr" is "/年" in Chinese); SI symbols are the same in every language.
PER_TIME = {"zh": (("/yr", "/年"), ("/h", "/小时"), (" per year", "/年"), (" per hour", "/小时"))}


def unit_words(unit: str, lang: str = DEFAULT) -> str:
    """The per-time words of a unit in ``lang``: 'TWh/yr' -> 'TWh/年' in Chinese; SI symbols unchanged."""
    for en, word in PER_TIME.get(lang, ()):
        unit = unit.replace(en, word)
    return unit


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it here (tables of words)."""
    return message


@dataclass(frozen=True, eq=False)
class Translator:
    """Translate text to one language: ``t("Capacity plan")``; ``t.lang`` goes to the number formatters."""

    lang: str
    catalog: gettext.NullTranslations

    def __call__(self, message: str) -> str:
        return self.catalog.gettext(message) if message else message

    gettext = __call__

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.catalog.ngettext(singular, plural, n)

    @property
    def html_lang(self) -> str:
        return HTML_LANG[self.lang]

    def paren(self, text: str) -> str:
        """``text`` in brackets after a word: ' (average)' in English, '（平均）' in Chinese."""
        return f"（{text}）" if self.lang == "zh" else f" ({text})"

    def unit(self, unit: str) -> str:
        """A unit in this language: its words and its bracketed qualifier translated ('TWh/yr (all data centres)' -> 'TWh/年（全部数据中心）')."""
        base, _sep, qual = unit.partition(" (")
        return unit_words(self(base), self.lang) + (self.paren(self(qual.removesuffix(")"))) if qual else "")

    @property
    def gap(self) -> str:
        """What goes between two sentences in this language."""
        return SENTENCE_GAP.get(self.lang, " ")


def available() -> str:
    """'en (English), zh (中文)': what an error message lists."""
    return ", ".join(f"{k} ({v})" for k, v in LANGUAGES.items())


def check_lang(text: str | None, field: str = "lang") -> str:
    """A language code people may write ('zh', 'zh-CN', 'zh_Hans', 'EN'), or an InputError listing the available ones."""
    from dcplan.errors import InputError

    code = normalise(text)
    if code is None:
        raise InputError(field, f"unknown language {text!r}; available: {available()}")
    return code


def normalise(text: str | None) -> str | None:
    """The catalog language of a tag ('zh-Hans-CN' -> 'zh'), or None when there is none."""
    if not isinstance(text, str):
        return None
    primary = text.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


@functools.lru_cache(maxsize=len(LANGUAGES))
def translator(lang: str = DEFAULT) -> Translator:
    """The translator of ``lang`` (a code of LANGUAGES); English is the source and needs no catalog."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; available: {available()}")
    if lang == DEFAULT:
        return Translator(lang, gettext.NullTranslations())
    return Translator(lang, _load(lang))


def _load(lang: str) -> gettext.GNUTranslations:
    """The compiled catalog shipped in the package (importlib.resources: works from a wheel)."""
    import io
    from importlib.resources import files

    data = files(__name__).joinpath("locale", lang, "LC_MESSAGES", f"{DOMAIN}.mo").read_bytes()
    return gettext.GNUTranslations(io.BytesIO(data))


ENGLISH = translator(DEFAULT)
