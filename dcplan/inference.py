"""The performance model's face for serving: ``estimate_inference``.

Takes typed specs (model, chip, the serving stack chosen for it with its calibration, request
lengths, optional layout, latency limits) and returns an immutable :class:`InferenceEstimate`
whose ``to_dict()`` is the ``--json`` output of ``dcplan estimate infer``. Replicas are laid out
as :class:`~dcplan.model.serving.ServingLayout` (tp x pp accelerators, ep of them holding whole
experts, attention sharded or data-parallel); fields not given are searched: every power-of-two
tp that divides the accelerator count, and for a mixture-of-experts model every ep that divides
tp and the experts, with attention data parallelism as an alternative to sharded attention.
The layout with the most output tokens per second per accelerator that meets the limits wins,
and the result lists the others. ``disaggregated=True`` sizes separate prefill and decode pools
instead (:mod:`dcplan.model.replica`). Pure: no file, clock or network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from dcplan.errors import InfeasibleError, InputError
from dcplan.estimate import Assumption, _calibration_assumptions, _check_positive, _default_site, _site_assumptions, _src
from dcplan.model import energy as E
from dcplan.model import replica as R
from dcplan.model.memory import kv_bytes_per_token
from dcplan.model.params import ParamCounts, count_params
from dcplan.model.serving import LengthMix, ServingLayout, check_layout
from dcplan.specs import BYTES_PER_ELEMENT, PRECISIONS, Calibration, HardwareSpec, ModelSpec, SiteParams, StackChoice
from dcplan.units import SECONDS_PER_HOUR

#: Share of accelerator memory a serving engine plans for when no stack says otherwise (vLLM's
#: default ``gpu_memory_utilization=0.9``).
SERVING_MEMORY_FRAC = 0.9
#: Largest tensor-parallel (replica) width the search tries.
MAX_TP = 1024


@dataclass(frozen=True, kw_only=True)
class InferenceEstimate:
    """Throughput, latency and memory of serving a model on a set of accelerators (SI units)."""

    model: str
    hardware: str
    n_accelerators: int
    tp: int
    pp: int
    ep: int
    attention_dp: bool
    replicas: int
    input_len: float
    """Mean prompt tokens per request."""
    output_len: float
    """Mean generated tokens per request."""
    context_len: float
    """Cache tokens a decode slot holds on average (E[out·(in + out/2)] / E[out])."""
    precision: str
    kv_precision: str
    batch_size: int
    """Concurrent sequences per replica."""
    tokens_per_s: float
    """Generated (output) tokens per second over all replicas."""
    tokens_per_s_per_accelerator: float
    requests_per_s: float
    ttft_s: float
    """Time to first token: the request's prefill chunk plus one running decode step."""
    tpot_s: float
    """Time per output token, prefill interruptions amortised."""
    prefill_s: float
    """Replica time one request's prefill costs (its share of a chunk)."""
    decode_step_s: float
    bound: str
    """'memory' or 'compute': what limits the decode step."""
    kv_bytes_per_token: float
    """KV-cache bytes per token of one sequence, whole model, in kv_precision."""
    memory_per_accelerator_bytes: float
    memory_breakdown_bytes: Mapping[str, float]
    memory_capacity_bytes: float
    it_power_per_accelerator_w: float | None
    """Average IT power per accelerator [W]; None (with ``power_unknown_reason``) when not published."""
    energy_kwh_per_mtok: float | None
    """IT energy per million generated tokens [kWh]; None when the power is unknown."""
    usd_per_accelerator_hour: float | None
    usd_per_mtok: float | None
    """Rental cost per million generated tokens at full load."""
    binding_limit: str
    """What stopped the batch from growing: memory, ttft_slo, tpot_slo, max_batch or given."""
    stack: StackChoice | None = None
    """The serving stack and the data its parameters rest on."""
    search: tuple[Mapping[str, Any], ...] = ()
    """Every layout tried: its tokens/s per accelerator, or why it cannot serve."""
    disaggregated: Mapping[str, Any] | None = None
    """With disaggregated serving: the prefill and decode pools."""
    power_unknown_reason: str | None = None
    """Why power and energy are None: the missing catalog fields (None when known)."""
    assumptions: tuple[Assumption, ...] = field(default_factory=tuple)

    @property
    def warnings(self) -> tuple[str, ...]:
        return (self.stack.warning,) if self.stack is not None and self.stack.warning else ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "hardware": self.hardware,
            "n_accelerators": self.n_accelerators,
            "tp": self.tp,
            "pp": self.pp,
            "ep": self.ep,
            "attention_dp": self.attention_dp,
            "replicas": self.replicas,
            "input_len": self.input_len,
            "output_len": self.output_len,
            "context_len": self.context_len,
            "precision": self.precision,
            "kv_precision": self.kv_precision,
            "batch_size": self.batch_size,
            "tokens_per_s": self.tokens_per_s,
            "tokens_per_s_per_accelerator": self.tokens_per_s_per_accelerator,
            "requests_per_s": self.requests_per_s,
            "ttft_s": self.ttft_s,
            "tpot_s": self.tpot_s,
            "prefill_s": self.prefill_s,
            "decode_step_s": self.decode_step_s,
            "bound": self.bound,
            "binding_limit": self.binding_limit,
            "kv_bytes_per_token": self.kv_bytes_per_token,
            "memory_per_accelerator_bytes": self.memory_per_accelerator_bytes,
            "memory_breakdown_bytes": dict(self.memory_breakdown_bytes),
            "memory_capacity_bytes": self.memory_capacity_bytes,
            "it_power_per_accelerator_w": self.it_power_per_accelerator_w,
            "energy_kwh_per_mtok": self.energy_kwh_per_mtok,
            "power_unknown_reason": self.power_unknown_reason,
            "usd_per_accelerator_hour": self.usd_per_accelerator_hour,
            "usd_per_mtok": self.usd_per_mtok,
            "stack": self.stack.to_dict() if self.stack is not None else None,
            "warnings": list(self.warnings),
            "search": [dict(s) for s in self.search],
            "disaggregated": dict(self.disaggregated) if self.disaggregated is not None else None,
            "assumptions": [a.to_dict() for a in self.assumptions],
        }


