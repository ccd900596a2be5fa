"""The performance model's face for embedding services: ``estimate_embeddings``.

An encoder-only model (BERT, RoBERTa, ModernBERT) serves embeddings: each request is ``input_len``
tokens that one bidirectional forward turns into vectors, and nothing is generated (no decode,
no KV cache). A replica is one accelerator holding the whole model (every encoder in the catalog
fits one device many times over); requests are batched, and a batch is one forward: the
"prefill" of :func:`dcplan.model.time.prefill_time` with the encoder's FLOPs (bidirectional
attention, no masked-LM head: :func:`dcplan.model.flops.embed_flops`), the same efficiency
curve, host overhead and activation traffic a calibration fits on prefill and encoder points.
The batch grows by powers of two until memory (weights, one layer's activations for the batch's
tokens: :func:`dcplan.model.memory.infer_memory` with no cache), the engine's batch cap, or the
latency limit (a request waits at most one batch) stops it. Pure: no file, clock or network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from dcplan.errors import InfeasibleError, InputError
from dcplan.estimate import Assumption, _calibration_assumptions, _check_positive, _default_site, _site_assumptions, _src
from dcplan.model import energy as E
from dcplan.model import flops as F
from dcplan.model.memory import InferMemory, infer_memory
from dcplan.model.params import ParamCounts, count_params
from dcplan.model.time import prefill_time
from dcplan.specs import Calibration, HardwareSpec, ModelSpec, SiteParams, StackChoice
from dcplan.units import SECONDS_PER_HOUR

#: Share of accelerator memory an engine plans for (vLLM's default ``gpu_memory_utilization=0.9``).
SERVING_MEMORY_FRAC = 0.9
#: Largest batch of requests tried per replica (sequences).
MAX_EMBED_BATCH = 4096
#: Without a latency limit the smallest batch within this share of the best throughput is chosen:
#: past the knee of the efficiency curve a larger batch only adds latency.
NEAR_BEST_FRAC = 0.98


def check_encoder(m: ModelSpec) -> None:
    """InputError unless ``m`` is encoder-only (embedding services run encoders)."""
    if not m.is_encoder:
        raise InputError("model", f"{m.name} is a {m.architecture} model: an embeddings workload needs an encoder-only model "
                                  "(architecture: encoder, e.g. bert-base, modernbert-base)")


def refuse_generation(m: ModelSpec, field_name: str) -> None:
    """InputError naming ``field_name`` when generation is asked of an encoder-only model."""
    if m.is_encoder:
        raise InputError(field_name, f"{m.name} is an encoder-only model: it embeds requests and generates no tokens; "
                                     "give the input length only (an embeddings workload)")


@dataclass(frozen=True, kw_only=True)
class EmbeddingEstimate:
    """Throughput, latency and memory of an embedding service (SI units)."""

    model: str
    hardware: str
    n_accelerators: int
    replicas: int
    input_len: float
    """Tokens per request."""
    precision: str
    batch_size: int
    """Requests per forward per replica."""
    batch_latency_s: float
    """Time of one batched forward: the longest a request is computed [s]."""
    requests_per_s: float
    tokens_per_s: float
    """Input tokens embedded per second over all replicas."""
    tokens_per_s_per_accelerator: float
    flops_per_token: float
    """Forward FLOPs per embedded token [FLOP/token]."""
    memory_per_accelerator_bytes: float
    memory_breakdown_bytes: Mapping[str, float]
    memory_capacity_bytes: float
    binding_limit: str
    """What stopped the batch from growing: memory, latency_slo, max_batch, given, or throughput_knee
    (a larger batch gains less than 2% throughput)."""
    it_power_per_accelerator_w: float | None
    energy_kwh_per_mtok: float | None
    """IT energy per million embedded tokens [kWh]; None when the chip's power is not published."""
    usd_per_accelerator_hour: float | None
    usd_per_mtok: float | None
    """Rental cost per million embedded tokens at full load [USD]."""
    power_unknown_reason: str | None = None
    stack: StackChoice | None = None
    assumptions: tuple[Assumption, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "workload": "embeddings", "model": self.model, "hardware": self.hardware, "n_accelerators": self.n_accelerators,
            "replicas": self.replicas, "input_len": self.input_len, "output_len": 0, "precision": self.precision,
            "batch_size": self.batch_size, "batch_latency_s": self.batch_latency_s, "requests_per_s": self.requests_per_s,
            "tokens_per_s": self.tokens_per_s, "tokens_per_s_per_accelerator": self.tokens_per_s_per_accelerator,
            "flops_per_token": self.flops_per_token, "memory_per_accelerator_bytes": self.memory_per_accelerator_bytes,
            "memory_breakdown_bytes": dict(self.memory_breakdown_bytes), "memory_capacity_bytes": self.memory_capacity_bytes,
            "binding_limit": self.binding_limit, "it_power_per_accelerator_w": self.it_power_per_accelerator_w,
            "energy_kwh_per_mtok": self.energy_kwh_per_mtok, "power_unknown_reason": self.power_unknown_reason,
            "usd_per_accelerator_hour": self.usd_per_accelerator_hour, "usd_per_mtok": self.usd_per_mtok,
            "stack": self.stack.to_dict() if self.stack is not None else None,
            "assumptions": [a.to_dict() for a in self.assumptions],
        }


