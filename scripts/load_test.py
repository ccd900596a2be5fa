"""Bounded load test of the dashboard's scenario-update callback (a benchmark, not a test).

Starts ``dcplan dashboard`` (gunicorn) on a free loopback port, then N client threads POST the
market page's driver-update callback for D seconds, each request with random driver values
(so every request runs the Monte Carlo chain: no response cache can answer it), and prints
latency percentiles and errors as JSON.

usage: python scripts/load_test.py [--clients 8] [--seconds 30] [--workers 2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, timeout: float = 60.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/_dash-layout")
            if c.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("dashboard did not start")


def payload_factory(port: int):
    """A function returning a fresh update-callback body with random driver values."""
    from dashboards.pages import market

    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/_dash-dependencies")
    deps = json.loads(c.getresponse().read())
    dep = next(d for d in deps if d["output"].startswith("..mkt-fan.figure"))
    scenario = market.scenario_from("name:base")
    names = [n for n, _ in market.DRIVERS if n in scenario.parameters]
    ranges = {n: market.driver_range(scenario, n) for n in names}

    def make() -> bytes:
        moved = random.choice(names)
        values = []
        for n in names:
            lo, med, hi = ranges[n]
            values.append(random.uniform(lo, hi) if n == moved else med)
        ids = [{"name": n, "type": "mkt-driver"} for n in names]
        body = {
            "output": dep["output"],
            "outputs": [{"id": "mkt-fan", "property": "figure"}, {"id": "mkt-headline", "property": "children"}],
            "inputs": [
                {"id": "mkt-store", "property": "data", "value": "name:base"},
                {"id": "mkt-metric", "property": "value", "value": "facility_power_mw"},
                [{"id": i, "property": "value", "value": v} for i, v in zip(ids, values, strict=True)],
            ],
            "state": [[{"id": i, "property": "id", "value": i} for i in ids]],
            "changedPropIds": [json.dumps({"name": moved, "type": "mkt-driver"}, separators=(",", ":")) + ".value"],
        }
        return json.dumps(body).encode()

    return make


def client(port: int, make, stop: float, lat: list, errors: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.time() < stop:
        body = make()
        t = time.perf_counter()
        try:
            conn.request("POST", "/_dash-update-component", body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            dt = time.perf_counter() - t
            if r.status != 200 or b'"mkt-fan"' not in data:
                errors.append(f"status {r.status}")
            else:
                lat.append(dt)
        except (OSError, http.client.HTTPException) as exc:
            errors.append(repr(exc))
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--warmup", type=float, default=5.0)
    args = ap.parse_args()
    if args.seconds > 60:
        raise SystemExit("at most 60 s")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "dcplan", "dashboard", "--port", str(port), "--workers", str(args.workers)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port)
        make = payload_factory(port)
        warm: list = []
        threads = [threading.Thread(target=client, args=(port, make, time.time() + args.warmup, warm, [])) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        lat: list[float] = []
        errors: list[str] = []
        stop = time.time() + args.seconds
        threads = [threading.Thread(target=client, args=(port, make, stop, lat, errors)) for _ in range(args.clients)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - t0
    finally:
        server.terminate()
        server.wait(timeout=30)
    lat.sort()

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1e3 if lat else float("nan")

    print(json.dumps({
        "clients": args.clients, "workers": args.workers, "seconds": round(elapsed, 1), "requests": len(lat), "errors": len(errors),
        "requests_per_s": round(len(lat) / elapsed, 1), "p50_ms": round(pct(0.5), 1), "p95_ms": round(pct(0.95), 1),
        "p99_ms": round(pct(0.99), 1), "mean_ms": round(statistics.fmean(lat) * 1e3, 1) if lat else None,
        "samples_per_update": __import__("dashboards.pages.market", fromlist=["SAMPLES"]).SAMPLES,
    }))


if __name__ == "__main__":
    main()
