"""Plan a workload on every hardware option: the orchestrator behind ``dcplan plan``.

For each option: size the training jobs and serving replicas (:mod:`.sizing`), lay out the
installed capacity quarter by quarter (:mod:`.timeline`), take the end of the horizon as the
design point, cost it (:mod:`.tco`), then rank the options (:mod:`.ranking`). Pure: the inputs
are resolved by :mod:`.loaders`; errors name the workload field with its file and line.

Conventions (each also printed in the plan's assumptions):
- training jobs share one cluster, sized for the largest job and for every run's
  accelerator-hours in a year; serving fleets are separate and run around the clock;
- energy: training runs at the calibration's train load factor for their accelerator-hours
  (idle hours between runs draw nothing in this model), serving fleets at the inference load
  factor all year; facility energy = IT energy x PUE (Patterson et al. 2021);
- the serving share of TCO (its nodes' share of capital and maintenance, plus its own
  electricity) divided by the design year's output tokens gives $/million tokens;
- a training run costs its accelerator-hours at the owner's $/accelerator-hour (idle hours
  used by other work at the target utilisation) or, dedicated, its share of the training
  cluster's whole TCO by accelerator-hours (the cluster does nothing else).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from dcplan.capacity.inputs import JobInputs, OptionInputs, PlanInputs, ServiceInputs
from dcplan.capacity.ranking import rank_options
from dcplan.capacity.result import CapacityPlan, Exclusion, JobPlan, OptionPlan, PlanAssumption, ServicePlan, TimelineRow
from dcplan.capacity.sizing import (
    JobSizing,
    RackFit,
    ReplicaChoice,
    average_requests_per_s,
    choose_replica,
    demand_factor,
    nodes_for,
    peak_output_tokens_per_s,
    rack_fit,
    size_training_job,
)
from dcplan.capacity.tco import annual_cost, capex, rent_vs_own, usd_per_accelerator_hour
from dcplan.capacity.timeline import build_timeline
from dcplan.capacity.workload import quarter_labels
from dcplan.embedding import EmbeddingEstimate
from dcplan.errors import InfeasibleError, InputError
from dcplan.io.yamlio import Path_
from dcplan.specs import SiteParams
from dcplan.units import HOURS_PER_YEAR, SECONDS_PER_YEAR

CONVENTIONS = (
    ("sizing_basis", "demand at the end of the horizon (the design year); headline figures are the installed capacity then"),
    ("timeline_policy", "install at the start of a quarter what the quarter's end needs, in whole nodes, never removed; training cluster in the first quarter"),
    ("training_cluster", "jobs share one cluster sized for the largest job and for all runs' accelerator-hours per year"),
    ("serving_latency", "TTFT/TPOT are the model's steady-state values at the full SLO-feasible batch at peak demand; queueing beyond it is not modelled"),
    ("idle_power", "training nodes idle between runs are counted as drawing no energy; serving fleets run all year"),
    ("usd_per_mtok", "serving share of TCO / output tokens served in the design year"),
)


def plan_capacity(inputs: PlanInputs) -> CapacityPlan:
    """The :class:`CapacityPlan` of ``inputs``; InputError naming file:line:field if no option can run it."""
    horizon = int(inputs.horizon_years.value)
    labels = quarter_labels(inputs.start_quarter, 4 * horizon)
    options: list[OptionPlan] = []
    timeline: list[TimelineRow] = []
    excluded = [Exclusion(hardware=name, field=exc.field, reason=exc.message) for name, exc in inputs.unsizable]
    errors = [exc for _, exc in inputs.unsizable]
    for opt in inputs.options:
        try:
            option, rows = _plan_option(inputs, opt, labels)
        except InputError as exc:
            excluded.append(Exclusion(hardware=opt.hardware.name, field=exc.field, reason=exc.message))
            errors.append(exc)
            continue
        options.append(option)
        timeline.extend(rows)
    if not options:
        first = errors[0]
        reasons = "; ".join(f"{e.hardware}: {e.reason}" for e in excluded)
        raise InfeasibleError(first.field, f"no hardware option can run this workload ({reasons})", file=first.file, line=first.line)
    return CapacityPlan(
        workload=inputs.name, description=inputs.description, source_file=inputs.origin.file, horizon_years=horizon,
        quarters=tuple(labels), options=tuple(options), timeline=tuple(timeline), ranking=tuple(rank_options(options)),
        excluded=tuple(excluded), assumptions=tuple(_assumptions(inputs, options)),
    )


def _site(inputs: PlanInputs, opt: OptionInputs) -> SiteParams:
    e = inputs.economics
    return SiteParams(pue=e.pue.value, usd_per_kwh=e.usd_per_kwh.value, grid_gco2_per_kwh=e.grid_gco2_per_kwh.value,
                      server_power_ratio=e.server_power_ratio.value,
                      usd_per_accelerator_hour=opt.cloud_usd_per_hour.value if opt.cloud_usd_per_hour else None,
                      sources={k: getattr(e, k).source for k in ("pue", "usd_per_kwh", "grid_gco2_per_kwh", "server_power_ratio")})


def _located(inputs: PlanInputs, path: Path_, exc: InputError, rename: dict[str, str]) -> InputError:
    """``exc`` (from the model) re-raised at the workload field it is about."""
    name = rename.get(exc.field, exc.field)
    return inputs.origin.error(path + ((name,) if name else ()), exc.message, cls=InfeasibleError)


def _size_job(inputs: PlanInputs, job: JobInputs, opt: OptionInputs, site: SiteParams) -> JobSizing:
    try:
        return size_training_job(job, opt, site)
    except InputError as exc:
        gpus = "accelerators" if job.spec.accelerators is not None else ("model" if job.spec.model else "params")
        raise _located(inputs, job.path, exc, {"gpus": gpus, "tokens": "tokens"}) from None


def _choose(inputs: PlanInputs, svc: ServiceInputs, opt: OptionInputs, site: SiteParams, years: float) -> ReplicaChoice:
    try:
        return choose_replica(svc, opt, site, peak_output_tokens_per_s(svc, years))
    except InputError as exc:
        key = "model" if svc.spec.model else "params"
        raise _located(inputs, svc.path, exc, {"gpus": key, "model": key}) from None


def _training_pool(sized: list[tuple[JobInputs, JobSizing]], per_node: int) -> int:
    """Accelerators of the shared training cluster (whole nodes)."""
    if not sized:
        return 0
    hours = sum(j.runs_per_year.value * s.estimate.accelerator_hours for j, s in sized)
    need = max(max(s.accelerators for _, s in sized), math.ceil(hours / HOURS_PER_YEAR))
    return nodes_for(need, per_node) * per_node


def _rack_fit(inputs: PlanInputs, opt: OptionInputs):
    try:
        return rack_fit(opt.node_power_w.value, opt.accelerators_per_node, opt.rack_power_kw.value, int(opt.accelerators_per_rack.value))
    except InputError as exc:
        path: Path_ = ("rack", exc.field.split(".")[1])
        if exc.field == "rack.accelerators" and opt.accelerators_per_rack.source.endswith(".accelerators_per_rack)"):
            path = opt.path + ("accelerators_per_rack",)
        raise inputs.origin.error(path, f"{opt.hardware.name}: {exc.message}") from None


def _check_size(inputs: PlanInputs, opt: OptionInputs, accelerators: int, train_acc: int) -> None:
    """A plan beyond the accelerators limit (dcplan.limits) is refused at the demand that drives it."""
    from dcplan import limits

    if accelerators > limits.ACCELERATORS.maximum:
        key = "training" if train_acc * 2 > accelerators else "inference"
        raise inputs.origin.error((key,), f"needs {accelerators:,} {opt.hardware.name} accelerators, over "
                                          f"{limits.ACCELERATORS.describe()}: {limits.ACCELERATORS.reason}")


def _plan_option(inputs: PlanInputs, opt: OptionInputs, labels: list[str]) -> tuple[OptionPlan, list[TimelineRow]]:
    site = _site(inputs, opt)
    horizon = len(labels) / 4.0
    jobs = [(j, _size_job(inputs, j, opt, site)) for j in inputs.jobs]
    choices = [(s, _choose(inputs, s, opt, site, horizon)) for s in inputs.services]
    per_node, node_w = opt.accelerators_per_node, opt.node_power_w.value
    fit = _rack_fit(inputs, opt)
    train_acc = _training_pool(jobs, per_node)

    def serving_required(years: float) -> int:
        return sum(c.tp * c.replicas(peak_output_tokens_per_s(s, years), int(s.min_replicas.value)) for s, c in choices)

    def capex_usd(acc: int, nodes: int, it_mw: float) -> float:
        return capex(accelerators=acc, nodes=nodes, it_mw=it_mw, opt=opt, econ=inputs.economics).total_usd

    def serving_peak(years: float) -> float:
        return sum(peak_output_tokens_per_s(s, years) for s in inputs.services)

    rows = build_timeline(
        hardware=opt.hardware.name, labels=labels, training_accelerators=train_acc, serving_required=serving_required,
        serving_peak=serving_peak, accelerators_per_node=per_node, node_power_w=node_w, fit=fit,
        pue=inputs.economics.pue.value, capex_usd=capex_usd,
    )
    _check_size(inputs, opt, max(r.installed_accelerators for r in rows), train_acc)
    design = _Design(last=rows[-1], fit=fit, train_acc=train_acc, jobs=jobs, choices=choices, horizon=horizon)
    return _option_at(inputs, opt, design), rows


@dataclass(frozen=True)
class _Design:
    """An option at its design point: the last quarter's installation and what runs on it."""

    last: TimelineRow
    fit: RackFit
    train_acc: int
    jobs: list[tuple[JobInputs, JobSizing]]
    choices: list[tuple[ServiceInputs, ReplicaChoice]]
    horizon: float

    @property
    def serve_acc(self) -> int:
        return self.last.installed_accelerators - self.train_acc

    @property
    def train_hours(self) -> float:
        """Accelerator-hours of every training run in a year."""
        return sum(j.runs_per_year.value * s.estimate.accelerator_hours for j, s in self.jobs)


