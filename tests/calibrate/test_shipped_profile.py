"""The shipped CPU profile loads, and its shipped calibration is what the code fits from it."""

import json
from pathlib import Path

import pytest

from dcplan.calibrate.profile_fit import calibrate_profile
from dcplan.io.calibration import read_calibration
from dcplan.io.profile import read_profile

ROOT = Path(__file__).resolve().parents[2]
PROFILES = sorted(p for p in (ROOT / "profiles").glob("*.json") if not p.name.endswith(".calibration.json"))


@pytest.mark.slow
@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_shipped_calibration_is_reproducible(path):
    cal_path = path.with_name(path.stem + ".calibration.json")
    assert cal_path.exists(), f"ship {cal_path.name} with {path.name} (dcplan calibrate {path})"
    profile = read_profile(path)
    assert not profile.partial and profile.device.type in ("cpu", "cuda")
    shipped = json.loads(cal_path.read_text())
    pc = calibrate_profile(profile, shipped["profile"]["path"])
    for kind, stats in pc.heldout_dict().items():
        assert stats["median_ape_pct"] == pytest.approx(shipped["heldout"][kind]["median_ape_pct"], rel=1e-3, abs=1e-3), kind
    cal = read_calibration(cal_path)
    assert cal.train.act_passes == pytest.approx(pc.calibration.train.act_passes, rel=1e-3)
    assert cal.device is not None or cal.hardware is not None


def test_estimate_runs_on_the_shipped_cpu_calibration(run_cli):
    cals = sorted((ROOT / "profiles").glob("*.calibration.json"))
    if not cals:
        pytest.skip("no calibration shipped")
    r = run_cli("estimate", "infer", "--params", "30M", "--gpus", "1", "--precision", "fp32", "--input-len", "128",
                "--output-len", "64", "--batch", "4", "--profile", str(cals[0]), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["tpot_s"] > 0 and d["hardware"].startswith("cpu-")
