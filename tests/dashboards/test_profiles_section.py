"""Hardware page, measured-profiles section: the shipped profile calibrated and scored."""

import base64
from pathlib import Path

import pytest

from dashboards.app import Settings
from dashboards.pages import profiles
from dcplan.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_profiles_are_listed_without_calibration_files():
    files = profiles.profile_files(Settings(profiles_dir=ROOT / "profiles"))
    assert files and not any(p.name.endswith(".calibration.json") for p in files)


@pytest.mark.slow
def test_view_of_the_shipped_profile_has_heldout_errors_and_figures():
    path = profiles.profile_files(Settings(profiles_dir=ROOT / "profiles"))[0]
    scatter, curves, table = profiles.view(path.read_text(), path.name, "train")
    assert "measured vs predicted" in scatter.layout.title.text and scatter.layout.xaxis.title.text
    assert curves.layout.title.text
    assert "Median APE" in str(table) and "train" in str(table)


def test_uploads_are_validated():
    bad = "data:;base64," + base64.b64encode(b'{"schema_version": 1, "kind": "dcplan-profile"}').decode()
    text = profiles.decode_upload(bad, "p.json")
    with pytest.raises(InputError):
        profiles.calibrate_text(text, "p.json")
    with pytest.raises(InputError, match="json"):
        profiles.decode_upload(bad, "p.yaml")
    with pytest.raises(InputError, match="JSON"):
        profiles.calibrate_text("{not json", "p.json")
