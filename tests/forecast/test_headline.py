"""One definition of the headline metrics, with the published anchors beside each figure."""

from __future__ import annotations

from dcplan.forecast import run_forecast
from dcplan.forecast.headline import HEADLINES, anchor_text, anchors, headline_rows, limit_lines, number
from dcplan.io.market import read_observations


def test_number_formatting():
    assert number(945.2) == "945" and number(1234.5) == "1,234" and number(0.0123) == "0.0123" and number(float("nan")) == "-"


def test_headline_rows_carry_anchors_with_sources(base):
    fc = run_forecast(base, samples=300, seed=0, years=(2024, 2035), observations=read_observations())
    rows = {r["key"]: r for r in headline_rows(fc, 2030)}
    assert set(rows) == {h.key for h in HEADLINES}
    energy = rows["energy_twh"]
    assert energy["p10"] <= energy["p50"] <= energy["p90"] and energy["unit"] == "TWh/yr"
    assert any("IEA Base Case" in a and "Energy and AI" in a for a in energy["anchors"])
    assert any("Epoch AI" in a for a in rows["h100e_installed"]["anchors"])
    assert any("McKinsey" in a for a in rows["capex_cumulative_usd"]["anchors"])
    assert any("NVIDIA" in a for a in rows["accelerator_spend_usd"]["anchors"])
    iea = next(c for c in anchors(fc, "energy_twh") if c.year == 2030 and c.label.startswith("IEA Base Case (range"))
    assert "945 (669-1,264) TWh/yr" in anchor_text(iea, 1.0, "TWh/yr")
    us = [a for a in headline_rows(fc, 2028, all_regions=True, keys=("energy_twh",))[0]["anchors"] if "(us)" in a]
    assert any("LBNL" in a for a in us)  # the US anchors beside the US band
    power = headline_rows(fc, 2035, all_regions=True, keys=("facility_power_mw",))[0]["anchors"]
    assert any("BloombergNEF" in a and "(us)" in a for a in power)
    compact = headline_rows(fc, 2030, compact=True, keys=("energy_twh",))
    assert len(compact) == 1 and all("[" not in a for a in compact[0]["anchors"])


def test_limit_lines_name_each_limit(base):
    fc = run_forecast(base, samples=300, seed=0)
    lines = limit_lines(fc)
    assert any("Chip supply" in x for x in lines) and any("Grid" in x for x in lines) and lines[-1].startswith("Backlog")
