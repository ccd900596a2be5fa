"""Each term of the training step breakdown against a hand calculation.

A made-up accelerator with round numbers and a calibration whose efficiencies are 1 (or a
stated value) make every term computable by hand; breaking one term in dcplan.model.train_time
fails the test that names it.
"""

from dataclasses import replace

import pytest

from dcplan.model import flops as F
from dcplan.model.params import count_params
from dcplan.model.train_time import ADAM_UPDATE_BYTES_PER_PARAM, FP8_CAST_BYTES, train_step_time
from dcplan.specs import Calibration, EfficiencyCurve, GradSync, HardwareSpec, ModelSpec, MoERouting, MoESpec, OverlapSpec, ParallelLayout

PEAK = 1e15
BW = 2e12
NVL = 4e11
NET = 5e10
NO_OVERLAP = OverlapSpec(tp_comm=False, grad_reduce=False, param_gather=False, pp_comm=False)
S, MB = 2048, 1


def hw() -> HardwareSpec:
    return HardwareSpec(name="t", display_name="t", peak_flops_per_s={"bf16": PEAK, "fp8": 2 * PEAK}, hbm_bytes=80e9,
                        hbm_bytes_per_s=BW, intra_node_bytes_per_s=NVL, inter_node_bytes_per_s=NET,
                        accelerators_per_node=8, scale_up_domain=8)


def cal(**kw) -> Calibration:
    one = EfficiencyCurve(eta_max=1.0, x_half=0.0)
    base = Calibration(name="t", gemm=one, train=EfficiencyCurve(eta_max=0.5, x_half=0.0), prefill=one, decode_bw_frac=1.0,
                       decode_t0_s=0.0, intra_alpha_s=0.0, inter_alpha_s=0.0, intra_bw_frac=1.0, inter_bw_frac=1.0,
                       intra_sm_frac=0.0, inter_sm_frac=0.0, ep_sm_frac=0.0, train_fp8_eta_max=0.25)
    return replace(base, **kw)


def dense(L=4) -> ModelSpec:
    return ModelSpec(name="d", n_layers=L, d_model=1024, n_heads=8, d_ff=4096, vocab_size=1000, activation="gelu",
                     position="rope", norm="rmsnorm", tied_embeddings=False)


def moe() -> ModelSpec:
    return replace(dense(), name="m", moe=MoESpec(n_experts=8, top_k=2, d_ff_expert=1024))


def step(m, lay, *, gb=8, precision="bf16", c=None, overlap=NO_OVERLAP, routing=None):
    return train_step_time(m, count_params(m), hw(), c or cal(), lay, seq_len=S, global_batch=gb, precision=precision,
                           overlap=overlap, routing=routing)


def test_compute_term_is_flops_over_peak_times_eta():
    m, lay = dense(), ParallelLayout(recompute="none")
    t = step(m, lay)
    flops = F.hardware_flops_per_token(m, S, "none") * S * MB
    assert t.compute_s == pytest.approx(8 * flops / (PEAK * 0.5))
    assert t.nonmatmul_s == 0 and t.tp_comm_s == 0 and t.bubble_s == 0


def test_fp8_runs_linear_layers_at_fp8_peak_and_attention_in_bf16():
    m, lay = dense(), ParallelLayout(recompute="none")
    split = F.train_flops_split(m, S, "none")
    t = step(m, lay, precision="fp8", gb=1)
    hand = split.low_precision * S / (2 * PEAK * 0.25) + (split.high_precision + split.logits) * S / (PEAK * 0.5)
    assert t.compute_s == pytest.approx(hand)
    # plus the casts: 2 x 3 bytes per GEMM input element per layer
    inputs = 3 * 1024 + 8 * 128 + 4096
    assert t.nonmatmul_s == pytest.approx(2 * FP8_CAST_BYTES * inputs * S * 4 / BW)


def test_nonmatmul_term_is_act_passes_times_activation_bytes_over_bandwidth():
    from dcplan.model.memory import activation_traffic_bytes

    m, lay = dense(), ParallelLayout(recompute="none")
    t = step(m, lay, gb=1, c=cal(train=EfficiencyCurve(eta_max=0.5, x_half=0.0, act_passes=3.0)))
    act = activation_traffic_bytes(m, S, MB, layers=4, precision="bf16")
    assert t.nonmatmul_s == pytest.approx(3.0 * act / BW)


def test_pipeline_bubble_1f1b_and_interleaved():
    # Narayanan et al. 2021 §2.2: (p - 1)/v micro-batch times
    m = dense(L=8)
    # a stage's micro-batch time includes its exposed pipeline sends
    t1 = step(m, ParallelLayout(pp=4, recompute="none"), gb=8)
    per_mb = (t1.compute_s + t1.nonmatmul_s + t1.pp_comm_s) / t1.n_microbatches
    assert t1.bubble_s == pytest.approx(3 * per_mb)
    t2 = step(m, ParallelLayout(pp=4, vpp=2, recompute="none"), gb=8)
    assert t2.bubble_s == pytest.approx(1.5 * (t2.compute_s + t2.nonmatmul_s + t2.pp_comm_s) / t2.n_microbatches)


