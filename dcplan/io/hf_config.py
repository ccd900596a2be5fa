"""Read a Hugging Face ``config.json`` into a :class:`~dcplan.specs.ModelSpec`.

Every open model ships a ``config.json`` whose ``model_type`` names the ``transformers`` class
that builds it. This module reads the fields that decide a model's shape, family by family,
with the defaults the ``transformers`` configuration classes apply when a field is left out
(``transformers`` 5.x, ``models/<model_type>/configuration_<model_type>.py``), so that
``dcplan.model.params.count_params`` equals ``sum(p.numel())`` of the model ``transformers``
instantiates (tests/io/test_hf_config.py builds every family from tiny configs and compares).

Families: llama, mistral (sliding window recorded), mixtral, qwen2, qwen3, qwen3_moe,
deepseek_v3 (MLA, shared experts, first-k dense layers), gemma, gemma2, gemma3 /
gemma3_text, phi3, gpt2, gpt_neox, falcon, t5, mt5; encoder-only bert, roberta, xlm-roberta,
modernbert (counted as their ``*ForMaskedLM`` model: dcplan.model.params); a multimodal config's nested
``text_config`` describes its language model (vision towers are not counted).

Bad input is an :class:`~dcplan.errors.InputError` naming the file and the config's own field:
not JSON, not an object, an unknown ``model_type`` (with the families that are read), a missing
shape field, a wrong type, or sizes that do not fit together (heads not dividing the hidden
size, key/value heads not dividing heads). Nothing here touches the network: configs are files.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable, Mapping

from dcplan.errors import InputError
from dcplan.specs import MLASpec, ModelSpec, MoESpec

#: What a folder must hold to be read as a model.
CONFIG_NAME = "config.json"
#: Largest config.json read [bytes] (real ones are a few kB; this bounds a hostile file).
MAX_CONFIG_BYTES = 1_000_000


class _Reader:
    """Typed access to one config mapping; errors name the file and the config's field."""

    def __init__(self, cfg: Mapping[str, Any], file: str, family: str, prefix: str = "") -> None:
        self.cfg, self.file, self.family, self.prefix = cfg, file, family, prefix

    def error(self, key: str, message: str) -> InputError:
        return InputError(f"{self.prefix}{key}", message, file=self.file)

    def has(self, key: str) -> bool:
        return self.cfg.get(key) is not None

    def whole(self, key: str, default: int | None = None, *, required: bool = False, zero: bool = False) -> int:
        value = self.cfg.get(key)
        if value is None:
            if required or default is None:
                raise self.error(key, f"missing: a {self.family} config.json gives it (a whole number)")
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value != int(value):
            raise self.error(key, f"must be a whole number, got {value!r}")
        if value < 0 or (value == 0 and not zero):
            raise self.error(key, f"must be {'>= 0' if zero else '> 0'}, got {value!r}")
        return int(value)

    def optional_whole(self, key: str) -> int | None:
        return self.whole(key) if self.has(key) else None

    def flag(self, key: str, default: bool) -> bool:
        value = self.cfg.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {value!r}")
        return value

    def text(self, key: str, default: str) -> str:
        value = self.cfg.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error(key, f"must be text, got {value!r}")
        return value

    def whole_list(self, key: str) -> list[int]:
        value = self.cfg.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise self.error(key, f"must be a list of layer indices, got {value!r}")
        return list(value)

    def text_list(self, key: str) -> list[str] | None:
        value = self.cfg.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"must be a list of layer types, got {value!r}")
        return list(value)


def _heads(r: _Reader, hidden: int, heads_key: str, kv_key: str | None, kv_default: int | None, head_dim: int | None) -> tuple[int, int]:
    """(heads, kv heads), checking that they fit the hidden size and each other."""
    heads = r.whole(heads_key, required=True)
    kv = heads if kv_key is None else r.whole(kv_key, kv_default if kv_default is not None else heads)
    if head_dim is None and hidden % heads:
        raise r.error(heads_key, f"must divide the hidden size ({hidden}) when no head_dim is given, got {heads}")
    if heads % kv:
        raise r.error(kv_key or heads_key, f"must divide {heads_key} ({heads}), got {kv}")
    return heads, kv


