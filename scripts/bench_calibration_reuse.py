"""Benchmark: a calibration file read back (what the report and dashboard do) against refitting its profile.

usage: python scripts/bench_calibration_reuse.py [CALIBRATION]   (default: the shipped CPU calibration)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dcplan.calibrate.profile_fit import calibrate_profile  # noqa: E402
from dcplan.calibrate.stored import from_document  # noqa: E402
from dcplan.io.calibration import profile_of, read_calibration_document  # noqa: E402
from dcplan.io.profile import read_profile  # noqa: E402


def main() -> None:
    cal = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "profiles" / "cpu-amd-epyc-1t-standard.calibration.json")
    read_back, refit = [], []
    for _ in range(3):  # interleaved, median of 3 (shared machine)
        t = time.perf_counter()
        doc = read_calibration_document(cal)
        path = profile_of(doc)
        if path is None:
            raise SystemExit(f"{cal}: its profile is not found or changed")
        from_document(doc, read_profile(path), str(path))
        read_back.append(time.perf_counter() - t)
        t = time.perf_counter()
        calibrate_profile(read_profile(path), str(path))
        refit.append(time.perf_counter() - t)
    a, b = statistics.median(read_back), statistics.median(refit)
    print(f"read back {a:.3f} s, refit {b:.2f} s (median of 3): {b / a:.0f}x")


if __name__ == "__main__":
    main()
