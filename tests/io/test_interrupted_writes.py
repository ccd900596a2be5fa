"""A calibration or a report killed while writing (SIGTERM, SIGKILL) leaves no half-written file
and never damages an earlier one (the profile's own test is in tests/profile/test_profile_cli.py).

Each command runs for real and is killed at the worst moment: its data is written and flushed
but not yet named (tests/io/pause_before_commit.py pauses there).
"""

from __future__ import annotations

import hashlib
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAUSE = Path(__file__).with_name("pause_before_commit.py")
PROFILE = ROOT / "profiles" / "cpu-amd-epyc-1t-standard.json"

pytestmark = pytest.mark.slow


def _killed_at_commit(folder: Path, args: list[str], sig: int) -> str:
    """Run ``dcplan ARGS`` until it pauses before naming a file in ``folder``, then send ``sig``."""
    proc = subprocess.Popen([sys.executable, str(PAUSE), str(folder), *args], cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)
    try:
        line = ""
        for line in proc.stderr:
            if line.startswith("PAUSED "):
                break
        assert line.startswith("PAUSED "), f"never reached a commit: {line}"
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == -sig
    return line.split(" ", 1)[1].strip()


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_calibration_killed_while_writing(tmp_path, sig):
    profile = tmp_path / "p.json"
    shutil.copy(PROFILE, profile)
    out = tmp_path / "cal"
    out.mkdir()
    target = out / "p.calibration.json"
    paused = _killed_at_commit(out, ["calibrate", str(profile), "--out", str(target)], sig)
    assert "(deleted)" in paused or paused.endswith(".tmp")  # it was killed holding an unnamed file
    assert list(out.iterdir()) == []  # no half-written file, no temporary one

    # an earlier calibration survives a killed --force run byte for byte
    target.write_text('{"earlier": true}\n')
    before = _digests(out)
    _killed_at_commit(out, ["calibrate", str(profile), "--out", str(target), "--force"], sig)
    assert _digests(out) == before


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_report_killed_while_writing(tmp_path, sig):
    out = tmp_path / "reports"
    out.mkdir()
    args = ["report", "--workload", str(ROOT / "data/workloads/chat-70b.yaml"), "--samples", "200", "--format", "md,json",
            "--out", f"{out}/"]
    _killed_at_commit(out, args, sig)
    assert list(out.iterdir()) == []

    # earlier reports survive a killed --force run
    for name in ("dcplan-report.md", "dcplan-report.json"):
        (out / name).write_text("earlier report\n")
    before = _digests(out)
    _killed_at_commit(out, [*args, "--force"], sig)
    assert _digests(out) == before

    # and the same command, left alone, replaces them whole
    res = subprocess.run([sys.executable, "-m", "dcplan", *args, "--force"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == ["dcplan-report.json", "dcplan-report.md"]
    assert (out / "dcplan-report.md").read_text().startswith("#")