def _sliding(layer_types: list[str] | None, window: int | None, default_layers: Callable[[], int]) -> tuple[int | None, int | None]:
    """(window, layers using it); None layers means all."""
    if window is None:
        return None, None
    n = sum(1 for t in layer_types if t == "sliding_attention") if layer_types is not None else default_layers()
    return (window, n) if n else (None, None)


def _gated(act: str) -> str:
    """ModelSpec activation of a gated MLP whose gate uses ``act``."""
    return "geglu" if "gelu" in act else "swiglu"


# --------------------------------------------------------------------------------------------
# Families
# --------------------------------------------------------------------------------------------

#: llama-like decoders: family -> defaults of the transformers configuration class.
_LLAMA_LIKE: Mapping[str, Mapping[str, Any]] = {
    "llama": {"kv": None, "head_dim": None, "act": "silu", "tie": False, "max": 2048},
    "mistral": {"kv": 8, "head_dim": None, "act": "silu", "tie": False, "max": 131072, "window": 4096},
    "mixtral": {"kv": 8, "head_dim": None, "act": "silu", "tie": False, "max": 131072},
    "qwen2": {"kv": 32, "head_dim": None, "act": "silu", "tie": False, "max": 32768, "qkv_bias": True},
    "qwen3": {"kv": 32, "head_dim": 128, "act": "silu", "tie": False, "max": 32768, "qk_norm": True},
    "qwen3_moe": {"kv": 4, "head_dim": None, "act": "silu", "tie": False, "max": 32768, "qk_norm": True},
    "phi3": {"kv": None, "head_dim": None, "act": "silu", "tie": False, "max": 4096},
    "gemma": {"kv": 16, "head_dim": 256, "act": "gelu_pytorch_tanh", "tie": True, "max": 8192},
    "gemma2": {"kv": 4, "head_dim": 256, "act": "gelu_pytorch_tanh", "tie": True, "max": 8192, "norms": 4, "window": 4096},
    "gemma3_text": {"kv": 4, "head_dim": 256, "act": "gelu_pytorch_tanh", "tie": True, "max": 131072, "norms": 4, "window": 4096,
                    "qk_norm": True},
}


def _llama_like(r: _Reader, family: str, tie_default: bool | None = None) -> dict[str, Any]:
    d = _LLAMA_LIKE[family]
    hidden = r.whole("hidden_size", required=True)
    head_dim = r.optional_whole("head_dim")
    if head_dim is None and family in ("qwen3", "gemma", "gemma2", "gemma3_text"):
        head_dim = d["head_dim"]  # a class default, not hidden/heads
    heads, kv = _heads(r, hidden, "num_attention_heads", "num_key_value_heads", d["kv"], head_dim)
    layers = r.whole("num_hidden_layers", required=True)
    act = r.text("hidden_activation" if family in ("gemma2", "gemma3_text") else "hidden_act", d["act"])
    attention_bias = r.flag("attention_bias", False) if family not in ("mistral", "mixtral", "phi3", "qwen2") else False
    out: dict[str, Any] = dict(
        n_layers=layers, d_model=hidden, n_heads=heads, n_kv_heads=kv, head_dim=head_dim,
        d_ff=r.whole("intermediate_size", required=True), vocab_size=r.whole("vocab_size", required=True),
        max_seq_len=r.whole("max_position_embeddings", d["max"]), activation=_gated(act), position="rope", norm="rmsnorm",
        tied_embeddings=r.flag("tie_word_embeddings", d["tie"] if tie_default is None else tie_default),
        bias=attention_bias, qkv_bias=True if d.get("qkv_bias") else None,
        mlp_bias=r.flag("mlp_bias", False) if family == "llama" else False,
        qk_norm=bool(d.get("qk_norm")), norms_per_layer=d.get("norms"),
    )
    out["sliding_window"], out["sliding_window_layers"] = _llama_window(r, family, layers)
    return out


