"""Assemble the capacity report from result objects: sections of text, tables and figures.

Pure: takes :class:`~dcplan.report.pipeline.ReportInputs` and returns a
:class:`~dcplan.report.document.Report`. Numbers are read from the result objects (plan,
forecast, tornado, backtest, validation, calibration), never recomputed; figures come from
:mod:`dcplan.figures`, shared with the dashboard.
"""

from __future__ import annotations

from typing import Any

from dcplan.i18n import ENGLISH, N_, Translator, translator
from dcplan.report.document import Column, Figure, Report, Section, Table, Text
from dcplan.report.methodology import FORMULAS
from dcplan.units import for_people, percent, power_mw, usd


def _compact(v: object) -> str:
    """A distribution parameter as a reader writes it: 2e+10, not 20000000000.0."""
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _num(x: float, digits: int = 3) -> str:
    """3 significant digits without exponents: 2,012 / 229.6 / 0.273."""
    from dcplan.report.writers import fmt_cell

    return fmt_cell(float(x), digits)


# --------------------------------------------------------------------------------------------
# 1. Executive summary
# --------------------------------------------------------------------------------------------


def executive_summary(x, _: Translator = ENGLISH) -> Section:
    from dcplan.capacity.ranking import reasons
    from dcplan.forecast.headline import limit_lines

    loc = _.lang
    plan, fc = x.plan, x.forecast
    best = plan.ranking[0]
    o = plan.option(best.hardware)
    horizon = fc.years[-1]
    energy = fc.metric("energy_twh")
    power = fc.metric("facility_power_mw")
    i = fc.years.index(horizon)
    facts = {"name": o.display_name, "hardware": o.hardware, "workload": plan.workload, "accelerators": f"{o.accelerators:,}",
             "nodes": f"{o.nodes:,}", "racks": f"{o.racks:,}", "it": power_mw(o.it_mw, locale=loc), "facility": power_mw(o.facility_mw, locale=loc),
             "capex": usd(o.capex_usd, locale=loc), "tco": usd(o.tco_usd_per_year, locale=loc), "mtok": usd(o.usd_per_mtok, locale=loc)}
    rec = _("**Recommendation: {name} ({hardware}).** The workload '{workload}' needs {accelerators} accelerators ({nodes} nodes in "
            "{racks} racks), {it} of IT power ({facility} at the facility), {capex} of capex and {tco} a year in total cost of ownership").format(**facts)
    rec += _(", {mtok} per million output tokens served.").format(**facts) if o.usd_per_mtok is not None else _(".")
    paras = [
        rec,
        _("Deciding factor: {factor}.").format(factor=reasons(list(plan.options), _)[best.hardware] if _.lang != "en" else best.deciding_factor),
        *(_("**Caution:** {warning}.").format(warning=w) for o in plan.options for w in o.warnings),
        *((_("Left out of the comparison: {options} (the capacity plan section says why).").format(
            options=", ".join(e.hardware for e in plan.excluded)),) if plan.excluded else ()),
        _("**Market ({scenario} scenario, {samples} Monte Carlo samples, seed {seed}):** world data-centre electricity reaches {e50} TWh in "
          "{year} (P10-P90 {e10}-{e90}), an average facility load of {p50} GW (P10-P90 {p10}-{p90}).").format(
            scenario=fc.title or fc.scenario, samples=f"{fc.samples:,}", seed=fc.seed, year=horizon, e50=_num(energy.p50[i]), e10=_num(energy.p10[i]),
            e90=_num(energy.p90[i]), p50=_num(power.p50[i] / 1e3), p10=_num(power.p10[i] / 1e3), p90=_num(power.p90[i] / 1e3))
        + _.gap + _.gap.join(limit_lines(fc, _)[:2]),
    ]
    rows = []
    for opt in plan.options:
        rows.append({
            "hardware": opt.hardware, "accelerators": opt.accelerators, "racks": opt.racks, "it_mw": opt.it_mw, "facility_mw": opt.facility_mw,
            "capex_usd": opt.capex_usd, "tco_usd_per_year": opt.tco_usd_per_year, "usd_per_mtok": opt.usd_per_mtok,
            "rank": next(r.rank for r in plan.ranking if r.hardware == opt.hardware),
        })
    rows.sort(key=lambda r: r["rank"])
    summary = Table(
        title=_("Options at a glance (capacity at the end of the horizon)"),
        columns=(Column(key="rank", label=_("Rank")), Column(key="hardware", label=_("Option")), Column(key="accelerators", label=_("Accelerators")),
                 Column(key="racks", label=_("Racks")), Column(key="it_mw", label=_("IT power"), unit="MW", kind="mw"),
                 Column(key="facility_mw", label=_("Facility power"), unit="MW", kind="mw"), Column(key="capex_usd", label=_("Capex"), unit="USD", kind="usd"),
                 Column(key="tco_usd_per_year", label=_("TCO"), unit="USD/yr", kind="usd"),
                 Column(key="usd_per_mtok", label=_("Cost"), unit=N_("USD per M output tokens"), kind="usd")),
        rows=tuple(rows),
    )
    from dcplan.forecast.headline import SUMMARY_KEYS, headline_rows

    year = 2030 if 2030 in fc.years else horizon
    mrows = [{"metric": f"{r['label']} [{r['unit']}]", "p10": r["p10"], "p50": r["p50"], "p90": r["p90"], "anchors": _("; ").join(r["anchors"]) or "-"}
             for r in headline_rows(fc, year, compact=True, keys=SUMMARY_KEYS, tr=_)]
    market = Table(title=_("Market headline in {year}, with the published numbers beside it").format(year=year), columns=(
        Column(key="metric", label=_("Metric")), Column(key="p10", label="P10"), Column(key="p50", label="P50"), Column(key="p90", label="P90"),
        Column(key="anchors", label=_("Published and actual (sources in section 4)"))), rows=tuple(mrows))
    return Section(id="summary", title=_("Executive summary"), blocks=(Text(paragraphs=tuple(paras)), summary, market))


# --------------------------------------------------------------------------------------------
# 2. Hardware and model accuracy
# --------------------------------------------------------------------------------------------


