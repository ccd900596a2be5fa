"""The Transformers the profiler times: a GPT-style decoder, a T5-style encoder-decoder, a BERT-style encoder.

One readable file, blocks then models (after karpathy/nanoGPT ``model.py``); the shape,
:class:`~dcplan.profile.config.TransformerConfig`, lives in a torch-free module so that the
calibration stage can rebuild it from a profile. Shapes are chosen so that
:func:`TransformerConfig.model_spec` describes the
torch module exactly: ``dcplan.model.params.count_params(cfg.model_spec())`` equals the
module's parameter count and ``dcplan.model.flops`` counts its matrix multiplies (tests in
tests/profile/test_transformer.py).

- Token embedding plus a fixed sinusoidal positional encoding (Vaswani et al. 2017, §3.5; no
  parameters), tied to the output layer.
- Pre-norm blocks: x + Attn(Norm(x)), x + FFN(Norm(x)); a final norm.
- Multi-head self-attention softmax(QK^T/sqrt(d_k))V through
  ``F.scaled_dot_product_attention`` (fused flash/efficient kernels where torch has them),
  grouped-query attention when ``n_kv_heads < n_heads`` (Ainslie et al. 2023).
- FFN of two matrices with GELU (GPT-2) or ReLU (T5); no biases in linear layers.
- Decoder-only: causal LM with a KV cache for prefill and decode. Encoder-decoder (Raffel
  et al. 2020): bidirectional encoder, decoder with causal self-attention and cross-attention
  over the encoder output, RMSNorm, greedy generation with a self-attention cache. Encoder-only
  (Devlin et al. 2019): bidirectional layers (pre-norm, as the decoder), trained on masked
  positions: the output layer (tied to the embedding) runs on the masked 15% only, gathered
  first as BERT's reference ``run_pretraining.py`` does (``gather_indexes``); inference is the
  batch's final hidden states (embeddings), no head.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from dcplan.profile.config import TransformerConfig

# --------------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------------


def sinusoidal_positions(max_len: int, d_model: int) -> torch.Tensor:
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(...) (Vaswani et al. 2017)."""
    pos = torch.arange(max_len, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(max_len, d_model, dtype=torch.float32)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div[: d_model // 2])
    return pe


def _norm(cfg: TransformerConfig) -> nn.Module:
    return nn.RMSNorm(cfg.d_model) if cfg.is_seq2seq else nn.LayerNorm(cfg.d_model)


class KVCache:
    """Keys and values of every layer for ``batch`` sequences up to ``max_len`` tokens."""

    def __init__(self, cfg: TransformerConfig, n_layers: int, batch: int, max_len: int, *, device, dtype) -> None:
        shape = (batch, cfg.kv_heads, max_len, cfg.d_head)
        self.k = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(n_layers)]
        self.v = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(n_layers)]
        self.length = 0
        """Tokens already cached."""


