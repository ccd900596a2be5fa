"""Assemble the capacity report from result objects: sections of text, tables and figures.

Pure: takes :class:`~dcplan.report.pipeline.ReportInputs` and returns a
:class:`~dcplan.report.document.Report`. Numbers are read from the result objects (plan,
forecast, tornado, backtest, validation, calibration), never recomputed; figures come from
:mod:`dcplan.figures`, shared with the dashboard.
"""

from __future__ import annotations

from typing import Any

from dcplan.report.document import Column, Figure, Report, Section, Table, Text
from dcplan.report.methodology import FORMULAS
from dcplan.units import for_people, power_mw, usd


def _num(x: float, digits: int = 3) -> str:
    """3 significant digits without exponents: 2,012 / 229.6 / 0.273."""
    from dcplan.report.writers import fmt_cell

    return fmt_cell(float(x), digits)


# --------------------------------------------------------------------------------------------
# 1. Executive summary
# --------------------------------------------------------------------------------------------


def executive_summary(x) -> Section:
    from dcplan.forecast.headline import limit_lines

    plan, fc = x.plan, x.forecast
    best = plan.ranking[0]
    o = plan.option(best.hardware)
    horizon = fc.years[-1]
    energy = fc.metric("energy_twh")
    power = fc.metric("facility_power_mw")
    i = fc.years.index(horizon)
    paras = [
        f"**Recommendation: {o.display_name} ({o.hardware}).** The workload '{plan.workload}' needs {o.accelerators:,} accelerators "
        f"({o.nodes:,} nodes in {o.racks:,} racks), {power_mw(o.it_mw)} of IT power ({power_mw(o.facility_mw)} at the facility), "
        f"{usd(o.capex_usd)} of capex and {usd(o.tco_usd_per_year)} a year in total cost of ownership"
        + (f", {usd(o.usd_per_mtok)} per million output tokens served." if o.usd_per_mtok is not None else "."),
        f"Deciding factor: {best.deciding_factor}.",
        *(f"**Caution:** {w}." for o in plan.options for w in o.warnings),
        f"**Market ({fc.title or fc.scenario} scenario, {fc.samples:,} Monte Carlo samples, seed {fc.seed}):** world data-centre "
        f"electricity reaches {_num(energy.p50[i])} TWh in {horizon} (P10-P90 {_num(energy.p10[i])}-{_num(energy.p90[i])}), "
        f"an average facility load of {_num(power.p50[i] / 1e3)} GW (P10-P90 {_num(power.p10[i] / 1e3)}-{_num(power.p90[i] / 1e3)}). "
        + " ".join(limit_lines(fc)[:2]),
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
        title="Options at a glance (capacity at the end of the horizon)",
        columns=(Column(key="rank", label="Rank"), Column(key="hardware", label="Option"), Column(key="accelerators", label="Accelerators"),
                 Column(key="racks", label="Racks"), Column(key="it_mw", label="IT power", unit="MW", kind="mw"),
                 Column(key="facility_mw", label="Facility power", unit="MW", kind="mw"), Column(key="capex_usd", label="Capex", unit="USD", kind="usd"),
                 Column(key="tco_usd_per_year", label="TCO", unit="USD/yr", kind="usd"), Column(key="usd_per_mtok", label="Cost", unit="USD per M output tokens", kind="usd")),
        rows=tuple(rows),
    )
    from dcplan.forecast.headline import SUMMARY_KEYS, headline_rows

    year = 2030 if 2030 in fc.years else horizon
    mrows = [{"metric": f"{r['label']} [{r['unit']}]", "p10": r["p10"], "p50": r["p50"], "p90": r["p90"], "anchors": "; ".join(r["anchors"]) or "-"}
             for r in headline_rows(fc, year, compact=True, keys=SUMMARY_KEYS)]
    market = Table(title=f"Market headline in {year}, with the published numbers beside it", columns=(
        Column(key="metric", label="Metric"), Column(key="p10", label="P10"), Column(key="p50", label="P50"), Column(key="p90", label="P90"),
        Column(key="anchors", label="Published and actual (sources in section 4)")), rows=tuple(mrows))
    return Section(id="summary", title="Executive summary", blocks=(Text(paragraphs=tuple(paras)), summary, market))


# --------------------------------------------------------------------------------------------
# 2. Hardware and model accuracy
# --------------------------------------------------------------------------------------------


