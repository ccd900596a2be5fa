"""Screenshot dashboard pages in headless Chromium (for looking at the UI; not a test).

usage: python scripts/screenshot.py OUT_DIR [PATH ...]   (serves the app on a free port; 1400 and 420 px wide)
       DCPLAN_RESULTS_DIR=reports/run-<time> python scripts/screenshot.py OUT_DIR ...   (pages opened on a run)
       SHOT_TILE_PX=1000 also saves each page in tiles; SHOT_WAIT_MS sets the wait for callbacks (default 7000)
       SHOT_LANG=zh-CN: the browser's language (Accept-Language), e.g. the Chinese pages
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dashboards import create_app  # noqa: E402
from tests.conftest import CHROMIUM_FLAGS, chromium_path  # noqa: E402


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    paths = sys.argv[2:] or ["/hardware"]
    server = make_server("127.0.0.1", 0, create_app().server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=[f for f in CHROMIUM_FLAGS if not f.startswith("--headless")])
        for width, height, tag in ((1400, 900, "wide"), (420, 900, "narrow")):
            page = browser.new_page(viewport={"width": width, "height": height}, locale=os.environ.get("SHOT_LANG") or None)
            for path in paths:
                page.goto(base + path)
                page.wait_for_timeout(int(os.environ.get("SHOT_WAIT_MS", "7000")))
                name = path.strip("/").replace("/", "_") or "index"
                page.screenshot(path=str(out / f"{name}-{tag}.png"), full_page=True)
                tile = int(os.environ.get("SHOT_TILE_PX", "0"))  # also save the page in tiles this tall (easier to read)
                total = page.evaluate("document.documentElement.scrollHeight")
                for i, top in enumerate(range(0, total, tile) if tile else []):
                    page.screenshot(path=str(out / f"{name}-{tag}-{i}.png"), full_page=True,
                                    clip={"x": 0, "y": top, "width": width, "height": min(tile, total - top)})
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