class Attention(nn.Module):
    """Multi-head (grouped-query) attention; ``cross`` takes keys and values from a memory."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.n_heads, self.n_kv, self.d_head = cfg.n_heads, cfg.kv_heads, cfg.d_head
        self.q = nn.Linear(cfg.d_model, cfg.n_heads * cfg.d_head, bias=False)
        self.kv = nn.Linear(cfg.d_model, 2 * cfg.kv_heads * cfg.d_head, bias=False)
        self.o = nn.Linear(cfg.n_heads * cfg.d_head, cfg.d_model, bias=False)

    def _split(self, x: torch.Tensor, heads: int) -> torch.Tensor:
        b, s, _ = x.shape
        return x.view(b, s, heads, self.d_head).transpose(1, 2)  # (b, heads, s, d_head)

    def project_kv(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, v = self.kv(memory).chunk(2, dim=-1)
        return self._split(k, self.n_kv), self._split(v, self.n_kv)

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, causal: bool) -> torch.Tensor:
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=self.n_kv != self.n_heads)
        b, _, s, _ = out.shape
        return self.o(out.transpose(1, 2).reshape(b, s, self.n_heads * self.d_head))

    def forward(
        self,
        x: torch.Tensor,
        *,
        causal: bool,
        memory_kv: tuple[torch.Tensor, torch.Tensor] | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        q = self._split(self.q(x), self.n_heads)
        if memory_kv is not None:  # cross-attention over the encoder output
            return self.attend(q, *memory_kv, causal=False)
        k, v = self.project_kv(x)
        if cache is None:
            return self.attend(q, k, v, causal=causal)
        start, end = cache.length, cache.length + x.shape[1]
        cache.k[layer][:, :, start:end] = k
        cache.v[layer][:, :, start:end] = v
        if start == 0:  # prefill: causal over the prompt itself
            return self.attend(q, k, v, causal=causal)
        # decode: the new token(s) see everything cached (one query: no mask needed)
        return self.attend(q, cache.k[layer][:, :, :end], cache.v[layer][:, :, :end], causal=False)


class FeedForward(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.up = nn.Linear(cfg.d_model, cfg.ffn, bias=False)
        self.down = nn.Linear(cfg.ffn, cfg.d_model, bias=False)
        self.act = F.relu if cfg.is_seq2seq else F.gelu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(self.act(self.up(x)))


class Block(nn.Module):
    """Pre-norm layer: self-attention, optional cross-attention, FFN, each with a residual."""

    def __init__(self, cfg: TransformerConfig, *, cross: bool = False) -> None:
        super().__init__()
        self.norm1, self.attn = _norm(cfg), Attention(cfg)
        self.cross = Attention(cfg) if cross else None
        self.norm_x = _norm(cfg) if cross else None
        self.norm2, self.ffn = _norm(cfg), FeedForward(cfg)

    def forward(self, x, *, causal, memory_kv=None, cache=None, layer=0):
        x = x + self.attn(self.norm1(x), causal=causal, cache=cache, layer=layer)
        if self.cross is not None:
            x = x + self.cross(self.norm_x(x), causal=False, memory_kv=memory_kv)
        return x + self.ffn(self.norm2(x))


class _Embedding(nn.Module):
    """Token embedding plus sinusoidal positions; also the (tied) output projection."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.register_buffer("pe", sinusoidal_positions(cfg.max_seq_len, cfg.d_model), persistent=False)

    def forward(self, tokens: torch.Tensor, start: int = 0) -> torch.Tensor:
        return self.tok(tokens) + self.pe[start : start + tokens.shape[1]].to(self.tok.weight.dtype)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.tok.weight)


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class _LayerStack(nn.Module):
    """Embedding, ``n_layers`` blocks and the final norm: the body of the decoder-only and the
    encoder-only models (they differ in the attention mask and in what they return)."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = _Embedding(cfg)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = _norm(cfg)

    def hidden(self, tokens: torch.Tensor, *, causal: bool, cache: KVCache | None = None) -> torch.Tensor:
        """Normalised final hidden states (b, s, d); with a cache, it is filled as a side effect."""
        x = self.embed(tokens, cache.length if cache is not None else 0)
        for i, block in enumerate(self.blocks):
            x = block(x, causal=causal, cache=cache, layer=i)
        if cache is not None:
            cache.length += tokens.shape[1]
        return self.norm(x)


class DecoderLM(_LayerStack):
    """GPT-style causal language model."""

    def forward(self, tokens: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """Logits (b, s, vocab) of every position; with a cache, it is filled as a side effect."""
        return self.embed.logits(self.hidden(tokens, causal=True, cache=cache))

    def prefill(self, prompt: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Fill the cache with the prompt; logits (b, vocab) of its last position only."""
        return self.embed.logits(self.hidden(prompt, causal=True, cache=cache)[:, -1])

    def decode_step(self, token: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Next-token logits (b, vocab) for one new token (b, 1) per sequence."""
        return self.forward(token, cache)[:, -1]

    def new_cache(self, batch: int, max_len: int) -> KVCache:
        w = self.embed.tok.weight
        return KVCache(self.cfg, self.cfg.n_layers, batch, max_len, device=w.device, dtype=w.dtype)


class EncoderDecoder(nn.Module):
    """T5-style encoder-decoder (Raffel et al. 2020) with sinusoidal positions."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = _Embedding(cfg)
        self.encoder = nn.ModuleList(Block(cfg) for _ in range(cfg.n_encoder_layers))
        self.enc_norm = _norm(cfg)
        self.decoder = nn.ModuleList(Block(cfg, cross=True) for _ in range(cfg.n_layers))
        self.dec_norm = _norm(cfg)

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        x = self.embed(src)
        for block in self.encoder:
            x = block(x, causal=False)
        return self.enc_norm(x)

    def cross_kv(self, memory: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Keys and values of the encoder output for every decoder layer (computed once)."""
        return [block.cross.project_kv(memory) for block in self.decoder]

    def decode(self, tgt: torch.Tensor, cross: list, cache: KVCache | None = None) -> torch.Tensor:
        start = cache.length if cache is not None else 0
        x = self.embed(tgt, start)
        for i, block in enumerate(self.decoder):
            x = block(x, causal=True, memory_kv=cross[i], cache=cache, layer=i)
        if cache is not None:
            cache.length += tgt.shape[1]
        return self.embed.logits(self.dec_norm(x))

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits (b, s_tgt, vocab)."""
        return self.decode(tgt, self.cross_kv(self.encode(src)))

    @torch.no_grad()
    def generate(self, src: torch.Tensor, new_tokens: int, bos: int = 0) -> torch.Tensor:
        """Greedy decoding of ``new_tokens`` tokens per source (b, new_tokens)."""
        cross = self.cross_kv(self.encode(src))
        w = self.embed.tok.weight
        cache = KVCache(self.cfg, self.cfg.n_layers, src.shape[0], new_tokens, device=w.device, dtype=w.dtype)
        token = torch.full((src.shape[0], 1), bos, dtype=torch.long, device=src.device)
        out = []
        for _ in range(new_tokens):
            token = self.decode(token, cross, cache)[:, -1].argmax(-1, keepdim=True)
            out.append(token)
        return torch.cat(out, dim=1)


class EncoderLM(_LayerStack):
    """BERT-style encoder (Devlin et al. 2019): bidirectional layers, masked-LM head tied to the embedding."""

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Final hidden states (b, s, d): the embeddings of every position."""
        return self.hidden(tokens, causal=False)

    def mlm_logits(self, tokens: torch.Tensor, masked: torch.Tensor) -> torch.Tensor:
        """Logits (b, n_masked, vocab) at the ``masked`` positions (b, n_masked) only."""
        h = self.forward(tokens)
        picked = torch.gather(h, 1, masked[..., None].expand(-1, -1, h.shape[-1]))
        return self.embed.logits(picked)


def build(cfg: TransformerConfig, *, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> nn.Module:
    """The model for ``cfg`` on ``device`` with parameters created in ``dtype``.

    Parameters are initialised on the device (no host copy of a large model) and in their final
    dtype, so building a bf16 model never holds an fp32 copy (profiles before this recorded
    ``init_dtype`` built in fp32 and cast, which set the peak memory of small inference points).
    The position table is computed in fp32 and then cast.
    """
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = EncoderDecoder(cfg) if cfg.is_seq2seq else (EncoderLM(cfg) if cfg.encoder_only else DecoderLM(cfg))
    finally:
        torch.set_default_dtype(previous)
    return model.to(dtype=dtype)


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of next-token logits (b, s, vocab) against targets (b, s), in fp32."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1))
