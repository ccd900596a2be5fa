"""``dcplan run``: the main job on embedded defaults (what ``make run`` does).

1. profile this machine with the quick sweep, or reuse a profile of the same hardware (device,
   core count, memory, torch build) from profiles/ or the shipped profiles;
2. calibrate the model on that profile (held-out errors printed);
3. plan the sample workload (data/workloads/portfolio.yaml);
4. run the base market forecast;
5. write the capacity report (all formats) and the run's manifest (run.json) to reports/run-<time>/;
6. print a short summary (recommended option, MW, TCO, the 2030 range, where the report is) and
   serve the dashboard on http://127.0.0.1:8050, every page opened on this run (unless --no-serve).
The long tables (assumptions with their sources, services, timeline) are in the report.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dcplan.cli.args import whole

if TYPE_CHECKING:
    from dcplan.io.machine import Fingerprint


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="the main job: profile, calibrate, plan, forecast, report, dashboard")
    p.add_argument("--no-serve", action="store_true", help="stop after writing the report (do not serve the dashboard)")
    p.add_argument("--port", type=whole, default=8050, help="dashboard port (default 8050)")
    p.add_argument("--profiles", default="profiles", help="folder of profiles to reuse or write (default profiles/)")
    p.add_argument("--profile", help="use this profile instead of finding or measuring one of this machine")
    p.add_argument("--reports", default="reports", help="folder for the run's report (default reports/)")
    p.add_argument("--workload", help="workload to plan (default data/workloads/portfolio.yaml)")
    p.add_argument("--scenario", default="base", help="forecast scenario (default base)")
    p.add_argument("--lang", default="en", help="language of the report and the dashboard's default: en (default) or zh (中文)")
    p.set_defaults(handler=run)


def _step(title: str) -> None:
    from rich.console import Console

    Console().rule(f"[bold]{title}")


def find_local_profile(folders: list[Path], here: Fingerprint) -> tuple[Path | None, str]:
    """The newest complete profile of hardware like this machine's in ``folders``, and one line saying why.

    Profiles match by hardware fingerprint (device, core count, memory, torch build), never by
    hostname; the line names the profile reused, or the nearest one and how it differs.
    """
    from dcplan.errors import InputError
    from dcplan.io.machine import difference, fingerprint
    from dcplan.io.yamlio import read_json

    best: tuple[str, Path] | None = None
    nearest: tuple[Path, str] | None = None
    seen: set[Path] = set()
    for folder in folders:
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            if path.name.endswith(".calibration.json") or path.resolve() in seen:
                continue
            seen.add(path.resolve())
            try:
                doc = read_json(path, "profile")
            except InputError:
                continue
            if not isinstance(doc, dict) or doc.get("kind") != "dcplan-profile" or doc.get("partial"):
                continue
            why_not = difference(here, fingerprint(doc.get("device") or {}, doc.get("environment") or {}))
            if why_not is not None:
                nearest = nearest or (path, why_not)
                continue
            created = str(doc.get("created") or (doc.get("environment") or {}).get("date_utc") or "")
            if best is None or created > best[0]:
                best = (created, path)
    if best is not None:
        return best[1], f"reusing {best[1]}: same hardware as this machine, {here.describe()}"
    if nearest is not None:
        return None, f"no profile of this hardware ({here.describe()}); {nearest[0].name} differs in {nearest[1]}"
    return None, f"no profile of this hardware ({here.describe()}) in {', '.join(str(f) for f in folders)}"


def this_machine() -> Fingerprint:
    """This machine's fingerprint, read in a child process (it imports torch; keep torch out of this one)."""
    from dcplan.io.machine import Fingerprint

    r = subprocess.run([sys.executable, "-m", "dcplan.profile.fingerprint"], capture_output=True, text=True)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"dcplan: error: could not read this machine's hardware: {last}")
    return Fingerprint(**json.loads(r.stdout))


def _dcplan(*args: str) -> None:
    """Run a dcplan command in a child process (profiling imports torch; keep it out of this one)."""
    r = subprocess.run([sys.executable, "-m", "dcplan", *args])
    if r.returncode != 0:
        raise SystemExit(r.returncode)


