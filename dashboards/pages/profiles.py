"""The measured-profiles section of the hardware page: measured vs predicted, held-out errors."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from dashboards.ids import Hardware as ID
from dashboards.language import gettext, tr
from dashboards.settings import MAX_UPLOAD_BYTES

KINDS = ("train", "prefill", "decode", "seq2seq", "encoder", "memory")


def profile_files(settings) -> list[Path]:
    """Raw profiles (not calibration files) in the profiles folder, newest name last; the run's profile first."""
    d = settings.profiles_dir
    found = sorted(p for p in d.glob("*.json") if not p.name.endswith(".calibration.json")) if d.is_dir() else []
    run = settings.run
    if run is not None and run.profile is not None and run.profile.is_file():
        found = [run.profile] + [p for p in found if p.resolve() != run.profile.resolve()]
    return found


def calibration_file(settings, profile: Path) -> Path | None:
    """The calibration recorded for ``profile``: the run's, else ``<profile>.calibration.json`` beside it
    when it was fitted on exactly this file (sha256); None means calibrate on demand."""
    from dcplan.cli.calibrate_cmd import default_out
    from dcplan.errors import InputError
    from dcplan.io.calibration import profile_of, read_calibration_document

    run = settings.run
    candidates = []
    if run is not None and run.profile is not None and run.calibration is not None and run.profile.resolve() == profile.resolve():
        candidates.append(run.calibration)
    candidates.append(default_out(str(profile)))
    for cal in candidates:
        if not cal.is_file():
            continue
        try:
            found = profile_of(read_calibration_document(cal))
        except InputError:
            continue
        if found is not None and found.resolve() == profile.resolve():
            return cal
    return None


@functools.lru_cache(maxsize=8)
def stored_calibration(calibration: str, profile: str, _mtime: float):
    """The ProfileCalibration a calibration file records (no refit), memoised by file and modification time."""
    from dcplan.calibrate.stored import from_document
    from dcplan.io.calibration import read_calibration_document
    from dcplan.io.profile import read_profile

    return from_document(read_calibration_document(calibration), read_profile(profile), profile)


@functools.lru_cache(maxsize=8)
def calibrate_text(text: str, name: str):
    """ProfileCalibration of a profile document (memoised by its text and name)."""
    from dcplan.calibrate.profile_fit import calibrate_profile
    from dcplan.io.profile import profile_from_dict
    from dcplan.io.yamlio import parse_json

    return calibrate_profile(profile_from_dict(parse_json(text, name, "profile"), name), name)


def decode_upload(contents: str, filename: str | None) -> str:
    """Text of an uploaded profile JSON (see dashboards.uploads)."""
    from dashboards.uploads import decode_upload as decode

    return decode(contents, filename, (".json",))


def heldout_rows(pc) -> list[dict[str, Any]]:
    _ = tr()
    rows = []
    for kind, d in pc.heldout_dict().items():
        if isinstance(d, dict) and "median_ape_pct" in d:
            rows.append({"kind": _(kind), "n": d.get("n"), **{k: f"{d[k]:.1f}" for k in ("median_ape_pct", "p90_ape_pct", "max_ape_pct", "bias_pct") if d.get(k) is not None}})
    return rows


def view(text: str, name: str, kind: str, pc=None):
    """(scatter figure, curves figure, held-out table) of one profile (``pc``: its recorded calibration)."""
    from dash import html

    from dashboards.components import simple_table
    from dcplan.figures.calibration import efficiency_curves, measured_vs_predicted

    _ = tr()
    pc = pc if pc is not None else calibrate_text(text, name)
    table = html.Div([
        html.H3(_("Held-out errors: {name} ({device})").format(name=name, device=pc.profile.device.name)),
        simple_table([("kind", _("Kind")), ("n", "n"), ("median_ape_pct", _("Median APE [%]")), ("p90_ape_pct", _("P90 APE [%]")),
                      ("max_ape_pct", _("Max APE [%]")), ("bias_pct", _("Bias [%]"))], heldout_rows(pc), table_id="hw-heldout-table"),
        html.P(_("Leave-one-configuration-out (and leave-largest-out) errors: the fit never saw the point it predicts."), className="hint"),
        *([html.P(pc.profile.notes, className="hint", id="hw-profile-notes")] if pc.profile.notes else []),
    ])
    return measured_vs_predicted(pc, kind, _), efficiency_curves(pc, _), table


