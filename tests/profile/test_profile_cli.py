"""``dcplan profile`` end to end: a real tiny profile, Ctrl-C saves a partial one, a kill leaves none."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dcplan.io.profile import read_profile

ROOT = Path(__file__).resolve().parents[2]


def _as_from_a_terminal() -> None:
    """In the child before exec: Ctrl-C's default action, and a low CPU priority (nice 10).

    A suite started in the background by a non-interactive shell (``make test &``) runs with SIGINT
    ignored, and Python then installs no KeyboardInterrupt handler: reset it, as a terminal would
    deliver Ctrl-C. The tiny sweep's second pass lasts ~0.15 s, so on a busy machine the test must
    get the CPU first to read "sweep 1 of" and signal the profiler before that pass ends.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.nice(10)


def _start(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dcplan", "profile", "--device", "cpu", "--out", str(out), *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=_as_from_a_terminal)


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


def test_cuda_without_a_cuda_torch_or_a_missing_gpu_is_one_line(monkeypatch):
    import torch

    from dcplan.errors import InputError
    from dcplan.profile.environment import resolve_device

    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(InputError, match="built without CUDA"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(InputError, match=r"cuda:3: no such GPU, 1 visible \(cuda:0\)"):
        resolve_device("cuda:3")
    assert resolve_device("cuda:0") == torch.device("cuda:0") and resolve_device("cuda") == torch.device("cuda:0")
    with pytest.raises(InputError, match="not a device"):
        resolve_device("cuda:x")


def test_cuda_on_this_cpu_torch_exits_2_with_one_line(run_cli, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    r = run_cli("profile", "--device", "cuda:1", "--out", str(tmp_path))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "CUDA" in r.stderr, r.stderr
