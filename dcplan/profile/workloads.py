"""The measured operations: one point per configuration, prepared on a device, run many times.

Each point knows its ``kind`` and ``config`` (what the profile records) and ``prepare``\\ s a
:class:`Prepared`: the tensors and modules it needs, ``run`` (one timed operation), its
analytical FLOPs (:mod:`dcplan.profile.flops`) and a FLOP-counter cross-check.

- gemm: ``torch.matmul`` of (m, k) x (k, n) in one precision.
- bandwidth: ``dst.copy_(src)`` of a large buffer (bytes read + written).
- launch: back-to-back tiny additions (the cost of one dispatched operation).
- attention: ``F.scaled_dot_product_attention`` forward, causal, by sequence length and heads.
- train: forward + cross-entropy + backward + AdamW step + zero_grad of a decoder-only LM.
- prefill: one forward over the prompts filling the KV cache, last-position logits (TTFT).
- decode: one new token per sequence against a KV cache of ``context_len − 1`` tokens (TPOT),
  in eager PyTorch or (``impl`` cuda-graphs, GPUs) replayed from a captured CUDA graph, as
  serving engines run it: the cache is static, so one capture replays every step.
- seq2seq: an encoder-decoder train step, or a greedy generation of ``tgt_len`` tokens.
- encoder: a BERT-style encoder's masked-LM train step (the head on the masked 15% of the
  positions, :data:`dcplan.model.flops.MLM_MASK_FRAC`), or a batch embedding forward (no head,
  nothing generated).

Precision: fp32 and tf32 run in fp32 (tf32 enables TF32 tensor cores for matmuls); bf16 and
fp16 train under ``torch.autocast`` with fp32 parameters and AdamW state (mixed precision:
4 + 4 + 8 = 16 bytes/param, the total dcplan's memory model counts) and serve with parameters
stored in that precision.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as TF

from dcplan.profile import flops as PF
from dcplan.profile.transformer import TransformerConfig, build, lm_loss
from dcplan.specs import DECODE_IMPLS, ModelSpec

DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Ctx:
    """Where and in what precision points run."""

    device: torch.device
    precision: str

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.precision]

    @property
    def mixed(self) -> bool:
        return self.precision in ("bf16", "fp16")

    def autocast(self):
        if not self.mixed:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def set_tf32(enabled: bool) -> None:
    """TF32 tensor-core matmuls on (tf32) or off (strict fp32)."""
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled


@dataclass
class Prepared:
    """A point ready to run: one call of ``run`` is one timed operation."""

    run: Callable[[], Any]
    flops: float | None = None
    tokens: float | None = None
    bytes: float | None = None
    count: Callable[[], float] | None = None
    """Runs one operation under FlopCounterMode (MATH attention) and returns its FLOP count."""
    causal_excess: float = 0.0
    """What the counter counts on masked causal attention (subtract to compare)."""
    keep: list = field(default_factory=list)
    dispatch: bool = False
    """Count what one run dispatches (:mod:`dcplan.profile.dispatch`) during the last warm-up run."""


class Unsupported(Exception):
    """A point this device or library cannot run (recorded under ``skipped`` with the reason)."""


def counted(fn: Callable[[], Any]) -> float:
    """FLOPs ``torch.utils.flop_counter.FlopCounterMode`` counts for one call of ``fn``.

    Attention runs with the MATH backend: fused CPU attention has no FLOP formula and would
    count 0 (checked with torch 2.13 on CPU).
    """
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def train_step(fwd_bwd: Callable[[], None], model: torch.nn.Module,
               opt: torch.optim.Optimizer) -> tuple[Callable[[], None], Callable[[], None]]:
    """(the timed train step: forward, backward, optimizer step; what the FLOP counter sees:
    forward and backward only, the optimizer's elementwise update having no matmul FLOPs)."""

    def step() -> None:
        fwd_bwd()
        opt.step()
        opt.zero_grad(set_to_none=True)

    def count_once() -> None:
        fwd_bwd()
        model.zero_grad(set_to_none=True)

    return step, count_once


def _model_config(cfg: TransformerConfig) -> dict[str, Any]:
    arch = {"architecture": "encoder"} if cfg.encoder_only else {}
    return {**arch,
        "d_model": cfg.d_model,
        "n_layers": cfg.n_layers,
        "n_encoder_layers": cfg.n_encoder_layers,
        "n_heads": cfg.n_heads,
        "n_kv_heads": cfg.kv_heads,
        "d_ff": cfg.ffn,
        "vocab_size": cfg.vocab_size,
    }


def _tokens(cfg: TransformerConfig, ctx: Ctx, batch: int, length: int) -> torch.Tensor:
    return torch.randint(0, cfg.vocab_size, (batch, length), device=ctx.device)


# --------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GemmPoint:
    m: int
    n: int
    k: int
    precision: str
    kind = "gemm"

    def config(self) -> dict[str, Any]:
        return {"m": self.m, "n": self.n, "k": self.k, "precision": self.precision}

    def prepare(self, ctx: Ctx) -> Prepared:
        dtype = DTYPES[self.precision]
        a = torch.randn(self.m, self.k, device=ctx.device, dtype=dtype)
        b = torch.randn(self.k, self.n, device=ctx.device, dtype=dtype)
        tf32 = self.precision == "tf32"

        def run():
            set_tf32(tf32)
            return torch.matmul(a, b)

        flops = 2.0 * self.m * self.n * self.k
        return Prepared(run=run, flops=flops, count=lambda: counted(run), keep=[a, b])


@dataclass(frozen=True)
class BandwidthPoint:
    nbytes: int
    kind = "bandwidth"

    def config(self) -> dict[str, Any]:
        return {"nbytes": self.nbytes, "op": "copy"}

    def prepare(self, ctx: Ctx) -> Prepared:
        n = self.nbytes // 4
        src = torch.rand(n, device=ctx.device)
        dst = torch.empty_like(src)
        return Prepared(run=lambda: dst.copy_(src), bytes=2.0 * n * 4, keep=[src, dst])


@dataclass(frozen=True)
class LaunchPoint:
    """``ops`` back-to-back tiny elementwise operations: what one dispatched operation costs.

    Eager frameworks pay a fixed price per operation (Python, the dispatcher, a kernel launch on
    a GPU) whatever its size; transformers models dispatch several times more operations per
    layer than dcplan's own Transformer, and the calibration prices the difference with this
    (:mod:`dcplan.calibrate.implementation`). 64-element tensors, each result a new tensor as
    most operations allocate theirs: no memory traffic to speak of.
    """

    ops: int
    kind = "launch"

    def config(self) -> dict[str, Any]:
        return {"ops": self.ops, "op": "add", "numel": 64}

    def prepare(self, ctx: Ctx) -> Prepared:
        a = torch.ones(64, device=ctx.device)
        b = torch.ones(64, device=ctx.device)
        n = self.ops

        def run():
            for _ in range(n):
                torch.add(a, b)

        return Prepared(run=run, keep=[a, b])


@dataclass(frozen=True)
class AttentionPoint:
    batch: int
    heads: int
    kv_heads: int
    seq_len: int
    d_head: int
    precision: str
    causal: bool = True
    kind = "attention"

    def config(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "n_heads": self.heads,
            "n_kv_heads": self.kv_heads,
            "seq_len": self.seq_len,
            "d_head": self.d_head,
            "causal": self.causal,
            "precision": self.precision,
        }

    def spec(self) -> ModelSpec:
        d = self.heads * self.d_head
        return ModelSpec(name="attention", n_layers=1, d_model=d, n_heads=self.heads, n_kv_heads=self.kv_heads,
                         d_ff=d, vocab_size=1, max_seq_len=self.seq_len)

    def prepare(self, ctx: Ctx) -> Prepared:
        dt = ctx.dtype
        q = torch.randn(self.batch, self.heads, self.seq_len, self.d_head, device=ctx.device, dtype=dt)
        k = torch.randn(self.batch, self.kv_heads, self.seq_len, self.d_head, device=ctx.device, dtype=dt)
        v = torch.randn_like(k)
        gqa = self.kv_heads != self.heads

        @torch.inference_mode()
        def run():
            return TF.scaled_dot_product_attention(q, k, v, is_causal=self.causal, enable_gqa=gqa)

        spec = self.spec()
        return Prepared(
            run=run,
            flops=PF.attention_flops(spec, self.batch, self.seq_len, causal=self.causal),
            tokens=float(self.batch * self.seq_len),
            count=lambda: counted(run),
            causal_excess=PF.causal_excess(spec, self.batch, self.seq_len, passes=1) if self.causal else 0.0,
            keep=[q, k, v],
        )


# --------------------------------------------------------------------------------------------
# Transformer steps
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainPoint:
    model: TransformerConfig
    batch: int
    seq_len: int
    precision: str
    kind = "train"

    def config(self) -> dict[str, Any]:
        return {**_model_config(self.model), "batch": self.batch, "seq_len": self.seq_len, "precision": self.precision}

    def prepare(self, ctx: Ctx) -> Prepared:
        cfg, spec = self.model, self.model.model_spec()
        model = build(cfg, device=ctx.device, dtype=torch.float32)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=ctx.device.type == "cuda")
        data = _tokens(cfg, ctx, self.batch, self.seq_len + 1)
        x, y = data[:, :-1], data[:, 1:]

        def fwd_bwd():
            with ctx.autocast():
                loss = lm_loss(model(x), y)
            loss.backward()

        step, count_once = train_step(fwd_bwd, model, opt)
        return Prepared(
            run=step,
            flops=PF.train_flops(spec, self.batch, self.seq_len),
            tokens=float(self.batch * self.seq_len),
            count=lambda: counted(count_once),
            causal_excess=PF.causal_excess(spec, self.batch, self.seq_len, passes=3),
            keep=[model, opt, data],
            dispatch=True,
        )


