"""The profiled Transformer is the model dcplan counts: parameters, FLOPs and a working KV cache."""

import pytest
import torch

from dcplan.model.params import count_params
from dcplan.profile.config import TransformerConfig, from_measurement
from dcplan.profile.transformer import build
from dcplan.profile.workloads import AttentionPoint, Ctx, DecodePoint, GemmPoint, PrefillPoint, Seq2SeqPoint, TrainPoint

CPU = Ctx(torch.device("cpu"), "fp32")
GQA = TransformerConfig(d_model=96, n_layers=2, n_heads=6, n_kv_heads=2, vocab_size=500, max_seq_len=128)
T5 = TransformerConfig(d_model=64, n_layers=2, n_heads=4, n_encoder_layers=2, d_ff=160, vocab_size=300, max_seq_len=128)


@pytest.mark.parametrize("cfg", [GQA, T5, TransformerConfig(d_model=64, n_layers=3, n_heads=4, vocab_size=256)])
def test_parameter_count_is_dcplans(cfg):
    model = build(cfg)
    assert sum(p.numel() for p in model.parameters()) == count_params(cfg.model_spec()).total


@pytest.mark.parametrize("point", [
    GemmPoint(48, 40, 24, "fp32"),
    AttentionPoint(2, 4, 2, 48, 16, "fp32"),
    TrainPoint(GQA, 2, 40, "fp32"),
    PrefillPoint(GQA, 2, 33, "fp32"),
    DecodePoint(GQA, 3, 20, "fp32"),
    Seq2SeqPoint(T5, 2, 24, 12, "train", "fp32"),
    Seq2SeqPoint(T5, 2, 16, 5, "generate", "fp32"),
], ids=lambda p: f"{p.kind}-{getattr(p, 'mode', '')}")
def test_flop_counter_agrees_with_the_analytical_count(point):
    """FlopCounterMode (MATH attention, no causal discount) minus the masked half equals dcplan's count."""
    prepared = point.prepare(CPU)
    counted = prepared.count()
    assert counted > 0
    assert counted - prepared.causal_excess == pytest.approx(prepared.flops, rel=1e-9)
    if point.kind in ("train", "prefill", "attention"):
        assert prepared.causal_excess > 0  # the counter ignores the causal mask


def test_kv_cache_decode_matches_full_forward():
    torch.manual_seed(0)
    model = build(GQA).eval()
    tokens = torch.randint(0, GQA.vocab_size, (2, 12))
    with torch.inference_mode():
        full = model(tokens)[:, -1]
        cache = model.new_cache(2, 12)
        model.prefill(tokens[:, :-1], cache)
        step = model.decode_step(tokens[:, -1:], cache)
    assert torch.allclose(full, step, atol=1e-4)


def test_train_step_learns():
    torch.manual_seed(0)
    prepared = TrainPoint(GQA, 2, 16, "fp32").prepare(CPU)
    model = prepared.keep[0]
    before = [p.detach().clone() for p in model.parameters()]
    prepared.run()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_generate_and_config_round_trip():
    model = build(T5).eval()
    out = model.generate(torch.randint(0, T5.vocab_size, (3, 9)), 4)
    assert out.shape == (3, 4)
    point = Seq2SeqPoint(T5, 3, 9, 4, "generate", "fp32")
    back = from_measurement(point.config())
    shape = lambda c: (c.d_model, c.n_layers, c.n_encoder_layers, c.n_heads, c.kv_heads, c.ffn, c.vocab_size)  # noqa: E731
    assert shape(back) == shape(T5)
    assert count_params(back.model_spec()).total == count_params(T5.model_spec()).total


def test_inference_modules_are_built_in_their_serving_dtype():
    import torch

    from dcplan.profile.config import TransformerConfig
    from dcplan.profile.transformer import build

    before = torch.get_default_dtype()
    model = build(TransformerConfig(d_model=64, n_layers=2, n_heads=2, vocab_size=256, max_seq_len=32), dtype=torch.bfloat16)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16} and model.embed.pe.dtype == torch.bfloat16
    assert torch.get_default_dtype() == before


def test_decode_points_record_their_implementation():
    import torch

    from dcplan.profile.config import TransformerConfig
    from dcplan.profile.workloads import Ctx, DecodePoint

    cfg = TransformerConfig(d_model=64, n_layers=2, n_heads=2, vocab_size=256, max_seq_len=33)
    eager = DecodePoint(cfg, 2, 32, "bf16")
    assert eager.config()["impl"] == "eager" and eager.config()["init_dtype"] == "bf16"
    graphs = DecodePoint(cfg, 2, 32, "bf16", "cuda-graphs")
    assert graphs.config()["impl"] == "cuda-graphs"
    with pytest.raises(ValueError, match="CUDA device"):
        graphs.prepare(Ctx(torch.device("cpu"), "bf16"))
    with pytest.raises(ValueError, match="impl"):
        DecodePoint(cfg, 2, 32, "bf16", "tensorrt").prepare(Ctx(torch.device("cpu"), "bf16"))


def test_gpu_grids_decode_eager_and_from_cuda_graphs():
    from dcplan.profile.grids import grid
    from dcplan.profile.sweep import build_points

    for sweep in ("quick", "standard"):
        impls = [p.impl for p in build_points(grid(sweep, "cuda"), "bf16") if p.kind == "decode"]
        assert impls.count("eager") == impls.count("cuda-graphs") > 0
    assert {p.impl for p in build_points(grid("quick", "cpu"), "fp32") if p.kind == "decode"} == {"eager"}


def test_launch_counts_match_the_modules_dispatched_kernels():
    """dcplan.model.launch counts what the profiler's modules launch per layer: the non-view aten
    operators one more layer dispatches in a decode step (CPU dispatch, the same operators a GPU runs)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    from dcplan.model.launch import kernels_per_layer
    from dcplan.profile.config import TransformerConfig
    from dcplan.profile.transformer import KVCache, build

    views = {"view", "_unsafe_view", "transpose", "t", "expand", "slice", "select", "split", "chunk", "unsqueeze", "squeeze",
             "permute", "alias", "detach", "as_strided", "unbind"}

    class Count(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.overloadpacket.__name__ not in views:
                self.n += 1
            return func(*args, **(kwargs or {}))

    def launched(layers, enc=0):
        cfg = TransformerConfig(d_model=64, n_layers=layers, n_heads=4, n_kv_heads=2, vocab_size=256, max_seq_len=32,
                                n_encoder_layers=enc)
        model = build(cfg, dtype=torch.bfloat16).eval()
        with torch.inference_mode():
            if enc:
                cross = model.cross_kv(model.encode(torch.randint(0, 256, (2, 8))))
                cache = KVCache(cfg, layers, 2, 16, device="cpu", dtype=torch.bfloat16)
                cache.length = 3
                with Count() as c:
                    model.decode(torch.randint(0, 256, (2, 1)), cross, cache)
            else:
                cache = model.new_cache(2, 32)
                cache.length = 10
                with Count() as c:
                    model.decode_step(torch.randint(0, 256, (2, 1)), cache)
        return c.n, cfg.model_spec()

    (one, spec), (two, _) = launched(1), launched(2)
    assert two - one == kernels_per_layer(spec)
    (one, spec), (two, _) = launched(1, enc=1), launched(2, enc=1)
    # CPU runs nn.RMSNorm as the composite it decomposes into; CUDA has one fused kernel (NORM_KERNELS)
    assert two - one >= kernels_per_layer(spec, cross_attention=True)
