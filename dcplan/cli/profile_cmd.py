"""``dcplan profile``: time real Transformer training and inference here and save a profile.

torch is imported inside the handler only, so other commands never load it.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from dcplan.cli.args import quantity, whole
from dcplan.cli.output import fmt, pct, print_json, table

EXIT_INTERRUPTED = 130


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profile", help="time real Transformer training and inference on this machine; save a profile")
    p.add_argument("--device", default="auto", help="auto (a GPU if torch sees one, else the CPU), cpu, cuda or cuda:N")
    p.add_argument("--sweep", default="quick", choices=("tiny", "quick", "standard", "full"),
                   help="grid size: tiny (test-sized, seconds), quick (~2 min on 2 CPU cores), standard (~10 min), full")
    p.add_argument("--time-budget", type=quantity, metavar="SECONDS",
                   help="stop planning and measuring beyond this many seconds (fewer sweeps, then fewer points)")
    p.add_argument("--dtype", default="auto", choices=("auto", "fp32", "tf32", "bf16", "fp16"),
                   help="workload precision (auto: bf16 on recent GPUs, fp32 on CPUs)")
    p.add_argument("--out", default="profiles", help="folder to write the profile into (default profiles/)")
    p.add_argument("--name", help="profile name (file NAME.json); default HOST-DEVICE-SWEEP-DATE")
    p.add_argument("--nproc", type=whole, default=1, help="also measure collectives and data-parallel steps over N processes (torchrun)")
    p.add_argument("--threads", type=whole, help="torch threads on CPU (default 1: one core, repeatable on shared machines; a dedicated machine can use all)")
    p.add_argument("--seed", type=whole, default=0, help="seed of the randomised measurement order and inputs")
    p.add_argument("--no-flop-count", action="store_true", help="skip the FlopCounterMode cross-check (and the dispatch counts)")
    p.add_argument("--impl", default="native", metavar="native|hf|native,hf",
                   help="which implementation's models to time: native (dcplan's Transformer, the default), hf (transformers "
                        "models from --models; needs pip install 'dcplan[hf]'), or both; GEMM, copy and attention kernels always")
    p.add_argument("--models", metavar="NAME|PATH[,...]",
                   help="with --impl hf: catalog models or Hugging Face config.json paths (default: small models on a CPU, "
                        "llama-3.2-1b, gpt-2-medium and t5-base on a GPU)")
    p.add_argument("--lock-clocks", action="store_true",
                   help="GPUs: pin SM clocks at their maximum for the sweep (needs administrator rights; undone after). "
                        "Without it clocks are recorded per timed block and points whose blocks differ are remeasured")
    p.add_argument("--json", action="store_true", help="print a JSON summary (path, counts) instead of the table")
    p.set_defaults(handler=run)


class _RichProgress:
    """A rich progress bar with ETA on stderr (a terminal)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.console = Console(stderr=True)
        self.bar = Progress(TextColumn("[bold]profile"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                            TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.description}"), console=self.console)
        self.task = None

    def start(self, total: float) -> None:
        self.bar.start()
        self.task = self.bar.add_task("", total=total)

    def advance(self, amount: float, description: str) -> None:
        self.bar.update(self.task, advance=amount, description=description)

    def log(self, message: str) -> None:
        self.bar.console.log(message) if "not fit" in message else None

    def stop(self) -> None:
        self.bar.stop()


class _LineProgress:
    """One line per finished point on stderr (not a terminal: logs, CI, tests)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.done = 0.0

    def start(self, total: float) -> None:
        self.total = total
        print(f"profile: planned about {total:.0f} s of measurements", file=sys.stderr, flush=True)

    def advance(self, amount: float, description: str) -> None:
        self.done += amount

    def log(self, message: str) -> None:
        share = 100 * self.done / self.total if self.total else 0.0
        print(f"profile: [{share:3.0f}%] {message}", file=sys.stderr, flush=True)

    def stop(self) -> None:
        pass


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _default_name(device_name: str, sweep: str) -> str:
    import datetime as dt
    import socket

    from dcplan.io.profile import slug

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{slug(socket.gethostname())}-{slug(device_name)[:24]}-{sweep}-{stamp}"


def run(args: argparse.Namespace) -> int:
    from dcplan import limits
    from dcplan.errors import InputError
    from dcplan.io.profile import free_profile_path, write_profile

    limits.check(limits.SWEEP_BUDGET, args.time_budget, "time-budget")
    limits.check(limits.PROCESSES, args.nproc, "nproc", whole=True)
    limits.check(limits.PROCESSES, args.threads, "threads", whole=True)
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("out", f"{out_dir} is a file, not a folder")
    if args.name and (out_dir / f"{args.name}.json").exists():
        raise InputError("name", f"{out_dir / (args.name + '.json')} exists; profiles are never overwritten: choose another --name")

    from dcplan.profile import environment
    from dcplan.profile.run import ProfileRequest, profile_device

    impl = tuple(x.strip() for x in str(args.impl).split(",") if x.strip())
    device = environment.resolve_device(args.device)
    models = hf_models(args.models, device.type) if "hf" in impl else ()
    if args.models and "hf" not in impl:
        raise InputError("models", "times transformers models: add --impl hf (the native sweep times its own grid)")
    dev_name = environment.cpu_model() if device.type == "cpu" else __import__("torch").cuda.get_device_name(device)
    name = args.name or _default_name(dev_name, args.sweep)
    req = ProfileRequest(device=args.device, sweep=args.sweep, time_budget_s=args.time_budget, precision=args.dtype,
                         threads=args.threads, nproc=args.nproc, seed=args.seed, name=name,
                         count_flops=not args.no_flop_count, lock_clocks=args.lock_clocks,
                         command=" ".join(["dcplan", *sys.argv[1:]]), impl=impl, models=models)
    progress = _RichProgress() if sys.stderr.isatty() else _LineProgress()
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a batch system's stop: save like Ctrl-C
    try:
        profile = profile_device(req, progress)
    finally:
        progress.stop()
        signal.signal(signal.SIGTERM, previous)
    if profile is None:  # a non-zero torchrun rank
        return 0
    path = out_dir / f"{name}.json" if args.name else free_profile_path(out_dir, name)
    write_profile(path, profile)
    if args.json:
        print_json(_summary_json(profile, path))
    else:
        show(profile, path)
    if profile.partial:
        print(f"dcplan: interrupted: saved the {len(profile.measurements)} completed measurements to {path} (partial)", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def hf_models(refs: str | None, device_type: str) -> tuple:
    """The transformers models to time: names or config.json paths (comma-separated), or the defaults."""
    from dcplan.errors import InputError
    from dcplan.io.catalog import get_model, model_config
    from dcplan.profile.grids import DEFAULT_HF_MODELS
    from dcplan.profile.hf_build import require_transformers
    from dcplan.profile.hf_points import HFModel

    require_transformers()  # before anything else: one line saying how to install it
    names = [r.strip() for r in (refs.split(",") if refs else DEFAULT_HF_MODELS[device_type]) if r.strip()]
    if not names:
        raise InputError("models", "give at least one model name or config.json path")
    out = []
    for ref in names:
        spec = get_model(ref)
        cfg, file = model_config(spec)
        out.append(HFModel.from_config(spec.name, cfg, file))
    return tuple(out)


def _peak_for_mfu(profile: Any, precision: str) -> tuple[float | None, str]:
    """(peak FLOP/s MFU divides by, what it is): catalog dense peak, else the best measured GEMM."""
    if precision in profile.device.peak_flops_per_s:
        return profile.device.peak_flops_per_s[precision], f"catalog dense {precision} peak of {profile.device.catalog_match}"
    best = profile.best_gemm_flops_per_s(precision)
    return best, f"best measured {precision} GEMM (no published peak for this device)"


def _short(m: Any) -> str:
    c = m.config
    if m.kind == "gemm":
        return f"{c['m']}x{c['n']}x{c['k']} {c['precision']}"
    if m.kind == "bandwidth":
        return f"copy {fmt(c['nbytes'], 'B')}"
    if m.kind == "launch":
        return f"{c['ops']} tiny {c['op']} ops"
    if m.kind == "attention":
        return f"b{c['batch']} h{c['n_heads']}/{c['n_kv_heads']} s{c['seq_len']} d{c['d_head']}"
    if m.kind == "collective":
        return f"{c['op']} {fmt(c['nbytes'], 'B')} x{c['world_size']}"
    shape = (f"{c['model']} (hf) " if c.get("impl") == "hf" else "") + f"d{c['d_model']} L{c['n_layers']}"
    shape += f"+{c['n_encoder_layers']}" if c.get("n_encoder_layers") else ""
    shape += f" h{c['n_heads']}/{c['n_kv_heads']} V{c['vocab_size']}"
    size = {"train": lambda: f"b{c['batch']} s{c['seq_len']}", "prefill": lambda: f"b{c['batch']} p{c['prompt_len']}",
            "decode": lambda: f"b{c['batch']} ctx{c['context_len']}" + (" graphs" if c.get("graphs") else ""),
            "seq2seq": lambda: f"{c['mode']} b{c['batch']} {c['src_len']}->{c['tgt_len']}",
            "encoder": lambda: f"encoder {c['mode']} b{c['batch']} s{c['seq_len']}"}[m.kind]()
    extra = f" dp{c['world_size']}{'' if c.get('grad_sync', True) else ' no-sync'}" if c.get("world_size", 1) > 1 else ""
    return f"{shape} {size}{extra}"


def show(profile: Any, path: Path) -> None:
    peak, peak_what = _peak_for_mfu(profile, profile.device.precision)
    rows = []
    for m in profile.measurements:
        if not m.fits:
            rows.append((m.id, _short(m), "does not fit", "-", "-", "-", "-"))
            continue
        rate = m.flops_per_s
        if m.kind == "launch":
            rate_text = f"{m.time / m.config['ops'] * 1e6:.3g} us/op"
        elif m.kind == "bandwidth" or m.kind == "collective":
            rate_text = fmt(m.bytes / m.time, "B/s")
        else:
            rate_text = fmt(rate, "FLOP/s") if rate else "-"
        mfu = pct(rate / peak) if (rate and peak and m.kind not in ("bandwidth", "collective", "launch")) else "-"
        rows.append((m.id, _short(m), f"{m.time * 1e3:.4g} ms", rate_text, mfu,
                     fmt(m.tokens_per_s, "tok/s") if m.tokens_per_s else "-",
                     fmt(m.peak_memory_bytes, "B") if m.peak_memory_bytes is not None else "-"))
    cap = (f"{profile.device.name} ({profile.device.type}, {profile.device.precision}, {profile.device.threads} threads); "
           f"time = min of the medians of uncontended sweeps; MFU vs {peak_what}" + (f" = {fmt(peak, 'FLOP/s')}" if peak else "")
           + f"; saved to {path}" + (f"; {len(profile.skipped)} points skipped" if profile.skipped else ""))
    table(f"Profile {profile.name} ({profile.wall_s:.0f} s)", ["id", "config", "time", "achieved", "MFU", "tokens/s", "peak memory"], rows, caption=cap)


def _summary_json(profile: Any, path: Path) -> dict[str, Any]:
    kinds: dict[str, int] = {}
    for m in profile.measurements:
        kinds[m.kind] = kinds.get(m.kind, 0) + 1
    return {
        "path": str(path),
        "name": profile.name,
        "device": profile.device.to_dict(),
        "partial": profile.partial,
        "wall_s": profile.wall_s,
        "measurements": kinds,
        "impl": list(profile.settings.get("impl", ["native"])),
        "models": list(profile.settings.get("models", [])),
        "hf_measurements": sum(1 for m in profile.measurements if m.config.get("impl") == "hf"),
        "not_fitting": sum(1 for m in profile.measurements if not m.fits),
        "skipped": len(profile.skipped),
        "best_gemm_flops_per_s": profile.best_gemm_flops_per_s(profile.device.precision),
        "best_bandwidth_bytes_per_s": profile.best_bandwidth_bytes_per_s(),
    }
