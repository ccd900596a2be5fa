"""Which configurations each sweep measures, on a CPU or on a GPU (no torch).

Sweeps: ``tiny`` (the test-sized grid the test suite runs, seconds), ``quick`` (about 1-2
minutes on a 2-core CPU), ``standard`` (about 10 minutes there), ``full`` (longer, larger
shapes). The train grid varies d_model, layers, heads (with grouped-query attention), sequence
length and micro-batch so that the per-layer GEMM size spans several decades; the largest
configurations come last in each kind so leave-largest-out validation extrapolates.

GPU grids are scaled so the largest training configuration (d_model 4096, 8 layers, sequence
2048, micro-batch 4) runs large enough GEMMs for high MFU on H100/H200-class devices.
"""

from __future__ import annotations

from dataclasses import dataclass

from dcplan.profile.timing import SweepSettings

SWEEPS = ("tiny", "quick", "standard", "full")


@dataclass(frozen=True)
class Shape:
    """A Transformer shape: d_model, layers, heads, kv heads, vocabulary, encoder layers, d_ff."""

    d: int
    L: int
    a: int
    kv: int
    V: int = 8192
    enc: int = 0
    ff: int | None = None


@dataclass(frozen=True, kw_only=True)
class Grid:
    """The configurations of one sweep (shapes and sizes only; precision is added later)."""

    gemm: tuple[tuple[int, int, int], ...]
    """(m, n, k)"""
    gemm_precisions_extra: tuple[str, ...] = ()
    """Precisions measured for GEMMs besides the workload precision (GPUs)."""
    bandwidth: tuple[int, ...]
    """Copy sizes [bytes]."""
    attention: tuple[tuple[int, int, int, int, int], ...]
    """(batch, heads, kv_heads, seq_len, d_head)"""
    train: tuple[tuple[Shape, int, int], ...]
    """(shape, micro-batch, seq_len)"""
    prefill: tuple[tuple[Shape, int, int], ...]
    """(shape, batch, prompt_len)"""
    decode: tuple[tuple[Shape, int, int], ...]
    """(shape, batch, context_len)"""
    decode_impls: tuple[str, ...] = ("eager",)
    """Implementations every decode configuration runs in (GPUs add cuda-graphs, as serving engines run decode)."""
    seq2seq: tuple[tuple[Shape, int, int, int, str], ...]
    """(shape, batch, src_len, tgt_len, mode)"""
    collective_bytes: tuple[int, ...]
    dp_train: tuple[tuple[Shape, int, int], ...]
    encoder: tuple[tuple[Shape, int, int, str], ...] = ()
    """(encoder-only shape, batch, seq_len, mode): masked-LM train steps and batch embedding forwards"""
    timing: SweepSettings
    warmup: int
    min_sample_s: float
    launch: tuple[int, ...] = (100, 1000)
    """Back-to-back tiny operations per timed run (the cost of one dispatched operation)."""


MiB = 2**20

# ---- CPU ---------------------------------------------------------------------------------------

_C_A = Shape(128, 2, 4, 4)
_C_B = Shape(256, 4, 8, 2)
_C_C = Shape(512, 4, 8, 8)
_C_D = Shape(384, 6, 6, 2, 16384)
_T5_MINI = Shape(256, 2, 4, 4, 8192, enc=2, ff=1024)
_T5_SMALL = Shape(512, 6, 8, 8, 32128, enc=6, ff=2048)
_T5_BASE = Shape(768, 12, 12, 12, 32128, enc=12, ff=3072)
#: Encoder-only shapes (BERT's vocabulary of 30522; Turc et al. 2019's BERT-mini/-small sizes, BERT-base).
_BERT_MINI = Shape(256, 4, 4, 4, 30522)
_BERT_SMALL = Shape(512, 4, 8, 8, 30522)
_BERT_BASE = Shape(768, 12, 12, 12, 30522)
_CPU_QUICK_ENCODER = ((_BERT_MINI, 8, 128, "train"), (_BERT_MINI, 16, 128, "embed"), (_BERT_MINI, 4, 512, "embed"),
                      (_BERT_SMALL, 4, 128, "train"), (_BERT_SMALL, 2, 512, "train"), (_BERT_SMALL, 32, 128, "embed"),
                      (_BERT_SMALL, 8, 512, "embed"))


