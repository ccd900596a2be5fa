"""Repeatability of two profiles of one machine: share of shared points whose times agree within 10 %.

    python scripts/compare_profiles.py A.json B.json [--json]

Points are matched by kind and configuration; times are ``time_s.estimate`` (the profile's time)
and ``time_s.median`` (all samples). The points that disagree are listed with their ratio and
whether either run flagged them (``states_differ``: blocks ran at different clocks or host
speeds; ``unstable``). Reads profiles through dcplan.io.profile; needs no dashboard packages.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dcplan.io.profile import read_profile  # noqa: E402

TOLERANCE = 0.10


def _key(m):
    return m.kind, tuple(sorted((k, str(v)) for k, v in m.config.items()))


def compare(a_path: str, b_path: str) -> dict:
    a, b = read_profile(a_path), read_profile(b_path)
    first, second = ({_key(m): m for m in p.measurements if m.fits and m.time_s} for p in (a, b))
    common = [k for k in first if k in second]
    out: dict = {"a": a.name, "b": b.name, "shared_points": len(common)}
    for stat in ("estimate", "median"):
        ok = sum(abs(getattr(second[k].time_s, stat) / getattr(first[k].time_s, stat) - 1) <= TOLERANCE for k in common)
        out[f"{stat}_within_10pct"] = ok
        out[f"{stat}_within_10pct_frac"] = ok / len(common) if common else None
    out["disagree"] = [
        {"kind": k[0], "a": first[k].id, "b": second[k].id, "ratio": second[k].time / first[k].time,
         "flagged": any(getattr(x.time_s, f) for x in (first[k], second[k]) for f in ("states_differ", "unstable"))}
        for k in common if abs(second[k].time / first[k].time - 1) > TOLERANCE
    ]
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    res = compare(args.a, args.b)
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    n = res["shared_points"]
    for stat in ("estimate", "median"):
        print(f"{stat}: {res[f'{stat}_within_10pct']}/{n} = {100 * (res[f'{stat}_within_10pct_frac'] or 0):.1f} % within 10 %")
    for d in res["disagree"]:
        print(f"  {d['kind']:8s} {d['a']} / {d['b']}: x{d['ratio']:.3f}{' (flagged)' if d['flagged'] else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
