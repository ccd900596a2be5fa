"""Profile the market page's slider callback through Flask's test client (a benchmark, not a test).

    .venv/bin/python scripts/profile_slider.py [--requests 40] [--mode fresh|one] [--compare ROOT] [--rounds 2] [--top 20]

Each request is what a browser sends when a driver slider moves (``POST /_dash-update-component``
with the callback's body, built from the app's own ``/_dash-dependencies``), answered in process
by the whole server side: the security layer, Dash's dispatch, the forecast, the figure, the JSON.
``--mode one`` moves one driver to a random slider position (the others at their medians);
``--mode fresh`` (default) moves three drivers at once to random positions, a combination not
seen before, so no cache can answer it. Under cProfile it reports where the time goes (the
chain, the summaries, the figure, the headline table, Dash and JSON) and the response size.

``--compare ROOT`` also profiles another checkout (say the commit before a change, from
``git archive``) in alternating child processes (ABAB..., ``--rounds`` each) and prints both
side by side with their ratio: on a shared machine only a ratio measured in one run means much.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Phases: a function (file suffix, name) whose cumulative time is the phase's.
PHASES = {
    "chain (rerun of the stages)": ("forecast/chain.py", "rerun"),
    "summaries (percentiles, anchors, limits)": ("forecast/engine.py", "_forecast"),
    "fan chart figure": ("figures/forecast.py", "fan_chart"),
    "fan chart patch": ("pages/market.py", "fan_patch"),
    "headline table": ("pages/market.py", "headline"),
    "whole callback (forecast + figure + table)": ("pages/market.py", "update_view"),
    "Dash dispatch, JSON, security (whole request)": ("flask/app.py", "full_dispatch_request"),
}


def _bodies(client, n: int, mode: str, seed: int) -> list[bytes]:
    from dashboards.pages import market

    deps = json.loads(client.get("/_dash-dependencies").data)
    dep = next(d for d in deps if d["output"].startswith("..mkt-fan.figure"))
    scenario = market.scenario_from("name:base")
    names = [nm for nm, _ in market.DRIVERS if nm in scenario.parameters]
    ranges = {nm: market.driver_range(scenario, nm) for nm in names}
    steps = getattr(market, "SLIDER_STEPS", 20)
    rng = random.Random(seed)
    outs = [o.rsplit(".", 1) for o in dep["output"].strip(".").split("...")]
    out = []
    for _ in range(n):
        moved = rng.sample(names, 3 if mode == "fresh" else 1)
        values = []
        for nm in names:
            lo, med, hi = ranges[nm]
            values.append(lo + rng.randint(0, steps) * (hi - lo) / steps if nm in moved else med)
        ids = [{"name": nm, "type": "mkt-driver"} for nm in names]
        body = {"output": dep["output"], "outputs": [{"id": i, "property": p} for i, p in outs],
                "inputs": [{"id": "mkt-store", "property": "data", "value": "name:base"},
                           {"id": "mkt-metric", "property": "value", "value": "facility_power_mw"},
                           [{"id": i, "property": "value", "value": v} for i, v in zip(ids, values, strict=True)]],
                "state": [[{"id": i, "property": "id", "value": i} for i in ids]],
                "changedPropIds": [json.dumps({"name": m, "type": "mkt-driver"}, separators=(",", ":")) + ".value" for m in moved]}
        out.append(json.dumps(body).encode())
    return out


def measure(requests: int, mode: str, top: int) -> dict:
    """Profile ``requests`` slider updates in this process (the checkout on sys.path)."""
    from dashboards import create_app
    from dashboards.app import Settings

    with tempfile.TemporaryDirectory() as tmp:
        client = create_app(Settings(profiles_dir=Path(tmp))).server.test_client()
        post = lambda b: client.post("/_dash-update-component", data=b, content_type="application/json")  # noqa: E731
        for b in _bodies(client, 3, "one", seed=999):  # warm: imports, the base draws and chain
            assert post(b).status_code == 200
        bodies = _bodies(client, requests, mode, seed=1)
        sizes, lat = [], []
        prof = cProfile.Profile()
        for b in bodies:
            t = time.perf_counter()
            prof.enable()
            r = post(b)
            prof.disable()
            lat.append(time.perf_counter() - t)
            assert r.status_code == 200, r.status_code
            sizes.append(len(r.data))
    st = pstats.Stats(prof)
    phases = {}
    for label, (suffix, fn) in PHASES.items():
        cum = sum(v[3] for k, v in st.stats.items() if k[0].endswith(suffix) and k[2] == fn)
        if cum:
            phases[label] = round(cum / requests * 1e3, 2)
    total = sum(v[2] for v in st.stats.values())
    rows = sorted(st.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    lat.sort()
    return {"requests": requests, "mode": mode, "ms_per_request_profiled": round(total / requests * 1e3, 2),
            "ms_per_request_wall": {"median": round(lat[len(lat) // 2] * 1e3, 1), "p90": round(lat[int(0.9 * len(lat))] * 1e3, 1)},
            "response_bytes_median": sorted(sizes)[len(sizes) // 2], "phase_ms_per_request": phases,
            "top_tottime_ms_per_request": [f"{Path(k[0]).name}:{k[1]}({k[2]}) {v[2] / requests * 1e3:.2f}" for k, v in rows]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--mode", choices=("fresh", "one"), default="fresh")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--compare", metavar="ROOT", help="another checkout to profile alongside (ABAB child processes)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        sys.path.insert(0, args.child)
        os.chdir(args.child)
        print(json.dumps(measure(args.requests, args.mode, args.top)))
        return 0
    roots = {"this": str(ROOT)}
    if args.compare:
        roots["compare"] = str(Path(args.compare).resolve())
    runs: dict[str, list[dict]] = {k: [] for k in roots}
    for r in range(args.rounds if args.compare else 1):
        order = list(roots) if r % 2 == 0 else list(roots)[::-1]
        for key in order:
            cmd = [sys.executable, __file__, "--child", roots[key], "--requests", str(args.requests), "--mode", args.mode, "--top", str(args.top)]
            res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": roots[key]}, timeout=1800)
            if res.returncode:
                raise SystemExit(res.stderr[-2000:])
            runs[key].append(json.loads(res.stdout))
    out: dict = {"load_average": os.getloadavg(), "runs": runs}
    if args.compare:
        med = {k: sorted(x["ms_per_request_profiled"] for x in v)[len(v) // 2] for k, v in runs.items()}
        out["ms_per_request_profiled_median"] = med
        out["ratio_this_over_compare"] = round(med["this"] / med["compare"], 3)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