def _cpu_tiny() -> Grid:
    s = Shape(64, 2, 2, 1, 2048)
    t5 = Shape(64, 1, 2, 2, 2048, enc=1, ff=256)
    return Grid(
        gemm=((64, 64, 64), (128, 128, 128), (256, 256, 256)),
        bandwidth=(8 * MiB,),
        attention=((1, 2, 2, 64, 32),),
        train=((s, 2, 32), (Shape(64, 1, 2, 2, 2048), 2, 64), (s, 4, 64)),
        prefill=((s, 1, 32), (s, 2, 64)),
        decode=((s, 1, 64), (s, 4, 64)),
        seq2seq=((t5, 2, 32, 16, "train"), (t5, 1, 16, 4, "generate")),
        encoder=((Shape(64, 2, 2, 2, 2048), 2, 32, "train"), (Shape(64, 2, 2, 2, 2048), 4, 32, "embed")),
        collective_bytes=(4096, 256 * 1024),
        dp_train=((s, 2, 32),),
        timing=SweepSettings(sweeps=2, reps=2, max_extra_sweeps=1),
        warmup=1,
        min_sample_s=0.002,
    )


_CPU_QUICK_TRAIN = (
    (Shape(64, 2, 2, 2, 4096), 4, 64),
    (Shape(128, 2, 4, 4), 4, 128),
    (Shape(128, 4, 4, 2), 8, 128),
    (Shape(192, 2, 6, 6, 4096), 2, 256),
    (Shape(256, 2, 4, 4), 4, 128),
    (Shape(256, 4, 8, 2), 2, 256),
    (Shape(384, 2, 6, 3), 4, 128),
    (Shape(512, 2, 8, 8), 2, 128),
    (Shape(512, 4, 8, 4), 2, 256),
    (Shape(768, 2, 12, 12, 16384), 1, 32),  # few tokens, many parameters: the optimizer step shows
)
_CPU_STANDARD_TRAIN = _CPU_QUICK_TRAIN + (
    (Shape(256, 2, 4, 4, 4096), 8, 256),
    (Shape(96, 3, 3, 3), 4, 128),
    (Shape(128, 2, 2, 1, 16384), 2, 256),
    (Shape(192, 4, 6, 2), 4, 256),
    (Shape(256, 6, 4, 4), 1, 512),
    (Shape(320, 2, 5, 5), 8, 64),
    (Shape(384, 4, 6, 6, 4096), 4, 256),
    (Shape(384, 6, 6, 2, 16384), 2, 256),
    (Shape(448, 3, 7, 7), 4, 128),
    (Shape(512, 2, 8, 2), 8, 128),
    (Shape(512, 6, 8, 8), 4, 128),
    (Shape(640, 4, 10, 5), 2, 256),
    (Shape(768, 6, 12, 4), 2, 128),
    (Shape(768, 4, 12, 12), 2, 256),
    (Shape(1024, 4, 16, 16), 2, 128),
    (Shape(1024, 4, 16, 16, 16384), 1, 32),
    (Shape(512, 6, 8, 8, 32768), 1, 64),
)


def _cpu_quick() -> Grid:
    return Grid(
        gemm=((64, 64, 64), (128, 128, 128), (256, 256, 256), (384, 384, 384), (512, 512, 512), (768, 768, 768),
              (1024, 1024, 1024), (1536, 1536, 1536), (2048, 2048, 2048), (512, 1024, 256), (1024, 2048, 512)),
        bandwidth=(16 * MiB, 64 * MiB, 256 * MiB),
        attention=((1, 4, 4, 128, 64), (1, 8, 8, 256, 64), (2, 8, 2, 512, 64), (1, 8, 8, 1024, 64), (4, 4, 4, 256, 32)),
        train=_CPU_QUICK_TRAIN,
        prefill=((_C_A, 1, 128), (_C_A, 4, 256), (_C_B, 1, 64), (_C_B, 2, 256), (_C_B, 1, 512), (_C_C, 1, 128),
                 (_C_C, 2, 256), (_C_C, 1, 512)),
        decode=((_C_A, 1, 128), (_C_A, 16, 512), (_C_B, 1, 128), (_C_B, 4, 512), (_C_B, 16, 128), (_C_C, 1, 512),
                (_C_C, 4, 128), (_C_C, 16, 512), (_C_A, 4, 256), (_C_C, 1, 128)),
        seq2seq=((_T5_MINI, 4, 64, 64, "train"), (_T5_MINI, 2, 64, 16, "generate"), (_T5_MINI, 8, 128, 32, "train"),
                 (_T5_MINI, 4, 128, 8, "generate")),
        collective_bytes=(4096, 64 * 1024, 1 * MiB, 8 * MiB),
        dp_train=((Shape(128, 2, 4, 4), 4, 128),),
        encoder=_CPU_QUICK_ENCODER,
        timing=SweepSettings(sweeps=3, reps=2, max_extra_sweeps=2),
        warmup=2,
        min_sample_s=0.005,
    )


