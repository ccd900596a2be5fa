"""``dcplan calibrate``: writes a calibration estimate accepts; bad input is one line, exit 2, nothing written."""

import json
import math

import pytest

from dcplan.io.calibration import read_calibration
from dcplan.io.profile import write_profile
from tests.calibrate import synthetic as S


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    d = tmp_path_factory.mktemp("cal")
    return write_profile(d / "synthetic.json", S.profile(noise=0.01))


def test_calibrate_writes_a_calibration_estimate_reads(run_cli, good, tmp_path):
    out = tmp_path / "cal.json"
    r = run_cli("calibrate", str(good), "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    for kind in ("train", "prefill", "decode", "memory"):
        h = d["heldout"][kind]
        for key in ("median_ape_pct", "p90_ape_pct", "max_ape_pct", "bias_pct", "n"):
            assert key in h and key in h["extrapolation"]
    assert all("roofline" in p and "predicted" in p for p in d["predictions"])
    cal = read_calibration(out)
    assert cal.device is not None and cal.device.kind == "cpu" and cal.hardware is None
    assert "synthetic" in cal.source("train") and "fit" in cal.source("gemm")
    doc = json.loads(out.read_text())
    assert doc["profile"]["path"] == str(good) and len(doc["profile"]["sha256"]) == 64
    est = run_cli("estimate", "train", "--params", "125M", "--tokens", "1B", "--gpus", "1", "--precision", "fp32",
                  "--profile", str(out), "--json", "--seq-len", "256", "--global-batch", "8")
    assert est.returncode == 0, est.stderr
    e = json.loads(est.stdout)
    assert e["hardware"] == cal.device.name
    table = run_cli("calibrate", str(good), "--out", str(tmp_path / "cal2.json"))
    assert table.returncode == 0 and "Held-out accuracy" in table.stdout and "speed of light" in table.stdout


def _bad_profiles(good_text):
    doc = json.loads(good_text)

    def edited(fn):
        d = json.loads(good_text)
        fn(d)
        return json.dumps(d)

    few = dict(doc)
    few["measurements"] = [m for m in doc["measurements"] if m["kind"] != "prefill" or m["id"] == "prefill-001"]
    return {
        "truncated": (good_text[: len(good_text) // 3], "truncated"),
        "schema": (edited(lambda d: d.update(schema_version=99)), "schema_version"),
        "few": (json.dumps(few), "too few prefill"),
        "nan": (edited(lambda d: d["measurements"][20]["time_s"].update(estimate=math.nan)), "measurements[20].time_s.estimate"),
        "negative": (edited(lambda d: d["measurements"][20]["time_s"].update(median=-1.0)), "measurements[20].time_s.median"),
        "calibration": (json.dumps({"schema_version": 1, "kind": "dcplan-calibration"}), "calibration, not a profile"),
    }


@pytest.mark.parametrize("case", ["truncated", "schema", "few", "nan", "negative", "calibration", "missing"])
def test_bad_input_is_one_line_exit_2_nothing_written(run_cli, good, tmp_path, case):
    path = tmp_path / "bad.json"
    if case == "missing":
        expect = "file not found"
    else:
        text, expect = _bad_profiles(good.read_text())[case]
        path.write_text(text)
    out = tmp_path / "out.json"
    r = run_cli("calibrate", str(path), "--out", str(out))
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert expect in lines[0]
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if case == "missing" else ["bad.json"])


def test_existing_output_is_kept(run_cli, good, tmp_path):
    out = tmp_path / "cal.json"
    out.write_text("mine")
    r = run_cli("calibrate", str(good), "--out", str(out))
    assert r.returncode == 2 and "exists" in r.stderr
    assert out.read_text() == "mine"


def test_calibrate_does_not_import_torch(good, tmp_path):
    import subprocess
    import sys

    code = (
        "import sys, io, contextlib\n"
        "from dcplan.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main(['calibrate', {str(good)!r}, '--out', {str(tmp_path / 'c.json')!r}, '--json'])\n"
        "print(rc, [m for m in ('torch', 'dash') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "0 []"
