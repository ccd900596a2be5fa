"""Points that time real ``transformers`` models (``dcplan profile --impl hf``).

Each model is built from its config.json with random weights (:mod:`dcplan.profile.hf_build`,
nothing downloaded) and timed the way its users run it, with the precision handling of the
native points (:mod:`dcplan.profile.workloads`): fp32 weights and AdamW state under
``torch.autocast`` for bf16/fp16 training, weights stored in the precision for serving.

- train: ``model(input_ids, labels=input_ids).loss`` (the library's own shifted
  cross-entropy), backward, AdamW step, zero_grad;
- prefill: one forward over the prompts into a fresh ``DynamicCache`` with an attention mask,
  logits of the last position (``logits_to_keep=1``, as ``generate`` asks);
- decode: one new token per sequence against the model's ``DynamicCache`` holding
  ``context_len − 1`` tokens, which is cropped back after every step (eager, as ``generate``
  runs by default);
- decode with ``graphs``: the same step with a ``StaticCache`` through
  ``torch.compile(mode="reduce-overhead")`` (CUDA graphs), the way serving engines run it;
  CUDA only;
- encoder-decoder (T5): a train step on (source, target) pairs, and ``generate`` of a
  translation-shaped batch (greedy, exactly ``tgt_len`` new tokens);
- encoder-only (BERT, RoBERTa, ModernBERT), built as ``AutoModelForMaskedLM``: a masked-LM train
  step (labels on 15% of the positions, -100 elsewhere; the library's head computes the logits
  of every position), and a batch embedding forward through the model's base encoder
  (``model.base_model``: ``BertModel`` without pooler) returning the last hidden states.

Every point records ``impl: "hf"``, the model's name, ``hf_model_type``, the language model's
config (``hf_config``), the transformers version and, for decode, ``graphs``; the FLOPs are
dcplan's analytical count for the config's ModelSpec, as for native points.
"""

from __future__ import annotations

import functools
import inspect
import json
from dataclasses import dataclass, replace
from typing import Any, Mapping

import torch

from dcplan.io.hf_config import language_config, spec_from_config
from dcplan.profile import flops as PF
from dcplan.profile import workloads as W
from dcplan.profile.config import TransformerConfig
from dcplan.profile.hf_build import build_hf, hf_config, require_transformers
from dcplan.specs import ModelSpec

IMPL = "hf"


@dataclass(frozen=True)
class HFModel:
    """A model to build with transformers: its name and its config.json (as sorted JSON text)."""

    name: str
    config_json: str
    file: str = "<config>"

    @classmethod
    def from_config(cls, name: str, config: Mapping[str, Any], file: str) -> HFModel:
        model_type, body, _ = language_config(config, file)
        return cls(name=name, config_json=json.dumps({**body, "model_type": model_type}, sort_keys=True), file=file)

    @property
    def config(self) -> dict[str, Any]:
        return json.loads(self.config_json)

    def model_spec(self) -> ModelSpec:
        """The ModelSpec of what transformers builds (its tying of the output layer included)."""
        return _spec_as_built(self.name, self.config_json, self.file)

    @property
    def is_seq2seq(self) -> bool:
        return self.model_spec().architecture == "encoder-decoder"

    @property
    def is_encoder(self) -> bool:
        return self.model_spec().is_encoder


@functools.lru_cache(maxsize=64)
def _spec_as_built(name: str, config_json: str, file: str) -> ModelSpec:
    config = json.loads(config_json)
    spec = spec_from_config(config, file=file, name=name)
    tied = bool(getattr(hf_config(config, file), "tie_word_embeddings", spec.tied_embeddings))
    return replace(spec, tied_embeddings=tied)  # transformers 5.x ties T5/mT5 whatever the config says


def _model_config(model: HFModel) -> dict[str, Any]:
    spec = model.model_spec()
    transformers = require_transformers()
    return {
        "impl": IMPL,
        "model": model.name,
        "hf_model_type": model.config["model_type"],
        "transformers": transformers.__version__,
        "d_model": spec.d_model,
        "n_layers": spec.n_layers,
        "n_encoder_layers": spec.n_encoder_layers,
        "n_heads": spec.n_heads,
        "n_kv_heads": spec.kv_heads,
        "d_ff": spec.d_ff,
        "vocab_size": spec.vocab_size,
        "tied_embeddings": spec.tied_embeddings,
        "hf_config": model.config,
    }


