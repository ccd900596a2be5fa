"""The HardwareSpec a profile calibrates: a catalog entry for a known GPU, a measured spec otherwise.

A GPU whose name matches a catalog entry or alias (``NVIDIA H200`` -> ``h200``) calibrates
that entry: its published peaks, memory and bandwidth stay, only efficiencies are fitted. Any
other device (a CPU, an unknown GPU) gets a spec built from the profile itself, each figure
flagged as measured:

- peak FLOP/s in the profiled precision = the best GEMM throughput measured (so a GEMM
  efficiency of 1.0 means "as fast as the best GEMM this device ran"; MFU figures of a CPU
  profile are relative to it);
- memory bandwidth = the best large-copy rate measured (bytes read + written per second);
- memory = host RAM (CPU) or device memory (GPU);
- power: a CPU has no measured power here (RAPL is not readable in VMs); its TDP is the Green
  Algorithms default of 12 W per core for an unlisted processor (GreenAlgorithms/
  green-algorithms-tool data/latest/TDP_cpu.csv, row "Any"; Lannelongue et al. 2021, Adv.
  Sci. 8, 2100707), times the threads used, and the server draws that alone (node power =
  TDP, one "accelerator" per node);
- collectives: the all-reduce bus bandwidth measured over the profiled processes, when the
  profile has collectives, as the scale-up bandwidth.
"""

from __future__ import annotations

from dcplan.errors import InputError
from dcplan.io.catalog import hardware_catalog
from dcplan.io.profile import catalog_match, slug
from dcplan.profile.result import Profile
from dcplan.specs import HardwareSpec, SourceNote

#: Green Algorithms' per-core TDP for a processor not in its list [W/core].
CPU_TDP_W_PER_CORE = 12.0
CPU_TDP_SOURCE = ("Green Algorithms default TDP per core for an unlisted CPU, 12 W "
                  "(GreenAlgorithms/green-algorithms-tool data/latest/TDP_cpu.csv, row 'Any'; Lannelongue et al. 2021) "
                  "x threads used; not measured")


def catalog_entry(profile: Profile) -> HardwareSpec | None:
    """The catalog entry the profiled device is, or None (CPUs, unknown GPUs)."""
    if profile.device.type != "cuda":
        return None
    catalog = hardware_catalog()
    name = profile.device.catalog_match or catalog_match(profile.device.name)
    return catalog.get(name) if name else None


def measured_spec(profile: Profile) -> HardwareSpec:
    """A HardwareSpec of the profiled device built from its measurements."""
    prec = profile.device.precision
    peak = profile.best_gemm_flops_per_s(prec)
    if peak is None:
        raise InputError("measurements", f"no {prec} GEMM measurement in the profile: cannot define the device's peak")
    bw = profile.best_bandwidth_bytes_per_s()
    if bw is None:
        raise InputError("measurements", "no bandwidth measurement in the profile: cannot define the device's memory bandwidth")
    peaks = {p: r for p in ("fp32", "tf32", "bf16", "fp16") if (r := profile.best_gemm_flops_per_s(p))}
    is_cpu = profile.device.type == "cpu"
    threads = profile.device.threads or profile.device.count or 1
    busbw = _allreduce_busbw(profile)
    tdp = CPU_TDP_W_PER_CORE * threads if is_cpu else None
    name = f"{'cpu' if is_cpu else 'gpu'}-{slug(profile.device.name)}" + (f"-{threads}t" if is_cpu else "")
    sources = [
        SourceNote(fields=("peak_flops_per_s",), source=f"measured: best GEMM of profile {profile.name} ({profile.created})", quality="measured"),
        SourceNote(fields=("hbm_bytes_per_s",), source=f"measured: best large copy (read + write bytes/s) of profile {profile.name}", quality="measured"),
        SourceNote(fields=("hbm_bytes",), source=f"{'host RAM' if is_cpu else 'device memory'} reported by the profiled machine", quality="measured"),
    ]
    if is_cpu:
        sources.append(SourceNote(fields=("tdp_w", "node_power_w"), source=CPU_TDP_SOURCE, quality="C"))
    if busbw:
        sources.append(SourceNote(fields=("intra_node_bytes_per_s",), source=f"measured: all-reduce bus bandwidth of profile {profile.name}", quality="measured"))
    return HardwareSpec(
        name=name,
        display_name=f"{profile.device.name} ({threads} threads)" if is_cpu else profile.device.name,
        aliases=(profile.device.name,),
        vendor="",
        kind="cpu" if is_cpu else "gpu",
        peak_flops_per_s=peaks,
        hbm_bytes=profile.device.memory_bytes,
        hbm_bytes_per_s=bw,
        tdp_w=tdp,
        node_power_w=tdp,
        accelerators_per_node=1 if is_cpu else None,
        scale_up_domain=(profile.settings.get("nproc") or None) if busbw else None,
        intra_node_bytes_per_s=busbw,
        sources=tuple(sources),
        notes=f"measured by dcplan profile on {profile.environment.get('hostname', '?')} ({profile.created}); peaks are measured GEMM rates, not datasheet figures",
    )


def _allreduce_busbw(profile: Profile) -> float | None:
    rates = [float(m.config["busbw_bytes_per_s"]) for m in profile.of_kind("collective")
             if m.config.get("op") == "all_reduce" and m.config.get("busbw_bytes_per_s")]
    return max(rates) if rates else None


def device_for(profile: Profile) -> tuple[HardwareSpec, bool]:
    """(spec, is_catalog_entry) for the profiled device."""
    entry = catalog_entry(profile)
    return (entry, True) if entry is not None else (measured_spec(profile), False)
