"""run_forecast: reproducible, overrides, regions, chunks, the JSON document, speed of the fast path."""

from __future__ import annotations

import time

import numpy as np
import pytest

from dcplan.errors import InputError
from dcplan.forecast import engine, run_forecast
from dcplan.forecast.chain import METRIC_UNITS
from dcplan.forecast.scenario import REGIONS
from dcplan.io.market import read_observations

KEYS = ("accelerators_installed", "it_power_mw", "facility_power_mw", "energy_twh", "capex_usd", "market_size_usd", "emissions_tco2e", "unmet_demand_frac")


def test_same_seed_same_forecast(base):
    a = run_forecast(base, samples=400, seed=11)
    b = run_forecast(base, samples=400, seed=11)
    c = run_forecast(base, samples=400, seed=12)
    assert a.to_dict() == b.to_dict()
    assert a.metrics["energy_twh"].p50 != c.metrics["energy_twh"].p50


def test_to_dict_has_the_documented_keys(base):
    d = run_forecast(base, samples=200, seed=0, years=(2025, 2035)).to_dict()
    assert d["years"] == list(range(2025, 2036)) and d["seed"] == 0
    for k in KEYS:
        m = d["metrics"][k]
        assert set(m) == {"p10", "p50", "p90", "mean", "unit"} and len(m["p50"]) == 11
        assert all(a <= b <= c for a, b, c in zip(m["p10"], m["p50"], m["p90"], strict=False))
    assert "parameters" in d["scenario"] and d["scenario"]["parameters"]["pue_ai"]["source"]
    assert "comparisons" in d["backtest"]


def test_override_moves_the_metric_it_drives(base):
    lo = run_forecast(base, samples=300, seed=1, overrides={"pue_ai": 1.1, "pue_ai_floor": 1.05})
    hi = run_forecast(base, samples=300, seed=1, overrides={"pue_ai": 1.6, "pue_ai_floor": 1.05})
    assert hi.at("ai_energy_twh", 2027) > lo.at("ai_energy_twh", 2027)
    assert hi.at("ai_it_power_mw", 2025) == pytest.approx(lo.at("ai_it_power_mw", 2025), rel=0.02)
    with pytest.raises(InputError, match="did you mean 'pue_ai'"):
        run_forecast(base, samples=50, overrides={"pue_aj": 1.2})
    with pytest.raises(InputError, match="fraction"):
        run_forecast(base, samples=50, overrides={"accelerator_load_frac": 1.5})


def test_regions_add_up_to_the_world(base):
    world = run_forecast(base, samples=300, seed=2, keep_samples=True)
    parts = [run_forecast(base, samples=300, seed=2, region=r, keep_samples=True) for r in REGIONS]
    total = sum(p.raw["energy_twh"] for p in parts)
    np.testing.assert_allclose(total, world.raw["energy_twh"], rtol=1e-9)
    emis = sum(p.raw["emissions_tco2e"] for p in parts)
    np.testing.assert_allclose(emis, world.raw["emissions_tco2e"], rtol=1e-9)
    with pytest.raises(InputError, match="unknown region"):
        run_forecast(base, samples=50, region="mars")


def test_chunks_do_not_change_results(base, monkeypatch):
    whole = run_forecast(base, samples=500, seed=5, keep_samples=True)
    monkeypatch.setattr(engine, "CHUNK", 128)
    parts = run_forecast(base, samples=500, seed=5, keep_samples=True)
    for k in ("energy_twh", "capex_usd", "h100e_installed"):
        np.testing.assert_array_equal(whole.raw[k], parts.raw[k])


def test_history_years_follow_spend_and_units_are_consistent(base):
    fc = run_forecast(base, samples=300, seed=0, years=(2017, 2030), keep_samples=True)
    r = fc.raw
    i24 = fc.years.index(2024)
    assert np.all(r["unmet_demand_frac"][:, : i24 + 1] == 0)
    assert np.all(r["energy_twh"] >= r["ai_energy_twh"])
    np.testing.assert_allclose(r["facility_power_mw"] * 8766 / 1e6, r["energy_twh"], rtol=1e-9)
    np.testing.assert_allclose(r["market_size_usd"], r["capex_usd"] + r["opex_usd"], rtol=1e-9)
    assert set(METRIC_UNITS) <= set(fc.metrics)


def test_calibration_world_2024_within_10_percent(base):
    fc = run_forecast(base, samples=2000, seed=0, observations=read_observations())
    c = [c for c in fc.comparisons if c.metric == "energy_twh" and c.region == "world" and c.year == 2024][0]
    assert abs(c.error_frac) < 0.10 and c.covered


def test_iea_2030_base_inside_band(base):
    fc = run_forecast(base, samples=2000, seed=0, observations=read_observations())
    c = [c for c in fc.comparisons if c.label.startswith("IEA Base Case (range") and c.year == 2030][0]
    assert c.covered


@pytest.mark.xfail(strict=True, reason="known miss: fixed regional shares put US 2023 at ~147 TWh vs LBNL 176 (-17 %); see docs/forecast.md")
def test_calibration_us_2023_within_10_percent(base):
    fc = run_forecast(base, samples=2000, seed=0, observations=read_observations())
    c = [c for c in fc.comparisons if c.metric == "energy_twh" and c.region == "us" and c.year == 2023][0]
    assert abs(c.error_frac) < 0.10


def test_dashboard_fast_path_is_fast(base):
    run_forecast(base, samples=2000, seed=0)
    times = []
    for i in range(7):
        t = time.perf_counter()
        run_forecast(base, samples=2000, seed=i, overrides={"pue_ai": 1.2})
        times.append(time.perf_counter() - t)
    # a regression guard on a shared, noisy 2-core machine; docs/benchmarks-forecast.md has the measured figure
    assert min(times) < 0.5, times


def test_pue_links_ai_facility_power_to_it_power(base):
    """PUE is facility energy over IT energy (The Green Grid, 'PUE: A Comprehensive Examination of the Metric', 2012):
    with the AI PUE fixed at 1.3 from the start, every year's AI facility power is 1.3 x its IT power."""
    fc = run_forecast(base, samples=200, seed=4, overrides={"pue_ai": 1.3, "pue_ai_floor": 1.3})
    for year in (2025, 2030, 2035):
        assert fc.at("ai_facility_power_mw", year) == pytest.approx(1.3 * fc.at("ai_it_power_mw", year), rel=1e-6)