def test_dualpipe_bubble_formula():
    # DualPipe README: (PP/2 - 1)(F&B + B - 3W); F = 1/3, B = 2/3, W = 1/3 of a micro-batch, F&B = F + B
    m = moe()
    t = step(m, ParallelLayout(pp=4, ep=1, recompute="none", schedule="dualpipe"), gb=8)
    per_mb = (t.compute_s + t.nonmatmul_s + t.pp_comm_s) / t.n_microbatches
    assert t.bubble_s == pytest.approx((4 / 2 - 1) * (1 / 3 + 2 / 3 + 2 / 3 - 1) * per_mb)


def test_tp_all_reduce_four_per_layer():
    # 4 all-reduces of s·b·h·2 bytes per layer (2 forward, 2 backward), ring factor 2(n-1)/n
    m = dense()
    t = step(m, ParallelLayout(tp=2, recompute="none"), gb=2)
    msg = S * MB * 1024 * 2.0
    assert t.tp_comm_s == pytest.approx(2 * 4 * 4 * (2 * (2 - 1) / 2) * msg / NVL)


def test_tp_full_recompute_adds_two_all_reduces():
    m = dense()
    t = step(m, ParallelLayout(tp=2, recompute="full"), gb=1)
    msg = S * MB * 1024 * 2.0
    assert t.tp_comm_s == pytest.approx(4 * 6 * 1.0 * msg / NVL)


def test_tp_overlap_hides_under_gemms_and_taxes_them():
    m = dense()
    lay = ParallelLayout(tp=2, recompute="none")
    exposed = step(m, lay, gb=1)
    c = cal(intra_sm_frac=0.1)
    over = step(m, lay, gb=1, c=c, overlap=OverlapSpec(grad_reduce=False, param_gather=False, pp_comm=False))
    t_tp = exposed.tp_comm_s
    split = F.train_flops_split(m, S, "none")
    window = (split.low_precision + split.experts) * S / 2 / (PEAK * 0.5)  # the linear GEMMs of one micro-batch
    assert over.tp_comm_s == pytest.approx(max(0.0, t_tp - window))
    assert over.overlap_tax_s == pytest.approx(0.1 * min(t_tp, window))
    assert over.hidden_comm_s == pytest.approx(min(t_tp, window))


def test_dp_all_reduce_zero0_and_reduce_scatter_with_distributed_optimizer():
    m = dense()
    params = count_params(m).total
    # gradients reduced in fp32 (Megatron-LM's default for bf16 training): 4 bytes per element
    t0 = step(m, ParallelLayout(dp=2, zero=0, recompute="none"), gb=2)
    assert t0.dp_comm_exposed_s == pytest.approx(2 * (2 - 1) / 2 * params * 4.0 / NVL)
    # ZeRO-1: reduce-scatter fp32 gradients + all-gather bf16 weights, (n-1)/n each
    t1 = step(m, ParallelLayout(dp=2, zero=1, recompute="none"), gb=2)
    assert t1.dp_comm_exposed_s == pytest.approx((2 - 1) / 2 * params * (4.0 + 2.0) / NVL)


def test_grad_sync_bytes_follow_the_published_setting():
    # a bf16 reduce and an FP8 parameter gather (MLPerf GPT-3 on Eos: grad_sync_dtype bf16,
    # fp8_params) move 2 + 1 bytes per parameter instead of 4 + 2
    m = dense()
    params = count_params(m).total
    lay = ParallelLayout(dp=2, zero=1, recompute="none")
    t = train_step_time(m, count_params(m), hw(), cal(), lay, seq_len=S, global_batch=2, precision="bf16",
                        overlap=NO_OVERLAP, grad_sync=GradSync(grad_bytes=2.0, param_gather_bytes=1.0))
    assert t.dp_comm_exposed_s == pytest.approx((2 - 1) / 2 * params * (2.0 + 1.0) / NVL)


def test_dp_overlapped_with_last_backward():
    m = dense()
    lay = ParallelLayout(dp=2, zero=0, recompute="none")
    t = step(m, lay, gb=2, overlap=OverlapSpec(tp_comm=False, pp_comm=False))
    t_ar = step(m, lay, gb=2).dp_comm_exposed_s
    mb = (t.compute_s + t.nonmatmul_s) / t.n_microbatches
    assert t.dp_comm_exposed_s == pytest.approx(max(0.0, t_ar - 2 / 3 * mb))


def test_optimizer_is_adam_bytes_over_bandwidth():
    m = dense()
    shard = count_params(m).total / 2
    t = step(m, ParallelLayout(dp=2, zero=1, recompute="none"), gb=2)
    assert t.optimizer_s == pytest.approx(shard * ADAM_UPDATE_BYTES_PER_PARAM / BW)