#: Words for the validation summaries (keys of dcplan.validation's summary).
_VALIDATION_METRICS = {
    "training_flops_per_s": N_("Training throughput (FLOP/s per accelerator)"),
    "training_accelerator_hours": N_("Training accelerator-hours"),
    "inference_tokens_per_s": N_("Serving throughput (output tokens/s), stacks' fits in sample"),
    "inference_moe_held_out": N_("Serving throughput, mixture-of-experts rows, held out"),
    "inference_not_fitted": N_("Serving throughput, rows not fitted (superseded engine versions)"),
}
#: Words for the calibration kinds (held-out table rows, figure titles).
_KINDS = {"train": N_("train"), "prefill": N_("prefill"), "decode": N_("decode"), "seq2seq": N_("seq2seq"), "encoder": N_("encoder"),
          "memory": N_("memory")}


def _ape_columns(_: Translator, first: Column) -> tuple[Column, ...]:
    return (first, Column(key="n", label="n"), Column(key="median_ape_pct", label=_("Median APE"), unit="%", kind="pct"),
            Column(key="p90_ape_pct", label=_("P90 APE"), unit="%", kind="pct"), Column(key="max_ape_pct", label=_("Max APE"), unit="%", kind="pct"),
            Column(key="bias_pct", label=_("Bias"), unit="%", kind="pct"))


def _implementation_blocks(hf: dict, implementations: dict, _: Translator = ENGLISH) -> list[Any]:
    """The transformers points predicted from the native fit, and the calibrations of other implementations."""
    rows = []
    for split, block in ((_("fit on native points only"), hf), (_("refit with hf points, leave-one-out"), hf.get("refit") or {})):
        for kind, v in (block.get("kinds") or {}).items():
            if v.get("n"):
                rows.append({"kind": _(_KINDS.get(kind, kind)), "split": split,
                             **{m: v.get(m) for m in ("n", "median_ape_pct", "p90_ape_pct", "bias_pct")}})
    have = ", ".join(["native", *implementations]) if implementations else "native"
    text = Text(paragraphs=(_(
        "The profile also timed Hugging Face transformers models (hf eager). The calibration above describes dcplan's own eager "
        "PyTorch Transformer (native); the calibration file also holds: {have}. What differs between implementations (dispatched "
        "operations per layer, non-matmul memory traffic, saved activations) is counted on each point, so the native fit predicts "
        "the transformers points below without having seen them.").format(have=have),))
    first = Column(key="kind", label=_("Kind"))
    columns = _ape_columns(_, first)
    table = Table(title=_("transformers (hf eager) points predicted from the native fit"), sheet=_("calibration hf"),
                  columns=(first, Column(key="split", label=_("Split")), *(c for c in columns[1:] if c.key != "max_ape_pct")),
                  rows=tuple(rows))
    return [text, table]


def accuracy(x, _: Translator = ENGLISH) -> Section:
    from dcplan.figures.validation import validation_scatter

    blocks: list[Any] = []
    if x.calibration is not None:
        doc = x.calibration
        cal = doc["calibration"]
        prof = doc.get("profile", {}) or {}
        device = prof.get("device") or {}
        dev_name = device.get("name", cal.hardware or "device") if isinstance(device, dict) else str(device)
        in_plan = bool(cal.hardware) and any(o.hardware == cal.hardware for o in x.plan.options)
        shipped = bool(prof.get("notes"))
        what = {"name": prof.get("name"), "device": dev_name, "precision": prof.get("precision", ""), "notes": prof.get("notes"),
                "path": prof.get("path", doc.get("path")), "calibration": doc.get("path"), "hardware": cal.hardware,
                "label": cal.label}
        blocks.append(Text(paragraphs=(
            (_("Measured profile shipped with dcplan: {name} ({device}, {precision}). {notes}") if shipped else
             _("Profile used: {path} ({device}, {precision}); calibration file {calibration}, calibration {label}.")).format(**what)
            + _(" Errors below are on held-out configurations the fit never saw."),
            ((_("The plan uses this calibration for {hardware} (by default; plan with --no-measured to use the shipped defaults instead).")
              if shipped else _("The plan uses this calibration for {hardware}.")).format(**what) if in_plan else
             _("The profiled device is not among the plan's hardware options, so the plan uses the shipped efficiencies (below); "
               "this calibration shows how well the model predicts measured hardware.")),
        )))
        heldout = doc.get("heldout") or {}
        rows = [{"kind": _(_KINDS.get(k, k)), **{m: v.get(m) for m in ("n", "median_ape_pct", "p90_ape_pct", "max_ape_pct", "bias_pct")}}
                for k, v in heldout.items() if isinstance(v, dict) and k != "hf"]
        if x.profile_calibration is not None:
            from dcplan.figures.calibration import measured_vs_predicted

            for kind in ("train", "decode", "memory"):
                held = kind in x.profile_calibration.heldout and x.profile_calibration.heldout[kind].points
                blocks.append(Figure(title=_("Measured vs predicted: {kind}").format(kind=_(_KINDS[kind])),
                                     figure=measured_vs_predicted(x.profile_calibration, kind, _),
                                     caption=(_("Crosses are held-out (leave-one-out) predictions; ") if held else
                                              _("Dots are in-sample predictions (this calibration file records no held-out points; the table below "
                                                "gives its held-out errors); ")) + _("open circles the uncalibrated roofline.")))
        blocks.append(Table(title=_("Calibration: held-out errors"), sheet=_("calibration heldout"),
                            columns=_ape_columns(_, Column(key="kind", label=_("Kind"))), rows=tuple(rows)))
        if isinstance(heldout.get("hf"), dict):
            blocks += _implementation_blocks(heldout["hf"], doc.get("implementations") or {}, _)
    else:
        cal = x.calibration_defaults
        blocks.append(Text(paragraphs=(
            _("No profile was given: training uses the shipped efficiency parameters (data/efficiency/defaults.yaml), whose shared "
              "train-step efficiency ({train:.3f} of the GEMM ceiling) is fitted on the published runs of section 7, all rows "
              "together; serving uses each option's serving stack (data/stacks/), whose bandwidth fraction, prefill efficiency, per-step "
              "overhead and memory share are fitted on that stack's published results (section 7) with partial pooling toward the other "
              "stacks. Run `dcplan profile` and `dcplan calibrate` on your hardware and pass --profile to plan with measured efficiencies.").format(
                train=cal.train.eta_max),)))
    stacks = [o.serving_stack for o in x.plan.options if o.serving_stack]
    if stacks:
        srows = tuple({"hardware": st["chip"], "stack": st["name"] or _("none (pooled)"), "version": st["version"], "rows": st["rows"],
                       "rows_on_chip": st["rows_on_chip"], "loo": (st["held_out"] or {}).get("median_ape_pct"),
                       "warning": st["warning"] or ""} for st in stacks)
        blocks.append(Table(title=_("Serving stack of each option and the published results it rests on"), sheet=_("serving stacks"), columns=(
            Column(key="stack", label=_("Stack")), Column(key="hardware", label=_("Option")), Column(key="version", label=_("Version")),
            Column(key="rows", label=_("Rows fitted")), Column(key="rows_on_chip", label=_("Rows on this chip")),
            Column(key="loo", label=_("Held-out median APE"), unit="%", kind="pct"), Column(key="warning", label=_("Warning"))), rows=srows))
    s = {_(_VALIDATION_METRICS[k]) if k in _VALIDATION_METRICS else k: v for k, v in x.validation["summary"].items() if k != "inference_by_stack"}
    s.update({_("Serving throughput, {stack}, held out").format(stack=k): v for k, v in x.validation["summary"].get("inference_by_stack", {}).items()})
    rows = [{"metric": k, **{m: v.get(m) for m in ("n", "median_ape_pct", "p90_ape_pct", "max_ape_pct", "bias_pct")}} for k, v in s.items()]
    blocks.append(Table(title=_("The model against published runs and benchmarks (shipped defaults)"),
                        columns=_ape_columns(_, Column(key="metric", label=_("Metric"))), rows=tuple(rows)))
    blocks.append(Figure(title=_("Published vs predicted"), figure=validation_scatter(x.validation["training"], x.validation["inference"], _),
                         caption=_("Each point is a published run or benchmark (section 7); the line is perfect agreement.")))
    return Section(id="accuracy", title=_("Hardware and model accuracy"), blocks=tuple(blocks))


