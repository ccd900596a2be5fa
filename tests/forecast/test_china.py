"""China's supply by origin (issue 19): domestic capacity and yield, imports under export controls, the export-controls family."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dcplan.errors import InputError
from dcplan.forecast import chain as ch
from dcplan.forecast import china as cn
from dcplan.forecast import run_forecast
from dcplan.forecast.sampling import draw
from dcplan.forecast.scenario import REGIONS
from dcplan.io.scenario import load_scenario, scenario_choices

BASE = Path(__file__).resolve().parents[2] / "data" / "scenarios" / "base.yaml"


def test_yield_closes_half_its_gap_each_halflife():
    y = cn.yield_path(np.array([2023.0, 2024.0, 2026.0, 2028.0]), 2024, np.array([0.2]), np.array([0.6]), np.array([2.0]))
    np.testing.assert_allclose(y[0], [0.2, 0.2, 0.4, 0.5])  # before the anchor its level; 0.6 - 0.4 x 0.5^(t/2) after


def test_domestic_path_by_hand():
    years = np.array([2024.0, 2025.0])
    d = {"china_domestic_die_starts_per_year": np.array([4e5]), "china_domestic_growth_halflife_years": np.array([1e9]),
         "china_domestic_yield_frac": np.array([0.5]), "china_domestic_mature_yield_frac": np.array([0.5]),
         "china_domestic_yield_halflife_years": np.array([2.0]), "china_domestic_h100e_per_die": np.array([0.33]),
         "china_domestic_perf_growth_per_year": np.array([1.2]), "china_domestic_dies_per_accelerator": np.array([2.0]),
         "china_domestic_w_per_h100e": np.array([1850.0]), "chip_flops_per_watt_growth_per_year": np.array([1.25]),
         "china_domestic_usd_per_h100e": np.array([16000.0]), "price_performance_gain_per_year": np.array([1.2])}
    path = cn.domestic_path(years, 0, 2024, 2025, d, np.array([[2.0, 2.0]]))
    # 2024: 400 k dies x 50 % x 0.33 = 66 k H100e; 2025: twice the starts, 1.2x the H100e per die
    np.testing.assert_allclose(path.h100e[0], [66_000, 66_000 * 2 * 1.2])
    np.testing.assert_allclose(path.h100e_per_unit[0], [0.66, 0.792])
    np.testing.assert_allclose(path.w_per_h100e[0], [1850, 1850 / 1.25])
    np.testing.assert_allclose(path.usd_per_h100e[0], [16000, 16000 / 1.2])


def test_split_domestic_first_then_imports_up_to_the_cap():
    ship = np.array([[10.0, 100.0, 100.0, 100.0]])
    s = cn.split(ship, np.array([0.2]), domestic_h100e=np.array([[99.0, 5.0, 5.0, 30.0]]), cap_h100e=np.array([[np.inf, 8.0, 8.0, 8.0]]),
                 chip_short_h100e=np.array([[0.0, 0.0, 2.5, 0.0]]), controlled=np.array([[False, True, True, True]]), t0=0)
    np.testing.assert_allclose(s.placed[0], [0, 20, 20, 20])       # history year: nothing split
    np.testing.assert_allclose(s.domestic[0], [0, 5, 5, 20])       # made in China first, never more than placed
    np.testing.assert_allclose(s.imported[0], [0, 8, 8, 0])        # then imports up to the cap
    np.testing.assert_allclose(s.shortfall[0], [0, 7, 7, 0])
    np.testing.assert_allclose(s.redirected[0], [0, 0, 2.0, 0])    # kept-out chips go where the world outside China was short: 0.8 x 2.5


def test_imports_are_uncapped_before_the_controls():
    cap, controlled = cn.import_cap(np.array([2022.0, 2023.0, 2024.0, 2025.0]), 2025, np.array([1e5]), np.array([1.5]), np.array([2023.8]))
    assert controlled.tolist() == [[False, False, True, True]]
    assert np.isinf(cap[0, :2]).all() and cap[0, 3] == 1e5 and cap[0, 2] == pytest.approx(1e5 / 1.5)


def test_china_region_holds_what_it_made_and_imported(base):
    setup = ch.setup_from(base)
    out = ch.run_chain(draw(base, 300, np.random.default_rng(3)), setup)
    sup, reg = out.supply, out.regions
    r = REGIONS.index("china")
    cs = sup.china_stocks
    expect = cs["hist_h100e"] * reg.share_hist[:, r : r + 1] + cs["imp_h100e"] + sup.china.stock_domestic_h100e
    np.testing.assert_allclose(reg.stock("h100e", r), expect, rtol=1e-12)
    sp = sup.china.split
    np.testing.assert_allclose(sp.placed, sp.domestic + sp.imported + sp.shortfall, rtol=1e-12, atol=1e-6)
    assert np.all(sp.imported <= sp.import_cap + 1e-6) and np.all(sp.redirected <= sp.shortfall + 1e-6)


def test_flows_and_stocks_of_the_regions_add_up_to_the_world(base):
    world = run_forecast(base, samples=300, seed=2, keep_samples=True)
    parts = [run_forecast(base, samples=300, seed=2, region=r, keep_samples=True) for r in REGIONS]
    for key in ("shipments_h100e", "shipments_units", "accelerator_spend_usd", "gpu_spend_usd", "accelerators_installed", "capex_cumulative_usd",
                "ai_capacity_added_mw", "hyperscaler_capex_usd", "ai_energy_twh", "h100e_required", "accelerators_installed_b200",
                "accelerators_installed_china_domestic"):
        np.testing.assert_allclose(sum(p.raw[key] for p in parts), world.raw[key], rtol=1e-9, err_msg=key)


def test_export_controls_limit_binds_as_is_and_not_when_relaxed(base):
    fc = run_forecast(base, samples=400, seed=0, years=(2025, 2030))
    lim = fc.limit("export_controls")
    assert lim.binding_frac[0] > 0.5 and lim.first_year == 2025 and "export controls" in lim.name and "BIS" in lim.source
    relaxed = run_forecast(load_scenario("export-controls:relaxed"), samples=400, seed=0, years=(2025, 2030))
    assert max(relaxed.limit("export_controls").binding_frac) < 0.1


def test_tighter_controls_shrink_chinas_fleet_power_and_spending():
    fcs = {v: run_forecast(load_scenario(f"export-controls:{v}"), samples=400, seed=0, years=(2025, 2030), region="china")
           for v in ("tighter", "as-is", "relaxed")}
    for metric in ("h100e_installed", "ai_energy_twh", "accelerator_spend_usd"):
        t, a, r = (fcs[v].at(metric, 2028) for v in ("tighter", "as-is", "relaxed"))
        assert t < a < r, metric
    t = fcs["tighter"]
    assert t.at("china_import_shipments_h100e", 2026) < fcs["relaxed"].at("china_import_shipments_h100e", 2026)


def test_as_is_variant_is_base(base):
    a = run_forecast(load_scenario("export-controls:as-is"), samples=200, seed=1, years=(2025, 2030), region="china")
    b = run_forecast(base, samples=200, seed=1, years=(2025, 2030), region="china")
    assert a.metrics["h100e_installed"] == b.metrics["h100e_installed"]


def test_export_controls_cli_differs_from_base_in_chinas_accelerators(run_cli):
    """The issue's target: ``dcplan forecast --scenario export-controls --region china --json`` differs from base."""
    out = {}
    for sc in ("base", "export-controls"):
        r = run_cli("forecast", "--scenario", sc, "--region", "china", "--samples", "400", "--json")
        assert r.returncode == 0, r.stderr
        out[sc] = json.loads(r.stdout)
    assert out["export-controls"]["scenario"]["name"] == "export-controls:tighter" and out["base"]["region"] == "china"
    a, b = out["base"]["metrics"]["h100e_installed"]["p50"], out["export-controls"]["metrics"]["h100e_installed"]["p50"]
    assert b[-1] < a[-1]
    assert out["export-controls"]["metrics"]["china_import_shipments_h100e"]["p50"][1] < out["base"]["metrics"]["china_import_shipments_h100e"]["p50"][1]