#: Words for the validation summaries (keys of dcplan.validation's summary).
_VALIDATION_METRICS = {
    "training_flops_per_s": "Training throughput (FLOP/s per accelerator)",
    "training_accelerator_hours": "Training accelerator-hours",
    "inference_tokens_per_s": "Serving throughput (output tokens/s), stacks' fits in sample",
    "inference_moe_held_out": "Serving throughput, mixture-of-experts rows, held out",
    "inference_not_fitted": "Serving throughput, rows not fitted (superseded engine versions)",
}


def accuracy(x) -> Section:
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
        blocks.append(Text(paragraphs=(
            (f"Measured profile shipped with dcplan: {prof.get('name')} ({dev_name}, {prof.get('precision', '')}). {prof.get('notes')}"
             if shipped else
             f"Profile used: {prof.get('path', doc.get('path'))} ({dev_name}, {prof.get('precision', '')}); calibration file {doc.get('path')}.")
            + " Errors below are on held-out configurations the fit never saw.",
            (f"The plan uses this calibration for {cal.hardware}" + (" (by default; plan with --no-measured to use the shipped "
                                                                      "defaults instead)." if shipped else ".") if in_plan else
             "The profiled device is not among the plan's hardware options, so the plan uses the shipped efficiencies (below); "
             "this calibration shows how well the model predicts measured hardware."),
        )))
        heldout = doc.get("heldout") or {}
        rows = [{"kind": k, **{m: v.get(m) for m in ("n", "median_ape_pct", "p90_ape_pct", "max_ape_pct", "bias_pct")}}
                for k, v in heldout.items() if isinstance(v, dict)]
        if x.profile_calibration is not None:
            from dcplan.figures.calibration import measured_vs_predicted

            for kind in ("train", "decode", "memory"):
                held = kind in x.profile_calibration.heldout and x.profile_calibration.heldout[kind].points
                blocks.append(Figure(title=f"Measured vs predicted: {kind}", figure=measured_vs_predicted(x.profile_calibration, kind),
                                     caption=("Crosses are held-out (leave-one-out) predictions; " if held else
                                              "Dots are in-sample predictions (this calibration file records no held-out points; the table below "
                                              "gives its held-out errors); ") + "open circles the uncalibrated roofline."))
        blocks.append(Table(title="Calibration: held-out errors", sheet="calibration heldout", columns=(
            Column(key="kind", label="Kind"), Column(key="n", label="n"), Column(key="median_ape_pct", label="Median APE", unit="%", kind="pct"),
            Column(key="p90_ape_pct", label="P90 APE", unit="%", kind="pct"), Column(key="max_ape_pct", label="Max APE", unit="%", kind="pct"),
            Column(key="bias_pct", label="Bias", unit="%", kind="pct")), rows=tuple(rows)))
    else:
        cal = x.calibration_defaults
        blocks.append(Text(paragraphs=(
            "No profile was given: training uses the shipped efficiency parameters (data/efficiency/defaults.yaml), whose shared "
            f"train-step efficiency ({cal.train.eta_max:.3f} of the GEMM ceiling) is fitted on the published runs of section 7, all rows "
            "together; serving uses each option's serving stack (data/stacks/), whose bandwidth fraction, prefill efficiency, per-step "
            "overhead and memory share are fitted on that stack's published results (section 7) with partial pooling toward the other "
            "stacks. Run `dcplan profile` and `dcplan calibrate` on your hardware and pass --profile to plan with measured efficiencies.",)))
    stacks = [o.serving_stack for o in x.plan.options if o.serving_stack]
    if stacks:
        srows = tuple({"hardware": st["chip"], "stack": st["name"] or "none (pooled)", "version": st["version"], "rows": st["rows"],
                       "rows_on_chip": st["rows_on_chip"], "loo": (st["held_out"] or {}).get("median_ape_pct"),
                       "warning": st["warning"] or ""} for st in stacks)
        blocks.append(Table(title="Serving stack of each option and the published results it rests on", sheet="serving stacks", columns=(
            Column(key="stack", label="Stack"), Column(key="hardware", label="Option"), Column(key="version", label="Version"),
            Column(key="rows", label="Rows fitted"), Column(key="rows_on_chip", label="Rows on this chip"),
            Column(key="loo", label="Held-out median APE", unit="%", kind="pct"), Column(key="warning", label="Warning")), rows=srows))
    s = {_VALIDATION_METRICS.get(k, k): v for k, v in x.validation["summary"].items() if k != "inference_by_stack"}
    s.update({f"Serving throughput, {k}, held out": v for k, v in x.validation["summary"].get("inference_by_stack", {}).items()})
    rows = [{"metric": k, **{m: v.get(m) for m in ("n", "median_ape_pct", "p90_ape_pct", "max_ape_pct", "bias_pct")}} for k, v in s.items()]
    blocks.append(Table(title="The model against published runs and benchmarks (shipped defaults)", columns=(
        Column(key="metric", label="Metric"), Column(key="n", label="n"), Column(key="median_ape_pct", label="Median APE", unit="%", kind="pct"),
        Column(key="p90_ape_pct", label="P90 APE", unit="%", kind="pct"), Column(key="max_ape_pct", label="Max APE", unit="%", kind="pct"),
        Column(key="bias_pct", label="Bias", unit="%", kind="pct")), rows=tuple(rows)))
    blocks.append(Figure(title="Published vs predicted", figure=validation_scatter(x.validation["training"], x.validation["inference"]),
                         caption="Each point is a published run or benchmark (section 7); the line is perfect agreement."))
    return Section(id="accuracy", title="Hardware and model accuracy", blocks=tuple(blocks))