def _eval_model(model: HFModel, ctx: W.Ctx) -> torch.nn.Module:
    """The model in eval mode, built for this point (inside its memory meter, like the native points)."""
    return build_hf(model.config, device=ctx.device, dtype=ctx.dtype, file=model.file).eval()


def _forward_args(module: torch.nn.Module) -> set[str]:
    return set(inspect.signature(module.forward).parameters)


def _cache_kwargs(module: torch.nn.Module, cache: Any) -> dict[str, Any]:
    """The cache argument by the name this transformers version uses (``cache`` in 5.2x, before it ``past_key_values``)."""
    return {"cache": cache} if "cache" in _forward_args(module) else {"past_key_values": cache}


def _dynamic_cache(module: torch.nn.Module) -> Any:
    transformers = require_transformers()
    try:
        return transformers.DynamicCache(config=module.config)
    except TypeError:
        return transformers.DynamicCache()


def _tokens(vocab: int, ctx: W.Ctx, batch: int, length: int) -> torch.Tensor:
    return torch.randint(0, vocab, (batch, length), device=ctx.device)


def _counted(fn) -> float:
    return W.counted(fn)


# --------------------------------------------------------------------------------------------
# Decoder-only
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HFTrainPoint(W.TrainPoint):
    model: HFModel  # type: ignore[assignment]
    skip_on_error = True  # a transformers error on one model is reported, the sweep goes on

    def config(self) -> dict[str, Any]:
        return {**_model_config(self.model), "batch": self.batch, "seq_len": self.seq_len, "precision": self.precision}

    def prepare(self, ctx: W.Ctx) -> W.Prepared:
        spec = self.model.model_spec()
        model = build_hf(self.model.config, device=ctx.device, dtype=torch.float32, file=self.model.file).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=ctx.device.type == "cuda")
        data = _tokens(spec.vocab_size, ctx, self.batch, self.seq_len)

        def fwd_bwd():
            with ctx.autocast():
                loss = model(input_ids=data, labels=data, use_cache=False).loss
            loss.backward()

        step, count_once = W.train_step(fwd_bwd, model, opt)

        return W.Prepared(run=step, flops=PF.train_flops(spec, self.batch, self.seq_len), tokens=float(self.batch * self.seq_len),
                          count=lambda: _counted(count_once), causal_excess=PF.causal_excess(spec, self.batch, self.seq_len, passes=3),
                          keep=[model, opt, data], dispatch=True)


@dataclass(frozen=True)
class HFPrefillPoint(W.PrefillPoint):
    model: HFModel  # type: ignore[assignment]
    skip_on_error = True  # a transformers error on one model is reported, the sweep goes on

    def config(self) -> dict[str, Any]:
        return {**_model_config(self.model), "batch": self.batch, "prompt_len": self.prompt_len, "precision": self.precision}

    def prepare(self, ctx: W.Ctx) -> W.Prepared:
        spec = self.model.model_spec()
        model = _eval_model(self.model, ctx)
        prompt = _tokens(spec.vocab_size, ctx, self.batch, self.prompt_len)
        mask = torch.ones_like(prompt)
        keep_last = {"logits_to_keep": 1} if "logits_to_keep" in _forward_args(model) else {}

        @torch.inference_mode()
        def run():
            return model(input_ids=prompt, attention_mask=mask, use_cache=True, **_cache_kwargs(model, _dynamic_cache(model)),
                         **keep_last).logits

        return W.Prepared(run=run, flops=PF.prefill_flops(spec, self.batch, self.prompt_len), tokens=float(self.batch * self.prompt_len),
                          count=lambda: _counted(run), causal_excess=PF.causal_excess(spec, self.batch, self.prompt_len, passes=1),
                          keep=[model, prompt, mask], dispatch=True)