def test_variants_are_listed_and_checked(tmp_path):
    assert {"export-controls:tighter", "export-controls:as-is", "export-controls:relaxed", "base"} <= set(scenario_choices())
    with pytest.raises(InputError, match="unknown variant 'relax'.*did you mean 'relaxed'"):
        load_scenario("export-controls:relax")
    with pytest.raises(InputError, match="has no variants"):
        load_scenario("base:tighter")
    child = tmp_path / "mine.yaml"
    child.write_text(textwrap.dedent(f"""\
        name: mine
        extends: {BASE.parent / 'export-controls.yaml'}:relaxed
        parameters:
          pue_ai: {{dist: fixed, value: 1.2, date: "2026", source: "test"}}
        """), encoding="utf-8")
    s = load_scenario(str(child))
    assert s.parameters["china_import_cap_h100e_per_year"].dist.p5 == 5.0e6 and s.parameters["pue_ai"].dist.value == 1.2


def test_a_bad_variant_entry_is_refused_with_its_line(tmp_path):
    p = tmp_path / "fam.yaml"
    p.write_text(textwrap.dedent(f"""\
        name: fam
        extends: {BASE}
        default_variant: a
        variants:
          a:
            parameters:
              china_import_cap_h100e_per_year: {{dist: lognormal, p5: -1, p95: 5, date: "2026", source: "test"}}
        """), encoding="utf-8")
    with pytest.raises(InputError, match="lognormal is positive") as e:
        load_scenario(str(p))
    assert e.value.line == 7 and "variants.a.parameters.china_import_cap_h100e_per_year" in e.value.field
    p.write_text(textwrap.dedent(f"""\
        name: fam
        extends: {BASE}
        variants:
          a:
            parametres: {{}}
        """), encoding="utf-8")
    with pytest.raises(InputError, match="did you mean 'parameters'"):
        load_scenario(str(p) + ":a")


def test_china_figure_is_pure(base):
    from dcplan.figures.forecast import china_supply_chart

    fc = run_forecast(base, samples=200, seed=0, years=(2025, 2030), region="china")
    fig = china_supply_chart(fc)
    assert [t.type for t in fig.data] == ["bar", "bar", "bar", "scatter"] and fig.layout.barmode == "stack"
