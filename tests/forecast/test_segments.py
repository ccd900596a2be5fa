"""Demand by application (issue 19): segments add up, each equation by hand, the consumer/enterprise split as a scenario,
segment sensitivity, the stage API for the new drivers, bad input."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dcplan.errors import InputError
from dcplan.forecast import chain as ch
from dcplan.forecast import demand as dm
from dcplan.forecast import run_forecast
from dcplan.forecast.engine import run_forecast_fixed
from dcplan.forecast.sampling import draw
from dcplan.forecast.scenario import APPLICATIONS, DRIVERS, SEGMENT_DRIVERS
from dcplan.forecast.sensitivity import factors, sobol, tornado
from dcplan.io.scenario import load_scenario

BASE = Path(__file__).resolve().parents[2] / "data" / "scenarios" / "base.yaml"


def _child(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "child.yaml"
    p.write_text(textwrap.dedent(body).replace("BASE", str(BASE)), encoding="utf-8")
    return p


def test_base_sums_the_six_applications_with_sources(base):
    assert base.segments == APPLICATIONS == ("dialogue", "translation", "summarisation", "code", "multimodal", "agents")
    for seg in base.segments:
        for suffix in SEGMENT_DRIVERS:
            p = base.parameters[f"{seg}_{suffix}"]
            assert p.source.strip() and p.date.strip(), p.name
            assert DRIVERS[p.name].stage == "demand" and DRIVERS[p.name].segment == seg
        # adoption, uses, tokens per use, growth and size carry distributions; the launch date is a fixed fact
        assert sum(not base.parameters[f"{seg}_{s}"].dist.is_fixed for s in SEGMENT_DRIVERS) == len(SEGMENT_DRIVERS) - 1


def test_segments_add_up_to_llm_serving(base):
    setup = ch.setup_from(base)
    d = draw(base, 300, np.random.default_rng(1))
    dem = ch.stage_demand(d, setup, 300)
    np.testing.assert_allclose(dem.segment_h100e.sum(axis=1), dem.inference_h100e, rtol=1e-12)
    i = list(base.years).index(2024)
    assert np.all(dem.segment_h100e[:, base.segments.index("agents"), : i] == 0)  # before o1 (Sep 2024) no reasoning tokens
    # the stacked segments agree with each segment computed alone by the demand module's own equations
    yrs, a, full, k = setup.years.astype(float), setup.demand_anchor, setup.demand_anchor_year + 1, base.segments.index("code")
    eff = dm.index_at(dm.taper(ch._steps(d, "inference_efficiency_gain_per_year", setup, 300), d["inference_efficiency_halflife_years"], yrs, full), a)
    growth = dm.index_at(dm.taper(ch._steps(d, "code_tokens_growth_per_year", setup, 300), d["token_growth_halflife_years"], yrs, full), a)
    users = dm.users(yrs, d["code_market_size_users"], d["code_bass_p"], d["code_bass_q"], d["code_adoption_start_year"])
    tok = dm.segment_tokens_per_year(users, d["code_uses_per_user_per_day"], d["code_tokens_per_use"], growth, dm.rebound(eff, d["token_price_elasticity"]))
    size = dm.index_at(ch._steps(d, "served_active_params_growth_per_year", setup, 300), a)
    fpt = dm.flop_per_token(dm.col(d["code_served_active_params"]) * size, d["attention_overhead_ratio"], eff)
    np.testing.assert_allclose(dem.segment_h100e[:, k], dm.h100e_years(tok * fpt, d["inference_utilisation_frac"], setup.peak_flops_per_s), rtol=1e-10)


def test_segment_tokens_by_hand():
    # 100 M adopters x 3 uses a day x 2,000 tokens x growth 2 x rebound 1.5 x 365.25 days
    tok = dm.segment_tokens_per_year(np.array([[1e8]]), np.array([3.0]), np.array([2000.0]), np.array([[2.0]]), np.array([[1.5]]))
    assert tok[0, 0] == pytest.approx(1e8 * 3 * 2000 * 2 * 1.5 * 365.25)


def test_each_segment_is_served_at_its_own_model_size(base):
    """Doubling one segment's served size doubles that segment's H100e and no other's."""
    setup = ch.setup_from(base)
    d = draw(base, 200, np.random.default_rng(2))
    a = ch.stage_demand(d, setup, 200)
    d2 = {**d, "code_served_active_params": d["code_served_active_params"] * 2}
    b = ch.stage_demand(d2, setup, 200)
    k = base.segments.index("code")
    np.testing.assert_allclose(b.segment_h100e[:, k], 2 * a.segment_h100e[:, k], rtol=1e-12)
    others = [i for i in range(len(base.segments)) if i != k]
    np.testing.assert_array_equal(b.segment_h100e[:, others], a.segment_h100e[:, others])


def test_forecast_reports_demand_by_segment(base):
    fc = run_forecast(base, samples=300, seed=0, years=(2025, 2030))
    for seg in base.segments:
        assert f"h100e_required_{seg}" in fc.metrics and fc.metric(f"h100e_required_{seg}").unit.startswith("H100")
    assert fc.at("h100e_required_agents", 2030) > fc.at("h100e_required_translation", 2030)


def test_consumer_enterprise_split_stays_a_scenario():
    ce = load_scenario("consumer-enterprise")
    assert ce.segments == ("consumer", "enterprise")
    assert not any(DRIVERS[p.name].segment not in (None, "consumer", "enterprise") for p in ce.uncertain())  # inherited app drivers are not drawn
    fc = run_forecast(ce, samples=300, seed=0, years=(2025, 2030))
    assert "h100e_required_consumer" in fc.metrics and "h100e_required_dialogue" not in fc.metrics
    np.testing.assert_allclose(np.add(fc.metric("h100e_required_consumer").mean, fc.metric("h100e_required_enterprise").mean),
                               fc.metric("h100e_required_inference").mean, rtol=1e-9)


