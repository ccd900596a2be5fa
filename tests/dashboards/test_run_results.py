"""Started on a main-job run (dcplan run, dcplan dashboard --results DIR), every page opens on that run."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboards import create_app
from dashboards.pages import hardware, market, planner, profiles, reports
from dashboards.settings import Settings
from dcplan.errors import InputError
from dcplan.io.runs import RunRecord, read_run, write_run

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "profiles" / "cpu-amd-epyc-1t-standard.json"
CALIBRATION = ROOT / "profiles" / "cpu-amd-epyc-1t-standard.calibration.json"


@pytest.fixture
def run_folder(tmp_path):
    folder = tmp_path / "run-20260101-000000"
    folder.mkdir()
    (folder / "dcplan-report.html").write_text("<html><body>the run's report</body></html>")
    text = (ROOT / "data" / "workloads" / "train-70b.yaml").read_text()
    write_run(RunRecord(folder=folder, created="2026-01-01T00:00:00", workload="train-70b", workload_text=text, scenario="high",
                        calibration=CALIBRATION, profile=PROFILE, reports={"html": folder / "dcplan-report.html"},
                        summary={"year": 2030, "samples": 10000, "energy_twh": {"p10": 900.0, "p50": 1100.0, "p90": 1400.0}}))
    return folder


@pytest.fixture
def settings(run_folder, tmp_path):
    empty = tmp_path / "profiles"
    empty.mkdir()
    return Settings(profiles_dir=empty, run=read_run(run_folder))


def _find(component, cid):
    """The component with id ``cid`` in a Dash layout tree."""
    if getattr(component, "id", None) == cid:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            found = _find(child, cid)
            if found is not None:
                return found
    return None


def test_manifest_round_trips(run_folder):
    run = read_run(run_folder)
    assert run.scenario == "high" and run.workload == "train-70b" and run.calibration == CALIBRATION
    assert run.reports["html"] == run_folder.resolve() / "dcplan-report.html"


def test_planner_opens_on_the_runs_workload(settings):
    lay = planner.layout(settings)
    assert _find(lay, planner.ID.SAMPLE).value == planner.RUN_SAMPLE
    assert "name: train-70b" in _find(lay, planner.ID.EDITOR).value
    assert "run-20260101-000000" in str(_find(lay, "run-banner-planner"))


def test_market_opens_on_the_runs_scenario(settings):
    assert market.initial_source(settings) == ("high", "name:high")
    lay = market.layout(settings)
    assert _find(lay, market.ID.SCENARIO).value == "high" and _find(lay, market.ID.STORE).data == "name:high"
    assert "1,100 TWh/yr" in str(_find(lay, "run-banner-market"))


def test_hardware_opens_on_the_runs_calibration_without_refitting(settings, monkeypatch):
    lay = hardware.layout(settings)
    dropdown = _find(lay, hardware.ID.PROFILE)
    assert dropdown.value == str(PROFILE) and dropdown.options[0]["label"].startswith("this run:")
    assert profiles.calibration_file(settings, PROFILE) == CALIBRATION

    def refit(*a, **k):
        raise AssertionError("the run's calibration must be shown as recorded, not refitted")

    monkeypatch.setattr(profiles, "calibrate_text", refit)
    scatter, curves, table = profiles.view("", PROFILE.name, "train",
                                           profiles.stored_calibration(str(CALIBRATION), str(PROFILE), CALIBRATION.stat().st_mtime))
    import json

    median = json.loads(CALIBRATION.read_text())["heldout"]["train"]["median_ape_pct"]
    assert scatter.data and curves.data and f"{median:.1f}" in str(table)  # the recorded held-out error, as recorded


def test_reports_page_links_and_serves_the_runs_report(settings):
    lay = reports.layout(settings)
    links = _find(lay, "run-report-links")
    assert [c.href for c in links.children] == ["/run-report/html"]
    client = create_app(settings).server.test_client()
    r = client.get("/run-report/html")
    assert r.status_code == 200 and b"the run's report" in r.data
    csp = r.headers["Content-Security-Policy"]  # its inline charts run sandboxed, fetching nothing
    assert "sandbox allow-scripts" in csp and "default-src 'none'" in csp and "connect-src" not in csp
    r.close()
    assert client.get("/run-report/pdf").status_code == 404  # not written by this run
    sneaky = client.get("/run-report/..%2Frun.json")  # only formats the manifest lists are files; anything else is not a file
    assert b"dcplan-run" not in sneaky.data and b"workload_text" not in sneaky.data


def test_pages_without_a_run_have_no_banner(tmp_path):
    s = Settings(profiles_dir=tmp_path)
    for page, cid in ((planner, "run-banner-planner"), (market, "run-banner-market"), (hardware, "run-banner-hardware")):
        assert _find(page.layout(s), cid) is None


def test_not_a_run_folder_is_a_clear_error(tmp_path, run_cli):
    with pytest.raises(InputError, match="no run.json"):
        read_run(tmp_path)
    r = run_cli("dashboard", "--results", str(tmp_path / "nope"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "results" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.browser
def test_every_page_opens_on_the_run(dash_duo, settings):
    dash_duo.start_server(create_app(settings))
    dash_duo.wait_for_page(url=dash_duo.server_url + "/planner")
    dash_duo.wait_for_contains_text("#plan-status", "Planned 'train-70b'", timeout=60)
    dash_duo.wait_for_page(url=dash_duo.server_url + "/market")
    dash_duo.wait_for_contains_text("#run-banner-market", "high", timeout=30)
    dash_duo.wait_for_contains_text("#mkt-fan", "High", timeout=90)
    dash_duo.wait_for_page(url=dash_duo.server_url + "/reports")
    dash_duo.wait_for_element("#run-report-html", timeout=30)
    assert dash_duo.get_logs() == []
