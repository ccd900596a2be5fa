"""The measured-profiles section of the hardware page (filled in when profiles exist)."""

from __future__ import annotations

from dashboards.ids import Hardware as ID


def profile_files(settings) -> list[str]:
    d = settings.profiles_dir
    return sorted(p.name for p in d.glob("*.json")) if d.is_dir() else []


def section(settings):
    from dash import html

    files = profile_files(settings)
    return html.Div([
        html.H3("Measured profiles"),
        html.P(f"{len(files)} profile file(s) in {settings.profiles_dir}." if files else "No profiles yet: run `dcplan profile`.",
               className="hint", id=ID.PROFILE_STATUS),
    ], className="card")


def register_callbacks(app, settings) -> None:
    return None