@dataclass(frozen=True)
class _Point:
    batch: int
    latency_s: float
    memory: InferMemory


def embed_batch_time(m: ModelSpec, counts: ParamCounts, hw: HardwareSpec, cal: Calibration, *, batch: int, input_len: int,
                     precision: str) -> float:
    """Seconds of one batched embedding forward of ``batch`` requests on one accelerator [s]."""
    return prefill_time(m, counts, hw, cal, tp=1, batch=batch, prompt_len=input_len, precision=precision)


def embed_memory(m: ModelSpec, counts: ParamCounts, cal: Calibration, *, batch: int, input_len: int, precision: str) -> InferMemory:
    """Bytes of an embedding forward: weights, one layer's activations for the batch, no cache, no logits [bytes]."""
    return infer_memory(counts, m, tp=1, batch=batch, context_len=0, prompt_len=batch * input_len, precision=precision,
                        calibration=cal, logit_positions=0)


def _best_batch(m, counts, hw, cal, *, input_len, precision, batch, max_batch, latency_slo_s) -> tuple[_Point, str]:
    capacity = hw.require("hbm_bytes") * SERVING_MEMORY_FRAC
    sizes = [batch] if batch is not None else [2 ** k for k in range(MAX_EMBED_BATCH.bit_length()) if 2 ** k <= (max_batch or MAX_EMBED_BATCH)]
    points, limit = [], "given" if batch is not None else "max_batch"
    for b in sizes:
        mem = embed_memory(m, counts, cal, batch=b, input_len=input_len, precision=precision)
        if mem.total > capacity:
            limit = "memory"
            break
        t = embed_batch_time(m, counts, hw, cal, batch=b, input_len=input_len, precision=precision)
        if latency_slo_s is not None and t > latency_slo_s:
            limit = "latency_slo"
            break
        points.append(_Point(b, t, mem))
    top = max((p.batch / p.latency_s for p in points), default=0.0)
    best = next((p for p in points if p.batch / p.latency_s >= NEAR_BEST_FRAC * top), None)
    if best is not None and best is not points[-1] and batch is None:
        limit = "throughput_knee"
    if best is None:
        field_name, why = (("gpus", "the model and one request do not fit its memory") if limit == "memory"
                           else ("latency_slo", "one request alone takes longer than the latency limit"))
        raise InfeasibleError(field_name, f"{m.name} cannot serve embeddings of {input_len} tokens on {hw.name}: {why}")
    return best, limit