def profile_and_calibrate(folder: Path, given: str | None = None) -> Path:
    """Steps 1-2: (re)use or measure a profile of this machine; return its calibration file."""
    from dcplan.errors import InputError
    from dcplan.io.resources import shipped_profiles_dir

    _step("1. Profile of this machine")
    if given:
        profile: Path | None = Path(given)
        if not profile.exists():
            raise InputError("profile", "file not found", file=given)
        print(f"using {profile} (--profile)")
    else:
        profile, why = find_local_profile([folder, shipped_profiles_dir()], this_machine())
        print(why)
    if profile is None:
        print("running the quick sweep (about 2 minutes on 2 cores)", flush=True)
        before = set(folder.glob("*.json")) if folder.is_dir() else set()
        _dcplan("profile", "--sweep", "quick", "--out", str(folder))
        new = sorted(set(folder.glob("*.json")) - before)
        profile = next((p for p in new if not p.name.endswith(".calibration.json")), None)
        if profile is None:
            raise SystemExit("dcplan: error: the profile step wrote no profile")
    _step("2. Calibration (held-out errors)")
    from dcplan.cli.calibrate_cmd import default_out

    cal = default_out(str(profile))
    if not cal.exists() and profile.parent.resolve() == shipped_profiles_dir().resolve():
        cal = folder / cal.name  # a shipped profile without its calibration: calibrate into the user's folder
    if cal.exists():
        print(f"reusing {cal} (delete it to calibrate again)")
        _show_heldout(cal)
    else:
        _dcplan("calibrate", str(profile), "--out", str(cal))
    return cal


def _show_heldout(cal: Path) -> None:
    from dcplan.cli.output import table
    from dcplan.io.yamlio import read_json

    doc = read_json(cal, "calibration")
    rows = [(k, v.get("n"), *(f"{v.get(m, float('nan')):.1f}" for m in ("median_ape_pct", "p90_ape_pct", "max_ape_pct", "bias_pct")))
            for k, v in (doc.get("heldout") or {}).items() if isinstance(v, dict)]
    table("Held-out errors of the calibration", ["kind", "n", "median %", "p90 %", "max %", "bias %"], rows)


SUMMARY_YEAR = 2030


def summary(plan: Any, fc: Any, year: int = SUMMARY_YEAR) -> dict[str, Any]:
    """The run's headline numbers (SI units): recommended option, its capacity and cost, the market range in ``year``."""
    best = plan.ranking[0]
    o = plan.option(best.hardware)
    y = year if year in fc.years else fc.years[-1]
    i = fc.years.index(y)

    def band(metric: str) -> dict[str, float] | None:
        if metric not in fc.metrics:
            return None
        m = fc.metric(metric)
        return {"p10": float(m.p10[i]), "p50": float(m.p50[i]), "p90": float(m.p90[i])}

    return {
        "workload": plan.workload, "recommended": o.hardware, "recommended_name": o.display_name,
        "accelerators": o.accelerators, "it_mw": o.it_mw, "facility_mw": o.facility_mw,
        "capex_usd": o.capex_usd, "tco_usd_per_year": o.tco_usd_per_year, "usd_per_mtok": o.usd_per_mtok,
        "deciding_factor": best.deciding_factor, "scenario": fc.scenario, "year": y, "samples": fc.samples,
        "energy_twh": band("energy_twh"), "facility_power_mw": band("facility_power_mw"), "capex_usd_per_year": band("capex_usd"),
    }


def summary_lines(s: dict[str, Any], report: Path | None) -> list[str]:
    """The few lines the terminal shows at the end of a run (the report has the rest)."""
    from dcplan.units import power_mw, usd

    lines = [f"Recommended for '{s['workload']}': {s['recommended_name']} ({s['recommended']}), {s['accelerators']:,} accelerators, "
             f"{power_mw(s['it_mw'])} IT / {power_mw(s['facility_mw'])} facility, capex {usd(s['capex_usd'])}, TCO {usd(s['tco_usd_per_year'])}/yr"
             + (f", {usd(s['usd_per_mtok'])} per million output tokens" if s.get("usd_per_mtok") is not None else "")]
    e, pw, cx = s.get("energy_twh"), s.get("facility_power_mw"), s.get("capex_usd_per_year")
    if e:
        lines.append(f"Market {s['year']} ({s['scenario']}): data-centre electricity {e['p50']:,.0f} TWh/yr (P10-P90 {e['p10']:,.0f}-{e['p90']:,.0f})"
                     + (f", facility power {power_mw(pw['p50'])} ({power_mw(pw['p10'])}-{power_mw(pw['p90'])})" if pw else "")
                     + (f", AI capex {usd(cx['p50'])}/yr ({usd(cx['p10'])}-{usd(cx['p90'])})" if cx else ""))
    if report is not None:
        lines.append(f"Report (with every assumption and its source): {report}")
    return lines