def _cpu_standard() -> Grid:
    quick = _cpu_quick()
    return Grid(
        gemm=quick.gemm + ((96, 96, 96), (192, 192, 192), (640, 640, 640), (1280, 1280, 1280), (3072, 3072, 3072),
                           (256, 2048, 512), (2048, 768, 3072), (4096, 1024, 256)),
        bandwidth=(4 * MiB,) + quick.bandwidth + (512 * MiB,),
        attention=quick.attention + ((1, 12, 12, 512, 64), (2, 16, 4, 1024, 64), (1, 8, 8, 2048, 64), (8, 4, 4, 128, 64)),
        train=_CPU_STANDARD_TRAIN,
        prefill=quick.prefill + ((_C_A, 8, 512), (_C_B, 4, 512), (_C_C, 4, 256), (_C_D, 1, 256), (_C_D, 2, 512),
                                 (_C_D, 1, 1024), (_C_C, 1, 1024), (_C_A, 1, 32)),
        decode=quick.decode + ((_C_A, 64, 128), (_C_B, 64, 256), (_C_C, 32, 256), (_C_D, 1, 256), (_C_D, 8, 512),
                               (_C_D, 32, 1024), (_C_B, 1, 1024), (_C_C, 8, 1024), (_C_A, 1, 1024), (_C_D, 4, 128)),
        seq2seq=quick.seq2seq + ((_T5_SMALL, 2, 64, 64, "train"), (_T5_SMALL, 1, 64, 16, "generate"),
                                 (_T5_BASE, 1, 64, 32, "train"), (_T5_BASE, 1, 48, 8, "generate")),
        collective_bytes=quick.collective_bytes + (32 * MiB,),
        dp_train=quick.dp_train + ((Shape(256, 4, 8, 2), 2, 256),),
        encoder=quick.encoder + ((_BERT_BASE, 1, 128, "train"), (_BERT_BASE, 8, 128, "embed"), (_BERT_BASE, 2, 512, "embed")),
        timing=SweepSettings(sweeps=4, reps=2, max_extra_sweeps=2),
        warmup=2,
        min_sample_s=0.005,
    )


def _cpu_full() -> Grid:
    std = _cpu_standard()
    gpt2_small = Shape(768, 12, 12, 12, 50257)
    return Grid(
        gemm=std.gemm + ((4096, 4096, 4096),),
        bandwidth=std.bandwidth + (1024 * MiB,),
        attention=std.attention + ((1, 12, 12, 4096, 64),),
        train=std.train + ((gpt2_small, 1, 512), (gpt2_small, 2, 1024)),
        prefill=std.prefill + ((gpt2_small, 1, 1024),),
        decode=std.decode + ((gpt2_small, 1, 1024), (gpt2_small, 16, 1024)),
        seq2seq=std.seq2seq + ((_T5_BASE, 4, 128, 128, "train"),),
        collective_bytes=std.collective_bytes + (128 * MiB,),
        dp_train=std.dp_train,
        encoder=std.encoder + ((_BERT_BASE, 4, 512, "train"),),
        timing=SweepSettings(sweeps=5, reps=5, max_extra_sweeps=3),
        warmup=3,
        min_sample_s=0.01,
    )


# ---- GPU ---------------------------------------------------------------------------------------

_G_A = Shape(1024, 4, 8, 8, 32000)
_G_B = Shape(2048, 8, 16, 4, 32000)
_G_C = Shape(4096, 8, 32, 8, 32000)
_G_T5 = Shape(768, 12, 12, 12, 32128, enc=12, ff=3072)
_G_BERT = Shape(1024, 24, 16, 16, 30522)  # BERT-large
#: GPU decode runs eager (the host's dispatch sets the pace of small steps) and from captured
#: CUDA graphs (one launch per step, as vLLM, SGLang and TensorRT-LLM run it).
GPU_DECODE_IMPLS = ("eager", "cuda-graphs")


