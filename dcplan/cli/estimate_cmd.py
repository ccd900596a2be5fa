"""``dcplan estimate train|infer``: the analytical model on one hardware option."""

from __future__ import annotations

import argparse
from typing import Any

from dcplan.cli.main import quantity, whole
from dcplan.cli.output import fmt, pct, print_json, table, usd
from dcplan.specs import PRECISIONS, RECOMPUTE_MODES


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
    train.add_argument("--global-batch", type=whole, help="sequences per optimizer step (default ~4M tokens)")
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
    infer.set_defaults(handler=run_infer)


def _model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--model", help="catalog model name (dcplan models list)")
    g.add_argument("--params", type=quantity, help="parameter count, e.g. 70B: a shape is derived (see README)")
    p.add_argument("--active-params", type=quantity, help="with --params: active parameters of an MoE")


def _hardware_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hardware", help="catalog accelerator name (dcplan hardware list); optional with a CPU --profile")
    p.add_argument("--gpus", type=whole, required=True, help="number of accelerators")
    p.add_argument("--precision", choices=PRECISIONS, default="bf16", help="compute precision (default bf16)")
    p.add_argument("--profile", help="a calibrated profile (dcplan calibrate) to take efficiencies from")
    p.add_argument("--usd-per-hour", type=quantity, help="price per accelerator-hour [USD] (default: catalog cloud price)")
    p.add_argument("--pue", type=quantity, help="power usage effectiveness (default 1.25)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


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
    from dcplan.io.catalog import default_calibration, get_hardware

    if args.profile:
        from dcplan.io.calibration import read_calibration

        cal = read_calibration(args.profile)
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
    return hw, default_calibration(hw.name)


def _site(args: argparse.Namespace):
    from dcplan.estimate import with_site

    return with_site(None, usd_per_accelerator_hour=args.usd_per_hour, pue=args.pue)


def run_train(args: argparse.Namespace) -> int:
    from dcplan.estimate import estimate_training

    model = resolve_model(args)
    hw, cal = resolve_hardware_and_calibration(args)
    layout = {k: getattr(args, k) for k in ("tp", "pp", "dp", "ep", "cp", "zero", "recompute", "micro_batch")}
    est = estimate_training(
        model,
        hw,
        tokens=args.tokens,
        n_accelerators=args.gpus,
        seq_len=args.seq_len,
        precision=args.precision,
        layout=layout,
        global_batch=args.global_batch,
        calibration=cal,
        site=_site(args),
    )
    if args.json:
        print_json(est.to_dict())
    else:
        show_train(est)
    return 0


def show_train(e: Any) -> None:
    from dcplan.units import human_count

    lay = e.layout
    rows = [
        ("model", f"{e.model} ({human_count(e.params_total)} params" + (f", {human_count(e.params_active)} active)" if e.params_active != e.params_total else ")")),
        ("hardware", f"{e.n_accelerators} x {e.hardware}, {e.precision}"),
        ("tokens", f"{human_count(e.tokens)} (seq {e.seq_len}, global batch {e.global_batch} sequences)"),
        ("training FLOPs", f"{e.flops_total:.3e} (6ND {e.six_nd_flops:.3e})"),
        ("wall clock", f"{e.wall_clock_days:,.2f} days"),
        ("accelerator-hours", f"{e.accelerator_hours:,.0f}"),
        ("MFU / HFU", f"{pct(e.mfu_frac)} / {pct(e.hfu_frac)} (goodput {pct(e.goodput_frac, 0)})"),
        ("throughput", f"{fmt(e.tokens_per_s, 'tokens/s')}, step {e.step_time_s:.3g} s"),
        ("memory / accelerator", f"{fmt(e.memory_per_accelerator_bytes, 'B')} of {fmt(e.memory_capacity_bytes, 'B')}"),
        ("layout" + (" (searched)" if e.layout_searched else ""), f"tp={lay.tp} pp={lay.pp} cp={lay.cp} dp={lay.dp} ep={lay.ep} zero={lay.zero} recompute={lay.recompute} micro_batch={lay.micro_batch}"),
        ("energy (IT / facility)", f"{fmt(e.energy_kwh * 1e3, 'Wh')} / {fmt(e.facility_energy_kwh * 1e3, 'Wh')}"),
        ("emissions", f"{e.tco2e:,.1f} tCO2e"),
        ("cost", f"{usd(e.cost_usd)} at {usd(e.usd_per_accelerator_hour)}/accelerator-hour" if e.cost_usd is not None else "- (no published price: pass --usd-per-hour)"),
    ]
    table("Training estimate", ["quantity", "value"], rows)
    parts = [(k.replace("_s", ""), f"{v:.4g} s", pct(v / e.step_time_s)) for k, v in e.step_breakdown_s.items() if v > 0]
    table("Step time", ["part", "time", "share"], parts)
    mem = [(k, fmt(v, "B"), pct(v / e.memory_per_accelerator_bytes)) for k, v in e.memory_breakdown_bytes.items() if v > 0]
    table("Memory per accelerator", ["part", "bytes", "share"], mem)


def resolve_stack(args: argparse.Namespace, hw, cal):
    """(StackChoice or None, calibration): the stack's merged calibration, or a profile's as given."""
    from dcplan.calibrate.stacks import select_stack
    from dcplan.errors import InputError
    from dcplan.io.catalog import stack_catalog

    if args.profile:
        if args.stack:
            raise InputError("stack", "a calibrated --profile replaces the stack's fitted parameters: give one of --profile or --stack")
        return None, cal
    choice = select_stack(hw, precision=args.precision, requested=args.stack, stacks=stack_catalog(), base=cal)
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


def run_infer(args: argparse.Namespace) -> int:
    from dcplan.errors import InputError
    from dcplan.inference import estimate_inference

    model = resolve_model(args)
    hw, cal = resolve_hardware_and_calibration(args)
    stack, cal = resolve_stack(args, hw, cal)
    lengths = resolve_lengths(args)
    batch = None
    if str(args.batch).lower() != "auto":
        try:
            batch = whole(args.batch)
        except argparse.ArgumentTypeError as exc:
            raise InputError("batch", f"must be a whole number or 'auto': {exc}") from None
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
        ("energy", f"{e.energy_kwh_per_mtok:.3g} kWh (IT) per million output tokens"),
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
