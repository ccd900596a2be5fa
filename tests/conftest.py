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


# --- browser tests (dash[testing]'s dash_duo driving Debian's chromium) ---------------------

CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--no-pings", "--disable-domain-reliability",
    "--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter,Translate",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--window-size=1280,800",
]


def chromium_path() -> str | None:
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class _DashOptions:
    """dash[testing]'s ``pytest_setup_options`` hook, registered only where that plugin is installed:
    pytest rejects a hook nobody declared, so defining it at module level broke collection on
    machines without the dashboard's test extras (the GPU machine)."""

    @staticmethod
    def pytest_setup_options():
        """Chrome options for dash_duo: Debian's chromium, headless, offline."""
        import tempfile

        from selenium.webdriver.chrome.options import Options

        opts = Options()
        path = chromium_path()
        if path:
            opts.binary_location = path
        for flag in CHROMIUM_FLAGS:
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='dcplan-chromium-')}")
        return opts


def pytest_configure(config):
    if config.pluginmanager.hasplugin("dash"):
        config.pluginmanager.register(_DashOptions(), "dcplan-dash-options")


def pytest_ignore_collect(collection_path, config):
    """``-m gpu`` collects only the modules that hold GPU tests, so that it runs where the other
    modules' imports (dash, plotly, hypothesis) are not installed."""
    if config.getoption("markexpr", "") != "gpu" or collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    return "mark.gpu" not in collection_path.read_text(encoding="utf-8")


def pytest_collection_modifyitems(config, items):
    """Browser tests need chromium + chromedriver: skip without them, unless the test command
    demands them (DCPLAN_REQUIRE_BROWSER=1, set by `make test`), in which case fail loudly."""
    import shutil

    if chromium_path() and shutil.which("chromedriver"):
        return
    if os.environ.get("DCPLAN_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError("browser tests need chromium and chromedriver (run scripts/system-deps.sh)")
    skip = pytest.mark.skip(reason="chromium/chromedriver not installed (scripts/system-deps.sh)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)
