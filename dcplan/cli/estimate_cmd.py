"""``dcplan estimate train|infer``: the analytical model on one hardware option."""

from __future__ import annotations

import argparse
from typing import Any

from dcplan.cli.args import quantity, whole
from dcplan.cli.output import fmt, pct, print_json, table, usd
from dcplan.specs import PRECISIONS, RECOMPUTE_MODES, ROUTINGS, SCHEDULES


def register(sub: argparse._SubParsersAction) -> None:
    est = sub.add_parser("estimate", help="estimate a training job or an inference deployment")
    kinds = est.add_subparsers(dest="kind", metavar="KIND", parser_class=type(est))
    kinds.required = True

    train = kinds.add_parser("train", help="time, memory, energy and cost of a training job")
    _model_args(train)
    train.add_argument("--tokens", type=quantity, required=True, help="training tokens (15T, 2e12)")
    _hardware_args(train)
    train.add_argument("--seq-len", type=whole, help="sequence length [tokens] (default: model context, at most 8192)")
    for name in ("tp", "pp", "dp", "ep", "cp"):
        train.add_argument(f"--{name}", type=whole, help=f"{name} size (searched when not given)")
    train.add_argument("--zero", type=int, choices=(0, 1, 2, 3), help="ZeRO stage (searched when not given)")
    train.add_argument("--recompute", choices=RECOMPUTE_MODES, help="activation recomputation (searched when not given)")
    train.add_argument("--micro-batch", type=whole, help="sequences per micro-batch (searched when not given)")
    train.add_argument("--vpp", type=whole, help="virtual pipeline stages per device, interleaved 1F1B (searched when not given)")
    train.add_argument("--schedule", choices=SCHEDULES,
                       help="pipeline schedule: 1f1b (searched: Megatron-LM's default), 1f1b-overlap (expert all-to-all "
                            "overlapped, Megatron-Core opt-in), dualpipe (DeepSeek-V3); the last two only when given")
    train.add_argument("--global-batch", help="global batch: sequences (2048, 2048seq) or tokens (16M, 4194304tok); "
                       "default grows with training compute (see README)")
    for flag, what in (("tp-comm-overlap", "TP collectives overlapped with GEMMs"),
                       ("overlap-grad-reduce", "gradient reduce overlapped with backward"),
                       ("overlap-param-gather", "parameter all-gather overlapped with forward"),
                       ("pp-overlap", "pipeline sends overlapped")):
        train.add_argument(f"--no-{flag}", action="store_true", help=f"turn off: {what} (on by default, as in Megatron-LM)")
    train.add_argument("--moe-routing", choices=ROUTINGS, help="MoE routing: dropless (default), balanced, capacity")
    train.add_argument("--capacity-factor", type=quantity, help="with --moe-routing capacity: expert capacity / mean load (default 1.25)")
    train.add_argument("--node-limit", type=whole, help="MoE: most nodes a token's experts may span (DeepSeek-V3: 4)")
    train.add_argument("--long-context-tokens", type=quantity,
                       help="tokens of a long-context stage, part of --tokens (Llama 3: 800B); needs --long-context-seq-len")
    train.add_argument("--long-context-seq-len", type=whole, help="sequence length of the long-context stage (Llama 3: 131072)")
    train.set_defaults(handler=run_train)

    infer = kinds.add_parser("infer", help="throughput and latency of serving a model")
    _model_args(infer)
    _hardware_args(infer)
    infer.add_argument("--input-len", type=whole, help="prompt tokens per request (or --dataset)")
    infer.add_argument("--output-len", type=whole, help="generated tokens per request (or --dataset)")
    infer.add_argument("--dataset", help="request lengths of a benchmark dataset instead (dcplan validate lists them, e.g. mlperf-llama2-70b-openorca)")
    infer.add_argument("--stack", help="serving stack (dcplan stacks list; default: the chip vendor's default stack)")
    infer.add_argument("--kv-precision", choices=PRECISIONS, help="KV-cache precision (default: fp8 with 8-bit or smaller weights, else the precision)")
    infer.add_argument("--batch", default="auto", help="concurrent sequences per replica, or 'auto' (largest that fits and meets SLOs)")
    infer.add_argument("--max-batch", type=whole, help="the engine's concurrency cap per replica (default: the stack's)")
    infer.add_argument("--tp", type=whole, help="accelerators per replica stage (default: searched over powers of two)")
    infer.add_argument("--pp", type=whole, help="pipeline stages of a replica (default 1)")
    infer.add_argument("--ep", type=whole, help="expert-parallel size for a mixture-of-experts model (default: searched)")
    infer.add_argument("--attention-dp", choices=("on", "off"), help="attention data parallelism (MLA/MoE serving; default: searched for MoE)")
    infer.add_argument("--disaggregated", action="store_true", help="size separate prefill and decode pools (P/D disaggregation)")
    infer.add_argument("--ttft-slo", type=quantity, help="time-to-first-token limit [s]")
    infer.add_argument("--tpot-slo", type=quantity, help="time-per-output-token limit [s]")
    infer.add_argument("--latency-slo", type=quantity,
                       help="encoder-only models (embeddings): the longest one batched forward may take [s]")
    infer.set_defaults(handler=run_infer)