def _inference_model(cfg: TransformerConfig, ctx: Ctx) -> torch.nn.Module:
    return build(cfg, device=ctx.device, dtype=ctx.dtype).eval()


#: Eager runs before a CUDA graph is captured (lazy initialisation, cuBLAS workspaces, autotuning),
#: on a side stream as torch.cuda.graphs asks.
GRAPH_WARMUP = 3


def capture_graph(step: Callable[[], Any], device: torch.device) -> Callable[[], Any]:
    """A function replaying ``step`` from a captured CUDA graph (torch.cuda.CUDAGraph).

    ``step`` must read and write only tensors that stay alive (static inputs, a static cache):
    a replay reruns the same kernels on the same addresses. Warm-up runs on a side stream
    first, as the torch.cuda.graphs documentation prescribes.
    """
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(GRAPH_WARMUP):
            step()
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    return graph.replay


@dataclass(frozen=True)
class PrefillPoint:
    model: TransformerConfig
    batch: int
    prompt_len: int
    precision: str
    kind = "prefill"

    def config(self) -> dict[str, Any]:
        return {**_model_config(self.model), "batch": self.batch, "prompt_len": self.prompt_len, "precision": self.precision,
                "init_dtype": "fp32" if self.precision == "tf32" else self.precision}

    def prepare(self, ctx: Ctx) -> Prepared:
        cfg, spec = self.model, self.model.model_spec()
        model = _inference_model(cfg, ctx)
        cache = model.new_cache(self.batch, self.prompt_len)
        prompt = _tokens(cfg, ctx, self.batch, self.prompt_len)

        @torch.inference_mode()
        def run():
            cache.length = 0
            return model.prefill(prompt, cache)

        return Prepared(
            run=run,
            flops=PF.prefill_flops(spec, self.batch, self.prompt_len),
            tokens=float(self.batch * self.prompt_len),
            count=lambda: counted(run),
            causal_excess=PF.causal_excess(spec, self.batch, self.prompt_len, passes=1),
            keep=[model, cache, prompt],
            dispatch=True,
        )


