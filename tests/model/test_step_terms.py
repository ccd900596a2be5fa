"""Each term of the training step against its published formula, so that breaking one term fails a test
named for it (scripts/mutation_check.py breaks them one at a time).

- pipeline bubble: 1F1B idles (p - 1)/m of the ideal time, (p - 1)/(v m) with v interleaved chunks
  (Narayanan et al. 2021, "Efficient Large-Scale Language Model Training on GPU Clusters", §2.2);
- all-reduce: S bytes over n ranks at bus bandwidth B take S/B x 2(n - 1)/n (NCCL-tests doc/PERFORMANCE.md);
- tensor parallelism: 2 all-reduces in the forward and 2 in the backward of every layer, each of
  b s h activations (Shoeybi et al. 2019, "Megatron-LM", §3 and Fig. 4).
"""

import pytest

from dcplan import default_calibration, estimate_training, get_hardware, get_model
from dcplan.model.comm import Link, collective_time, group_link

H100 = get_hardware("h100-sxm")


def _fixed(model: str, *, tp: int, pp: int, dp: int, vpp: int = 1, global_batch: int = 64, seq_len: int = 4096, recompute: str = "selective"):
    lay = dict(tp=tp, pp=pp, dp=dp, ep=1, cp=1, zero=1, recompute=recompute, micro_batch=1)
    if vpp > 1:
        lay["vpp"] = vpp
    return estimate_training(get_model(model), H100, tokens=1e11, n_accelerators=tp * pp * dp, layout=lay, seq_len=seq_len,
                             global_batch=global_batch, calibration=default_calibration("h100-sxm"))


@pytest.mark.parametrize("pp,vpp", [(4, 1), (8, 1), (8, 2)])
def test_pipeline_bubble_is_narayanan_fraction(pp, vpp):
    e = _fixed("llama-2-70b", tp=8, pp=pp, dp=2, vpp=vpp)
    b = e.step_breakdown_s
    m = 64 // 2  # micro-batches per replica: global batch / dp / micro-batch
    ideal = sum(b[k] for k in ("compute_s", "tp_comm_s", "cp_comm_s", "ep_comm_s", "pp_comm_s"))
    assert b["bubble_s"] > 0
    assert b["bubble_s"] / ideal == pytest.approx((pp - 1) / (vpp * m), rel=1e-9)


def test_no_pipeline_no_bubble():
    assert _fixed("llama-2-7b", tp=8, pp=1, dp=2).step_breakdown_s["bubble_s"] == 0


def test_all_reduce_time_is_nccl_tests_busbw():
    link = Link(bytes_per_s=100e9, alpha_s=0.0, bw_frac=1.0, name="test")
    # 1 GB over 8 ranks at 100 GB/s: 1e9 / 100e9 x 2 x 7 / 8 = 17.5 ms; reduce-scatter and all-gather move half of it
    assert collective_time("all_reduce", 1e9, 8, link) == pytest.approx(0.0175, rel=1e-12)
    assert collective_time("reduce_scatter", 1e9, 8, link) == pytest.approx(0.00875, rel=1e-12)
    assert collective_time("all_reduce", 1e9, 1, link) == 0


def test_tensor_parallel_all_reduces_four_per_layer_of_b_s_h():
    """Megatron TP: 4 all-reduces per layer of b s h bf16 activations (2 forward, 2 backward), on NVLink."""
    model, tp, seq = get_model("llama-2-13b"), 8, 4096
    e = _fixed("llama-2-13b", tp=tp, pp=1, dp=2, global_batch=16, seq_len=seq)
    link = group_link(H100, default_calibration("h100-sxm"), span=tp, field="tp")
    per_layer = 4 * collective_time("all_reduce", 1 * seq * model.d_model * 2.0, tp, link)
    n_mb = 16 // 2
    assert e.step_breakdown_s["tp_comm_s"] == pytest.approx(n_mb * model.n_layers * per_layer, rel=1e-9)
    assert _fixed("llama-2-13b", tp=1, pp=8, dp=2, global_batch=16, seq_len=seq).step_breakdown_s["tp_comm_s"] == 0