def estimate_embeddings(
    model: ModelSpec,
    hardware: HardwareSpec,
    *,
    n_accelerators: int,
    input_len: int,
    precision: str = "bf16",
    batch: int | None = None,
    max_batch: int | None = None,
    latency_slo_s: float | None = None,
    calibration: Calibration,
    stack: StackChoice | None = None,
    site: SiteParams | None = None,
) -> EmbeddingEstimate:
    """Embedding throughput (requests/s, tokens/s) of encoder ``model`` on ``n_accelerators``.

    One replica per accelerator; the batch with the most tokens per second that fits memory,
    ``max_batch`` and ``latency_slo_s`` (the time of one batched forward) is chosen unless
    ``batch`` is given. Power and energy are None on a chip that publishes no power.
    """
    check_encoder(model)
    for name, value, whole in (("n_accelerators", n_accelerators, True), ("input_len", input_len, True), ("batch", batch, True),
                               ("max_batch", max_batch, True), ("latency_slo", latency_slo_s, False)):
        _check_positive(name, value, whole=whole)
    if input_len > model.max_seq_len:
        raise InputError("input_len", f"must be <= {model.name}'s max_seq_len ({model.max_seq_len}), got {input_len}")
    hardware.peak(precision)
    site = site or _default_site()
    counts = count_params(model)
    point, limit = _best_batch(model, counts, hardware, calibration, input_len=input_len, precision=precision, batch=batch,
                               max_batch=max_batch, latency_slo_s=latency_slo_s)
    req_s = point.batch / point.latency_s * n_accelerators
    tok_s = req_s * input_len
    it_w = E.it_power_per_accelerator_w(hardware, site, calibration.infer_load_frac)
    price = E.rental_price(hardware, site)
    per_mtok_h = n_accelerators / tok_s * 1e6 / SECONDS_PER_HOUR
    return EmbeddingEstimate(
        model=model.name, hardware=hardware.name, n_accelerators=n_accelerators, replicas=n_accelerators, input_len=float(input_len),
        precision=precision, batch_size=point.batch, batch_latency_s=point.latency_s, requests_per_s=req_s, tokens_per_s=tok_s,
        tokens_per_s_per_accelerator=tok_s / n_accelerators, flops_per_token=F.embed_flops(model, 1, input_len) / input_len,
        memory_per_accelerator_bytes=point.memory.total, memory_breakdown_bytes=point.memory.as_dict(),
        memory_capacity_bytes=hardware.require("hbm_bytes") * SERVING_MEMORY_FRAC, binding_limit=limit,
        it_power_per_accelerator_w=it_w, energy_kwh_per_mtok=it_w * per_mtok_h / 1e3 if it_w is not None else None,
        usd_per_accelerator_hour=price.usd_per_hour, usd_per_mtok=price.usd_per_hour * per_mtok_h if price.usd_per_hour is not None else None,
        power_unknown_reason=None if it_w is not None else E.power_unknown_reason(hardware), stack=stack,
        assumptions=tuple(_assumptions(hardware, calibration, site, precision, price, stack)),
    )


def _assumptions(hw: HardwareSpec, cal: Calibration, site: SiteParams, precision: str, price, stack) -> list[Assumption]:
    return [
        Assumption(name="precision", value=precision, unit="", source="given"),
        Assumption(name="peak_flops_per_s", value=hw.peak(precision), unit="FLOP/s", source=_src(hw, "peak_flops_per_s")),
        Assumption(name="hbm_bytes_per_s", value=hw.hbm_bytes_per_s, unit="bytes/s", source=_src(hw, "hbm_bytes_per_s")),
        Assumption(name="serving_memory_frac", value=SERVING_MEMORY_FRAC, unit="fraction of accelerator memory",
                   source="vLLM default gpu_memory_utilization=0.9"),
        Assumption(name="batching", value="static batches of whole requests, one forward each, no decode", unit="",
                   source="encoder inference (Devlin et al. 2019: one bidirectional pass per input)"),
        Assumption(name="stack", value=stack.stack if stack else None, unit="",
                   source=stack.source if stack else "no serving stack: the calibration's prefill terms"),
        *_calibration_assumptions(cal, "prefill"),
        *_site_assumptions(site, hw, cal.infer_load_frac, "infer_load_frac", cal),
        Assumption(name="usd_per_accelerator_hour", value=price.usd_per_hour, unit="USD/h", source=price.source),
    ]