def _llama_window(r: _Reader, family: str, layers: int) -> tuple[int | None, int | None]:
    types = r.text_list("layer_types")
    if family in ("mistral", "mixtral", "phi3"):
        window = r.optional_whole("sliding_window") if "sliding_window" in r.cfg else _LLAMA_LIKE[family].get("window")
        return (window, None) if window else (None, None)
    if family in ("qwen2", "qwen3", "qwen3_moe"):
        if not r.flag("use_sliding_window", False):
            return None, None
        first = r.whole("max_window_layers", 28, zero=True)
        return _sliding(types, r.whole("sliding_window", 4096), lambda: max(0, layers - first))
    if family == "gemma2":
        return _sliding(types, r.whole("sliding_window", 4096), lambda: sum(1 for i in range(layers) if (i + 1) % 2))
    if family == "gemma3_text":
        pattern = r.whole("sliding_window_pattern", 6)
        return _sliding(types, r.whole("sliding_window", 4096), lambda: sum(1 for i in range(layers) if (i + 1) % pattern))
    return None, None


def _mixtral(r: _Reader) -> dict[str, Any]:
    out = _llama_like(r, "mixtral")
    experts = r.whole("num_local_experts", r.whole("num_experts", 8))
    out["moe"] = MoESpec(n_experts=experts, top_k=_top_k(r, 2, experts), d_ff_expert=out["d_ff"])
    return out


def _top_k(r: _Reader, default: int, experts: int) -> int:
    k = r.whole("num_experts_per_tok", default)
    if k > experts:
        raise r.error("num_experts_per_tok", f"must be <= the number of experts ({experts}), got {k}")
    return k


def _qwen3_moe(r: _Reader) -> dict[str, Any]:
    out = _llama_like(r, "qwen3_moe")
    if out["head_dim"] is None:
        out["head_dim"] = out["d_model"] // out["n_heads"]
    experts = r.whole("num_experts", r.whole("num_local_experts", 128), zero=True)
    layers = out["n_layers"]
    step = r.whole("decoder_sparse_step", 1)
    dense_only = set(r.whole_list("mlp_only_layers"))
    moe_layers = [i for i in range(layers) if i not in dense_only and experts > 0 and (i + 1) % step == 0]
    if moe_layers:
        out["moe"] = MoESpec(n_experts=experts, top_k=_top_k(r, 8, experts), d_ff_expert=r.whole("moe_intermediate_size", 768),
                             first_dense_layers=layers - len(moe_layers))
    return out


def _deepseek_v3(r: _Reader) -> dict[str, Any]:
    hidden = r.whole("hidden_size", required=True)
    heads = r.whole("num_attention_heads", required=True)
    if hidden % heads:
        raise r.error("num_attention_heads", f"must divide the hidden size ({hidden}), got {heads}")
    if r.flag("attention_bias", False):
        raise r.error("attention_bias", "true is not supported for deepseek_v3 (its published configs have none)")
    layers = r.whole("num_hidden_layers", required=True)
    experts = r.whole("n_routed_experts", r.whole("num_local_experts", 256))
    dense = r.whole("first_k_dense_replace", 3, zero=True)
    if dense >= layers:
        raise r.error("first_k_dense_replace", f"must be < num_hidden_layers ({layers}), got {dense}")
    q_rank = None if ("q_lora_rank" in r.cfg and r.cfg["q_lora_rank"] is None) else r.whole("q_lora_rank", 1536)
    return dict(
        n_layers=layers, d_model=hidden, n_heads=heads, n_kv_heads=None, head_dim=None,
        d_ff=r.whole("intermediate_size", required=True), vocab_size=r.whole("vocab_size", required=True),
        max_seq_len=r.whole("max_position_embeddings", 4096), activation="swiglu", position="rope", norm="rmsnorm",
        tied_embeddings=r.flag("tie_word_embeddings", False), bias=False,
        moe=MoESpec(n_experts=experts, top_k=_top_k(r, 8, experts), d_ff_expert=r.whole("moe_intermediate_size", 2048),
                    n_shared_experts=r.whole("n_shared_experts", 1, zero=True), first_dense_layers=dense),
        mla=MLASpec(q_lora_rank=q_rank, kv_lora_rank=r.whole("kv_lora_rank", 512),
                    qk_nope_head_dim=r.whole("qk_nope_head_dim", 128), qk_rope_head_dim=r.whole("qk_rope_head_dim", 64),
                    v_head_dim=r.whole("v_head_dim", 128)),
    )


