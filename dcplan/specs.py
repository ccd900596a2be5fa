"""Frozen specifications every stage passes inward: hardware, model, layout, efficiency, site.

They are plain keyword-only dataclasses, validated in ``__post_init__`` (raising
:class:`~dcplan.errors.InputError` naming the field) and varied with ``dataclasses.replace``.
Parsing from YAML/JSON lives in :mod:`dcplan.io`; nothing here reads files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Mapping

from dcplan.errors import InputError

Precision = Literal["fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4"]
PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4")

#: Bytes per element of weights/activations stored in a precision. tf32 is stored as fp32.
BYTES_PER_ELEMENT: Mapping[str, float] = {
    "fp32": 4.0,
    "tf32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "fp4": 0.5,
}

Recompute = Literal["none", "selective", "full"]
RECOMPUTE_MODES: tuple[str, ...] = ("none", "selective", "full")


def _positive(obj: object, *names: str, allow_zero: bool = False) -> None:
    """Raise InputError unless each named attribute is a finite number > 0 (or >= 0)."""
    for name in names:
        value = getattr(obj, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(name, f"must be a finite number, got {value!r}")
        if value < 0 or (value == 0 and not allow_zero):
            bound = ">= 0" if allow_zero else "> 0"
            raise InputError(name, f"must be {bound}, got {value!r}")


def _fraction(obj: object, *names: str) -> None:
    """Raise InputError unless each named attribute lies in (0, 1]."""
    for name in names:
        value = getattr(obj, name)
        if value is None:
            continue
        if not isinstance(value, (int, float)) or not (0 < value <= 1):
            raise InputError(name, f"must be a fraction in (0, 1], got {value!r}")


@dataclass(frozen=True, kw_only=True)
class SourceNote:
    """Where a group of figures comes from."""

    fields: tuple[str, ...]
    """Names of the fields this source covers."""
    source: str
    """Document, table or page, with its date where known."""
    quality: str
    """A: read in the primary source; B: faithful copy or one minor field uncertain; C: secondary."""


# --------------------------------------------------------------------------------------------
# Hardware
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class HardwareSpec:
    """One accelerator as the catalog describes it (all SI units, dense peaks)."""

    name: str
    """Lowercase slug, e.g. ``h100-sxm``."""
    display_name: str
    aliases: tuple[str, ...] = ()
    vendor: str = ""
    kind: str = "gpu"
    """gpu | tpu | gaudi | cpu"""
    form_factor: str = ""
    launch_year: int | None = None
    peak_flops_per_s: Mapping[str, float] = field(default_factory=dict)
    """Dense peak FLOP/s per precision [FLOP/s] (no 2:4 sparsity)."""
    hbm_bytes: float | None = None
    """Accelerator memory [bytes, 1 GB = 1e9]."""
    hbm_bytes_per_s: float | None = None
    """Accelerator memory bandwidth [bytes/s]."""
    tdp_w: float | None = None
    """Board/module power limit [W]."""
    intra_node_bytes_per_s: float | None = None
    """Scale-up fabric bandwidth per accelerator per direction (NVLink, ICI) [bytes/s]."""
    inter_node_bytes_per_s: float | None = None
    """Scale-out network bandwidth per accelerator per direction [bytes/s]."""
    accelerators_per_node: int | None = None
    """Accelerators per server / host."""
    scale_up_domain: int | None = None
    """Accelerators that share the intra-node fabric (8 for HGX, 72 for NVL72, a TPU pod)."""
    node_power_w: float | None = None
    """Maximum power of one server of ``accelerators_per_node`` accelerators [W]."""
    price_usd: float | None = None
    """Published price per accelerator [USD]."""
    cloud_usd_per_hour: float | None = None
    """A published cloud rental price per accelerator-hour [USD/h]."""
    precisions_absent: tuple[str, ...] = ()
    """Precisions the chip's matrix units do not have (per its data sheet): asking for one is an
    error saying so. A precision neither here nor in ``peak_flops_per_s`` is one whose peak the
    catalog has not captured."""
    sources: tuple[SourceNote, ...] = ()
    notes: str = ""

    def __post_init__(self) -> None:
        _positive(
            self,
            "hbm_bytes",
            "hbm_bytes_per_s",
            "tdp_w",
            "intra_node_bytes_per_s",
            "inter_node_bytes_per_s",
            "accelerators_per_node",
            "scale_up_domain",
            "node_power_w",
            "price_usd",
            "cloud_usd_per_hour",
        )
        for prec, value in self.peak_flops_per_s.items():
            if prec not in BYTES_PER_ELEMENT and prec != "fp64":
                raise InputError(f"peak_flops_per_s.{prec}", f"unknown precision; use one of {', '.join(PRECISIONS)}")
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise InputError(f"peak_flops_per_s.{prec}", f"must be > 0, got {value!r}")
        for prec in self.precisions_absent:
            if prec not in BYTES_PER_ELEMENT:
                raise InputError("precisions_absent", f"unknown precision {prec!r}; use one of {', '.join(PRECISIONS)}")
            if prec in self.peak_flops_per_s:
                raise InputError("precisions_absent", f"{prec} has a peak in peak_flops_per_s: a chip cannot both have and lack it")

    def peak(self, precision: str) -> float:
        """Dense peak FLOP/s in ``precision``; an :class:`InputError` if none is published."""
        if precision in self.peak_flops_per_s:
            return float(self.peak_flops_per_s[precision])
        have = ", ".join(p for p in PRECISIONS if p in self.peak_flops_per_s) or "none"
        if precision in self.precisions_absent:
            raise InputError("precision", f"{self.name} has no {precision} matrix units (it computes in {have})")
        raise InputError(
            "precision",
            f"no published dense {precision} peak for {self.name} is in the catalog (data/hardware/{self.name}.yaml has {have})",
        )

    def require(self, name: str) -> float:
        """The value of a catalog field, or an InputError saying it is unknown for this entry."""
        value = getattr(self, name)
        if value is None:
            raise InputError(name, f"not known for {self.name} (no published figure in data/hardware/{self.name}.yaml)")
        return float(value)

    def source_of(self, name: str) -> SourceNote | None:
        for note in self.sources:
            if name in note.fields:
                return note
        return None


# --------------------------------------------------------------------------------------------
# Model architecture
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MoESpec:
    """Mixture-of-experts feed-forward layers."""

    n_experts: int
    """Routed experts per MoE layer."""
    top_k: int
    """Routed experts each token goes through."""
    d_ff_expert: int
    """Hidden size of one expert."""
    n_shared_experts: int = 0
    """Experts every token goes through (DeepSeek)."""
    first_dense_layers: int = 0
    """Leading layers that keep a dense FFN of size ``d_ff`` (DeepSeek-V3: 3)."""

    def __post_init__(self) -> None:
        _positive(self, "n_experts", "top_k", "d_ff_expert")
        _positive(self, "n_shared_experts", "first_dense_layers", allow_zero=True)
        if self.top_k > self.n_experts:
            raise InputError("moe.top_k", f"must be <= n_experts ({self.n_experts}), got {self.top_k}")


@dataclass(frozen=True, kw_only=True)
class MLASpec:
    """Multi-head latent attention (DeepSeek-V2/V3): low-rank compressed K/V and Q."""

    q_lora_rank: int | None
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int


ACTIVATIONS = ("gelu", "relu", "swiglu", "geglu")
POSITIONS = ("sinusoidal", "learned", "rope", "alibi", "relative")
NORMS = ("layernorm", "rmsnorm")
ARCHITECTURES = ("decoder", "encoder-decoder")


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """A Transformer architecture, as in its public config."""

    name: str
    display_name: str = ""
    aliases: tuple[str, ...] = ()
    family: str = ""
    architecture: str = "decoder"
    """decoder | encoder-decoder"""
    n_layers: int
    """Decoder layers (the only layers for a decoder-only model)."""
    n_encoder_layers: int = 0
    d_model: int
    n_heads: int
    n_kv_heads: int | None = None
    """Key/value heads (grouped-query attention); None means n_heads."""
    head_dim: int | None = None
    """None means d_model / n_heads."""
    d_ff: int
    vocab_size: int
    max_seq_len: int = 2048
    activation: str = "gelu"
    position: str = "learned"
    norm: str = "layernorm"
    tied_embeddings: bool = True
    bias: bool = False
    """Linear layers carry biases (GPT-2, OPT, BLOOM)."""
    moe: MoESpec | None = None
    mla: MLASpec | None = None
    published_params: float | None = None
    published_active_params: float | None = None
    source: str = ""
    quality: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        _positive(self, "n_layers", "d_model", "n_heads", "d_ff", "vocab_size", "max_seq_len")
        _positive(self, "n_kv_heads", "head_dim", "published_params", "published_active_params")
        _positive(self, "n_encoder_layers", allow_zero=True)
        for name, allowed in (
            ("activation", ACTIVATIONS),
            ("position", POSITIONS),
            ("norm", NORMS),
            ("architecture", ARCHITECTURES),
        ):
            if getattr(self, name) not in allowed:
                raise InputError(name, f"must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.head_dim is None and self.d_model % self.n_heads:
            raise InputError("n_heads", f"must divide d_model ({self.d_model}) unless head_dim is given")
        if self.n_heads % self.kv_heads:
            raise InputError("n_kv_heads", f"must divide n_heads ({self.n_heads}), got {self.kv_heads}")
        if self.architecture == "encoder-decoder" and self.n_encoder_layers <= 0:
            raise InputError("n_encoder_layers", "an encoder-decoder model needs n_encoder_layers > 0")

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads if self.n_kv_heads is not None else self.n_heads

    @property
    def d_head(self) -> int:
        return self.head_dim if self.head_dim is not None else self.d_model // self.n_heads

    @property
    def gated(self) -> bool:
        """The MLP has a gate projection (SwiGLU/GeGLU: three matrices instead of two)."""
        return self.activation in ("swiglu", "geglu")

    @property
    def is_moe(self) -> bool:
        return self.moe is not None


# --------------------------------------------------------------------------------------------
# Parallel layout
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ParallelLayout:
    """How one training job is split over accelerators (Megatron-Core conventions).

    accelerators = tp x pp x cp x dp. Expert parallelism is carved out of the data-parallel
    group (ep divides dp), as Megatron-Core does, so it does not multiply the count.
    """

    tp: int = 1
    """Tensor-parallel size."""
    pp: int = 1
    """Pipeline stages."""
    dp: int = 1
    """Data-parallel replicas."""
    ep: int = 1
    """Expert-parallel size (divides dp)."""
    cp: int = 1
    """Context-parallel size (splits the sequence)."""
    zero: int = 1
    """ZeRO stage 0-3 over the data-parallel group (1 = distributed optimizer)."""
    recompute: str = "selective"
    """none | selective | full activation recomputation."""
    micro_batch: int = 1
    """Sequences per micro-batch per data-parallel replica."""
    vpp: int = 1
    """Virtual pipeline stages per device (interleaved 1F1B, Narayanan et al. 2021 §2.2.2)."""
    sequence_parallel: bool = True
    """Megatron sequence parallelism with tp > 1."""

    def __post_init__(self) -> None:
        _positive(self, "tp", "pp", "dp", "ep", "cp", "micro_batch", "vpp")
        for name in ("tp", "pp", "dp", "ep", "cp", "micro_batch", "vpp"):
            if not isinstance(getattr(self, name), int):
                raise InputError(name, f"must be a whole number, got {getattr(self, name)!r}")
        if self.zero not in (0, 1, 2, 3):
            raise InputError("zero", f"must be 0, 1, 2 or 3, got {self.zero!r}")
        if self.recompute not in RECOMPUTE_MODES:
            raise InputError("recompute", f"must be one of {', '.join(RECOMPUTE_MODES)}, got {self.recompute!r}")
        if self.vpp > 1 and self.pp == 1:
            raise InputError("vpp", f"interleaving needs pipeline stages (pp > 1), got vpp={self.vpp} with pp=1")
        if self.dp % self.ep:
            raise InputError("ep", f"must divide dp ({self.dp}): experts are sharded inside the data-parallel group, got ep={self.ep}")

    @property
    def n_devices(self) -> int:
        return self.tp * self.pp * self.cp * self.dp

    def as_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --------------------------------------------------------------------------------------------
# Efficiency (what calibration produces and the model consumes)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EfficiencyCurve:
    """eta(x) = eta_max * x / (x + x_half): a saturating efficiency in the work size x.

    The continuous form of Calculon's step table by operation size (Isaev et al. SC'23;
    performance-methods.md §5.1). ``x`` is FLOPs for compute curves.

    With ``exponent`` a != 1 the curve is the Hill form eta = eta_max / (1 + (x_half/x)^a)
    (a = 1 is the curve above): measured CPU GEMMs approach their plateau more slowly than
    x/(x + x_half) allows (a = 0.70 on the shipped CPU profile; docs/profile-and-calibrate.md).
    The phase curves (train, prefill) may also carry a per-layer overhead and a memory-traffic
    term (``t0_per_layer_s``, ``act_passes``); all three default to today's behaviour.
    """

    eta_max: float
    x_half: float
    """Work size at which eta reaches half of eta_max [same unit as x]."""
    t0_s: float = 0.0
    """Fixed overhead per operation (launch, sync, framework) [s]."""
    exponent: float = 1.0
    """Hill exponent a of the saturation; 1 is eta_max x/(x + x_half)."""
    t0_per_layer_s: float = 0.0
    """Overhead per Transformer layer per operation (kernel launches, framework dispatch) [s]."""
    act_passes: float = 0.0
    """Passes over the activation bytes (Korthikanti count, plus logits) made by bandwidth-bound
    elementwise kernels (norms, activations, softmax, loss), at the device's memory bandwidth;
    0 leaves that work folded into eta."""

    def __post_init__(self) -> None:
        _fraction(self, "eta_max")
        _positive(self, "x_half", "t0_s", "t0_per_layer_s", "act_passes", allow_zero=True)
        _positive(self, "exponent")

    def eta(self, x: float) -> float:
        if x <= 0:
            return 0.0
        if self.exponent == 1.0:
            return self.eta_max * x / (x + self.x_half)
        return self.eta_max / (1.0 + (self.x_half / x) ** self.exponent)


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """Efficiency parameters of the performance model, with where each came from.

    The model takes one of these as an argument; calibration code produces them. Defaults ship
    in ``data/efficiency/defaults.yaml``; ``dcplan calibrate`` writes fitted ones.
    """

    name: str
    """``defaults`` or the profile it was fitted on."""
    hardware: str | None = None
    """Catalog entry it applies to; None applies to every accelerator."""
    gemm: EfficiencyCurve
    """Achieved fraction of dense peak by a single GEMM of x FLOPs."""
    train: EfficiencyCurve
    """Train-step efficiency relative to the GEMM ceiling, by per-layer GEMM FLOPs; t0 per micro-batch."""
    prefill: EfficiencyCurve
    """Prefill efficiency relative to the GEMM ceiling, by per-layer GEMM FLOPs; t0 per forward."""
    decode_bw_frac: float
    """Achieved fraction of memory bandwidth in a decode step."""
    decode_t0_s: float
    """Fixed overhead per decode step (kernel launches, sampling) [s]."""
    decode_t0_per_layer_s: float = 0.0
    """Overhead per decoder layer per decode step (kernel launches, framework dispatch) [s]."""
    decode_compute: EfficiencyCurve | None = None
    """Compute efficiency of a decode step as a fraction of dense peak, as a function of the
    tokens per step on a device (x = batch, not FLOPs). None: the GEMM and prefill curves at
    the step's per-layer GEMM size (the shipped default). Profiles of CPUs need it: GEMMs of a
    few rows run far below square GEMMs of the same FLOPs."""
    optimizer_bytes_factor: float = 1.0
    """Measured / modelled memory traffic of the optimizer step (the 28 bytes/param Adam update
    of dcplan.model.time at the decode bandwidth); an unfused optimizer makes more passes."""
    embedding_grad_passes: float = 0.0
    """Passes over the token-embedding matrix per micro-batch for its dense gradient (zero-fill,
    scatter-add, accumulation with a tied output layer), at memory bandwidth; 0 = not modelled."""
    memory_factor: float = 1.0
    """Measured / analytical bytes (allocator reserve, fragmentation)."""
    memory_constant_bytes: float = 0.0
    """Bytes on top of the analytical count (CUDA context, workspaces) [bytes]."""
    memory_activation_factor: float = 1.0
    """Measured / analytical activation bytes (a framework's saved tensors beyond the
    Korthikanti count), applied before ``memory_factor``."""
    memory_logits_factor: float = 1.0
    """Measured / analytical fp32 logits bytes (log-softmax output and gradients kept by an
    unfused loss), applied before ``memory_factor``."""
    intra_alpha_s: float = 10e-6
    """Collective latency per step on the scale-up fabric [s]."""
    intra_bw_frac: float = 0.65
    """Achieved fraction of scale-up bandwidth by collectives."""
    inter_alpha_s: float = 10e-6
    inter_bw_frac: float = 0.9
    train_load_frac: float = 0.75
    """Average accelerator power while training / TDP."""
    infer_load_frac: float = 0.75
    """Average accelerator power while serving / TDP."""
    goodput_frac: float = 0.9
    """Share of wall-clock time that advances training (failures, restarts, checkpoints)."""
    stack: str | None = None
    """Serving stack the serving parameters were fitted for (data/stacks/); None: no stack."""
    serving_memory_frac: float = 0.9
    """Share of accelerator memory a serving engine can fill with weights, KV cache and
    activations (vLLM's ``gpu_memory_utilization``; TensorRT-LLM's free-memory fraction for the
    KV cache is converted by the stack's ``memory_of``)."""
    attn_eta_frac: float = 1.0
    """Efficiency of the attention-core kernels (FlashAttention, MLA decode) relative to GEMMs
    of the same size; fitted per serving stack, 1 for profiles."""
    moe_eta_frac: float = 1.0
    """Efficiency of routed-expert (grouped) GEMMs relative to dense GEMMs of the same size:
    token permutation and uneven expert loads; fitted per serving stack, 1 for profiles."""
    latency_tail_frac: float = 1.0
    """Steady-state (mean) latency / the tail latency a serving target bounds (p95, p99) under
    Poisson arrivals: a limit L is met when the model's TTFT and TPOT are below L x this
    fraction. 1 treats a percentile target as a bound on the mean (no queueing headroom)."""
    ep_overlap_frac: float = 0.0
    """Share of the expert-parallel all-to-all time a serving engine hides behind compute by
    running two micro-batches alternately (DeepSeek's inference system, SGLang's two-batch
    overlap); 0 adds it in full. Set per stack from its documentation, not fitted."""
    chip_eta_frac: float = 1.0
    """Sustained share of the chip's datasheet compute in a serving stack relative to the
    stack's other chips (clocks held down by the power limit, kernels tuned per chip): a
    (chip, stack) calibration, fitted where a stack has rows on two or more chips; 1 elsewhere."""
    precision_eta_frac: Mapping[str, float] = field(default_factory=dict)
    """Serving compute efficiency in a precision relative to the stack's efficiency
    (``prefill.eta_max``), e.g. ``{"fp4": 0.6}``: block-scaled FP4 GEMMs reach a smaller share of
    their doubled peak than FP8 ones. A precision not listed keeps 1.0."""
    sources: Mapping[str, str] = field(default_factory=dict)
    """Parameter name -> where its value comes from."""
    device: HardwareSpec | None = None
    """For a profiled device that is not in the catalog (a CPU): its measured spec."""

    def __post_init__(self) -> None:
        _fraction(
            self,
            "decode_bw_frac",
            "intra_bw_frac",
            "inter_bw_frac",
            "train_load_frac",
            "infer_load_frac",
            "goodput_frac",
            "serving_memory_frac",
            "latency_tail_frac",
        )
        if not (isinstance(self.ep_overlap_frac, (int, float)) and 0.0 <= self.ep_overlap_frac <= 1.0):
            raise InputError("ep_overlap_frac", f"must be a fraction in [0, 1], got {self.ep_overlap_frac!r}")
        _positive(self, "moe_eta_frac", "attn_eta_frac", "chip_eta_frac")
        _positive(self, "decode_t0_s", "decode_t0_per_layer_s", "memory_constant_bytes", "intra_alpha_s", "inter_alpha_s",
                  "embedding_grad_passes", allow_zero=True)
        _positive(self, "memory_factor", "memory_activation_factor", "memory_logits_factor", "optimizer_bytes_factor")
        for prec, frac in self.precision_eta_frac.items():
            if prec not in BYTES_PER_ELEMENT:
                raise InputError(f"precision_eta_frac.{prec}", f"unknown precision; use one of {', '.join(PRECISIONS)}")
            if not (isinstance(frac, (int, float)) and 0 < frac <= 1.5):
                raise InputError(f"precision_eta_frac.{prec}", f"must be in (0, 1.5], got {frac!r}")

    def source(self, name: str) -> str:
        return self.sources.get(name, self.sources.get("*", "unspecified"))


# --------------------------------------------------------------------------------------------
# Serving stacks
# --------------------------------------------------------------------------------------------

MEMORY_OF = ("total", "free")
KV_RESERVE = ("average", "peak")


@dataclass(frozen=True, kw_only=True)
class StackSpec:
    """A serving stack: an engine and its version on a hardware platform (data/stacks/).

    With a chip and a precision it is what a published serving result was measured on; its
    fitted serving parameters are a :class:`Calibration` (``calibration``), keyed by stack and
    fitted on the rows of data/validation/serving_benchmarks.yaml.
    """

    name: str
    """Lowercase slug, e.g. ``vllm-rocm``."""
    display_name: str
    aliases: tuple[str, ...] = ()
    engine: str
    """The serving engine: TensorRT-LLM, vLLM, SGLang, TGI."""
    platform: str
    """The software platform it runs on: cuda, rocm, gaudi (SynapseAI), tpu."""
    vendors: tuple[str, ...]
    """Hardware vendors whose chips it runs on (``HardwareSpec.vendor``)."""
    kinds: tuple[str, ...] = ("gpu",)
    """Hardware kinds it runs on (``HardwareSpec.kind``)."""
    default_for: tuple[str, ...] = ()
    """Vendors for which it is the stack a hardware option gets when it names none."""
    versions: tuple[str, ...] = ()
    """Versions seen in its published rows (newest last)."""
    precisions: tuple[str, ...] = ()
    """Weight/compute precisions the engine serves."""
    memory_of: str = "total"
    """What ``serving_memory_frac`` is a fraction of: ``total`` accelerator memory (vLLM
    ``gpu_memory_utilization``) or the memory ``free`` after weights (TensorRT-LLM
    ``kv_cache_free_gpu_mem_fraction``, SGLang ``mem_fraction_static`` is total)."""
    max_batch: int = 256
    """Concurrent sequences per replica the engine schedules by default (per micro-batch with
    pipeline stages: TensorRT-LLM keeps one micro-batch per stage in flight)."""
    kv_reserve: str = "average"
    """Cache the scheduler holds per running sequence: ``average`` (pages allocated as the
    sequence grows, vLLM; TensorRT-LLM's MAX_UTILIZATION policy) or ``peak`` (its full input +
    output length reserved at admission, TensorRT-LLM's default GUARANTEED_NO_EVICT)."""
    prefill_chunk_tokens: int = 8192
    """Tokens one prefill forward batches together (max_num_batched_tokens / max_num_tokens)."""
    calibration: Mapping[str, Any] = field(default_factory=dict)
    """Fitted serving parameters (Calibration fields) over the shipped defaults."""
    chips: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per-chip calibration over ``calibration`` (chip name -> Calibration fields): the
    (chip, stack) part of the fit, e.g. ``{"mi325x": {"chip_eta_frac": 1.1}}``."""
    fit: Mapping[str, Any] = field(default_factory=dict)
    """Provenance of the fit: rows, chips, leave-one-out errors (written by the fit script)."""
    sources: Mapping[str, str] = field(default_factory=dict)
    notes: str = ""

    def __post_init__(self) -> None:
        if self.memory_of not in MEMORY_OF:
            raise InputError("memory_of", f"must be one of {', '.join(MEMORY_OF)}, got {self.memory_of!r}")
        if self.kv_reserve not in KV_RESERVE:
            raise InputError("kv_reserve", f"must be one of {', '.join(KV_RESERVE)}, got {self.kv_reserve!r}")
        _positive(self, "max_batch", "prefill_chunk_tokens")
        for prec in self.precisions:
            if prec not in BYTES_PER_ELEMENT:
                raise InputError("precisions", f"unknown precision {prec!r}; use one of {', '.join(PRECISIONS)}")
        known = {f.name for f in fields(Calibration)}
        unknown = set(self.calibration) - known
        if unknown:
            raise InputError(f"calibration.{sorted(unknown)[0]}", "not a Calibration field")
        for chip, over in self.chips.items():
            if not isinstance(over, Mapping):
                raise InputError(f"chips.{chip}", "must be a mapping of Calibration fields")
            unknown = set(over) - known
            if unknown:
                raise InputError(f"chips.{chip}.{sorted(unknown)[0]}", "not a Calibration field")

    def runs_on(self, hw: HardwareSpec) -> bool:
        """Whether this stack runs on the chip ``hw`` (its vendor and kind)."""
        return hw.vendor in self.vendors and hw.kind in self.kinds


@dataclass(frozen=True, kw_only=True)
class StackChoice:
    """The serving stack an estimate runs on, and the data its parameters rest on.

    Made by :func:`dcplan.calibrate.stacks.select_stack`; ``calibration`` is the merged
    calibration the model takes (shipped defaults, the chip's overrides, the stack's fit).
    """

    chip: str
    precision: str
    stack: str | None
    """Stack name, or None when no stack serves this chip (the pooled fallback)."""
    display_name: str
    engine: str
    version: str
    calibration: Calibration
    memory_of: str = "total"
    precisions: tuple[str, ...] = ()
    """Precisions the stack serves."""
    max_batch: int = 256
    kv_reserve: str = "average"
    prefill_chunk_tokens: int = 8192
    rows: int = 0
    """Published rows the stack's parameters were fitted on."""
    rows_on_chip: int = 0
    """Of which on this chip."""
    chips: tuple[str, ...] = ()
    """Chips the rows were measured on."""
    held_out: Mapping[str, Any] = field(default_factory=dict)
    """Held-out errors of the fit on its rows (method, n, failed, median_ape_pct, p90_ape_pct, bias_pct)."""
    fallback: bool = False
    """True when no stack has data for this chip and pooled parameters stand in."""
    warning: str | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.stack,
            "display_name": self.display_name,
            "engine": self.engine,
            "version": self.version,
            "chip": self.chip,
            "precision": self.precision,
            "calibration": self.calibration.name,
            "rows": self.rows,
            "rows_on_chip": self.rows_on_chip,
            "chips": list(self.chips),
            "held_out": dict(self.held_out),
            "fallback": self.fallback,
            "warning": self.warning,
            "source": self.source,
        }