# --------------------------------------------------------------------------------------------
# 3. Capacity plan
# --------------------------------------------------------------------------------------------


OPTION_COLUMNS = (
    Column(key="hardware", label="Option"), Column(key="accelerators", label="Accelerators"),
    Column(key="accelerators_training", label="Training accelerators"), Column(key="accelerators_serving", label="Serving accelerators"),
    Column(key="nodes", label="Nodes"), Column(key="racks", label="Racks"), Column(key="it_mw", label="IT power", unit="MW", kind="mw"),
    Column(key="facility_mw", label="Facility power", unit="MW", kind="mw"), Column(key="energy_mwh_per_year", label="Energy", unit="MWh/yr"),
    Column(key="capex_usd", label="Capex", unit="USD", kind="usd"), Column(key="opex_usd_per_year", label="Opex", unit="USD/yr", kind="usd"),
    Column(key="tco_usd_per_year", label="TCO", unit="USD/yr", kind="usd"), Column(key="usd_per_accelerator_hour", label="Cost", unit="USD per accelerator-hour", kind="usd"),
    Column(key="usd_per_mtok", label="Cost", unit="USD per M output tokens", kind="usd"), Column(key="tco2e_per_year", label="Emissions", unit="tCO2e/yr"),
)


def capacity(x) -> Section:
    from dcplan.figures.plan import capacity_figure, cost_breakdown_figure, timeline_figure

    plan = x.plan
    d = plan.to_dict()
    options = Table(title="Plan per option", sheet="plan options", columns=OPTION_COLUMNS,
                    rows=tuple({c.key: o[c.key] for c in OPTION_COLUMNS} for o in d["options"]))
    capex_keys = list(d["options"][0]["capex_breakdown_usd"]) if d["options"] else []
    capex = Table(title="Capex by component", sheet="capex breakdown",
                  columns=(Column(key="hardware", label="Option"), *(Column(key=k, label=k.replace("_", " ").capitalize(), unit="USD", kind="usd") for k in capex_keys)),
                  rows=tuple({"hardware": o["hardware"], **o["capex_breakdown_usd"]} for o in d["options"]))
    tl_cols = (Column(key="hardware", label="Option"), Column(key="quarter", label="Quarter"),
               Column(key="required_accelerators", label="Required"), Column(key="installed_accelerators", label="Installed"),
               Column(key="added_accelerators", label="Added"), Column(key="racks", label="Racks"), Column(key="it_mw", label="IT power", unit="MW", kind="mw"),
               Column(key="capex_added_usd", label="Capex added", unit="USD", kind="usd"), Column(key="action", label="Action"))
    timeline = Table(title="Timeline of every option", sheet="timeline", columns=tl_cols, in_text=False,
                     rows=tuple({c.key: r[c.key] for c in tl_cols} for r in d["timeline"]))
    best = plan.ranking[0].hardware
    best_timeline = Table(title=f"Timeline on {best}: when to add what", columns=tl_cols[1:],
                          rows=tuple({c.key: r[c.key] for c in tl_cols[1:]} for r in d["timeline"] if r["hardware"] == best and r["added_accelerators"]))
    blocks: list[Any] = [
        Text(paragraphs=(f"Workload '{plan.workload}': {plan.description} Horizon {plan.horizon_years} year(s); capacity is sized for the "
                         "end of the horizon, and the timeline shows when each addition is needed.",)),
        options, capex,
        Figure(title="Cost breakdown", figure=cost_breakdown_figure(plan)),
        Figure(title="Accelerators and power", figure=capacity_figure(plan)),
        Figure(title="Timeline", figure=timeline_figure(plan)),
        best_timeline, timeline,
    ]
    jobs = [{"hardware": o["hardware"], **{k: j[k] for k in ("name", "model", "accelerators", "training_days", "mfu_frac", "cost_usd_owned", "cost_usd_rented")}}
            for o in d["options"] for j in o["training_jobs"]]
    if jobs:
        blocks.append(Table(title="Training jobs (one run)", sheet="training jobs", columns=(
            Column(key="hardware", label="Option"), Column(key="name", label="Job"), Column(key="model", label="Model"),
            Column(key="accelerators", label="Accelerators"), Column(key="training_days", label="Days"), Column(key="mfu_frac", label="MFU", unit="fraction", kind="frac"),
            Column(key="cost_usd_owned", label="Cost owned", unit="USD", kind="usd"), Column(key="cost_usd_rented", label="Cost rented", unit="USD", kind="usd")), rows=tuple(jobs)))
    limits = {"memory": "memory", "ttft_slo": "TTFT target", "tpot_slo": "TPOT target", "max_batch": "batch cap", "given": "given"}
    services = [{"hardware": o["hardware"], **{k: s[k] for k in ("name", "model", "stack", "tp", "ep", "replicas", "batch_size", "ttft_s",
                                                                 "tpot_s", "usd_per_mtok")},
                 "binding_limit": limits.get(s["binding_limit"], s["binding_limit"])}
                for o in d["options"] for s in o["services"]]
    for o in plan.options:
        for w in o.warnings:
            blocks.insert(1, Text(paragraphs=(f"**Caution:** {w}.",)))
    if services:
        blocks.append(Table(title="Inference services at the design peak", sheet="services", columns=(
            Column(key="hardware", label="Option"), Column(key="name", label="Service"), Column(key="model", label="Model"),
            Column(key="stack", label="Stack"), Column(key="tp", label="TP"), Column(key="ep", label="EP"),
            Column(key="replicas", label="Replicas"), Column(key="batch_size", label="Batch"),
            Column(key="binding_limit", label="Batch limited by"), Column(key="ttft_s", label="TTFT", unit="s"), Column(key="tpot_s", label="TPOT", unit="s"),
            Column(key="usd_per_mtok", label="Cost", unit="USD per M output tokens", kind="usd")), rows=tuple(services)))
    rvo = [{"hardware": o["hardware"], **o["rent_vs_own"]} for o in d["options"] if o.get("rent_vs_own")]
    if rvo:
        blocks.append(Table(title="Rent versus own", sheet="rent vs own", columns=(
            Column(key="hardware", label="Option"), Column(key="cloud_usd_per_accelerator_hour", label="Cloud price", unit="USD/h", kind="usd"),
            Column(key="own_usd_per_year", label="Own", unit="USD/yr", kind="usd"), Column(key="rent_usd_per_year", label="Rent", unit="USD/yr", kind="usd"),
            Column(key="break_even_usd_per_accelerator_hour", label="Break-even price", unit="USD/h", kind="usd"),
            Column(key="break_even_utilization_frac", label="Break-even utilisation", unit="fraction", kind="frac"), Column(key="cheaper", label="Cheaper")),
            rows=tuple(rvo)))
    return Section(id="plan", title="Capacity plan per option", blocks=tuple(blocks))


