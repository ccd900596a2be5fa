"""Peak memory of one measured configuration, on a CUDA device or on the host CPU.

CUDA: ``torch.cuda.reset_peak_memory_stats`` before, ``max_memory_allocated`` (tensors) and
``max_memory_reserved`` (the caching allocator's segments) after (PyTorch docs, torch.cuda memory management).
Neither counts the CUDA context.

CPU: ``tracemalloc`` does not see tensors (checked here: a 256 MiB tensor showed 0.03 MiB), so
the peak resident set size of this process is read from the kernel instead:

1. ``malloc_trim(0)`` hands every free heap page back to the kernel first (glibc releases
   whole free pages inside the heap too, not only at its top), so that memory a previous
   configuration freed and this one reuses is faulted in again and counted; glibc's mmap
   threshold is fixed at 32 MiB for the whole profile (``mallopt``), so allocations behave the
   same whatever ran before (a 256 KiB threshold, tried first, put every tensor on fresh
   page-aligned mappings and made some GEMMs 20 % slower, depending on the placement);
2. the kernel's high-water mark is reset to the current RSS by writing ``5`` to
   ``/proc/self/clear_refs`` (Linux >= 4.0, ``proc(5)``), and that RSS is the baseline;
3. after the run, peak = ``VmHWM`` − baseline (``/proc/self/status``): exact, nothing sampled.

Where ``clear_refs`` cannot be written, a sampler thread reads RSS every millisecond instead
(a short-lived peak can then be missed; the method is recorded with each value).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
from dataclasses import dataclass

import torch

#: glibc mallopt parameter numbers (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: glibc's largest dynamic mmap threshold on 64-bit (4 x 1024 x 1024 x sizeof(long)) [bytes]:
#: what a long-running process converges to, fixed for the whole profile.
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
SAMPLE_INTERVAL_S = 0.001


@dataclass(frozen=True, kw_only=True)
class PeakMemory:
    """Peak memory of one configuration [bytes]."""

    peak_bytes: float
    """CPU: peak RSS above the baseline; CUDA: max_memory_allocated."""
    reserved_bytes: float | None
    """CUDA: max_memory_reserved; None on CPU."""
    method: str


def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "mallopt") else None


_LIBC = _libc()


def set_mmap_threshold(nbytes: int) -> bool:
    """Set glibc's mmap threshold (fixes it: no dynamic adjustment); False if not glibc."""
    if _LIBC is None:
        return False
    ok = _LIBC.mallopt(_M_MMAP_THRESHOLD, int(nbytes)) == 1
    _LIBC.mallopt(_M_TRIM_THRESHOLD, int(nbytes))
    return ok


def release_free_memory() -> None:
    """Collect garbage and hand free heap pages back to the kernel."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


def _status_kib(key: str) -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return float(line.split()[1])
    raise OSError(f"{key} not in /proc/self/status")


def current_rss_bytes() -> float:
    """Resident set size of this process now [bytes]."""
    try:
        return _status_kib("VmRSS") * 1024.0
    except OSError:
        import psutil

        return float(psutil.Process().memory_info().rss)


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        _status_kib("VmHWM")
        return True
    except OSError:
        return False


class _Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = current_rss_bytes()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(SAMPLE_INTERVAL_S):
            self.peak = max(self.peak, current_rss_bytes())

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return max(self.peak, current_rss_bytes())


class MemoryMeter:
    """Context manager measuring the peak memory of the code inside it on ``device``.

    ``with MemoryMeter(device) as meter: ...`` then ``meter.result`` (a :class:`PeakMemory`).
    """

    #: The meter whose ``with`` block is running (for :func:`forget_peak_so_far`).
    active: MemoryMeter | None = None

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.result: PeakMemory | None = None
        self.forgot = False

    def forget_peak(self) -> None:
        """The peak so far stops counting; what is allocated now stays counted (a model's random
        initialisation makes transient copies no loaded checkpoint would)."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        elif self._sampler is not None:
            self._sampler.peak = current_rss_bytes()
        else:
            release_free_memory()
            _reset_hwm()
        self.forgot = True

    def __enter__(self) -> MemoryMeter:
        MemoryMeter.active = self
        release_free_memory()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = float(torch.cuda.memory_allocated(self.device))
            self._base_reserved = float(torch.cuda.memory_reserved(self.device))
            return self
        self._hwm = _reset_hwm()
        self._base = current_rss_bytes()
        self._sampler = None if self._hwm else _Sampler()
        if self._sampler is not None:
            self._sampler.start()
        return self

    def __exit__(self, *exc) -> None:
        MemoryMeter.active = None
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = float(torch.cuda.max_memory_allocated(self.device)) - self._base
            reserved = float(torch.cuda.max_memory_reserved(self.device)) - self._base_reserved
            method = "cuda max_memory_allocated/reserved" + (" (model initialisation excluded)" if self.forgot else "")
            self.result = PeakMemory(peak_bytes=peak, reserved_bytes=max(reserved, 0.0), method=method)
            return
        if self._sampler is not None:
            peak, method = self._sampler.stop(), "RSS sampled every 1 ms minus baseline"
        else:
            peak, method = _status_kib("VmHWM") * 1024.0, "VmHWM after malloc_trim and a clear_refs reset, minus the RSS then"
        if self.forgot:
            method += " (model initialisation excluded)"
        self.result = PeakMemory(peak_bytes=max(peak - self._base, 0.0), reserved_bytes=None, method=method)


def forget_peak_so_far() -> None:
    """Tell the running :class:`MemoryMeter`, if any, that the peak so far does not count."""
    if MemoryMeter.active is not None:
        MemoryMeter.active.forget_peak()
