"""Frozen specifications every stage passes inward: hardware, model, layout, efficiency, site.

They are plain keyword-only dataclasses, validated in ``__post_init__`` (raising
:class:`~dcplan.errors.InputError` naming the field) and varied with ``dataclasses.replace``.
Parsing from YAML/JSON lives in :mod:`dcplan.io`; nothing here reads files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
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
SCHEDULES: tuple[str, ...] = ("1f1b", "1f1b-overlap", "dualpipe")


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


def _brief(text: str, limit: int = 160) -> str:
    """The first clause of a source text (outside brackets and quotes), at most ``limit`` characters."""
    depth, quoted = 0, False
    for i, ch in enumerate(text):
        if ch == "'" and (i == 0 or not text[i - 1].isalnum()) or ch == "'" and quoted:
            quoted = not quoted
        elif ch in "([" and not quoted:
            depth += 1
        elif ch in ")]" and not quoted:
            depth = max(0, depth - 1)
        elif ch in ";." and depth == 0 and not quoted and text[i + 1 : i + 2] in (" ", ""):
            text = text[:i]
            break
    head = text.strip()
    return head if len(head) <= limit else head[: limit - 3].rsplit(" ", 1)[0] + "..."


def _tflops(value: float) -> str:
    """A peak in TFLOP/s as people write it: 15,000 / 2,307 / 148 / 1.25."""
    t = value / 1e12
    return f"{t:,.0f}" if t >= 100 else f"{t:.3g}"


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
    inter_node_alpha_s: float | None = None
    """Scale-out latency per ring step of the fabric [s]; None uses the calibration's."""
    inter_node_bw_frac: float | None = None
    """Achieved fraction of scale-out bandwidth on this fabric; None uses the calibration's."""
    system: str | None = None
    """The system (node + fabric, ``data/systems``) this entry was resolved through; None for a
    bare chip, which means its default system (the node and fabric fields above)."""
    sources: tuple[SourceNote, ...] = ()
    notes: str = ""

    def __post_init__(self) -> None:
        _positive(self, "inter_node_alpha_s", allow_zero=True)
        _fraction(self, "inter_node_bw_frac")
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
        """Dense peak FLOP/s in ``precision``; an :class:`InputError` if none is published.

        The refusal says which precisions are published, their values, and where they come
        from (the catalog entry's source for ``peak_flops_per_s``), so a user can see that the
        figure is unknown rather than zero and where to look for it.
        """
        if precision in self.peak_flops_per_s:
            return float(self.peak_flops_per_s[precision])
        if precision in self.precisions_absent:
            have = ", ".join(p for p in PRECISIONS if p in self.peak_flops_per_s) or "none"
            raise InputError("precision", f"{self.name} has no {precision} matrix units (it computes in {have})")
        raise InputError("precision", self.missing_peak_message(precision))

    def missing_peak_message(self, precision: str) -> str:
        """Why ``precision`` cannot be estimated on this accelerator: what is published, and from where."""
        order = {p: i for i, p in enumerate(("fp64", *PRECISIONS))}
        known = ", ".join(
            f"{p} {_tflops(v)} TFLOP/s" for p, v in sorted(self.peak_flops_per_s.items(), key=lambda kv: order.get(kv[0], 99))
        )
        note = self.source_of("peak_flops_per_s")
        where = f"; source ({note.quality}): {_brief(note.source)}" if note else ""
        return (
            f"{self.name} has no published dense {precision} peak, so dcplan will not estimate in {precision}; "
            f"published: {known or 'none'}{where}; see `dcplan hardware show {self.name}`"
        )

    def require(self, name: str) -> float:
        """The value of a catalog field, or an InputError saying it is unknown for this entry."""
        value = getattr(self, name)
        if value is None:
            raise InputError(
                name,
                f"no published {name} for {self.name} in data/hardware/{self.name}.yaml, so it is not known "
                f"(`dcplan hardware show {self.name}` lists what is published and from where)",
            )
        return float(value)

    def source_of(self, name: str) -> SourceNote | None:
        for note in self.sources:
            if name in note.fields:
                return note
        return None


