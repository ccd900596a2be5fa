"""Market page: the driver callback as a function, and a real slider move in the browser."""

import pytest

from dashboards.pages import market


def _p50(source, fixed, metric="facility_power_mw", year=2030):
    fc = market.forecast(source, fixed)
    return fc.at(metric, year)


def test_untouched_sliders_fix_nothing():
    s = market.scenario_from("name:base")
    names = [n for n, _ in market.DRIVERS if s.active(n)]
    medians = [market.driver_range(s, n)[1] for n in names]
    assert market.fixed_from_sliders(s, medians, names) == ()


def test_more_tokens_per_use_raise_2030_ai_energy():
    s = market.scenario_from("name:base")
    lo, med, hi = market.driver_range(s, "dialogue_tokens_per_use")
    at = lambda v: _p50("name:base", (("dialogue_tokens_per_use", v),), "ai_energy_twh")  # noqa: E731
    assert at(hi) > _p50("name:base", (), "ai_energy_twh") > at(lo)
    assert at(hi) / at(lo) > 1.05  # the demand sliders move the forecast


def test_faster_efficiency_gains_cut_2030_ai_energy():
    s = market.scenario_from("name:base")
    lo, _, hi = market.driver_range(s, "inference_efficiency_gain_per_year")
    slow = _p50("name:base", (("inference_efficiency_gain_per_year", lo),), "ai_energy_twh")
    fast = _p50("name:base", (("inference_efficiency_gain_per_year", hi),), "ai_energy_twh")
    assert fast < slow


def test_update_view_returns_fan_and_headline():
    names = [n for n, _ in market.DRIVERS]
    fig, table = market.update_view("name:base", "energy_twh", None, names)
    # words and the unit people read, never the code name
    assert "Electricity, all data centres" in fig.layout.title.text and "energy_twh" not in fig.layout.title.text
    assert fig.layout.yaxis.title.text == "TWh/yr"
    text = str(table)
    assert "2030" in text and "IEA Base Case" in text and "Supply limits" in text


def test_bad_upload_is_reported():
    import base64

    from dcplan.errors import InputError

    text = "name: x\nextends: base\nparameters:\n  pue_ai: {value: 0.5, source: test, date: 2026}\n"
    source = market.source_for_upload(text)
    with pytest.raises(InputError):
        market.scenario_from(source)
    contents = "data:;base64," + base64.b64encode(text.encode()).decode()
    assert market.decode_upload(contents, "x.yaml") == text


@pytest.mark.browser
def test_market_page_driver_moves_2030_energy(dash_duo, quiet_app):
    from selenium.webdriver.common.keys import Keys

    dash_duo.start_server(quiet_app)
    dash_duo.wait_for_page(url=dash_duo.server_url + "/market")
    dash_duo.wait_for_element("#mkt-headline-table", timeout=60)

    def p50_energy() -> str:
        row = dash_duo.find_elements("#mkt-headline-table tbody tr")[0]
        return row.find_elements("css selector", "td")[2].text

    before = p50_energy()
    handle = dash_duo.find_element('#mkt-drivers div[id*="dialogue_tokens_per_use"] [role=slider]')
    handle.click()
    for _ in range(5):
        handle.send_keys(Keys.ARROW_RIGHT)
    from dash.testing.wait import until

    until(lambda: p50_energy() != before, timeout=30)
    dash_duo.wait_for_contains_text("#mkt-headline", "Fixed: Dialogue: tokens per message", timeout=30)  # words, not the code name
    assert dash_duo.get_logs() == []


def test_segment_and_china_figures_on_the_page():
    from dcplan.figures.forecast import china_supply_chart, segment_demand_chart

    fc = market.forecast("name:base", ())
    seg, cn = segment_demand_chart(fc), china_supply_chart(fc)
    assert len(seg.data) == len(market.scenario_from("name:base").segments) + 1 and len(cn.data) == 4
    ce = market.forecast("name:consumer-enterprise", ())
    assert [t.name for t in segment_demand_chart(ce).data][:2] == ["consumer users", "enterprise seats"]


def test_scenario_family_variants_are_choices():
    from dashboards.uploads import shipped_scenario

    assert shipped_scenario("export-controls:relaxed") == "export-controls:relaxed"
    s = market.scenario_from("name:export-controls:tighter")
    assert s.name == "export-controls:tighter"
    block = market.slider_block(market.scenario_from("name:consumer-enterprise"))
    shown = {b.children[1].id["name"] for b in block}
    assert "consumer_tokens_per_use" in shown and "dialogue_tokens_per_use" not in shown


@pytest.mark.browser
def test_market_page_shows_demand_by_segment_and_china_by_origin(dash_duo, quiet_app):
    dash_duo.start_server(quiet_app)
    dash_duo.wait_for_page(url=dash_duo.server_url + "/market")
    dash_duo.wait_for_contains_text("#mkt-segments", "agents and reasoning", timeout=90)
    dash_duo.wait_for_contains_text("#mkt-segments", "LLM serving demand by application", timeout=30)
    dash_duo.wait_for_contains_text("#mkt-china", "made in China", timeout=30)
    dash_duo.select_dcc_dropdown("#mkt-scenario", value="export-controls:relaxed")  # a variant of the scenario family
    dash_duo.wait_for_contains_text("#mkt-china", "Export controls: relaxed", timeout=90)
    assert dash_duo.get_logs() == []
