"""How many accelerators, nodes and racks a workload needs on one hardware option.

- Training: the smallest accelerator count that meets a deadline, found with
  :func:`dcplan.estimate.estimate_training` (layout searched at every count). Counts are whole
  nodes, taken from a grid ``unit x m`` with m = 1..15 then ``j x 2^k`` (j = 8..15): steps of
  6-12 %, the granularity clusters are bought in. The search assumes wall-clock time falls as
  the count grows (it does, up to the global batch), brackets the answer and narrows it with the
  model's own ratio days/deadline (a safeguarded secant on the grid), then bisection; the
  counts just below the answer are checked as well, because the layout search makes days a
  little non-monotone in the count.
- Serving: per replica (tp accelerators), :func:`dcplan.inference.estimate_inference` gives the
  output tokens/s at the largest batch that fits memory and meets the TTFT and TPOT targets;
  replicas = max(min_replicas, ceil(peak output tokens/s / per-replica tokens/s)). The tp that
  needs the fewest accelerators at the design demand wins.
- Racks: nodes per rack = min(floor(rack power / node power), floor(rack space / node size));
  the smaller of the two is the binding limit.

Latencies are the model's steady-state values at the full SLO-feasible batch at peak demand (the
heaviest load the plan allows); queueing beyond a full batch is not modelled, so the p95 targets
are met when the peak is sized right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from dcplan.calibrate.stacks import check_precision
from dcplan.capacity.inputs import JobInputs, OptionInputs, ServiceInputs
from dcplan.embedding import EmbeddingEstimate, check_encoder, estimate_embeddings, refuse_generation
from dcplan.errors import InfeasibleError, InputError
from dcplan.estimate import TrainingEstimate, estimate_training
from dcplan.inference import InferenceEstimate, estimate_inference
from dcplan.model import flops as F
from dcplan.specs import SiteParams, parse_global_batch
from dcplan.units import SECONDS_PER_DAY

#: MFU assumed for the first guess of the deadline search only (Epoch AI training-cost-trends
#: constants.py MEDIAN_UTILIZATION = 0.375, median of 33 runs); the answer comes from the model.
GUESS_MFU = 0.375
#: Largest accelerator count the deadline search considers.
MAX_ACCELERATORS = 2**20
#: Largest tensor-parallel size of a serving replica tried.
MAX_SERVING_TP = 64


def count_grid(unit: int, limit: int = MAX_ACCELERATORS) -> list[int]:
    """Accelerator counts the deadline search considers: ``unit`` x (1..15, then j·2^k, j=8..15)."""
    mults = list(range(1, 16))
    k = 1
    while unit * 8 * 2**k <= limit:
        mults += [j * 2**k for j in range(8, 16)]
        k += 1
    return [unit * m for m in mults if unit * m <= limit]


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class JobSizing:
    """A training job sized on one option."""

    estimate: TrainingEstimate
    accelerators: int
    evaluations: int
    """Model evaluations the search took (cost of the answer)."""


def _train(job: JobInputs, opt: OptionInputs, site: SiteParams, n: int) -> TrainingEstimate:
    s = job.spec
    return estimate_training(
        job.model, opt.hardware, tokens=s.tokens, n_accelerators=n, seq_len=s.seq_len, precision=s.precision,
        layout=s.layout.given() if s.layout else None,
        global_batch=parse_global_batch(s.global_batch) if s.global_batch is not None else None,
        batch_ramp=[(r.tokens, parse_global_batch(r.global_batch)) for r in s.global_batch_schedule],
        calibration=opt.calibration, site=site,
    )


def _unit(job: JobInputs, opt: OptionInputs) -> int:
    """Granularity of the count: whole nodes, and whole model-parallel groups if fixed."""
    lay = job.spec.layout.given() if job.spec.layout else {}
    group = int(lay.get("tp", 1)) * int(lay.get("pp", 1)) * int(lay.get("cp", 1))
    return math.lcm(opt.accelerators_per_node, group)


def _scaling_exponent(fails: list[tuple[int, float]]) -> float:
    """Exponent a of days ~ n^-a seen between the last two failing counts (1 if unknown).

    Only points at least 20 % apart are used: nearby counts differ mostly by layout noise.
    """
    if len(fails) < 2:
        return 1.0
    (n1, d1), (n2, d2) = fails[-2], fails[-1]
    if n2 < 1.2 * n1 or d1 <= 0 or d2 <= 0:
        return 1.0
    return math.log(d1 / d2) / math.log(n2 / n1)


def search_smallest(days_at: Callable[[int], float], counts: list[int], deadline_days: float, guess: int) -> int | None:
    """Index of the smallest count with ``days_at(count) <= deadline_days`` (monotone), or None.

    ``days_at`` returns ``inf`` where the job does not fit. The bracket (lo fails, hi passes) is
    narrowed by the secant step count x (days / deadline)^(1/a), with a = 1 (days fall as 1/n)
    unless two failing counts show worse scaling; when days stop falling (a < 0.05) the largest
    count is tried, and the deadline is out of reach if it fails too. Bisection is the fallback.
    """
    lo, hi = -1, len(counts)
    i = min(max(guess, 0), len(counts) - 1)
    fails: list[tuple[int, float]] = []
    while hi - lo > 1:
        days = days_at(counts[i])
        ok = days <= deadline_days
        if ok:
            hi = i
        else:
            lo = i
        if hi - lo <= 1:
            break
        if math.isfinite(days):
            if ok:
                target = counts[i] * days / deadline_days
            else:
                fails.append((counts[i], days))
                a = _scaling_exponent(fails)
                target = counts[-1] if a < 0.05 else counts[i] * (days / deadline_days) ** (1.0 / a) * 1.03
            j = next((k for k, c in enumerate(counts) if c >= target), len(counts) - 1)
        else:
            j = next((k for k, c in enumerate(counts) if c >= 2 * counts[i]), len(counts) - 1)
        if j == i:
            j = i - 1 if ok else i + 1  # the secant lands on the same count: test its neighbour
        if not lo < j < hi:
            j = (lo + hi) // 2 if hi < len(counts) else min(len(counts) - 1, max(lo + 1, 2 * lo + 1))
        i = j
    return hi if hi < len(counts) else None


#: Consecutive failing grid counts below an answer that end the final downward check.
SCAN_MISSES = 2


def scan_below(days_at: Callable[[int], float], counts: list[int], deadline_days: float, idx: int) -> int:
    """Move ``idx`` down while a smaller grid count also meets the deadline.

    The layout search makes days a little non-monotone in the count (divisibility of the
    global batch and the layer count), so the counts just below the bracket are checked too:
    the scan stops after :data:`SCAN_MISSES` failures in a row.
    """
    misses, j = 0, idx - 1
    while j >= 0 and misses < SCAN_MISSES:
        if days_at(counts[j]) <= deadline_days:
            idx, misses = j, 0
        else:
            misses += 1
        j -= 1
    return idx


def size_training_job(job: JobInputs, opt: OptionInputs, site: SiteParams) -> JobSizing:
    """The job on ``opt``: at its fixed count, or at the smallest count meeting its deadline."""
    s = job.spec
    lay = s.layout.given() if s.layout else {}
    if s.accelerators is not None:
        return JobSizing(estimate=_train(job, opt, site, s.accelerators), accelerators=s.accelerators, evaluations=1)
    if {"tp", "pp", "cp", "dp"} <= set(lay):
        n = int(lay["tp"] * lay["pp"] * lay["cp"] * lay["dp"])
        est = _train(job, opt, site, n)
        if est.wall_clock_days > s.deadline_days:
            raise InfeasibleError("deadline_days", f"the fixed layout ({n} accelerators) takes {est.wall_clock_days:.1f} days on {opt.hardware.name}, over the {s.deadline_days:g}-day deadline; drop dp from layout to let the plan size it")
        return JobSizing(estimate=est, accelerators=n, evaluations=1)
    counts = count_grid(_unit(job, opt))
    cache: dict[int, TrainingEstimate | InputError] = {}

    def days_at(n: int) -> float:
        if n not in cache:
            try:
                cache[n] = _train(job, opt, site, n)
            except InfeasibleError as exc:
                cache[n] = exc
        got = cache[n]
        return got.wall_clock_days if isinstance(got, TrainingEstimate) else math.inf

    flops = F.train_flops_per_token(job.model, s.seq_len or min(job.model.max_seq_len, 8192)) * s.tokens
    rate = opt.hardware.peak(s.precision) * GUESS_MFU * opt.calibration.goodput_frac
    n_guess = flops / (s.deadline_days * SECONDS_PER_DAY * rate)
    guess = next((k for k, c in enumerate(counts) if c >= n_guess), len(counts) - 1)
    idx = search_smallest(days_at, counts, s.deadline_days, guess)
    if idx is None:
        ran = [(n, e) for n, e in cache.items() if isinstance(e, TrainingEstimate)]
        if not ran:
            last = next(iter(cache.values()))
            raise last if isinstance(last, InputError) else InfeasibleError("deadline_days", "no count fits")
        n_best, best = min(ran, key=lambda kv: kv[1].wall_clock_days)
        raise InfeasibleError("deadline_days", f"a {s.deadline_days:g}-day deadline cannot be met on {opt.hardware.name}: the fastest count tried ({n_best:,} accelerators) takes {best.wall_clock_days:.1f} days")
    idx = scan_below(days_at, counts, s.deadline_days, idx)
    est = cache[counts[idx]]
    assert isinstance(est, TrainingEstimate)
    return JobSizing(estimate=est, accelerators=counts[idx], evaluations=len(cache))


# --------------------------------------------------------------------------------------------
# Serving
# --------------------------------------------------------------------------------------------


def average_requests_per_s(svc: ServiceInputs) -> float:
    """Daily-average request rate [requests/s] from requests_per_s or tokens_per_day (in + out)."""
    s = svc.spec
    if s.requests_per_s is not None:
        return s.requests_per_s
    assert s.tokens_per_day is not None
    return s.tokens_per_day / SECONDS_PER_DAY / (s.input_len + s.generated_len)


def demand_factor(svc: ServiceInputs, years: float) -> float:
    """Demand after ``years`` of growth relative to today: (1 + g)^years."""
    return (1.0 + svc.growth_per_year_frac.value) ** years


def peak_output_tokens_per_s(svc: ServiceInputs, years: float) -> float:
    """Served tokens/s the service must sustain at its diurnal peak after ``years`` of growth:
    generated tokens, or for an embeddings service the input tokens it embeds."""
    return average_requests_per_s(svc) * svc.spec.peak_to_average * demand_factor(svc, years) * svc.spec.served_len


@dataclass(frozen=True, kw_only=True)
class ReplicaChoice:
    """One replica configuration: tp accelerators at the SLO-feasible batch."""

    tp: int
    estimate: InferenceEstimate | EmbeddingEstimate
    """``estimate_inference`` on tp accelerators (one replica), or ``estimate_embeddings`` on one."""

    @property
    def output_tokens_per_s(self) -> float:
        return self.estimate.tokens_per_s

    def replicas(self, peak_tokens_per_s: float, min_replicas: int) -> int:
        return max(min_replicas, math.ceil(peak_tokens_per_s / self.output_tokens_per_s - 1e-9))


def _tp_candidates(svc: ServiceInputs) -> list[int]:
    if svc.spec.tp is not None:
        return [svc.spec.tp]
    return [t for t in (2**i for i in range(7)) if t <= MAX_SERVING_TP and svc.model.n_heads % t == 0]


def choose_replica(svc: ServiceInputs, opt: OptionInputs, site: SiteParams, design_peak_tokens_per_s: float) -> ReplicaChoice:
    """The replica shape needing the fewest accelerators at the design peak; InfeasibleError if none.

    The error names the limit that binds (memory, TTFT or TPOT) for the closest tp.
    """
    s = svc.spec
    if s.kind == "embeddings":
        return _embedding_replica(svc, opt, site)
    refuse_generation(svc.model, "kind")
    best: tuple[int, ReplicaChoice] | None = None
    reasons: list[InputError] = []
    cal = opt.serving.calibration if opt.serving is not None else opt.calibration
    if opt.serving is not None:
        check_precision(opt.serving.stack, opt.serving.precisions, s.precision)
    for tp in _tp_candidates(svc):
        try:
            est = estimate_inference(
                svc.model, opt.hardware, n_accelerators=tp, tp=tp, input_len=s.input_len, output_len=s.output_len,
                precision=s.precision, ttft_slo_s=s.ttft_p95_s, tpot_slo_s=s.tpot_p95_s,
                calibration=cal, stack=opt.serving, site=site,
            )
        except InputError as exc:
            reasons.append(exc)
            continue
        choice = ReplicaChoice(tp=tp, estimate=est)
        n = tp * choice.replicas(design_peak_tokens_per_s, int(svc.min_replicas.value))
        if best is None or n < best[0]:
            best = (n, choice)
    if best is None:
        raise _serving_error(reasons)
    return best[1]


def _embedding_replica(svc: ServiceInputs, opt: OptionInputs, site: SiteParams) -> ReplicaChoice:
    """One accelerator embedding batches of requests (:func:`dcplan.embedding.estimate_embeddings`),
    on the option's calibration (the serving stacks are fitted on LLM generation)."""
    s = svc.spec
    check_encoder(svc.model)
    est = estimate_embeddings(svc.model, opt.hardware, n_accelerators=1, input_len=s.input_len, precision=s.precision,
                              latency_slo_s=s.latency_p95_s, calibration=opt.calibration, site=site)
    return ReplicaChoice(tp=1, estimate=est)


