"""Bounded load test of the dashboard's scenario-update callback (a benchmark, not a test).

Starts ``dcplan dashboard`` (gunicorn) on a free loopback port, then N client threads POST the
market page's driver-update callback for D seconds and prints latency percentiles and errors as
JSON. What a request asks for (``--mode``):

- ``fresh`` (default): three drivers at random slider positions at once, the others at their
  medians: a combination not seen before, so no cache can answer it (the worst case);
- ``one``: one driver at a random slider position, as a browser sends when one slider moves
  (the per-worker caches answer positions seen before);
- ``continuous``: one driver at a random value (the test of issue 17's first figures; the page
  snaps it to the slider grid, so caches answer part of it).

``--compare ROOT`` serves another checkout too (the commit before a change, from ``git archive``)
and ``--serving 1x2,4x1`` other worker x thread counts of this one; every server runs at once and
the phases rotate among them round by round (``--cycles``), so each ratio is measured side by
side on the same machine load. ``--threads`` sets this checkout's threads per worker.

``--hostile`` adds one more client that sends hostile uploads without pause (the files of
tests/io/hostile/, an oversized request body, a deeply nested JSON body, a forged scenario
path) and checks that each is answered with an error, not served. ``--rounds R`` runs R
rounds of each variant (without, then with the hostile client; ABBA order) against one server
and reports the normal clients' p95 of both and their ratio.

usage: python scripts/load_test.py [--clients 8] [--seconds 30] [--workers 2] [--threads 1] [--mode fresh|one|continuous]
       [--compare ROOT] [--serving WxT,...] [--cycles C] [--hostile] [--rounds R]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
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
#: Where the clients connect and what they add to each request (tests/dashboards/serving_probe.py
#: points them at a server in a network namespace, with credentials).
HOST = "127.0.0.1"
HEADERS: dict[str, str] = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, timeout: float = 60.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            c = http.client.HTTPConnection(HOST, port, timeout=2)
            c.request("GET", "/_dash-layout", headers=HEADERS)
            if c.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("dashboard did not start")


def payload_factory(port: int, mode: str = "fresh", seed: int | None = None):
    """A function returning a fresh update-callback body with driver values as ``mode`` asks (see the module docstring)."""
    from dashboards.pages import market

    c = http.client.HTTPConnection(HOST, port, timeout=30)
    c.request("GET", "/_dash-dependencies", headers=HEADERS)
    deps = json.loads(c.getresponse().read())
    dep = next(d for d in deps if d["output"].startswith("..mkt-fan.figure"))
    outputs = [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]} for o in dep["output"].strip(".").split("...")]
    scenario = market.scenario_from("name:base")
    names = [n for n, _ in market.DRIVERS if n in scenario.parameters]
    ranges = {n: market.driver_range(scenario, n) for n in names}
    steps = market.SLIDER_STEPS
    rng = random.Random(seed)

    def make() -> bytes:
        moved = rng.sample(names, 3 if mode == "fresh" else 1)
        values = []
        for n in names:
            lo, med, hi = ranges[n]
            if n not in moved:
                values.append(med)
            else:
                values.append(rng.uniform(lo, hi) if mode == "continuous" else lo + rng.randint(0, steps) * (hi - lo) / steps)
        ids = [{"name": n, "type": "mkt-driver"} for n in names]
        body = {
            "output": dep["output"],
            "outputs": outputs,
            "inputs": [
                {"id": "mkt-store", "property": "data", "value": "name:base"},
                {"id": "mkt-metric", "property": "value", "value": "facility_power_mw"},
                [{"id": i, "property": "value", "value": v} for i, v in zip(ids, values, strict=True)],
            ],
            "state": [[{"id": i, "property": "id", "value": i} for i in ids]],
            "changedPropIds": [json.dumps({"name": m, "type": "mkt-driver"}, separators=(",", ":")) + ".value" for m in moved],
        }
        return json.dumps(body).encode()

    return make


def client(port: int, make, stop: float, lat: list, errors: list, sizes: list | None = None) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    while time.time() < stop:
        body = make()
        t = time.perf_counter()
        try:
            conn.request("POST", "/_dash-update-component", body=body, headers={"Content-Type": "application/json", **HEADERS})
            r = conn.getresponse()
            data = r.read()
            dt = time.perf_counter() - t
            if r.status != 200 or b'"mkt-fan"' not in data:
                errors.append(f"status {r.status}")
            else:
                lat.append(dt)
                if sizes is not None:
                    sizes.append(len(data))
        except (OSError, http.client.HTTPException) as exc:
            errors.append(repr(exc))
            conn = http.client.HTTPConnection(HOST, port, timeout=30)


# --------------------------------------------------------------------------------------------
# The hostile client
# --------------------------------------------------------------------------------------------

HOSTILE_DIR = ROOT / "tests" / "io" / "hostile"


def upload_body(deps: list, contents: str, filename: str, scenario: str = "base") -> bytes:
    """The market page's scenario-upload callback, as a browser would send it (a forger may change ``scenario``)."""
    dep = next(d for d in deps if any(i["id"] == "mkt-upload" and i["property"] == "contents" for i in d["inputs"]))
    values = {"mkt-scenario.value": scenario, "mkt-upload.contents": contents, "mkt-reset.n_clicks": None,
              "mkt-upload.filename": filename, "mkt-store.data": "name:base"}
    body = {
        "output": dep["output"],
        "outputs": [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]} for o in dep["output"].strip(".").split("...")],
        "inputs": [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in dep["inputs"]],
        "state": [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in dep["state"]],
        "changedPropIds": ["mkt-upload.contents" if contents else "mkt-scenario.value"],
    }
    return json.dumps(body).encode()