# --------------------------------------------------------------------------------------------
# 4. Market forecast
# --------------------------------------------------------------------------------------------


def market(x) -> Section:
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
            rows.append({"metric": name, "unit": m["unit"], "year": str(year), "p10": m["p10"][j], "p50": m["p50"][j], "p90": m["p90"][j], "mean": m["mean"][j]})
    pct = Table(title=f"Forecast percentiles ({fc.title or fc.scenario}, {fc.region}): every metric and year", sheet="forecast percentiles", in_text=False,
                columns=(Column(key="metric", label="Metric"), Column(key="unit", label="Unit"), Column(key="year", label="Year", kind="year"),
                         Column(key="p10", label="P10"), Column(key="p50", label="P50"), Column(key="p90", label="P90"), Column(key="mean", label="Mean")),
                rows=tuple(rows))
    from dcplan.figures.style import metric_label

    comparisons = Table(title="History and published forecasts beside dcplan (same units)", sheet="published vs dcplan",
                        columns=(Column(key="metric_words", label="Metric"), Column(key="region", label="Region"),
                                 Column(key="year", label="Year", kind="year"), Column(key="kind", label="Kind"), Column(key="label", label="What"),
                                 Column(key="value", label="Published", kind="metric"), Column(key="p10", label="dcplan P10", kind="metric"),
                                 Column(key="p50", label="dcplan P50", kind="metric"), Column(key="p90", label="dcplan P90", kind="metric"),
                                 Column(key="covered", label="In band"), Column(key="source", label="Source"), Column(key="unit", label="Unit")),
                        rows=tuple({**c, "year": str(c["year"]), "metric_words": metric_label(c["metric"]),
                                    "unit": d["metrics"].get(c["metric"], {}).get("unit", "")} for c in d["backtest"]["comparisons"]))
    bt = x.backtest.to_dict()
    bt_rows = tuple({"vintage": str(v["vintage"]), "n_scored": v["n_scored"], "coverage_frac": v["coverage_frac"], "median_abs_log_error": v["median_abs_log_error"],
                     "bias_frac": v["bias_frac"]} for v in bt["vintages"])
    cov = "-" if bt["coverage_frac"] is None else f"{bt['coverage_frac']:.0%}"
    bias = "-" if bt["bias_frac"] is None else f"{bt['bias_frac']:+.0%}"
    backtest = Table(title=f"Backtest on independent points: P10-P90 coverage {cov} of {bt['n_scored']}, P50 bias {bias}", sheet="backtest",
                     columns=(Column(key="vintage", label="Started from", kind="year"), Column(key="n_scored", label="Points"),
                              Column(key="coverage_frac", label="Coverage", unit="fraction", kind="frac"),
                              Column(key="median_abs_log_error", label="Median |log error|"),
                              Column(key="bias_frac", label="P50 bias", unit="fraction", kind="frac")),
                     rows=bt_rows)
    blocks: list[Any] = [
        Text(paragraphs=(f"Scenario '{fc.title or fc.scenario}' ({_file_name(fc.file)}), {fc.samples:,} samples, seed {fc.seed}. Bands are P10-P90; "
                         "black points are history, orange diamonds published forecasts. Demand (LLM serving as a sum of application segments, "
                         "training bounded by what AI revenue pays for, AI outside the LLM chain) drives the fleet until chip supply or grid "
                         "connections bind; China's share is met by its own chips and by imports under US export controls.",
                         "Supply limits: " + " ".join(limit_lines(fc)))),
        _headline_table(fc), _anchor_table(fc),
        Figure(title="Electricity", figure=fan_chart(fc, "energy_twh")),
        Figure(title="AI electricity by use", figure=demand_split_chart(fc)),
        *([Figure(title="LLM serving demand by application", figure=segment_demand_chart(fc))] if segment_keys(fc) else []),
        Figure(title="Supply limits", figure=limits_chart(fc)),
        *([Figure(title="China's accelerators by origin", figure=china_supply_chart(fc))] if "china_placed_h100e" in fc.metrics else []),
        Figure(title="Facility power", figure=fan_chart(fc, "facility_power_mw")),
        Figure(title="AI compute installed", figure=fan_chart(fc, "h100e_installed")),
        Figure(title="Capex", figure=fan_chart(fc, "capex_usd")),
        Figure(title="Scenarios compared", figure=scenario_comparison(list(x.scenarios), "energy_twh")),
        Figure(title="Backtest", figure=backtest_chart(x.backtest, "energy_twh", "world", fc)),
        _roadmap_table(x.roadmap), comparisons, backtest, pct,
    ]
    return Section(id="market", title="Market forecast", blocks=tuple(blocks))


