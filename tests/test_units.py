"""The formatters people read: one for money, one for power, one for any metric unit."""

import math

import pytest

from dcplan.units import for_people, power_mw, usd


@pytest.mark.parametrize("value,text", [(592e9, "$592B"), (1.38e12, "$1.38T"), (16_296_240, "$16.3M"), (230_685, "$231k"),
                                        (4916, "$4,916"), (1.844, "$1.84"), (0.0806, "$0.0806"), (None, "-"), (math.nan, "-")])
def test_money(value, text):
    assert usd(value) == text


@pytest.mark.parametrize("mw,text", [(350_000, "350 GW"), (126.5, "126 MW"), (0.273, "273 kW"), (1500, "1.5 GW"), (None, "-")])
def test_power_never_reads_350k_mw(mw, text):
    assert power_mw(mw) == text


@pytest.mark.parametrize("value,unit,text", [
    (126_500, "MW (average, all data centres)", "126 GW"), (592e9, "USD/yr", "$592B/yr"), (1108.2, "TWh/yr (all data centres)", "1,108 TWh/yr"),
    (32.6e6, "accelerators (reference-generation units, end of year)", "32.6 million"), (0.547, "fraction", "54.7 %"),
    (386e6, "tCO2e/yr", "386 MtCO2e/yr"), (3.1e15, "tokens/yr", "3.1 quadrillion tokens/yr"), (None, "MW", "-"),
])
def test_any_metric_unit(value, unit, text):
    assert for_people(value, unit) == text