def hostile_requests(deps: list) -> list[tuple[str, bytes, int, bytes]]:
    """(name, body, expected status, bytes the answer must contain) of each hostile request."""
    import base64

    out = []
    for path in sorted(HOSTILE_DIR.glob("*.yaml")):
        url = "data:application/x-yaml;base64," + base64.b64encode(path.read_bytes()).decode()
        out.append((path.name, upload_body(deps, url, path.name), 200, b'"className":"error"'))
    big = "data:application/x-yaml;base64," + "QUFB" * 2_000_000  # 6 MB of base64: over the request limit
    out.append(("oversized-body", upload_body(deps, big, "big.yaml"), 413, b""))
    out.append(("deep-json-body", b'{"output": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 400, b""))
    out.append(("forged-scenario-path", upload_body(deps, "", "x.yaml", scenario="/etc/hostname.yaml"), 200, b'"className":"error"'))
    return out


def hostile_client(port: int, requests: list, stop: float, answered: list, served: list) -> None:
    """Send hostile requests without pause until ``stop``; record each (name, status, ok)."""
    i = 0
    while i == 0 or time.time() < stop:  # at least one request
        name, body, status, must = requests[i % len(requests)]
        i += 1
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            conn.request("POST", "/_dash-update-component", body=body, headers={"Content-Type": "application/json", **HEADERS})
            r = conn.getresponse()
            data = r.read()
            ok = r.status == status and must in data
            (answered if ok else served).append((name, r.status))
        except (OSError, http.client.HTTPException) as exc:  # the server may close an oversized upload early
            (answered if status == 413 else served).append((name, repr(exc)))
        finally:
            conn.close()


# --------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------


def run_phase(port: int, make, clients: int, seconds: float, hostile: list | None) -> dict:
    """Normal clients for ``seconds`` (and the hostile client alongside when given)."""
    lat: list[float] = []
    errors: list[str] = []
    answered: list = []
    served: list = []
    sizes: list[int] = []
    stop = time.time() + seconds
    threads = [threading.Thread(target=client, args=(port, make, stop, lat, errors, sizes)) for _ in range(clients)]
    if hostile is not None:
        threads.append(threading.Thread(target=hostile_client, args=(port, hostile, stop, answered, served)))
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"lat": lat, "errors": errors, "elapsed": time.time() - t0, "hostile_answered": answered, "hostile_served": served, "sizes": sizes}


def summary(phases: list[dict]) -> dict:
    lat = sorted(x for p in phases for x in p["lat"])
    elapsed = sum(p["elapsed"] for p in phases)

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1e3 if lat else float("nan")

    out = {"seconds": round(elapsed, 1), "requests": len(lat), "errors": sum(len(p["errors"]) for p in phases),
           "requests_per_s": round(len(lat) / elapsed, 1), "p50_ms": round(pct(0.5), 1), "p95_ms": round(pct(0.95), 1),
           "p99_ms": round(pct(0.99), 1), "mean_ms": round(statistics.fmean(lat) * 1e3, 1) if lat else None}
    sizes = sorted(x for p in phases for x in p.get("sizes", []))
    if sizes:
        out["response_bytes_median"] = sizes[len(sizes) // 2]
    answered = [a for p in phases for a in p["hostile_answered"]]
    served = [s for p in phases for s in p["hostile_served"]]
    if answered or served:
        out["hostile_requests"] = len(answered) + len(served)
        out["hostile_refused_as_expected"] = len(answered)
        out["hostile_not_refused"] = served[:10]
    return out


def start_server(root: Path, workers: int, threads: int | None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cmd = [sys.executable, "-m", "dcplan", "dashboard", "--port", str(port), "--workers", str(workers)]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), port


def server_cpu_s(proc: subprocess.Popen) -> float:
    """CPU seconds (user + system) used so far by a server's process tree (gunicorn's master and workers)."""
    import psutil

    try:
        root = psutil.Process(proc.pid)
        total = 0.0
        for p in [root, *root.children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total
    except psutil.NoSuchProcess:
        return float("nan")


def timed_phase(proc: subprocess.Popen, port: int, make, clients: int, seconds: float) -> dict:
    """A phase, with the server's CPU time over it: on a shared machine CPU per request is steadier than latency."""
    c0 = server_cpu_s(proc)
    phase = run_phase(port, make, clients, seconds, None)
    phase["server_cpu_s"] = server_cpu_s(proc) - c0
    return phase


def compare_targets(args: argparse.Namespace) -> dict:
    """Several servers at once (this checkout, ``--compare``, ``--serving``), phases rotating among them."""
    targets = {f"this {args.workers}x{args.threads}": (ROOT, args.workers, args.threads)}
    if args.compare:
        targets[f"compare {args.workers}x1"] = (Path(args.compare).resolve(), args.workers, None)
    for spec in filter(None, (args.serving or "").split(",")):
        w, _, t = spec.partition("x")
        targets[f"this {int(w)}x{int(t or 1)}"] = (ROOT, int(w), int(t or 1))
    servers = {k: start_server(*v) for k, v in targets.items()}
    try:
        makes = {}
        for k, (_, port) in servers.items():
            wait_ready(port)
            makes[k] = payload_factory(port, args.mode, seed=hash(k) % 1000)
            run_phase(port, makes[k], args.clients, args.warmup, None)
        phases: dict[str, list[dict]] = {k: [] for k in servers}
        keys = list(servers)
        for r in range(max(1, args.cycles)):
            for k in (keys if r % 2 == 0 else keys[::-1]):
                phases[k].append(timed_phase(servers[k][0], servers[k][1], makes[k], args.clients, args.seconds))
        out = {k: summary(v) for k, v in phases.items()}
        for k in out:
            out[k]["phase_p95_ms"] = [summary([p])["p95_ms"] for p in phases[k]]
            out[k]["server_cpu_ms_per_request"] = round(1e3 * sum(p["server_cpu_s"] for p in phases[k]) / max(1, out[k]["requests"]), 1)
        first = keys[0]
        ratios = {k: {"p50": round(out[k]["p50_ms"] / out[first]["p50_ms"], 3), "p95": round(out[k]["p95_ms"] / out[first]["p95_ms"], 3),
                      "cpu_per_request": round(out[k]["server_cpu_ms_per_request"] / out[first]["server_cpu_ms_per_request"], 3)}
                  for k in keys[1:]}
        return {"targets": out, f"ratios_to_{first.replace(' ', '_')}": ratios}
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=30.0, help="seconds of each phase (at most 60)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mode", choices=("fresh", "one", "continuous"), default="fresh")
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--compare", metavar="ROOT", help="also serve this checkout (before a change) and rotate phases between them")
    ap.add_argument("--serving", metavar="WxT,...", help="also serve this checkout with these workers x threads")
    ap.add_argument("--cycles", type=int, default=1, help="cycles of phases over the servers (with --compare/--serving)")
    ap.add_argument("--hostile", action="store_true", help="one more client sending hostile uploads")
    ap.add_argument("--rounds", type=int, default=0, help="interleave R rounds without and with the hostile client (ABBA)")
    args = ap.parse_args()
    if args.seconds > 60 or args.rounds > 8 or args.cycles > 8:
        raise SystemExit("at most 60 s a phase and 8 rounds")
    common = {"clients": args.clients, "workers": args.workers, "threads": args.threads, "mode": args.mode, "phase_seconds": args.seconds,
              "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    if args.compare or args.serving:
        result = compare_targets(args)
        print(json.dumps({**common, "cycles": args.cycles, **result, "load_average_after": [round(x, 2) for x in os.getloadavg()]}))
        return
    server, port = start_server(ROOT, args.workers, args.threads)
    try:
        wait_ready(port)
        make = payload_factory(port, args.mode)
        c = http.client.HTTPConnection(HOST, port, timeout=30)
        c.request("GET", "/_dash-dependencies", headers=HEADERS)
        hostile = hostile_requests(json.loads(c.getresponse().read()))
        run_phase(port, make, args.clients, args.warmup, None)
        if args.rounds:
            order = [False, True, True, False] * ((args.rounds + 1) // 2)
            phases = {False: [], True: []}
            for with_hostile in order[: 2 * args.rounds]:
                phases[with_hostile].append(run_phase(port, make, args.clients, args.seconds, hostile if with_hostile else None))
            base, bad = summary(phases[False]), summary(phases[True])
            result = {"without_hostile": base, "with_hostile": bad, "p95_ratio": round(bad["p95_ms"] / base["p95_ms"], 3),
                      "p50_ratio": round(bad["p50_ms"] / base["p50_ms"], 3),
                      "phase_p95_ms": {"without": [summary([p])["p95_ms"] for p in phases[False]],
                                       "with": [summary([p])["p95_ms"] for p in phases[True]]}}
        elif args.hostile:
            result = summary([run_phase(port, make, args.clients, args.seconds, hostile)])
        else:
            phase = timed_phase(server, port, make, args.clients, args.seconds)
            result = summary([phase])
            result["server_cpu_ms_per_request"] = round(1e3 * phase["server_cpu_s"] / max(1, result["requests"]), 1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    from dashboards.pages.market import SAMPLES

    print(json.dumps({**common, "rounds": args.rounds, "samples_per_update": SAMPLES, **result,
                      "load_average_after": [round(x, 2) for x in os.getloadavg()]}))


if __name__ == "__main__":
    main()
