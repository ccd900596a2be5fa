"""What dcplan's model predicts for each measurement of a profile (time and peak memory).

Every prediction goes through the same functions ``dcplan estimate`` uses
(:mod:`dcplan.model.time`, :mod:`dcplan.model.memory`), on the :class:`ModelSpec` of the torch
module that ran, one device, no parallelism:

- train: ``train_step_time`` with micro-batch = batch, one micro-batch, no recomputation;
  memory ``train_memory``;
- prefill: ``prefill_time`` of ``batch`` prompts; memory ``infer_memory`` with the cache
  sized to the prompt and ``batch x prompt_len`` tokens in flight;
- decode: ``decode_step_time`` at ``context_len``; memory ``infer_memory`` with the cache of
  ``batch x context_len`` tokens and one token per sequence in flight;
- seq2seq train: ``train_step_time`` with the encoder-decoder FLOPs of
  ``dcplan.model.flops.seq2seq_train_flops`` over the mean of the source and target lengths;
- seq2seq generate: the encoder as a prefill of the source, then ``tgt_len`` decode steps
  at the mean context (self-attention keys + encoder keys), on the decoder's weights
  (cross-attention projections are not in that count: a known approximation);
- encoder train (masked-LM step): ``train_step_time`` with the encoder's FLOPs (bidirectional,
  the head at the recorded ``mlm_head_frac`` of the positions); memory ``train_memory`` with
  logits at those positions;
- encoder embed: ``prefill_time`` of the encoder (:func:`dcplan.embedding.embed_batch_time`:
  bidirectional, no head); memory with no cache and no logits.
No parameter is fitted on encoder points: they are predicted from the decoder-only terms and
every prediction is out of sample (held out by construction).

The speed-of-light (uncalibrated roofline) figure is the same prediction with every
efficiency 1 and every overhead 0: max(FLOPs/peak, bytes/bandwidth).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from dcplan.model import flops as F
from dcplan.model import seq2seq as S2S
from dcplan.model.memory import infer_memory, train_memory
from dcplan.model.params import ParamCounts, count_params
from dcplan.model.time import decode_step_time, prefill_time, train_step_time
from dcplan.profile.config import from_measurement
from dcplan.profile.result import Measurement
from dcplan.specs import BYTES_PER_ELEMENT, Calibration, EfficiencyCurve, HardwareSpec, ModelSpec, ParallelLayout

TIME_KINDS = ("train", "prefill", "decode", "seq2seq", "encoder")

SPEED_OF_LIGHT = Calibration(
    name="speed-of-light",
    gemm=EfficiencyCurve(eta_max=1.0, x_half=0.0),
    train=EfficiencyCurve(eta_max=1.0, x_half=0.0),
    prefill=EfficiencyCurve(eta_max=1.0, x_half=0.0),
    decode_bw_frac=1.0,
    decode_t0_s=0.0,
    memory_factor=1.0,
    memory_constant_bytes=0.0,
    sources={"*": "roofline: every efficiency 1, no overhead"},
)


@dataclass(frozen=True)
class Case:
    """One model measurement with what the model needs to predict it."""

    m: Measurement
    spec: ModelSpec
    counts: ParamCounts
    precision: str

    @property
    def cfg(self):
        return self.m.config

    @property
    def size(self) -> float:
        """The work size leave-largest-out sorts by: the operation's FLOPs (bytes for memory)."""
        return float(self.m.flops or 0.0)


def case(m: Measurement) -> Case:
    spec = model_spec_of(m)
    return Case(m=m, spec=spec, counts=count_params(spec), precision=str(m.config["precision"]))


def model_spec_of(m: Measurement) -> ModelSpec:
    """The ModelSpec of the module a measurement ran: dcplan's Transformer, or a transformers model
    (``impl: "hf"``: its recorded config.json, with the output-layer tying transformers built)."""
    cfg = m.config
    if cfg.get("impl") == "hf":
        from dcplan.io.hf_config import spec_from_config

        spec = spec_from_config(cfg["hf_config"], file=f"measurement {m.id}", name=str(cfg.get("model", m.id)))
        return replace(spec, tied_embeddings=bool(cfg.get("tied_embeddings", spec.tied_embeddings)))
    return from_measurement(cfg).model_spec(m.id)


def implementation_of(m: Measurement) -> str:
    """Which implementation a measurement timed: ``native``, ``hf eager`` or ``graphs``."""
    if m.config.get("graphs"):
        return "graphs"
    return "hf eager" if m.config.get("impl") == "hf" else "native"


def _layout(batch: int) -> ParallelLayout:
    return ParallelLayout(micro_batch=batch, recompute="none", zero=1, sequence_parallel=False)


def _train(c: Case, hw: HardwareSpec, cal: Calibration, seq: float, flops_per_seq: float) -> float:
    b = int(c.cfg["batch"])
    step = train_step_time(c.spec, c.counts, hw, cal, _layout(b), seq_len=seq, global_batch=b, precision=c.precision,
                           hfu_flops_per_token=flops_per_seq / seq)
    return step.total_s