def _gpt2(r: _Reader) -> dict[str, Any]:
    hidden = r.whole("n_embd", required=True)
    heads, _ = _heads(r, hidden, "n_head", None, None, None)
    act = r.text("activation_function", "gelu_new")
    return dict(
        n_layers=r.whole("n_layer", required=True), d_model=hidden, n_heads=heads, d_ff=r.whole("n_inner", 4 * hidden),
        vocab_size=r.whole("vocab_size", required=True), max_seq_len=r.whole("n_positions", r.whole("n_ctx", 1024)),
        activation="relu" if act == "relu" else "gelu", position="learned", norm="layernorm",
        tied_embeddings=r.flag("tie_word_embeddings", True), bias=True,
    )


def _gpt_neox(r: _Reader) -> dict[str, Any]:
    hidden = r.whole("hidden_size", required=True)
    heads, _ = _heads(r, hidden, "num_attention_heads", None, None, None)
    attention_bias = r.flag("attention_bias", True)
    return dict(
        n_layers=r.whole("num_hidden_layers", required=True), d_model=hidden, n_heads=heads,
        d_ff=r.whole("intermediate_size", required=True), vocab_size=r.whole("vocab_size", required=True),
        max_seq_len=r.whole("max_position_embeddings", 2048), activation="relu" if r.text("hidden_act", "gelu") == "relu" else "gelu",
        position="rope", norm="layernorm", tied_embeddings=r.flag("tie_word_embeddings", False),
        bias=attention_bias, qkv_bias=attention_bias, mlp_bias=True,
    )


def _falcon(r: _Reader) -> dict[str, Any]:
    hidden = r.whole("hidden_size" if r.has("hidden_size") or not r.has("n_embed") else "n_embed", required=True)
    heads_key = "num_attention_heads" if r.has("num_attention_heads") or not r.has("n_head") else "n_head"
    layers_key = "num_hidden_layers" if r.has("num_hidden_layers") or not r.has("n_layer") else "n_layer"
    heads = r.whole(heads_key, required=True)
    if hidden % heads:
        raise r.error(heads_key, f"must divide the hidden size ({hidden}), got {heads}")
    new_arch = r.flag("new_decoder_architecture", False)
    if new_arch:
        kv = r.whole("num_kv_heads", heads)
        if heads % kv:
            raise r.error("num_kv_heads", f"must divide {heads_key} ({heads}), got {kv}")
    else:
        kv = 1 if r.flag("multi_query", True) else heads
    parallel = r.flag("parallel_attn", True)
    n_ln = r.cfg.get("num_ln_in_parallel_attn")
    n_ln = r.whole("num_ln_in_parallel_attn") if n_ln is not None else (2 if new_arch else None)
    norms = 2 if (not parallel or n_ln == 2) else 1
    alibi = r.flag("alibi", False)
    return dict(
        n_layers=r.whole(layers_key, required=True), d_model=hidden, n_heads=heads, n_kv_heads=kv,
        d_ff=r.whole("ffn_hidden_size", 4 * hidden), vocab_size=r.whole("vocab_size", required=True),
        max_seq_len=r.whole("max_position_embeddings", 2048), activation="gelu", position="alibi" if alibi else "rope",
        norm="layernorm", tied_embeddings=r.flag("tie_word_embeddings", True), bias=r.flag("bias", False), norms_per_layer=norms,
    )