# --------------------------------------------------------------------------------------------
# 3. Capacity plan
# --------------------------------------------------------------------------------------------


def option_columns(_: Translator = ENGLISH) -> tuple[Column, ...]:
    """Columns of the plan-per-option table (and its XLSX sheet)."""
    return (
        Column(key="hardware", label=_("Option")), Column(key="accelerators", label=_("Accelerators")),
        Column(key="accelerators_training", label=_("Training accelerators")), Column(key="accelerators_serving", label=_("Serving accelerators")),
        Column(key="nodes", label=_("Nodes")), Column(key="racks", label=_("Racks")), Column(key="it_mw", label=_("IT power"), unit="MW", kind="mw"),
        Column(key="facility_mw", label=_("Facility power"), unit="MW", kind="mw"), Column(key="energy_mwh_per_year", label=_("Energy"), unit="MWh/yr"),
        Column(key="capex_usd", label=_("Capex"), unit="USD", kind="usd"), Column(key="opex_usd_per_year", label=_("Opex"), unit="USD/yr", kind="usd"),
        Column(key="tco_usd_per_year", label=_("TCO"), unit="USD/yr", kind="usd"),
        Column(key="usd_per_accelerator_hour", label=_("Cost"), unit=N_("USD per accelerator-hour"), kind="usd"),
        Column(key="usd_per_mtok", label=_("Cost"), unit=N_("USD per M output tokens"), kind="usd"),
        Column(key="tco2e_per_year", label=_("Emissions"), unit="tCO2e/yr"),
    )


OPTION_COLUMNS = option_columns()
#: Words for the capex components (keys of capex_breakdown_usd).
_CAPEX_PARTS = {"accelerators": N_("Accelerators"), "servers": N_("Servers"), "network": N_("Network"), "facility": N_("Facility"),
                "storage": N_("Storage"), "onsite_generation": N_("On-site generation")}


def _actions(d: dict, _: Translator) -> dict[tuple[str, int], str]:
    """The timeline's action of each (option, quarter) in the reader's language (English: as the plan wrote it)."""
    out: dict[tuple[str, int], str] = {}
    prev: dict[str, dict] = {}
    for r in d["timeline"]:
        p = prev.get(r["hardware"], {"racks": 0, "it_mw": 0.0})
        if _.lang == "en":
            text = r["action"]
        elif not r["added_nodes"]:
            text = _("no change")
        else:
            racks = r["racks"] - p["racks"]
            text = (_("build") if r["quarter_index"] == 0 else _("add")) + _(" {nodes} node(s) ({accelerators} accelerators)").format(
                nodes=r["added_nodes"], accelerators=r["added_accelerators"])
            text += _(", {racks} rack(s)").format(racks=racks) if racks else ""
            text += _(", +{mw} MW IT").format(mw=f"{r['it_mw'] - p['it_mw']:.3g}")
        out[(r["hardware"], r["quarter_index"])] = text
        prev[r["hardware"]] = r
    return out


def excluded_table(plan, _: Translator = ENGLISH) -> Table:
    """The options left out of the plan, each with why (it cannot run the workload, or its power is not published)."""
    return Table(title=_("Options left out of the plan"), sheet=_("excluded options"),
                 columns=(Column(key="hardware", label=_("Option")), Column(key="field", label=_("Field")), Column(key="reason", label=_("Why"))),
                 rows=tuple(e.to_dict() for e in plan.excluded))