@dataclass(frozen=True, kw_only=True)
class SystemSpec:
    """A chip in a node on a fabric: what a training or serving cluster is built from.

    The same chip trains at different speeds on two fabrics (a DGX H100 with eight 400 Gb/s
    InfiniBand ports, an AWS p4d with 400 Gb/s of EFA for eight A100-40GB). A system names its
    chip; fields left out keep the chip's default-system values from ``data/hardware``.
    """

    name: str
    """Lowercase slug, e.g. ``dgx-h100``."""
    display_name: str
    aliases: tuple[str, ...] = ()
    chip: str
    """Catalog name of the accelerator (``data/hardware``)."""
    accelerators_per_node: int | None = None
    scale_up_domain: int | None = None
    """Accelerators sharing the scale-up fabric (NVLink domain)."""
    scale_up_bytes_per_s: float | None = None
    """Scale-up bandwidth per accelerator per direction [bytes/s]."""
    scale_out_bytes_per_s: float | None = None
    """Scale-out (network) bandwidth per accelerator per direction [bytes/s]."""
    scale_out_fabric: str = ""
    """infiniband | roce | efa | ... (what the bandwidth figure is)."""
    scale_out_alpha_s: float | None = None
    """Latency per ring step on the scale-out fabric [s]; None: the calibration's."""
    scale_out_bw_frac: float | None = None
    """Achieved fraction of scale-out bandwidth by collectives; None: the calibration's."""
    node_power_w: float | None = None
    """Maximum power of one node [W]."""
    cloud_usd_per_hour: float | None = None
    """Published rental price per accelerator-hour of this system [USD/h]."""
    sources: tuple[SourceNote, ...] = ()
    notes: str = ""

    def __post_init__(self) -> None:
        _positive(self, "accelerators_per_node", "scale_up_domain", "scale_up_bytes_per_s", "scale_out_bytes_per_s",
                  "node_power_w", "cloud_usd_per_hour")
        _positive(self, "scale_out_alpha_s", allow_zero=True)
        _fraction(self, "scale_out_bw_frac")

    def apply(self, chip: HardwareSpec) -> HardwareSpec:
        """``chip`` as it sits in this system: node shape and fabric replaced, name kept."""
        if chip.name != self.chip:
            raise InputError("hardware", f"system {self.name} is built from {self.chip}, not {chip.name}")
        given = {
            "accelerators_per_node": self.accelerators_per_node,
            "scale_up_domain": self.scale_up_domain,
            "intra_node_bytes_per_s": self.scale_up_bytes_per_s,
            "inter_node_bytes_per_s": self.scale_out_bytes_per_s,
            "inter_node_alpha_s": self.scale_out_alpha_s,
            "inter_node_bw_frac": self.scale_out_bw_frac,
            "node_power_w": self.node_power_w,
            "cloud_usd_per_hour": self.cloud_usd_per_hour,
        }
        changes = {k: v for k, v in given.items() if v is not None}
        notes = tuple(SourceNote(fields=tuple(_SYSTEM_FIELD.get(f, f) for f in n.fields), source=n.source, quality=n.quality)
                      for n in self.sources)
        # the chip's notes keep the fields the system does not replace (its peaks stay sourced)
        kept = tuple(replace(n, fields=tuple(f for f in n.fields if f not in changes))
                     for n in chip.sources if set(n.fields) - set(changes))
        return replace(chip, system=self.name, display_name=f"{chip.display_name} in {self.display_name}",
                       sources=kept + notes, **changes)