@dataclass(frozen=True)
class HFDecodePoint(W.DecodePoint):
    model: HFModel  # type: ignore[assignment]
    skip_on_error = True  # a transformers error on one model is reported, the sweep goes on
    graphs: bool = False

    def config(self) -> dict[str, Any]:
        return {**_model_config(self.model), "batch": self.batch, "context_len": self.context_len, "precision": self.precision,
                "graphs": self.graphs}

    def prepare(self, ctx: W.Ctx) -> W.Prepared:
        spec = self.model.model_spec()
        model = _eval_model(self.model, ctx)
        run, keep = (_graphs_step if self.graphs else _eager_step)(model, spec, ctx, self.batch, self.context_len)
        return W.Prepared(run=run, flops=PF.decode_flops(spec, self.batch, self.context_len), tokens=float(self.batch),
                          count=None if self.graphs else (lambda: _counted(run)), keep=[model, *keep], dispatch=not self.graphs)


def _eager_step(model, spec: ModelSpec, ctx: W.Ctx, batch: int, context_len: int):
    """One decode step on a DynamicCache of ``context_len − 1`` tokens, cropped back afterwards."""
    cache = _dynamic_cache(model)
    past = _tokens(spec.vocab_size, ctx, batch, context_len - 1)
    token = _tokens(spec.vocab_size, ctx, batch, 1)
    mask = torch.ones(batch, context_len, dtype=torch.long, device=ctx.device)
    _prime(model, past, mask[:, :-1], cache)

    @torch.inference_mode()
    def run():
        out = model(input_ids=token, attention_mask=mask, use_cache=True, **_cache_kwargs(model, cache)).logits
        cache.crop(-1)  # back to context_len − 1 tokens: every run decodes the same step
        return out

    return run, [cache, past, token, mask]


def _prime(model, past: torch.Tensor, mask: torch.Tensor, cache: Any) -> None:
    """Fill ``cache`` with ``past`` (a prefill, last logits only, as generate asks); its transient
    memory does not count towards the decode step's peak (native decode points fill their cache
    without a forward)."""
    from dcplan.profile.memory import forget_peak_so_far

    keep_last = {"logits_to_keep": 1} if "logits_to_keep" in _forward_args(model) else {}
    with torch.inference_mode():
        model(input_ids=past, attention_mask=mask, use_cache=True, **_cache_kwargs(model, cache), **keep_last)
    forget_peak_so_far()


