"""Benchmark: ``dcplan report`` in all five formats, and its gather on each executor, side by side.

usage: python scripts/bench_report.py [--rounds 3] [--compare BEFORE_TREE ...] [--gather]

- whole command, fresh process each: this tree with the default executor (a process pool and
  Chromium started while gathering), this tree with ``--executor serial``, and, with
  ``--compare``, another checkout (``git archive REV | tar -x -C DIR``) run the same way, in
  turns (a shared machine: compare within a round);
- ``--gather``: the gather alone in this process, serial, on a pool of 2 processes and on 2
  threads (numpy releases the GIL in its array work), checking the three give the same report.

Wall time from the parent; peak RSS is the largest single process of the command (``wait4``),
not the sum over its workers and the browser.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def whole_command(tree: Path, extra: list[str], out: Path) -> tuple[float, float]:
    """(wall s, largest process's peak RSS MB) of one ``dcplan report`` from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree), "DCPLAN_DATA": str(tree / "data")}
    cmd = [sys.executable, "-c", "import sys; from dcplan.cli.main import main; sys.exit(main())",
           "report", "--out", str(out) + "/", "--force", *extra]
    t = time.perf_counter()
    pid = subprocess.Popen(cmd, env=env, cwd=tree, stdout=subprocess.DEVNULL).pid
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{tree}: dcplan report failed ({status})")
    return wall, usage.ru_maxrss / 1024


def _threads(parts, executor):  # noqa: ANN001, ANN202 - the pipeline's run_parts on a thread pool
    from concurrent.futures import ThreadPoolExecutor

    from dcplan.report.pipeline import run_part

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(run_part, parts))


def gather_alone(rounds: int) -> None:
    sys.path.insert(0, str(ROOT))
    import dcplan.report.pipeline as pipeline
    from dcplan.report.assemble import build_report
    from dcplan.report.writers import render_markdown

    serial_run_parts = pipeline.run_parts
    times: dict[str, list[float]] = {"serial": [], "processes:2": [], "threads:2": []}
    docs: dict[str, str] = {}
    pipeline.gather(samples=100, created="2026-01-01")  # imports and caches, not timed
    for _ in range(rounds):
        for name in times:
            pipeline.run_parts = _threads if name == "threads:2" else serial_run_parts
            t = time.perf_counter()
            inputs = pipeline.gather(created="2026-01-01", executor="serial" if name == "threads:2" else name)
            times[name].append(time.perf_counter() - t)
            report = build_report(inputs)
            docs[name] = json.dumps(dict(report.data), sort_keys=True, default=str) + render_markdown(report)
    pipeline.run_parts = serial_run_parts
    same = len(set(docs.values())) == 1
    for name, ts in times.items():
        print(f"gather {name:12s} median {statistics.median(ts):5.2f} s  ({', '.join(f'{x:.2f}' for x in ts)})")
    print(f"same report from all three: {same}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--compare", type=Path, action="append", default=[],
                    help="another checkout to time the same way (the 'before'); may be given more than once")
    ap.add_argument("--gather", action="store_true", help="time the gather alone on each executor, in this process")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    if args.gather:
        gather_alone(args.rounds)
    else:
        runs: dict[str, tuple[Path, list[str]]] = {"this tree": (ROOT, []), "this tree, --executor serial": (ROOT, ["--executor", "serial"])}
        for tree in args.compare:
            runs[str(tree)] = (tree.resolve(), [])
        got: dict[str, list[tuple[float, float]]] = {k: [] for k in runs}
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.rounds):
                for name, (tree, extra) in runs.items():
                    got[name].append(whole_command(tree, extra, Path(tmp) / name.replace(" ", "_").replace(",", "")))
        for name, rs in got.items():
            walls = [w for w, _ in rs]
            print(f"{name:32s} median {statistics.median(walls):5.2f} s  ({', '.join(f'{w:.2f}' for w in walls)}), "
                  f"peak RSS {max(m for _, m in rs):.0f} MB")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
