"""GPU energy, power, clocks and throttle reasons through NVML; recorded as absent elsewhere.

``pynvml`` (the ``nvidia-ml-py`` package) is imported lazily and optionally. Method
(NVIDIA NVML API reference; CodeCarbon core/gpu_nvidia.py uses the same counter):

- energy: ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since the driver loaded, Volta and
  newer), read before and after every timed sample of a point; the differences are summed and
  divided by the runs timed;
- where the counter is missing, board power ``nvmlDeviceGetPowerUsage`` (mW; a 1-second
  average on Ampere and newer except GA100) is sampled every 100 ms in a thread and integrated
  with the trapezoid rule;
- clocks (SM, memory), temperature, power limit and the clock-event (throttle) reasons are
  sampled after each point, and after every timed block (:meth:`EnergyMeter.block_state`) so
  that blocks run in different states are recognised and remeasured. Clocks are only pinned
  when asked (``dcplan profile --lock-clocks``; needs administrator rights, undone at the end):
  on a shared machine they are recorded, not changed.
"""

from __future__ import annotations

import threading
import time
from typing import Any

#: Power sampling period of the fallback integrator [s] (MLPerf Power asks for >= 1 Hz).
POWER_SAMPLE_S = 0.1

_REASONS = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}


def _nvml():
    try:
        import pynvml  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no driver: NVML absent
        return None
    return pynvml


def decode_reasons(mask: int) -> list[str]:
    """Names of the clock-event (throttle) reason bits set in ``mask``."""
    return [name for bit, name in _REASONS.items() if mask & bit]


class _PowerIntegrator(threading.Thread):
    def __init__(self, read_w) -> None:
        super().__init__(daemon=True)
        self._read_w = read_w
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self.energy_j = 0.0
        self._last = (time.monotonic(), read_w())

    def run(self) -> None:
        while not self._stop_event.wait(POWER_SAMPLE_S):
            now, watts = time.monotonic(), self._read_w()
            with self._lock:
                t0, w0 = self._last
                self.energy_j += 0.5 * (w0 + watts) * (now - t0)
                self._last = (now, watts)

    def cumulative_j(self) -> float:
        with self._lock:
            return self.energy_j

    def stop(self) -> None:
        self._stop_event.set()


class EnergyMeter:
    """Energy and state of one CUDA device via NVML; ``available`` is False without NVML."""

    def __init__(self, nvml_index: int | None) -> None:
        self.method: str | None = None
        self._nvml = _nvml() if nvml_index is not None else None
        self._handle = None
        self._integrator: _PowerIntegrator | None = None
        if self._nvml is None:
            return
        try:
            self._handle = self._nvml.nvmlDeviceGetHandleByIndex(nvml_index)
        except Exception:  # noqa: BLE001
            self._nvml = None
            return
        try:
            self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
            self.method = "nvml total energy counter"
        except Exception:  # noqa: BLE001
            try:
                self._integrator = _PowerIntegrator(self._power_w)
                self._integrator.start()
                self.method = f"nvml power sampled every {POWER_SAMPLE_S} s, trapezoid rule"
            except Exception:  # noqa: BLE001
                self.method = None

    @property
    def available(self) -> bool:
        return self.method is not None

    def _power_w(self) -> float:
        return self._nvml.nvmlDeviceGetPowerUsage(self._handle) / 1e3

    def cumulative_j(self) -> float | None:
        """Energy since an arbitrary origin [J]; None when not measurable."""
        if not self.available:
            return None
        if self._integrator is not None:
            return self._integrator.cumulative_j()
        return self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle) / 1e3

    def state(self) -> dict[str, Any] | None:
        """Clocks [MHz], temperature [C], power and limit [W], throttle reasons; None without NVML."""
        if self._nvml is None:
            return None
        n, h = self._nvml, self._handle
        out: dict[str, Any] = {}
        for key, fn in (
            ("sm_clock_mhz", lambda: n.nvmlDeviceGetClockInfo(h, n.NVML_CLOCK_SM)),
            ("mem_clock_mhz", lambda: n.nvmlDeviceGetClockInfo(h, n.NVML_CLOCK_MEM)),
            ("max_sm_clock_mhz", lambda: n.nvmlDeviceGetMaxClockInfo(h, n.NVML_CLOCK_SM)),
            ("temperature_c", lambda: n.nvmlDeviceGetTemperature(h, n.NVML_TEMPERATURE_GPU)),
            ("power_w", lambda: n.nvmlDeviceGetPowerUsage(h) / 1e3),
            ("power_limit_w", lambda: n.nvmlDeviceGetEnforcedPowerLimit(h) / 1e3),
            ("throttle_reasons", lambda: decode_reasons(n.nvmlDeviceGetCurrentClocksThrottleReasons(h))),
        ):
            try:
                out[key] = fn()
            except Exception:  # noqa: BLE001 - a field this GPU or driver does not report
                out[key] = None
        return out

    def block_state(self) -> dict[str, Any] | None:
        """The state a timed block ran in: SM and memory clocks [MHz], temperature [C], throttle
        reasons (what decides whether two blocks are comparable); None without NVML."""
        state = self.state()
        if state is None:
            return None
        return {k: state.get(k) for k in ("sm_clock_mhz", "mem_clock_mhz", "temperature_c", "throttle_reasons")}

    def lock_clocks(self) -> str:
        """Pin the SM clocks at their maximum (``nvmlDeviceSetGpuLockedClocks``; needs administrator
        rights): returns what happened, one line. Undo with :meth:`unlock_clocks`."""
        if self._nvml is None:
            return "not locked: NVML not available"
        n, h = self._nvml, self._handle
        try:
            top = n.nvmlDeviceGetMaxClockInfo(h, n.NVML_CLOCK_SM)
            n.nvmlDeviceSetGpuLockedClocks(h, top, top)
        except Exception as exc:  # noqa: BLE001 - not permitted, or not supported by this GPU
            return f"not locked: {str(exc).splitlines()[0][:120] or type(exc).__name__}"
        self._locked = True
        return f"SM clocks locked at {top} MHz"

    def unlock_clocks(self) -> None:
        if getattr(self, "_locked", False):
            try:
                self._nvml.nvmlDeviceResetGpuLockedClocks(self._handle)
            except Exception:  # noqa: BLE001
                pass
            self._locked = False

    def driver_version(self) -> str | None:
        if self._nvml is None:
            return None
        try:
            v = self._nvml.nvmlSystemGetDriverVersion()
            return v.decode() if isinstance(v, bytes) else str(v)
        except Exception:  # noqa: BLE001
            return None

    def close(self) -> None:
        if self._integrator is not None:
            self._integrator.stop()