def _serving_error(reasons: list[InputError]) -> InputError:
    """The most telling failure: an SLO one (the model fits but is too slow) before memory."""
    slo = [r for r in reasons if "SLO" in r.message or "cannot be met" in r.message]
    pick = slo[-1] if slo else reasons[-1]
    msg = pick.message
    if "TTFT" in msg:
        return InfeasibleError("ttft_p95_s", msg)
    if "TPOT" in msg:
        return InfeasibleError("tpot_p95_s", msg)
    if pick.field in ("gpus", ""):
        return InfeasibleError("model", msg)
    return InfeasibleError(pick.field, msg)


# --------------------------------------------------------------------------------------------
# Nodes and racks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RackFit:
    """How many nodes one rack holds and which limit binds."""

    nodes_per_rack: int
    binding: str
    """'power' or 'space'."""


def nodes_for(accelerators: int, per_node: int) -> int:
    """Whole nodes holding ``accelerators``."""
    return math.ceil(accelerators / per_node)


def rack_fit(node_power_w: float, accelerators_per_node: int, rack_power_kw: float, accelerators_per_rack: int) -> RackFit:
    """Nodes per rack under the power and the space limit (InputError naming the limit if < 1)."""
    by_power = math.floor(rack_power_kw * 1e3 / node_power_w + 1e-9)
    by_space = accelerators_per_rack // accelerators_per_node
    if by_power < 1:
        raise InputError("rack.power_kw", f"one node draws {node_power_w / 1e3:.1f} kW, more than the {rack_power_kw:g} kW rack limit")
    if by_space < 1:
        raise InputError("rack.accelerators", f"one node holds {accelerators_per_node} accelerators, more than the {accelerators_per_rack} a rack holds")
    return RackFit(nodes_per_rack=min(by_power, by_space), binding="power" if by_power < by_space else "space")


def racks_for(nodes: int, fit: RackFit) -> int:
    return math.ceil(nodes / fit.nodes_per_rack)
