"""Pipeline schedules: layers per stage, the bubble, and micro-batches in flight.

- 1F1B (Narayanan et al. 2021, arXiv:2104.04473, §2.2): the bubble is (p − 1) micro-batch
  times, divided by v with v interleaved model chunks per device (§2.2.2); the first stage keeps
  p micro-batches of activations in flight, stage k keeps p − k.
- Interleaved 1F1B memory: Megatron-LM ``theoretical_memory_usage.py`` multiplies the first
  stage's activations by 1 + (p − 1)/(p·v) (Korthikanti et al. 2022, arXiv:2205.05198, §4.2.3
  count the same schedule); a non-interleaved pipeline with m < p micro-batches keeps only m.
- DualPipe (DeepSeek-V3, arXiv:2412.19437, §3.2.1; github.com/deepseek-ai/DualPipe README):
  bubble (PP/2 − 1)(F&B + B − 3W), where F is a forward chunk, B a full backward chunk, W its
  weight-gradient part and F&B a forward and a backward chunk overlapped; parameters are kept
  twice and PP + 1 micro-batches of activations are in flight.
- Stage balance: layers are split as evenly as possible; the first stage, which holds the most
  activations, takes the remainder (Megatron-LM ``--decoder-first-pipeline-num-layers``; the
  Llama 3 paper, arXiv:2407.21783 §3.3.2, removes a layer from the first and last stages).
"""

from __future__ import annotations

import math

#: Shares of a micro-batch's compute by chunk in DualPipe's terms, from the 1 : 2 forward to
#: backward FLOPs of a Transformer (3 passes): F = 1/3, B = 2/3, W = 1/3.
F_SHARE, B_SHARE, W_SHARE = 1.0 / 3.0, 2.0 / 3.0, 1.0 / 3.0


def layers_per_stage(n_layers: int, pp: int) -> int:
    """Layers on the busiest stage: ceil(L/p)."""
    return math.ceil(n_layers / pp)


def first_stage_layers(n_layers: int, pp: int) -> int:
    """Layers on the first stage when it takes the remainder of an uneven split (at least 1)."""
    if pp == 1:
        return n_layers
    return max(1, n_layers - (pp - 1) * layers_per_stage(n_layers, pp))


def bubble_microbatches(pp: int, vpp: int, schedule: str) -> float:
    """Pipeline bubble in units of one micro-batch's stage time (forward + backward)."""
    if pp <= 1:
        return 0.0
    if schedule == "dualpipe":
        fb = F_SHARE + B_SHARE  # F&B: the pair computes F + B, its communication hidden
        return (pp / 2 - 1) * (fb + B_SHARE - 3 * W_SHARE)
    return (pp - 1) / vpp


def activation_layer_microbatches(n_layers: int, pp: int, vpp: int, n_microbatches: int, schedule: str) -> float:
    """Layer-micro-batches of activations held by the most-loaded stage.

    1F1B: max over stages k of (p − k)·layers_k (first stage p x its layers, the next p − 1 x
    a full stage), at most m micro-batches when m < p and not interleaved; interleaving
    multiplies by 1 + (p − 1)/(p·v); DualPipe holds p + 1 micro-batches.
    """
    if pp == 1:
        return float(n_layers)
    full = layers_per_stage(n_layers, pp)
    first = first_stage_layers(n_layers, pp)
    if schedule == "dualpipe":
        # each device holds a chunk of both directions: 2 x half-stage chunks, PP + 1 in flight
        return (pp + 1) * full
    in_flight = pp if vpp > 1 else min(pp, n_microbatches)
    worst = max(in_flight * first, (in_flight - 1) * full) if in_flight > 1 else float(max(first, full))
    if vpp > 1:
        worst *= 1 + (pp - 1) / (pp * vpp)
    return float(worst)