def _t5(r: _Reader, family: str) -> dict[str, Any]:
    hidden = r.whole("d_model", required=True)
    heads = r.whole("num_heads", required=True)
    d_kv = r.whole("d_kv", required=True)
    proj = r.text("feed_forward_proj", "relu" if family == "t5" else "gated-gelu")
    act = proj.split("-")[-1]
    if act not in ("relu", "gelu", "silu", "gelu_new", "gelu_pytorch_tanh") or (proj.startswith("gated") and len(proj.split("-")) != 2):
        raise r.error("feed_forward_proj", f"must be an activation or gated-<activation> (relu, gated-gelu...), got {proj!r}")
    encoder = r.whole("num_layers", required=True)
    return dict(
        architecture="encoder-decoder", n_layers=r.whole("num_decoder_layers", encoder), n_encoder_layers=encoder,
        d_model=hidden, n_heads=heads, head_dim=d_kv, d_ff=r.whole("d_ff", required=True), vocab_size=r.whole("vocab_size", required=True),
        max_seq_len=r.whole("n_positions", 512), activation=_gated(act) if proj.startswith("gated") else ("relu" if act == "relu" else "gelu"),
        position="relative", norm="rmsnorm", tied_embeddings=r.flag("tie_word_embeddings", True), bias=False,
        relative_attention_buckets=r.whole("relative_attention_num_buckets", 32),
    )


def _bert(r: _Reader, family: str) -> dict[str, Any]:
    """BERT (Devlin et al. 2019) and RoBERTa (Liu et al. 2019): post-norm encoder, learned absolute
    positions, token-type embeddings, biases everywhere, masked-LM head tied to the embedding."""
    hidden = r.whole("hidden_size", required=True)
    heads, _ = _heads(r, hidden, "num_attention_heads", None, None, None)
    act = r.text("hidden_act", "gelu")
    if act not in ("gelu", "relu", "gelu_new", "gelu_pytorch_tanh", "silu", "swish"):
        raise r.error("hidden_act", f"must be gelu, relu or silu (a BERT-style activation), got {act!r}")
    if r.text("position_embedding_type", "absolute") != "absolute":
        raise r.error("position_embedding_type", "only 'absolute' positions are read (relative_key variants are not)")
    if not r.flag("tie_word_embeddings", True):
        raise r.error("tie_word_embeddings", f"false is not read for {family}: transformers then gives the untied output layer a "
                                             "second bias, and no published BERT-style checkpoint unties it")
    return dict(
        architecture="encoder", n_layers=r.whole("num_hidden_layers", required=True), d_model=hidden, n_heads=heads,
        d_ff=r.whole("intermediate_size", required=True), vocab_size=r.whole("vocab_size", required=True),
        max_seq_len=r.whole("max_position_embeddings", 512), activation="relu" if act == "relu" else "gelu",
        position="learned", norm="layernorm", tied_embeddings=True, bias=True,
        type_vocab_size=r.whole("type_vocab_size", 2, zero=True), mlm_head=True, mlm_head_bias=True, output_bias=True,
    )


def _modernbert(r: _Reader) -> dict[str, Any]:
    """ModernBERT (Warner et al. 2024, arXiv:2412.13663): pre-norm, RoPE, GeGLU, no biases by default,
    global attention every ``global_attn_every_n_layers`` layers and local (``local_attention``
    tokens) in between; norms without bias (``norm_bias`` false) are counted as one vector each
    (as an RMSNorm); the first layer has no attention norm (the embedding norm precedes it)."""
    hidden = r.whole("hidden_size", required=True)
    heads, _ = _heads(r, hidden, "num_attention_heads", None, None, None)
    layers = r.whole("num_hidden_layers", required=True)
    every = r.whole("global_attn_every_n_layers", 3)
    window = r.whole("local_attention", 128)
    return dict(
        architecture="encoder", n_layers=layers, d_model=hidden, n_heads=heads,
        d_ff=r.whole("intermediate_size", required=True), vocab_size=r.whole("vocab_size", required=True),
        max_seq_len=r.whole("max_position_embeddings", 8192), activation=_gated(r.text("hidden_activation", "gelu")),
        position="rope", norm="layernorm" if r.flag("norm_bias", False) else "rmsnorm",
        tied_embeddings=r.flag("tie_word_embeddings", True), bias=r.flag("attention_bias", False),
        mlp_bias=r.flag("mlp_bias", False), mlm_head=True, mlm_head_bias=r.flag("classifier_bias", False),
        output_bias=r.flag("decoder_bias", True),
        **dict(zip(("sliding_window", "sliding_window_layers"),
                   _sliding(r.text_list("layer_types"), window, lambda: sum(1 for i in range(layers) if i % every)), strict=True)),
    )


