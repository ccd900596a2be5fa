"""run_forecast: reproducible, overrides, regions, chunks, the JSON document, limits, the checks against published numbers."""

from __future__ import annotations

import numpy as np
import pytest

from dcplan.errors import InputError
from dcplan.forecast import engine, run_forecast
from dcplan.forecast.chain import METRIC_UNITS
from dcplan.forecast.engine import run_forecast_fixed
from dcplan.forecast.scenario import REGIONS
from dcplan.io.market import read_observations

KEYS = ("energy_twh", "ai_energy_twh", "facility_power_mw", "h100e_installed", "accelerator_spend_usd", "capex_usd", "hyperscaler_capex_usd",
        "emissions_tco2e", "unmet_demand_frac", "backlog_years", "h100e_required_inference", "h100e_required_training")


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
    assert {x["key"] for x in d["limits"]} == {"chips", "power", "export_controls"} and len(d["limits"][0]["binding_frac"]) == 11
    assert d["scenario"]["parameters"]["pue_ai"]["source"] and "comparisons" in d["backtest"]


def test_a_scenario_name_is_loaded_at_the_edge_not_here(base):
    with pytest.raises(TypeError, match="load_scenario"):
        run_forecast("base", samples=10)


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
    for key in ("energy_twh", "emissions_tco2e", "h100e_installed", "capex_usd", "nonai_energy_twh", "it_power_mw"):
        np.testing.assert_allclose(sum(p.raw[key] for p in parts), world.raw[key], rtol=1e-9, err_msg=key)
    with pytest.raises(InputError, match="unknown region"):
        run_forecast(base, samples=50, region="mars")


def test_a_region_that_builds_more_new_capacity_gains_share(base):
    us = run_forecast(base, samples=400, seed=0, region="us", years=(2024, 2035), keep_samples=True)
    world = run_forecast(base, samples=400, seed=0, years=(2024, 2035), keep_samples=True)
    share = (us.raw["ai_energy_twh"] / world.raw["ai_energy_twh"]).mean(axis=0)
    assert share[0] == pytest.approx(0.56, abs=0.005)  # the history split
    # by 2035 the fleet is new capacity: the US takes ai_share_new_us (0.54) of what is built outside China, so more than 0.54
    # of the world's as long as China builds less than its share of demand (0.18), at most 0.54 / 0.82 if China built nothing
    assert 0.54 < share[-1] < 0.54 / 0.82


def test_chunks_do_not_change_results(base, monkeypatch):
    whole = run_forecast(base, samples=500, seed=5, keep_samples=True)
    monkeypatch.setattr(engine, "CHUNK", 128)
    parts = run_forecast(base, samples=500, seed=5, keep_samples=True)
    for k in ("energy_twh", "capex_usd", "h100e_installed", "backlog_years"):
        np.testing.assert_array_equal(whole.raw[k], parts.raw[k])


def test_history_years_follow_spend_and_units_are_consistent(base):
    fc = run_forecast(base, samples=300, seed=0, years=(2017, 2030), keep_samples=True)
    r = fc.raw
    i24 = fc.years.index(2024)
    assert np.all(r["unmet_demand_frac"][:, : i24 + 1] == 0) and np.all(r["binding_chips"][:, : i24 + 1] == 0)
    assert np.all(r["energy_twh"] >= r["ai_energy_twh"])
    np.testing.assert_allclose(r["facility_power_mw"] * 8766 / 1e6, r["energy_twh"], rtol=1e-9)
    np.testing.assert_allclose(r["market_size_usd"], r["capex_usd"] + r["opex_usd"], rtol=1e-9)
    np.testing.assert_allclose(r["ai_energy_inference_twh"] + r["ai_energy_training_twh"] + r["ai_energy_other_twh"], r["ai_energy_twh"], rtol=1e-9)
    assert np.all(r["h100e_required_training"] <= r["h100e_required_training"].max())  # finite: training is bounded
    assert set(METRIC_UNITS) <= set(fc.metrics)