# --------------------------------------------------------------------------------------------
# Energy and cost
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SiteParams:
    """Facility, electricity and money parameters used by energy and cost estimates."""

    pue: float = 1.25
    """Facility energy / IT energy."""
    usd_per_kwh: float = 0.0806
    """Electricity price [USD/kWh]."""
    grid_gco2_per_kwh: float = 475.0
    """Grid carbon intensity [gCO2e/kWh]."""
    server_power_ratio: float = 1.82
    """Server power / accelerator TDP when the catalog has no node power (host CPUs, NICs, fans)."""
    usd_per_accelerator_hour: float | None = None
    """Rental price; None uses the catalog's cloud price or owned capex."""
    depreciation_years: float = 5.0
    """Life of owned accelerators for amortisation [years]."""
    utilization_frac: float = 0.8
    """Share of owned hours that do paid work, for amortising owned capex."""
    sources: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _positive(self, "pue", "usd_per_kwh", "server_power_ratio", "depreciation_years")
        _positive(self, "grid_gco2_per_kwh", "usd_per_accelerator_hour", allow_zero=True)
        _fraction(self, "utilization_frac")
        if self.pue < 1:
            raise InputError("pue", f"must be >= 1 (facility energy includes IT energy), got {self.pue}")
        if self.server_power_ratio < 1:
            raise InputError("server_power_ratio", f"must be >= 1, got {self.server_power_ratio}")