def _headline_table(fc) -> Table:
    """P50 (P10-P90) of the headline metrics every few years (the definition shared with the CLI and the dashboard)."""
    from dcplan.forecast.headline import HEADLINES, headline_rows, number

    years = [y for y in fc.years if (y - fc.years[0]) % 2 == 0 or y == fc.years[-1]]
    by_year = {y: {r["key"]: r for r in headline_rows(fc, y)} for y in years}
    rows = []
    for h in HEADLINES:
        if h.key not in fc.metrics:
            continue
        row: dict[str, Any] = {"metric": f"{h.label} [{h.unit}]"}
        for y in years:
            r = by_year[y][h.key]
            row[str(y)] = f"{number(r['p50'])} ({number(r['p10'])}-{number(r['p90'])})"
        rows.append(row)
    return Table(title="Headline: P50 (P10-P90) by year (all metrics and years: XLSX sheet 'forecast percentiles')", sheet="headline",
                 columns=(Column(key="metric", label="Metric"), *(Column(key=str(y), label=str(y)) for y in years)), rows=tuple(rows))


def _anchor_table(fc) -> Table:
    """The published numbers beside each headline figure, with their sources."""
    from dcplan.forecast.headline import HEADLINES, anchors, number

    rows = []
    for h in HEADLINES:
        for c in anchors(fc, h.key, all_regions=True) if h.key in fc.metrics else ():
            rng = f" ({number(c.low / h.scale)}-{number(c.high / h.scale)})" if c.low is not None and c.high is not None else ""
            rows.append({"metric": f"{h.label} [{h.unit}]", "region": c.region, "year": str(c.year), "published": f"{number(c.value / h.scale)}{rng}", "what": c.label,
                         "dcplan": f"{number(c.p50 / h.scale)} ({number(c.p10 / h.scale)}-{number(c.p90 / h.scale)})",
                         "inside": "yes" if c.covered else "no", "source": c.source})
    return Table(title="Anchors beside the headline figures: published numbers and actuals, same units", sheet="anchors",
                 columns=(Column(key="metric", label="Metric"), Column(key="region", label="Region"), Column(key="year", label="Year"),
                          Column(key="what", label="What"), Column(key="published", label="Published"), Column(key="dcplan", label="dcplan P50 (P10-P90)"),
                          Column(key="inside", label="In band"), Column(key="source", label="Source")), rows=tuple(rows))


