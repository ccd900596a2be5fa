"""Host dispatch time of a step: kernels launched per layer, and how it combines with device time.

In eager PyTorch every operator of a layer is dispatched by the host (Python, the dispatcher,
the CUDA launch), tens of microseconds each; a decode step of a small model launches hundreds of
kernels that each run for a few microseconds, so the host, not the accelerator, sets its pace.
Serving engines capture the whole step in a CUDA graph and launch it once (vLLM, SGLang and
TensorRT-LLM do; PyTorch's ``torch.cuda.graphs`` documentation: "a graph's replay ... submits
the entire graph's work to the GPU with a single call to cudaGraphLaunch").

Host and device time combine as a p-norm, from their sum to the longer of the two
(:func:`with_host`):

- an accelerator runs the kernels the host queues asynchronously, so with nothing forcing a
  synchronisation inside the step the host runs ahead and the step takes the longer of the two
  (overlap 1, the shape measured on an H200: a 4-layer model decoded in 1.03 ms at batch 1 and
  at batch 64, where its bytes at full bandwidth take 0.04 and 0.48 ms);
- a CPU dispatches and computes on the same cores, so the two add (overlap 0).

Kernels per layer are counted from the architecture (:func:`kernels_per_layer`); view
operations (reshape of a contiguous tensor, transpose, chunk) launch nothing and are not counted.
"""

from __future__ import annotations

from dcplan.specs import Calibration, DispatchOverhead, ModelSpec

#: Kernels of one norm: LayerNorm and RMSNorm each run as one fused kernel in PyTorch's
#: ``nn.LayerNorm`` / ``nn.RMSNorm`` on CUDA (an unfused RMSNorm written out in Python, as many
#: model files do, launches about six: pow, mean, add, rsqrt, mul, mul).
NORM_KERNELS = 1
#: Kernels of rotary embeddings applied to q and k per layer (two products, a rotate-half of
#: slice/neg/cat and a sum, for each of q and k: about 10).
ROPE_KERNELS = 10


def kernels_per_layer(m: ModelSpec, *, cross_attention: bool = False, fused_kv: bool = True) -> int:
    """Kernels one decoder layer launches in one eager decode step.

    Self-attention: norm, q and kv projections (k and v separately with ``fused_kv`` False),
    two cache writes, the attention kernel, the copy that makes its output contiguous, the
    output projection and the residual add; rotary embeddings add :data:`ROPE_KERNELS`.
    Cross-attention (encoder-decoder): norm, q projection, attention over the encoder keys,
    the copy, output projection, add. MLP: norm, up (and gate, and the gate product), the
    activation, down, add. Biases are fused into the projections. An MoE layer adds the router
    GEMM, its top-k and softmax, and per routed expert the MLP's GEMMs.
    """
    attention = NORM_KERNELS + (2 if fused_kv else 3) + 2 + 1 + 1 + 1 + 1
    if m.position == "rope":
        attention += ROPE_KERNELS
    cross = NORM_KERNELS + 1 + 1 + 1 + 1 + 1 if cross_attention else 0
    gated = 2 if m.gated else 0
    mlp = NORM_KERNELS + 1 + gated + 1 + 1 + 1
    if m.moe is not None:
        per_expert = 2 + (1 if m.gated else 0)
        mlp += 3 + (m.moe.top_k + m.moe.n_shared_experts) * per_expert
    return attention + cross + mlp


def with_host(device_s: float, host_s: float, overlap_frac: float) -> float:
    """Step time from device time and host dispatch time [s].

    The p-norm (t_dev^p + t_host^p)^(1/p) with p = 1/(1 − overlap): overlap 0 adds the two
    (p = 1, a CPU), overlap 1 takes the longer (p → ∞, a host far ahead of or far behind the
    device), and in between the two only partly hide each other where they are alike (kernels
    of uneven length drain the host's queue now and then).
    """
    hi, lo = max(device_s, host_s), min(device_s, host_s)
    if hi <= 0 or lo <= 0 or overlap_frac >= 1:
        return hi if overlap_frac >= 1 else hi + lo
    p = 1.0 / (1.0 - overlap_frac)
    return hi * (1.0 + (lo / hi) ** p) ** (1.0 / p)


def select_dispatch(cal: Calibration, impl: str | None = None) -> tuple[str, DispatchOverhead | None]:
    """(implementation, its fitted dispatch overhead or None) for a decode step.

    ``impl`` None takes the calibration's default (``cal.decode_impl``). None as the overhead
    means the calibration has no fit for that implementation: the caller falls back to the
    additive ``decode_t0_s`` + layers x ``decode_t0_per_layer_s`` (shipped: 0, CUDA graphs).
    """
    name = impl or cal.decode_impl
    return name, cal.decode_dispatch.get(name)


def decode_host_s(m: ModelSpec, d: DispatchOverhead, *, layers: int | None = None, cross_attention: bool = False) -> float:
    """Host time of one decode step of ``m`` under dispatch overhead ``d`` [s]."""
    n = m.n_layers if layers is None else layers
    return d.step_s + n * kernels_per_layer(m, cross_attention=cross_attention) * d.kernel_s


def decode_overhead_s(m: ModelSpec, cal: Calibration, device_s: float, *, impl: str | None = None,
                      cross_attention: bool = False) -> float:
    """Seconds a decode step takes beyond its device time ``device_s`` [s].

    With a fitted dispatch overhead for the implementation: host time (plus the additive
    ``decode_t0_s`` + layers x ``decode_t0_per_layer_s``, 0 in a fit) combined by
    :func:`with_host`; without: the additive terms alone.
    """
    _, d = select_dispatch(cal, impl)
    extra = cal.decode_t0_s + m.n_layers * cal.decode_t0_per_layer_s
    if d is None:
        return extra
    # a calibration carried to another implementation (dcplan.calibrate.implementation) adds its
    # extra dispatch as decode_t0: host work, so it joins the host time (fits leave both at 0)
    host = decode_host_s(m, d, cross_attention=cross_attention) + extra
    return with_host(device_s, host, d.host_overlap_frac) - device_s