def _gpu_quick() -> Grid:
    return Grid(
        gemm=tuple((n, n, n) for n in (256, 512, 1024, 2048, 4096, 8192, 16384)) + ((8192, 4096, 16384), (16384, 8192, 2048)),
        gemm_precisions_extra=("fp16", "tf32", "fp32"),
        bandwidth=(64 * MiB, 256 * MiB, 1024 * MiB, 4096 * MiB),
        attention=((4, 16, 16, 1024, 128), (4, 32, 8, 2048, 128), (1, 32, 32, 8192, 128), (1, 32, 8, 16384, 128)),
        train=((_G_A, 4, 1024), (_G_A, 8, 2048), (_G_B, 2, 2048), (_G_B, 4, 4096), (_G_C, 2, 2048), (_G_C, 4, 2048),
               (_G_A, 1, 512), (_G_B, 1, 1024)),
        prefill=((_G_A, 1, 512), (_G_A, 8, 2048), (_G_B, 1, 2048), (_G_B, 4, 4096), (_G_C, 1, 4096), (_G_C, 8, 2048),
                 (_G_A, 32, 1024), (_G_B, 16, 2048)),
        decode=((_G_A, 1, 1024), (_G_A, 64, 2048), (_G_B, 8, 4096), (_G_B, 128, 2048), (_G_C, 1, 2048), (_G_C, 32, 8192)),
        decode_impls=GPU_DECODE_IMPLS,
        seq2seq=((_G_T5, 32, 512, 128, "train"), (_G_T5, 16, 128, 64, "generate")),
        collective_bytes=(64 * 1024, 1 * MiB, 16 * MiB, 256 * MiB, 1024 * MiB),
        dp_train=((_G_B, 4, 2048),),
        encoder=((_G_BERT, 32, 512, "train"), (_G_BERT, 64, 512, "embed"), (_G_BERT, 256, 128, "embed")),
        timing=SweepSettings(sweeps=3, reps=5, max_extra_sweeps=2),
        warmup=3,
        min_sample_s=0.02,
    )


def _gpu_standard() -> Grid:
    q = _gpu_quick()
    return Grid(
        gemm=q.gemm + tuple((n, n, n) for n in (768, 1536, 3072, 6144, 12288)),
        gemm_precisions_extra=q.gemm_precisions_extra,
        bandwidth=q.bandwidth + (16 * MiB, 8192 * MiB),
        attention=q.attention + ((8, 16, 16, 512, 64), (2, 32, 32, 4096, 128), (1, 64, 8, 32768, 128)),
        train=q.train + ((_G_A, 16, 1024), (_G_B, 8, 2048), (_G_C, 1, 4096), (_G_C, 8, 2048)),
        prefill=q.prefill + ((_G_C, 4, 8192),),
        decode=q.decode + ((_G_A, 256, 1024), (_G_B, 1, 8192), (_G_C, 8, 4096), (_G_C, 128, 2048)),
        decode_impls=q.decode_impls,
        seq2seq=q.seq2seq + ((_G_T5, 64, 512, 128, "train"), (_G_T5, 64, 128, 64, "generate")),
        collective_bytes=q.collective_bytes + (4 * MiB, 64 * MiB),
        dp_train=q.dp_train,
        encoder=q.encoder + ((_G_BERT, 8, 128, "train"), (_G_BERT, 8, 512, "embed")),
        timing=SweepSettings(sweeps=5, reps=5, max_extra_sweeps=2),
        warmup=3,
        min_sample_s=0.02,
    )


def _gpu_full() -> Grid:
    s = _gpu_standard()
    big = Shape(8192, 4, 64, 8, 128256)
    return Grid(
        gemm=s.gemm + ((32768, 8192, 8192),),
        gemm_precisions_extra=s.gemm_precisions_extra,
        bandwidth=s.bandwidth,
        attention=s.attention,
        train=s.train + ((big, 1, 4096), (big, 4, 4096), (big, 16, 8192)),
        prefill=s.prefill + ((big, 1, 8192),),
        decode=s.decode + ((big, 64, 4096),),
        decode_impls=s.decode_impls,
        seq2seq=s.seq2seq,
        collective_bytes=s.collective_bytes + (4096 * MiB,),
        dp_train=s.dp_train,
        encoder=s.encoder,
        timing=SweepSettings(sweeps=7, reps=5, max_extra_sweeps=3),
        warmup=5,
        min_sample_s=0.05,
    )