def capacity(x, _: Translator = ENGLISH) -> Section:
    from dcplan.figures.plan import capacity_figure, cost_breakdown_figure, timeline_figure

    plan = x.plan
    d = plan.to_dict()
    cols = option_columns(_)
    options = Table(title=_("Plan per option"), sheet=_("plan options"), columns=cols,
                    rows=tuple({c.key: o[c.key] for c in cols} for o in d["options"]))
    capex_keys = list(d["options"][0]["capex_breakdown_usd"]) if d["options"] else []
    capex = Table(title=_("Capex by component"), sheet=_("capex breakdown"),
                  columns=(Column(key="hardware", label=_("Option")),
                           *(Column(key=k, label=_(_CAPEX_PARTS.get(k, k.replace("_", " ").capitalize())), unit="USD", kind="usd") for k in capex_keys)),
                  rows=tuple({"hardware": o["hardware"], **o["capex_breakdown_usd"]} for o in d["options"]))
    tl_cols = (Column(key="hardware", label=_("Option")), Column(key="quarter", label=_("Quarter")),
               Column(key="required_accelerators", label=_("Required")), Column(key="installed_accelerators", label=_("Installed")),
               Column(key="added_accelerators", label=_("Added")), Column(key="racks", label=_("Racks")),
               Column(key="it_mw", label=_("IT power"), unit="MW", kind="mw"),
               Column(key="capex_added_usd", label=_("Capex added"), unit="USD", kind="usd"), Column(key="action", label=_("Action")))
    actions = _actions(d, _)
    tl_rows = [{**r, "action": actions[(r["hardware"], r["quarter_index"])]} for r in d["timeline"]]
    timeline = Table(title=_("Timeline of every option"), sheet=_("timeline"), columns=tl_cols, in_text=False,
                     rows=tuple({c.key: r[c.key] for c in tl_cols} for r in tl_rows))
    best = plan.ranking[0].hardware
    best_timeline = Table(title=_("Timeline on {hardware}: when to add what").format(hardware=best), columns=tl_cols[1:],
                          rows=tuple({c.key: r[c.key] for c in tl_cols[1:]} for r in tl_rows if r["hardware"] == best and r["added_accelerators"]))
    blocks: list[Any] = [
        Text(paragraphs=(_("Workload '{workload}': {description} Horizon {years} year(s); capacity is sized for the end of the horizon, and the "
                           "timeline shows when each addition is needed.").format(workload=plan.workload, description=plan.description,
                                                                                   years=plan.horizon_years),)),
        options, capex,
        Figure(title=_("Cost breakdown"), figure=cost_breakdown_figure(plan, _)),
        Figure(title=_("Accelerators and power"), figure=capacity_figure(plan, _)),
        Figure(title=_("Timeline"), figure=timeline_figure(plan, tr=_)),
        best_timeline, timeline,
    ]
    jobs = [{"hardware": o["hardware"], **{k: j[k] for k in ("name", "model", "accelerators", "training_days", "mfu_frac", "cost_usd_owned", "cost_usd_rented")}}
            for o in d["options"] for j in o["training_jobs"]]
    if jobs:
        blocks.append(Table(title=_("Training jobs (one run)"), sheet=_("training jobs"), columns=(
            Column(key="hardware", label=_("Option")), Column(key="name", label=_("Job")), Column(key="model", label=_("Model")),
            Column(key="accelerators", label=_("Accelerators")), Column(key="training_days", label=_("Days")),
            Column(key="mfu_frac", label="MFU", unit="fraction", kind="frac"),
            Column(key="cost_usd_owned", label=_("Cost owned"), unit="USD", kind="usd"),
            Column(key="cost_usd_rented", label=_("Cost rented"), unit="USD", kind="usd")), rows=tuple(jobs)))
    limits = {"memory": N_("memory"), "ttft_slo": N_("TTFT target"), "tpot_slo": N_("TPOT target"), "max_batch": N_("batch cap"), "given": N_("given"),
              "latency_slo": N_("latency target"), "throughput_knee": N_("throughput knee")}
    kinds = {"generate": N_("generate"), "embeddings": N_("embeddings")}
    services = [{"hardware": o["hardware"], **{k: s[k] for k in ("name", "model", "stack", "tp", "ep", "replicas", "batch_size", "ttft_s",
                                                                 "tpot_s", "usd_per_mtok")},
                 "kind": _(kinds.get(s.get("kind", "generate"), "generate")),
                 "binding_limit": _(limits[s["binding_limit"]]) if s["binding_limit"] in limits else s["binding_limit"]}
                for o in d["options"] for s in o["services"]]
    for o in plan.options:
        for w in o.warnings:
            blocks.insert(1, Text(paragraphs=(_("**Caution:** {warning}.").format(warning=w),)))
    if plan.excluded:
        blocks.insert(blocks.index(capex) + 1, excluded_table(plan, _))
    if services:
        blocks.append(Table(title=_("Inference services at the design peak"), sheet=_("services"), columns=(
            Column(key="hardware", label=_("Option")), Column(key="name", label=_("Service")), Column(key="kind", label=_("Kind")),
            Column(key="model", label=_("Model")), Column(key="stack", label=_("Stack")), Column(key="tp", label="TP"), Column(key="ep", label="EP"),
            Column(key="replicas", label=_("Replicas")), Column(key="batch_size", label=_("Batch")),
            Column(key="binding_limit", label=_("Batch limited by")), Column(key="ttft_s", label="TTFT", unit="s"), Column(key="tpot_s", label="TPOT", unit="s"),
            Column(key="usd_per_mtok", label=_("Cost"), unit=N_("USD per M served tokens (output; embedded for embeddings)"), kind="usd")),
            rows=tuple(services)))
    rvo = [{"hardware": o["hardware"], **o["rent_vs_own"]} for o in d["options"] if o.get("rent_vs_own")]
    cheaper = {"own": N_("own"), "rent": N_("rent")}
    rvo = [{**r, "cheaper": _(cheaper[r["cheaper"]]) if r.get("cheaper") in cheaper else r.get("cheaper")} for r in rvo]
    if rvo:
        blocks.append(Table(title=_("Rent versus own"), sheet=_("rent vs own"), columns=(
            Column(key="hardware", label=_("Option")), Column(key="cloud_usd_per_accelerator_hour", label=_("Cloud price"), unit="USD/h", kind="usd"),
            Column(key="own_usd_per_year", label=_("Own"), unit="USD/yr", kind="usd"), Column(key="rent_usd_per_year", label=_("Rent"), unit="USD/yr", kind="usd"),
            Column(key="break_even_usd_per_accelerator_hour", label=_("Break-even price"), unit="USD/h", kind="usd"),
            Column(key="break_even_utilization_frac", label=_("Break-even utilisation"), unit="fraction", kind="frac"),
            Column(key="cheaper", label=_("Cheaper"))),
            rows=tuple(rvo)))
    return Section(id="plan", title=_("Capacity plan per option"), blocks=tuple(blocks))