def _roadmap_table(rows) -> Table:
    """FLOP/s per watt and per dollar by catalog generation, and the yearly gain between generations."""
    out = tuple({"generation": r["generation"], "hardware": r["hardware"], "first_vintage": str(r["first_vintage"]),
                 "flops_per_s_per_w": r["flops_per_s_per_w"] / 1e9, "flops_per_s_per_usd": (r["flops_per_s_per_usd"] or 0) / 1e9 or None,
                 "per_w_gain_per_year": r["per_w_gain_per_year"], "per_usd_gain_per_year": r["per_usd_gain_per_year"]} for r in rows)
    return Table(title="Efficiency roadmap: catalog generations (dense peak per server watt and per published dollar); "
                       "later vintages extrapolate at the scenario's rates", sheet="roadmap",
                 columns=(Column(key="generation", label="Generation"), Column(key="hardware", label="Accelerator"), Column(key="first_vintage", label="First vintage"),
                          Column(key="flops_per_s_per_w", label="GFLOP/s per W"), Column(key="flops_per_s_per_usd", label="GFLOP/s per $"),
                          Column(key="per_w_gain_per_year", label="per-W gain per year"), Column(key="per_usd_gain_per_year", label="per-$ gain per year")),
                 rows=out)


# --------------------------------------------------------------------------------------------
# 5. Sensitivity
# --------------------------------------------------------------------------------------------