#: SystemSpec field -> the HardwareSpec field it sets.
_SYSTEM_FIELD = {
    "scale_up_bytes_per_s": "intra_node_bytes_per_s",
    "scale_out_bytes_per_s": "inter_node_bytes_per_s",
    "scale_out_alpha_s": "inter_node_alpha_s",
    "scale_out_bw_frac": "inter_node_bw_frac",
}


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
    """Layers that keep a dense FFN of size ``d_ff`` (DeepSeek-V3: the first 3; Qwen3-MoE: its
    ``mlp_only_layers``). Counts and FLOPs depend on how many, not where."""

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
ARCHITECTURES = ("decoder", "encoder-decoder", "encoder")


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """A Transformer architecture, as in its public config."""

    name: str
    display_name: str = ""
    aliases: tuple[str, ...] = ()
    family: str = ""
    architecture: str = "decoder"
    """decoder | encoder-decoder | encoder (encoder-only, bidirectional: BERT, Devlin et al. 2019)"""
    n_layers: int
    """Decoder layers (the only layers for a decoder-only model; the encoder's for an encoder-only one)."""
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
    qkv_bias: bool | None = None
    """The query/key/value projections carry biases; None: as ``bias`` (Qwen2: true, the rest false)."""
    mlp_bias: bool | None = None
    """The feed-forward projections carry biases; None: as ``bias`` (Llama's ``mlp_bias``)."""
    qk_norm: bool = False
    """An RMSNorm over each head's query and key (Qwen3, Gemma 3): 2 x head_dim weights per layer."""
    norms_per_layer: int | None = None
    """Norms per layer; None: 2 (3 in decoder layers with cross-attention). Gemma 2/3: 4
    (pre- and post-norms around attention and FFN); Falcon-7B: 1 (one norm before its parallel
    attention and MLP)."""
    relative_attention_buckets: int = 0
    """T5's relative position bias: a (buckets x heads) table in the first layer of each stack."""
    sliding_window: int | None = None
    """Local attention window [tokens] (Mistral 7B v0.1: 4096). Recorded from the config; the
    time and memory models do not use it yet (they count full attention and a full KV cache)."""
    sliding_window_layers: int | None = None
    """Layers that attend within ``sliding_window``; None: all of them (Gemma 2: every other
    layer, Gemma 3: five of every six)."""
    type_vocab_size: int = 0
    """Token-type (segment) embeddings added to the input (BERT: 2, RoBERTa: 1; 0: none)."""
    pooler: bool = False
    """BERT's pooler (a dense layer with bias over the first token), as ``BertModel`` builds it;
    ``*ForMaskedLM`` models build none (dcplan's catalog counts the masked-LM model)."""
    mlm_head: bool = False
    """A masked-LM head: a dense transform (d x d), an activation and a norm before the output
    layer (BERT's ``cls.predictions.transform``, ModernBERT's ``head``)."""
    mlm_head_bias: bool = True
    """The masked-LM transform's dense layer carries a bias (BERT, RoBERTa; ModernBERT's
    ``classifier_bias``: false)."""
    output_bias: bool = False
    """The output layer carries a bias over the vocabulary (BERT's ``cls.predictions.bias``,
    tied or not; ModernBERT's ``decoder_bias``)."""
    moe: MoESpec | None = None
    mla: MLASpec | None = None
    published_params: float | None = None
    published_active_params: float | None = None
    config_file: str = ""
    """The Hugging Face config.json this description was read from ('' when written out in
    YAML); catalog entries name it relative to data/models."""
    source: str = ""
    quality: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        _positive(self, "n_layers", "d_model", "n_heads", "d_ff", "vocab_size", "max_seq_len")
        _positive(self, "n_kv_heads", "head_dim", "published_params", "published_active_params")
        _positive(self, "n_encoder_layers", "relative_attention_buckets", "type_vocab_size", allow_zero=True)
        _positive(self, "norms_per_layer", "sliding_window", "sliding_window_layers")
        if self.sliding_window_layers is not None and self.sliding_window_layers > self.n_layers:
            raise InputError("sliding_window_layers", f"must be <= n_layers ({self.n_layers}), got {self.sliding_window_layers}")
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
        if self.moe is not None and self.moe.first_dense_layers >= self.n_layers:
            raise InputError("moe.first_dense_layers", f"must be < n_layers ({self.n_layers}), got {self.moe.first_dense_layers}")
        if self.architecture == "encoder-decoder" and self.n_encoder_layers <= 0:
            raise InputError("n_encoder_layers", "an encoder-decoder model needs n_encoder_layers > 0")
        if self.architecture == "encoder" and (self.n_encoder_layers or self.moe is not None or self.mla is not None):
            raise InputError("architecture", "an encoder-only model gives its layers as n_layers (n_encoder_layers 0) and has no "
                                             "moe or mla")

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads if self.n_kv_heads is not None else self.n_heads

    @property
    def is_encoder(self) -> bool:
        """Encoder-only (BERT-style): bidirectional attention, no generation."""
        return self.architecture == "encoder"

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

    @property
    def has_qkv_bias(self) -> bool:
        return self.bias if self.qkv_bias is None else self.qkv_bias

    @property
    def has_mlp_bias(self) -> bool:
        return self.bias if self.mlp_bias is None else self.mlp_bias