@dataclass(frozen=True)
class DecodePoint:
    model: TransformerConfig
    batch: int
    context_len: int
    """Keys each new token attends to, itself included (the cache holds context_len − 1 before)."""
    precision: str
    impl: str = "eager"
    """eager, or cuda-graphs (GPUs): the step replayed from a captured CUDA graph."""
    kind = "decode"

    def config(self) -> dict[str, Any]:
        return {**_model_config(self.model), "batch": self.batch, "context_len": self.context_len, "precision": self.precision,
                "impl": self.impl, "init_dtype": "fp32" if self.precision == "tf32" else self.precision}

    def prepare(self, ctx: Ctx) -> Prepared:
        if self.impl not in DECODE_IMPLS:
            raise ValueError(f"decode impl must be one of {', '.join(DECODE_IMPLS)}, got {self.impl!r}")
        if self.impl == "cuda-graphs" and ctx.device.type != "cuda":
            raise ValueError("decode with CUDA graphs needs a CUDA device")
        cfg, spec = self.model, self.model.model_spec()
        model = _inference_model(cfg, ctx)
        cache = model.new_cache(self.batch, self.context_len)
        for k, v in zip(cache.k, cache.v, strict=True):
            k.normal_()
            v.normal_()
        token = _tokens(cfg, ctx, self.batch, 1)

        @torch.inference_mode()
        def step():
            cache.length = self.context_len - 1
            return model.decode_step(token, cache)

        run = step
        if self.impl == "cuda-graphs":
            with torch.inference_mode():
                run = capture_graph(step, ctx.device)
        return Prepared(
            run=run,
            flops=PF.decode_flops(spec, self.batch, self.context_len),
            tokens=float(self.batch),
            count=lambda: counted(step),
            keep=[model, cache, token],
            dispatch=True,
        )