def _options_table(plan: Any) -> None:
    from dcplan.cli.output import table
    from dcplan.units import power_mw, usd

    table(f"Plan '{plan.workload}': options ranked (capacity at the end of {plan.horizon_years} year(s))",
          ["rank", "option", "accelerators", "IT power", "facility power", "capex", "TCO/yr", "$/M output tokens"],
          [(r.rank, r.hardware, f"{plan.option(r.hardware).accelerators:,}", power_mw(plan.option(r.hardware).it_mw),
            power_mw(plan.option(r.hardware).facility_mw), usd(plan.option(r.hardware).capex_usd), usd(r.tco_usd_per_year),
            usd(plan.option(r.hardware).usd_per_mtok)) for r in plan.ranking])


def run(args: argparse.Namespace) -> int:
    import datetime

    from dcplan.capacity.loaders import workload_path
    from dcplan.i18n import check_lang
    from dcplan.io.runs import RunRecord, write_run
    from dcplan.report.assemble import build_report
    from dcplan.report.output import output_paths, write_report
    from dcplan.report.pipeline import default_workload, gather

    lang = check_lang(args.lang)
    profiles = Path(args.profiles)
    cal = profile_and_calibrate(profiles, args.profile)

    from dcplan.report.printer import warm_printer

    workload = args.workload or str(default_workload())
    with warm_printer() as printer:  # Chromium starts while the plan and the forecast run
        _step(f"3. Capacity plan of {workload}")
        inputs = gather(workload=workload, scenario=args.scenario, profile=str(cal), seed=0, executor="local")
        plan, fc = inputs.plan, inputs.forecast
        _options_table(plan)

        _step(f"4. Market forecast ({args.scenario})")
        s = summary(plan, fc)
        print(summary_lines(s, None)[1] if s.get("energy_twh") else f"forecast of {fc.years[0]}-{fc.years[-1]} done")

        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path(args.reports) / f"run-{stamp}"
        _step(f"5. Capacity report in {out}/")
        res = write_report(build_report(inputs, lang), output_paths(str(out) + "/", ["html", "pdf", "xlsx", "md", "json"]), printer=printer)
    for fmt, path in res.written.items():
        print(f"wrote {fmt:5s} {path}")
    for fmt, why in res.failed.items():
        print(f"dcplan: error: {fmt} failed: {why}", file=sys.stderr)
    from dcplan.io.calibration import profile_of, read_calibration_document

    wl = workload_path(workload)
    scenario_file = Path(args.scenario) if Path(args.scenario).suffix in (".yaml", ".yml") else None
    record = RunRecord(
        folder=out, created=datetime.datetime.now().isoformat(timespec="seconds"), workload=workload,
        workload_text=wl.read_text(encoding="utf-8"), scenario=args.scenario,
        scenario_text=scenario_file.read_text(encoding="utf-8") if scenario_file else None,
        calibration=cal.resolve(), profile=_resolved(profile_of(read_calibration_document(cal))),
        reports=dict(res.written), summary=s,
    )
    write_run(record)

    _step("Summary")
    for line in summary_lines(s, res.written.get("html") or res.written.get("pdf")):
        print(line)
    if args.no_serve:
        print(f"Dashboard of this run: dcplan dashboard --results {out}")
        return 1 if res.failed else 0
    from dashboards.serve import serve

    print(f"Dashboard: http://127.0.0.1:{args.port} (this run on every page; Ctrl-C stops)", flush=True)
    serve(host="127.0.0.1", port=args.port, workers=2,
          env={"DCPLAN_PROFILES_DIR": str(profiles.resolve()), "DCPLAN_RESULTS_DIR": str(out.resolve()), "DCPLAN_LANG": lang})
    return 0


def _resolved(p: Path | None) -> Path | None:
    return p.resolve() if p is not None else None
