"""Timing: synchronised timed blocks, interleaved sweeps and robust statistics (no torch).

Method (PyTorch ``torch.utils.benchmark`` docs; triton ``do_bench``; MLPerf training rules):

- every sample brackets ``inner`` back-to-back runs with a device synchronisation on both
  sides (``torch.cuda.synchronize`` + ``time.perf_counter``; a no-op sync on CPU), so
  asynchronous launches are counted; ``inner`` is raised until a sample lasts at least
  ``min_sample_s`` (as ``torch.utils.benchmark``'s ``blocked_autorange`` does);
- warm-up runs first (lazy initialisation, allocator growth, kernel autotuning);
- points are timed in ``sweeps`` passes, each visiting the points in a fresh random order and
  taking ``reps`` samples per point (interleaved repeats: on this shared 2-vCPU machine single
  passes showed 100x outliers that a within-block dispersion gate did not catch);
- the point's time is the minimum of its per-sweep medians; median, IQR, CV, min, max, p90 and
  n of all samples are kept with the raw samples;
- CPU contention is measured, not guessed: around every block the kernel's pressure-stall
  counter (``/proc/pressure/cpu`` "some total", Linux PSI) gives the share of the block's wall
  time during which some task was runnable but waiting for a CPU. With another process busy on
  one of 2 cores it reads about 0.5, alone about 0.00-0.02 (checked here). Sweeps whose share
  exceeds ``CONTENDED_FRAC`` do not count towards the estimate when uncontended ones exist;
- the state each block ran in is recorded with it: the host's speed (a fixed pure-Python
  loop timed just before the block: launch-bound GPU steps run at the host's pace, and on
  the H200 VM it moved between two speeds about 1.7x apart between sweeps) and, on GPUs, the
  SM and memory clocks, temperature and clock-event (throttle) reasons read through NVML after
  it; blocks whose states differ (clocks by more than ``CLOCK_SPREAD``, different throttle
  reasons, host speed by more than ``HOST_SPREAD``) mark the point ``states_differ``;
- a point whose IQR/median stays above ``threshold`` (0.1, the ``torch.utils.benchmark``
  ``adaptive_autorange`` gate) or whose sweep medians spread by more than twice that, or that
  has fewer than two uncontended sweeps, or whose blocks ran in different states, gets extra
  sweeps, and is flagged ``unstable`` (or ``contended``) if it still is after them.

The device synchronisation is passed in as a callable, so this module runs without torch.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Mapping, Sequence

from dcplan.profile.result import TimeStats

#: Dispersion gate: IQR/median and sweep spread above this trigger re-measurement.
DEFAULT_THRESHOLD = 0.10
#: Sweep medians may spread this many times ``threshold`` before a point counts as unstable
#: (the estimate takes their minimum, so a slow sweep does not bias it).
SPREAD_FACTOR = 2.0
#: A block during which CPU pressure stalls exceeded this share of wall time is contended.
CONTENDED_FRAC = 0.10
_PSI = "/proc/pressure/cpu"
#: Blocks whose SM or memory clocks differ by more than this share ran in different device states.
CLOCK_SPREAD = 0.02
#: Blocks whose host-speed probes differ by more than this share ran at different host speeds.
HOST_SPREAD = 0.15
#: Iterations of the host-speed probe loop (about 30-60 us of one core).
HOST_PROBE_LOOPS = 2000


def host_probe_s(loops: int = HOST_PROBE_LOOPS) -> float:
    """Seconds a fixed pure-Python loop takes now: the host's single-thread speed (best of 3) [s]."""
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        acc = 0
        for i in range(loops):
            acc += i & 7
        best = min(best, time.perf_counter() - t0)
    return best


def _spread(values: Sequence[float]) -> float:
    vals = [v for v in values if v]
    return (max(vals) - min(vals)) / min(vals) if len(vals) > 1 else 0.0


def states_differ(states: Sequence[Mapping[str, Any] | None]) -> bool:
    """True when the blocks of one point ran in different device or host states."""
    known = [s for s in states if s]
    if len(known) < 2:
        return False
    for key in ("sm_clock_mhz", "mem_clock_mhz"):
        if _spread([s.get(key) or 0 for s in known]) > CLOCK_SPREAD:
            return True
    if len({tuple(sorted(s.get("throttle_reasons") or ())) for s in known}) > 1:
        return True
    # an accelerator's launch-bound steps run at the host's pace; on a CPU the host is the device
    # and its slow blocks are the contended ones (PSI), handled apart
    accelerator = any("sm_clock_mhz" in s for s in known)
    return accelerator and _spread([s.get("host_probe_s") or 0 for s in known]) > HOST_SPREAD


def cpu_stall_s() -> float | None:
    """Cumulative time some task waited for a CPU (Linux PSI "some total") [s]; None without PSI."""
    try:
        with open(_PSI, encoding="ascii") as fh:
            return int(fh.readline().rsplit("total=", 1)[1]) / 1e6
    except (OSError, ValueError, IndexError):
        return None