def predict_time(c: Case, hw: HardwareSpec, cal: Calibration) -> float:
    """Seconds the model predicts for one timed operation of ``c`` [s]."""
    kind, cfg = c.m.kind, c.cfg
    if kind == "train":
        s = int(cfg["seq_len"])
        return _train(c, hw, cal, s, F.train_flops_per_token(c.spec, s) * s)
    if kind == "prefill":
        return prefill_time(c.spec, c.counts, hw, cal, tp=1, batch=int(cfg["batch"]), prompt_len=int(cfg["prompt_len"]),
                            precision=c.precision)
    if kind == "decode":
        t, _ = decode_step_time(c.spec, c.counts, hw, cal, tp=1, batch=int(cfg["batch"]), context_len=int(cfg["context_len"]),
                                precision=c.precision, impl=str(cfg.get("impl", "eager")))
        return t
    if kind == "encoder" and cfg["mode"] == "train":
        s = int(cfg["seq_len"])
        return _train(c, hw, cal, s, F.mlm_train_flops_per_token(c.spec, s, mlm_head_frac=mlm_head_frac(c)) * s)
    if kind == "encoder":
        return prefill_time(c.spec, c.counts, hw, cal, tp=1, batch=int(cfg["batch"]), prompt_len=int(cfg["seq_len"]), precision=c.precision)
    if kind == "seq2seq" and cfg["mode"] == "train":
        return S2S.seq2seq_train_step_time(c.spec, c.counts, hw, cal, batch=int(cfg["batch"]), src_len=int(cfg["src_len"]),
                                           tgt_len=int(cfg["tgt_len"]), precision=c.precision)
    if kind == "seq2seq":
        return S2S.generate_time(c.spec, c.counts, hw, cal, batch=int(cfg["batch"]), src_len=int(cfg["src_len"]),
                                 new_tokens=int(cfg["tgt_len"]), precision=c.precision, impl=str(cfg.get("impl", "eager")))
    raise ValueError(f"no time model for {kind}")


def mlm_head_frac(c: Case) -> float:
    """Share of positions the masked-LM head of an encoder train point ran on (1: all, as transformers does)."""
    return float(c.cfg.get("mlm_head_frac", 1.0))


def predict_memory(c: Case, cal: Calibration) -> float:
    """Peak bytes the model predicts for ``c`` (analytical x memory_factor + constant) [bytes].

    Inference points: the larger of the serving peak (:func:`serving_memory`) and the peak
    while the profiler built the module (:func:`construction_bytes`), both measured inside the
    same ``max_memory_allocated`` window.
    """
    kind, cfg = c.m.kind, c.cfg
    b = int(cfg["batch"])
    if kind == "train":
        return train_memory(c.counts, c.spec, _layout(b), seq_len=int(cfg["seq_len"]), precision=c.precision, n_microbatches=1,
                            calibration=cal).total
    if kind == "encoder" and cfg["mode"] == "train":
        return train_memory(c.counts, c.spec, _layout(b), seq_len=int(cfg["seq_len"]), precision=c.precision, n_microbatches=1,
                            calibration=cal, mlm_head_frac=mlm_head_frac(c)).total
    if kind == "seq2seq" and cfg["mode"] == "train":
        return S2S.seq2seq_train_memory(c.counts, c.spec, batch=b, src_len=int(cfg["src_len"]), tgt_len=int(cfg["tgt_len"]),
                                        precision=c.precision, calibration=cal).total
    return max(serving_memory(c, cal), construction_bytes(c))


def serving_memory(c: Case, cal: Calibration) -> float:
    """Peak bytes of a prefill, a decode step or a generation as the profiler runs them [bytes].

    The profiler's model returns bf16 (or fp16, fp32: the serving precision) logits: of the last
    prompt position in a prefill, of the new token in a decode step. Its caches are static
    (allocated for the whole context). A generation: :func:`dcplan.model.seq2seq.generate_memory`.
    """
    kind, cfg = c.m.kind, c.cfg
    b = int(cfg["batch"])
    logit_b = BYTES_PER_ELEMENT["fp32" if c.precision == "tf32" else c.precision]
    opts = {"tp": 1, "batch": b, "precision": c.precision, "calibration": cal, "logit_positions": b, "logit_bytes": logit_b}
    if kind == "prefill":
        p = int(cfg["prompt_len"])
        return infer_memory(c.counts, c.spec, context_len=p, prompt_len=b * p, **opts).total
    if kind == "decode":
        return infer_memory(c.counts, c.spec, context_len=int(cfg["context_len"]), prompt_len=b, **opts).total
    if kind == "encoder":
        return infer_memory(c.counts, c.spec, context_len=0, prompt_len=b * int(cfg["seq_len"]), **{**opts, "logit_positions": 0}).total
    return S2S.generate_memory(c.counts, c.spec, batch=b, src_len=int(cfg["src_len"]), new_tokens=int(cfg["tgt_len"]),
                               precision=c.precision, calibration=cal, logit_bytes=logit_b).total


def construction_bytes(c: Case) -> float:
    """Peak while the profiler built an inference module [bytes].

    Its parameters are created in ``init_dtype`` (the point's config; profiles written before
    dcplan recorded it built in fp32) and the sinusoidal position table in fp32, then cast to
    the serving precision tensor by tensor: the peak is all of them plus the first tensor cast
    (the embedding, or with parameters already in the serving dtype the position table).
    """
    init = str(c.cfg.get("init_dtype", "fp32"))
    serve = "fp32" if c.precision == "tf32" else c.precision
    init_b, serve_b = BYTES_PER_ELEMENT[init], BYTES_PER_ELEMENT[serve]
    table = c.spec.max_seq_len * c.spec.d_model
    built = c.counts.total * init_b + table * 4.0  # the position table is computed in fp32
    return built + (c.counts.embedding if init != serve else table) * serve_b


def predictor(kind: str) -> Callable[[Case, HardwareSpec, Calibration], float]:
    """The prediction function of a held-out kind: time kinds, or 'memory'."""
    if kind == "memory":
        return lambda c, hw, cal: predict_memory(c, cal)
    return predict_time
