"""Scenario files: extends, sources, and bad input named by file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dcplan.errors import InputError
from dcplan.forecast.engine import select_years
from dcplan.forecast.scenario import DRIVERS
from dcplan.io.scenario import list_scenarios, load_scenario

BASE = Path(__file__).resolve().parents[2] / "data" / "scenarios" / "base.yaml"


def _child(tmp_path: Path, body: str, name: str = "child.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(body).replace("BASE", str(BASE)), encoding="utf-8")
    return p


def test_shipped_scenarios_load_with_sources(base):
    assert {"base", "high", "low"} <= set(list_scenarios())
    for name in ("base", "high", "low"):
        s = load_scenario(name)
        assert set(s.required_drivers()) <= set(s.parameters) and set(s.required_drivers()) < set(DRIVERS)
        for p in s.parameters.values():
            assert p.source.strip() and p.date.strip(), p.name


def test_extends_overrides_only_what_it_names(base):
    high = load_scenario("high")
    assert high.extends_chain[0].endswith("base.yaml") and high.extends_chain[-1].endswith("high.yaml")
    assert high.parameters["pue_ai"] == base.parameters["pue_ai"]
    assert high.parameters["chip_supply_growth_per_year"] != base.parameters["chip_supply_growth_per_year"]
    assert high.start_year == base.start_year


def _error(path: Path) -> InputError:
    with pytest.raises(InputError) as exc:
        load_scenario(str(path))
    return exc.value


def test_unknown_parameter_suggests_nearest_with_line(tmp_path):
    p = _child(tmp_path, """\
        name: x
        extends: BASE
        parameters:
          pue_aii: {dist: fixed, value: 1.2, source: s, date: "2025"}
        """)
    e = _error(p)
    assert e.file == str(p) and e.line == 4
    assert "pue_aii" in e.field and "did you mean 'pue_ai'" in e.message


def test_p10_above_p90(tmp_path):
    p = _child(tmp_path, """\
        name: x
        extends: BASE
        parameters:
          pue_ai:
            dist: lognormal
            p10: 1.4
            p90: 1.2
            source: s
            date: "2025"
        """)
    e = _error(p)
    assert e.line == 6 and "p10" in e.field and "must be below p90" in e.message


def test_fraction_outside_0_1(tmp_path):
    p = _child(tmp_path, """\
        name: x
        extends: BASE
        parameters:
          accelerator_load_frac: {dist: uniform, low: 0.5, high: 1.3, source: s, date: "2025"}
        """)
    e = _error(p)
    assert e.line == 4 and "fraction" in e.message


def test_negative_gain_not_allowed(tmp_path):
    p = _child(tmp_path, """\
        name: x
        extends: BASE
        parameters:
          inference_efficiency_gain_per_year: {dist: triangular, low: 0.8, mode: 1.5, high: 2, source: s, date: "2025"}
        """)
    e = _error(p)
    assert e.line == 4 and "cannot be negative" in e.message


def test_missing_source(tmp_path):
    p = _child(tmp_path, """\
        name: x
        extends: BASE
        parameters:
          pue_ai: {dist: fixed, value: 1.2, date: "2025"}
        """)
    assert "missing source" in _error(p).message


def test_cycle_in_extends(tmp_path):
    _child(tmp_path, "name: a\nextends: b.yaml\n", "a.yaml")
    b = _child(tmp_path, "name: b\nextends: a.yaml\n", "b.yaml")
    e = _error(b)
    assert "cycle in extends" in e.message and e.line == 2


def test_unknown_top_level_field(tmp_path):
    p = _child(tmp_path, "name: x\nextends: BASE\nhorizon_end: 2050\n")
    e = _error(p)
    assert e.line == 3 and "did you mean 'horizon_end_year'" in e.message


def test_unknown_distribution_kind(tmp_path):
    p = _child(tmp_path, """\
        name: x
        extends: BASE
        parameters:
          pue_ai: {dist: lognormall, p5: 1.1, p95: 1.3, source: s, date: "2025"}
        """)
    assert "did you mean 'lognormal'" in _error(p).message


def test_year_range_outside_the_data_names_file_and_line(base):
    with pytest.raises(InputError) as exc:
        select_years(base, (2025, 2060))
    e = exc.value
    assert e.file and e.file.endswith("base.yaml") and e.line and "outside" in e.message
    with pytest.raises(InputError):
        select_years(base, (2005, 2010))
    assert select_years(base, (2025, 2027)) == (2025, 2026, 2027)


def test_correlating_a_fixed_parameter_is_an_error(tmp_path):
    p = _child(tmp_path, """\
        name: x
        extends: BASE
        correlations:
          - {a: facility_life_years, b: pue_ai, rho: 0.3}
        """)
    assert "fixed" in _error(p).message


def test_generation_prices_come_from_a_source(tmp_path):
    p = _child(tmp_path, """\
        name: x
        extends: BASE
        generations:
          - {name: v100, hardware: v100, first_vintage: 2017, precision: fp16, usd_per_unit: 9000}
        """)
    e = _error(p)
    assert e.line == 4 and "price_source" in e.field
    p = _child(tmp_path, """\
        name: x
        extends: BASE
        generations:
          - {name: l40s, hardware: l40s, first_vintage: 2017}
        """)
    e = _error(p)
    assert e.line == 4 and "usd_per_unit" in e.field and "first generation needs a price" in e.message
    p = _child(tmp_path, """\
        name: x
        extends: BASE
        generations:
          - {name: v100, hardware: v100, first_vintage: 2017, precision: fp16}
          - {name: h200, hardware: h200, first_vintage: 2024}
        """)
    gens = load_scenario(str(p)).generations
    assert gens[0].usd_per_unit == 10000 and "parent scenario" in gens[0].price_source  # base's price of the same accelerator
    assert gens[1].usd_per_unit is None and "no published price" in gens[1].price_source


def test_regional_shares_must_sum_to_one(tmp_path):
    p = _child(tmp_path, """\
        name: x
        extends: BASE
        parameters:
          ai_share_new_us: {dist: fixed, value: 0.9, source: s, date: "2025"}
        """)
    e = _error(p)
    assert "ai_share_new" in e.message and "sum to 1" in e.message
