"""The report's gather on a process pool and its warm PDF printer: same results, serial fallbacks, clear errors."""

import contextlib
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dcplan.parallel
import dcplan.report.pipeline as pipeline
from dcplan.errors import InfeasibleError

ROOT = Path(__file__).resolve().parents[2]


def test_input_errors_cross_a_process_boundary_whole():
    e = InfeasibleError("gpus", "fits no layout", file="w.yaml", line=3)
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is InfeasibleError and back.one_line() == e.one_line() == "w.yaml:3: gpus: fits no layout"
    assert (back.field, back.file, back.line) == ("gpus", "w.yaml", 3)


def _pid_of_part() -> int:
    return os.getpid()


_PARENT = os.getpid()


def _dies_in_a_worker() -> str:
    if os.getpid() != _PARENT:
        os._exit(3)  # a worker killed mid-part (the OOM killer, a segfault)
    return "computed here"


def test_parts_run_on_the_pool_in_order(monkeypatch):
    monkeypatch.setitem(pipeline.PARTS, "pid", _pid_of_part)
    pids = pipeline.run_parts([("pid", ())] * 4, "processes:2")
    assert len(pids) == 4 and os.getpid() not in pids
    assert pipeline.run_parts([("pid", ())] * 2, "serial") == [os.getpid()] * 2


def test_a_pool_that_cannot_start_computes_here(monkeypatch):
    @contextlib.contextmanager
    def no_pool(spec, warm=None):
        raise OSError(38, "Function not implemented")  # e.g. no POSIX semaphores in a sandbox
        yield

    monkeypatch.setattr(dcplan.parallel, "executor", no_pool)
    monkeypatch.setitem(pipeline.PARTS, "pid", _pid_of_part)
    assert pipeline.run_parts([("pid", ())] * 3, "local") == [os.getpid()] * 3


def test_a_worker_that_dies_is_replaced_by_this_process(monkeypatch):
    monkeypatch.setitem(pipeline.PARTS, "dies", _dies_in_a_worker)
    assert pipeline.run_parts([("dies", ())] * 2, "processes:2") == ["computed here"] * 2


def _raises() -> None:
    raise InfeasibleError("gpus", "llama fits no layout on 8 x h100")


def test_an_input_error_in_a_worker_is_raised_here(monkeypatch):
    monkeypatch.setitem(pipeline.PARTS, "raises", _raises)
    monkeypatch.setitem(pipeline.PARTS, "pid", _pid_of_part)
    with pytest.raises(InfeasibleError, match="gpus: llama fits no layout") as info:
        pipeline.run_parts([("pid", ()), ("raises", ())], "processes:2")
    assert info.value.field == "gpus"


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["processes:2", "serial"])
def test_cli_bad_data_read_in_a_worker_is_one_line_exit_2(tmp_path, executor):
    """The validation rows are read by a pool worker: a broken file there is still one line and exit 2, nothing written."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    (data / "validation" / "training_runs.yaml").write_text("runs: 3\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "dcplan", "report", "--format", "json,md", "--samples", "200", "--executor", executor,
                        "--out", str(tmp_path / "out" / "r")], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "DCPLAN_DATA": str(data)})
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dcplan: error: ") and "training_runs.yaml:1: runs: must be a list" in lines[0], r.stderr
    assert not (tmp_path / "out").exists()


def test_executor_is_checked(tmp_path):
    r = subprocess.run([sys.executable, "-m", "dcplan", "report", "--format", "json", "--executor", "threads:9",
                        "--out", str(tmp_path / "r")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "executor" in r.stderr and "Traceback" not in r.stderr, r.stderr


# --------------------------------------------------------------------------------------------
# the warm printer
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_report():
    from dcplan.report.assemble import build_report

    return build_report(pipeline.gather(scenario="base", seed=1, samples=300, created="2026-11-28"))


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
@pytest.mark.browser
def test_warm_printer_prints_the_same_pdf_as_a_cold_browser(small_report, tmp_path):
    from dcplan.report.output import output_paths, write_report
    from dcplan.report.printer import warm_printer

    cold = write_report(small_report, output_paths(str(tmp_path / "cold") + "/", ["pdf", "md"]))
    with warm_printer() as printer:
        assert printer is not None
        warm = write_report(small_report, output_paths(str(tmp_path / "warm") + "/", ["md", "pdf", "json"]), printer=printer)
        folder = printer.folder
    assert cold.failed == {} and warm.failed == {}, (cold.failed, warm.failed)
    assert list(warm.written) == ["md", "pdf", "json"]  # the order asked for, though the PDF came last
    assert _text(warm.written["pdf"]) == _text(cold.written["pdf"])
    assert "page 1 of" in _text(warm.written["pdf"])
    assert not folder.exists()  # its working folder is removed on closing


@pytest.mark.slow
@pytest.mark.browser
def test_a_printer_whose_browser_cannot_start_falls_back_to_a_cold_one(small_report, tmp_path):
    from dcplan.report.output import output_paths, write_report
    from dcplan.report.printer import Printer

    printer = Printer.start(chromium="/bin/false", timeout_s=20)
    assert printer is not None
    try:
        res = write_report(small_report, output_paths(str(tmp_path) + "/", ["pdf"]), printer=printer)
    finally:
        printer.close()
    assert res.failed == {} and res.written["pdf"].read_bytes().startswith(b"%PDF")


def test_no_chromium_no_printer(monkeypatch):
    from dcplan.report import printer

    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert printer.Printer.start() is None
    with printer.warm_printer() as p:
        assert p is None


@pytest.mark.slow
@pytest.mark.browser
def test_nothing_outlives_a_killed_report_command(tmp_path):
    """SIGKILL the command while it gathers on its pool with Chromium warming: its workers, the
    printer, Playwright's driver and the browser all end (none is left holding memory)."""
    import signal
    import time

    import psutil

    proc = subprocess.Popen([sys.executable, "-m", "dcplan", "report", "--format", "json,pdf", "--executor", "processes:2",
                             "--out", str(tmp_path / "r")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    me = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120
    tree: list[psutil.Process] = []
    def name(p: psutil.Process) -> str:
        try:
            return p.name()
        except psutil.Error:  # ended meanwhile
            return ""

    while time.monotonic() < deadline and proc.poll() is None:
        tree = me.children(recursive=True)
        if any("chrom" in name(p) for p in tree) and sum("python" in name(p) for p in tree) >= 3:  # the printer and two pool workers
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the pool and the browser were not seen running together")
    tree = me.children(recursive=True)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    gone, alive = psutil.wait_procs(tree, timeout=20)
    for p in alive:
        p.kill()
    assert alive == [], alive