# --------------------------------------------------------------------------------------------
# Parallel layout
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ParallelLayout:
    """How one training job is split over accelerators (Megatron-Core conventions).

    accelerators = tp x pp x cp x dp. Expert parallelism is carved out of the ranks of a
    pipeline stage (ep divides tp x cp x dp; Megatron-Core's tp x cp x dp = etp x ep x edp), so it
    does not multiply the count.
    """

    tp: int = 1
    """Tensor-parallel size."""
    pp: int = 1
    """Pipeline stages."""
    dp: int = 1
    """Data-parallel replicas."""
    ep: int = 1
    """Expert-parallel size (divides tp x cp x dp)."""
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
    schedule: str = "1f1b"
    """Pipeline schedule: ``1f1b`` (interleaved with vpp > 1; expert all-to-all exposed),
    ``1f1b-overlap`` (Megatron-Core's 1F1B with expert all-to-all overlapped by another
    micro-batch's compute) or ``dualpipe`` (DeepSeek-V3 §3.2.1: bidirectional, all-to-all hidden,
    bubble (PP/2 − 1)(F&B + B − 3W), two copies of the parameters)."""

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise InputError("schedule", f"must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.schedule == "dualpipe" and (self.pp < 2 or self.pp % 2 or self.vpp != 1):
            raise InputError("schedule", f"dualpipe needs an even pp >= 2 and vpp = 1, got pp={self.pp} vpp={self.vpp}")
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
        if (self.tp * self.cp * self.dp) % self.ep:
            raise InputError("ep", f"must divide tp x cp x dp ({self.tp * self.cp * self.dp}): experts are sharded over the "
                                   f"ranks of one pipeline stage, got ep={self.ep}")

    @property
    def n_devices(self) -> int:
        return self.tp * self.pp * self.cp * self.dp

    @property
    def etp(self) -> int:
        """Expert tensor-parallel size: tp when the expert-parallel group fits in cp x dp
        (Megatron-Core's default --expert-tensor-parallel-size), else 1 (EP spans TP ranks)."""
        return self.tp if (self.cp * self.dp) % self.ep == 0 else 1

    @property
    def edp(self) -> int:
        """Expert data-parallel size: the ranks that hold the same experts and sync their
        gradients (tp x cp x dp = etp x ep x edp, Megatron-Core)."""
        return (self.tp * self.cp * self.dp) // (self.etp * self.ep)

    def as_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, kw_only=True)
