"""``dcplan profile`` end to end: a real tiny profile, Ctrl-C saves a partial one, a kill leaves none."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dcplan.io.profile import read_profile

ROOT = Path(__file__).resolve().parents[2]


def _start(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dcplan", "profile", "--device", "cpu", "--out", str(out), *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _wait_for_measurement(proc: subprocess.Popen, timeout: float = 120) -> list[str]:
    """Read progress lines from stderr until a first sweep over the points is complete."""
    lines, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if "sweep 1 of" in line:
            return lines
    raise AssertionError(f"no measurement reported: {lines}")


def test_tiny_profile_cli(run_cli, tmp_path):
    r = run_cli("profile", "--device", "cpu", "--sweep", "tiny", "--threads", "1", "--out", str(tmp_path), "--name", "t", "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["path"] == str(tmp_path / "t.json")
    assert summary["measurements"]["train"] == 3 and not summary["partial"]
    prof = read_profile(tmp_path / "t.json")
    assert prof.device.type == "cpu" and prof.device.threads == 1 and prof.device.precision == "fp32"
    assert prof.settings["sweep"] == "tiny"
    again = run_cli("profile", "--device", "cpu", "--sweep", "tiny", "--out", str(tmp_path), "--name", "t")
    assert again.returncode == 2 and "never overwritten" in again.stderr and len(again.stderr.strip().splitlines()) == 1


def test_bad_device_is_one_line(run_cli, tmp_path):
    r = run_cli("profile", "--device", "tpu:3", "--out", str(tmp_path))
    assert r.returncode == 2 and "device" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_saves_completed_points_marked_partial(tmp_path):
    proc = _start(tmp_path, "--sweep", "tiny", "--name", "ctrlc", "--threads", "1")
    try:
        _wait_for_measurement(proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    prof = read_profile(tmp_path / "ctrlc.json")
    assert prof.partial and prof.partial_reason == "interrupted"
    assert len(prof.measurements) >= 1
    unfinished = [m for m in prof.measurements if len(m.time_s.sweep_medians) < prof.settings["sweeps"]]
    assert unfinished or any(s["reason"] == "interrupted" for s in prof.skipped)
    assert "partial" in err


def test_killed_process_leaves_no_file(tmp_path):
    proc = _start(tmp_path, "--sweep", "tiny", "--name", "killed", "--threads", "1")
    try:
        _wait_for_measurement(proc)
        proc.kill()
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert list(tmp_path.iterdir()) == []
