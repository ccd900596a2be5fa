"""Languages: the message catalogs are complete and well-formed; numbers follow the reader's locale."""

import importlib.util
import re
from pathlib import Path

import pytest

from dcplan.i18n import LANGUAGES, check_lang, normalise, translator
from dcplan.units import for_people, human_count, percent, power_mw, usd

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"\{[^}]*\}|%\{[^}]*\}")


def _i18n_script():
    spec = importlib.util.spec_from_file_location("dcplan_i18n_script", ROOT / "scripts" / "i18n.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _catalog(lang: str):
    from babel.messages.pofile import read_po

    with (ROOT / "dcplan" / "i18n" / "locale" / lang / "LC_MESSAGES" / "dcplan.po").open("rb") as fh:
        return [m for m in read_po(fh, locale=lang) if m.id]


def test_every_message_of_the_code_is_translated_and_the_mo_is_current():
    """Babel extracts the code's messages (and the labels built from data); each language has them all, none stale."""
    problems = _i18n_script().problems()
    assert problems == [], "\n".join(problems[:20]) + "\n(run: make i18n, then translate what is listed)"


#: Messages whose Chinese is the same text: symbols, formulas and names that stay in Latin script.
SAME_IN_CHINESE = {"MW", "MFU / HFU", "dcplan P10", "dcplan P50", "dcplan P90", "CRF = r(1+r)^n / ((1+r)^n − 1)"}
#: Translations without a Chinese character (Latin symbols in Chinese punctuation or notation).
NO_HAN = {"dcplan P50 (P10-P90)", "GFLOP/s per W"}


@pytest.mark.parametrize("lang", [k for k in LANGUAGES if k != "en"])
def test_translations_keep_their_placeholders_and_are_written_in_the_language(lang):
    entries = _catalog(lang)
    assert len(entries) > 500
    for m in entries:
        assert sorted(PLACEHOLDER.findall(m.id)) == sorted(PLACEHOLDER.findall(m.string)), m.id
        if lang == "zh" and m.id not in SAME_IN_CHINESE and re.search(r"[A-Za-z]{3,}", PLACEHOLDER.sub("", m.id)):
            assert m.string != m.id, f"not translated: {m.id!r}"
            assert CJK.search(m.string) or m.id in NO_HAN, f"no Chinese in {m.string!r}"


def test_translator_falls_back_to_english_and_refuses_unknown_languages():
    zh = translator("zh")
    assert zh("Executive summary") == "执行摘要" and zh("no such message") == "no such message"
    assert translator("en")("Executive summary") == "Executive summary"
    with pytest.raises(ValueError, match="zh"):
        translator("fr")


def test_language_tags_people_write():
    assert [normalise(t) for t in ("zh", "zh-CN", "zh_Hans_CN", "ZH-tw", "en-GB", "fr", "", None)] == ["zh", "zh", "zh", "zh", "en", None, None, None]
    assert check_lang("zh-CN") == "zh"
    from dcplan.errors import InputError

    with pytest.raises(InputError) as exc:
        check_lang("fr")
    assert "available: en (English), zh (中文)" in exc.value.one_line()


def test_chinese_money_and_counts_go_by_wan_and_yi():
    """万 (1e4), 亿 (1e8), 万亿 (1e12), as CLDR's zh compact patterns (Babel) and Chinese financial writing."""
    assert usd(592e9, locale="zh") == "5920亿美元"
    assert usd(1.2e12, locale="zh") == "1.2万亿美元"
    assert usd(11.7e6, locale="zh") == "1170万美元"
    assert usd(231e3, locale="zh") == "23.1万美元"
    assert usd(4916, locale="zh") == "4,916美元" and usd(1.84, locale="zh") == "1.84美元" and usd(None, locale="zh") == "-"
    assert human_count(32.6e6, locale="zh") == "3260万" and human_count(405e9, locale="zh") == "4050亿" and human_count(9490, locale="zh") == "9,490"
    assert for_people(592e9, "USD/yr", locale="zh") == "5920亿美元/年"
    assert for_people(1108, "TWh/yr", locale="zh") == "1,108 TWh/年"  # SI with units, the year words translated
    assert for_people(32.6e6, "accelerators (end of year)", locale="zh") == "3260万"
    assert power_mw(126e3, locale="zh") == "126 GW" and percent(0.547, locale="zh") == "54.7%"
    # English unchanged
    assert usd(592e9) == "$592B" and for_people(32.6e6, "accelerators (end of year)") == "32.6 million" and percent(0.547) == "54.7 %"


def test_headline_units_in_chinese_scale_the_figures():
    from dcplan.units import display_unit

    mult, unit = display_unit("$B/yr", "zh")
    assert (mult, unit) == (10.0, "亿美元/年")  # $592B/yr -> 5,920 亿美元/年
    assert display_unit("M H100e", "zh") == (100.0, "万 H100e")
    assert display_unit("$B/yr", "en") == (1.0, "$B/yr")


def test_chinese_titles_wrap_by_width():
    from dcplan.figures.style import text_width, wrap

    title = "按组成划分的年化拥有成本：portfolio 工作负载的全部硬件选项与年度总拥有成本"
    lines = wrap(title, 44).split("<br>")
    assert len(lines) > 1 and all(text_width(line) <= 44 for line in lines)
    assert "portfolio" in "".join(lines)  # a Latin word is never cut