def _it_energy_kwh(opt: OptionInputs, d: _Design) -> tuple[float, float]:
    """Yearly IT energy of the training runs and of the serving fleets [kWh]."""
    acc_w = opt.node_power_w.value / opt.accelerators_per_node
    train = d.train_hours * acc_w * opt.calibration.train_load_frac / 1e3
    serve = d.serve_acc * HOURS_PER_YEAR * acc_w * opt.calibration.infer_load_frac / 1e3
    return train, serve


def _option_at(inputs: PlanInputs, opt: OptionInputs, d: _Design) -> OptionPlan:
    """The option's figures at the design point."""
    econ, last, n = inputs.economics, d.last, d.last.installed_accelerators
    pue, price = econ.pue.value, econ.usd_per_kwh.value
    train_kwh, serve_kwh = _it_energy_kwh(opt, d)
    cap = capex(accelerators=n, nodes=last.installed_nodes, it_mw=last.it_mw, opt=opt, econ=econ)
    annual = annual_cost(cap, facility_energy_kwh=(train_kwh + serve_kwh) * pue, econ=econ)
    usd_h = usd_per_accelerator_hour(annual.total_usd, n, econ.utilization_frac.value)
    cloud = opt.cloud_usd_per_hour.value if opt.cloud_usd_per_hour else None
    serving_tco = annual.scaled(d.serve_acc / n, serve_kwh * pue * price).total_usd
    training_tco = annual.scaled(d.train_acc / n, train_kwh * pue * price).total_usd
    services = _service_plans(d.choices, serving_tco, d.horizon)
    out_tokens = sum(s.output_tokens_per_year for s in services)
    all_tokens = sum(p.output_tokens_per_year * (svc.spec.input_len + svc.spec.generated_len) / svc.spec.served_len
                     for p, (svc, _) in zip(services, d.choices, strict=True))
    return OptionPlan(
        hardware=opt.hardware.name, display_name=opt.hardware.display_name, calibration=opt.calibration.label,
        accelerators=n, accelerators_training=d.train_acc, accelerators_serving=d.serve_acc,
        nodes=last.installed_nodes, accelerators_per_node=opt.accelerators_per_node, node_power_w=opt.node_power_w.value,
        racks=last.racks, nodes_per_rack=d.fit.nodes_per_rack, rack_binding=d.fit.binding, it_mw=last.it_mw,
        facility_mw=last.facility_mw, it_energy_mwh_per_year=(train_kwh + serve_kwh) / 1e3,
        energy_mwh_per_year=(train_kwh + serve_kwh) * pue / 1e3,
        capex_usd=cap.total_usd, capex_breakdown_usd=cap.as_dict(), opex_usd_per_year=annual.opex_usd,
        opex_breakdown_usd_per_year=annual.opex_dict(), tco_usd_per_year=annual.total_usd,
        tco_breakdown_usd_per_year=annual.as_dict(), usd_per_accelerator_hour=usd_h,
        usd_per_mtok=serving_tco / out_tokens * 1e6 if out_tokens else None,
        usd_per_mtok_total=serving_tco / all_tokens * 1e6 if all_tokens else None,
        training_days={j.spec.name: s.estimate.wall_clock_days for j, s in d.jobs},
        tco2e_per_year=(train_kwh + serve_kwh) * pue * econ.grid_gco2_per_kwh.value / 1e6,
        training_jobs=tuple(_job_plan(j, s, usd_h, cloud, training_tco * s.estimate.accelerator_hours / d.train_hours) for j, s in d.jobs),
        services=services,
        rent_vs_own=rent_vs_own(
            tco_usd_per_year=annual.total_usd, accelerators=n, used_hours=d.train_hours + d.serve_acc * HOURS_PER_YEAR,
            cloud_usd_per_hour=cloud, source=opt.cloud_usd_per_hour.source if opt.cloud_usd_per_hour else "no published or given cloud price",
        ),
        serving_stack=opt.serving.to_dict() if (opt.serving is not None and any(s.spec.kind == "generate" for s, _ in d.choices)) else None,
        warnings=_warnings(opt, d),
    )