def _graphs_step(model, spec: ModelSpec, ctx: W.Ctx, batch: int, context_len: int):
    """The decode step on a StaticCache through torch.compile(mode="reduce-overhead") (CUDA graphs)."""
    if ctx.device.type != "cuda":
        raise W.Unsupported("decode with CUDA graphs needs a CUDA device")
    transformers = require_transformers()
    try:
        cache = transformers.StaticCache(config=model.config, max_cache_len=context_len)
    except TypeError:  # transformers 5.0-5.1 spell the batch, device and dtype out
        cache = transformers.StaticCache(config=model.config, max_batch_size=batch, max_cache_len=context_len,
                                         device=ctx.device, dtype=ctx.dtype)
    past = _tokens(spec.vocab_size, ctx, batch, context_len - 1)
    token = _tokens(spec.vocab_size, ctx, batch, 1)
    mask = torch.ones(batch, context_len, dtype=torch.long, device=ctx.device)
    positions = {"position_ids": torch.full((batch, 1), context_len - 1, device=ctx.device)}
    if "cache_position" in _forward_args(model):
        positions["cache_position"] = torch.tensor([context_len - 1], device=ctx.device)
    _prime(model, past, mask[:, :-1], cache)
    step = torch.compile(model.forward, mode="reduce-overhead", fullgraph=True)

    @torch.inference_mode()
    def run():
        torch.compiler.cudagraph_mark_step_begin()  # the graph's outputs of the last step may be overwritten
        return step(input_ids=token, attention_mask=mask, use_cache=True, **positions, **_cache_kwargs(model, cache)).logits

    try:
        for _ in range(3):  # compile, record, replay
            run()
        torch.cuda.synchronize(ctx.device)
    except Exception as exc:  # noqa: BLE001 - a compile/capture failure is reported, the sweep goes on
        raise W.Unsupported(f"torch.compile(mode='reduce-overhead') failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
    return run, [cache, past, token, mask, step]


# --------------------------------------------------------------------------------------------
# Encoder-decoder
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HFSeq2SeqPoint(W.Seq2SeqPoint):
    model: HFModel  # type: ignore[assignment]
    skip_on_error = True  # a transformers error on one model is reported, the sweep goes on

    def config(self) -> dict[str, Any]:
        return {**_model_config(self.model), "batch": self.batch, "src_len": self.src_len, "tgt_len": self.tgt_len, "mode": self.mode,
                "precision": self.precision}

    def _train(self, ctx: W.Ctx) -> W.Prepared:
        spec = self.model.model_spec()
        model = build_hf(self.model.config, device=ctx.device, dtype=torch.float32, file=self.model.file).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=ctx.device.type == "cuda")
        src = _tokens(spec.vocab_size, ctx, self.batch, self.src_len)
        tgt = _tokens(spec.vocab_size, ctx, self.batch, self.tgt_len)

        def fwd_bwd():
            with ctx.autocast():
                loss = model(input_ids=src, labels=tgt, use_cache=False).loss
            loss.backward()

        step, count_once = W.train_step(fwd_bwd, model, opt)

        return W.Prepared(run=step, flops=PF.seq2seq_train_flops(spec, self.batch, self.src_len, self.tgt_len),
                          tokens=float(self.batch * self.tgt_len), count=lambda: _counted(count_once),
                          causal_excess=PF.causal_excess(spec, self.batch, self.tgt_len, passes=3), keep=[model, opt, src, tgt], dispatch=True)

    def _generate(self, ctx: W.Ctx) -> W.Prepared:
        spec = self.model.model_spec()
        model = _eval_model(self.model, ctx)
        src = _tokens(spec.vocab_size, ctx, self.batch, self.src_len)
        mask = torch.ones_like(src)
        n = self.tgt_len
        eos = model.generation_config.eos_token_id

        @torch.inference_mode()
        def run():
            return model.generate(input_ids=src, attention_mask=mask, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                                  num_beams=1, pad_token_id=eos if isinstance(eos, int) else 0)

        return W.Prepared(run=run, flops=PF.seq2seq_generate_flops(spec, self.batch, self.src_len, n), tokens=float(self.batch * n),
                          count=lambda: _counted(run), keep=[model, src, mask], dispatch=True)


# --------------------------------------------------------------------------------------------
# Encoder-only
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HFEncoderPoint(W.EncoderPoint):
    model: HFModel  # type: ignore[assignment]
    skip_on_error = True  # a transformers error on one model is reported, the sweep goes on

    def config(self) -> dict[str, Any]:
        out = {**_model_config(self.model), "architecture": "encoder", "batch": self.batch, "seq_len": self.seq_len, "mode": self.mode,
               "precision": self.precision}
        if self.mode == "train":
            out.update(masked=W.masked_positions(self.seq_len), mlm_head_frac=1.0)  # the head runs on every position
        return out

    def prepare(self, ctx: W.Ctx) -> W.Prepared:
        return self._train(ctx) if self.mode == "train" else self._embed(ctx)

    def _train(self, ctx: W.Ctx) -> W.Prepared:
        spec = self.model.model_spec()
        model = build_hf(self.model.config, device=ctx.device, dtype=torch.float32, file=self.model.file).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=ctx.device.type == "cuda")
        data = _tokens(spec.vocab_size, ctx, self.batch, self.seq_len)
        mask = torch.ones_like(data)
        labels = torch.full_like(data, -100)
        n = W.masked_positions(self.seq_len)
        for row in range(self.batch):
            picked = torch.randperm(self.seq_len, device=ctx.device)[:n]
            labels[row, picked] = data[row, picked]

        def fwd_bwd():
            with ctx.autocast():
                loss = model(input_ids=data, attention_mask=mask, labels=labels).loss
            loss.backward()

        step, count_once = W.train_step(fwd_bwd, model, opt)

        return W.Prepared(run=step, flops=PF.mlm_train_flops(spec, self.batch, self.seq_len), tokens=float(self.batch * self.seq_len),
                          count=lambda: _counted(count_once), keep=[model, opt, data, mask, labels], dispatch=True)

    def _embed(self, ctx: W.Ctx) -> W.Prepared:
        spec = self.model.model_spec()
        encoder = _eval_model(self.model, ctx).base_model  # BertModel (no pooler) / ModernBertModel
        data = _tokens(spec.vocab_size, ctx, self.batch, self.seq_len)
        mask = torch.ones_like(data)

        @torch.inference_mode()
        def run():
            return encoder(input_ids=data, attention_mask=mask).last_hidden_state

        return W.Prepared(run=run, flops=PF.embed_flops(spec, self.batch, self.seq_len), tokens=float(self.batch * self.seq_len),
                          count=lambda: _counted(run), keep=[encoder, data, mask], dispatch=True)