def section(settings):
    from dash import dcc, html

    _ = tr()
    files = profile_files(settings)
    run = settings.run
    is_run = {str(run.profile)} if run is not None and run.profile is not None else set()
    options = [{"label": (_("this run: {name}").format(name=p.name) if str(p) in is_run else p.name), "value": str(p)} for p in files]
    value = options[0]["value"] if is_run and options else (options[-1]["value"] if options else None)
    return html.Div([
        html.H3(_("Measured profiles")),
        html.P(_("Profiles in {folder} (run `dcplan profile` to add one) or upload a profile JSON. A profile with its "
                 "calibration file (dcplan calibrate) is shown as calibrated, without refitting; others are calibrated here. "
                 "Errors are on held-out configurations.").format(folder=settings.profiles_dir), className="hint"),
        html.Div([
            html.Div([
                html.Label(_("Profile")),
                dcc.Dropdown(id=ID.PROFILE, options=options, value=value, clearable=False),
                html.Label(_("Or upload a profile (.json)")),
                dcc.Upload(id=ID.PROFILE_UPLOAD, children=html.Div(_("Drop or click to choose a profile")), className="upload",
                           max_size=MAX_UPLOAD_BYTES, accept=".json"),
                html.Label(_("Kind")),
                dcc.RadioItems(id="hw-kind", options=[{"label": _(k), "value": k} for k in KINDS], value="train", inline=True),
                html.Div(id=ID.PROFILE_STATUS),
            ], className="col-narrow controls"),
            html.Div(dcc.Loading([dcc.Graph(id=ID.PROFILE_SCATTER, config={"displaylogo": False}), html.Div(id=ID.PROFILE_HELDOUT)]),
                     className="col"),
        ], className="row"),
        dcc.Loading(dcc.Graph(id=ID.PROFILE_CURVES, config={"displaylogo": False})),
        dcc.Store(id=ID.PROFILE_STORE),
    ], className="card")


def _listed_profile_text(settings, path) -> str:
    """Text of a profile in the profiles folder (a client may send any path: only listed files are read)."""
    from dcplan.errors import InputError
    from dcplan.io.yamlio import read_text

    if str(path) not in {str(p) for p in profile_files(settings)}:
        raise InputError("profile", "choose a profile from the list")
    return read_text(path, "profile")


def register_callbacks(app, settings) -> None:
    from dash import Input, Output, State, ctx, html, no_update

    from dcplan.errors import InputError

    @app.callback(Output(ID.PROFILE_STORE, "data"), Output(ID.PROFILE_STATUS, "children"),
                  Input(ID.PROFILE, "value"), Input(ID.PROFILE_UPLOAD, "contents"), State(ID.PROFILE_UPLOAD, "filename"))
    def choose(path, contents, filename):
        try:
            if ctx.triggered_id == ID.PROFILE_UPLOAD and contents:
                text = decode_upload(contents, filename)
                calibrate_text(text, filename or "upload.json")
                return {"name": filename, "text": text}, html.Div(gettext("Loaded and calibrated {file}.").format(file=filename), className="ok")
            if not path:
                return None, html.Div(gettext("No profiles yet: run `dcplan profile`."), className="hint")
            p = Path(path)
            if p.resolve() not in {f.resolve() for f in profile_files(settings)}:
                raise InputError("profile", "choose a profile from the list")
            return {"name": p.name, "path": str(p)}, None
        except InputError as exc:
            return no_update, html.Div(exc.one_line(), className="error")

    @app.callback(Output(ID.PROFILE_SCATTER, "figure"), Output(ID.PROFILE_CURVES, "figure"), Output(ID.PROFILE_HELDOUT, "children"),
                  Input(ID.PROFILE_STORE, "data"), Input("hw-kind", "value"))
    def show(data, kind):
        if not data:
            return no_update, no_update, None
        try:
            if data.get("text"):
                return view(str(data["text"]), str(data.get("name")), kind or "train")
            text = _listed_profile_text(settings, data.get("path"))  # only listed files are read
            path = Path(str(data.get("path")))
            cal = calibration_file(settings, path)
            pc = stored_calibration(str(cal), str(path), cal.stat().st_mtime) if cal is not None else None
            return view(text, str(data.get("name")), kind or "train", pc)
        except InputError as exc:
            return no_update, no_update, html.Div(exc.one_line(), className="error")