def _model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--model", help="catalog model name (dcplan models list) or the path of a Hugging Face config.json (file or folder)")
    g.add_argument("--params", type=quantity, help="parameter count, e.g. 70B: a shape is derived (see README)")
    p.add_argument("--active-params", type=quantity, help="with --params: active parameters of an MoE")


def _hardware_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hardware", help="catalog accelerator name (dcplan hardware list); optional with a CPU --profile")
    p.add_argument("--gpus", type=whole, required=True, help="number of accelerators")
    p.add_argument("--precision", choices=PRECISIONS, default="bf16", help="compute precision (default bf16)")
    p.add_argument("--profile", help="a calibrated profile (dcplan calibrate) to take efficiencies from")
    p.add_argument("--impl", help="with --profile: the implementation to plan for, native (dcplan's eager PyTorch, the default), "
                                  "hf (transformers, eager) or graphs (static cache + CUDA graphs), if the profile timed it")
    p.add_argument("--no-measured", action="store_true",
                   help="use the shipped defaults even where dcplan ships a measured profile of the hardware (dcplan hardware show NAME)")
    p.add_argument("--usd-per-hour", type=quantity, help="price per accelerator-hour [USD] (default: catalog cloud price)")
    p.add_argument("--pue", type=quantity, help="power usage effectiveness (default 1.25)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def check_limits(args: argparse.Namespace) -> None:
    """Every size on the command line within its limit (dcplan.limits), before any work."""
    from dcplan import limits

    names = ("gpus", "tokens", "seq_len", "tp", "pp", "dp", "ep", "cp", "micro_batch", "global_batch", "params", "active_params",
             "input_len", "output_len", "usd_per_hour", "pue", "ttft_slo", "tpot_slo")
    from dcplan.errors import InputError

    values = {n: getattr(args, n, None) for n in names}
    if isinstance(values.get("global_batch"), str):
        values["global_batch"] = _batch_in_sequences(args)
    try:
        limits.check_fields(values)
        for option, like in (("long_context_tokens", "tokens"), ("long_context_seq_len", "seq_len")):
            try:
                limits.check_fields({like: getattr(args, option, None)})
            except InputError as exc:
                raise InputError(option, exc.message) from None
    except InputError as exc:
        raise InputError(exc.field.replace("_", "-"), exc.message) from None  # the option as typed


def _batch_in_sequences(args: argparse.Namespace) -> float:
    """--global-batch in sequences for the limit check (tokens over the sequence length, or
    over the default training sequence when none is given)."""
    from dcplan.estimate import DEFAULT_MAX_TRAIN_SEQ
    from dcplan.specs import parse_global_batch

    g = parse_global_batch(args.global_batch)
    if g.sequences is not None:
        return float(g.sequences)
    return float(g.tokens) / float(getattr(args, "seq_len", None) or DEFAULT_MAX_TRAIN_SEQ)  # type: ignore[arg-type]


def resolve_model(args: argparse.Namespace):
    from dcplan.errors import InputError
    from dcplan.io.catalog import get_model
    from dcplan.model.shapes import derive_dense, derive_moe

    if args.model:
        if args.active_params is not None:
            raise InputError("active-params", "only with --params (catalog models carry their own MoE shape)")
        return get_model(args.model)
    if args.active_params is not None:
        return derive_moe(args.params, args.active_params)
    return derive_dense(args.params)


def resolve_hardware_and_calibration(args: argparse.Namespace):
    """(HardwareSpec, Calibration) from --hardware and --profile."""
    from dcplan.errors import InputError
    from dcplan.io.catalog import get_hardware
    from dcplan.io.measured import calibration_for

    if getattr(args, "impl", None) and not args.profile:
        raise InputError("impl", "chooses among the implementations a profile calibrates: give --profile too")
    if args.profile:
        from dcplan.io.calibration import read_calibration

        cal = read_calibration(args.profile, getattr(args, "impl", None))
        if args.hardware:
            hw = get_hardware(args.hardware)
            if cal.hardware and cal.hardware != hw.name:
                raise InputError(
                    "profile",
                    f"{args.profile} calibrates {cal.hardware}, not {hw.name}; drop --hardware or use a profile of {hw.name}",
                )
            return hw, cal
        if cal.device is not None:
            return cal.device, cal
        if cal.hardware:
            return get_hardware(cal.hardware), cal
        raise InputError("hardware", "the profile names no device: give --hardware")
    if not args.hardware:
        raise InputError("hardware", "required unless --profile names the device (e.g. --hardware h100-sxm)")
    hw = get_hardware(args.hardware)
    return hw, calibration_for(hw.name, measured=not getattr(args, "no_measured", False)).calibration


def _site(args: argparse.Namespace):
    from dcplan.estimate import with_site

    return with_site(None, usd_per_accelerator_hour=args.usd_per_hour, pue=args.pue)


def run_train(args: argparse.Namespace) -> int:
    from dcplan.errors import InputError
    from dcplan.specs import MoERouting, OverlapSpec

    check_limits(args)
    model = resolve_model(args)
    hw, cal = resolve_hardware_and_calibration(args)
    layout = {k: getattr(args, k) for k in ("tp", "pp", "dp", "ep", "cp", "zero", "recompute", "micro_batch", "vpp", "schedule")}
    overlap = OverlapSpec(tp_comm=not args.no_tp_comm_overlap, grad_reduce=not args.no_overlap_grad_reduce,
                          param_gather=not args.no_overlap_param_gather, pp_comm=not args.no_pp_overlap)
    routing = MoERouting(policy=args.moe_routing or "dropless", node_limit=args.node_limit,
                         **({"capacity_factor": args.capacity_factor} if args.capacity_factor is not None else {}))
    if (args.long_context_tokens is None) != (args.long_context_seq_len is None):
        missing = "long-context-seq-len" if args.long_context_seq_len is None else "long-context-tokens"
        raise InputError(missing, "give --long-context-tokens and --long-context-seq-len together")
    long_context = None if args.long_context_tokens is None else (args.long_context_tokens, args.long_context_seq_len)
    try:
        est = _estimate_train(args, model, hw, cal, layout, overlap, routing, long_context)
    except InputError as exc:
        if exc.field.startswith("long_context"):
            raise InputError(exc.field.replace("_", "-"), exc.message) from None  # the option as typed
        raise
    if args.json:
        print_json(est.to_dict())
    else:
        show_train(est)
    return 0


def _estimate_train(args: argparse.Namespace, model: Any, hw: Any, cal: Any, layout: dict, overlap: Any, routing: Any,
                    long_context: tuple[float, int] | None) -> Any:
    from dcplan.estimate import estimate_training
    from dcplan.specs import parse_global_batch

    return estimate_training(
        model,
        hw,
        tokens=args.tokens,
        n_accelerators=args.gpus,
        seq_len=args.seq_len,
        precision=args.precision,
        layout=layout,
        global_batch=parse_global_batch(args.global_batch) if args.global_batch is not None else None,
        overlap=overlap,
        routing=routing,
        long_context=long_context,
        calibration=cal,
        site=_site(args),
    )


def _calibration_row(e: Any) -> tuple[str, str]:
    label = next((a.value for a in e.assumptions if a.name == "calibration"), "-")
    return ("calibration", str(label))


def show_train(e: Any) -> None:
    from dcplan.units import human_count

    lay = e.layout
    rows = [
        _calibration_row(e),
        ("model", f"{e.model} ({human_count(e.params_total)} params" + (f", {human_count(e.params_active)} active)" if e.params_active != e.params_total else ")")),
        ("hardware", f"{e.n_accelerators} x {e.hardware}" + (f" in {e.system}" if e.system else "") + f", {e.precision}"),
        ("tokens", f"{human_count(e.tokens)} (seq {e.seq_len}, global batch {e.global_batch} sequences = "
                   f"{human_count(e.global_batch * e.seq_len)} tokens)"),
        ("global batch from", e.global_batch_source),
        ("training FLOPs", f"{e.flops_total:.3e} (6ND {e.six_nd_flops:.3e})"),
        ("wall clock", f"{e.wall_clock_days:,.2f} days"),
        ("accelerator-hours", f"{e.accelerator_hours:,.0f} whole run ({e.accelerator_hours_steady_state:,.0f} at steady-state throughput)"),
        ("MFU / HFU", f"{pct(e.mfu_frac)} / {pct(e.hfu_frac)} (goodput {pct(e.goodput_frac, 0)})"),
        ("throughput", f"{fmt(e.tokens_per_s, 'tokens/s')}, step {e.step_time_s:.3g} s"),
        ("memory / accelerator", f"{fmt(e.memory_per_accelerator_bytes, 'B')} of {fmt(e.memory_capacity_bytes, 'B')}"),
        ("layout" + (f" (searched, {e.layouts_evaluated:,} candidates)" if e.layout_searched else ""),
         f"tp={lay.tp} pp={lay.pp} cp={lay.cp} dp={lay.dp} ep={lay.ep} zero={lay.zero} recompute={lay.recompute} "
         f"micro_batch={lay.micro_batch} vpp={lay.vpp} schedule={lay.schedule}"),
        ("energy (IT / facility)", f"{fmt(e.energy_kwh * 1e3, 'Wh')} / {fmt(e.facility_energy_kwh * 1e3, 'Wh')}"
         if e.energy_kwh is not None else e.power_unknown_reason),
        ("emissions", f"{e.tco2e:,.1f} tCO2e" if e.tco2e is not None else "unknown (the energy is unknown)"),
        ("cost", f"{usd(e.cost_usd)} at {usd(e.usd_per_accelerator_hour)}/accelerator-hour" if e.cost_usd is not None else "- (no published price: pass --usd-per-hour)"),
    ]
    table("Training estimate", ["quantity", "value"], rows)
    parts = [(STEP_PARTS.get(k, k), seconds(v), pct(v / e.step_time_s)) for k, v in e.step_breakdown_s.items() if v > 0]
    table("Step time", ["part", "time", "share"], parts,
          caption=f"communication overlapped with compute (not in the step; what it costs is the row "
                  f"'{STEP_PARTS['overlap_tax_s']}'): {seconds(e.hidden_comm_s)}")
    if len(e.batch_phases) > 1:
        table("Batch ramp-up", ["tokens", "global batch", "step", "tokens/s"],
              [(human_count(p.tokens), p.global_batch, f"{p.step_time_s:.4g} s", fmt(p.tokens_per_s, "tokens/s")) for p in e.batch_phases])
    hours = [(k.replace("_", " "), f"{v:,.0f}", pct(v / e.accelerator_hours)) for k, v in e.accelerator_hours_breakdown.items() if v > 0]
    table("Whole run", ["part", "accelerator-hours", "share"], hours,
          caption=f"goodput {pct(e.goodput_frac, 1)} for a job of {e.n_accelerators:,} accelerators")
    if e.long_context is not None:
        lc, ll = e.long_context, e.long_context.layout
        table("Long-context stage", ["quantity", "value"], [
            ("tokens", f"{human_count(lc.tokens)} at seq {lc.seq_len}, global batch {lc.global_batch} sequences"),
            ("throughput", f"{fmt(lc.tokens_per_s, 'tokens/s')}, step {lc.step_time_s:.3g} s"),
            ("layout (searched)", f"tp={ll.tp} pp={ll.pp} cp={ll.cp} dp={ll.dp} ep={ll.ep} zero={ll.zero} recompute={ll.recompute} "
                                  f"micro_batch={ll.micro_batch} vpp={ll.vpp}"),
        ])
    mem = [(k, fmt(v, "B"), pct(v / e.memory_per_accelerator_bytes)) for k, v in e.memory_breakdown_bytes.items() if v > 0]
    table("Memory per accelerator", ["part", "bytes", "share"], mem)


#: Words for the parts of a training step (keys of StepTime.as_dict; the JSON keeps the keys).
STEP_PARTS = {
    "compute_s": "matrix multiplications",
    "nonmatmul_s": "other work (norms, activations, casts; per-layer overheads)",
    "link_busy_s": "waiting for a shared link",
    "overlap_tax_s": "compute slowed by overlapped communication",
    "tp_comm_s": "tensor-parallel communication, exposed",
    "cp_comm_s": "context-parallel communication, exposed",
    "ep_comm_s": "expert all-to-all, exposed",
    "pp_comm_s": "pipeline sends, exposed",
    "bubble_s": "pipeline bubble",
    "dp_comm_exposed_s": "gradient sync, exposed",
    "optimizer_s": "optimizer step",
}


def seconds(value: float) -> str:
    """A duration with the unit people read it in: 3.11 s, 456 ms, 1.03 ms, 12.5 us."""
    if value >= 1 or value == 0:
        return f"{value:.3g} s"
    if value >= 1e-3:
        return f"{value * 1e3:.3g} ms"
    return f"{value * 1e6:.3g} us"


def resolve_stack(args: argparse.Namespace, hw, cal):
    """(StackChoice or None, calibration): the stack's merged calibration, or a profile's as given."""
    from dcplan.calibrate.stacks import select_stack
    from dcplan.errors import InputError
    from dcplan.io.catalog import default_calibration, stack_catalog

    if args.profile:
        if args.stack:
            raise InputError("stack", "a calibrated --profile replaces the stack's fitted parameters: give one of --profile or --stack")
        return None, cal
    # the stack's fit is over the shipped defaults; a shipped measured profile (another stack:
    # dcplan's own PyTorch modules) does not enter a serving estimate unless given as --profile
    choice = select_stack(hw, precision=args.precision, requested=args.stack, stacks=stack_catalog(),
                          base=default_calibration(hw.name))
    return choice, choice.calibration


def resolve_lengths(args: argparse.Namespace):
    """A LengthMix from --dataset, or None (fixed --input-len/--output-len)."""
    from dcplan.errors import InputError

    if args.dataset is None:
        if args.input_len is None or args.output_len is None:
            raise InputError("input-len", "give --input-len and --output-len, or --dataset NAME")
        return None
    if args.input_len is not None or args.output_len is not None:
        raise InputError("dataset", "give either --dataset or --input-len/--output-len, not both")
    from dcplan.calibrate.serving import dataset_lengths
    from dcplan.io.validation import read_serving_benchmarks

    _, datasets = read_serving_benchmarks()
    return dataset_lengths(args.dataset, datasets)


#: Options that ask for generation, refused for an encoder-only model: (args attribute, field name).
GENERATION_OPTIONS = (("output_len", "output-len"), ("dataset", "dataset"), ("tpot_slo", "tpot-slo"), ("disaggregated", "disaggregated"),
                      ("kv_precision", "kv-precision"), ("stack", "stack"), ("tp", "tp"), ("pp", "pp"), ("ep", "ep"),
                      ("attention_dp", "attention-dp"))


def run_infer(args: argparse.Namespace) -> int:
    from dcplan.errors import InputError
    from dcplan.inference import estimate_inference

    check_limits(args)
    model = resolve_model(args)
    if model.is_encoder:
        return run_embeddings(args, model)
    if args.latency_slo is not None:
        raise InputError("latency-slo", f"is for encoder-only models (embeddings); {model.name} generates: use --ttft-slo/--tpot-slo")
    hw, cal = resolve_hardware_and_calibration(args)
    stack, cal = resolve_stack(args, hw, cal)
    lengths = resolve_lengths(args)
    batch = None
    if str(args.batch).lower() != "auto":
        try:
            batch = whole(args.batch)
        except argparse.ArgumentTypeError as exc:
            raise InputError("batch", f"must be a whole number or 'auto': {exc}") from None
        from dcplan import limits

        limits.check_fields({"batch": batch})
    est = estimate_inference(
        model,
        hw,
        n_accelerators=args.gpus,
        input_len=args.input_len,
        output_len=args.output_len,
        lengths=lengths,
        precision=args.precision,
        kv_precision=args.kv_precision,
        batch=batch,
        max_batch=args.max_batch,
        tp=args.tp,
        pp=args.pp,
        ep=args.ep,
        attention_dp=None if args.attention_dp is None else args.attention_dp == "on",
        ttft_slo_s=args.ttft_slo,
        tpot_slo_s=args.tpot_slo,
        disaggregated=args.disaggregated,
        calibration=cal,
        stack=stack,
        site=_site(args),
    )
    if args.json:
        print_json(est.to_dict())
    else:
        show_infer(est)
    return 0


def run_embeddings(args: argparse.Namespace, model: Any) -> int:
    """``estimate infer`` of an encoder-only model: embedding throughput, no decode."""
    from dcplan.embedding import estimate_embeddings, refuse_generation
    from dcplan.errors import InputError

    for attr, name in GENERATION_OPTIONS:
        if getattr(args, attr, None) not in (None, False):
            refuse_generation(model, name)
    if args.input_len is None:
        raise InputError("input-len", f"give --input-len: the tokens of each request {model.name} embeds")
    batch = None if str(args.batch).lower() == "auto" else whole(args.batch)
    hw, cal = resolve_hardware_and_calibration(args)
    est = estimate_embeddings(model, hw, n_accelerators=args.gpus, input_len=args.input_len, precision=args.precision, batch=batch,
                              max_batch=args.max_batch, latency_slo_s=args.latency_slo if args.latency_slo is not None else args.ttft_slo,
                              calibration=cal, site=_site(args))
    if args.json:
        print_json(est.to_dict())
    else:
        show_embeddings(est)
    return 0


def show_embeddings(e: Any) -> None:
    from dcplan.i18n import ENGLISH as _

    what, replica, request = _("encoder-only: embeddings, no decode"), _("replica(s) of one accelerator"), _("tokens in, no tokens generated")
    limited, per_acc, req_s = _("limited by"), _("per accelerator"), _("requests/s")
    energy = (f"{fmt(e.energy_kwh_per_mtok * 1e3, 'Wh')} " + _("(IT) per million embedded tokens")) if e.energy_kwh_per_mtok is not None \
        else e.power_unknown_reason
    cost = (f"{usd(e.usd_per_mtok)} " + _("per million embedded tokens at") + f" {usd(e.usd_per_accelerator_hour)}/h") \
        if e.usd_per_mtok is not None else _("- (no published price: pass --usd-per-hour)")
    rows = [
        (_("model"), f"{e.model} ({what})"),
        (_("hardware"), f"{e.n_accelerators} x {e.hardware}, {e.precision}: {e.replicas} {replica}"),
        (_("request"), f"{e.input_len:,.0f} {request}"),
        (_("batch per replica"), f"{e.batch_size} ({limited} {e.binding_limit})"),
        (_("throughput"), f"{(f'{e.requests_per_s:,.0f}' if e.requests_per_s >= 100 else f'{e.requests_per_s:.3g}')} {req_s}, {fmt(e.tokens_per_s, 'tokens/s')} ({fmt(e.tokens_per_s_per_accelerator, 'tokens/s')} {per_acc})"),
        (_("batch latency"), f"{e.batch_latency_s * 1e3:.4g} ms"),
        (_("memory / accelerator"), f"{fmt(e.memory_per_accelerator_bytes, 'B')} / {fmt(e.memory_capacity_bytes, 'B')}"),
        (_("energy"), energy),
        (_("cost"), cost),
    ]
    table(_("Embedding estimate"), [_("quantity"), _("value")], rows)


def _layout(e: Any) -> str:
    parts = [f"tp={e.tp}"] + ([f"pp={e.pp}"] if e.pp > 1 else []) + ([f"ep={e.ep}"] if e.ep > 1 else [])
    return " ".join(parts) + (" attention-dp" if e.attention_dp else "")


def _stack_line(e: Any) -> str:
    s = e.stack
    if s is None:
        return "- (a calibrated profile's parameters)"
    h = s.held_out
    loo = f", held-out ({h.get('method', 'leave-one-out')}) median error {h['median_ape_pct']:.0f}%" if h.get("n") else ""
    if s.fallback:
        return f"none: parameters pooled over {s.rows} published rows of other chips and stacks"
    return f"{s.stack} ({s.version or s.engine}): fitted on {s.rows} published rows, {s.rows_on_chip} on {s.chip}{loo}"


def show_infer(e: Any) -> None:
    rows = [
        _calibration_row(e),
        ("model", e.model),
        ("hardware", f"{e.n_accelerators} x {e.hardware}, {e.precision} (KV cache {e.kv_precision}): {e.replicas} replica(s) of {_layout(e)}"),
        ("serving stack", _stack_line(e)),
        ("request", f"{e.input_len:,.0f} in / {e.output_len:,.0f} out tokens (mean; cache held {e.context_len:,.0f} tokens)"),
        ("batch per replica", f"{e.batch_size} (limited by {e.binding_limit})"),
        ("output throughput", f"{fmt(e.tokens_per_s, 'tokens/s')} ({fmt(e.tokens_per_s_per_accelerator, 'tokens/s')} per accelerator, {e.requests_per_s:.3g} requests/s)"),
        ("TTFT", f"{e.ttft_s * 1e3:.4g} ms (prefill {e.prefill_s * 1e3:.4g} ms)"),
        ("TPOT", f"{e.tpot_s * 1e3:.4g} ms (decode step {e.decode_step_s * 1e3:.4g} ms, {e.bound}-bound)"),
        ("KV cache", f"{fmt(e.kv_bytes_per_token, 'B')}/token"),
        ("memory / accelerator", f"{fmt(e.memory_per_accelerator_bytes, 'B')} of {fmt(e.memory_capacity_bytes, 'B')} usable"),
        ("energy", f"{e.energy_kwh_per_mtok:.3g} kWh (IT) per million output tokens" if e.energy_kwh_per_mtok is not None
         else e.power_unknown_reason),
        ("cost", f"{usd(e.usd_per_mtok)} per million output tokens at {usd(e.usd_per_accelerator_hour)}/h" if e.usd_per_mtok is not None else "- (no published price: pass --usd-per-hour)"),
    ]
    if e.disaggregated:
        d = e.disaggregated
        for phase in ("prefill", "decode"):
            p = d[phase]
            rows.append((f"{phase} pool", f"{p['instances']} x {p['accelerators'] // p['instances']} accelerators (tp={p['tp']} ep={p['ep']}"
                                          f"{' attention-dp' if p['attention_dp'] else ''}), {fmt(p['tokens_per_s_per_accelerator'], 'tokens/s')} per accelerator"))
        rows.append(("prefill : decode", f"{d['prefill_to_decode_accelerators']:.2f} (KV transfer {d['kv_transfer_s'] * 1e3:.3g} ms per request)"))
    table("Inference estimate", ["quantity", "value"], rows)
    if len(e.search) > 1:
        srows = [(f"tp={s['tp']} pp={s['pp']} ep={s['ep']}" + (" attention-dp" if s["attention_dp"] else ""),
                  fmt(s["tokens_per_s_per_accelerator"], "tokens/s") if s.get("tokens_per_s_per_accelerator") else "-",
                  s.get("batch", "-"), s.get("binding_limit") or s.get("reason", "")) for s in e.search]
        table("Layouts tried", ["layout", "per accelerator", "batch", "limit / reason"], srows)
    for w in e.warnings:
        print(f"warning: {w}")
