"""``dcplan run``: the main job on embedded defaults (what ``make run`` does).

1. profile this machine with the quick sweep, or reuse a profile of the same hardware (device,
   core count, memory, torch build) from profiles/ or the shipped profiles;
2. calibrate the model on that profile (held-out errors printed);
3. plan the sample workload (data/workloads/portfolio.yaml);
4. run the base market forecast;
5. write the capacity report (all formats) to reports/run-<time>/;
6. serve the dashboard on http://127.0.0.1:8050 with those results (unless --no-serve).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from dcplan.cli.main import whole

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


def run(args: argparse.Namespace) -> int:
    import datetime

    from dcplan.capacity.loaders import load_plan_inputs
    from dcplan.capacity.plan import plan_capacity
    from dcplan.cli import forecast_cmd, plan_cmd
    from dcplan.report.assemble import build_report
    from dcplan.report.output import output_paths, write_report
    from dcplan.report.pipeline import default_workload, gather

    profiles = Path(args.profiles)
    cal = profile_and_calibrate(profiles, args.profile)

    workload = args.workload or str(default_workload())
    _step(f"3. Capacity plan of {workload}")
    plan = plan_capacity(load_plan_inputs(workload))
    plan_cmd.show(plan)

    _step(f"4. Market forecast ({args.scenario})")
    inputs = gather(workload=workload, scenario=args.scenario, profile=str(cal), seed=0)
    forecast_cmd.show(inputs.forecast, [])

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.reports) / f"run-{stamp}"
    _step(f"5. Capacity report in {out}/")
    res = write_report(build_report(inputs), output_paths(str(out) + "/", ["html", "pdf", "xlsx", "md", "json"]))
    for fmt, path in res.written.items():
        print(f"wrote {fmt:5s} {path}")
    for fmt, why in res.failed.items():
        print(f"dcplan: error: {fmt} failed: {why}", file=sys.stderr)

    if args.no_serve:
        return 1 if res.failed else 0
    _step(f"6. Dashboard on http://127.0.0.1:{args.port} (Ctrl-C stops)")
    from dashboards.serve import serve

    serve(host="127.0.0.1", port=args.port, workers=2,
          env={"DCPLAN_PROFILES_DIR": str(profiles.resolve()), "DCPLAN_RESULTS_DIR": str(out.resolve()), "DCPLAN_CALIBRATION": str(cal.resolve())})
    return 0