_FAMILIES: Mapping[str, Callable[[_Reader], dict[str, Any]]] = {
    "llama": lambda r: _llama_like(r, "llama"),
    "mistral": lambda r: _llama_like(r, "mistral"),
    "mixtral": _mixtral,
    "qwen2": lambda r: _llama_like(r, "qwen2"),
    "qwen3": lambda r: _llama_like(r, "qwen3"),
    "qwen3_moe": _qwen3_moe,
    "deepseek_v3": _deepseek_v3,
    "gemma": lambda r: _llama_like(r, "gemma"),
    "gemma2": lambda r: _llama_like(r, "gemma2"),
    "gemma3_text": lambda r: _llama_like(r, "gemma3_text"),
    "phi3": lambda r: _llama_like(r, "phi3"),
    "gpt2": _gpt2,
    "gpt_neox": _gpt_neox,
    "falcon": _falcon,
    "t5": lambda r: _t5(r, "t5"),
    "mt5": lambda r: _t5(r, "mt5"),
    "bert": lambda r: _bert(r, "bert"),
    "roberta": lambda r: _bert(r, "roberta"),
    "xlm-roberta": lambda r: _bert(r, "xlm-roberta"),
    "modernbert": _modernbert,
}
#: Multimodal model types whose language model is a nested ``text_config`` of this type.
_TEXT_CONFIG_TYPES: Mapping[str, str] = {"gemma3": "gemma3_text"}
#: Older spellings transformers still maps to a family.
_ALIASES: Mapping[str, str] = {"RefinedWeb": "falcon", "RefinedWebModel": "falcon"}

SUPPORTED_FAMILIES: tuple[str, ...] = tuple(sorted({*_FAMILIES, *_TEXT_CONFIG_TYPES}))


def unsupported(model_type: str, file: str) -> InputError:
    return InputError("model_type", f"dcplan cannot read model_type {model_type!r}; it reads {', '.join(SUPPORTED_FAMILIES)} "
                      "(and a multimodal config's text_config of one of these)", file=file)


# --------------------------------------------------------------------------------------------
# Public
# --------------------------------------------------------------------------------------------


def language_config(cfg: Mapping[str, Any], file: str) -> tuple[str, Mapping[str, Any], str]:
    """(model_type, the mapping describing the language model, field prefix) of a parsed config.

    A multimodal config's ``text_config`` is the language model; it inherits the top level's
    ``tie_word_embeddings`` when it has none.
    """
    if not isinstance(cfg, Mapping):
        raise InputError("", f"must be a JSON object (a Hugging Face config.json), got {type(cfg).__name__}", file=file)
    top_type = cfg.get("model_type")
    text = cfg.get("text_config")
    if isinstance(text, Mapping):
        inner = text.get("model_type") or _TEXT_CONFIG_TYPES.get(str(top_type))
        if inner is None:
            raise InputError("text_config.model_type", "missing: a nested text_config needs its model_type", file=file)
        merged = dict(text)
        if "tie_word_embeddings" not in merged and "tie_word_embeddings" in cfg:
            merged["tie_word_embeddings"] = cfg["tie_word_embeddings"]
        return str(inner), merged, "text_config."
    if text is not None and not isinstance(text, Mapping):
        raise InputError("text_config", f"must be an object, got {text!r}", file=file)
    if top_type is None:
        raise InputError("model_type", f"missing: a Hugging Face config.json names its model_type (dcplan reads {', '.join(SUPPORTED_FAMILIES)})",
                         file=file)
    if not isinstance(top_type, str):
        raise InputError("model_type", f"must be text, got {top_type!r}", file=file)
    if top_type in _TEXT_CONFIG_TYPES and "hidden_size" not in cfg:
        raise InputError("text_config", f"missing: a {top_type} config describes its language model in text_config", file=file)
    return _TEXT_CONFIG_TYPES.get(top_type, top_type) if "hidden_size" in cfg else top_type, cfg, ""