def test_pp_send_recv_when_not_overlapped():
    m = dense(L=8)
    t = step(m, ParallelLayout(pp=2, recompute="none", sequence_parallel=False), gb=2)
    msg = S * MB * 1024 * 2.0
    assert t.pp_comm_s == pytest.approx(t.n_microbatches * 2 * msg / NVL)


def test_expert_all_to_all_in_node_by_routing():
    # ep = 2 in one node: each token sends top_k copies, (ep-1)/ep of them to the other rank,
    # dispatch and combine, forward and backward (4 per MoE layer), BF16
    m = moe()
    t = step(m, ParallelLayout(dp=2, ep=2, recompute="none"), gb=2, routing=MoERouting(policy="balanced"))
    one = 2 * (2 - 1) / 2 * S * MB * 1024 * 2.0 / NVL
    assert t.ep_comm_s == pytest.approx(t.n_microbatches * 4 * 4 * one)


def test_expert_all_to_all_fp8_dispatch_is_cheaper():
    m = moe()
    lay = ParallelLayout(dp=2, ep=2, recompute="none")
    bf16 = step(m, lay, gb=2, routing=MoERouting(policy="balanced", dispatch_bytes=2.0))
    fp8 = step(m, lay, gb=2, routing=MoERouting(policy="balanced", dispatch_bytes=1.0))
    assert fp8.ep_comm_s == pytest.approx(bf16.ep_comm_s * (1 + 2) / (2 + 2))


def test_node_limited_routing_caps_network_copies():
    # 16-way EP over 2 nodes of 8: without a limit top_k x (n-1)/n copies cross the network,
    # with DeepSeek-V3's node limit M at most M x (n-1)/n
    from dcplan.model.comm import remote_copies

    assert remote_copies(8, 2, None) == pytest.approx(4.0)
    assert remote_copies(8, 4, 4) == pytest.approx(3.0)
    assert remote_copies(8, 1, 4) == 0


def test_load_imbalance_scales_expert_work_only():
    m = moe()
    lay = ParallelLayout(recompute="none")
    even = step(m, lay, gb=1, routing=MoERouting(policy="balanced"))
    padded = step(m, lay, gb=1, routing=MoERouting(policy="capacity", capacity_factor=1.25))
    split = F.train_flops_split(m, S, "none")
    assert padded.compute_s - even.compute_s == pytest.approx(0.25 * split.experts * S / (PEAK * 0.5))


def test_context_parallel_hidden_behind_attention():
    m = dense()
    t = step(m, ParallelLayout(cp=2, recompute="none"), gb=1)
    kv = S / 2 * 2 * 8 * 128 * 2.0
    t_cp = 4 * 2 * (2 - 1) / 2 * kv / NVL
    split = F.train_flops_split(m, S, "none")
    attention = split.high_precision * S / 2 / (PEAK * 0.5)
    assert t.cp_comm_s == pytest.approx(max(0.0, t_cp - attention))


def test_ep_overlap_schedule_reserves_sms_as_a_tax():
    m = moe()
    lay = ParallelLayout(dp=2, ep=2, recompute="none", schedule="1f1b-overlap")
    t = step(m, lay, gb=2, c=cal(ep_sm_frac=0.2), routing=MoERouting(policy="balanced"))
    mb = (t.compute_s + t.nonmatmul_s) / t.n_microbatches
    assert t.overlap_tax_s == pytest.approx(t.n_microbatches * 0.2 / 0.8 * mb)
    assert t.ep_comm_s == 0


def test_overlapped_collectives_share_one_link():
    # TP and FSDP traffic on the same NVLink, each hidden under compute alone, cannot both be:
    # a micro-batch takes at least what its busiest link carries
    m = dense()
    slow = replace(hw(), intra_node_bytes_per_s=2e9)
    lay = ParallelLayout(tp=2, dp=2, zero=3, recompute="none")
    on = OverlapSpec(pp_comm=False)

    def run(overlap):
        return train_step_time(m, count_params(m), slow, cal(), lay, seq_len=S, global_batch=2, precision="bf16",
                               overlap=overlap)

    from dcplan.model.memory import params_on_device

    hidden, exposed = run(on), run(NO_OVERLAP)
    n = hidden.n_microbatches
    tp_total = exposed.tp_comm_s / n
    dense_params, _ = params_on_device(count_params(m), m, lay)
    # bf16 weights all-gathered twice, fp32 gradients reduce-scattered once, 2 ranks
    fsdp_total = (2 - 1) / 2 * dense_params * (2 * 2.0 + 4.0) / 2e9
    fsdp_hidden = fsdp_total - hidden.dp_comm_exposed_s / n
    stage = (hidden.compute_s + hidden.nonmatmul_s + hidden.tp_comm_s) / n  # no tax: sm fractions are 0
    assert hidden.link_busy_s == pytest.approx(n * max(0.0, tp_total + fsdp_hidden - stage))
    assert hidden.link_busy_s > 0
