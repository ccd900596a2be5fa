"""The planner with the current chips (issue 19): unknown prices, powers and precisions give
clear answers naming the field, and known figures plan."""

from __future__ import annotations

import pytest

from dcplan.errors import InputError

from .conftest import plan_text

SERVICE = """
name: t
horizon_years: 1
inference:
  - name: chat
    model: llama-3.1-8b
    precision: {precision}
    tokens_per_day: 1B
    peak_to_average: 2.0
    input_len: 1000
    output_len: 200
    ttft_p95_s: 2.0
    tpot_p95_s: 0.1
hardware: {hardware}
"""


def test_chip_without_a_published_price_asks_for_one():
    with pytest.raises(InputError) as exc:
        plan_text(SERVICE.format(precision="bf16", hardware="[h20]"))
    assert "no published purchase price for h20" in exc.value.message and "price_usd" in exc.value.message


def test_current_chips_plan_when_the_price_is_given():
    plan = plan_text(SERVICE.format(precision="bf16", hardware="[{name: h20, price_usd: 12000}, {name: gb300, price_usd: 40000}, {name: b300, price_usd: 40000}]"))
    got = {o.hardware: o for o in plan.options}
    assert set(got) == {"h20", "gb300", "b300"}
    for o in got.values():
        assert o.accelerators > 0 and o.it_mw > 0 and o.capex_usd > 0
    # b300's node power is the DGX SuperPOD rack budget (~56 kW / 4 DGX), not TDP x a ratio
    assert got["b300"].node_power_w == pytest.approx(14000)


def test_chip_without_published_power_cannot_be_sized_and_says_why():
    with pytest.raises(InputError) as exc:
        plan_text(SERVICE.format(precision="bf16", hardware="[{name: ascend-910c, price_usd: 25000}]"))
    assert "ascend-910c has no published TDP or node power" in exc.value.message


def test_unpublished_precision_excludes_the_option_with_its_source():
    plan = plan_text(SERVICE.format(precision="int8", hardware="[{name: h20, price_usd: 12000}, {name: mi355x, price_usd: 25000}]"))
    assert [o.hardware for o in plan.options] == ["h20"]
    (excl,) = plan.excluded
    assert excl.hardware == "mi355x"
    assert "no published dense int8 peak" in excl.reason and "ROCm docs" in excl.reason


def test_option_without_published_power_is_left_out_with_why_and_the_others_plan():
    """TPU v5p publishes neither TDP nor node power (nor a purchase price): it is excluded with the
    reason rather than sized with a guessed power, and the plan goes on with the other options."""
    plan = plan_text(SERVICE.format(precision="bf16", hardware="[{name: h20, price_usd: 12000}, tpu-v5p]"))
    assert [o.hardware for o in plan.options] == ["h20"]
    (excl,) = plan.excluded
    assert excl.hardware == "tpu-v5p" and excl.field == "hardware[1].name"
    assert "tpu-v5p has no published TDP or node power" in excl.reason and "dcplan hardware show tpu-v5p" in excl.reason
    assert [r.hardware for r in plan.ranking] == ["h20"]
    assert plan.to_dict()["excluded"][0]["reason"] == excl.reason