def _warnings(opt: OptionInputs, d: _Design) -> tuple[str, ...]:
    """The option's serving-stack warning, when it has services to serve."""
    if not d.choices or opt.serving is None or not opt.serving.warning:
        return ()
    return (f"{opt.hardware.name}: {opt.serving.warning}",)


def _job_plan(job: JobInputs, s: JobSizing, usd_h: float, cloud: float | None, dedicated_usd: float) -> JobPlan:
    e = s.estimate
    return JobPlan(
        name=job.spec.name, model=e.model, tokens=e.tokens, runs_per_year=job.runs_per_year.value,
        deadline_days=job.spec.deadline_days, accelerators=s.accelerators, training_days=e.wall_clock_days,
        accelerator_hours=e.accelerator_hours, mfu_frac=e.mfu_frac,
        layout={**e.layout.as_dict(), "searched": e.layout_searched}, evaluations=s.evaluations,
        cost_usd_owned=e.accelerator_hours * usd_h, cost_usd_owned_dedicated=dedicated_usd, cost_usd_rented=e.accelerator_hours * cloud if cloud is not None else None,
    )


def _service_plans(choices: list[tuple[ServiceInputs, ReplicaChoice]], serving_tco: float, horizon: float) -> tuple[ServicePlan, ...]:
    sized = []
    for svc, c in choices:
        peak = peak_output_tokens_per_s(svc, horizon)
        replicas = c.replicas(peak, int(svc.min_replicas.value))
        tokens = average_requests_per_s(svc) * demand_factor(svc, horizon) * svc.spec.served_len * SECONDS_PER_YEAR
        sized.append((svc, c, peak, replicas, tokens))
    total_acc = sum(c.tp * r for _, c, _, r, _ in sized) or 1
    out = []
    for svc, c, peak, replicas, tokens in sized:
        e = c.estimate
        share = serving_tco * c.tp * replicas / total_acc
        embed = isinstance(e, EmbeddingEstimate)
        out.append(ServicePlan(
            name=svc.spec.name, model=svc.model.name, precision=svc.spec.precision,
            average_requests_per_s=average_requests_per_s(svc), design_peak_output_tokens_per_s=peak, tp=c.tp,
            replicas=replicas, accelerators=c.tp * replicas, batch_size=e.batch_size, binding_limit=e.binding_limit,
            ttft_s=e.batch_latency_s if embed else e.ttft_s, tpot_s=None if embed else e.tpot_s,
            ttft_target_s=svc.spec.latency_p95_s if embed else svc.spec.ttft_p95_s, tpot_target_s=svc.spec.tpot_p95_s,
            output_tokens_per_s_per_replica=c.output_tokens_per_s, output_tokens_per_year=tokens,
            usd_per_mtok=share / tokens * 1e6, ep=1 if embed else e.ep, stack=e.stack.stack if e.stack is not None else None,
            kind=svc.spec.kind,
        ))
    return tuple(out)


