"""The report in Chinese: every text format in Chinese, a CJK font embedded in the PDF, the JSON the same in every language."""

import re
import subprocess

import pytest

from dcplan.report.assemble import build_report
from dcplan.report.output import output_paths, write_report
from dcplan.report.pipeline import gather

HAN = re.compile(r"[\u4e00-\u9fff]")
SECTIONS_ZH = ("执行摘要", "硬件与模型精度", "各选项的容量规划", "市场预测", "敏感性分析", "假设与方法", "与已发布运行的验证对比")


@pytest.fixture(scope="module")
def inputs():
    return gather(scenario="base", seed=3, samples=1000, created="2026-11-28")


@pytest.fixture(scope="module")
def written(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("report-zh")
    res = write_report(build_report(inputs, "zh"), output_paths(str(out) + "/", ["html", "pdf", "xlsx", "md", "json"]))
    assert res.failed == {}, res.failed
    return res.written


def test_json_is_the_same_in_every_language(inputs, written, tmp_path):
    en = write_report(build_report(inputs, "en"), output_paths(str(tmp_path) + "/", ["json"])).written["json"]
    assert en.read_bytes() == written["json"].read_bytes()  # keys, SI values and its English title alike


def test_markdown_and_html_are_in_chinese(written):
    md = written["md"].read_text(encoding="utf-8")
    for i, title in enumerate(SECTIONS_ZH, start=1):
        assert f"## {i}. {title}" in md
    headings = [ln for ln in md.splitlines() if ln.startswith("#")]
    assert all(HAN.search(h) for h in headings), [h for h in headings if not HAN.search(h)]
    assert "## 目录" in md and ("亿美元" in md or "万美元" in md)  # money by 万/亿
    html = written["html"].read_text(encoding="utf-8")
    assert "<html lang='zh-CN'>" in html and "Noto Sans CJK SC" in html


def test_xlsx_sheets_and_headers_are_in_chinese_and_values_stay_numbers(written):
    from openpyxl import load_workbook

    wb = load_workbook(written["xlsx"], read_only=True)
    assert all(HAN.search(name) for name in wb.sheetnames if name != "Sobol 指数"), wb.sheetnames
    ws = wb["规划选项"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "选项" and "资本支出 [美元]" in rows[0] and "IT 功率 [MW]" in rows[0]
    capex = rows[1][rows[0].index("资本支出 [美元]")]
    assert isinstance(capex, (int, float)) and capex > 1e5  # raw USD, not text


@pytest.mark.slow
def test_pdf_embeds_a_cjk_font_and_its_text_layer_holds_chinese(written, tmp_path):
    pdf = written["pdf"]
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), "every font embedded"  # the emb column
    # Chromium (Skia) embeds the CFF outlines of Noto Sans CJK as Type 3 glyph procedures; their font descriptor names the face
    names = set(re.findall(rb"/FontName\s*/[A-Z]{6}\+([A-Za-z0-9-]+)", pdf.read_bytes()))
    assert any(n.startswith(b"NotoSansCJKsc") for n in names), names  # the Simplified Chinese face (lang zh-CN), not JP/KR
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for i, title in enumerate(SECTIONS_ZH, start=1):
        assert f"{i}. {title}" in text
    assert "第 1 页，共" in text and len(HAN.findall(text)) > 2000
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "2", "-png", str(pdf), str(tmp_path / "page")], check=True)
    assert all(p.stat().st_size > 5000 for p in tmp_path.glob("page-*.png"))


@pytest.mark.slow
@pytest.mark.browser
def test_chinese_print_layout_fits_the_page_width(inputs):
    from playwright.sync_api import sync_playwright

    from dcplan.report.browser import CHROMIUM_FLAGS, find_chromium
    from dcplan.report.writers import render_html

    html = render_html(build_report(inputs, "zh"), print_mode=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 703, "height": 1000})
        page.set_content(html)
        page.emulate_media(media="print")
        too_wide = page.evaluate("""() => Array.from(document.querySelectorAll('table, h1, h2, h3, p'))
            .filter(t => t.getBoundingClientRect().right > document.querySelector('.wrap').getBoundingClientRect().right + 1)
            .map(t => t.textContent.slice(0, 60))""")
        browser.close()
    assert too_wide == []


@pytest.mark.slow
def test_cli_report_lang_zh_writes_chinese_markdown_and_pdf(run_cli, tmp_path):
    r = run_cli("report", "--lang", "zh", "--format", "md,pdf", "--samples", "500", "--out", str(tmp_path / "r"), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "执行摘要" in (tmp_path / "r.md").read_text(encoding="utf-8")
    text = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    assert "执行摘要" in text and len(HAN.findall(text)) > 1000


def test_unknown_language_is_one_line_listing_the_available_ones(run_cli, tmp_path):
    r = run_cli("report", "--lang", "fr", "--format", "md", "--out", str(tmp_path / "r"))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == ["dcplan: error: lang: unknown language 'fr'; available: en (English), zh (中文)"]
    assert not list(tmp_path.iterdir())  # nothing written
