"""Peak memory on CPU: RSS high-water mark after a reset, baseline subtracted."""

import torch

from dcplan.profile.memory import MemoryMeter

MiB = 2**20


def test_sees_tensor_memory():
    with MemoryMeter(torch.device("cpu")) as meter:
        x = torch.ones(64 * MiB // 4)
        x += 1
    assert 62 * MiB <= meter.result.peak_bytes <= 80 * MiB
    del x


def test_freed_memory_is_returned_not_reused():
    """A freed 96 MiB block must not hide the next, smaller allocation (mmap threshold + trim)."""
    big = torch.ones(96 * MiB // 4)
    del big
    with MemoryMeter(torch.device("cpu")) as meter:
        y = torch.ones(16 * MiB // 4)
        y.mul_(2)
    assert 15 * MiB <= meter.result.peak_bytes <= 30 * MiB
    assert "VmHWM" in meter.result.method or "sampled" in meter.result.method


def test_transient_peak_is_seen():
    """A temporary freed inside the region still counts: a high-water mark, not the end state."""
    with MemoryMeter(torch.device("cpu")) as meter:
        t = torch.ones(48 * MiB // 4)
        t.add_(1)
        del t
    assert meter.result.peak_bytes >= 46 * MiB


def test_heap_memory_freed_earlier_is_counted_when_reused():
    """Below the mmap threshold tensors live on the heap; malloc_trim makes their reuse visible."""
    from dcplan.profile.memory import MMAP_THRESHOLD_BYTES, set_mmap_threshold

    set_mmap_threshold(MMAP_THRESHOLD_BYTES)
    first = torch.ones(24 * MiB // 4)
    del first
    with MemoryMeter(torch.device("cpu")) as meter:
        again = torch.ones(12 * MiB // 4)
        again.add_(1)
    assert 11 * MiB <= meter.result.peak_bytes <= 20 * MiB
