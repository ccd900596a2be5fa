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


def test_slider_values_are_quantised_to_the_slider_grid_and_cached():
    s = market.scenario_from("name:base")
    name = "pue_ai"
    lo, med, hi = market.driver_range(s, name)
    step = (hi - lo) / market.SLIDER_STEPS
    assert market.quantise(s, name, lo + 3 * step + 0.3 * step) == pytest.approx(lo + 3 * step)
    assert market.quantise(s, name, hi * 10) == pytest.approx(hi)
    names = [n for n, _ in market.DRIVERS if n in s.parameters]
    vals = [market.driver_range(s, n)[1] for n in names]
    vals[names.index(name)] = lo + 5 * step + 0.2 * step
    fixed = market.fixed_from_sliders(s, vals, names)
    assert fixed == ((name, pytest.approx(lo + 5 * step)),)
    a = market.forecast("name:base", fixed, market.view_metrics("energy_twh"))
    assert market.forecast("name:base", fixed, market.view_metrics("energy_twh")) is a  # the per-worker cache


def _post_update(client, moved: str | None, metric: str = "facility_power_mw"):
    import json

    s = market.scenario_from("name:base")
    names = [n for n, _ in market.DRIVERS if n in s.parameters]
    values = [market.driver_range(s, n)[1] for n in names]
    if moved:
        lo, _, hi = market.driver_range(s, moved)
        values[names.index(moved)] = lo + 14 * (hi - lo) / market.SLIDER_STEPS
    deps = json.loads(client.get("/_dash-dependencies").data)
    dep = next(d for d in deps if d["output"].startswith("..mkt-fan.figure"))
    ids = [{"name": n, "type": "mkt-driver"} for n in names]
    changed = [json.dumps({"name": moved, "type": "mkt-driver"}, separators=(",", ":")) + ".value"] if moved else ["mkt-metric.value"]
    body = {"output": dep["output"], "outputs": [{"id": "mkt-fan", "property": "figure"}, {"id": "mkt-headline", "property": "children"}],
            "inputs": [{"id": "mkt-store", "property": "data", "value": "name:base"}, {"id": "mkt-metric", "property": "value", "value": metric},
                       [{"id": i, "property": "value", "value": v} for i, v in zip(ids, values, strict=True)]],
            "state": [[{"id": i, "property": "id", "value": i} for i in ids]], "changedPropIds": changed}
    r = client.post("/_dash-update-component", json=body)
    assert r.status_code == 200
    return r.get_json()["response"], len(r.data)


def test_a_moved_slider_patches_the_figure_a_new_metric_rebuilds_it(quiet_app):
    """Only the band's and the median's values travel when a slider moves; the whole figure when the metric changes."""
    client = quiet_app.server.test_client()
    full, full_bytes = _post_update(client, None, "energy_twh")
    assert full["mkt-fan"]["figure"]["data"][0]["fill"] == "toself" and "layout" in full["mkt-fan"]["figure"]
    patch, patch_bytes = _post_update(client, "dialogue_tokens_per_use", "energy_twh")
    fig = patch["mkt-fan"]["figure"]
    assert fig["__dash_patch_update"] == "__dash_patch_update"
    ops = {tuple(op["location"]): op["params"]["value"] for op in fig["operations"]}
    assert ("data", 0, "y") in ops and ("data", 1, "y") in ops and ("layout", "yaxis", "title", "text") in ops
    assert all(loc[0] == "data" and loc[2] in ("y", "error_y") for loc in ops if loc[0] != "layout")  # numbers only, no new traces
    p50_full = full["mkt-fan"]["figure"]["data"][1]["y"]
    assert len(ops[("data", 1, "y")]) == len(p50_full) and ops[("data", 1, "y")] != p50_full  # more tokens, more energy
    assert ops[("layout", "yaxis", "title", "text")] == full["mkt-fan"]["figure"]["layout"]["yaxis"]["title"]["text"]
    assert patch_bytes < full_bytes and patch_bytes < 16_000  # no sample arrays: percentiles and the table only


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
    dash_duo.wait_for_element("#mkt-fan .js-plotly-plot", timeout=60)
    fan = "return document.querySelector('#mkt-fan .js-plotly-plot').data.map(t => t.y ? Array.from(t.y) : null)"
    band_before = dash_duo.driver.execute_script(fan)
    handle.click()
    for _ in range(5):
        handle.send_keys(Keys.ARROW_RIGHT)
    from dash.testing.wait import until

    until(lambda: p50_energy() != before, timeout=30)
    dash_duo.wait_for_contains_text("#mkt-headline", "Fixed: Dialogue: tokens per message", timeout=30)  # words, not the code name
    # the fan chart was patched in place: the same traces (band, median, published points), new band values
    until(lambda: dash_duo.driver.execute_script(fan)[1] != band_before[1], timeout=30)
    band_after = dash_duo.driver.execute_script(fan)
    assert len(band_after) == len(band_before) and band_after[2:] == band_before[2:]
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