# --------------------------------------------------------------------------------------------
# 4. Market forecast
# --------------------------------------------------------------------------------------------


def market(x, _: Translator = ENGLISH) -> Section:
    from dcplan.figures.forecast import (
        backtest_chart,
        china_supply_chart,
        demand_split_chart,
        fan_chart,
        limits_chart,
        scenario_comparison,
        segment_demand_chart,
        segment_keys,
    )
    from dcplan.forecast.headline import limit_lines

    fc = x.forecast
    d = fc.to_dict()
    rows = []
    for name, m in d["metrics"].items():
        if name.startswith("accelerators_installed_"):
            continue
        for j, year in enumerate(d["years"]):
            rows.append({"metric": name, "unit": _.unit(m["unit"]), "year": str(year), "p10": m["p10"][j], "p50": m["p50"][j], "p90": m["p90"][j], "mean": m["mean"][j]})
    from dcplan.figures.style import REGION_LABELS, metric_label

    pct = Table(title=_("Forecast percentiles ({scenario}, {region}): every metric and year").format(
                    scenario=fc.title or fc.scenario, region=_(REGION_LABELS.get(fc.region, fc.region))), sheet=_("forecast percentiles"), in_text=False,
                columns=(Column(key="metric", label=_("Metric")), Column(key="unit", label=_("Unit")), Column(key="year", label=_("Year"), kind="year"),
                         Column(key="p10", label="P10"), Column(key="p50", label="P50"), Column(key="p90", label="P90"), Column(key="mean", label=_("Mean"))),
                rows=tuple(rows))
    kinds = {"actual": N_("actual"), "published": N_("published")}
    comparisons = Table(title=_("History and published forecasts beside dcplan (same units)"), sheet=_("published vs dcplan"),
                        columns=(Column(key="metric_words", label=_("Metric")), Column(key="region", label=_("Region")),
                                 Column(key="year", label=_("Year"), kind="year"), Column(key="kind", label=_("Kind")), Column(key="label", label=_("What")),
                                 Column(key="value", label=_("Published"), kind="metric"), Column(key="p10", label=_("dcplan P10"), kind="metric"),
                                 Column(key="p50", label=_("dcplan P50"), kind="metric"), Column(key="p90", label=_("dcplan P90"), kind="metric"),
                                 Column(key="covered", label=_("In band")), Column(key="source", label=_("Source")), Column(key="unit", label=_("Unit"))),
                        rows=tuple({**c, "year": str(c["year"]), "metric_words": metric_label(c["metric"], _),
                                    "region": _(REGION_LABELS.get(c["region"], c["region"])),
                                    "kind": _(kinds[c["kind"]]) if c.get("kind") in kinds else c.get("kind"),
                                    "unit": d["metrics"].get(c["metric"], {}).get("unit", "")} for c in d["backtest"]["comparisons"]))
    bt = x.backtest.to_dict()
    bt_rows = tuple({"vintage": str(v["vintage"]), "n_scored": v["n_scored"], "coverage_frac": v["coverage_frac"], "median_abs_log_error": v["median_abs_log_error"],
                     "bias_frac": v["bias_frac"]} for v in bt["vintages"])
    cov = "-" if bt["coverage_frac"] is None else f"{bt['coverage_frac']:.0%}"
    bias = "-" if bt["bias_frac"] is None else f"{bt['bias_frac']:+.0%}"
    backtest = Table(title=_("Backtest on independent points: P10-P90 coverage {coverage} of {n}, P50 bias {bias}").format(
                         coverage=cov, n=bt["n_scored"], bias=bias), sheet=_("backtest"),
                     columns=(Column(key="vintage", label=_("Started from"), kind="year"), Column(key="n_scored", label=_("Points")),
                              Column(key="coverage_frac", label=_("Coverage"), unit="fraction", kind="frac"),
                              Column(key="median_abs_log_error", label=_("Median |log error|")),
                              Column(key="bias_frac", label=_("P50 bias"), unit="fraction", kind="frac")),
                     rows=bt_rows)
    blocks: list[Any] = [
        Text(paragraphs=(_("Scenario '{scenario}' ({file}), {samples} samples, seed {seed}. Bands are P10-P90; black points are history, orange "
                           "diamonds published forecasts. Demand (LLM serving as a sum of application segments, training bounded by what AI revenue "
                           "pays for, AI outside the LLM chain) drives the fleet until chip supply or grid connections bind; China's share is met by "
                           "its own chips and by imports under US export controls.").format(
                             scenario=fc.title or fc.scenario, file=_file_name(fc.file), samples=f"{fc.samples:,}", seed=fc.seed),
                         _("Supply limits: ") + _.gap.join(limit_lines(fc, _)))),
        _headline_table(fc, _), _anchor_table(fc, _),
        Figure(title=_("Electricity"), figure=fan_chart(fc, "energy_twh", _)),
        Figure(title=_("AI electricity by use"), figure=demand_split_chart(fc, _)),
        *([Figure(title=_("LLM serving demand by application"), figure=segment_demand_chart(fc, tr=_))] if segment_keys(fc) else []),
        Figure(title=_("Supply limits"), figure=limits_chart(fc, _)),
        *([Figure(title=_("China's accelerators by origin"), figure=china_supply_chart(fc, tr=_))] if "china_placed_h100e" in fc.metrics else []),
        Figure(title=_("Facility power"), figure=fan_chart(fc, "facility_power_mw", _)),
        Figure(title=_("AI compute installed"), figure=fan_chart(fc, "h100e_installed", _)),
        Figure(title=_("Capex"), figure=fan_chart(fc, "capex_usd", _)),
        Figure(title=_("Scenarios compared"), figure=scenario_comparison(list(x.scenarios), "energy_twh", _)),
        Figure(title=_("Backtest"), figure=backtest_chart(x.backtest, "energy_twh", "world", fc, _)),
        _roadmap_table(x.roadmap, _), comparisons, backtest, pct,
    ]
    return Section(id="market", title=_("Market forecast"), blocks=tuple(blocks))


