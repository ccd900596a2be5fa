"""Hardware options priced in their own currency (issue 19): CNY prices converted at a stated, sourced rate; results in USD."""

from __future__ import annotations

import pytest

from dcplan.capacity.loaders import read_exchange_rates
from dcplan.errors import InputError

from .conftest import plan_text

SERVICE = """
name: t
horizon_years: 1
inference:
  - name: chat
    model: llama-3.1-8b
    precision: bf16
    tokens_per_day: 1B
    peak_to_average: 2.0
    input_len: 1000
    output_len: 200
    ttft_p95_s: 2.0
    tpot_p95_s: 0.1
hardware:
  - {option}
"""


def _assumption(plan, name):
    return next(a for a in plan.assumptions if a.name == name)


def test_shipped_cny_rate_has_its_source():
    rate = read_exchange_rates()["CNY"]
    assert rate.value == pytest.approx(1 / 7.2734, rel=1e-4) and "Federal Reserve" in rate.source and "2025-02" in rate.source
    assert rate.quality == "B" and rate.unit == "USD per CNY"


def test_cny_prices_are_converted_and_the_rate_is_shown():
    rate = read_exchange_rates()["CNY"].value
    plan = plan_text(SERVICE.format(option="{name: h20, currency: CNY, price_local: 100000, cloud_local_per_hour: 15}"))
    price = _assumption(plan, "h20.accelerator_usd")
    assert price.value == pytest.approx(100_000 * rate) and price.unit == "USD per accelerator"
    assert "100,000 CNY" in price.source and "USD per CNY" in price.source and "hardware[0].price_local" in price.source
    assert _assumption(plan, "h20.cloud_usd_per_hour").value == pytest.approx(15 * rate)
    shown = _assumption(plan, "h20.exchange_rate")
    assert shown.value == pytest.approx(rate) and shown.unit == "USD per CNY" and "Federal Reserve" in shown.source
    # the same plan priced in USD directly gives the same USD results
    usd = plan_text(SERVICE.format(option=f"{{name: h20, price_usd: {100_000 * rate}, cloud_usd_per_hour: {15 * rate}}}"))
    assert plan.options[0].capex_usd == pytest.approx(usd.options[0].capex_usd, rel=1e-12)
    assert plan.options[0].tco_usd_per_year == pytest.approx(usd.options[0].tco_usd_per_year, rel=1e-12)


def test_a_given_rate_replaces_the_shipped_one():
    plan = plan_text(SERVICE.format(option="{name: h20, currency: CNY, price_local: 100000, usd_per_currency_unit: 0.14}"))
    assert _assumption(plan, "h20.accelerator_usd").value == pytest.approx(14_000)
    assert _assumption(plan, "h20.exchange_rate").quality == "given"


@pytest.mark.parametrize("option, field, words", [
    ("{name: h20, price_local: 100000}", "price_local", "give currency"),
    ("{name: h20, currency: cny, price_local: 100000}", "currency", "ISO 4217"),
    ("{name: h20, currency: CNY, price_usd: 12000, price_local: 100000}", "price_local", "give the price once"),
    ("{name: h20, currency: CNY, price_usd: 12000}", "currency", "no price in CNY"),
    ("{name: h20, currency: CNY, price_local: -5}", "price_local", "must be"),
    ("{name: h20, currency: EUR, price_local: 11000}", "currency", "no stated exchange rate for EUR"),
])
def test_bad_currency_input_names_the_field(option, field, words):
    with pytest.raises(InputError) as exc:
        plan_text(SERVICE.format(option=option))
    assert field in exc.value.field and words in exc.value.message and exc.value.line is not None


def test_bad_currency_on_the_command_line_is_one_line(run_cli, tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text(SERVICE.format(option="{name: h20, currency: EUR, price_local: 11000}"), encoding="utf-8")
    r = run_cli("plan", str(p))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "usd_per_currency_unit" in r.stderr and "Traceback" not in r.stderr
