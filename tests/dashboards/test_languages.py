"""The dashboard in Chinese: every page follows the browser's language (or the switch), shows no English
message of the catalog, and fits 1400 px and 420 px without overflowing its containers."""

import re
import threading
from pathlib import Path

import pytest

from dashboards.language import COOKIE, safe_next

ROOT = Path(__file__).resolve().parents[2]
HAN = re.compile(r"[\u4e00-\u9fff]")
#: Each page and an element that is there once its callbacks have answered.
PAGES = {"/hardware": "#hw-bars .main-svg", "/planner": ".kpis", "/market": "#mkt-headline-table", "/reports": "#rep-build"}
#: Containers that must hold their content (a table meant to scroll sideways sits in an overflow-x: auto box, which is allowed).
CONTAINERS = ".header, .nav, .page, .row, .card, .col, .col-narrow, .controls, .kpis, .kpi, .driver, .run-banner, .lang-switch"


def _english_phrases() -> set[str]:
    """Catalog messages of three or more words (no placeholders) whose Chinese differs: none may be visible on a Chinese page."""
    from babel.messages.pofile import read_po

    with (ROOT / "dcplan" / "i18n" / "locale" / "zh" / "LC_MESSAGES" / "dcplan.po").open("rb") as fh:
        return {m.id for m in read_po(fh) if m.id and m.string != m.id and "{" not in m.id and "%" not in m.id and len(m.id.split()) >= 3}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    from werkzeug.serving import make_server

    from dashboards import create_app
    from dashboards.app import Settings

    app = create_app(Settings(profiles_dir=tmp_path_factory.mktemp("profiles")))  # no profile to calibrate in the background
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM_FLAGS, chromium_path

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=[f for f in CHROMIUM_FLAGS if not f.startswith(("--headless", "--window-size"))])
        yield b
        b.close()


def _settle(page, ready: str) -> None:
    page.wait_for_selector(ready, timeout=90_000)
    page.wait_for_function("""() => document.querySelectorAll('[data-dash-is-loading="true"]').length === 0
        && Array.from(document.querySelectorAll('.js-plotly-plot')).every(g => g.querySelector('.main-svg'))""", timeout=90_000)
    page.wait_for_timeout(400)


def _visible_text(page) -> str:
    return page.evaluate("""() => document.querySelector('.shell').innerText + '\\n'
        + Array.from(document.querySelectorAll('.js-plotly-plot svg text')).map(t => t.textContent).join('\\n')""")


def _fragments(text: str) -> set[str]:
    """The texts of the page's elements and chart labels, one per line or table cell (data such as sources stays English)."""
    return {f.strip() for line in text.splitlines() for f in line.split("\t") if f.strip()}


def _overflowing(page) -> list:
    return page.evaluate(f"""() => {{
        const out = [];
        if (document.documentElement.scrollWidth > window.innerWidth + 1)
            out.push(['page', document.documentElement.scrollWidth, window.innerWidth]);
        for (const el of document.querySelectorAll({CONTAINERS!r})) {{
            const ox = getComputedStyle(el).overflowX;
            if (ox === 'auto' || ox === 'scroll') continue;
            if (el.scrollWidth > el.clientWidth + 1)
                out.push([el.className + (el.id ? '#' + el.id : ''), el.scrollWidth, el.clientWidth, el.innerText.slice(0, 60)]);
        }}
        return out;
    }}""")


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("width", [1400, 420])
def test_every_page_in_chinese_without_english_messages_or_overflow(base_url, browser, width):
    phrases = _english_phrases()
    assert len(phrases) > 200
    page = browser.new_page(viewport={"width": width, "height": 900}, locale="zh-CN")  # Accept-Language: zh-CN
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    problems = {}
    for path, ready in PAGES.items():
        page.goto(base_url + path)
        _settle(page, ready)
        text = _visible_text(page)
        assert page.evaluate("document.querySelector('.shell').lang") == "zh-CN"
        heading = page.inner_text("#page-content h2")
        assert HAN.search(heading), f"{path}: heading {heading!r} is not Chinese"
        assert len(HAN.findall(text)) > 60, f"{path}: little Chinese on the page"
        english = sorted(phrases & _fragments(text))
        overflow = _overflowing(page)
        if english or overflow:
            problems[path] = {"english": english, "overflow": overflow}
    page.close()
    assert problems == {}
    assert errors == []


@pytest.mark.browser
def test_the_switch_changes_language_and_is_remembered(base_url, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-US")
    page.goto(base_url + "/market")
    _settle(page, PAGES["/market"])
    assert page.inner_text("#page-content h2") == "Market scenarios"
    page.click("#lang-zh")  # a plain link: /lang/zh?next=/market sets the cookie, the page reloads in Chinese
    _settle(page, PAGES["/market"])
    assert page.url.endswith("/market") and page.inner_text("#page-content h2") == "市场情景"
    assert page.inner_text("#nav-planner") == "容量规划"
    page.click("#nav-planner")  # within the app: the choice holds on every page
    _settle(page, PAGES["/planner"])
    assert page.inner_text("#page-content h2") == "容量规划"
    page.click("#lang-en")
    _settle(page, PAGES["/planner"])
    assert page.inner_text("#page-content h2") == "Capacity planner"
    page.close()


def test_language_route_sets_a_cookie_and_never_leaves_the_site(quiet_app):
    client = quiet_app.server.test_client()
    r = client.get("/lang/zh?next=/market")
    assert r.status_code == 303 and r.headers["Location"].endswith("/market")
    assert f"{COOKIE}=zh" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    for bad in ("//evil.example/x", "https://evil.example/", "/\\evil", "javascript:alert(1)"):
        r = client.get("/lang/zh", query_string={"next": bad})
        assert r.headers["Location"].endswith("/") and "evil" not in r.headers["Location"]
    assert client.get("/lang/fr").status_code == 404 and client.get("/lang/zh-CN").status_code == 404
    assert safe_next("/planner") == "/planner" and safe_next(None) == "/"


def test_callbacks_answer_in_the_request_language(quiet_app):
    """A callback is a request: its language comes from the cookie or Accept-Language, not from server state."""
    from flask import Flask

    from dashboards.language import request_lang, tr
    from dashboards.pages import market

    app = Flask(__name__)
    with app.test_request_context("/", headers={"Accept-Language": "de-DE,zh-CN;q=0.8,en;q=0.5"}):
        assert request_lang() == "zh"
        fig, table = market.update_view("name:base", "energy_twh", None, [n for n, _ in market.DRIVERS])
        assert "全部数据中心" in fig.layout.title.text and "供给约束" in str(table)
        assert tr()("Market") == "市场"
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN", "Cookie": f"{COOKIE}=en"}):
        assert request_lang() == "en"  # the switch wins over the browser
    with app.test_request_context("/", headers={"Accept-Language": "fr-FR"}):
        assert request_lang() == "en"


@pytest.mark.slow
def test_reports_page_builds_the_report_in_the_page_language():
    from dashboards.pages import reports

    name, data = reports.build("md", "base", None, "zh")
    text = data.decode("utf-8")
    assert name.endswith(".md") and "## 1. 执行摘要" in text and "亿美元" in text