class OverlapSpec:
    """Which communication a training step overlaps with compute.

    The defaults are what current Megatron-LM runs with its recommended flags
    (``--tp-comm-overlap --overlap-grad-reduce --overlap-param-gather``; asynchronous
    point-to-point in the interleaved schedule; Megatron-LM README "Performance
    optimizations"). Overlapped communication still costs the SMs it runs on
    (``Calibration.*_sm_frac``); what does not fit under the compute it overlaps is exposed.
    """

    tp_comm: bool = True
    """TP all-gather/reduce-scatter overlapped with the GEMMs around them (--tp-comm-overlap)."""
    grad_reduce: bool = True
    """Data-parallel gradient reduce in buckets during backward (--overlap-grad-reduce)."""
    param_gather: bool = True
    """Distributed-optimizer parameter all-gather during the next forward (--overlap-param-gather)."""
    pp_comm: bool = True
    """Pipeline sends/receives asynchronous, hidden behind the next micro-batch's compute."""

    def as_dict(self) -> dict[str, bool]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, kw_only=True)
class GradSync:
    """Bytes the data-parallel synchronisation moves per parameter element.

    The defaults are Megatron-LM's: gradients accumulate and are reduced in fp32 in bf16
    training (``megatron/training/arguments.py``: "bfloat16 requires gradient accumulation and
    all-reduce to be done in fp32" unless ``--grad-reduce-in-bf16``; torchtitan's default
    ``mixed_precision_reduce`` is float32 too), and parameters are gathered in their own
    precision.
    """

    grad_bytes: float = 4.0
    """Gradient element in the accumulation buffer and the reduce: 4 (fp32), 2 with a bf16 reduce."""
    param_gather_bytes: float | None = None
    """Parameter element in the distributed-optimizer or FSDP all-gather; None: the weights'
    bytes (2 in bf16 and fp8 runs), 1 with an FP8 parameter gather (``--fp8-param-gather``)."""

    def __post_init__(self) -> None:
        _positive(self, "grad_bytes", "param_gather_bytes")


ROUTINGS: tuple[str, ...] = ("balanced", "dropless", "capacity")


@dataclass(frozen=True, kw_only=True)
class MoERouting:
    """How tokens reach experts in training, which sets expert load and all-to-all bytes."""

    policy: str = "dropless"
    """``balanced`` (benchmarks that force-balance tokens: every expert gets the mean load),
    ``dropless`` (real routing, no token dropped: the most-loaded expert sets the time) or
    ``capacity`` (tokens beyond ``capacity_factor`` x mean dropped, compute padded to it)."""
    capacity_factor: float = 1.25
    """With ``capacity``: expert buffer / mean load (Switch Transformer, Fedus et al. 2022, §2.1)."""
    node_limit: int | None = None
    """Most nodes one token's experts may span (DeepSeek-V3 §3.2.2: M = 4); None: no limit."""
    dispatch_bytes: float | None = None
    """Bytes per element sent at dispatch; None: 1 (FP8 + 1/128 scales) in fp8 runs, else 2."""
    combine_bytes: float = 2.0
    """Bytes per element returned at combine (BF16 in DeepSeek-V3 §3.3.2)."""

    def __post_init__(self) -> None:
        if self.policy not in ROUTINGS:
            raise InputError("routing", f"must be one of {', '.join(ROUTINGS)}, got {self.policy!r}")
        _positive(self, "node_limit", "dispatch_bytes", "combine_bytes")
        if self.capacity_factor < 1:
            raise InputError("capacity_factor", f"must be >= 1, got {self.capacity_factor}")


@dataclass(frozen=True, kw_only=True)
class GlobalBatch:
    """A global batch as given: in sequences or in tokens (exactly one)."""

    sequences: int | None = None
    tokens: float | None = None

    def __post_init__(self) -> None:
        if (self.sequences is None) == (self.tokens is None):
            raise InputError("global_batch", "give it in sequences or in tokens, not both or neither")
        _positive(self, "sequences", "tokens")
        if self.sequences is not None and (not isinstance(self.sequences, int) or isinstance(self.sequences, bool)):
            raise InputError("global_batch", f"sequences must be a whole number, got {self.sequences!r}")

    def in_sequences(self, seq_len: int) -> int:
        """Sequences per step at ``seq_len``; tokens must make at least one whole sequence."""
        if self.sequences is not None:
            return self.sequences
        n = self.tokens / seq_len  # type: ignore[operator]
        if n < 1:
            raise InputError("global_batch", f"{self.tokens:g} tokens is less than one sequence of {seq_len} tokens")
        return max(1, round(n))

    def describe(self) -> str:
        return f"{self.sequences} sequences" if self.sequences is not None else f"{self.tokens:g} tokens"


