"""Calibration test fixtures: a module-scoped CLI runner for fixtures that build calibrations once."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def run_cli_module():
    def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "dcplan", *args], capture_output=True, text=True, env=dict(os.environ),
                              cwd=ROOT, timeout=timeout)

    return _run
