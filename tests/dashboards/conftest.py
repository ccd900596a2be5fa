"""Dashboard test helpers."""

import pytest


@pytest.fixture
def quiet_app(tmp_path):
    """The app with an empty profiles folder: pages load without calibrating the shipped profile
    in the background (a 7-10 s job that a test's server would be stopped in the middle of)."""
    from dashboards import create_app
    from dashboards.app import Settings

    return create_app(Settings(profiles_dir=tmp_path))