def _quantile(sorted_xs: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of sorted data (numpy's default 'linear' method)."""
    if len(sorted_xs) == 1:
        return float(sorted_xs[0])
    pos = q * (len(sorted_xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return float(sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo))


def sweep_spread(sweep_medians: Sequence[float]) -> float:
    """(max − min)/min of the per-sweep medians [fraction]; 0 with one sweep."""
    if len(sweep_medians) < 2:
        return 0.0
    lo = min(sweep_medians)
    return (max(sweep_medians) - lo) / lo if lo > 0 else math.inf


def summarize(
    blocks: Sequence[Sequence[float]],
    *,
    inner: int = 1,
    remeasured: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
    contention: Sequence[float | None] = (),
    states: Sequence[Mapping[str, Any] | None] = (),
) -> TimeStats:
    """Statistics of samples grouped by sweep (one list of samples per sweep) [s].

    ``contention`` gives each block's CPU-stall share (None: unknown). The estimate is the
    minimum of the medians of uncontended blocks (all blocks if none is uncontended).
    ``unstable`` is set when IQR/median of the counted blocks' samples or the spread of their
    medians exceeds ``threshold``. Median, IQR, CV, min, max and p90 describe all samples.
    """
    pairs = [(list(b), contention[i] if i < len(contention) else None) for i, b in enumerate(blocks) if len(b)]
    blocks = [b for b, _ in pairs]
    if not blocks:
        raise ValueError("no samples")
    samples = [x for b in blocks for x in b]
    if any(not math.isfinite(x) or x <= 0 for x in samples):
        raise ValueError(f"non-positive or non-finite sample in {samples}")
    xs = sorted(samples)
    med = statistics.median(xs)
    mean = statistics.fmean(xs)
    std = statistics.pstdev(xs) if len(xs) > 1 else 0.0
    iqr = _quantile(xs, 0.75) - _quantile(xs, 0.25)
    sweep_meds = tuple(statistics.median(b) for b in blocks)
    is_clean = [c is None or c <= CONTENDED_FRAC for _, c in pairs]
    clean = [m for m, ok in zip(sweep_meds, is_clean, strict=True) if ok]
    counted = clean or list(sweep_meds)
    gate = sorted(x for b, ok in zip(blocks, is_clean, strict=True) if ok or not clean for x in b)
    gate_iqr = _quantile(gate, 0.75) - _quantile(gate, 0.25)
    unstable = gate_iqr / statistics.median(gate) > threshold or sweep_spread(counted) > SPREAD_FACTOR * threshold
    return TimeStats(
        median=med,
        iqr=iqr,
        cv=std / mean,
        min=xs[0],
        max=xs[-1],
        p90=_quantile(xs, 0.9),
        n=len(xs),
        estimate=min(counted),
        sweep_medians=sweep_meds,
        sweep_contention=tuple(c for _, c in pairs) if any(c is not None for _, c in pairs) else (),
        contended=not clean,
        samples=tuple(samples),
        inner=inner,
        remeasured=remeasured,
        unstable=unstable,
        block_states=tuple(dict(x) if x else {} for x in states) if any(states) else (),
        states_differ=states_differ(states),
    )


def time_sample(run: Callable[[], object], sync: Callable[[], None], inner: int = 1) -> float:
    """Seconds per run of ``inner`` back-to-back runs, synchronised on both sides [s]."""
    sync()
    t0 = time.perf_counter()
    for _ in range(inner):
        run()
    sync()
    return (time.perf_counter() - t0) / inner


def choose_inner(run: Callable[[], object], sync: Callable[[], None], min_sample_s: float, max_inner: int = 10_000) -> int:
    """Back-to-back runs per sample so that one sample lasts at least ``min_sample_s``."""
    t = time_sample(run, sync)
    if t >= min_sample_s:
        return 1
    return int(min(max_inner, math.ceil(min_sample_s / max(t, 1e-7))))


@dataclass
class Timed:
    """A point being timed: its run function and the samples gathered so far, by sweep."""

    key: Hashable
    run: Callable[[], object]
    sync: Callable[[], None]
    inner: int = 1
    blocks: list[list[float]] = field(default_factory=list)
    remeasured: bool = False
    warm: bool = False
    """Run once, untimed, before every block (short operations: re-warm the caches)."""
    refresh: Callable[[], Callable[[], object]] | None = None
    """Fresh inputs before every block: returns a new ``run`` on newly allocated tensors, so the
    sweeps sample several memory placements (physically indexed caches make one placement
    up to 20 % slower than another)."""
    energy_read: Callable[[], float | None] | None = None
    """Cumulative energy counter [J] read around every block (NVML), or None."""
    energy_j: float = 0.0
    """Energy summed over the timed blocks [J]."""
    energy_runs: int = 0
    """Runs those blocks contained."""
    busy_s: float = 0.0
    """Time summed over the timed blocks [s]."""
    contention: list[float | None] = field(default_factory=list)
    """CPU-stall share of each block (aligned with ``blocks``)."""
    state_read: Callable[[], Mapping[str, Any] | None] | None = None
    """Device state after a block (NVML clocks, temperature, throttle reasons), or None."""
    states: list[dict[str, Any]] = field(default_factory=list)
    """State each block ran in: host-speed probe, and the device state (aligned with ``blocks``)."""

    def stats(self, threshold: float) -> TimeStats:
        return summarize(self.blocks, inner=self.inner, remeasured=self.remeasured, threshold=threshold, contention=self.contention,
                         states=self.states)

    def clean_sweeps(self) -> int:
        return sum(1 for c in self.contention if c is None or c <= CONTENDED_FRAC)

    @property
    def energy_per_run_j(self) -> float | None:
        return self.energy_j / self.energy_runs if self.energy_runs else None


@dataclass(frozen=True, kw_only=True)
class SweepSettings:
    """How many times, and in what order, points are timed."""

    sweeps: int = 3
    reps: int = 3
    threshold: float = DEFAULT_THRESHOLD
    max_extra_sweeps: int = 2
    seed: int = 0
    max_retries: int = 4
    """Retries of a block abandoned because of CPU contention (after a back-off)."""


@dataclass
class ContentionBudget:
    """Seconds the sweep may spend backing off from CPU contention, shared by all points."""

    seconds: float = 30.0
    spent: float = 0.0

    def backoff(self, attempt: int) -> bool:
        """Sleep before retry ``attempt`` (0.2 s doubling, at most 2 s); False when spent."""
        wait = min(2.0, 0.2 * 2**attempt)
        if self.spent + wait > self.seconds:
            return False
        time.sleep(wait)
        self.spent += wait
        return True


def _contention(s0: float | None, s1: float | None, w0: float, w1: float) -> float | None:
    return (s1 - s0) / (w1 - w0) if s0 is not None and s1 is not None and w1 > w0 else None


def _block(p: Timed, reps: int) -> tuple[list[float], float | None]:
    """Up to ``reps`` samples of ``p``; stops early once CPU contention is seen."""
    if p.refresh is not None and p.blocks:
        p.run = None  # free the old inputs before allocating new ones
        p.run = p.refresh()
        p.run()
    elif p.warm:
        p.run()
    s0, w0 = cpu_stall_s(), time.perf_counter()
    block: list[float] = []
    share = None
    for _ in range(reps):
        block.append(time_sample(p.run, p.sync, p.inner))
        share = _contention(s0, cpu_stall_s(), w0, time.perf_counter())
        if share is not None and share > CONTENDED_FRAC:
            break
    return block, share


def _time_point(p: Timed, reps: int, retries: int, budget: ContentionBudget) -> None:
    """One block of ``p``; a block hit by contention is kept (flagged) and retried after a back-off."""
    for attempt in range(retries + 1):
        e0 = p.energy_read() if p.energy_read is not None else None
        probe = host_probe_s()
        block, share = _block(p, reps)
        e1 = p.energy_read() if p.energy_read is not None else None
        device = p.state_read() if p.state_read is not None else None
        p.states.append({"host_probe_s": probe, **(device or {})})
        if e0 is not None and e1 is not None:
            p.energy_j += e1 - e0
            p.energy_runs += len(block) * p.inner
        p.busy_s += sum(block) * p.inner
        p.blocks.append(block)
        p.contention.append(share)
        if share is None or share <= CONTENDED_FRAC or attempt == retries or not budget.backoff(attempt):
            return


def _one_sweep(points: Sequence[Timed], settings: SweepSettings, rng: random.Random, tick: Callable[[Timed], None],
               deadline: float | None, budget: ContentionBudget) -> bool:
    """Time every point once more, in random order; False if the deadline stopped it."""
    order = list(points)
    rng.shuffle(order)
    for p in order:
        if deadline is not None and time.monotonic() > deadline:
            return False
        _time_point(p, settings.reps, settings.max_retries, budget)
        tick(p)
    return True


def run_interleaved(
    points: Sequence[Timed],
    settings: SweepSettings,
    *,
    tick: Callable[[Timed], None] = lambda p: None,
    deadline: float | None = None,
    budget: ContentionBudget | None = None,
    on_sweep: Callable[[int], None] = lambda i: None,
) -> dict[Hashable, TimeStats]:
    """Time ``points`` in interleaved random-order sweeps; re-measure unstable ones.

    ``tick`` is called after each point's block (progress). With a ``deadline``
    (``time.monotonic()``), sweeps stop early; points with at least one block still get
    statistics. ``budget`` bounds the time spent backing off from CPU contention; ``on_sweep``
    is called with the number of each completed planned sweep. Returns the statistics by key.
    """
    rng = random.Random(settings.seed)
    budget = budget or ContentionBudget()
    for i in range(settings.sweeps):
        if not _one_sweep(points, settings, rng, tick, deadline, budget):
            break
        on_sweep(i + 1)
    need_clean = min(2, settings.sweeps)
    for _ in range(settings.max_extra_sweeps):
        shaky = [p for p in points if p.blocks and (p.stats(settings.threshold).unstable or p.clean_sweeps() < need_clean
                                                    or states_differ(p.states))]
        if not shaky:
            break
        for p in shaky:
            p.remeasured = True
        if not _one_sweep(shaky, settings, rng, tick, deadline, budget):
            break
    return {p.key: p.stats(settings.threshold) for p in points if p.blocks}
