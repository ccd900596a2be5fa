"""Profiler fixtures: one real tiny profile shared by the tests that only read it; GPU gating."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``gpu`` where torch sees no CUDA device."""
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    if has_gpu:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_profile():
    """A real profile of this machine with the test-sized grid (a few seconds)."""
    from dcplan.profile.run import ProfileRequest, profile_device

    return profile_device(ProfileRequest(device="cpu", sweep="tiny", name="tiny-test", threads=1))