_BATCH_UNITS = {"seq": "sequences", "seqs": "sequences", "sequences": "sequences", "tok": "tokens", "tokens": "tokens"}


def parse_global_batch(text: str | int | float) -> GlobalBatch:
    """``2048`` or ``2048seq`` -> sequences; ``16M``, ``4194304tok`` -> tokens.

    A bare whole number is sequences (Megatron's --global-batch-size); a number with a
    magnitude suffix (K, M, B...) or a ``tok`` suffix is tokens.
    """
    from dcplan.units import parse_quantity

    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return GlobalBatch(sequences=int(text)) if float(text).is_integer() else GlobalBatch(tokens=float(text))
    raw = str(text).strip()
    unit = None
    for suffix, name in sorted(_BATCH_UNITS.items(), key=lambda kv: -len(kv[0])):
        if raw.lower().endswith(suffix):
            unit, raw = name, raw[: -len(suffix)].strip()
            break
    try:
        value = parse_quantity(raw)
    except ValueError as exc:
        raise InputError("global_batch", f"{exc}; write sequences (2048, 2048seq) or tokens (16M, 4194304tok)") from None
    if unit is None:
        unit = "tokens" if raw and raw[-1].isalpha() else "sequences"
    if unit == "sequences":
        if value != int(value) or value < 1:
            raise InputError("global_batch", f"sequences must be a whole number >= 1, got {text!r}")
        return GlobalBatch(sequences=int(value))
    if value <= 0:
        raise InputError("global_batch", f"tokens must be > 0, got {text!r}")
    return GlobalBatch(tokens=value)


# --------------------------------------------------------------------------------------------
# Efficiency (what calibration produces and the model consumes)
# --------------------------------------------------------------------------------------------

# Collective defaults: the one place they are set (data/efficiency/defaults.yaml cites them and
# does not repeat them). Calculon (Isaev et al. SC'23), systems/a100_80g.json and
# h100_80g_nvl8.json: NVLink latency 1 us at efficiency 0.6 and processor usage 0.15;
# InfiniBand latency 2 us at efficiency 0.9 and processor usage 0.02.
NVLINK_ALPHA_S = 1.0e-6
NVLINK_BW_FRAC = 0.6
NVLINK_SM_FRAC = 0.15
NETWORK_ALPHA_S = 2.0e-6
NETWORK_BW_FRAC = 0.9
NETWORK_SM_FRAC = 0.02
#: DeepSeek-V3 technical report (arXiv:2412.19437) §3.2.1: 20 of the H800's 132 SMs run the
#: overlapped all-to-all (dispatch/combine) communication.
EP_OVERLAP_SM_FRAC = 20.0 / 132.0


