"""Sizing: the deadline search, serving replicas at the SLO-feasible batch, and rack limits."""

from __future__ import annotations

import math

import pytest

from dcplan.capacity.plan import _site
from dcplan.capacity.sizing import (
    choose_replica,
    count_grid,
    peak_output_tokens_per_s,
    rack_fit,
    scan_below,
    search_smallest,
    size_training_job,
)
from dcplan.errors import InfeasibleError, InputError
from dcplan.estimate import estimate_training

from .conftest import plan_text
from .test_workload import SERVICE, resolved


def test_count_grid_is_whole_nodes_in_small_steps():
    grid = count_grid(8)
    assert grid[:15] == [8 * m for m in range(1, 16)]
    assert all(c % 8 == 0 for c in grid) and grid == sorted(set(grid))
    assert max(b / a for a, b in zip(grid[14:], grid[15:], strict=False)) <= 1.0 + 1 / 8 + 1e-12
    assert grid[-1] <= 2**20


@pytest.mark.parametrize("deadline", [0.5, 3.0, 7.0, 40.0, 999.0])
def test_search_finds_the_smallest_passing_count_of_a_monotone_job(deadline):
    grid = count_grid(8)
    calls = []

    def days(n):  # falls as 1/n towards a floor of 0.6 days; does not fit below 40 accelerators
        return math.inf if n < 40 else 2000.0 / n + 0.6

    def counted(n):
        calls.append(n)
        return days(n)

    idx = search_smallest(counted, grid, deadline, guess=20)
    brute = next((i for i, n in enumerate(grid) if days(n) <= deadline), None)
    assert idx == brute
    assert len(set(calls)) <= 12 < len(grid)


def test_search_reports_an_unreachable_deadline():
    assert search_smallest(lambda n: 10.0, count_grid(8), 5.0, guess=3) is None


def test_scan_below_catches_a_dip():
    grid = count_grid(8)
    days = {n: 10.0 for n in grid}
    days[grid[10]] = 4.0  # a count two steps below the bracket also meets the deadline
    days[grid[12]] = 4.0
    assert scan_below(lambda n: days[n], grid, 5.0, 12) == 10


@pytest.fixture(scope="module")
def mpt():
    text = "name: t\ntraining:\n  - {name: mpt, model: mpt-7b, tokens: 1T, deadline_days: 9.5, seq_len: 2048}\nhardware: [a100-40gb]\n"
    return resolved(text)


def test_training_count_is_the_smallest_on_the_grid_meeting_the_deadline(mpt):
    job, opt = mpt.jobs[0], mpt.options[0]
    site = _site(mpt, opt)
    sized = size_training_job(job, opt, site)
    assert sized.estimate.wall_clock_days <= 9.5
    grid = count_grid(8)
    below = grid[grid.index(sized.accelerators) - 1]
    slower = estimate_training(job.model, opt.hardware, tokens=1e12, n_accelerators=below, seq_len=2048, calibration=opt.calibration, site=site)
    assert slower.wall_clock_days > 9.5
    assert sized.evaluations <= 8


def test_serving_replicas_cover_the_peak_within_the_slos():
    inp = resolved(SERVICE.replace("peak_to_average: 2", "peak_to_average: 2\n    ttft_p95_s: 0.5\n    tpot_p95_s: 0.04"))
    svc, opt = inp.services[0], inp.options[0]
    peak = peak_output_tokens_per_s(svc, 0.0)
    assert peak == pytest.approx(1e9 / 86400 / 1500 * 2 * 500)
    choice = choose_replica(svc, opt, _site(inp, opt), peak)
    n = choice.replicas(peak, 1)
    assert n * choice.output_tokens_per_s >= peak > (n - 1) * choice.output_tokens_per_s
    assert choice.estimate.ttft_s <= 0.5 and choice.estimate.tpot_s <= 0.04
    assert choice.estimate.binding_limit in ("memory", "ttft_slo", "tpot_slo", "max_batch")


@pytest.mark.parametrize("slo,field,word", [
    ("tpot_p95_s: 0.001", "inference[0].tpot_p95_s", "TPOT"),
    ("ttft_p95_s: 0.0001", "inference[0].ttft_p95_s", "TTFT"),
])
def test_impossible_slo_names_the_binding_limit(slo, field, word):
    with pytest.raises(InfeasibleError) as info:
        plan_text(SERVICE.replace("peak_to_average: 2", f"peak_to_average: 2\n    {slo}"))
    err = info.value
    assert err.field == field and err.file == "<test>" and err.line == 9
    assert word in err.message and "batch 1 already takes" in err.message and "no hardware option" in err.message


def test_model_that_fits_no_option_names_the_model_line():
    with pytest.raises(InfeasibleError) as info:
        plan_text(SERVICE.replace("model: llama-3.1-70b", "params: 5T").replace("[h100-sxm]", "[h100-sxm, a100-40gb]"))
    err = info.value
    assert err.field == "inference[0].params" and err.line == 4
    assert "h100-sxm:" in err.message and "a100-40gb:" in err.message and "GB" in err.message


def test_racks_take_the_tighter_of_power_and_space():
    assert rack_fit(10_200, 8, 56, 32).nodes_per_rack == 4
    b200 = rack_fit(14_300, 8, 56, 32)
    assert (b200.nodes_per_rack, b200.binding) == (3, "power")
    assert rack_fit(10_200, 8, 56, 16).binding == "space"
    with pytest.raises(InputError, match="rack.power_kw"):
        rack_fit(10_200, 8, 5, 32)
    with pytest.raises(InputError, match="rack.accelerators"):
        rack_fit(10_200, 8, 56, 4)


def test_rack_too_small_is_an_error_at_the_rack_line():
    with pytest.raises(InputError) as info:
        plan_text(SERVICE + "rack:\n  power_kw: 5\n")
    assert info.value.line == 11 and "rack.power_kw" in info.value.one_line()


def test_unreachable_deadline_names_the_field():
    text = "name: t\ntraining:\n  - name: j\n    model: llama-3.1-70b\n    tokens: 15T\n    deadline_days: 1\nhardware: [h100-sxm]\n"
    with pytest.raises(InfeasibleError) as info:
        plan_text(text)
    err = info.value
    assert err.field == "training[0].deadline_days" and err.line == 6
    assert "1-day deadline cannot be met" in err.message and "fastest count tried" in err.message