def _assumptions(inputs: PlanInputs, options: list[OptionPlan]) -> list[PlanAssumption]:
    out = [PlanAssumption(name=k, value=v, unit="", source="dcplan convention (docs/plan.md)", quality="convention") for k, v in CONVENTIONS]
    sv = inputs.horizon_years
    out.append(PlanAssumption(name="horizon_years", value=sv.value, unit=sv.unit, source=sv.source, quality=sv.quality))
    for f in fields(inputs.economics):
        sv = getattr(inputs.economics, f.name)
        out.append(PlanAssumption(name=f.name, value=sv.value, unit=sv.unit, source=sv.source, quality=sv.quality))
    for j in inputs.jobs:
        sv = j.runs_per_year
        out.append(PlanAssumption(name=f"{j.spec.name}.runs_per_year", value=sv.value, unit=sv.unit, source=sv.source, quality=sv.quality))
    for s in inputs.services:
        for sv, key in ((s.growth_per_year_frac, "growth_per_year_frac"), (s.min_replicas, "min_replicas")):
            out.append(PlanAssumption(name=f"{s.spec.name}.{key}", value=sv.value, unit=sv.unit, source=sv.source, quality=sv.quality))
    planned = {o.hardware for o in options}
    for opt in inputs.options:
        if opt.hardware.name in planned:
            out.extend(_option_assumptions(opt))
    return out