def test_training_is_bounded_by_revenue(base):
    fc = run_forecast(base, samples=400, seed=0, years=(2025, 2035), keep_samples=True)
    r = fc.raw
    # at most s x m times the serving compute (the budget), whatever the frontier trend asks for
    assert fc.at("training_budget_bound", 2030, "mean") > 0.5
    ratio = r["h100e_required_training"] / (r["h100e_required_inference"] + r["h100e_required_other"])
    assert np.all(ratio <= 1.0 * 4.0 * 1.0001 + 10)  # s <= ~1 (p95), m <= ~4 (p95): a finite bound, not the 4-5x/yr trend


def test_fast_path_reuses_cached_stages_and_matches_a_full_run(base):
    a = run_forecast_fixed(base, fixed={"pue_ai": 1.2}, samples=300, seed=4)
    b = run_forecast_fixed(base, fixed={"pue_ai": 1.2}, samples=300, seed=4)
    assert a.to_dict() == b.to_dict()
    moved = run_forecast_fixed(base, fixed={"pue_ai": 1.4}, samples=300, seed=4)
    assert moved.at("energy_twh", 2030) > a.at("energy_twh", 2030)
    assert moved.at("h100e_installed", 2030) == a.at("h100e_installed", 2030)  # PUE acts after the fleet


@pytest.mark.slow
def test_checks_against_published_numbers(base):
    fc = run_forecast(base, samples=4000, seed=0, years=(2017, 2035), observations=read_observations())
    pick = lambda metric, region, year, label="": next(c for c in fc.comparisons if c.metric == metric and c.region == region and c.year == year  # noqa: E731
                                                       and c.label.startswith(label))
    assert abs(pick("energy_twh", "world", 2024).error_frac) < 0.10
    assert abs(fc.at("energy_twh", 2030) / 945 - 1) <= 0.15  # issue 14: within +-15 % of IEA's Base
    assert pick("energy_twh", "world", 2035, "IEA Base").covered  # 1,200 TWh inside P10-P90
    assert pick("accelerator_spend_usd", "world", 2024).covered and pick("accelerator_spend_usd", "world", 2025).covered  # NVIDIA DC revenue
    capex = fc.metric("capex_usd").p50
    assert all(b >= a for a, b in zip(capex[fc.years.index(2024) : fc.years.index(2030)], capex[fc.years.index(2025) : fc.years.index(2030) + 1], strict=True))
    assert fc.at("unmet_demand_frac", 2030) <= 0.20


def test_the_forecast_package_reads_no_files(base, monkeypatch):
    import builtins
    import io
    import pathlib

    from dcplan.forecast.backtest import run_backtest
    from dcplan.forecast.reconcile import reconcile
    from dcplan.forecast.sensitivity import tornado

    obs = read_observations()
    run_forecast(base, samples=50, seed=0, observations=obs)  # warm lazy imports before files are forbidden

    def refuse(*args, **kwargs):
        raise AssertionError(f"the forecast read a file: {args[:1]}")

    for target, name in ((builtins, "open"), (io, "open"), (pathlib.Path, "open"), (pathlib.Path, "read_text"), (pathlib.Path, "read_bytes")):
        monkeypatch.setattr(target, name, refuse)
    run_forecast(base, samples=50, seed=1, observations=obs, region="us")
    tornado(base, metric="energy_twh", year=2030)
    run_backtest(base, obs, vintages=(2022,), samples=50)
    reconcile(base, samples=50)


def test_blas_runs_single_threaded_inside_and_is_restored():
    from threadpoolctl import threadpool_info

    from dcplan.forecast.threads import single_threaded_blas

    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    with single_threaded_blas():
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before