def engine_setup(stack: StackChoice | None, cal: Calibration, max_batch: int | None = None) -> R.EngineSetup:
    """The engine behaviour of ``stack`` (or vLLM-like defaults), ``max_batch`` overriding its cap."""
    if stack is None:
        return R.EngineSetup(memory_frac=cal.serving_memory_frac, memory_of="total", max_batch=max_batch or R.MAX_BATCH)
    return R.EngineSetup(memory_frac=cal.serving_memory_frac, memory_of=stack.memory_of,
                         max_batch=max_batch or stack.max_batch, max_batch_per_rank=max_batch is None, kv_reserve=stack.kv_reserve,
                         prefill_chunk_tokens=stack.prefill_chunk_tokens)


def _powers_of_two(n: int) -> list[int]:
    return [t for t in (2**i for i in range(0, 11)) if t <= min(n, MAX_TP) and n % t == 0]


def candidate_layouts(m: ModelSpec, n_accelerators: int, *, tp: int | None, pp: int | None, ep: int | None,
                      attention_dp: bool | None) -> list[ServingLayout]:
    """Layouts to try: what is given, the rest searched (tp powers of two, ep dividing tp and experts)."""
    pp_ = pp or 1
    if n_accelerators % pp_:
        raise InputError("pp", f"must divide the accelerator count {n_accelerators}, got {pp_}")
    tps = [tp] if tp is not None else _powers_of_two(n_accelerators // pp_)
    if tp is not None and n_accelerators % (tp * pp_):
        raise InputError("tp", f"tp x pp must divide the accelerator count {n_accelerators}, got {tp} x {pp_}")
    if ep is not None and m.moe is None and ep > 1:
        raise InputError("ep", f"expert parallelism needs a mixture-of-experts model; {m.name} has no experts (use ep=1)")
    if ep is not None and m.moe is not None and m.moe.n_experts % ep:
        raise InputError("ep", f"must divide the {m.moe.n_experts} routed experts of {m.name}, got {ep}")
    out = []
    for t in tps:
        if ep is not None:
            eps = [ep]
        elif m.moe is not None:
            eps = [e for e in _powers_of_two(t) if m.moe.n_experts % e == 0] or [1]
        else:
            eps = [1]
        dps = [attention_dp] if attention_dp is not None else ([False, True] if (m.moe is not None and t > 1) else [False])
        for e in eps:
            if t % e:
                if ep is not None and tp is not None:
                    raise InputError("ep", f"must divide tp ({t}): experts are spread over the replica's accelerators, got {e}")
                continue
            for dp in dps:
                if not dp and m.n_heads % t:
                    if tp is not None and attention_dp is not None:
                        raise InputError("tp", f"must divide the {m.n_heads} attention heads of {m.name}, got {t}")
                    continue
                lay = ServingLayout(tp=t, pp=pp_, ep=e, attention_dp=dp)
                check_layout(m, lay)
                out.append(lay)
    if not out:
        raise InputError("tp", f"no tensor-parallel size divides both the {n_accelerators} accelerators and the {m.n_heads} heads of {m.name}")
    return out


def _lengths(input_len: float | None, output_len: float | None, lengths: LengthMix | None) -> LengthMix:
    if lengths is not None:
        return lengths
    if input_len is None or output_len is None:
        raise InputError("input_len", "give input_len and output_len, or a length distribution")
    _check_positive("input_len", input_len, whole=True)
    _check_positive("output_len", output_len, whole=True)
    return LengthMix.fixed(input_len, output_len)


def default_kv_precision(precision: str) -> str:
    """FP8 cache with 8-bit or smaller weights (TensorRT-LLM ModelOpt checkpoints, vLLM/ROCm MLPerf
    submissions), otherwise the weights' precision."""
    return "fp8" if BYTES_PER_ELEMENT[precision] <= 1.0 else precision


def _check_inputs(n_accelerators, batch, tp, pp, ep, ttft_slo_s, tpot_slo_s, kv_precision) -> None:
    _check_positive("gpus", n_accelerators, whole=True)
    _check_positive("batch", batch, whole=True)
    _check_positive("tp", tp, whole=True)
    _check_positive("pp", pp, whole=True)
    _check_positive("ep", ep, whole=True)
    _check_positive("ttft_slo", ttft_slo_s)
    _check_positive("tpot_slo", tpot_slo_s)
    if kv_precision is not None and kv_precision not in PRECISIONS:
        raise InputError("kv_precision", f"must be one of {', '.join(PRECISIONS)}, got {kv_precision!r}")


@dataclass(frozen=True)
class _Ctx:
    m: ModelSpec
    counts: ParamCounts
    hw: HardwareSpec
    cal: Calibration
    setup: R.EngineSetup
    lengths: LengthMix
    precision: str
    kv_precision: str


def best_replica(m: ModelSpec, counts: ParamCounts, hw: HardwareSpec, cal: Calibration, setup: R.EngineSetup,
                 layouts: list[ServingLayout], lengths: LengthMix, *, precision: str, kv_precision: str,
                 batch: int | None = None, ttft_slo_s: float | None = None, tpot_slo_s: float | None = None):
    """(best (tokens/s per accelerator, point) or None, every layout tried, reasons layouts failed)."""
    c = _Ctx(m=m, counts=counts, hw=hw, cal=cal, setup=setup, lengths=lengths, precision=precision, kv_precision=kv_precision)
    return _search(c, layouts, batch=batch, ttft_slo_s=ttft_slo_s, tpot_slo_s=tpot_slo_s)


def _search(c: _Ctx, layouts: list[ServingLayout], *, batch, ttft_slo_s, tpot_slo_s):
    best: tuple[float, R.ReplicaPoint] | None = None
    tried, reasons = [], []
    for lay in layouts:
        point, why = R.replica_point(c.m, c.counts, c.hw, c.cal, c.setup, lay, c.lengths, precision=c.precision,
                                     kv_precision=c.kv_precision, batch=batch, ttft_slo_s=ttft_slo_s, tpot_slo_s=tpot_slo_s)
        entry: dict[str, Any] = {"tp": lay.tp, "pp": lay.pp, "ep": lay.ep, "attention_dp": lay.attention_dp}
        if point is None:
            reasons.append(why)
            tried.append({**entry, "tokens_per_s_per_accelerator": None, "reason": why})
            continue
        per_acc = point.tokens_per_s / lay.devices
        tried.append({**entry, "tokens_per_s_per_accelerator": per_acc, "batch": point.batch, "binding_limit": why})
        if best is None or per_acc > best[0] * (1 + 1e-9):
            best = (per_acc, point)
    return best, tried, reasons


def _infeasible(m: ModelSpec, hw: HardwareSpec, n: int, reasons: list[str]) -> InfeasibleError:
    last = reasons[-1]
    slo = [r for r in reasons if "cannot be met" in r]
    pick = slo[-1] if slo else last
    field_name = "tpot_slo" if "TPOT" in pick else "ttft_slo" if "TTFT" in pick else "gpus"
    return InfeasibleError(field_name, f"{m.name} on {n} x {hw.name}: {pick}")


def estimate_inference(
    model: ModelSpec,
    hardware: HardwareSpec,
    *,
    n_accelerators: int,
    input_len: int | None = None,
    output_len: int | None = None,
    lengths: LengthMix | None = None,
    precision: str = "bf16",
    kv_precision: str | None = None,
    batch: int | None = None,
    max_batch: int | None = None,
    tp: int | None = None,
    pp: int | None = None,
    ep: int | None = None,
    attention_dp: bool | None = None,
    ttft_slo_s: float | None = None,
    tpot_slo_s: float | None = None,
    disaggregated: bool = False,
    calibration: Calibration,
    stack: StackChoice | None = None,
    site: SiteParams | None = None,
) -> InferenceEstimate:
    """Estimate serving throughput and latency of ``model`` on ``n_accelerators``.

    ``stack`` (from :func:`dcplan.calibrate.stacks.select_stack`) names the serving stack and
    brings its engine behaviour; ``calibration`` is the calibration to use (the stack's, for a
    stack). ``lengths`` gives a distribution of request lengths instead of fixed
    ``input_len``/``output_len``. Layout fields not given are searched (module docstring);
    without ``batch`` the largest batch that fits memory, the engine's cap (``max_batch``
    overrides the stack's) and the latency limits is used. Power and energy are None
    (``power_unknown_reason`` says why) on a chip that publishes neither TDP nor node power.
    """
    site = site or _default_site()
    _check_inputs(n_accelerators, batch, tp, pp, ep, ttft_slo_s, tpot_slo_s, kv_precision)
    _check_positive("max_batch", max_batch, whole=True)
    mix = _lengths(input_len, output_len, lengths)
    hardware.peak(precision)
    kv = kv_precision or default_kv_precision(precision)
    counts = count_params(model)
    c = _Ctx(m=model, counts=counts, hw=hardware, cal=calibration, setup=engine_setup(stack, calibration, max_batch),
             lengths=mix, precision=precision, kv_precision=kv)
    layouts = candidate_layouts(model, n_accelerators, tp=tp, pp=pp, ep=ep, attention_dp=attention_dp)
    if disaggregated:
        return _disaggregated(c, layouts, n_accelerators, ttft_slo_s, tpot_slo_s, stack, site)
    best, tried, reasons = _search(c, layouts, batch=batch, ttft_slo_s=ttft_slo_s, tpot_slo_s=tpot_slo_s)
    if best is None:
        raise _infeasible(model, hardware, n_accelerators, reasons)
    point = best[1]
    lay = point.layout
    replicas = n_accelerators // lay.devices
    tok_s = point.tokens_per_s * replicas
    return _result(c, point, replicas, tok_s, n_accelerators, stack, site, tried, None)


def _money(c: _Ctx, n: int, tok_s: float, site: SiteParams):
    it_w = E.it_power_per_accelerator_w(c.hw, site, c.cal.infer_load_frac)
    kwh_per_mtok = it_w * n / tok_s * 1e6 / SECONDS_PER_HOUR / 1e3 if it_w is not None else None
    price = E.rental_price(c.hw, site)
    usd = price.usd_per_hour * n / tok_s * 1e6 / SECONDS_PER_HOUR if price.usd_per_hour is not None else None
    return it_w, kwh_per_mtok, price, usd


def _assumptions(c: _Ctx, stack: StackChoice | None, setup: R.EngineSetup, site: SiteParams, price) -> list[Assumption]:
    cal = c.cal
    stack_src = stack.source if stack is not None else "no stack: shipped defaults"
    return [
        Assumption(name="precision", value=c.precision, unit="", source="given"),
        Assumption(name="kv_precision", value=c.kv_precision, unit="", source="given or FP8 with 8-bit and smaller weights"),
        Assumption(name="peak_flops_per_s", value=c.hw.peak(c.precision), unit="FLOP/s", source=_src(c.hw, "peak_flops_per_s")),
        Assumption(name="hbm_bytes_per_s", value=c.hw.hbm_bytes_per_s, unit="bytes/s", source=_src(c.hw, "hbm_bytes_per_s")),
        Assumption(name="stack", value=stack.stack if stack else None, unit="", source=stack_src),
        Assumption(name="serving_memory_frac", value=setup.memory_frac, unit=f"fraction of {setup.memory_of} memory",
                   source=cal.source("serving_memory_frac")),
        Assumption(name="max_batch", value=setup.max_batch, unit="sequences per replica", source=stack_src),
        Assumption(name="prefill_chunk_tokens", value=setup.prefill_chunk_tokens, unit="tokens", source=stack_src),
        Assumption(name="decode_bw_frac", value=cal.decode_bw_frac, unit="fraction of HBM bandwidth", source=cal.source("decode_bw_frac")),
        Assumption(name="decode_t0_s", value=cal.decode_t0_s, unit="s", source=cal.source("decode_t0_s")),
        Assumption(name="batching", value="continuous batching with chunked prefill; each new request's prefill interrupts decoding once",
                   unit="", source="Orca (Yu et al. OSDI'22) / vLLM scheduling; TPOT includes prefill stalls"),
        *_calibration_assumptions(cal, "prefill"),
        *_site_assumptions(site, c.hw, cal.infer_load_frac, "infer_load_frac", cal),
        Assumption(name="usd_per_accelerator_hour", value=price.usd_per_hour, unit="USD/h", source=price.source),
    ]


def _result(c: _Ctx, point: R.ReplicaPoint, replicas: int, tok_s: float, n: int, stack: StackChoice | None,
            site: SiteParams, tried, disagg: Mapping[str, Any] | None) -> InferenceEstimate:
    lay = point.layout
    it_w, kwh, price, usd = _money(c, n, tok_s, site)
    return InferenceEstimate(
        model=c.m.name, hardware=c.hw.name, n_accelerators=n, tp=lay.tp, pp=lay.pp, ep=lay.ep, attention_dp=lay.attention_dp,
        replicas=replicas, input_len=c.lengths.mean_input, output_len=c.lengths.mean_output,
        context_len=c.lengths.decode_context, precision=c.precision, kv_precision=c.kv_precision, batch_size=point.batch,
        tokens_per_s=tok_s, tokens_per_s_per_accelerator=tok_s / n, requests_per_s=tok_s / c.lengths.mean_output,
        ttft_s=point.ttft_s, tpot_s=point.tpot_s, prefill_s=point.prefill_s, decode_step_s=point.decode_s, bound=point.bound,
        kv_bytes_per_token=kv_bytes_per_token(c.m, c.kv_precision, 1), memory_per_accelerator_bytes=point.memory.total,
        memory_breakdown_bytes=point.memory.as_dict(), memory_capacity_bytes=point.capacity_bytes,
        it_power_per_accelerator_w=it_w, energy_kwh_per_mtok=kwh, usd_per_accelerator_hour=price.usd_per_hour,
        usd_per_mtok=usd, binding_limit=point.binding_limit, stack=stack, search=tuple(tried), disaggregated=disagg,
        power_unknown_reason=None if it_w is not None else E.power_unknown_reason(c.hw),
        assumptions=tuple(_assumptions(c, stack, c.setup, site, price)),
    )


def _phase_instances(c: _Ctx, layouts: list[ServingLayout], phase: str, slo: float | None):
    """Every layout's instance of one phase that can serve (and why the others cannot)."""
    found, reasons = [], []
    for lay in layouts:
        fn = R.prefill_instance if phase == "prefill" else R.decode_instance
        kw = {"ttft_slo_s": slo} if phase == "prefill" else {"tpot_slo_s": slo}
        inst, why = fn(c.m, c.counts, c.hw, c.cal, c.setup, lay, c.lengths, precision=c.precision, kv_precision=c.kv_precision, **kw)
        if inst is None:
            reasons.append(why)
        else:
            found.append(inst)
    return found, reasons


def _phase_dict(inst: R.PhaseInstance, instances: int) -> dict[str, Any]:
    lay = inst.layout
    return {
        "instances": instances, "accelerators": instances * inst.accelerators, "tp": lay.tp, "pp": lay.pp, "ep": lay.ep,
        "attention_dp": lay.attention_dp, "batch": inst.batch, "tokens_per_s_per_accelerator": inst.tokens_per_s / inst.accelerators,
        "requests_per_s_per_instance": inst.requests_per_s, "latency_s": inst.latency_s, "binding_limit": inst.binding_limit,
        "memory_per_accelerator_bytes": inst.memory.total,
    }


def _disaggregated(c: _Ctx, layouts, n: int, ttft_slo_s, tpot_slo_s, stack, site) -> InferenceEstimate:
    pres, why_p = _phase_instances(c, layouts, "prefill", ttft_slo_s)
    decs, why_d = _phase_instances(c, layouts, "decode", tpot_slo_s)
    if not pres or not decs:
        raise _infeasible(c.m, c.hw, n, why_d if pres else why_p)
    # the pair of instance layouts whose pools, sized within n, serve the most requests
    plan = None
    for pre in pres:
        transfer = R.kv_transfer_s(c.m, c.hw, c.cal, c.lengths, c.kv_precision, pre.layout)
        for dec in decs:
            cand = R.disaggregate(n, pre, dec, transfer, c.lengths.mean_output)
            if cand is not None and (plan is None or cand.requests_per_s > plan.requests_per_s):
                plan = cand
    if plan is None:
        smallest = min(p.accelerators for p in pres) + min(d.accelerators for d in decs)
        raise InfeasibleError("gpus", f"{c.m.name}: disaggregated serving needs at least one prefill and one decode instance, "
                                      f"{smallest} accelerators at the fewest, got {n}")
    pre, dec = plan.prefill, plan.decode
    used = plan.prefill_accelerators + plan.decode_accelerators
    disagg = {
        "prefill": _phase_dict(pre, plan.prefill_instances), "decode": _phase_dict(dec, plan.decode_instances),
        "prefill_to_decode_accelerators": plan.prefill_accelerators / plan.decode_accelerators,
        "accelerators_used": used, "requests_per_s": plan.requests_per_s, "kv_transfer_s": plan.kv_transfer_s,
    }
    point = R.ReplicaPoint(layout=dec.layout, batch=dec.batch, memory=dec.memory,
                           capacity_bytes=R.capacity_bytes(c.hw, c.setup, dec.memory.total - dec.memory.kv_cache)[0],
                           prefill_s=pre.latency_s / max(pre.batch, 1), ttft_s=plan.ttft_s, decode_s=dec.latency_s,
                           tpot_s=plan.tpot_s, bound="memory", binding_limit=dec.binding_limit, mean_output=c.lengths.mean_output)
    replicas = plan.decode_instances
    return _result(c, point, replicas, plan.output_tokens_per_s, n, stack, site, (), disagg)

