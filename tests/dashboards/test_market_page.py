"""Market page: the driver callback as a function, and a real slider move in the browser."""

import pytest

from dashboards.pages import market


def _p50(source, fixed, metric="facility_power_mw", year=2030):
    fc = market.forecast(source, fixed)
    return fc.at(metric, year)


def test_untouched_sliders_fix_nothing():
    s = market.scenario_from("name:base")
    names = [n for n, _ in market.DRIVERS]
    medians = [market.driver_range(s, n)[1] for n in names]
    assert market.fixed_from_sliders(s, medians, names) == ()


def test_more_tokens_per_user_raise_2030_ai_energy():
    s = market.scenario_from("name:base")
    lo, med, hi = market.driver_range(s, "consumer_tokens_per_user_per_day")
    at = lambda v: _p50("name:base", (("consumer_tokens_per_user_per_day", v),), "ai_energy_twh")  # noqa: E731
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
    handle = dash_duo.find_element('#mkt-drivers div[id*="consumer_tokens_per_user_per_day"] [role=slider]')
    handle.click()
    for _ in range(5):
        handle.send_keys(Keys.ARROW_RIGHT)
    from dash.testing.wait import until

    until(lambda: p50_energy() != before, timeout=30)
    dash_duo.wait_for_contains_text("#mkt-headline", "Fixed: Tokens per consumer user per day", timeout=30)  # words, not the code name
    assert dash_duo.get_logs() == []
