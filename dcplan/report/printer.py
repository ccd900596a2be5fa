"""A headless Chromium started ahead of time, in its own process, ready to print the report's PDF.

Starting Chromium and compiling plotly.js take about two seconds before the first chart is
drawn. ``dcplan report`` starts a :class:`Printer` before it gathers the report's inputs: a
child process launches Chromium (Playwright), opens a page that loads plotly.js from a file in
its folder, and waits. When the report is built the parent writes the print HTML beside that
file and asks for the PDF; the page then only lays out, draws the charts and prints
(:func:`dcplan.report.writers.print_page`, the same steps as a cold
:func:`~dcplan.report.writers.render_pdf`). The child is a process, not a thread: Playwright's
synchronous API keeps to the thread that started it, and the parent stays single-threaded so
that the gather's worker processes can be forked safely.

Messages are small (paths, not documents): the parent never blocks handing over a request
while the child is still starting. When the child could not start Chromium or died, the PDF
is printed cold; a failure while printing is the PDF's failure.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from dcplan.errors import DcplanError

WARM_FILE = "warm.html"
_WARM_PAGE = "<!doctype html><html><head><meta charset='utf-8'><script src=\"{src}\"></script></head><body></body></html>"


class PrinterUnavailable(RuntimeError):
    """The warm Chromium could not start or stopped: print cold instead."""


class Printer:
    """A Chromium in a child process with plotly.js compiled, printing one PDF (see the module docstring)."""

    def __init__(self, process: Any, conn: Any, folder: Path, timeout_s: float) -> None:
        self._process, self._conn, self.folder, self.timeout_s = process, conn, folder, timeout_s
        self._asked = False

    @classmethod
    def start(cls, *, chromium: str | None = None, timeout_s: float = 60.0) -> Printer | None:
        """A started printer, or None when none can start here (no Chromium, no child process)."""
        from dcplan.report.browser import find_chromium

        try:
            exe = chromium or find_chromium()
        except DcplanError:
            return None  # the PDF writer says why, cold
        folder = Path(tempfile.mkdtemp(prefix="dcplan-report-"))
        try:
            ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
            parent, child = ctx.Pipe()
            process = ctx.Process(target=_serve, args=(child, parent, os.getpid(), exe, str(folder), timeout_s), name="dcplan-printer",
                                  daemon=True)
            process.start()
            child.close()
        except (OSError, ValueError, AssertionError):  # no child processes here (a daemon, a sandbox)
            shutil.rmtree(folder, ignore_errors=True)
            return None
        return cls(process, parent, folder, timeout_s)

    def ask(self, footer: str) -> None:
        """Print the page the parent wrote at :func:`~dcplan.report.writers.write_print_page` in :attr:`folder`."""
        self._asked = True
        try:
            self._conn.send(("print", footer))
        except (OSError, ValueError) as exc:
            raise PrinterUnavailable(f"the warm browser stopped: {exc}") from None

    def result(self) -> bytes:
        """The PDF bytes asked for; PrinterUnavailable (print cold) or RuntimeError (the print failed)."""
        if not self._asked:
            raise RuntimeError("nothing was asked of the printer")
        deadline = self.timeout_s * 2 + 30  # its start and the print, each within timeout_s
        try:
            if not self._conn.poll(deadline):
                raise TimeoutError(f"no PDF from headless Chromium within {deadline:.0f} s")
            reply = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise PrinterUnavailable(f"the warm browser stopped: {exc.__class__.__name__}") from None
        if reply[0] == "ok":
            return Path(reply[1]).read_bytes()
        if reply[0] == "unavailable":
            raise PrinterUnavailable(reply[1])
        raise RuntimeError(reply[1])

    def close(self) -> None:
        """Stop the browser and the child (at once if it is still starting), remove the folder."""
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(("close",))
        self._process.join(timeout=5 if self._asked else 0.5)
        if self._process.is_alive():
            self._process.terminate()  # Playwright's driver sees its pipe close and ends its browser
            self._process.join(timeout=5)
        self._conn.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def warm_printer(enabled: bool = True, *, timeout_s: float = 60.0) -> Iterator[Printer | None]:
    """A :class:`Printer` started now and closed on leaving the block (None if ``enabled`` is False or none can start)."""
    printer = Printer.start(timeout_s=timeout_s) if enabled else None
    try:
        yield printer
    finally:
        if printer is not None:
            printer.close()


def _one_line(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}".splitlines()[0]


def _serve(conn: Any, parents_end: Any, parent_pid: int, exe: str, folder: str, timeout_s: float) -> None:  # pragma: no cover - child
    """The child: start Chromium, compile plotly.js, then print what is asked, once.

    It ends with its parent, even a killed one (SIGTERM on the parent's death; Playwright's
    driver then sees its pipe close and ends the browser), and closes its copy of the parent's
    end of the pipe, so that ``recv`` ends in EOFError when the parent has closed its own.
    """
    from dcplan.parallel import die_with_parent

    die_with_parent(parent_pid)
    parents_end.close()
    here = Path(folder)
    try:
        from playwright.sync_api import sync_playwright

        from dcplan.report.browser import CHROMIUM_FLAGS
        from dcplan.report.writers import PLOTLY_FILE, PRINT_FILE, VIEWPORT, print_page, write_plotly

        write_plotly(here)
        (here / WARM_FILE).write_text(_WARM_PAGE.format(src=PLOTLY_FILE), encoding="utf-8")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS, timeout=timeout_s * 1000)
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.goto((here / WARM_FILE).as_uri(), wait_until="load", timeout=timeout_s * 1000)
                message = conn.recv()
                if message[0] != "print":
                    return
                try:
                    data = print_page(page, here / PRINT_FILE, message[1], timeout_s)
                    out = here / "report.pdf"
                    out.write_bytes(data)
                    conn.send(("ok", str(out)))
                except Exception as exc:  # noqa: BLE001 - the PDF's failure, reported to the parent in one line
                    conn.send(("error", _one_line(exc)))
            finally:
                browser.close()
    except (EOFError, KeyboardInterrupt):
        return  # the parent is gone or interrupted
    except Exception as exc:  # noqa: BLE001 - could not start: the parent prints cold
        with contextlib.suppress(EOFError, OSError):
            if conn.recv()[0] == "print":
                conn.send(("unavailable", _one_line(exc)))