def sensitivity(x) -> Section:
    from dcplan.capacity.ranking import price_cut_to_win, price_rise_to_lose
    from dcplan.figures.forecast import tornado_chart

    t = x.tornado
    from dcplan.figures.style import driver_label, lower_first, metric_label

    rows = tuple({"driver": driver_label(b.name), "name": b.name, "low_input": b.low_input, "high_input": b.high_input, "at_low": b.at_low, "at_high": b.at_high,
                  "swing": b.swing} for b in t.bars)
    table = Table(title=f"Tornado: {lower_first(metric_label(t.metric))} in {t.year}; all drivers at their medians give {for_people(t.base_value, t.unit)}",
                  sheet="tornado",
                  columns=(Column(key="driver", label="Driver"), Column(key="name", label="Parameter"), Column(key="low_input", label="Input at P10"), Column(key="high_input", label="Input at P90"),
                           Column(key="at_low", label="Metric at P10", unit=t.unit), Column(key="at_high", label="Metric at P90", unit=t.unit),
                           Column(key="swing", label="Swing", unit=t.unit)), rows=rows)
    cuts = price_cut_to_win(list(x.plan.options))
    best = x.plan.ranking[0].hardware
    flips = [f"{hw}: its accelerator price would have to fall by {frac:.0%} to match {best}" if frac is not None
             else f"{hw}: no accelerator price closes the gap to {best} (the difference is outside accelerator capex)"
             for hw, frac in cuts.items()]
    rise = price_rise_to_lose(list(x.plan.options))
    if rise is not None:
        win, second, frac = rise
        price = x.plan.option(win).capex_breakdown_usd["accelerators"] / max(1, x.plan.option(win).accelerators)
        flips.insert(0, f"{win} stays the cheapest until its accelerator price rises by {frac:.0%} (from {usd(price)} to "
                        f"{usd(price * (1 + frac))}), where {second} matches it")
    text = Text(paragraphs=(
        f"What matters most for {lower_first(metric_label(t.metric))} in {t.year}: {'; '.join(lower_first(driver_label(b.name)) for b in t.bars[:3])}.",
        "What would change the recommendation: " + ("; ".join(flips) if flips else "there is only one option") + ". "
        "Prices are the least certain inputs of the plan (data/costs/defaults.yaml grades most accelerator prices C). Serving "
        "efficiencies differ by software stack (TensorRT-LLM, vLLM on ROCm, ...) and are fitted on each stack's published results; an "
        "option whose chip has no published result of its stack rests on other chips' data (see the cautions in section 3).",
    ))
    blocks: list[Any] = [text, Figure(title="Tornado", figure=tornado_chart(t, top=12)), table]
    if x.sobol is not None:
        from dcplan.figures.forecast import sobol_chart

        sd = x.sobol.to_dict()
        blocks.append(Figure(title="Sobol indices", figure=sobol_chart(x.sobol, top=12)))
        blocks.append(Table(title=f"Sobol indices of {sd['metric']} in {sd['year']} (scipy.stats.sobol_indices, N = {sd['base_samples']}), "
                                  f"{sd['confidence']:.0%} bootstrap intervals", sheet="sobol",
                            columns=(Column(key="name", label="Driver"), Column(key="first_order", label="First order"), Column(key="first_ci", label="First-order interval"),
                                     Column(key="total_order", label="Total order"), Column(key="total_ci", label="Total-order interval")),
                            rows=tuple({"name": r["name"], "first_order": r["first_order"], "total_order": r["total_order"],
                                        "first_ci": f"{r['first_order_ci'][0]:.3f}-{r['first_order_ci'][1]:.3f}",
                                        "total_ci": f"{r['total_order_ci'][0]:.3f}-{r['total_order_ci'][1]:.3f}"} for r in sd["indices"][:15])))
    return Section(id="sensitivity", title="Sensitivity", blocks=tuple(blocks))


# --------------------------------------------------------------------------------------------
# 6. Assumptions and methodology
# --------------------------------------------------------------------------------------------


def assumptions(x) -> Section:
    from dcplan.figures.style import driver_label
    from dcplan.forecast.scenario import DRIVERS

    plan_rows = tuple(a.to_dict() for a in x.plan.assumptions)
    plan_table = Table(title="Plan assumptions", sheet="assumptions", columns=(
        Column(key="name", label="Parameter"), Column(key="value", label="Value"), Column(key="unit", label="Unit"),
        Column(key="source", label="Source"), Column(key="quality", label="Quality")), rows=plan_rows)
    params = []
    for name, p in x.forecast.parameters.items():
        dist = {k: v for k, v in p.items() if k not in ("source", "date", "per_year", "median")}
        median = p.get("median")
        if name in DRIVERS and DRIVERS[name].unit == "year" and isinstance(median, float):
            median = f"{median:.1f}"  # a year (2024.5), never with a thousands separator
        params.append({"name": name, "what": driver_label(name), "distribution": ", ".join(f"{k}={v}" for k, v in dist.items()), "median": median,
                       "per_year": p.get("per_year"), "source": p.get("source"), "date": p.get("date")})
    scen_table = Table(title=f"Forecast parameters ({x.forecast.title or x.forecast.scenario})", sheet="forecast parameters", columns=(
        Column(key="name", label="Parameter"), Column(key="what", label="What"), Column(key="distribution", label="Distribution"),
        Column(key="median", label="Median"),
        Column(key="per_year", label="Per year"), Column(key="source", label="Source"), Column(key="date", label="Date")), rows=tuple(params))
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
    eff_table = Table(title=f"Model efficiency parameters ({cal.name})", sheet="model efficiency", columns=(
        Column(key="name", label="Parameter"), Column(key="value", label="Value"), Column(key="source", label="Source")), rows=tuple(eff))
    formulas = Table(title="Methodology: formulas and their sources", sheet="methodology", columns=(
        Column(key="what", label="Quantity"), Column(key="formula", label="Formula"), Column(key="source", label="Source")),
        rows=tuple({"what": w, "formula": f, "source": s} for w, f, s in FORMULAS))
    note = Text(paragraphs=("Conventions: SI units inside dcplan (GB = 1e9 bytes, GiB = 2^30); dense peak FLOP/s (no sparsity); "
                            "training FLOPs causal-aware, MFU without recomputation.",))
    return Section(id="assumptions", title="Assumptions and methodology", blocks=(note, formulas, eff_table, plan_table, scen_table))


