"""The main job end to end (without serving), and the dashboard under gunicorn."""

import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_main_job_writes_a_report(run_cli, tmp_path):
    profile = ROOT / "profiles" / "cpu-amd-epyc-1t-standard.json"
    r = run_cli("run", "--no-serve", "--profile", str(profile), "--reports", str(tmp_path), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    for step in ("1. Profile", "2. Calibration", "3. Capacity plan", "4. Market forecast", "5. Capacity report", "Summary"):
        assert step in r.stdout
    (run_dir,) = tmp_path.glob("run-*")
    files = {p.name for p in run_dir.iterdir()}
    assert files == {"dcplan-report.html", "dcplan-report.pdf", "dcplan-report.xlsx", "dcplan-report.md", "dcplan-report.json", "run.json"}
    doc = json.loads((run_dir / "dcplan-report.json").read_text())
    assert doc["plan"]["workload"] == "portfolio" and doc["calibration"]["heldout"]
    # a short summary for the terminal; the long tables (assumptions and their sources) are in the report only
    assert "Assumptions" not in r.stdout and len(r.stdout.splitlines()) < 60
    summary = r.stdout.split("Summary", 1)[1]
    assert "Recommended for 'portfolio'" in summary and "TCO $" in summary and "/yr" in summary
    assert "Market 2030 (base)" in summary and "TWh/yr (P10-P90" in summary and "dcplan-report.html" in summary
    assert r.stdout.strip().splitlines()[-1] == f"Dashboard of this run: dcplan dashboard --results {run_dir}"
    run = json.loads((run_dir / "run.json").read_text())
    assert run["kind"] == "dcplan-run" and run["workload_text"].startswith("#") and run["scenario"] == "base"
    assert run["summary"]["recommended"] == doc["plan"]["ranking"][0]["hardware"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_dashboard_serves_with_gunicorn_on_loopback():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "dcplan", "dashboard", "--port", str(port), "--workers", "1"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        resp = None
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/market")
                resp = c.getresponse()
                break
            except OSError:
                time.sleep(0.3)
        assert resp is not None and resp.status == 200
        assert resp.getheader("Server", "").startswith("gunicorn")  # the production server, not Flask's
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_dashboard_rejects_a_bad_port(run_cli):
    r = run_cli("dashboard", "--port", "70000")
    assert r.returncode == 2 and "port" in r.stderr