def spec_from_config(cfg: Any, *, file: str, name: str | None = None, **meta: Any) -> ModelSpec:
    """The ModelSpec of a parsed ``config.json`` (``meta``: display_name, aliases, source... to set)."""
    model_type, body, prefix = language_config(cfg, file)
    family = _ALIASES.get(model_type, model_type)
    if family not in _FAMILIES:
        raise unsupported(model_type, file)
    fields = _FAMILIES[family](_Reader(body, file, family, prefix))
    label = name or default_name(file)
    base = {"name": label, "display_name": label, "family": family, "config_file": file,
            "source": f"Hugging Face config.json ({file}), model_type {model_type}", "quality": "config"}
    try:
        return ModelSpec(**{**base, **fields, **meta})
    except InputError as exc:
        raise InputError(exc.field, exc.message, file=file) from None


def config_path(path: str | os.PathLike[str]) -> Path:
    """The config.json of ``path`` (the file itself, or ``config.json`` inside a folder)."""
    p = Path(path)
    if p.is_dir():
        inner = p / CONFIG_NAME
        if not inner.is_file():
            raise InputError("model", f"no {CONFIG_NAME} in this folder", file=str(p))
        return inner
    return p


def read_config(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    """(parsed config, file name) of a config.json file or a folder holding one."""
    from dcplan.io.yamlio import read_json

    p = config_path(path)
    try:
        size = p.stat().st_size
    except OSError:
        size = 0
    if size > MAX_CONFIG_BYTES:
        raise InputError("model", f"{size:,} bytes is not a config.json (limit {MAX_CONFIG_BYTES:,})", file=str(p))
    data = read_json(p, "model")
    if not isinstance(data, dict):
        raise InputError("", f"must be a JSON object (a Hugging Face config.json), got {type(data).__name__}", file=str(p))
    return data, str(p)


def default_name(file: str) -> str:
    """A model name for a config file: its folder's name for ``config.json``, else the file's stem."""
    from dcplan.io.names import normalise

    p = Path(file)
    stem = p.parent.name if p.name == CONFIG_NAME and p.parent.name else p.stem
    return normalise(stem) or "model"


def config_spec_from_text(text: str, file: str, *, name: str | None = None) -> ModelSpec:
    """The ModelSpec of config.json text (an upload), named ``name`` or after ``file``."""
    from dcplan.io.yamlio import parse_json

    if len(text.encode("utf-8")) > MAX_CONFIG_BYTES:
        raise InputError("model", f"larger than a config.json (limit {MAX_CONFIG_BYTES:,} bytes)", file=file)
    return spec_from_config(parse_json(text, file, "model"), file=file, name=name)


def load_config_spec(path: str | os.PathLike[str], *, name: str | None = None) -> ModelSpec:
    """The ModelSpec of the config.json at ``path`` (a file or a folder holding one)."""
    data, file = read_config(path)
    return spec_from_config(data, file=file, name=name)


def looks_like_path(ref: str) -> bool:
    """True when a model reference is a path (ends in .json, has a separator, or is a folder)."""
    text = str(ref).strip()
    return text.endswith(".json") or os.sep in text or "/" in text or (bool(text) and Path(text).is_dir())