def _headline_table(fc, _: Translator = ENGLISH) -> Table:
    """P50 (P10-P90) of the headline metrics every few years (the definition shared with the CLI and the dashboard)."""
    from dcplan.forecast.headline import HEADLINES, headline_rows, number

    years = [y for y in fc.years if (y - fc.years[0]) % 2 == 0 or y == fc.years[-1]]
    by_year = {y: {r["key"]: r for r in headline_rows(fc, y, tr=_)} for y in years}
    rows = []
    for h in HEADLINES:
        if h.key not in fc.metrics:
            continue
        first = by_year[years[0]][h.key]
        row: dict[str, Any] = {"metric": f"{first['label']} [{first['unit']}]"}
        for y in years:
            r = by_year[y][h.key]
            row[str(y)] = f"{number(r['p50'])} ({number(r['p10'])}-{number(r['p90'])})"
        rows.append(row)
    return Table(title=_("Headline: P50 (P10-P90) by year (all metrics and years: XLSX sheet '{sheet}')").format(sheet=_("forecast percentiles")),
                 sheet=_("headline"), columns=(Column(key="metric", label=_("Metric")), *(Column(key=str(y), label=str(y)) for y in years)), rows=tuple(rows))


def _anchor_table(fc, _: Translator = ENGLISH) -> Table:
    """The published numbers beside each headline figure, with their sources."""
    from dcplan.figures.style import REGION_LABELS
    from dcplan.forecast.headline import HEADLINES, anchors, number
    from dcplan.units import display_unit

    rows = []
    for h in HEADLINES:
        mult, unit = display_unit(h.unit, _.lang)
        scale = h.scale / mult
        for c in anchors(fc, h.key, all_regions=True) if h.key in fc.metrics else ():
            rng = f" ({number(c.low / scale)}-{number(c.high / scale)})" if c.low is not None and c.high is not None else ""
            rows.append({"metric": f"{_(h.label)} [{unit}]", "region": _(REGION_LABELS.get(c.region, c.region)), "year": str(c.year),
                         "published": f"{number(c.value / scale)}{rng}", "what": c.label,
                         "dcplan": f"{number(c.p50 / scale)} ({number(c.p10 / scale)}-{number(c.p90 / scale)})",
                         "inside": _("yes") if c.covered else _("no"), "source": c.source})
    return Table(title=_("Anchors beside the headline figures: published numbers and actuals, same units"), sheet=_("anchors"),
                 columns=(Column(key="metric", label=_("Metric")), Column(key="region", label=_("Region")), Column(key="year", label=_("Year")),
                          Column(key="what", label=_("What")), Column(key="published", label=_("Published")),
                          Column(key="dcplan", label=_("dcplan P50 (P10-P90)")),
                          Column(key="inside", label=_("In band")), Column(key="source", label=_("Source"))), rows=tuple(rows))


def _roadmap_table(rows, _: Translator = ENGLISH) -> Table:
    """FLOP/s per watt and per dollar by catalog generation, and the yearly gain between generations."""
    out = tuple({"generation": r["generation"], "hardware": r["hardware"], "first_vintage": str(r["first_vintage"]),
                 "flops_per_s_per_w": r["flops_per_s_per_w"] / 1e9, "flops_per_s_per_usd": (r["flops_per_s_per_usd"] or 0) / 1e9 or None,
                 "per_w_gain_per_year": r["per_w_gain_per_year"], "per_usd_gain_per_year": r["per_usd_gain_per_year"]} for r in rows)
    return Table(title=_("Efficiency roadmap: catalog generations (dense peak per server watt and per published dollar); "
                         "later vintages extrapolate at the scenario's rates"), sheet=_("roadmap"),
                 columns=(Column(key="generation", label=_("Generation")), Column(key="hardware", label=_("Accelerator")),
                          Column(key="first_vintage", label=_("First vintage")),
                          Column(key="flops_per_s_per_w", label=_("GFLOP/s per W")), Column(key="flops_per_s_per_usd", label=_("GFLOP/s per $")),
                          Column(key="per_w_gain_per_year", label=_("per-W gain per year")), Column(key="per_usd_gain_per_year", label=_("per-$ gain per year"))),
                 rows=out)


# --------------------------------------------------------------------------------------------
# 5. Sensitivity
# --------------------------------------------------------------------------------------------


