"""Shared test fixtures: catalog access and a subprocess runner for the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def run_cli():
    """Run ``python -m dcplan ARGS`` in a subprocess; returns CompletedProcess (text)."""

    def _run(*args: str, env: dict | None = None, cwd: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "dcplan", *args],
            capture_output=True,
            text=True,
            env=full_env,
            cwd=cwd or ROOT,
            timeout=timeout,
        )

    return _run