def test_stage_api_for_the_new_drivers(base):
    """A segment driver re-runs demand, a China driver supply; rerun gives what a full run gives."""
    assert ch.first_stage(["agents_tokens_per_use"]) == "demand"
    assert ch.first_stage(["china_import_cap_h100e_per_year"]) == "supply"
    assert ch.first_stage(["ai_share_new"]) == "supply" and ch.first_stage(["nonai_share"]) == "regions"
    setup = ch.setup_from(base)
    d = draw(base, 200, np.random.default_rng(4))
    prev = ch.run_chain(d, setup)
    for name, value in (("agents_tokens_per_use", 40_000.0), ("china_import_cap_h100e_per_year", 50_000.0)):
        d2 = {**d, name: np.full(200, value)}
        fast, full = ch.rerun(prev, d2, setup, [name]), ch.run_chain(d2, setup)
        for m in ("energy_twh", "capex_usd", "china_import_shipments_h100e", "h100e_required_agents"):
            np.testing.assert_allclose(fast.metrics[m], full.metrics[m], rtol=1e-12, err_msg=f"{name}: {m}")


def test_fast_path_segment_driver_moves_ai_energy(base):
    p = base.parameters["agents_tokens_per_use"].dist
    lo, hi = (float(p.ppf(np.array([q]))[0]) for q in (0.1, 0.9))
    a = run_forecast_fixed(base, fixed={"agents_tokens_per_use": lo}, samples=400, seed=0, metrics=["ai_energy_twh"])
    b = run_forecast_fixed(base, fixed={"agents_tokens_per_use": hi}, samples=400, seed=0, metrics=["ai_energy_twh"])
    assert b.at("ai_energy_twh", 2030) > 1.05 * a.at("ai_energy_twh", 2030)


def test_sensitivity_ranks_segments(base):
    groups = factors(base, "segment")
    assert {f"segment:{s}" for s in base.segments} <= set(groups) and "pue_ai" in groups
    assert set(groups["segment:code"]) == {p.name for p in base.uncertain() if DRIVERS[p.name].segment == "code"}
    t = tornado(base, metric="ai_energy_twh", year=2030, by="segment")
    assert [b.name.split(":")[0] for b in t.bars] == ["segment"] * len(base.segments)
    assert all(b.low_input < b.high_input for b in t.bars)  # each segment's requirement at its P10 and P90
    swing = {b.name: b.swing for b in t.bars}
    assert swing["segment:agents"] > swing["segment:translation"]
    s = sobol(base, metric="ai_energy_twh", year=2030, base_samples=32, by="segment", n_resamples=20)
    assert set(s.names) == set(groups) and all(np.isfinite(s.total_order))
    with pytest.raises(InputError, match="grouping"):
        factors(base, "application")


def test_sensitivity_by_segment_cli(run_cli):
    r = run_cli("forecast", "sensitivity", "--by", "segment", "--metric", "ai_energy_twh", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["bars"] and all(b["name"].startswith("segment:") for b in d["bars"])


def test_unknown_or_repeated_segment_is_refused(tmp_path):
    p = _child(tmp_path, """\
        name: bad
        extends: BASE
        demand_segments: [dialogue, coding]
        """)
    with pytest.raises(InputError, match="unknown demand segment 'coding'.*did you mean 'code'") as e:
        load_scenario(str(p))
    assert e.value.file == str(p) and e.value.line == 3
    p = _child(tmp_path, """\
        name: bad
        extends: BASE
        demand_segments: [code, code]
        """)
    with pytest.raises(InputError, match="listed twice"):
        load_scenario(str(p))
    p = _child(tmp_path, """\
        name: bad
        extends: BASE
        demand_segments: []
        """)
    with pytest.raises(InputError, match="at least one"):
        load_scenario(str(p))


def test_a_segment_without_its_drivers_is_refused(tmp_path):
    p = _child(tmp_path, """\
        name: bad
        extends: BASE
        demand_segments: [dialogue, consumer]
        """)
    with pytest.raises(InputError, match="missing: consumer_adoption_start_year"):
        load_scenario(str(p))


def test_replaced_driver_names_say_what_replaced_them(tmp_path):
    p = _child(tmp_path, """\
        name: old
        extends: BASE
        parameters:
          consumer_tokens_per_user_per_day: {dist: lognormal, p5: 3000, p95: 30000, date: "2024", source: "old file"}
        """)
    with pytest.raises(InputError, match="replaced by consumer_uses_per_user_per_day x consumer_tokens_per_use") as e:
        load_scenario(str(p))
    assert e.value.line == 4


def test_bad_segment_cli_is_one_line(run_cli, tmp_path):
    p = _child(tmp_path, """\
        name: bad
        extends: BASE
        demand_segments: [dialog]
        """)
    r = run_cli("forecast", "--scenario", str(p), "--samples", "50")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "demand_segments" in r.stderr and "Traceback" not in r.stderr


def test_segment_figure_is_pure(base):
    from dcplan.figures.forecast import segment_demand_chart, segment_keys

    fc = run_forecast(base, samples=200, seed=0, years=(2025, 2035))
    assert segment_keys(fc) == list(base.segments)
    fig = segment_demand_chart(fc)
    assert len(fig.data) == len(base.segments) + 1 and fig.data[0].stackgroup == "segments"
    assert "H100" in fig.layout.yaxis.title.text and fig.data[-1].name.startswith("all LLM serving")
