"""Build a Hugging Face ``transformers`` model from a parsed config.json, with random weights.

``transformers`` is an optional dependency (``pip install 'dcplan[hf]'``), imported here lazily
and only by the profiler. Nothing is downloaded: the model is made by the ``transformers``
class for the config's ``model_type`` (``AutoModelForCausalLM`` / ``AutoModelForSeq2SeqLM`` /
``AutoModelForMaskedLM`` for encoder-only models ``.from_config``) and initialised in place on the target device. A multimodal config's nested
``text_config`` builds its language model only.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from dcplan.errors import InputError
from dcplan.io.hf_config import language_config

INSTALL_HINT = "profiling --impl hf needs the transformers library: pip install 'dcplan[hf]' (or pip install transformers)"
ENCODER_DECODER_TYPES = ("t5", "mt5")
ENCODER_TYPES = ("bert", "roberta", "xlm-roberta", "modernbert")


def require_transformers() -> Any:
    """The ``transformers`` module, or an InputError saying how to install it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # configs are files: never reach for the Hub
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    try:
        import transformers
    except ImportError:
        raise InputError("impl", INSTALL_HINT) from None
    transformers.logging.set_verbosity_error()  # its advice on random-weight models is noise in a profile log
    return transformers


def hf_config(config: Mapping[str, Any], file: str = "<config>") -> Any:
    """The ``transformers`` configuration object of the language model in ``config``."""
    transformers = require_transformers()
    model_type, body, _ = language_config(config, file)
    kwargs = {k: v for k, v in body.items() if k not in ("model_type", "transformers_version", "architectures", "auto_map")}
    try:
        cfg = transformers.AutoConfig.for_model(model_type, **kwargs)
    except (ValueError, KeyError) as exc:
        raise InputError("model_type", f"transformers {transformers.__version__} cannot build {model_type!r}: {exc}", file=file) from None
    cfg.use_cache = True
    return cfg


def is_encoder_decoder(config: Mapping[str, Any], file: str = "<config>") -> bool:
    return language_config(config, file)[0] in ENCODER_DECODER_TYPES


def is_encoder(config: Mapping[str, Any], file: str = "<config>") -> bool:
    """Encoder-only (BERT-style): built as its masked-LM model (``AutoModelForMaskedLM``)."""
    return language_config(config, file)[0] in ENCODER_TYPES


def build_hf(config: Mapping[str, Any], *, device: Any = "cpu", dtype: Any = None, file: str = "<config>") -> Any:
    """The ``transformers`` model of ``config`` on ``device`` with parameters in ``dtype`` (random weights)."""
    import torch

    transformers = require_transformers()
    cfg = hf_config(config, file)
    if is_encoder(config, file):
        auto = transformers.AutoModelForMaskedLM
    else:
        auto = transformers.AutoModelForSeq2SeqLM if is_encoder_decoder(config, file) else transformers.AutoModelForCausalLM
    with torch.device(device):  # initialise in place: no host copy of a large model
        model = auto.from_config(cfg)  # transformers' default attention (sdpa where the model has it)
    if dtype is not None:
        model = model.to(dtype=dtype)
    from dcplan.profile.memory import forget_peak_so_far

    forget_peak_so_far()  # random initialisation's transient copies are not what a loaded model holds
    return model


def n_params(model: Any) -> int:
    """Parameters of a torch module, each shared (tied) tensor once."""
    return sum(p.numel() for p in model.parameters())
