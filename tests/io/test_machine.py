"""Profiles are reused by hardware fingerprint, never by hostname."""

from __future__ import annotations

import json

from dcplan.cli.run_cmd import find_local_profile
from dcplan.io.machine import Fingerprint, difference, fingerprint

CPU_ENV = {"hostname": "vm", "cpu_model": "AMD EPYC", "cpu_logical": 2, "host_memory_bytes": 25276514304.0, "torch": "2.13.0+cpu"}
CPU_DEV = {"type": "cpu", "name": "AMD EPYC", "count": 2, "memory_bytes": 25276514304.0}
HERE = fingerprint(CPU_DEV, CPU_ENV)


def _write(folder, name, device, env, created="2026-11-28T00:00:00+00:00", **extra):
    doc = {"kind": "dcplan-profile", "name": name, "created": created, "partial": False, "device": device, "environment": env, **extra}
    (folder / f"{name}.json").write_text(json.dumps(doc))
    return folder / f"{name}.json"


def test_same_hardware_matches_whatever_the_hostname(tmp_path):
    p = _write(tmp_path, "other-host", CPU_DEV, {**CPU_ENV, "hostname": "build-42"})
    found, why = find_local_profile([tmp_path], HERE)
    assert found == p
    assert why.startswith(f"reusing {p}: same hardware") and "AMD EPYC" in why and "torch 2.13.0+cpu" in why and "\n" not in why


def test_same_hostname_on_other_hardware_is_not_reused(tmp_path):
    _write(tmp_path, "big-vm", {**CPU_DEV, "count": 16}, {**CPU_ENV, "cpu_logical": 16})
    found, why = find_local_profile([tmp_path], HERE)
    assert found is None
    assert "core count 16 (this machine: 2)" in why


def test_each_field_of_the_fingerprint_counts():
    base = HERE
    assert difference(base, base) is None
    assert difference(base, Fingerprint(**{**base.to_dict(), "torch": "2.11.0+cu130"})) == "torch build 2.11.0+cu130 (this machine: 2.13.0+cpu)"
    assert "device" in difference(base, Fingerprint(**{**base.to_dict(), "device_name": "Intel Xeon"}))
    # memory within 3 % is the same machine (kernels reserve a little differently across boots); 64 GiB is not
    assert difference(base, Fingerprint(**{**base.to_dict(), "memory_bytes": 25276514304.0 * 0.99})) is None
    assert "memory 64 GiB" in difference(base, Fingerprint(**{**base.to_dict(), "memory_bytes": 64 * 2**30}))


def test_gpu_profile_uses_the_gpu_memory_and_count():
    dev = {"type": "cuda", "name": "NVIDIA H200", "count": 1, "memory_bytes": 150109880320.0}
    env = {"cpu_model": "Intel(R) Xeon(R) Processor", "cpu_logical": 16, "host_memory_bytes": 135148564480.0, "torch": "2.11.0+cu130"}
    fp = fingerprint(dev, env)
    assert (fp.device_name, fp.device_count, fp.memory_bytes, fp.cpu_cores) == ("NVIDIA H200", 1, 150109880320.0, 16)
    assert difference(fp, HERE).startswith("device type cpu")


def test_newest_complete_match_wins_and_partial_ones_are_skipped(tmp_path):
    _write(tmp_path, "old", CPU_DEV, CPU_ENV, created="2026-01-01T00:00:00+00:00")
    new = _write(tmp_path, "new", CPU_DEV, CPU_ENV, created="2026-06-01T00:00:00+00:00")
    (tmp_path / "half.json").write_text(json.dumps({"kind": "dcplan-profile", "partial": True, "created": "2027-01-01",
                                                     "device": CPU_DEV, "environment": CPU_ENV}))
    (tmp_path / "new.calibration.json").write_text("{}")
    assert find_local_profile([tmp_path], HERE)[0] == new
