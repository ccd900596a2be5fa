"""Whole plans of the shipped samples: documented JSON keys and internal consistency of every number."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dcplan.capacity.loaders import load_plan_inputs, read_cost_defaults
from dcplan.capacity.plan import plan_capacity
from dcplan.capacity.tables import plan_tables
from dcplan.errors import InputError
from dcplan.io.catalog import default_calibration
from dcplan.units import HOURS_PER_YEAR

from .conftest import SAMPLES, plan_text
from .test_workload import SERVICE

OPTION_KEYS = {
    "hardware", "accelerators", "nodes", "racks", "it_mw", "facility_mw", "energy_mwh_per_year", "capex_usd",
    "capex_breakdown_usd", "opex_usd_per_year", "tco_usd_per_year", "usd_per_accelerator_hour", "usd_per_mtok",
    "training_days", "tco2e_per_year", "rent_vs_own", "training_jobs", "services", "tco_breakdown_usd_per_year",
}


@pytest.mark.parametrize("name", ["chat-70b", "train-70b", "portfolio"])
def test_json_has_the_documented_keys(sample_plans, name):
    d = sample_plans[name].to_dict()
    assert {"options", "timeline", "ranking", "assumptions", "excluded", "quarters", "horizon_years"} <= set(d)
    json.dumps(d, allow_nan=False)
    for o in d["options"]:
        assert OPTION_KEYS <= set(o), OPTION_KEYS - set(o)
        assert set(o["capex_breakdown_usd"]) == {"accelerators", "servers", "network", "facility"}
    for a in d["assumptions"]:
        assert {"name", "value", "unit", "source", "quality"} <= set(a) and a["source"]
    names = {a["name"] for a in d["assumptions"]}
    assert {"pue", "usd_per_kwh", "facility_usd_per_mw", "wacc_frac", "it_life_years", "facility_life_years"} <= names


@pytest.mark.parametrize("name", ["chat-70b", "train-70b", "portfolio"])
def test_every_option_adds_up(sample_plans, name):
    plan = sample_plans[name]
    pue = read_cost_defaults().get("pue").value if name != "portfolio" else 1.2
    for o in plan.options:
        assert o.accelerators == o.accelerators_training + o.accelerators_serving == o.nodes * o.accelerators_per_node
        assert (o.racks - 1) * o.nodes_per_rack < o.nodes <= o.racks * o.nodes_per_rack
        assert o.it_mw == pytest.approx(o.nodes * o.node_power_w / 1e6)
        assert o.facility_mw == pytest.approx(o.it_mw * pue)
        assert o.energy_mwh_per_year == pytest.approx(o.it_energy_mwh_per_year * pue)
        assert o.energy_mwh_per_year < o.facility_mw * HOURS_PER_YEAR  # average below nameplate
        assert o.capex_usd == pytest.approx(sum(o.capex_breakdown_usd.values()))
        assert o.tco_usd_per_year == pytest.approx(sum(o.tco_breakdown_usd_per_year.values()))
        assert o.opex_usd_per_year == pytest.approx(sum(o.opex_breakdown_usd_per_year.values()))
        assert o.capex_breakdown_usd["facility"] == pytest.approx(o.it_mw * 11.7e6)
        util = 0.8
        assert o.usd_per_accelerator_hour == pytest.approx(o.tco_usd_per_year / (o.accelerators * HOURS_PER_YEAR * util))
        g = 475.0
        assert o.tco2e_per_year == pytest.approx(o.energy_mwh_per_year * 1e3 * g / 1e6)
        assert set(o.training_days) == {j.name for j in o.training_jobs}


@pytest.mark.parametrize("name", ["chat-70b", "portfolio"])
def test_services_meet_their_targets_at_the_design_peak(sample_plans, name):
    for o in sample_plans[name].options:
        assert o.usd_per_mtok is not None and o.usd_per_mtok_total < o.usd_per_mtok
        assert sum(s.accelerators for s in o.services) <= o.accelerators_serving
        for s in o.services:
            assert s.replicas * s.output_tokens_per_s_per_replica >= s.design_peak_output_tokens_per_s
            assert s.ttft_target_s is None or s.ttft_s <= s.ttft_target_s
            assert s.tpot_target_s is None or s.tpot_s <= s.tpot_target_s
            assert s.replicas >= 2


@pytest.mark.parametrize("name", ["train-70b", "portfolio"])
def test_training_jobs_meet_their_deadlines(sample_plans, name):
    for o in sample_plans[name].options:
        for j in o.training_jobs:
            assert j.training_days <= j.deadline_days
            assert j.accelerators <= o.accelerators_training
            assert j.cost_usd_owned < j.cost_usd_owned_dedicated  # idle hours resold vs a dedicated cluster


@pytest.mark.parametrize("name", ["chat-70b", "train-70b", "portfolio"])
def test_timeline_grows_to_the_headline(sample_plans, name):
    plan = sample_plans[name]
    assert len(plan.quarters) == 4 * plan.horizon_years
    for o in plan.options:
        rows = [r for r in plan.timeline if r.hardware == o.hardware]
        assert [r.quarter for r in rows] == list(plan.quarters)
        installed = [r.installed_accelerators for r in rows]
        assert installed == sorted(installed)
        assert all(r.installed_accelerators >= r.required_accelerators for r in rows)
        assert sum(r.added_accelerators for r in rows) == o.accelerators == rows[-1].installed_accelerators
        assert rows[-1].capex_cumulative_usd == pytest.approx(o.capex_usd)
        assert sum(r.capex_added_usd for r in rows) == pytest.approx(o.capex_usd)
        assert rows[0].action.startswith("build")


def test_growth_shows_in_the_timeline(sample_plans):
    rows = [r for r in sample_plans["portfolio"].timeline if r.hardware == "h100-sxm"]
    assert rows[0].quarter == "2026Q1" and rows[-1].quarter == "2028Q4"
    assert rows[-1].serving_peak_output_tokens_per_s > 2.5 * rows[0].serving_peak_output_tokens_per_s
    assert any(r.action.startswith("add") for r in rows[1:])


@pytest.mark.parametrize("name", ["chat-70b", "train-70b", "portfolio"])
def test_ranking_is_by_tco_with_a_stated_factor(sample_plans, name):
    plan = sample_plans[name]
    r = plan.ranking
    assert [x.rank for x in r] == list(range(1, len(plan.options) + 1))
    assert [x.tco_usd_per_year for x in r] == sorted(x.tco_usd_per_year for x in r)
    assert r[0].tco_vs_best_frac == 0 and all(x.tco_vs_best_frac > 0 for x in r[1:])
    assert r[1].hardware in r[0].deciding_factor and "/yr" in r[0].deciding_factor


def test_tables_flatten_the_plan(sample_plans):
    tables = plan_tables(sample_plans["portfolio"])
    cols, rows = tables["options"]
    assert len(rows) == 3 and "capex_accelerators_usd" in cols and "tco_electricity_usd_per_year" in cols
    assert len(tables["timeline"][1]) == 36 and len(tables["training_jobs"][1]) == 6 and len(tables["services"][1]) == 6


def test_an_option_that_cannot_run_a_job_is_excluded_with_the_reason():
    text = "name: t\ntraining:\n  - {name: j, model: llama-3.1-8b, tokens: 100B, deadline_days: 10, precision: fp8}\nhardware: [h100-sxm, a100-40gb]\n"
    plan = plan_text(text)
    assert [o.hardware for o in plan.options] == ["h100-sxm"]
    (ex,) = plan.excluded
    assert ex.hardware == "a100-40gb" and ex.field == "training[0].precision" and "fp8" in ex.reason


def test_a_profile_calibrates_its_own_option_only(tmp_path):
    def profile(bw: float) -> str:
        cal = dataclasses.replace(default_calibration("h200"), name="h200-measured", hardware="h200", decode_bw_frac=bw)
        path = tmp_path / f"h200-{bw}.json"
        path.write_text(json.dumps({"schema_version": 1, "kind": "dcplan-calibration", "calibration": dataclasses.asdict(cal)}))
        return str(path)

    text = SERVICE.replace("[h100-sxm]", "[h100-sxm, h200]").replace("peak_to_average: 2", "peak_to_average: 2\n    tpot_p95_s: 0.05")
    base = plan_text(text, measured=False)  # the shipped defaults, not the shipped measured H200 profile
    tuned = plan_text(text, profile=profile(0.8))
    assert tuned.option("h200").calibration == "h200-measured"
    assert tuned.option("h200").services[0].stack is None and base.option("h200").services[0].stack == "tensorrt-llm"
    assert tuned.option("h100-sxm").to_dict() == base.option("h100-sxm").to_dict()
    slow = plan_text(text, profile=profile(0.4)).option("h200").services[0]
    fast = tuned.option("h200").services[0]
    assert fast.output_tokens_per_s_per_replica / fast.tp > slow.output_tokens_per_s_per_replica / slow.tp
    assert fast.usd_per_mtok < slow.usd_per_mtok
    with pytest.raises(InputError, match="not among the hardware options"):
        plan_text(SERVICE, profile=profile(0.8))


def test_plans_are_pure_functions_of_their_inputs():
    inputs = load_plan_inputs(SAMPLES / "chat-70b.yaml")
    assert plan_capacity(inputs).to_dict() == plan_capacity(inputs).to_dict()


def test_a_profile_path_in_the_workload_is_relative_to_it(tmp_path):
    cal = dataclasses.replace(default_calibration("h200"), name="h200-lab", hardware="h200")
    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / "h200.json").write_text(json.dumps({"schema_version": 1, "kind": "dcplan-calibration", "calibration": dataclasses.asdict(cal)}))
    w = tmp_path / "w.yaml"
    w.write_text(SERVICE.replace("hardware: [h100-sxm]", "hardware:\n  - {name: h200, profile: cal/h200.json}\n"))
    assert load_plan_inputs(w).options[0].calibration.name == "h200-lab"
    w.write_text(SERVICE.replace("hardware: [h100-sxm]", "hardware:\n  - {name: h100-sxm, profile: cal/h200.json}\n"))
    with pytest.raises(InputError, match=r"w.yaml:10: hardware\[0\].profile: cal/h200.json calibrates h200, not h100-sxm"):
        load_plan_inputs(w)
    w.write_text(SERVICE.replace("hardware: [h100-sxm]", "hardware:\n  - {name: h200, profile: missing.json}\n"))
    with pytest.raises(InputError, match=r"hardware\[0\].profile: file not found"):
        load_plan_inputs(w)


def test_an_option_without_stack_data_carries_a_warning_to_plan_and_ranking():
    text = ("name: t\ninference:\n  - name: chat\n    model: tinyllama-1.1b\n    tokens_per_day: 1B\n    input_len: 1000\n"
            "    output_len: 200\n    peak_to_average: 2\nhardware:\n  - name: tpu-v3\n    price_usd: 8000\n  - name: h100-sxm\n")
    plan = plan_text(text)
    d = plan.to_dict()
    opts = {o["hardware"]: o for o in d["options"]}
    assert opts["tpu-v3"]["serving_stack"]["fallback"] and opts["tpu-v3"]["warnings"]
    assert "pooled" in opts["tpu-v3"]["warnings"][0]
    assert opts["h100-sxm"]["serving_stack"]["name"] == "tensorrt-llm" and not opts["h100-sxm"]["warnings"]
    ranked = {r["hardware"]: r for r in d["ranking"]}
    assert ranked["tpu-v3"]["warnings"] == opts["tpu-v3"]["warnings"]
