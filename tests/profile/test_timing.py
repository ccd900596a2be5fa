"""Timer statistics, contention-aware estimates and interleaved re-measurement."""

import time

import numpy as np
import pytest

from dcplan.profile.timing import (
    CONTENDED_FRAC,
    SweepSettings,
    Timed,
    choose_inner,
    run_interleaved,
    summarize,
    sweep_spread,
)


def _nosync():
    pass


def test_summary_statistics_match_numpy():
    blocks = [[0.010, 0.012, 0.011], [0.013, 0.009, 0.020]]
    s = summarize(blocks)
    xs = np.array([x for b in blocks for x in b])
    assert s.n == 6
    assert s.median == pytest.approx(np.median(xs))
    assert s.iqr == pytest.approx(np.percentile(xs, 75) - np.percentile(xs, 25))
    assert s.cv == pytest.approx(xs.std() / xs.mean())
    assert s.min == 0.009 and s.max == 0.020
    assert s.p90 == pytest.approx(np.percentile(xs, 90))
    assert s.sweep_medians == (pytest.approx(0.011), pytest.approx(0.013))
    assert s.estimate == pytest.approx(0.011)  # min of per-sweep medians
    assert list(s.samples) == list(xs)


def test_contended_sweeps_do_not_count():
    fast_but_contended = [0.5, 0.5]
    clean = [1.0, 1.0]
    s = summarize([clean, fast_but_contended], contention=[0.0, CONTENDED_FRAC + 0.3])
    assert s.estimate == 1.0 and not s.contended
    s = summarize([clean, fast_but_contended], contention=[0.6, 0.7])
    assert s.estimate == 0.5 and s.contended


def test_dispersion_gate():
    assert not summarize([[1.0, 1.01, 0.99], [1.0, 1.02, 1.0]]).unstable
    assert summarize([[1.0, 2.0, 3.0]]).unstable
    assert summarize([[1.0, 1.0], [1.5, 1.5]]).unstable  # sweeps 50 % apart
    assert sweep_spread([1.0, 1.5]) == pytest.approx(0.5)


def test_rejects_bad_samples():
    with pytest.raises(ValueError):
        summarize([[0.1, float("nan")]])
    with pytest.raises(ValueError):
        summarize([[]])


def test_inner_grows_for_short_operations():
    def short():
        sum(range(200))

    assert choose_inner(short, _nosync, 0.005) > 1
    assert choose_inner(lambda: time.sleep(0.006), _nosync, 0.005) == 1


def test_erratic_point_is_remeasured_and_flagged():
    state = {"i": 0}

    def erratic():  # real work whose duration alternates 1 ms / 15 ms
        state["i"] += 1
        time.sleep(0.001 if state["i"] % 2 else 0.015)

    def steady():
        time.sleep(0.002)

    settings = SweepSettings(sweeps=2, reps=3, max_extra_sweeps=1, seed=3)
    pts = [Timed(key="erratic", run=erratic, sync=_nosync), Timed(key="steady", run=steady, sync=_nosync)]
    order = []
    stats = run_interleaved(pts, settings, tick=lambda p: order.append(p.key))
    e = stats["erratic"]
    assert e.remeasured and e.unstable
    assert len(e.sweep_medians) >= 3 and e.n >= 9
    assert stats["steady"].estimate >= 0.002
    assert {"erratic", "steady"} <= set(order[:2])  # every point visited in the first sweep


def test_deadline_stops_sweeps():
    pts = [Timed(key=i, run=lambda: time.sleep(0.003), sync=_nosync) for i in range(3)]
    stats = run_interleaved(pts, SweepSettings(sweeps=50, reps=2), deadline=time.monotonic() + 0.1)
    assert all(s.n < 100 for s in stats.values())


def test_state_of_every_block_is_recorded_and_a_clock_change_is_remeasured():
    clocks = iter([1980, 1980, 1755])

    def state():  # what EnergyMeter.block_state reads through NVML after a block
        return {"sm_clock_mhz": next(clocks, 1980), "mem_clock_mhz": 3201, "temperature_c": 45, "throttle_reasons": []}

    p = Timed(key="gpu-point", run=lambda: time.sleep(0.002), sync=_nosync, state_read=state)
    stats = run_interleaved([p], SweepSettings(sweeps=3, reps=2, max_extra_sweeps=1, seed=1))["gpu-point"]
    assert stats.states_differ and stats.remeasured
    assert len(stats.block_states) == len(stats.sweep_medians) >= 4  # 3 sweeps and the extra one (more if contended)
    assert all(s["host_probe_s"] > 0 for s in stats.block_states) and stats.block_states[2]["sm_clock_mhz"] == 1755


def test_states_differ_by_clock_throttle_or_host_speed():
    from dcplan.profile.timing import states_differ

    gpu = {"sm_clock_mhz": 1980, "mem_clock_mhz": 3201, "throttle_reasons": [], "host_probe_s": 4e-5}
    assert not states_differ([gpu, dict(gpu)])
    assert states_differ([gpu, {**gpu, "sm_clock_mhz": 1900}])
    assert states_differ([gpu, {**gpu, "throttle_reasons": ["sw_power_cap"]}])
    assert states_differ([gpu, {**gpu, "host_probe_s": 7e-5}])  # a launch-bound step runs at the host's pace
    # on a CPU the host is the device: slow blocks are the contended ones, handled by PSI
    assert not states_differ([{"host_probe_s": 4e-5}, {"host_probe_s": 7e-5}])
    assert not states_differ([gpu])