def grid(sweep: str, device_type: str) -> Grid:
    """The grid of ``sweep`` for a ``cpu`` or ``cuda`` device."""
    if device_type == "cuda":
        return {"tiny": _cpu_tiny, "quick": _gpu_quick, "standard": _gpu_standard, "full": _gpu_full}[sweep]()
    return {"tiny": _cpu_tiny, "quick": _cpu_quick, "standard": _cpu_standard, "full": _cpu_full}[sweep]()


# ---- transformers models (--impl hf) ---------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class HFSizes:
    """What each ``--impl hf`` model is timed at in one sweep (sizes only)."""

    train: tuple[tuple[int, int], ...]
    """(batch, seq_len) of decoder-only train steps"""
    prefill: tuple[tuple[int, int], ...]
    """(batch, prompt_len)"""
    decode: tuple[tuple[int, int], ...]
    """(batch, context_len); on CUDA each also with a static cache and CUDA graphs"""
    seq2seq_train: tuple[tuple[int, int, int], ...]
    """(batch, src_len, tgt_len) of encoder-decoder train steps"""
    generate: tuple[tuple[int, int, int], ...]
    """(batch, src_len, new tokens) of encoder-decoder generation; T5-base translation: source 128, target 64"""
    encoder_train: tuple[tuple[int, int], ...] = ()
    """(batch, seq_len) of encoder-only masked-LM train steps (BERT pre-training: 128 tokens, then 512)"""
    embed: tuple[tuple[int, int], ...] = ()
    """(batch, seq_len) of encoder-only batch embedding forwards"""


#: The seed article's worked example: T5-base translation, source 128 tokens, target 64.
TRANSLATION = (128, 64)

_HF_CPU = {
    "tiny": HFSizes(train=((2, 32),), prefill=((1, 32),), decode=((2, 64),), seq2seq_train=((2, 32, 16),), generate=((1, 16, 4),),
                    encoder_train=((2, 32),), embed=((2, 32),)),
    "quick": HFSizes(train=((1, 128), (2, 128)), prefill=((1, 128), (1, 256)), decode=((1, 256), (8, 256)), seq2seq_train=((1, 64, 32),),
                     generate=((1, *TRANSLATION),), encoder_train=((2, 128),), embed=((8, 128), (2, 512))),
    "standard": HFSizes(train=((1, 128), (4, 128), (2, 256)), prefill=((1, 128), (4, 256), (1, 512)), decode=((1, 128), (8, 256), (1, 512)),
                        seq2seq_train=((1, 64, 32), (2, *TRANSLATION)), generate=((1, *TRANSLATION), (4, *TRANSLATION)),
                        encoder_train=((4, 128), (1, 512)), embed=((8, 128), (32, 128), (4, 512))),
}
_HF_CPU["full"] = _HF_CPU["standard"]
_HF_GPU = {
    "tiny": _HF_CPU["tiny"],
    "quick": HFSizes(train=((4, 1024), (8, 2048)), prefill=((1, 2048), (8, 2048)), decode=((1, 1024), (32, 1024), (128, 2048)),
                     seq2seq_train=((32, *TRANSLATION),), generate=((16, *TRANSLATION),), encoder_train=((32, 512),),
                     embed=((64, 512), (256, 128))),
    "standard": HFSizes(train=((1, 1024), (4, 1024), (8, 2048), (4, 4096)), prefill=((1, 512), (1, 2048), (8, 2048), (4, 4096)),
                        decode=((1, 1024), (8, 2048), (32, 1024), (128, 2048)), seq2seq_train=((32, *TRANSLATION), (64, 512, 128)),
                        generate=((1, *TRANSLATION), (16, *TRANSLATION), (64, *TRANSLATION)), encoder_train=((32, 512), (256, 128)),
                        embed=((64, 512), (256, 128), (1, 512))),
}
_HF_GPU["full"] = _HF_GPU["standard"]
#: Models timed with --impl hf when --models is not given: small enough for a CPU's memory and
#: time (Llama, GPT-2, GPT-NeoX architectures and T5), or on a GPU the shapes issue 12 names.
DEFAULT_HF_MODELS = {
    "cpu": ("smollm2-135m", "gpt-2-small", "pythia-160m", "t5-small"),
    "cuda": ("llama-3.2-1b", "gpt-2-medium", "t5-base"),
}


def hf_sizes(sweep: str, device_type: str) -> HFSizes:
    """The ``--impl hf`` sizes of ``sweep`` for a ``cpu`` or ``cuda`` device."""
    return (_HF_GPU if device_type == "cuda" else _HF_CPU)[sweep]