def sensitivity(x, _: Translator = ENGLISH) -> Section:
    from dcplan.capacity.ranking import price_cut_to_win, price_rise_to_lose
    from dcplan.figures.forecast import tornado_chart
    from dcplan.figures.style import driver_label, lower_first, metric_label

    t, loc = x.tornado, _.lang
    rows = tuple({"driver": driver_label(b.name, _), "name": b.name, "low_input": b.low_input, "high_input": b.high_input, "at_low": b.at_low,
                  "at_high": b.at_high, "swing": b.swing} for b in t.bars)
    what = {"metric": lower_first(metric_label(t.metric, _)), "year": t.year, "base": for_people(t.base_value, t.unit, locale=loc)}
    table = Table(title=_("Tornado: {metric} in {year}; all drivers at their medians give {base}").format(**what),
                  sheet=_("tornado"),
                  columns=(Column(key="driver", label=_("Driver")), Column(key="name", label=_("Parameter")), Column(key="low_input", label=_("Input at P10")),
                           Column(key="high_input", label=_("Input at P90")),
                           Column(key="at_low", label=_("Metric at P10"), unit=t.unit), Column(key="at_high", label=_("Metric at P90"), unit=t.unit),
                           Column(key="swing", label=_("Swing"), unit=t.unit)), rows=rows)
    cuts = price_cut_to_win(list(x.plan.options))
    best = x.plan.ranking[0].hardware
    flips = [_("{hardware}: its accelerator price would have to fall by {cut} to match {best}").format(hardware=hw, cut=percent(frac, 0, loc), best=best)
             if frac is not None else
             _("{hardware}: no accelerator price closes the gap to {best} (the difference is outside accelerator capex)").format(hardware=hw, best=best)
             for hw, frac in cuts.items()]
    rise = price_rise_to_lose(list(x.plan.options))
    if rise is not None:
        win, second, frac = rise
        price = x.plan.option(win).capex_breakdown_usd["accelerators"] / max(1, x.plan.option(win).accelerators)
        flips.insert(0, _("{winner} stays the cheapest until its accelerator price rises by {rise} (from {price} to {limit}), where {second} matches it").format(
            winner=win, rise=percent(frac, 0, loc), price=usd(price, locale=loc), limit=usd(price * (1 + frac), locale=loc), second=second))
    text = Text(paragraphs=(
        _("What matters most for {metric} in {year}: {drivers}.").format(
            drivers=_("; ").join(lower_first(driver_label(b.name, _)) for b in t.bars[:3]), **what),
        _("What would change the recommendation: ") + (_("; ").join(flips) if flips else _("there is only one option")) + _(". ")
        + _("Prices are the least certain inputs of the plan (data/costs/defaults.yaml grades most accelerator prices C). Serving "
            "efficiencies differ by software stack (TensorRT-LLM, vLLM on ROCm, ...) and are fitted on each stack's published results; an "
            "option whose chip has no published result of its stack rests on other chips' data (see the cautions in section 3)."),
    ))
    blocks: list[Any] = [text, Figure(title=_("Tornado"), figure=tornado_chart(t, top=12, tr=_)), table]
    if x.sobol is not None:
        from dcplan.figures.forecast import sobol_chart

        sd = x.sobol.to_dict()
        blocks.append(Figure(title=_("Sobol indices"), figure=sobol_chart(x.sobol, top=12, tr=_)))
        blocks.append(Table(title=_("Sobol indices of {metric} in {year} (scipy.stats.sobol_indices, N = {n}), {confidence} bootstrap intervals").format(
                                metric=metric_label(sd["metric"], _), year=sd["year"], n=sd["base_samples"], confidence=percent(sd["confidence"], 0, loc)),
                            sheet=_("sobol"),
                            columns=(Column(key="name", label=_("Driver")), Column(key="first_order", label=_("First order")),
                                     Column(key="first_ci", label=_("First-order interval")),
                                     Column(key="total_order", label=_("Total order")), Column(key="total_ci", label=_("Total-order interval"))),
                            rows=tuple({"name": r["name"], "first_order": r["first_order"], "total_order": r["total_order"],
                                        "first_ci": f"{r['first_order_ci'][0]:.3f}-{r['first_order_ci'][1]:.3f}",
                                        "total_ci": f"{r['total_order_ci'][0]:.3f}-{r['total_order_ci'][1]:.3f}"} for r in sd["indices"][:15])))
    return Section(id="sensitivity", title=_("Sensitivity"), blocks=tuple(blocks))


# --------------------------------------------------------------------------------------------
# 6. Assumptions and methodology
# --------------------------------------------------------------------------------------------


def assumptions(x, _: Translator = ENGLISH) -> Section:
    from dcplan.figures.style import driver_label
    from dcplan.forecast.scenario import DRIVERS

    plan_rows = tuple(a.to_dict() for a in x.plan.assumptions)
    plan_table = Table(title=_("Plan assumptions"), sheet=_("assumptions"), columns=(
        Column(key="name", label=_("Parameter")), Column(key="value", label=_("Value")), Column(key="unit", label=_("Unit")),
        Column(key="source", label=_("Source")), Column(key="quality", label=_("Quality"))), rows=plan_rows)
    params = []
    for name, p in x.forecast.parameters.items():
        dist = {k: v for k, v in p.items() if k not in ("source", "date", "per_year", "median")}
        median = p.get("median")
        if name in DRIVERS and DRIVERS[name].unit == "year" and isinstance(median, float):
            median = f"{median:.1f}"  # a year (2024.5), never with a thousands separator
        params.append({"name": name, "what": driver_label(name, _), "distribution": ", ".join(f"{k}={_compact(v)}" for k, v in dist.items()), "median": median,
                       "per_year": p.get("per_year"), "source": p.get("source"), "date": p.get("date")})
    scen_table = Table(title=_("Forecast parameters ({scenario})").format(scenario=x.forecast.title or x.forecast.scenario), sheet=_("forecast parameters"),
                       columns=(Column(key="name", label=_("Parameter")), Column(key="what", label=_("What")), Column(key="distribution", label=_("Distribution")),
                                Column(key="median", label=_("Median")), Column(key="per_year", label=_("Per year")), Column(key="source", label=_("Source")),
                                Column(key="date", label=_("Date"))), rows=tuple(params))
    cal = x.calibration["calibration"] if x.calibration is not None else x.calibration_defaults
    eff = [
        {"name": "gemm.eta_max", "value": cal.gemm.eta_max, "source": cal.source("gemm")},
        {"name": "gemm.x_half [FLOP]", "value": cal.gemm.x_half, "source": cal.source("gemm")},
        {"name": "train.eta_max", "value": cal.train.eta_max, "source": cal.source("train")},
        {"name": "prefill.eta_max", "value": cal.prefill.eta_max, "source": cal.source("prefill")},
        {"name": "decode_bw_frac", "value": cal.decode_bw_frac, "source": cal.source("decode_bw_frac")},
        {"name": "memory_constant_bytes", "value": cal.memory_constant_bytes, "source": cal.source("memory_constant_bytes")},
        {"name": "goodput_frac", "value": cal.goodput_frac, "source": cal.source("goodput_frac")},
        {"name": "train_load_frac", "value": cal.train_load_frac, "source": cal.source("train_load_frac")},
    ]
    eff_table = Table(title=_("Model efficiency parameters ({name})").format(name=cal.label), sheet=_("model efficiency"), columns=(
        Column(key="name", label=_("Parameter")), Column(key="value", label=_("Value")), Column(key="source", label=_("Source"))), rows=tuple(eff))
    formulas = Table(title=_("Methodology: formulas and their sources"), sheet=_("methodology"), columns=(
        Column(key="what", label=_("Quantity")), Column(key="formula", label=_("Formula")), Column(key="source", label=_("Source"))),
        rows=tuple({"what": _(w), "formula": _(f), "source": s} for w, f, s in FORMULAS))
    note = Text(paragraphs=(_("Conventions: SI units inside dcplan (GB = 1e9 bytes, GiB = 2^30); dense peak FLOP/s (no sparsity); "
                              "training FLOPs causal-aware, MFU without recomputation."),))
    return Section(id="assumptions", title=_("Assumptions and methodology"), blocks=(note, formulas, eff_table, plan_table, scen_table))


