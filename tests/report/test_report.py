"""Capacity reports: every format written, rendered and read back; paths are safe."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dcplan.errors import InputError
from dcplan.report.assemble import build_report
from dcplan.report.output import output_paths, parse_formats, write_report
from dcplan.report.pipeline import gather

SAMPLES = 1000


@pytest.fixture(scope="module")
def inputs():
    return gather(scenario="base", seed=3, samples=SAMPLES, created="2026-11-28")


@pytest.fixture(scope="module")
def written(inputs, tmp_path_factory):
    report = build_report(inputs)
    out = tmp_path_factory.mktemp("report")
    res = write_report(report, output_paths(str(out) + "/", ["html", "pdf", "xlsx", "md", "json"]))
    assert res.failed == {}, res.failed
    return report, res.written


SECTIONS = ("Executive summary", "Hardware and model accuracy", "Capacity plan per option", "Market forecast",
            "Sensitivity", "Assumptions and methodology", "Validation against published runs")


@pytest.mark.slow
def test_pdf_renders_with_every_section(written, tmp_path):
    _, files = written
    pdf = files["pdf"]
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for i, title in enumerate(SECTIONS, start=1):
        assert f"{i}. {title}" in text, title
    assert "page 1 of" in text  # page numbers in the footer
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1])
    assert pages >= len(SECTIONS)
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "3", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == 3 and all(p.stat().st_size > 5000 for p in pngs)


@pytest.mark.slow
@pytest.mark.browser
def test_html_is_self_contained_and_draws_every_chart_offline(written):
    from playwright.sync_api import sync_playwright

    from dcplan.report.browser import CHROMIUM_FLAGS, find_chromium

    report, files = written
    html = files["html"].read_text()
    assert "<script src=" not in html and "<link " not in html  # plotly.js is inline; nothing is fetched
    assert html.count("Plotly.newPlot(") == len(report.figures())
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(files["html"].as_uri())
        page.wait_for_function(f"() => document.querySelectorAll('.plot .main-svg').length >= {len(report.figures())}", timeout=60000)
        browser.close()
    assert errors == []
    assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), [u for u in requests if not u.startswith("file:")]


def test_xlsx_reads_back_to_the_json_numbers(written):
    import pandas as pd

    _, files = written
    data = json.loads(files["json"].read_text())
    sheets = pd.read_excel(files["xlsx"], sheet_name=None)
    options = sheets["plan options"].set_index("Option")
    for o in data["plan"]["options"]:
        row = options.loc[o["hardware"]]
        assert row["Capex [USD]"] == pytest.approx(o["capex_usd"])
        assert row["TCO [USD/yr]"] == pytest.approx(o["tco_usd_per_year"])
        assert row["Accelerators"] == o["accelerators"]
    pct = sheets["forecast percentiles"]
    energy = data["forecast"]["metrics"]["energy_twh"]
    got = pct[pct["Metric"] == "energy_twh"].sort_values("Year")
    assert list(got["Year"]) == data["forecast"]["years"]
    assert list(got["P50"]) == pytest.approx(energy["p50"])
    assert {"timeline", "assumptions", "validation training", "validation inference"} <= set(sheets)
    assert pd.api.types.is_numeric_dtype(options["IT power [MW]"])
    # the Sobol indices travel in the JSON too: the sheet's rows are its 15 largest total-order indices
    sobol, indices = sheets["sobol"], data["sobol"]["indices"]
    assert data["sobol"]["metric"] == "energy_twh" and len(indices) > 15
    assert list(sobol["Driver"]) == [r["name"] for r in indices[:15]]
    assert list(sobol["Total order"]) == pytest.approx([r["total_order"] for r in indices[:15]])


def test_markdown_has_sections_and_tables(written):
    _, files = written
    md = files["md"].read_text()
    for i, title in enumerate(SECTIONS, start=1):
        assert f"## {i}. {title}" in md
    assert "| Option |" in md or "| Rank |" in md


def test_same_seed_same_numbers_serial_or_on_a_pool(inputs):
    """The same seed gives the same report, gathered in this process or on a pool of 2 worker
    processes: the JSON, and the Markdown (it carries the Sobol bootstrap intervals too)."""
    from dcplan.report.writers import render_markdown

    again = gather(scenario="base", seed=3, samples=SAMPLES, created="2026-11-28", executor="processes:2")
    a, b = build_report(inputs), build_report(again)
    assert json.dumps(a.data, sort_keys=True, default=str) == json.dumps(b.data, sort_keys=True, default=str)
    assert render_markdown(a) == render_markdown(b)
    assert inputs.sobol.first_order_ci == again.sobol.first_order_ci and inputs.sobol.total_order_ci == again.sobol.total_order_ci


@pytest.mark.parametrize("bad", ["../../etc/x", "/etc/x", "sub/../../x", ".hidden", "a b", "-x", "x\x00y"])
def test_crafted_output_names_are_refused(bad, tmp_path):
    with pytest.raises(InputError):
        output_paths(bad, ["html"], within=tmp_path)


def test_names_inside_the_folder_are_accepted(tmp_path):
    assert output_paths("q3/plan", ["md"], within=tmp_path)["md"] == (tmp_path / "q3" / "plan.md").resolve()


def test_paths_stay_inside_the_chosen_directory(tmp_path):
    paths = output_paths(str(tmp_path / "q3-plan.pdf"), ["html", "pdf"])
    assert paths["pdf"] == tmp_path / "q3-plan.pdf" and paths["html"] == tmp_path / "q3-plan.html"
    with pytest.raises(InputError, match="format"):
        parse_formats("html,docx")


def test_no_overwrite_without_force_and_one_failure_keeps_the_others(written, tmp_path):
    report, _ = written
    paths = output_paths(str(tmp_path) + "/", ["md", "json"])
    write_report(report, paths)
    with pytest.raises(InputError, match="exists"):
        write_report(report, paths)
    before = paths["md"].read_bytes()
    res = write_report(report, paths, force=True)
    assert res.failed == {} and paths["md"].read_bytes() == before


@pytest.mark.slow
def test_cli_pdf_failure_leaves_other_formats(tmp_path):
    # no chromium on PATH: the PDF fails, the HTML and JSON are written, exit status 1
    venv_bin = str(Path(sys.executable).parent)
    env = {"PATH": venv_bin, "HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "dcplan", "report", "--format", "json,pdf,md", "--samples", "500",
                        "--out", str(tmp_path / "r")], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 1, r.stderr
    assert (tmp_path / "r.json").exists() and (tmp_path / "r.md").exists() and not (tmp_path / "r.pdf").exists()
    assert "pdf failed" in r.stderr and "Chromium" in r.stderr


@pytest.mark.slow
def test_profile_fills_the_accuracy_section():
    cal = Path(__file__).resolve().parents[2] / "profiles" / "cpu-amd-epyc-1t-standard.calibration.json"
    x = gather(scenario="low", seed=1, samples=500, profile=str(cal), created="2026-11-28")
    report = build_report(x)
    accuracy = next(s for s in report.sections if s.id == "accuracy")
    titles = [getattr(b, "title", "") for b in accuracy.blocks]
    assert "Calibration: held-out errors" in titles
    assert sum(t.startswith("Measured vs predicted") for t in titles) == 3
    heldout = next(b for b in accuracy.blocks if getattr(b, "title", "") == "Calibration: held-out errors")
    assert {r["kind"] for r in heldout.rows} >= {"train", "prefill", "decode", "memory"}
    # a CPU profile cannot calibrate the plan's GPUs: they keep their shipped measured calibration or the defaults
    from dcplan.io.measured import measured_calibrations

    shipped = measured_calibrations()
    for o in x.plan.options:
        assert (shipped[o.hardware].calibration.name if o.hardware in shipped else "defaults") in o.calibration, o.hardware
    assert "h200" in shipped and any(o.hardware == "h200" for o in x.plan.options)


@pytest.mark.slow
@pytest.mark.browser
def test_print_layout_every_table_fits_the_page_width(written):
    """The print HTML the PDF is made from, laid out at the A4 content width: no table is wider than the page."""
    from playwright.sync_api import sync_playwright

    from dcplan.report.browser import CHROMIUM_FLAGS, find_chromium
    from dcplan.report.writers import render_html

    report, _ = written
    html = render_html(report, print_mode=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 703, "height": 1000})  # A4 (210 mm) less 2 x 12 mm margins at 96 dpi
        page.set_content(html)
        page.emulate_media(media="print")
        too_wide = page.evaluate("""() => Array.from(document.querySelectorAll('table'))
            .filter(t => t.getBoundingClientRect().right > document.querySelector('.wrap').getBoundingClientRect().right + 1)
            .map(t => [t.parentElement.previousElementSibling.textContent, Math.round(t.getBoundingClientRect().width)])""")
        headers = page.evaluate("() => Array.from(document.querySelectorAll('th')).map(th => th.textContent)")
        browser.close()
    assert too_wide == []
    for t in report.tables():
        if t.in_text:
            for c in t.columns:
                assert c.text_header in headers, f"{t.title}: column {c.text_header} is missing"


@pytest.mark.slow
def test_pdf_pages_never_end_on_a_heading(written):
    report, files = written
    headings = {f"{i + 1}. {s.title}" for i, s in enumerate(report.sections)} | {t.title for t in report.tables() if t.in_text}
    pages = subprocess.run(["pdftotext", "-layout", str(files["pdf"]), "-"], capture_output=True, text=True, check=True).stdout.split("\f")
    stranded = []
    for n, page in enumerate(pages, start=1):
        lines = [ln.strip() for ln in page.splitlines() if ln.strip() and not ln.strip().startswith(report.title)]
        if lines and any(lines[-1].startswith(h[:40]) for h in headings):
            stranded.append((n, lines[-1]))
    assert stranded == []


def test_text_formats_print_years_money_and_power_as_people_read_them(written):
    report, files = written
    md = files["md"].read_text()
    assert "| 2030 |" in md and "2,030" not in md and "2,024" not in md  # years never with a thousands separator
    options = next(t for t in report.tables() if t.title == "Plan per option")
    line = next(ln for ln in md.splitlines() if ln.startswith("| " + options.rows[0]["hardware"] + " |"))
    assert "$" in line and ("kW" in line or "MW" in line or "GW" in line)  # $16.3M, 367 kW: never 16296240 or 0.3672
    from dcplan.report.document import Column
    from dcplan.report.writers import cell_text

    assert cell_text(16_296_240.0, Column(key="c", label="Capex", unit="USD", kind="usd")) == "$16.3M"
    assert cell_text(350_000.0, Column(key="p", label="Power", unit="MW", kind="mw")) == "350 GW"
    assert cell_text(2024, Column(key="y", label="Year", kind="year")) == "2024"
    assert cell_text(None, Column(key="c", label="Capex", unit="USD", kind="usd")) == "-"


@pytest.mark.parametrize("lang,title", [("en", "Options left out of the plan"), ("zh", "未纳入规划的选项")])
def test_capacity_section_lists_options_left_out_with_why(lang, title):
    """An option whose chip publishes no power (TPU v5p) is left out of the plan; the report says so and why."""
    from types import SimpleNamespace

    from dcplan.capacity.loaders import load_plan_inputs
    from dcplan.capacity.plan import plan_capacity
    from dcplan.i18n import translator
    from dcplan.report.assemble import capacity
    from dcplan.report.document import Table

    plan = plan_capacity(load_plan_inputs(Path(__file__).resolve().parents[2] / "data" / "workloads" / "chat-70b.yaml",
                                          hardware=["h100-sxm", "tpu-v5p"]))
    section = capacity(SimpleNamespace(plan=plan), translator(lang))
    (table,) = [b for b in section.blocks if isinstance(b, Table) and b.title == title]
    (row,) = table.rows
    assert row["hardware"] == "tpu-v5p" and "no published TDP or node power" in row["reason"]
