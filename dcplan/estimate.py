"""The performance model's face for training: ``estimate_training`` (serving: dcplan.inference).

``estimate_training`` takes typed specs (model, hardware, optional
calibration and site parameters) and returns a typed, immutable result whose ``to_dict()`` is
the documented ``--json`` output of ``dcplan estimate``. Pure: no file, clock or network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from dcplan.errors import InputError
from dcplan.model import energy as E
from dcplan.model import flops as F
from dcplan.model.layout import TrainSetup, check_partial_layout, evaluate_fixed, search_layout
from dcplan.model.params import count_params
from dcplan.specs import Calibration, HardwareSpec, ModelSpec, ParallelLayout, SiteParams
from dcplan.units import SECONDS_PER_DAY, SECONDS_PER_HOUR

#: Training sequence length when none is given and the model's context is longer (Llama 3's
#: main pre-training stage ran at 8,192 tokens, arXiv:2407.21783 §3.4).
DEFAULT_MAX_TRAIN_SEQ = 8192
LAYOUT_FIELDS = ("tp", "pp", "dp", "ep", "cp", "zero", "recompute", "micro_batch", "vpp")
#: Fields that must all be given for a layout to be evaluated without search (vpp defaults to 1).
REQUIRED_LAYOUT_FIELDS = LAYOUT_FIELDS[:-1]


@dataclass(frozen=True, kw_only=True)
class Assumption:
    """One parameter an estimate used, with its unit and source."""

    name: str
    value: Any
    unit: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "unit": self.unit, "source": self.source}


def _check_positive(field_name: str, value: float | int | None, *, whole: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InputError(field_name, f"must be a finite number > 0, got {value!r}")
    if whole and value != int(value):
        raise InputError(field_name, f"must be a whole number, got {value!r}")


def _calibration_assumptions(cal: Calibration, phase: str) -> list[Assumption]:
    curve = cal.train if phase == "train" else cal.prefill
    out = [
        Assumption(name="gemm.eta_max", value=cal.gemm.eta_max, unit="fraction of dense peak", source=cal.source("gemm")),
        Assumption(name="gemm.x_half", value=cal.gemm.x_half, unit="FLOP", source=cal.source("gemm")),
        Assumption(name=f"{phase}.eta_max", value=curve.eta_max, unit="fraction of GEMM ceiling", source=cal.source(phase)),
        Assumption(name=f"{phase}.x_half", value=curve.x_half, unit="FLOP", source=cal.source(phase)),
        Assumption(name=f"{phase}.t0_s", value=curve.t0_s, unit="s", source=cal.source(phase)),
        Assumption(name="memory_factor", value=cal.memory_factor, unit="ratio", source=cal.source("memory_factor")),
        Assumption(name="memory_constant_bytes", value=cal.memory_constant_bytes, unit="bytes", source=cal.source("memory_constant_bytes")),
    ]
    return out


def _site_assumptions(site: SiteParams, hw: HardwareSpec, load_frac: float, load_name: str, cal: Calibration) -> list[Assumption]:
    server_src = (
        f"data/hardware/{hw.name}.yaml node_power_w / accelerators_per_node"
        if hw.node_power_w and hw.accelerators_per_node
        else site.sources.get("server_power_ratio", "Epoch AI training-cost-trends/energy.py: server/chip power 1.82 (DGX H100 10.2 kW / 8 / 0.7 kW)")
    )
    return [
        Assumption(name="server_power_per_accelerator_w", value=E.server_power_per_accelerator_w(hw, site), unit="W", source=server_src),
        Assumption(name=load_name, value=load_frac, unit="fraction of peak power", source=cal.source(load_name)),
        Assumption(name="pue", value=site.pue, unit="ratio", source=site.sources.get("pue", "Epoch AI training-cost-trends/energy.py: PUE 1.25 outside hyperscalers (1.1 for hyperscalers)")),
        Assumption(name="grid_gco2_per_kwh", value=site.grid_gco2_per_kwh, unit="gCO2e/kWh", source=site.sources.get("grid_gco2_per_kwh", "CodeCarbon methodology: 475 g/kWh world average")),
    ]


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TrainingEstimate:
    """What a training job needs and costs on one hardware option (SI units)."""

    model: str
    hardware: str
    n_accelerators: int
    tokens: float
    seq_len: int
    precision: str
    global_batch: int
    """Sequences per optimizer step."""
    params_total: float
    params_active: float
    flops_per_token: float
    """Model FLOPs per token (causal-aware, no recomputation)."""
    hardware_flops_per_token: float
    """With recomputation (HFU numerator)."""
    flops_total: float
    six_nd_flops: float
    palm_flops_per_token: float
    step_time_s: float
    step_breakdown_s: Mapping[str, float]
    tokens_per_s: float
    """Training throughput while the job runs (before goodput losses)."""
    mfu_frac: float
    hfu_frac: float
    goodput_frac: float
    wall_clock_days: float
    accelerator_hours: float
    memory_per_accelerator_bytes: float
    memory_breakdown_bytes: Mapping[str, float]
    memory_capacity_bytes: float
    it_power_per_accelerator_w: float
    energy_kwh: float
    """IT energy."""
    facility_energy_kwh: float
    tco2e: float
    usd_per_accelerator_hour: float | None
    cost_usd: float | None
    layout: ParallelLayout
    layout_searched: bool
    assumptions: tuple[Assumption, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        lay = self.layout
        return {
            "model": self.model,
            "hardware": self.hardware,
            "n_accelerators": self.n_accelerators,
            "tokens": self.tokens,
            "seq_len": self.seq_len,
            "precision": self.precision,
            "global_batch": self.global_batch,
            "params_total": self.params_total,
            "params_active": self.params_active,
            "flops_total": self.flops_total,
            "flops_per_token": self.flops_per_token,
            "hardware_flops_per_token": self.hardware_flops_per_token,
            "six_nd_flops": self.six_nd_flops,
            "palm_flops_per_token": self.palm_flops_per_token,
            "accelerator_hours": self.accelerator_hours,
            "wall_clock_days": self.wall_clock_days,
            "mfu_frac": self.mfu_frac,
            "hfu_frac": self.hfu_frac,
            "goodput_frac": self.goodput_frac,
            "tokens_per_s": self.tokens_per_s,
            "step_time_s": self.step_time_s,
            "step_breakdown_s": dict(self.step_breakdown_s),
            "memory_per_accelerator_bytes": self.memory_per_accelerator_bytes,
            "memory_breakdown_bytes": dict(self.memory_breakdown_bytes),
            "memory_capacity_bytes": self.memory_capacity_bytes,
            "it_power_per_accelerator_w": self.it_power_per_accelerator_w,
            "energy_kwh": self.energy_kwh,
            "facility_energy_kwh": self.facility_energy_kwh,
            "tco2e": self.tco2e,
            "usd_per_accelerator_hour": self.usd_per_accelerator_hour,
            "cost_usd": self.cost_usd,
            "parallelism": {
                "tp": lay.tp,
                "pp": lay.pp,
                "dp": lay.dp,
                "ep": lay.ep,
                "cp": lay.cp,
                "zero": lay.zero,
                "recompute": lay.recompute,
                "micro_batch": lay.micro_batch,
                "vpp": lay.vpp,
                "searched": self.layout_searched,
            },
            "assumptions": [a.to_dict() for a in self.assumptions],
        }


def estimate_training(
    model: ModelSpec,
    hardware: HardwareSpec,
    *,
    tokens: float,
    n_accelerators: int,
    seq_len: int | None = None,
    precision: str = "bf16",
    layout: Mapping[str, Any] | None = None,
    global_batch: int | None = None,
    calibration: Calibration,
    site: SiteParams | None = None,
) -> TrainingEstimate:
    """Estimate time, memory, energy and cost to train ``model`` on ``tokens`` tokens.

    ``layout`` may give any of tp, pp, dp, ep, cp, zero, recompute, micro_batch; the rest are
    searched (fastest layout that fits memory). All eight given means no search.
    """
    site = site or SiteParams()
    _check_positive("tokens", tokens)
    _check_positive("gpus", n_accelerators, whole=True)
    _check_positive("seq_len", seq_len, whole=True)
    _check_positive("global_batch", global_batch, whole=True)
    seq = int(seq_len) if seq_len else min(model.max_seq_len, DEFAULT_MAX_TRAIN_SEQ)
    peak = hardware.peak(precision)
    counts = count_params(model)
    setup = TrainSetup(
        model=model,
        counts=counts,
        hardware=hardware,
        calibration=calibration,
        seq_len=seq,
        precision=precision,
        global_batch=global_batch,
        capacity_bytes=hardware.require("hbm_bytes"),
    )
    fixed = {k: v for k, v in (layout or {}).items() if v is not None}
    unknown = set(fixed) - set(LAYOUT_FIELDS)
    if unknown:
        raise InputError(sorted(unknown)[0], f"not a layout field; use {', '.join(LAYOUT_FIELDS)}")
    if all(k in fixed for k in REQUIRED_LAYOUT_FIELDS):
        lay = ParallelLayout(**fixed)
        result = evaluate_fixed(setup, lay, n_accelerators)
        searched = False
    else:
        check_partial_layout(setup, fixed, n_accelerators)
        result = search_layout(setup, n_accelerators, fixed)
        searched = True
    step = result.step
    tokens_per_step = result.global_batch * seq
    tokens_per_s = tokens_per_step / step.total_s
    flops_per_token = F.train_flops_per_token(model, seq)
    hfu_per_token = F.hardware_flops_per_token(model, seq, result.layout.recompute)
    wall_s = tokens / tokens_per_s / calibration.goodput_frac
    acc_hours = n_accelerators * wall_s / SECONDS_PER_HOUR
    it_w = E.it_power_per_accelerator_w(hardware, site, calibration.train_load_frac)
    it_kwh = E.energy_kwh(acc_hours, it_w)
    fac_kwh = it_kwh * site.pue
    price = E.rental_price(hardware, site)
    assumptions = [
        Assumption(name="precision", value=precision, unit="", source="given"),
        Assumption(name="peak_flops_per_s", value=peak, unit="FLOP/s", source=_src(hardware, "peak_flops_per_s")),
        Assumption(name="hbm_bytes", value=hardware.hbm_bytes, unit="bytes", source=_src(hardware, "hbm_bytes")),
        Assumption(name="flops_convention", value="causal-aware matmul FLOPs, 3 passes; MFU excludes recomputation", unit="", source="Megatron-LM num_floating_point_operations; PaLM Appendix B"),
        Assumption(name="global_batch", value=result.global_batch, unit="sequences", source="given" if global_batch else "~4M tokens (Llama 2 §2.2), power of two"),
        Assumption(name="goodput_frac", value=calibration.goodput_frac, unit="fraction", source=calibration.source("goodput_frac")),
        *_calibration_assumptions(calibration, "train"),
        *_site_assumptions(site, hardware, calibration.train_load_frac, "train_load_frac", calibration),
        Assumption(name="usd_per_accelerator_hour", value=price.usd_per_hour, unit="USD/h", source=price.source),
    ]
    return TrainingEstimate(
        model=model.name,
        hardware=hardware.name,
        n_accelerators=n_accelerators,
        tokens=tokens,
        seq_len=seq,
        precision=precision,
        global_batch=result.global_batch,
        params_total=counts.total,
        params_active=counts.active,
        flops_per_token=flops_per_token,
        hardware_flops_per_token=hfu_per_token,
        flops_total=flops_per_token * tokens,
        six_nd_flops=F.six_nd(counts.active, tokens),
        palm_flops_per_token=F.palm_flops_per_token(model, counts.active, seq),
        step_time_s=step.total_s,
        step_breakdown_s=step.as_dict(),
        tokens_per_s=tokens_per_s,
        mfu_frac=flops_per_token * tokens_per_s / (n_accelerators * peak),
        hfu_frac=hfu_per_token * tokens_per_s / (n_accelerators * peak),
        goodput_frac=calibration.goodput_frac,
        wall_clock_days=wall_s / SECONDS_PER_DAY,
        accelerator_hours=acc_hours,
        memory_per_accelerator_bytes=result.memory.total,
        memory_breakdown_bytes=result.memory.as_dict(),
        memory_capacity_bytes=setup.capacity_bytes,
        it_power_per_accelerator_w=it_w,
        energy_kwh=it_kwh,
        facility_energy_kwh=fac_kwh,
        tco2e=E.tco2e(fac_kwh, site),
        usd_per_accelerator_hour=price.usd_per_hour,
        cost_usd=acc_hours * price.usd_per_hour if price.usd_per_hour is not None else None,
        layout=result.layout,
        layout_searched=searched,
        assumptions=tuple(assumptions),
    )


def _src(hw: HardwareSpec, name: str) -> str:
    note = hw.source_of(name)
    return f"{note.source} (quality {note.quality})" if note else f"data/hardware/{hw.name}.yaml"


# Serving estimates: dcplan/inference.py (estimate_inference).


def with_site(site: SiteParams | None, **changes: Any) -> SiteParams:
    """``site`` (or the defaults) with ``changes`` applied, skipping None values."""
    base = site or SiteParams()
    given = {k: v for k, v in changes.items() if v is not None}
    return replace(base, **given) if given else base

