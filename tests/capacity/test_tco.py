"""Capital recovery factor, capex shares, annual cost and rent-versus-own, against their formulas."""

from __future__ import annotations

import pytest

from dcplan.capacity.loaders import read_cost_defaults
from dcplan.capacity.tco import annual_cost, capex, crf, rent_vs_own
from dcplan.units import HOURS_PER_YEAR

from .test_workload import SERVICE, resolved


def test_crf_textbook_values():
    # Engineering-economics tables: (A/P, 10%, 10) = 0.16275, (A/P, 7%, 5) = 0.24389
    assert crf(0.10, 10) == pytest.approx(0.162745, rel=1e-5)
    assert crf(0.07, 5) == pytest.approx(0.243891, rel=1e-5)
    assert crf(0.0, 5) == pytest.approx(0.2)
    assert crf(0.07, 1000) == pytest.approx(0.07, rel=1e-9)  # a perpetuity pays the interest only


@pytest.mark.parametrize("rate,years", [(0.07, 5), (0.09, 14), (0.15, 3)])
def test_crf_annuity_pays_back_the_capital(rate, years):
    annuity = crf(rate, years)
    present_value = sum(annuity / (1 + rate) ** t for t in range(1, years + 1))
    assert present_value == pytest.approx(1.0, rel=1e-12)


def test_crf_rejects_a_zero_life():
    with pytest.raises(ValueError):
        crf(0.07, 0)


@pytest.fixture(scope="module")
def h100():
    inp = resolved(SERVICE)
    return inp.options[0], inp.economics


def test_network_is_its_share_of_cluster_cost(h100):
    opt, econ = h100
    c = capex(accelerators=64, nodes=8, it_mw=8 * 10.2e3 / 1e6, opt=opt, econ=econ)
    assert c.accelerators_usd == 64 * opt.accelerator_usd.value
    assert c.servers_usd == 8 * opt.server_usd_per_node.value
    assert c.network_usd / c.it_usd == pytest.approx(read_cost_defaults().get("network_cost_frac").value)
    assert c.facility_usd == pytest.approx(8 * 10.2e3 / 1e6 * 11.7e6)


def test_annual_cost_components(h100):
    opt, econ = h100
    c = capex(accelerators=8, nodes=1, it_mw=0.0102, opt=opt, econ=econ)
    a = annual_cost(c, facility_energy_kwh=1e5, econ=econ)
    assert a.accelerators_usd == pytest.approx(c.accelerators_usd * crf(econ.wacc_frac.value, econ.it_life_years.value))
    assert a.facility_usd == pytest.approx(c.facility_usd * crf(econ.wacc_frac.value, econ.facility_life_years.value))
    assert a.electricity_usd == pytest.approx(1e5 * econ.usd_per_kwh.value)
    assert a.maintenance_usd == pytest.approx(c.total_usd * econ.maintenance_frac_per_year.value)
    assert a.total_usd == pytest.approx(sum(a.as_dict().values()))
    assert a.opex_usd == pytest.approx(sum(a.opex_dict().values()))


def test_rent_vs_own_break_even():
    r = rent_vs_own(tco_usd_per_year=100_000.0, accelerators=8, used_hours=40_000.0, cloud_usd_per_hour=3.0, source="test")
    assert r.rent_usd_per_year == 120_000.0 and r.cheaper == "own"
    assert r.break_even_usd_per_accelerator_hour == pytest.approx(2.5)
    assert r.break_even_utilization_frac * 8 * HOURS_PER_YEAR * 3.0 == pytest.approx(100_000.0)
    r = rent_vs_own(tco_usd_per_year=100_000.0, accelerators=8, used_hours=20_000.0, cloud_usd_per_hour=3.0, source="test")
    assert r.cheaper == "rent"
    r = rent_vs_own(tco_usd_per_year=100_000.0, accelerators=8, used_hours=20_000.0, cloud_usd_per_hour=None, source="none")
    assert r.cheaper is None and r.rent_usd_per_year is None and r.break_even_utilization_frac is None