@dataclass(frozen=True, kw_only=True)
class EfficiencyCurve:
    """eta(x) = eta_max * x / (x + x_half): a saturating efficiency in the work size x.

    The continuous form of Calculon's step table by operation size (Isaev et al. SC'23,
    calculon-ai/calculon). ``x`` is FLOPs for compute curves.

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
    host_overlap_frac: float = 0.0
    """Share of the smaller of device time and overhead (``t0_s`` + layers x ``t0_per_layer_s``,
    the host dispatching kernels) hidden behind the larger: 1 where the host queues kernels
    asynchronously and runs ahead of an accelerator (the step takes the longer of the two), 0
    where the same cores dispatch and compute (a CPU: the two add). See
    :func:`dcplan.model.launch.with_host`."""

    def __post_init__(self) -> None:
        _fraction(self, "eta_max")
        _positive(self, "x_half", "t0_s", "t0_per_layer_s", "act_passes", "host_overlap_frac", allow_zero=True)
        _positive(self, "exponent")
        if self.host_overlap_frac > 1:
            raise InputError("host_overlap_frac", f"must be a fraction in [0, 1], got {self.host_overlap_frac!r}")

    def eta(self, x: float) -> float:
        if x <= 0:
            return 0.0
        if self.exponent == 1.0:
            return self.eta_max * x / (x + self.x_half)
        return self.eta_max / (1.0 + (self.x_half / x) ** self.exponent)


@dataclass(frozen=True, kw_only=True)
class DispatchOverhead:
    """Host time to issue one decode step in one implementation (eager PyTorch, CUDA graphs).

    t_host = ``step_s`` + decoder layers x kernels per layer x ``kernel_s`` (kernels per layer
    counted from the architecture by :func:`dcplan.model.launch.kernels_per_layer`), combined
    with the device time by :func:`dcplan.model.launch.with_host`.
    """

    step_s: float = 0.0
    """Per step, whatever the depth: embedding, final norm, logits, sampling, the Python call [s]."""
    kernel_s: float = 0.0
    """Per kernel a layer launches: framework dispatch and launch on the host [s]."""
    host_overlap_frac: float = 1.0
    """Share of the smaller of host and device time hidden behind the larger (1: asynchronous
    accelerator, the step takes the longer; 0: a CPU, the two add)."""

    def __post_init__(self) -> None:
        _positive(self, "step_s", "kernel_s", "host_overlap_frac", allow_zero=True)
        if self.host_overlap_frac > 1:
            raise InputError("host_overlap_frac", f"must be a fraction in [0, 1], got {self.host_overlap_frac!r}")


#: Implementations a decode step can run in (a profile point's ``impl``; serving engines run
#: ``cuda-graphs``: the whole step is one captured graph launch).
DECODE_IMPLS: tuple[str, ...] = ("eager", "cuda-graphs")


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """Efficiency parameters of the performance model, with where each came from.

    The model takes one of these as an argument; calibration code produces them. Defaults ship
    in ``data/efficiency/defaults.yaml``; ``dcplan calibrate`` writes fitted ones.
    """

    name: str
    """``defaults`` or the profile it was fitted on."""
    implementation: str = ""
    """The software a profile-fitted calibration describes: ``native`` (dcplan's own eager PyTorch
    Transformer), ``hf eager`` (transformers models, eager), ``graphs`` (static KV cache with CUDA
    graphs); '' for the shipped defaults, which describe the published runs' own stacks."""
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
    decode_dispatch: Mapping[str, DispatchOverhead] = field(default_factory=dict)
    """Host dispatch overhead of a decode step per implementation (``eager``, ``cuda-graphs``),
    fitted on a profile's decode points of that implementation. An implementation without an
    entry falls back to ``decode_t0_s`` + layers x ``decode_t0_per_layer_s``, added to the
    device time (:func:`dcplan.model.launch.select_dispatch`)."""
    decode_impl: str = "cuda-graphs"
    """Implementation a decode estimate assumes when none is named: serving engines capture the
    step in CUDA graphs (vLLM, SGLang, TensorRT-LLM); a CPU profile's calibration says eager."""
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
    intra_alpha_s: float = NVLINK_ALPHA_S
    """Collective latency per step on the scale-up fabric [s]."""
    intra_bw_frac: float = NVLINK_BW_FRAC
    """Achieved fraction of scale-up bandwidth by collectives."""
    inter_alpha_s: float = NETWORK_ALPHA_S
    """Collective latency per step on the scale-out fabric [s]."""
    inter_bw_frac: float = NETWORK_BW_FRAC
    """Achieved fraction of scale-out bandwidth by collectives."""
    intra_sm_frac: float = NVLINK_SM_FRAC
    """Share of compute a scale-up collective takes while it overlaps compute (SMs it runs on)."""
    inter_sm_frac: float = NETWORK_SM_FRAC
    """Share of compute a scale-out collective takes while it overlaps compute."""
    ep_sm_frac: float = EP_OVERLAP_SM_FRAC
    """Share of SMs reserved for expert all-to-all when it is overlapped (1F1B overlap, DualPipe)."""
    train_fp8_eta_max: float | None = None
    """Train-step efficiency of FP8 GEMMs relative to the FP8 GEMM ceiling (its own fitted
    value: FP8 is not a free 2x); None: the BF16 ``train.eta_max`` is used, visibly."""
    moe_imbalance: float = 1.0
    """Most-loaded / mean tokens per expert-parallel rank under dropless routing."""
    batch_tokens_at_1e24: float = 4.45e6
    """Default global batch of a job of 1e24 training FLOPs [tokens] (median of published runs)."""
    batch_exponent: float = 0.3271
    """Growth of the default global batch with compute, B ∝ C^a (DeepSeek LLM batch-size law)."""
    train_load_frac: float = 0.75
    """Average accelerator power while training / TDP."""
    infer_load_frac: float = 0.75
    """Average accelerator power while serving / TDP."""
    goodput_frac: float = 0.9
    """Share of wall-clock time that advances training (failures, restarts, checkpoints) for a
    job of ``goodput_ref_accelerators`` accelerators; other sizes scale their interruptions with
    the count (:func:`dcplan.model.whole_run.goodput_at`)."""
    goodput_ref_accelerators: float = 16384.0
    """Job size at which ``goodput_frac`` was observed [accelerators]."""
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
            "train_fp8_eta_max",
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
        _positive(self, "intra_sm_frac", "inter_sm_frac", "ep_sm_frac", allow_zero=True)
        for name in ("intra_sm_frac", "inter_sm_frac", "ep_sm_frac"):
            if getattr(self, name) >= 1:
                raise InputError(name, f"must be below 1 (a share of the SMs), got {getattr(self, name)}")
        _positive(self, "batch_tokens_at_1e24", "batch_exponent", "goodput_ref_accelerators")
        if self.moe_imbalance < 1:
            raise InputError("moe_imbalance", f"must be >= 1 (most-loaded / mean), got {self.moe_imbalance}")

    def source(self, name: str) -> str:
        return self.sources.get(name, self.sources.get("*", "unspecified"))

    @property
    def label(self) -> str:
        """The calibration's name and the implementation it describes, as estimates and plans show it."""
        what = self.implementation or ("published runs' stacks" if self.name.startswith("defaults") else "")
        return self.name if (not what or self.name.endswith(f"({what})")) else f"{self.name} ({what})"


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
    """Facility and electricity parameters used by energy and cost estimates.

    No defaults here: the sourced values live in data/costs/defaults.yaml and reach the model
    through :func:`dcplan.io.site.default_site` (estimates) or the plan's cost defaults.
    """

    pue: float
    """Facility energy / IT energy."""
    usd_per_kwh: float
    """Electricity price [USD/kWh]."""
    grid_gco2_per_kwh: float
    """Grid carbon intensity [gCO2e/kWh]."""
    server_power_ratio: float
    """Server power / accelerator TDP when the catalog has no node power (host CPUs, NICs, fans)."""
    usd_per_accelerator_hour: float | None = None
    """Rental price; None uses the catalog's cloud price or owned capex."""
    sources: Mapping[str, str] = field(default_factory=dict)
    """Where each value comes from, by field name."""

    def __post_init__(self) -> None:
        _positive(self, "pue", "usd_per_kwh", "server_power_ratio")
        _positive(self, "grid_gco2_per_kwh", "usd_per_accelerator_hour", allow_zero=True)
        if self.pue < 1:
            raise InputError("pue", f"must be >= 1 (facility energy includes IT energy), got {self.pue}")
        if self.server_power_ratio < 1:
            raise InputError("server_power_ratio", f"must be >= 1, got {self.server_power_ratio}")
