"""The planner against published market figures (shared/reference/datacenter_market.csv and
market-methods.md), within stated tolerances; docs/benchmarks-plan.md prints the same checks.

Published figures used here (not planner output):
- SemiAnalysis H100 rental index $1.70-2.35/h (Oct 2025 low, Mar 2026), rule-of-thumb break-even
  ~$1.65/h (market-methods.md §1.5); AWS p5 Capacity Blocks $39.33/h / 8 = $4.916/h.
- Cushman & Wakefield 2025: $11.7M per MW of critical IT, IT equipment excluded.
- Epoch AI data insight (May 2026): the earlier DGX H100 data-centre model costs $10.8M per MW of IT
  per year (annualised TCO); McKinsey-implied all-in build $40-55bn per GW (market-methods.md §2).
- MosaicML 'Introducing MPT-7B': ~$200k, 1T tokens, 440 A100-40GB, 9.5 days; MosaicML reserved
  price $2.50 per A100-40GB-hour (Databricks MPT-30B blog, via Epoch AI 'Hardware prices.csv').
"""

from __future__ import annotations

import pytest

from dcplan.units import HOURS_PER_YEAR

from .conftest import plan_text

H100_NODE = """
name: h100-node
horizon_years: 1
inference:   # eight single-GPU replicas: one owned DGX-class node, powered all year
  - {name: node, model: llama-3.1-8b, requests_per_s: 0.01, input_len: 100, output_len: 100, peak_to_average: 1, tp: 1, min_replicas: 8}
hardware: [h100-sxm]
"""

SEMIANALYSIS_BREAK_EVEN = 1.65
SEMIANALYSIS_BAND = (1.70, 2.35)
AWS_CAPACITY_BLOCK = 39.33 / 8
CW_USD_PER_MW = 11.7e6
EPOCH_DGX_H100_TCO_PER_MW = 10.8e6
MCKINSEY_USD_PER_GW = (40e9, 55e9)


@pytest.fixture(scope="module")
def node():
    plan = plan_text(H100_NODE)
    return plan.option("h100-sxm")


def test_h100_owned_cost_matches_the_rental_market(node):
    assert node.accelerators == 8 and node.nodes == 1
    at_util = node.usd_per_accelerator_hour  # TCO / (8 x 8,766 h x 0.8)
    at_full = node.tco_usd_per_year / (8 * HOURS_PER_YEAR)
    assert at_util == pytest.approx(SEMIANALYSIS_BREAK_EVEN, rel=0.20)
    assert at_full == pytest.approx(SEMIANALYSIS_BREAK_EVEN, rel=0.20)
    assert SEMIANALYSIS_BAND[0] <= at_util <= SEMIANALYSIS_BAND[1]


def test_owning_beats_aws_capacity_blocks_above_a_third_utilisation(node):
    r = node.rent_vs_own
    assert r.cloud_usd_per_accelerator_hour == pytest.approx(AWS_CAPACITY_BLOCK, rel=1e-3)
    assert r.cheaper == "own"
    assert r.rent_usd_per_year == pytest.approx(8 * HOURS_PER_YEAR * AWS_CAPACITY_BLOCK, rel=1e-3)
    assert r.break_even_utilization_frac == pytest.approx(SEMIANALYSIS_BREAK_EVEN / AWS_CAPACITY_BLOCK, rel=0.25)


def test_facility_cost_per_mw_and_all_in_cost_per_gw(node):
    assert node.capex_breakdown_usd["facility"] / node.it_mw == pytest.approx(CW_USD_PER_MW)
    all_in_per_gw = node.capex_usd / node.it_mw * 1e3
    assert MCKINSEY_USD_PER_GW[0] <= all_in_per_gw <= MCKINSEY_USD_PER_GW[1]


def test_annual_tco_per_mw_matches_epochs_dgx_h100_model(node):
    assert node.tco_usd_per_year / node.it_mw == pytest.approx(EPOCH_DGX_H100_TCO_PER_MW, rel=0.15)


MPT = """
name: mpt-7b
horizon_years: 1
training:
  - {{name: mpt-7b, model: mpt-7b, tokens: 1T, {size}, seq_len: 2048}}
hardware: [{{name: a100-40gb{price}}}]
"""


def test_mpt7b_training_time_and_cost():
    job = plan_text(MPT.format(size="accelerators: 440", price=", cloud_usd_per_hour: 2.50")).option("a100-40gb").training_jobs[0]
    assert job.accelerators == 440
    assert job.training_days == pytest.approx(9.5, rel=0.25)
    assert job.cost_usd_rented == pytest.approx(200_000, rel=0.25)  # at MosaicML's own $2.50/h
    aws = plan_text(MPT.format(size="accelerators: 440", price="")).option("a100-40gb").training_jobs[0]
    assert aws.cost_usd_rented == pytest.approx(200_000, rel=0.30)  # at AWS p4d Capacity Blocks $1.844/h


def test_mpt7b_deadline_sizing_stays_near_the_published_cluster():
    job = plan_text(MPT.format(size="deadline_days: 9.5", price="")).option("a100-40gb").training_jobs[0]
    assert job.training_days <= 9.5
    assert 0.6 * 440 <= job.accelerators <= 1.1 * 440