# --------------------------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------------------------


def build_hf_points(models: list[HFModel], sizes: Any, precision: str, device_type: str, *, twins: bool = False) -> list[W.Point]:
    """Every ``--impl hf`` point of ``models`` at ``sizes`` (a :class:`dcplan.profile.grids.HFSizes`).

    ``twins``: also time dcplan's own Transformer with each model's shape (d_model, layers,
    heads, key/value heads, d_ff, vocabulary) at the same sizes, so the native points cover the
    region the transformers points are predicted in and the two implementations are compared
    where they do the same work.
    """
    pts: list[W.Point] = []
    for m in models:
        if m.is_encoder:
            pts += [HFEncoderPoint(m, b, s, "train", precision) for b, s in sizes.encoder_train]
            pts += [HFEncoderPoint(m, b, s, "embed", precision) for b, s in sizes.embed]
        elif m.is_seq2seq:
            pts += [HFSeq2SeqPoint(m, b, s, t, "train", precision) for b, s, t in sizes.seq2seq_train]
            pts += [HFSeq2SeqPoint(m, b, s, t, "generate", precision) for b, s, t in sizes.generate]
        else:
            pts += [HFTrainPoint(m, b, s, precision) for b, s in sizes.train]
            pts += [HFPrefillPoint(m, b, p, precision) for b, p in sizes.prefill]
            pts += [HFDecodePoint(m, b, c, precision) for b, c in sizes.decode]
            if device_type == "cuda":
                pts += [HFDecodePoint(m, b, c, precision, graphs=True) for b, c in sizes.decode]
        if twins:
            pts += native_twins(m, sizes, precision)
    return pts


def native_twins(model: HFModel, sizes: Any, precision: str) -> list[W.Point]:
    """dcplan's own Transformer with ``model``'s shape at ``sizes`` (none where the shape does not fit it:
    heads must divide d_model, as dcplan's Transformer has no separate head_dim)."""
    spec = model.model_spec()
    if spec.d_model % spec.n_heads or spec.n_heads % spec.kv_heads:
        return []
    longest = max([s for _, s in sizes.train] + [p for _, p in sizes.prefill] + [c for _, c in sizes.decode]
                  + [max(s, t + 1) for _, s, t in (*sizes.seq2seq_train, *sizes.generate)]
                  + [s for _, s in (*sizes.encoder_train, *sizes.embed)])

    def cfg(enc: int = 0, encoder_only: bool = False) -> TransformerConfig:
        return TransformerConfig(d_model=spec.d_model, n_layers=spec.n_layers, n_heads=spec.n_heads, n_kv_heads=spec.kv_heads,
                                 d_ff=spec.d_ff, vocab_size=spec.vocab_size, max_seq_len=max(16, longest), n_encoder_layers=enc,
                                 encoder_only=encoder_only)

    if spec.is_encoder:
        c = cfg(encoder_only=True)
        return ([W.EncoderPoint(c, b, s, "train", precision) for b, s in sizes.encoder_train]
                + [W.EncoderPoint(c, b, s, "embed", precision) for b, s in sizes.embed])

    if spec.architecture == "encoder-decoder":
        c = cfg(spec.n_encoder_layers)
        return ([W.Seq2SeqPoint(c, b, s, t, "train", precision) for b, s, t in sizes.seq2seq_train]
                + [W.Seq2SeqPoint(c, b, s, t, "generate", precision) for b, s, t in sizes.generate])
    c = cfg()
    return ([W.TrainPoint(c, b, s, precision) for b, s in sizes.train] + [W.PrefillPoint(c, b, p, precision) for b, p in sizes.prefill]
            + [W.DecodePoint(c, b, x, precision) for b, x in sizes.decode])