@dataclass(frozen=True)
class Seq2SeqPoint:
    model: TransformerConfig
    batch: int
    src_len: int
    tgt_len: int
    """Target tokens (train) or tokens generated (generate)."""
    mode: str
    """train | generate"""
    precision: str
    kind = "seq2seq"

    def config(self) -> dict[str, Any]:
        out = {**_model_config(self.model), "batch": self.batch, "src_len": self.src_len, "tgt_len": self.tgt_len,
               "mode": self.mode, "precision": self.precision}
        if self.mode != "train":
            out["init_dtype"] = "fp32" if self.precision == "tf32" else self.precision
        return out

    def prepare(self, ctx: Ctx) -> Prepared:
        return self._train(ctx) if self.mode == "train" else self._generate(ctx)

    def _train(self, ctx: Ctx) -> Prepared:
        cfg, spec = self.model, self.model.model_spec()
        model = build(cfg, device=ctx.device, dtype=torch.float32)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=ctx.device.type == "cuda")
        src = _tokens(cfg, ctx, self.batch, self.src_len)
        tgt = _tokens(cfg, ctx, self.batch, self.tgt_len + 1)

        def fwd_bwd():
            with ctx.autocast():
                loss = lm_loss(model(src, tgt[:, :-1]), tgt[:, 1:])
            loss.backward()

        step, count_once = train_step(fwd_bwd, model, opt)

        return Prepared(
            run=step,
            flops=PF.seq2seq_train_flops(spec, self.batch, self.src_len, self.tgt_len),
            tokens=float(self.batch * self.tgt_len),
            count=lambda: counted(count_once),
            causal_excess=PF.causal_excess(spec, self.batch, self.tgt_len, passes=3),
            keep=[model, opt, src, tgt],
            dispatch=True,
        )

    def _generate(self, ctx: Ctx) -> Prepared:
        cfg, spec = self.model, self.model.model_spec()
        model = _inference_model(cfg, ctx)
        src = _tokens(cfg, ctx, self.batch, self.src_len)

        @torch.inference_mode()
        def run():
            return model.generate(src, self.tgt_len)

        return Prepared(
            run=run,
            flops=PF.seq2seq_generate_flops(spec, self.batch, self.src_len, self.tgt_len),
            tokens=float(self.batch * self.tgt_len),
            count=lambda: counted(run),
            keep=[model, src],
            dispatch=True,
        )


def masked_positions(seq_len: int) -> int:
    """Positions per sequence a masked-LM step predicts: 15% of them, at least one (Devlin et al. 2019, §3.1)."""
    from dcplan.model.flops import MLM_MASK_FRAC

    return max(1, round(MLM_MASK_FRAC * seq_len))


@dataclass(frozen=True)
class EncoderPoint:
    model: TransformerConfig
    """An encoder-only config (``encoder_only``)."""
    batch: int
    seq_len: int
    mode: str
    """train (masked-LM step) | embed (batch embedding forward)"""
    precision: str
    kind = "encoder"

    def config(self) -> dict[str, Any]:
        out = {**_model_config(self.model), "batch": self.batch, "seq_len": self.seq_len, "mode": self.mode, "precision": self.precision}
        if self.mode == "train":
            n = masked_positions(self.seq_len)
            out.update(masked=n, mlm_head_frac=n / self.seq_len)  # the head runs on the masked positions only
        else:
            out["init_dtype"] = "fp32" if self.precision == "tf32" else self.precision
        return out

    def prepare(self, ctx: Ctx) -> Prepared:
        if not self.model.encoder_only:
            raise ValueError("an encoder point needs an encoder-only TransformerConfig")
        return self._train(ctx) if self.mode == "train" else self._embed(ctx)

    def _train(self, ctx: Ctx) -> Prepared:
        cfg, spec = self.model, self.model.model_spec()
        model = build(cfg, device=ctx.device, dtype=torch.float32)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=ctx.device.type == "cuda")
        tokens = _tokens(cfg, ctx, self.batch, self.seq_len)
        n = masked_positions(self.seq_len)
        masked = torch.stack([torch.randperm(self.seq_len, device=ctx.device)[:n] for _ in range(self.batch)])
        labels = _tokens(cfg, ctx, self.batch, n)

        def fwd_bwd():
            with ctx.autocast():
                loss = lm_loss(model.mlm_logits(tokens, masked), labels)
            loss.backward()

        step, count_once = train_step(fwd_bwd, model, opt)

        return Prepared(run=step, flops=PF.mlm_train_flops(spec, self.batch, self.seq_len, n), tokens=float(self.batch * self.seq_len),
                        count=lambda: counted(count_once), keep=[model, opt, tokens, masked, labels], dispatch=True)

    def _embed(self, ctx: Ctx) -> Prepared:
        cfg, spec = self.model, self.model.model_spec()
        model = _inference_model(cfg, ctx)
        tokens = _tokens(cfg, ctx, self.batch, self.seq_len)

        @torch.inference_mode()
        def run():
            return model(tokens)

        return Prepared(run=run, flops=PF.embed_flops(spec, self.batch, self.seq_len), tokens=float(self.batch * self.seq_len),
                        count=lambda: counted(run), keep=[model, tokens], dispatch=True)


Point = GemmPoint | BandwidthPoint | LaunchPoint | AttentionPoint | TrainPoint | PrefillPoint | DecodePoint | Seq2SeqPoint | EncoderPoint