def _option_assumptions(opt: OptionInputs) -> list[PlanAssumption]:
    hw, cal = opt.hardware.name, opt.calibration
    out = []
    for key in ("accelerator_usd", "server_usd_per_node", "server_cost_frac", "network_usd_per_node", "network_cost_frac",
                "cloud_usd_per_hour", "node_power_w", "accelerators_per_rack", "rack_power_kw"):
        sv = getattr(opt, key)
        if sv is None or (key == "server_cost_frac" and opt.server_usd_per_node) or (key == "network_cost_frac" and opt.network_usd_per_node):
            continue
        out.append(PlanAssumption(name=f"{hw}.{key}", value=sv.value, unit=sv.unit, source=sv.source, quality=sv.quality))
    if opt.exchange_rate is not None:
        sv = opt.exchange_rate
        out.append(PlanAssumption(name=f"{hw}.exchange_rate", value=sv.value, unit=sv.unit, source=sv.source, quality=sv.quality))
    shipped = cal.name.startswith("defaults")
    grade = "model default" if shipped else "profile"
    where = "data/efficiency/defaults.yaml" if shipped else f"calibration {cal.name}"
    out.append(PlanAssumption(name=f"{hw}.calibration", value=cal.label, unit="name (implementation)", source=where, quality=grade))
    for key, unit in (("train_load_frac", "fraction of peak power"), ("infer_load_frac", "fraction of peak power"), ("goodput_frac", "fraction")):
        out.append(PlanAssumption(name=f"{hw}.{key}", value=getattr(cal, key), unit=unit, source=cal.source(key), quality=grade))
    if opt.serving is not None:
        s, sc = opt.serving, opt.serving.calibration
        grade_s = "fallback (pooled)" if s.fallback else ("fit" if s.rows else "engine defaults")
        out.append(PlanAssumption(name=f"{hw}.serving_stack", value=s.stack or "none (pooled)", unit="", source=s.source, quality=grade_s))
        for key, unit in (("decode_bw_frac", "fraction of memory bandwidth"), ("decode_t0_s", "s per decode step"),
                          ("serving_memory_frac", f"fraction of {s.memory_of} memory")):
            out.append(PlanAssumption(name=f"{hw}.{key}", value=getattr(sc, key), unit=unit, source=sc.source(key), quality=grade_s))
        out.append(PlanAssumption(name=f"{hw}.prefill.eta_max", value=sc.prefill.eta_max, unit="fraction of GEMM ceiling",
                                  source=sc.source("prefill"), quality=grade_s))
    return out
