"""Reports page: the capacity report of the current plan and scenario, in any format."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from dashboards.ids import Planner as PlannerID
from dashboards.ids import Reports as ID
from dashboards.language import tr
from dcplan.i18n import N_

PATH = "/reports"
TITLE = N_("Reports")
#: Forecast samples of a dashboard report (the CLI's `dcplan report` uses 10,000).
SAMPLES = 2000
FORMATS = (("html", N_("HTML (interactive, offline)")), ("pdf", "PDF"), ("xlsx", N_("Excel (one sheet per table)")), ("md", "Markdown"), ("json", "JSON"))
MIME = {"html": "text/html", "pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "md": "text/markdown", "json": "application/json"}


def build(fmt: str, scenario: str, workload_text: str | None, lang: str = "en", models: dict | None = None) -> tuple[str, bytes]:
    """(file name, bytes) of the report in ``fmt`` and ``lang``: the same code as `dcplan report --lang` (``models``: the
    planner's uploaded config.json files by name)."""
    from dashboards.uploads import check_workload_text, shipped_scenario
    from dcplan.errors import InputError
    from dcplan.report.assemble import build_report
    from dcplan.report.output import output_paths, write_report
    from dcplan.report.pipeline import gather

    if fmt not in MIME:  # the browser's values are not trusted
        raise InputError("format", f"choose one of {', '.join(MIME)}")
    text = None if workload_text is None else check_workload_text(workload_text)
    report = build_report(gather(workload_text=text, workload_models=models, scenario=shipped_scenario(scenario), samples=SAMPLES), lang)
    with tempfile.TemporaryDirectory(prefix="dcplan-report-") as tmp:
        paths = output_paths("dcplan-report", [fmt], within=Path(tmp))
        res = write_report(report, paths)
        if res.failed:
            from dcplan.errors import InputError

            raise InputError("format", f"{fmt} failed: {res.failed[fmt]}")
        path = res.written[fmt]
        return path.name, path.read_bytes()


#: URL of a report file of the run the dashboard opened on: /run-report/<format>.
RUN_REPORT_URL = "/run-report/"
#: Content-Security-Policy of the served HTML report: its inline scripts and styles run in an
#: opaque-origin sandbox that can fetch nothing.
REPORT_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
              "font-src data:; sandbox allow-scripts")


def run_reports(settings):
    """Links to the run's report files (the HTML opens in the browser, the others download)."""
    from dash import html

    from dashboards.components import run_banner
    from dashboards.ids import Run

    _ = tr()
    run = settings.run
    if run is None:
        return None
    labels = {k: _(v) for k, v in FORMATS}
    links = [html.A(labels.get(fmt, fmt), href=f"{RUN_REPORT_URL}{fmt}", target="_blank" if fmt == "html" else None,
                    className="report-link", id=f"run-report-{fmt}")
             for fmt in [k for k, _ in FORMATS if k in run.reports and run.reports[k].is_file()]]
    return html.Div([
        run_banner(settings, _("its capacity report, written by `dcplan run` in {folder}").format(folder=run.folder), Run.REPORTS),
        html.Div(links, className="report-links", id=Run.REPORT_LINKS) if links else html.P(_("The run wrote no report files."), className="error"),
    ], className="card")


def serve_run_reports(server, settings) -> None:
    """Serve the run's report files under RUN_REPORT_URL (only those its manifest lists)."""
    from flask import abort, send_file

    run = settings.run

    def report(fmt: str):
        path = run.reports.get(fmt) if run is not None else None
        if path is None or not path.is_file():
            abort(404)
        response = send_file(path, mimetype=MIME.get(fmt), as_attachment=fmt != "html", download_name=path.name)
        if fmt == "html":  # the report's own inline plotly.js, in a sandbox: no network, no access to the dashboard's origin
            response.headers["Content-Security-Policy"] = REPORT_CSP
        return response

    server.add_url_rule(f"{RUN_REPORT_URL}<fmt>", endpoint="run_report", view_func=report)


def layout(settings):
    from dash import dcc, html

    from dcplan.io.scenario import scenario_choices

    _ = tr()
    scenarios = scenario_choices()
    run = settings.run
    first = run.scenario if run is not None and run.scenario in scenarios else "base"
    return html.Div([
        html.H2(_("Reports")),
        run_reports(settings),
        html.H3(_("Build a report")) if run is not None else None,
        html.P(_("The capacity report (executive summary, model accuracy, plan per option, market forecast, sensitivity, assumptions, "
                 "validation) for the workload on the planner page (or the shipped portfolio sample) and a scenario, with a {samples}-sample "
                 "forecast, in the language of this page. The command line gives the same report: "
                 "dcplan report --workload W.yaml --scenario base --lang {lang}.").format(samples=f"{SAMPLES:,}", lang=_.lang), className="hint"),
        html.Div([
            html.Label(_("Scenario")),
            dcc.Dropdown(id="rep-scenario", options=[{"label": n, "value": n} for n in scenarios], value=first, clearable=False),
            html.Label(_("Format")),
            dcc.RadioItems(id=ID.FORMAT, options=[{"label": _(lab), "value": k} for k, lab in FORMATS], value="html"),
            html.Div(html.Button(_("Build and download"), id=ID.BUILD, n_clicks=0), style={"marginTop": "0.8rem"}),
            dcc.Loading(html.Div(id=ID.STATUS, style={"marginTop": "0.6rem"})),
            dcc.Download(id=ID.DOWNLOAD),
        ], className="card controls", style={"maxWidth": "560px"}),
    ])


def register_callbacks(app, settings) -> None:
    from dash import Input, Output, State, html, no_update

    from dcplan.errors import InputError

    serve_run_reports(app.server, settings)

    @app.callback(Output(ID.DOWNLOAD, "data"), Output(ID.STATUS, "children"),
                  Input(ID.BUILD, "n_clicks"), State(ID.FORMAT, "value"), State("rep-scenario", "value"),
                  State(PlannerID.STORE, "data"), prevent_initial_call=True)
    def make(_n, fmt, scenario, planner):
        _ = tr()
        text = (planner or {}).get("text") if isinstance(planner, dict) else None
        models = (planner or {}).get("models") if isinstance(planner, dict) else None
        try:
            name, data = build(fmt, scenario, text, _.lang, models if isinstance(models, dict) else None)
        except InputError as exc:
            return no_update, html.Div(exc.one_line(), className="error")
        source = _("the planner's workload") if text else _("the shipped portfolio sample")
        status = html.Div(_("Built {name} ({size} bytes) for {source}, scenario {scenario}.").format(name=name, size=f"{len(data):,}", source=source,
                                                                                                   scenario=scenario), className="ok")
        return {"content": base64.b64encode(data).decode(), "filename": name, "base64": True, "type": MIME[fmt]}, status
