"""``dcplan forecast``: JSON, files written atomically, sensitivity, backtest, one-line errors."""

from __future__ import annotations

import json

import pytest


def test_forecast_json(run_cli):
    r = run_cli("forecast", "--samples", "300", "--seed", "3", "--years", "2025-2030", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["years"] == list(range(2025, 2031)) and d["seed"] == 3
    for k in ("accelerators_installed", "it_power_mw", "facility_power_mw", "energy_twh", "capex_usd", "market_size_usd", "emissions_tco2e", "unmet_demand_frac",
              "backlog_years", "h100e_required_inference", "h100e_required_training", "hyperscaler_capex_usd"):
        assert k in d["metrics"]
    assert {x["key"] for x in d["limits"]} == {"chips", "power", "export_controls"}


def test_forecast_table_and_region(run_cli):
    r = run_cli("forecast", "--samples", "200", "--region", "us", "--metric", "energy_twh")
    assert r.returncode == 0, r.stderr
    assert "Electricity, all data centres [TWh/yr]" in r.stdout and "us" in r.stdout
    assert "LBNL" in r.stdout  # the anchors beside the figure


def test_forecast_table_shows_anchors_limits_and_split(run_cli):
    r = run_cli("forecast", "--samples", "300")
    assert r.returncode == 0, r.stderr
    for needle in ("IEA Base Case", "Epoch AI", "McKinsey", "NVIDIA", "Supply limits", "by segment", "by origin", "Chip supply", "Backlog:", "AI electricity in 2030 by use"):
        assert needle in r.stdout, needle


def test_csv_written_and_not_overwritten(run_cli, tmp_path):
    out = tmp_path / "f.csv"
    r = run_cli("forecast", "--samples", "200", "--csv", str(out))
    assert r.returncode == 0, r.stderr
    head = out.read_text().splitlines()[0]
    assert head == "scenario,region,metric,unit,year,p10,p50,p90,mean"
    r = run_cli("forecast", "--samples", "200", "--csv", str(out))
    assert r.returncode == 2 and "--force" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run_cli("forecast", "--samples", "200", "--csv", str(out), "--force", "--raw", "--metric", "energy_twh")
    assert r.returncode == 0 and out.read_text().splitlines()[0] == "scenario,region,sample,year,energy_twh"


def test_sensitivity_and_backtest_json(run_cli):
    r = run_cli("forecast", "sensitivity", "--metric", "energy_twh", "--year", "2030", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["method"] == "tornado" and d["bars"][0]["swing"] >= d["bars"][-1]["swing"]
    r = run_cli("forecast", "backtest", "--samples", "200", "--vintages", "2022", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["vintages"][0]["vintage"] == 2022 and d["n_scored"] > 0 and "bias_frac" in d
    r = run_cli("forecast", "sensitivity", "--method", "sobol", "--samples", "32", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["method"] == "sobol" and d["base_samples"] == 32 and len(d["indices"][0]["total_order_ci"]) == 2
    r = run_cli("forecast", "reconcile", "--samples", "300")
    assert r.returncode == 0 and "Reconciliation of base in 2024" in r.stdout, r.stderr


@pytest.mark.parametrize("args,needle", [
    (["--scenario", "bse"], "did you mean 'base'"),
    (["--years", "2025-2070"], "base.yaml:"),
    (["--set", "pue_aii=1.2"], "did you mean 'pue_ai'"),
    (["--set", "accelerator_load_frac=2"], "fraction"),
    (["--region", "moon"], "region"),
    (["--metric", "energy_twj"], "did you mean 'energy_twh'"),
    (["sensitivity", "--metric", "nope"], "metric"),
    (["backtest", "--vintages", "2030"], "vintage"),
])
def test_bad_input_exit_2_one_line(run_cli, args, needle):
    r = run_cli("forecast", "--samples", "50", *args) if args[0] not in ("sensitivity", "backtest") else run_cli("forecast", *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and needle in r.stderr and "Traceback" not in r.stderr


def test_bad_scenario_file_exit_2(run_cli, tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: bad\nextends: base\nparameters:\n  pue_ai: {dist: lognormal, p10: 1.5, p90: 1.2, source: s, date: '2025'}\n")
    r = run_cli("forecast", "--scenario", str(p), "--samples", "50")
    assert r.returncode == 2 and f"{p}:4:" in r.stderr and "p10" in r.stderr


def test_parquet_needs_pyarrow_or_writes(run_cli, tmp_path):
    out = tmp_path / "f.parquet"
    r = run_cli("forecast", "--samples", "100", "--parquet", str(out))
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        assert r.returncode == 2 and "pyarrow" in r.stderr and not out.exists()
    else:
        assert r.returncode == 0 and out.stat().st_size > 0


def test_help_lists_the_actions(run_cli):
    r = run_cli("forecast", "--help")
    assert r.returncode == 0 and "sensitivity" in r.stdout and "backtest" in r.stdout and "reconcile" in r.stdout
