"""The shape of a profiled Transformer and the ModelSpec that describes it (no torch).

:mod:`dcplan.profile.transformer` builds the torch module from a :class:`TransformerConfig`;
the calibration stage rebuilds the same config from a profile's measurement ``config``
(:func:`from_measurement`) to count its parameters, FLOPs and bytes with dcplan's model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from dcplan.specs import ModelSpec


@dataclass(frozen=True, kw_only=True)
class TransformerConfig:
    """Shape of a profiled Transformer."""

    d_model: int
    n_layers: int
    """Decoder layers."""
    n_heads: int
    n_kv_heads: int | None = None
    """Key/value heads (grouped-query attention); None means n_heads."""
    d_ff: int | None = None
    """FFN hidden size; None means 4 x d_model."""
    vocab_size: int = 8192
    max_seq_len: int = 2048
    n_encoder_layers: int = 0
    """> 0 makes an encoder-decoder (T5-style)."""
    encoder_only: bool = False
    """A BERT-style encoder: ``n_layers`` bidirectional layers, a masked-LM head tied to the embedding."""

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads or self.n_heads

    @property
    def ffn(self) -> int:
        return self.d_ff or 4 * self.d_model

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def is_seq2seq(self) -> bool:
        return self.n_encoder_layers > 0

    def model_spec(self, name: str = "profiled") -> ModelSpec:
        """The :class:`ModelSpec` dcplan's model uses to count this module's parameters and FLOPs."""
        return ModelSpec(
            name=name,
            architecture="encoder-decoder" if self.is_seq2seq else ("encoder" if self.encoder_only else "decoder"),
            n_layers=self.n_layers,
            n_encoder_layers=self.n_encoder_layers,
            d_model=self.d_model,
            n_heads=self.n_heads,
            n_kv_heads=self.n_kv_heads,
            d_ff=self.ffn,
            vocab_size=self.vocab_size,
            max_seq_len=self.max_seq_len,
            activation="relu" if self.is_seq2seq else "gelu",
            position="sinusoidal",
            norm="rmsnorm" if self.is_seq2seq else "layernorm",
            tied_embeddings=True,
            bias=False,
        )


def from_measurement(config: Mapping[str, Any]) -> TransformerConfig:
    """The TransformerConfig a train/prefill/decode/seq2seq/encoder measurement ran (its ``config`` keys)."""
    lengths = [int(config.get(k, 0)) for k in ("seq_len", "prompt_len", "context_len", "src_len", "tgt_len")]
    return TransformerConfig(
        d_model=int(config["d_model"]),
        n_layers=int(config["n_layers"]),
        n_heads=int(config["n_heads"]),
        n_kv_heads=int(config["n_kv_heads"]),
        d_ff=int(config["d_ff"]),
        vocab_size=int(config["vocab_size"]),
        n_encoder_layers=int(config.get("n_encoder_layers", 0)),
        encoder_only=config.get("architecture") == "encoder",
        max_seq_len=max(16, max(lengths) + 1),
    )
