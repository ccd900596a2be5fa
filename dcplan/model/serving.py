"""A serving replica's layout and what one of its accelerators holds, reads and computes.

A replica is ``tp x pp`` accelerators. Within a pipeline stage the tp accelerators either shard
attention by heads (Megatron tensor parallelism) or, with ``attention_dp``, each run attention
for their own sequences with a full copy of the attention weights (attention data parallelism,
the layout DeepSeek and SGLang use with MLA, whose latent KV cache cannot be split by heads).
Routed experts are spread over the tp accelerators: ``ep`` of them hold whole experts (expert
parallelism), each expert split ``tp/ep`` ways. Dense layers, shared experts, norms and
embeddings follow attention (sharded, or replicated under attention data parallelism), as in
DeepSeek's inference system ("MLA/Shared Expert DP, Routed Expert EP": deepseek-ai/
open-infra-index, 202502OpenSourceWeek day 6) and TensorRT-LLM's ``enable_attention_dp``.

A decode step advances every sequence of the replica by one token. With pp stages the batch is
split into pp micro-batches that keep every stage busy, so a stage reads its share of the
weights once per micro-batch (pp times a step) and the cache of its layers once. The routed
experts a step reads are those its tokens touch: with T tokens each choosing top_k of E experts
uniformly, an expert is idle with probability (1 - k/E)^T (the expected-value form of the
"experts activated per batch" count in MoE serving analyses; routing skew is not modelled).

Request lengths are a :class:`LengthMix`: shares of requests with a mean input and output
length. A sequence holds a decode slot for its output tokens while its cache grows from its
input length to input + output, so the cache a slot holds on average is
E[out·(in + out/2)] / E[out] tokens (each sequence weighted by the steps it is resident).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Mapping

from dcplan.errors import InputError
from dcplan.model import flops as F
from dcplan.model.memory import kv_bytes_per_token
from dcplan.model.params import ParamCounts, mlp_params
from dcplan.specs import BYTES_PER_ELEMENT, ModelSpec

#: Bytes per element of the token activations an expert-parallel dispatch sends: FP8 when the
#: model runs in 8 bits or fewer (DeepEP and DeepSeek's system dispatch in FP8), else 2;
#: the combine (weighted sum back) is always BF16 (DeepSeek day-6 overview).
COMBINE_BYTES = 2.0


@dataclass(frozen=True, kw_only=True)
class ServingLayout:
    """How one serving replica is split over accelerators."""

    tp: int = 1
    """Accelerators per pipeline stage (tensor-parallel size, or attention data-parallel width)."""
    pp: int = 1
    """Pipeline stages."""
    ep: int = 1
    """Expert-parallel size: the stage's accelerators that hold whole experts (divides tp)."""
    attention_dp: bool = False
    """Each of the tp accelerators runs attention for its own sequences (full attention weights)."""
    redundant_experts: int = 0
    """Extra copies of the busiest routed experts spread over the EP ranks (DeepSeek's EPLB: 32 in
    its prefill and decode deployments), so that ep divides experts + redundant_experts."""

    def __post_init__(self) -> None:
        for name in ("tp", "pp", "ep"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(name, f"must be a whole number >= 1, got {value!r}")
        r = self.redundant_experts
        if isinstance(r, bool) or not isinstance(r, int) or r < 0:
            raise InputError("redundant_experts", f"must be a whole number >= 0, got {r!r}")
        if r and self.ep <= 1:
            raise InputError("redundant_experts", "needs expert parallelism (ep > 1)")
        if self.tp % self.ep:
            raise InputError("ep", f"must divide tp ({self.tp}): experts are spread over the replica's accelerators, got {self.ep}")

    @property
    def devices(self) -> int:
        return self.tp * self.pp

    @property
    def attn_shards(self) -> int:
        """Ways attention (and dense layers) are split: tp, or 1 under attention data parallelism."""
        return 1 if self.attention_dp else self.tp

    @property
    def attn_groups(self) -> int:
        """Attention ranks that each serve their own sequences: tp under attention DP, else 1."""
        return self.tp if self.attention_dp else 1

    def label(self) -> str:
        parts = [f"tp={self.tp}"]
        if self.pp > 1:
            parts.append(f"pp={self.pp}")
        if self.ep > 1:
            parts.append(f"ep={self.ep}")
        if self.attention_dp:
            parts.append("attention-dp")
        return " ".join(parts)


def check_layout(m: ModelSpec, lay: ServingLayout) -> None:
    """InputError naming the layout field that ``m`` cannot be served with."""
    if not lay.attention_dp and m.n_heads % lay.tp:
        raise InputError("tp", f"must divide the {m.n_heads} attention heads of {m.name}, got {lay.tp}")
    if lay.ep > 1:
        if m.moe is None:
            raise InputError("ep", f"expert parallelism needs a mixture-of-experts model; {m.name} has no experts (use ep=1)")
        slots = m.moe.n_experts + lay.redundant_experts
        if slots % lay.ep:
            extra = f" + {lay.redundant_experts} redundant" if lay.redundant_experts else ""
            raise InputError("ep", f"must divide the {m.moe.n_experts}{extra} routed experts of {m.name}, got {lay.ep}")
    if lay.pp > m.n_layers:
        raise InputError("pp", f"must be at most the {m.n_layers} layers of {m.name}, got {lay.pp}")


# --------------------------------------------------------------------------------------------
# Request lengths
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LengthMix:
    """A distribution of request lengths: (share of requests, input tokens, output tokens) cells."""

    cells: tuple[tuple[float, float, float], ...]

    def __post_init__(self) -> None:
        if not self.cells:
            raise InputError("lengths", "needs at least one (share, input, output) cell")
        for w, i, o in self.cells:
            if not (w > 0 and i > 0 and o > 0 and all(math.isfinite(x) for x in (w, i, o))):
                raise InputError("lengths", f"shares and lengths must be finite and > 0, got {(w, i, o)}")

    @classmethod
    def fixed(cls, input_len: float, output_len: float) -> LengthMix:
        return cls(((1.0, float(input_len), float(output_len)),))

    @property
    def _total(self) -> float:
        return sum(w for w, _, _ in self.cells)

    @property
    def mean_input(self) -> float:
        return sum(w * i for w, i, _ in self.cells) / self._total

    @property
    def mean_output(self) -> float:
        return sum(w * o for w, _, o in self.cells) / self._total

    @property
    def decode_context(self) -> float:
        """Cache tokens a decode slot holds on average: E[out·(in + out/2)] / E[out]."""
        return sum(w * o * (i + o / 2.0) for w, i, o in self.cells) / sum(w * o for w, _, o in self.cells)

    @property
    def reserved_context(self) -> float:
        """Cache tokens a slot holds when each sequence reserves its full length: E[out·(in + out)] / E[out]."""
        return sum(w * o * (i + o) for w, i, o in self.cells) / sum(w * o for w, _, o in self.cells)

    @property
    def max_context(self) -> float:
        return max(i + o for _, i, o in self.cells)

    def rescaled(self, output_mean: float, max_output: float | None = None) -> LengthMix:
        """The same mix with outputs scaled so their mean is ``output_mean`` after capping each at ``max_output``."""
        cap = max_output if max_output else math.inf
        scale = output_mean / self.mean_output
        mix = self
        for _ in range(200):  # capping makes the mean concave in the scale: a fixed-point iteration
            mix = LengthMix(tuple((w, i, min(o * scale, cap)) for w, i, o in self.cells))
            if abs(mix.mean_output - output_mean) <= 1e-6 * output_mean or mix.mean_output >= cap * (1 - 1e-9):
                break
            scale *= output_mean / mix.mean_output
        return mix

    def is_fixed(self) -> bool:
        return len(self.cells) == 1


# --------------------------------------------------------------------------------------------
# What one accelerator holds and reads
# --------------------------------------------------------------------------------------------


def _dense_params(counts: ParamCounts) -> float:
    """Parameters that follow attention: everything but the routed experts."""
    return counts.total - counts.experts_routed


def weights_per_device(counts: ParamCounts, lay: ServingLayout, precision: str, n_experts: int = 0) -> float:
    """Weight bytes one accelerator of the replica holds [bytes]; redundant expert copies
    (``lay.redundant_experts`` over the model's ``n_experts``) add their share."""
    elem = BYTES_PER_ELEMENT[precision]
    routed = counts.experts_routed
    if lay.redundant_experts and n_experts > 0:
        routed *= 1.0 + lay.redundant_experts / n_experts
    per_stage = _dense_params(counts) / lay.attn_shards + routed / lay.tp
    return per_stage / lay.pp * elem


def experts_touched_frac(m: ModelSpec, tokens: float) -> float:
    """Expected share of routed experts that ``tokens`` tokens activate (uniform top-k routing)."""
    if m.moe is None:
        return 1.0
    k, e = m.moe.top_k, m.moe.n_experts
    return 1.0 - (1.0 - k / e) ** max(tokens, 0.0)


def kv_bytes_per_token_device(m: ModelSpec, kv_precision: str, lay: ServingLayout) -> float:
    """KV-cache bytes one token of one sequence takes on an accelerator that serves it [bytes]."""
    return kv_bytes_per_token(m, kv_precision, lay.attn_shards) / lay.pp


def decode_attention_flops_per_token(m: ModelSpec, context_len: float) -> float:
    """Attention-core FLOPs to decode one token against ``context_len`` cached tokens, all layers [FLOP].

    Multi-head attention: 2·a·c·(d_qk + d_v) per layer (QK^T and AV). MLA decodes in the latent
    space: the key up-projection is absorbed into the query and the value up-projection into the
    output (DeepSeek-V2, arXiv:2405.04434 §2.1.2; FlashMLA), so each of the a heads scores
    (kv_lora_rank + rope) dims and reads kv_lora_rank values per cached token:
    2·a·c·(2·kv_lora_rank + qk_rope_head_dim) per layer, about 3.4x the MHA count for DeepSeek-V3.
    """
    if m.mla is None:
        return F.attn_core_flops_per_token(m, context_len, causal=False) * m.n_layers
    per_layer = 2.0 * m.n_heads * context_len * (2 * m.mla.kv_lora_rank + m.mla.qk_rope_head_dim)
    return per_layer * m.n_layers


def _routed_flops_per_token(m: ModelSpec) -> float:
    if m.moe is None:
        return 0.0
    mats = 3 if m.gated else 2
    return 2.0 * mats * m.d_model * m.moe.d_ff_expert * m.moe.top_k * (m.n_layers - m.moe.first_dense_layers)


def attention_precision(hw_peaks: Mapping[str, float], precision: str, kv_precision: str) -> str:
    """Precision the attention core (QK^T, AV) computes in.

    Engines run attention in the cache's precision where the chip has matrix units for it
    (TensorRT-LLM's FP8 context FMHA with an FP8 cache), never below 8 bits, else in 16 bits;
    the weight GEMMs run in the weights' precision (FP4 on Blackwell).
    """
    for cand in (kv_precision, "bf16", "fp16", precision):
        if cand in hw_peaks and BYTES_PER_ELEMENT[cand] >= 1.0 and BYTES_PER_ELEMENT[cand] <= max(BYTES_PER_ELEMENT[precision], 2.0):
            return cand
    return precision


@dataclass(frozen=True, kw_only=True)
class DecodeWork:
    """What one accelerator does in one decode step of the replica (every sequence +1 token)."""

    weight_bytes: float
    """Weight bytes read (the stage's share, once per micro-batch) [bytes]."""
    kv_bytes: float
    """KV-cache bytes read [bytes]."""
    dense_flops: float
    """FLOPs of the GEMMs that follow attention (projections, dense and shared FFNs, logits) [FLOP]."""
    routed_flops: float
    """FLOPs of the routed-expert GEMMs [FLOP]."""
    attn_flops: float
    """Attention-core FLOPs (QK^T, AV over the cache) [FLOP]."""
    gemm_flops: float
    """FLOPs of the largest dense per-layer GEMM of one micro-batch (the efficiency curves' x) [FLOP]."""
    expert_gemm_flops: float
    """FLOPs of one expert's GEMM of one micro-batch (the x of the routed work) [FLOP]."""
    experts_touched_frac: float

    @property
    def flops(self) -> float:
        """Weight-GEMM FLOPs, dense and routed [FLOP]."""
        return self.dense_flops + self.routed_flops


def decode_work(
    m: ModelSpec,
    counts: ParamCounts,
    lay: ServingLayout,
    *,
    batch: float,
    context_len: float,
    precision: str,
    kv_precision: str,
) -> DecodeWork:
    """Bytes and FLOPs of one decode step of ``batch`` sequences at ``context_len`` on one accelerator."""
    elem = BYTES_PER_ELEMENT[precision]
    micro = batch / lay.pp
    touched = experts_touched_frac(m, micro)
    stage_dense = _dense_params(counts) / lay.attn_shards / lay.pp
    stage_routed = counts.experts_routed * touched / lay.tp / lay.pp
    weight_bytes = lay.pp * (stage_dense + stage_routed) * elem
    seqs = batch / lay.attn_groups
    kv = seqs * context_len * kv_bytes_per_token_device(m, kv_precision, lay)
    per_token = F.forward_flops_per_token(m, context_len, causal=False)
    routed = _routed_flops_per_token(m)
    dense_flops = seqs * (per_token.total - per_token.attn_core - routed) / lay.attn_shards
    routed_flops = batch * routed / lay.tp
    attn = seqs * decode_attention_flops_per_token(m, context_len) / lay.attn_shards / lay.pp
    return DecodeWork(weight_bytes=weight_bytes, kv_bytes=kv, dense_flops=dense_flops / lay.pp, routed_flops=routed_flops / lay.pp,
                      attn_flops=attn, gemm_flops=dense_gemm_flops(m, micro / lay.attn_groups, lay.attn_shards),
                      expert_gemm_flops=expert_gemm_flops(m, lay, micro), experts_touched_frac=touched)


def _dense_width(m: ModelSpec) -> float:
    """Output width of the widest dense GEMM of a layer: the FFN, or (MoE) the shared experts, at least d_model."""
    if m.moe is None:
        return float(max(m.d_ff, m.d_model))
    shared = m.moe.d_ff_expert * m.moe.n_shared_experts
    dense = m.d_ff if m.moe.first_dense_layers else 0
    return float(max(shared, dense, m.d_model))


def dense_gemm_flops(m: ModelSpec, tokens: float, shards: int) -> float:
    """FLOPs of the largest dense GEMM one accelerator runs for ``tokens`` tokens [FLOP].

    For a dense model the FFN up-projection, as :func:`dcplan.model.flops.largest_layer_gemm_flops`.
    """
    return 2.0 * tokens * m.d_model * _dense_width(m) / shards


def expert_gemm_flops(m: ModelSpec, lay: ServingLayout, tokens: float) -> float:
    """FLOPs of one routed expert's up-projection for ``tokens`` replica tokens: every expert gets
    tokens·top_k/E of them (uniform routing), and is split tp/ep ways [FLOP]."""
    if m.moe is None:
        return 0.0
    per_expert = tokens * m.moe.top_k / m.moe.n_experts
    return 2.0 * per_expert * m.d_model * m.moe.d_ff_expert * lay.ep / lay.tp


@dataclass(frozen=True, kw_only=True)
class PrefillWork:
    """What one accelerator does to prefill a chunk of prompts."""

    weight_bytes: float
    dense_flops: float
    """Dense weight-GEMM FLOPs [FLOP]."""
    routed_flops: float
    """Routed-expert GEMM FLOPs [FLOP]."""
    attn_flops: float
    """Attention-core FLOPs under the causal mask [FLOP]."""
    gemm_flops: float
    expert_gemm_flops: float
    tokens: float
    all_flops: float
    """Every FLOP of the chunk on one accelerator (dense + routed + attention) [FLOP]."""

    @property
    def flops(self) -> float:
        return self.dense_flops + self.routed_flops


def prefill_work(m: ModelSpec, counts: ParamCounts, lay: ServingLayout, *, batch: float, prompt_len: float,
                 precision: str) -> PrefillWork:
    """Bytes and FLOPs of prefilling ``batch`` prompts of ``prompt_len`` tokens, per accelerator.

    The chunk's tokens pass every stage once, so each accelerator reads its weights once (a
    prompt of more than a few tokens touches every expert); the work is shared by all of the
    replica's accelerators.
    """
    tokens = batch * prompt_len
    touched = experts_touched_frac(m, tokens)
    stage = (_dense_params(counts) / lay.attn_shards + counts.experts_routed * touched / lay.tp) / lay.pp
    total = F.prefill_flops(m, batch, prompt_len)
    attn = batch * prompt_len * F.forward_flops_per_token(m, prompt_len, causal=True).attn_core
    routed = tokens * _routed_flops_per_token(m)
    return PrefillWork(weight_bytes=stage * BYTES_PER_ELEMENT[precision], dense_flops=(total - attn - routed) / lay.devices,
                       routed_flops=routed / lay.devices, attn_flops=attn / lay.devices,
                       gemm_flops=dense_gemm_flops(m, tokens / lay.attn_groups, lay.attn_shards),
                       expert_gemm_flops=expert_gemm_flops(m, lay, tokens), tokens=tokens, all_flops=total / lay.devices)


def dispatch_bytes_per_element(precision: str) -> float:
    return 1.0 if BYTES_PER_ELEMENT[precision] <= 1.0 else 2.0


def ep_messages(m: ModelSpec, lay: ServingLayout, tokens: float, precision: str) -> tuple[float, float]:
    """(dispatch, combine) bytes each accelerator sends per MoE layer for ``tokens`` replica tokens."""
    if m.moe is None or lay.ep <= 1:
        return 0.0, 0.0
    per_device = tokens / lay.tp * m.moe.top_k * m.d_model
    return per_device * dispatch_bytes_per_element(precision), per_device * COMBINE_BYTES


def ep_all_to_all_s(message_bytes: float, n: int, link) -> float:
    """Seconds for one expert-parallel dispatch or combine of ``message_bytes`` per rank over n ranks.

    DeepEP-style kernels write to every peer at once (RDMA and NVLink puts), so the start-up
    latency is paid once per all-to-all, not once per peer as in a ring: alpha + (n-1)/n · bytes
    / bandwidth. Against DeepEP's published low-latency kernels (github.com/deepseek-ai/DeepEP
    README, H800 with 400 Gb/s CX7, 128 tokens, hidden 7168, top-8): EP 128 dispatch (FP8) 192 us
    and combine (BF16) 369 us; this formula gives 164 us and 326 us with the shipped 2 us
    scale-out alpha and 0.9 of the 50 GB/s (derived): 12-15% faster than measured.
    """
    if n <= 1 or message_bytes <= 0:
        return 0.0
    return link.alpha_s + (n - 1) / n * message_bytes / (link.bw_frac * link.bytes_per_s)


def moe_layers(m: ModelSpec) -> int:
    return 0 if m.moe is None else m.n_layers - m.moe.first_dense_layers


def one_expert_params(m: ModelSpec) -> float:
    return mlp_params(m, m.moe.d_ff_expert) if m.moe is not None else 0.0


def with_tp(lay: ServingLayout, tp: int) -> ServingLayout:
    return replace(lay, tp=tp)
