"""Finding and starting headless Chromium for PDF rendering (Debian's chromium, offline)."""

from __future__ import annotations

import shutil

from dcplan.errors import InputError

#: Flags that keep Chromium headless, quiet and offline (../shared/ENVIRONMENT.md).
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--no-pings", "--disable-domain-reliability",
    "--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter,Translate",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]


def find_chromium() -> str:
    """Path of a Chromium/Chrome executable, or an InputError saying how to install one."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    raise InputError("format", "PDF needs Chromium: install it (Debian: apt-get install chromium) or drop pdf from --format")