def test_fast_path_from_a_cached_run_matches_a_run_from_the_base(base):
    """Moving a money driver after a demand driver re-runs money and regions on the demand move's chain: same numbers."""
    from dcplan.forecast import engine

    demand, money = {"dialogue_tokens_per_use": 2_000.0}, {"electricity_usd_per_kwh": 0.11}
    engine._RUNS.clear()
    direct = run_forecast_fixed(base, fixed={**demand, **money}, samples=256, seed=9, sampling="sobol")
    engine._RUNS.clear()
    run_forecast_fixed(base, fixed=demand, samples=256, seed=9, sampling="sobol")
    key = (engine._scenario_digest(base), 256, 9, "sobol")
    base_chunks = engine._base_run(base, 256, 9, "sobol").chunks
    prev, changed = engine.nearest_run(key, {**demand, **money}, base_chunks)
    assert changed == {"electricity_usd_per_kwh"} and prev is not base_chunks
    stepped = run_forecast_fixed(base, fixed={**demand, **money}, samples=256, seed=9, sampling="sobol")
    assert stepped.to_dict() == direct.to_dict()
    # back to the demand move alone: the cached run with a differing money driver is nearer than the base
    again = run_forecast_fixed(base, fixed=demand, samples=256, seed=9, sampling="sobol")
    assert again.at("energy_twh", 2030) == direct.at("energy_twh", 2030)  # electricity price does not move energy
    assert again.at("capex_usd", 2030) == direct.at("capex_usd", 2030)


def test_the_chain_on_distinct_draws_gives_every_sample_its_numbers(base, monkeypatch):
    """run_forecast runs the chain once per distinct conditioned draw: the same percentiles, raw samples and checks as every sample."""
    from dcplan.forecast import engine
    from dcplan.forecast.engine import _forecast, simulate
    from dcplan.io.market import read_observations

    monkeypatch.setattr(engine, "CHUNK", 700)  # several chunks, of distinct draws and of samples

    obs = read_observations()
    for sampling in ("lhs", "sobol"):
        fast = run_forecast(base, samples=3000, seed=5, keep_samples=True, observations=obs, sampling=sampling, region="us")
        every = _forecast(base, simulate(base, 3000, 5, sampling), samples=3000, seed=5, years=None, region="us", keep_samples=True,
                          observations=obs)
        assert fast.to_dict() == every.to_dict()
        assert all(np.array_equal(fast.raw[k], every.raw[k]) for k in every.raw)


def test_pue_links_ai_facility_power_to_it_power(base):
    """PUE is facility energy over IT energy (The Green Grid, 'PUE: A Comprehensive Examination of the Metric', 2012):
    with the AI PUE fixed at 1.3 from the start, every year's AI facility power is 1.3 x its IT power."""
    fc = run_forecast(base, samples=200, seed=4, overrides={"pue_ai": 1.3, "pue_ai_floor": 1.3})
    for year in (2025, 2030, 2035):
        assert fc.at("ai_facility_power_mw", year) == pytest.approx(1.3 * fc.at("ai_it_power_mw", year), rel=1e-6)


def test_threads_do_not_change_the_numbers(base, monkeypatch):
    """The draw, the chunks and the percentiles run on threads (dcplan.forecast.threads): 1 and 3 threads give identical forecasts."""
    from dcplan.forecast import engine, threads
    from dcplan.io.market import read_observations

    monkeypatch.setattr(threads, "PARALLEL_SAMPLES", 500)  # threads from 500 samples on, as from 20,000 in use
    monkeypatch.setattr(engine, "CHUNK", 900)  # several chunks per thread
    obs = read_observations()
    got = {}
    for n in ("1", "3"):
        monkeypatch.setenv("DCPLAN_THREADS", n)
        for sampling in ("lhs", "sobol"):
            got[n, sampling] = run_forecast(base, samples=3000, seed=11, keep_samples=True, observations=obs, sampling=sampling, region="china")
    for sampling in ("lhs", "sobol"):
        one, three = got["1", sampling], got["3", sampling]
        assert one.to_dict() == three.to_dict()
        assert all(np.array_equal(one.raw[k], three.raw[k]) for k in one.raw)


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_thread_count_is_named(base, monkeypatch, value):
    from dcplan.errors import InputError
    from dcplan.forecast import threads

    monkeypatch.setenv("DCPLAN_THREADS", value)
    with pytest.raises(InputError, match="DCPLAN_THREADS"):
        threads.thread_count()