# --------------------------------------------------------------------------------------------
# 7. Validation
# --------------------------------------------------------------------------------------------


def validation(x) -> Section:
    from dcplan.validation import to_json

    v = to_json(x.validation)
    train = Table(title="Training runs: published vs predicted", sheet="validation training", columns=(
        Column(key="id", label="Run"), Column(key="hardware", label="Hardware"), Column(key="n_accelerators", label="Accelerators"),
        Column(key="counting", label="FLOP counting"), Column(key="published_tflops", label="Published", unit="TFLOP/s per accelerator"),
        Column(key="predicted_tflops", label="Predicted", unit="TFLOP/s per accelerator"),
        Column(key="published_accelerator_hours", label="Published", unit="accelerator-hours"),
        Column(key="predicted_accelerator_hours", label="Predicted", unit="accelerator-hours"), Column(key="layout", label="Layout"),
        Column(key="error", label="Not predicted because"), Column(key="source", label="Source"), Column(key="quality", label="Quality")),
        rows=tuple({**r, "published_tflops": _tera(r.get("published_flops_per_s")), "predicted_tflops": _tera(r.get("predicted_flops_per_s"))}
                   for r in v["training"]))
    infer = Table(title="Serving results (MLPerf Inference v4.0-v5.1, vendor tables): published vs predicted", sheet="validation inference", columns=(
        Column(key="id", label="Result"), Column(key="stack", label="Stack"), Column(key="n_accelerators", label="Accelerators"),
        Column(key="precision", label="Precision"), Column(key="published_tokens_per_s", label="Published", unit="output tokens/s"),
        Column(key="predicted_tokens_per_s", label="Predicted", unit="output tokens/s"), Column(key="held_out_ratio", label="Held-out ratio"),
        Column(key="predicted_batch", label="Predicted batch"), Column(key="quality", label="Quality")), rows=tuple(v["inference"]))
    by_stack = tuple({"stack": k, **{m: s.get(m) for m in ("held_out", "n", "median_ape_pct", "p90_ape_pct", "bias_pct")}}
                     for k, s in v["summary"].get("inference_by_stack", {}).items())
    stacks = Table(title="Serving error per stack, held out", sheet="validation stacks", columns=(
        Column(key="stack", label="Stack"), Column(key="held_out", label="Held out by"), Column(key="n", label="n"),
        Column(key="median_ape_pct", label="Median APE", unit="%", kind="pct"),
        Column(key="p90_ape_pct", label="P90 APE", unit="%", kind="pct"), Column(key="bias_pct", label="Bias", unit="%", kind="pct")), rows=by_stack)
    text = Text(paragraphs=("Training rows are predicted with the shipped defaults and the published layout where one is given; serving rows "
                            "with their stack's fitted parameters at the published setup, and held out: the held-out ratio is the prediction "
                            "with the stack refitted without that row (leave-one-out; in a stack with more than 30 rows, without the row's tenth "
                            "of the rows). No constant is tuned per run. Rows that cannot be predicted say why; a row marked not fitted "
                            "is an engine version its stack no longer describes, shown with its error but not scored.",))
    return Section(id="validation", title="Validation against published runs", blocks=(text, train, stacks, infer))


def _file_name(path: str | None) -> str | None:
    from pathlib import PurePath

    return PurePath(path).name if path else None


def _tera(v: float | None) -> float | None:
    return v / 1e12 if v is not None else None


def build_report(x) -> Report:
    """The seven sections of the capacity report, from gathered inputs."""
    sections = (executive_summary(x), accuracy(x), capacity(x), market(x), sensitivity(x), assumptions(x), validation(x))
    from dcplan.validation import to_json

    data = {
        "seed": x.seed,
        "plan": x.plan.to_dict(),
        "forecast": x.forecast.to_dict(),
        "scenarios": [{"name": f.scenario, "metrics": {k: v.as_dict() for k, v in f.metrics.items()}, "years": list(f.years)} for f in x.scenarios],
        "sensitivity": x.tornado.to_dict(),
        "backtest": x.backtest.to_dict(),
        "validation": to_json(x.validation),
        "calibration": ({k: v for k, v in x.calibration.items() if k != "calibration"} if x.calibration is not None else None),
    }
    return Report(
        title=f"dcplan capacity report: {x.plan.workload}",
        subtitle=f"Workload {_file_name(x.plan.source_file) or x.plan.workload}; scenario {x.forecast.title or x.forecast.scenario}",
        created=x.created,
        sections=sections,
        data=data,
    )