# --------------------------------------------------------------------------------------------
# 7. Validation
# --------------------------------------------------------------------------------------------


def validation(x, _: Translator = ENGLISH) -> Section:
    from dcplan.validation import to_json

    v = to_json(x.validation)
    train = Table(title=_("Training runs: published vs predicted"), sheet=_("validation training"), columns=(
        Column(key="id", label=_("Run")), Column(key="hardware", label=_("Hardware")), Column(key="n_accelerators", label=_("Accelerators")),
        Column(key="counting", label=_("FLOP counting")), Column(key="published_tflops", label=_("Published"), unit=N_("TFLOP/s per accelerator")),
        Column(key="predicted_tflops", label=_("Predicted"), unit=N_("TFLOP/s per accelerator")),
        Column(key="published_accelerator_hours", label=_("Published"), unit=N_("accelerator-hours")),
        Column(key="predicted_accelerator_hours", label=_("Predicted"), unit=N_("accelerator-hours")), Column(key="layout", label=_("Layout")),
        Column(key="error", label=_("Not predicted because")), Column(key="source", label=_("Source")), Column(key="quality", label=_("Quality"))),
        rows=tuple({**r, "published_tflops": _tera(r.get("published_flops_per_s")), "predicted_tflops": _tera(r.get("predicted_flops_per_s"))}
                   for r in v["training"]))
    infer = Table(title=_("Serving results (MLPerf Inference v4.0-v5.1, vendor tables): published vs predicted"), sheet=_("validation inference"), columns=(
        Column(key="id", label=_("Result")), Column(key="stack", label=_("Stack")), Column(key="n_accelerators", label=_("Accelerators")),
        Column(key="precision", label=_("Precision")), Column(key="published_tokens_per_s", label=_("Published"), unit=N_("output tokens/s")),
        Column(key="predicted_tokens_per_s", label=_("Predicted"), unit=N_("output tokens/s")), Column(key="held_out_ratio", label=_("Held-out ratio")),
        Column(key="predicted_batch", label=_("Predicted batch")), Column(key="quality", label=_("Quality"))), rows=tuple(v["inference"]))
    by_stack = tuple({"stack": k, **{m: s.get(m) for m in ("held_out", "n", "median_ape_pct", "p90_ape_pct", "bias_pct")}}
                     for k, s in v["summary"].get("inference_by_stack", {}).items())
    stacks = Table(title=_("Serving error per stack, held out"), sheet=_("validation stacks"), columns=(
        Column(key="stack", label=_("Stack")), Column(key="held_out", label=_("Held out by")), Column(key="n", label="n"),
        Column(key="median_ape_pct", label=_("Median APE"), unit="%", kind="pct"),
        Column(key="p90_ape_pct", label=_("P90 APE"), unit="%", kind="pct"), Column(key="bias_pct", label=_("Bias"), unit="%", kind="pct")), rows=by_stack)
    text = Text(paragraphs=(_("Training rows are predicted with the shipped defaults and the published layout where one is given; serving rows "
                              "with their stack's fitted parameters at the published setup, and held out: the held-out ratio is the prediction "
                              "with the stack refitted without that row (leave-one-out; in a stack with more than 30 rows, without the row's tenth "
                              "of the rows). No constant is tuned per run. Rows that cannot be predicted say why; a row marked not fitted "
                              "is an engine version its stack no longer describes, shown with its error but not scored."),))
    return Section(id="validation", title=_("Validation against published runs"), blocks=(text, train, stacks, infer))


def _file_name(path: str | None) -> str | None:
    from pathlib import PurePath

    return PurePath(path).name if path else None


def _tera(v: float | None) -> float | None:
    return v / 1e12 if v is not None else None


def build_report(x, lang: str = "en") -> Report:
    """The seven sections of the capacity report, from gathered inputs, in ``lang`` (a code of dcplan.i18n.LANGUAGES).

    The text follows the language; the machine-readable ``data`` (the JSON format) is the same in every language.
    """
    _ = translator(lang)
    sections = tuple(f(x, _) for f in (executive_summary, accuracy, capacity, market, sensitivity, assumptions, validation))
    from dcplan.validation import to_json

    data = {
        "seed": x.seed,
        "plan": x.plan.to_dict(),
        "forecast": x.forecast.to_dict(),
        "scenarios": [{"name": f.scenario, "metrics": {k: v.as_dict() for k, v in f.metrics.items()}, "years": list(f.years)} for f in x.scenarios],
        "sensitivity": x.tornado.to_dict(),
        "sobol": x.sobol.to_dict() if x.sobol is not None else None,
        "backtest": x.backtest.to_dict(),
        "validation": to_json(x.validation),
        "calibration": ({k: v for k, v in x.calibration.items() if k != "calibration"} if x.calibration is not None else None),
    }
    title, subtitle = _titles(x, ENGLISH)
    data = {"title": title, "subtitle": subtitle, **data}  # the JSON keeps its English title in every language
    title, subtitle = _titles(x, _)
    return Report(title=title, subtitle=subtitle, created=x.created, sections=sections, data=data, lang=lang)


def _titles(x, _: Translator) -> tuple[str, str]:
    return (_("dcplan capacity report: {workload}").format(workload=x.plan.workload),
            _("Workload {workload}; scenario {scenario}").format(workload=_file_name(x.plan.source_file) or x.plan.workload,
                                                                 scenario=x.forecast.title or x.forecast.scenario))
